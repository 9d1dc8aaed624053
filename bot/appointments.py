"""Appointments made through the bot: the salon's rules for changing them, keeping the stored copy
in step with Altegio, and their reminder schedule. Plain code: no Telegram here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.altegio import errors
from bot.altegio.client import AltegioClient
from bot.altegio.models import Company, Record
from bot.reminders import QuietHours, plan_after_visit, plan_reminders
from bot.storage import Storage, StoredBooking


class Refusal(StrEnum):
    NOT_ALLOWED = "not_allowed"  # the salon does not allow it online at all
    TOO_LATE = "too_late"  # closer to the visit than the salon's minimum notice
    PAST = "past"  # the visit has begun or is over


def cancel_refusal(company: Company, start: datetime, now: datetime) -> Refusal | None:
    """Why a client may not cancel online now, or None when they may."""
    return _refusal(company.allow_delete_record, company.allow_delete_delay, start, now)


def change_refusal(company: Company, start: datetime, now: datetime) -> Refusal | None:
    """Why a client may not reschedule online now, or None when they may."""
    return _refusal(company.allow_change_record, company.allow_change_delay, start, now)


def _refusal(allowed: bool, notice: int, start: datetime, now: datetime) -> Refusal | None:
    if start <= now:
        return Refusal.PAST
    if not allowed:
        return Refusal.NOT_ALLOWED
    if now + timedelta(seconds=notice) > start:
        return Refusal.TOO_LATE
    return None


class Change(StrEnum):
    SAME = "same"
    MOVED = "moved"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Fresh:
    """A stored booking as Altegio reports it now, and what changed behind the bot's back."""

    booking: StoredBooking
    record: Record | None
    change: Change


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    offsets: tuple[timedelta, ...]
    quiet: QuietHours | None


def schedule(
    storage: Storage,
    booking: StoredBooking,
    tz: ZoneInfo,
    policy: ReminderPolicy,
    now: datetime,
) -> None:
    """(Re)plan a booking's reminders and its after-visit thank-you from its current time."""
    planned: list[tuple[str, int, datetime]] = [
        ("before", int(p.offset.total_seconds() // 60), p.due)
        for p in plan_reminders(booking.start, policy.offsets, tz, policy.quiet, now)
    ]
    end = booking.start + timedelta(seconds=booking.length)
    planned.append(("after", 0, plan_after_visit(end, tz, policy.quiet)))
    storage.replace_reminders(booking.record_id, booking.chat_id, planned)


async def refresh(
    altegio: AltegioClient,
    storage: Storage,
    booking: StoredBooking,
    policy: ReminderPolicy,
    now: datetime,
) -> Fresh:
    """Read the appointment from Altegio and bring the stored copy and reminders in line.

    A record Altegio no longer knows, or reports deleted, was cancelled by the salon; a new
    start time means the salon moved it, and the reminders follow. Other Altegio failures
    propagate: nothing is concluded from an outage.
    """
    try:
        record: Record | None = await altegio.record(booking.record_id, booking.record_hash)
    except errors.NotFound:
        record = None
    if record is None or record.deleted:
        if booking.status == "active":
            storage.update_booking(booking.record_id, status="deleted")
            storage.drop_reminders(booking.record_id)
        return Fresh(replace(booking, status="deleted"), record, Change.DELETED)
    if record.staff_id and record.staff_id != booking.staff_id:
        # "Any team member" bookings learn who was assigned; the salon may also reassign.
        storage.update_booking(booking.record_id, staff_id=record.staff_id)
        booking = replace(booking, staff_id=record.staff_id)
    if record.start != booking.start or (record.length and record.length != booking.length):
        moved = replace(booking, start=record.start, length=record.length or booking.length)
        storage.update_booking(booking.record_id, start=moved.start, length=moved.length)
        company = await altegio.company()
        schedule(storage, moved, company.tz, policy, now)
        return Fresh(moved, record, Change.MOVED if record.start != booking.start else Change.SAME)
    return Fresh(booking, record, Change.SAME)


def record_new(
    storage: Storage,
    booking: StoredBooking,
    tz: ZoneInfo,
    policy: ReminderPolicy,
    now: datetime,
) -> None:
    """Remember a booking Altegio just confirmed and plan its reminders."""
    storage.record_booking(booking)
    schedule(storage, booking, tz, policy, now)
