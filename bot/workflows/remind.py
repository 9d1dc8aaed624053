"""Reminders that are due: claimed, re-read from Altegio, and handed over to be told.

Each reminder is claimed in the database before it is sent, so it goes out once even across
restarts, and across replicas (`bot/leases.py`: a claim lasts while its replica lives); the tick
reads only what is due, through an index, however many reminders are stored. The
appointment is read again first: cancelled by the salon means no reminder and a note saying so,
moved means the new time is told; one that cannot be read is read again later, backing off, and
at last reminded with what is known. While the location's webhooks are live, the stored copy
they keep in step (of an appointment made or learnt of since they were heard) is used as it is,
with no read. Plain code: `deliver` (the handler's) puts it into words.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.altegio import errors
from bot.altegio.models import Company
from bot.records import Change, Fresh
from bot.reminder_times import read_retry
from bot.services import Alerts, Services
from bot.storage import Reminder, StorageUnavailable
from bot.workflows import visit_records
from bot.workflows.sync import refresh

log = logging.getLogger(__name__)

SENT = "sent"
DROPPED = "dropped"
LATER = "later"  # put back with a new due time: the appointment could not be read now


class Tell(StrEnum):
    REMIND = "remind"  # the visit is ahead: remind, with what can be done
    SALON_CANCELLED = "salon_cancelled"
    SALON_MOVED = "salon_moved"  # its reminders were planned again for the new time
    THANKS = "thanks"  # after the visit


class Delivery(StrEnum):
    DELIVERED = "delivered"
    BLOCKED = "blocked"  # the client blocked the bot: nothing more goes to them
    FAILED = "failed"  # Telegram did not take it now: the reminder is tried again


@dataclass(frozen=True, slots=True)
class Notice:
    """What one due reminder tells its client."""

    tell: Tell
    chat_id: int
    language: str
    fresh: Fresh
    company: Company
    # A visit of consecutive appointments, reminded of once: every part as just read (the
    # reminded one among them), soonest first; () for an appointment of its own.
    parts: tuple[Fresh, ...] = ()


Deliver = Callable[[Notice], Awaitable[Delivery]]


async def send_due(services: Services, alerts: Alerts, deliver: Deliver, limit: int = 100) -> int:
    """Tell what is due now; returns how many reminders went out."""
    storage = services.storage
    now = services.clock()
    replica = services.replica
    by = None
    if replica is not None:
        # Among replicas each claim names its replica, and lasts while that one lives.
        by = replica.alive()
        if by is None:
            return 0  # claims made now would look abandoned to the others
    try:
        if services.pending.retry():
            return 0  # the database is still busy: reminders wait with the rest
        if replica is None:
            storage.release_stale_claims(now)
        else:
            storage.release_stale_claims(now, by=by, alive_space=replica.alive_space)
        due = storage.claim_due(now, limit, by)
    except StorageUnavailable as exc:
        log.warning("reminders wait for the database: %s", exc)
        await alerts.storage_trouble(str(exc))
        return 0
    await alerts.storage_recovered()
    if not due:
        return 0
    # After downtime several reminders of one appointment can be due at once: one is enough.
    latest: dict[int, Reminder] = {}
    for reminder in due:
        if reminder.kind == "before":
            latest[reminder.record_id] = reminder
    sent = 0
    for reminder in due:
        if reminder.kind == "before" and latest[reminder.record_id] is not reminder:
            storage.finish_reminder(reminder.id, DROPPED)
            services.metrics.reminder("skipped")
            continue
        try:
            found = await _notice(services, reminder, now)
        except errors.AltegioError as exc:
            # Not even the location could be read (its timezone says when the visit is).
            log.warning("reminder %s waits: Altegio %s", reminder.id, type(exc).__name__)
            found = _later(services, reminder, now, None) or DROPPED
        if (
            by is not None
            and not isinstance(found, str)
            and not storage.still_claimed(reminder.id, by)
        ):
            # Given to another replica while this one was cut off from PostgreSQL.
            log.info("reminder %s: another replica's now", reminder.id)
            continue
        status = found if isinstance(found, str) else await _tell(deliver, found, reminder)
        if status is None:
            storage.release_claim(reminder.id)
            services.metrics.reminder("failed")
            continue
        if status != LATER:
            storage.finish_reminder(reminder.id, status)
            services.metrics.reminder("sent" if status == SENT else "skipped")
        sent += status == SENT
    return sent


async def _tell(deliver: Deliver, notice: Notice, reminder: Reminder) -> str | None:
    """The reminder's status once told; None when Telegram did not take it (tried again)."""
    delivery = await deliver(notice)
    if delivery is Delivery.BLOCKED:
        log.info("chat %s blocked the bot; reminder %s dropped", reminder.chat_id, reminder.id)
        return DROPPED
    if delivery is Delivery.FAILED:
        return None
    if notice.tell in (Tell.SALON_CANCELLED, Tell.SALON_MOVED):
        return DROPPED  # told once; a moved one's reminders follow the new time
    return SENT


async def _notice(services: Services, reminder: Reminder, now: datetime) -> Notice | str:
    """What the reminder tells, or its status when it tells nothing (now)."""
    storage = services.storage
    booking = storage.booking(reminder.record_id)
    if booking is None or booking.status != "active":
        return DROPPED
    services = services.at(booking.company_id)  # the appointment's own location
    if not storage.reminders_enabled(reminder.chat_id):
        return DROPPED
    if reminder.kind == "before" and booking.start <= now:
        return DROPPED  # came due while the bot was down, and the visit has begun: not read
    hooks = services.hooks
    if hooks.fresh(booking.record_id, booking.created_at, services.altegio.company_id):
        # Webhooks keep the stored copy and its reminders in step with the salon's changes:
        # no read of Altegio for it (nor for the location, when a copy is held).
        services.metrics.reminder_reads.labels(source="webhooks").inc()
        fresh = Fresh(booking, None, Change.SAME)
        standing = visit_records.standing_parts(storage, booking)
        parts = [Fresh(b, None, Change.SAME) for b in standing]
        company = services.altegio.company_copy() or await services.altegio.company()
    else:
        services.metrics.reminder_reads.labels(source="altegio").inc()
        if booking.visit_id:
            # The visit's one reminder tells every part of it: each read (with the client's
            # user token, their list once for all).
            parts = await visit_records.refresh_visit(services, booking)
            ours = [f for f in parts if f.booking.record_id == booking.record_id]
            fresh = ours[0] if ours else await refresh(services, booking)
        else:
            fresh = await refresh(services, booking)
            parts = [fresh]
        # One request per reminder at most: the appointment's; the location (its zone, name
        # and phone) from the copy held once read.
        company = services.altegio.company_copy() or await services.altegio.company()
        if hooks.live_at(services.altegio.company_id) and fresh.change is not Change.UNCHECKED:
            hooks.known.add(booking.record_id)  # from now on the webhooks keep it in step
    if fresh.change is Change.UNCHECKED:
        later = _later(services, reminder, now, company.tz)
        if later is not None:
            return later
        if reminder.kind == "after":
            # A thank-you for a visit nobody could confirm took place is not sent.
            log.info("reminder %s: after-visit message dropped, never checked", reminder.id)
            return DROPPED
        # Before the visit, a reminder with what is known beats none.
    # The language the client chose, else the one they booked in.
    language = storage.language(reminder.chat_id) or booking.language or services.catalogs.default
    if fresh.change is Change.DELETED:
        tell = Tell.SALON_CANCELLED
    elif fresh.change is Change.MOVED:
        tell = Tell.SALON_MOVED
    elif reminder.kind == "after":
        if fresh.record is not None and fresh.record.attendance == -1:
            return DROPPED  # a no-show gets no thank-you
        tell = Tell.THANKS
    elif fresh.booking.start <= now:
        return DROPPED  # came due while the bot was down, and the visit has begun
    else:
        tell = Tell.REMIND
    whole = tuple(parts) if len(parts) > 1 else ()
    return Notice(tell, reminder.chat_id, language, fresh, company, whole)


def _later(
    services: Services, reminder: Reminder, now: datetime, tz: ZoneInfo | None
) -> str | None:
    """An appointment that cannot be read now is read again later, backing off (never every
    tick, which would spend the rate limit on it); None once waiting longer would be worse."""
    booking = services.storage.booking(reminder.record_id)
    if booking is None:
        return None
    since = reminder.failing_since or now
    again = read_retry(
        reminder.attempts,
        now,
        booking.start,
        since=since,
        before_visit=reminder.kind == "before",
        tz=tz or ZoneInfo("UTC"),
        quiet=services.reminder_policy.quiet if tz is not None else None,
    )
    if again is None:
        return None
    services.storage.retry_reminder(reminder.id, again, reminder.attempts + 1, since)
    log.info("reminder %s: its appointment could not be read; trying again later", reminder.id)
    return LATER
