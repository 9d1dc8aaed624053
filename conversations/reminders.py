"""Sending the reminders that are due: re-read each appointment first, then remind, tell the
client about a change the salon made, or thank them after the visit.

Each reminder is claimed in SQLite before it is sent, so it goes out once even across restarts;
the tick reads only what is due, through an index, however many reminders are stored.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError

from bot.altegio import errors
from bot.appointments import Change, refresh
from bot.context import BotApplication, Context
from bot.keyboards import NO_FLOW, Keys
from bot.reminders import read_retry
from bot.storage import Reminder
from conversations.appointments import describe, what, when
from conversations.attempts import resolve_attempts
from conversations.common import h

log = logging.getLogger(__name__)

SENT = "sent"
DROPPED = "dropped"
LATER = "later"  # put back with a new due time: the appointment could not be read now


async def tick(context: Context) -> None:
    """The JobQueue's entry point: unanswered bookings first, then reminders."""
    application = context.application
    if isinstance(application, BotApplication):
        await resolve_attempts(application)
        await send_due(application)


async def send_due(application: BotApplication, limit: int = 100) -> int:
    """Send what is due now; returns how many messages went out."""
    services = application.services
    storage = services.storage
    now = services.clock()
    try:
        if services.pending.retry():
            return 0  # the database is still busy: reminders wait with the rest
        storage.release_stale_claims(now)
        due = storage.claim_due(now, limit)
    except sqlite3.Error as exc:
        log.warning("reminders wait for the database: %s", exc)
        await application.storage_trouble(str(exc))
        return 0
    await application.storage_recovered()
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
            continue
        try:
            status = await _deliver(application, reminder, now)
        except errors.AltegioError as exc:
            # Not even the location could be read (its timezone says when the visit is).
            log.warning("reminder %s waits: Altegio %s", reminder.id, type(exc).__name__)
            status = _later(application, reminder, now, None) or DROPPED
        except Forbidden:
            log.info("chat %s blocked the bot; reminder %s dropped", reminder.chat_id, reminder.id)
            status = DROPPED
        except TelegramError as exc:
            log.warning("reminder %s not delivered: %s", reminder.id, exc)
            storage.release_claim(reminder.id)
            continue
        if status != LATER:
            storage.finish_reminder(reminder.id, status)
        sent += status == SENT
    return sent


def _later(
    application: BotApplication, reminder: Reminder, now: datetime, tz: ZoneInfo | None
) -> str | None:
    """An appointment that cannot be read now is read again later, backing off (never every
    tick, which would spend the rate limit on it); None once waiting longer would be worse."""
    services = application.services
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


async def _deliver(application: BotApplication, reminder: Reminder, now: datetime) -> str:
    services = application.services
    storage = services.storage
    booking = storage.booking(reminder.record_id)
    if booking is None or booking.status != "active":
        return DROPPED
    if not storage.reminders_enabled(reminder.chat_id):
        return DROPPED
    if reminder.kind == "before" and booking.start <= now:
        return DROPPED  # came due while the bot was down, and the visit has begun: not read
    fresh = await refresh(services.altegio, storage, booking, services.reminder_policy, now)
    company = await services.altegio.company()
    if fresh.change is Change.UNCHECKED:
        later = _later(application, reminder, now, company.tz)
        if later is not None:
            return later
        if reminder.kind == "after":
            # A thank-you for a visit nobody could confirm took place is not sent.
            log.info("reminder %s: after-visit message dropped, never checked", reminder.id)
            return DROPPED
        # Before the visit, a reminder with what is known beats none.
    language = storage.language(reminder.chat_id) or services.catalogs.default
    t = services.catalogs.translator(language)
    keys = Keys(NO_FLOW, t)
    record_id = booking.record_id
    status = SENT
    if fresh.change is Change.DELETED:
        text = t.gettext(
            "Your appointment was cancelled by the salon: %(what)s, %(when)s.",
            what=h(what(t, fresh)),
            when=when(t, booking.start, company),
        )
        if company.phone:
            call = t.gettext("You can also call the salon: %(phone)s", phone=h(company.phone))
            text += "\n" + call
        rows = [[keys.button(t.gettext("Book again"), "again", record_id)]]
        status = DROPPED
    elif fresh.change is Change.MOVED:
        text = t.gettext(
            "The salon has moved your appointment. The new time is %(when)s.",
            when=when(t, fresh.booking.start, company),
        )
        text += "\n\n" + describe(t, fresh, company)
        rows = [[keys.button(t.gettext("My appointments"), "apts", 1)]]
        status = DROPPED  # its reminders were planned again for the new time
    elif reminder.kind == "after":
        if fresh.record is not None and fresh.record.attendance == -1:
            return DROPPED  # a no-show gets no thank-you
        text = t.gettext(
            "Thank you for visiting <b>%(salon)s</b>! We hope you enjoyed it.",
            salon=h(company.title),
        )
        rows = [[keys.button(t.gettext("Book again"), "again", record_id)]]
    elif fresh.booking.start <= now:
        return DROPPED  # came due while the bot was down, and the visit has begun
    else:
        text = t.gettext("⏰ Reminder of your appointment:") + "\n\n"
        text += describe(t, fresh, company)
        rows = [
            [keys.button(t.gettext("👍 I'll come"), "come", record_id)],
            [
                keys.button(t.gettext("Reschedule"), "resc", record_id),
                keys.button(t.gettext("Cancel appointment"), "cnl", record_id),
            ],
            [keys.button(t.gettext("Turn reminders off"), "remoff")],
        ]
    await application.bot.send_message(
        reminder.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=InlineKeyboardMarkup(rows)
    )
    return status
