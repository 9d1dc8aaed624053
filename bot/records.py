"""Appointments made through the bot, as plain rules: the salon's rules for changing them, what
a fresh read of one found (`Fresh`, `Change`), and when its reminders go (`ReminderPolicy`).
Keeping the stored copy in step is `bot/workflows/sync.py`'s."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.altegio.models import Company, Record, Rules
from bot.reminder_times import QuietHours
from bot.storage import StoredBooking

log = logging.getLogger(__name__)


class Refusal(StrEnum):
    NOT_ALLOWED = "not_allowed"  # the salon does not allow it online at all
    TOO_LATE = "too_late"  # closer to the visit than the salon's minimum notice
    PAST = "past"  # the visit has begun or is over
    BY_ALTEGIO = "by_altegio"  # Altegio refused, for a reason of the salon's we do not know


def cancel_refusal(rules: Rules, start: datetime, now: datetime) -> Refusal | None:
    """Why a client may not cancel online now, or None when they may (or the rule is unknown,
    and Altegio will say)."""
    return _refusal(rules.allow_delete, rules.delete_notice, start, now)


def change_refusal(rules: Rules, start: datetime, now: datetime) -> Refusal | None:
    """Why a client may not reschedule online now, or None when they may (or nobody knows)."""
    return _refusal(rules.allow_change, rules.change_notice, start, now)


def _refusal(
    allowed: bool | None, notice: int | None, start: datetime, now: datetime
) -> Refusal | None:
    if start <= now:
        return Refusal.PAST
    if allowed is False:
        return Refusal.NOT_ALLOWED
    if notice is not None and now + timedelta(seconds=notice) > start:
        return Refusal.TOO_LATE
    return None


class Change(StrEnum):
    SAME = "same"
    MOVED = "moved"
    DELETED = "deleted"
    UNCHECKED = "unchecked"  # Altegio could not be asked or did not answer about it


@dataclass(frozen=True, slots=True)
class Fresh:
    """A stored booking as Altegio reports it now, and what changed behind the bot's back."""

    booking: StoredBooking
    record: Record | None
    change: Change
    outage: bool = False  # unchecked because Altegio was not answering at all
    # What the bot holds no longer opens the record by itself (its hash refused and no user
    # token, or the token refused): the client's phone is to be confirmed (again).
    verify: bool = False

    @property
    def title(self) -> str:
        return (self.record.title if self.record else "") or self.booking.title

    @property
    def staff_name(self) -> str:
        return (self.record.staff_name if self.record else "") or self.booking.staff_name

    def rules(self, company: Company) -> Rules:
        """The salon's rules for this appointment: its own record's word first (freshest), then
        the location's."""
        own = self.record.facts.rules if self.record is not None else Rules()
        return own.over(company.rules)


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    offsets: tuple[timedelta, ...]
    quiet: QuietHours | None
