"""Booking calls whose answer never came: looked at until their outcome is known, then told to
the client (and, where it stays unknown, to the salon). Runs from the JobQueue tick."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace
from datetime import datetime

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.altegio import errors
from bot.altegio.models import Company, Record, parse_datetime
from bot.appointments import remember_booking
from bot.attempts import (
    CHECK_EVERY,
    CHECK_FOR,
    KEEP_SETTLED,
    ORPHANED_AFTER,
    Finding,
    Verdict,
    look,
)
from bot.context import BotApplication
from bot.i18n import Translator
from bot.keyboards import Keys
from bot.storage import Attempt, Contact, StoredBooking
from bot.workflows.cancel import cancelled
from conversations.appointments import when
from conversations.checkout import booked_text, uncertain_text
from conversations.common import call_sentence, my_appointments, store_in

log = logging.getLogger(__name__)


async def resolve_attempts(application: BotApplication) -> int:
    """Look at the attempts that are due; returns how many were settled."""
    services = application.services
    storage = services.storage
    now = services.clock()
    try:
        if services.pending.retry():
            return 0  # the database is busy: what is known cannot be kept yet
        storage.forget_settled_attempts(now - KEEP_SETTLED)
        # A call still "sending" is an orphan when it began before this process did (the
        # bot was stopped or killed meanwhile), or long enough ago to have ended anyway.
        orphaned_before = now - ORPHANED_AFTER
        if services.started_at is not None:
            orphaned_before = max(orphaned_before, services.started_at)
        due = storage.attempts_due(now, orphaned_before)
    except sqlite3.Error as exc:
        log.warning("unanswered bookings wait for the database: %s", exc)
        return 0
    settled = 0
    for found in due:
        if found.flow in services.in_flight:
            continue  # its call is still on its way from this very process
        try:
            settled += await _resolve(application, found, now)
        except sqlite3.Error as exc:
            log.warning("unanswered bookings wait for the database: %s", exc)
            break
    return settled


async def _resolve(application: BotApplication, found: Attempt, now: datetime) -> int:
    """One look at one attempt; 1 when it is settled."""
    services = application.services
    storage = services.storage
    attempt = found
    if found.state == "sending":
        # Its process died (or the call hung) before the answer came.
        log.warning("booking %s was in flight when the bot stopped", found.flow)
        attempt = replace(found, state="checking", deadline=now + CHECK_FOR)
        storage.check_attempt(attempt.flow, now, now + CHECK_FOR)
        restarted = _t(application, attempt).gettext(
            "The bot restarted while your booking was being made. I am checking whether it "
            "went through and will tell you here within a few minutes."
        )
        await _say(application, attempt, restarted, None)
    try:
        finding = await look(services.altegio, storage, attempt, now)
    except errors.AltegioError as exc:
        log.info("booking %s: cannot look now (%s)", attempt.flow, type(exc).__name__)
        late = attempt.deadline is None or now >= attempt.deadline
        finding = Finding(Verdict.UNKNOWN if late else Verdict.WAIT)
    if finding.verdict is Verdict.WAIT:
        assert attempt.deadline is not None
        storage.check_attempt(attempt.flow, now + CHECK_EVERY, attempt.deadline)
        return 0
    await _settle(application, attempt, finding, now)
    return 1


def _t(application: BotApplication, attempt: Attempt) -> Translator:
    catalogs = application.services.catalogs
    return catalogs.translator(str(attempt.data.get("language") or catalogs.default))


async def _settle(
    application: BotApplication, attempt: Attempt, finding: Finding, now: datetime
) -> None:
    services = application.services
    storage = services.storage
    t = _t(application, attempt)
    company = await services.altegio.company()
    flow = attempt.flow
    moved = attempt.data.get("move_of")
    if moved is not None:
        await _settle_move(application, attempt, finding, company, old_id=int(moved), now=now)
        return
    if finding.verdict is Verdict.BOOKED and finding.record is not None:
        record = finding.record
        await store_in(
            application,
            f"booking {record.id}",
            lambda: _remember(application, attempt, record, company, now),
        )
        log.info("booking %s went through after all: record %s", flow, record.id)
        title = record.title or str(attempt.data.get("title") or "")
        text = booked_text(t, title, record.staff_name, company, record.start)
        await _say(application, attempt, text, my_appointments(t))
        return
    if finding.verdict is Verdict.NOT_BOOKED:
        log.info("booking %s did not go through", flow)
        storage.settle_attempt(flow, "not_booked")
        if attempt.data.get("abandoned"):
            text = t.gettext("The booking you confirmed earlier did not go through.")
            await _say(application, attempt, text, None)
            return
        text = t.gettext(
            "The salon's booking system did not answer, and the booking did not go through. "
            "Your choices are kept: tap Confirm to try again."
        )
        keys = Keys(flow, t)
        confirm = InlineKeyboardMarkup([[keys.button(t.gettext("✅ Confirm"), "confirm")]])
        await _say(application, attempt, text, confirm)
        return
    log.warning("booking %s: whether it was made stays unknown", flow)
    storage.settle_attempt(flow, "unknown")
    told = await application.tell_admin(_for_salon(attempt, company))
    text = uncertain_text(t, answered=attempt.answered, told=told)
    text += call_sentence(t, company.phone)
    await _say(application, attempt, text, my_appointments(t))


async def _settle_move(
    application: BotApplication,
    attempt: Attempt,
    finding: Finding,
    company: Company,
    *,
    old_id: int,
    now: datetime,
) -> None:
    """A move whose new booking's answer was lost: exactly one appointment when it can be
    made so, told as it is; the salon told when it cannot."""
    services = application.services
    storage = services.storage
    t = _t(application, attempt)
    old = storage.booking(old_id)
    old_when = when(t, old.start, company) if old else ""
    if finding.verdict is Verdict.NOT_BOOKED:
        storage.settle_attempt(attempt.flow, "not_booked")
        text = t.gettext(
            "Sorry, the appointment could not be moved right now. It stays as it was: %(when)s.",
            when=old_when,
        )
        await _say(application, attempt, text, my_appointments(t))
        return
    if finding.verdict is Verdict.BOOKED and finding.record is not None and old is not None:
        record = finding.record
        await store_in(
            application,
            f"booking {record.id}",
            lambda: _remember(application, attempt, record, company, now),
        )
        try:
            token = storage.user_token(old.user_id)
            await services.altegio.cancel_record(old.record_id, old.record_hash, token)
        except errors.AltegioError:
            await application.tell_admin(
                f"⚠️ A move through the bot left two appointments: records {old.record_id} and "
                f"{record.id} (client {old.fullname}, Telegram chat {old.chat_id}). Please "
                "cancel one with the client."
            )
            text = t.gettext(
                "Your new time is booked, but the old appointment could not be cancelled. "
                "Please cancel one of them in My appointments."
            )
            await _say(application, attempt, text, my_appointments(t))
            return
        await store_in(
            application,
            f"the cancel of record {old.record_id}",
            lambda: cancelled(services.storage, old),
        )
        text = t.gettext("✅ Done! Your appointment is moved.")
        text += "\n" + t.gettext("New time: %(when)s", when=when(t, record.start, company))
        await _say(application, attempt, text, my_appointments(t))
        return
    storage.settle_attempt(attempt.flow, "unknown")
    await application.tell_admin(
        f"⚠️ A move through the bot may have booked a second appointment (Altegio's answer was "
        f"lost): record {old_id} stands; the new time was {attempt.data.get('slot')} "
        f"(client {attempt.data.get('name') or ''}, Telegram chat {attempt.chat_id}). Please "
        "check and tell the client."
    )
    text = t.gettext(
        "The salon's booking system did not answer in time, so I cannot tell whether your new "
        "time was booked. Your appointment on %(when)s stands. Please do not try again; check "
        "My appointments in a minute.",
        when=old_when,
    )
    text += call_sentence(t, company.phone)
    await _say(application, attempt, text, my_appointments(t))


def _remember(
    application: BotApplication, attempt: Attempt, record: Record, company: Company, now: datetime
) -> None:
    services = application.services
    data = attempt.data
    booking = StoredBooking(
        record_id=record.id,
        company_id=company.id,
        record_hash="",  # only the client's own list names it: read through their token
        chat_id=attempt.chat_id,
        user_id=attempt.user_id,
        service_ids=(int(data["service_id"]),),
        staff_id=record.staff_id or int(data.get("staff_id") or 0),
        start=record.start,
        length=record.length or int(data.get("slot_length") or 0),
        created_at=attempt.started_at,
        phone=str(data.get("phone") or ""),
        fullname=str(data.get("name") or ""),
        title=record.title or str(data.get("title") or ""),
        staff_name=record.staff_name or str(data.get("staff_name") or ""),
    )
    contact = Contact(
        booking.fullname,
        booking.phone,
        str(data.get("email") or ""),
        str(data.get("consent") or ""),
    )
    language = str(data.get("language") or services.catalogs.default)
    remember_booking(
        services.storage,
        [booking],
        contact,
        language=language,
        tz=company.tz,
        policy=services.reminder_policy,
        now=now,
    )
    services.storage.settle_attempt(attempt.flow, "booked")


def _for_salon(attempt: Attempt, company: Company) -> str:
    """The admin chat's note: enough to find the booking in Altegio, nothing more."""
    data = attempt.data
    start = parse_datetime(data.get("slot"), company.tz)
    when = start.astimezone(company.tz).strftime("%Y-%m-%d %H:%M") if start else data.get("slot")
    return (
        "⚠️ A booking through the bot may or may not have been made (Altegio's answer was lost "
        f"or unreadable): {data.get('title') or ''}, {when}, team member "
        f"{data.get('staff_name') or data.get('staff_id') or 'any'}, client "
        f"{data.get('name') or ''} (Telegram chat {attempt.chat_id}). Please check and confirm "
        "with the client."
    )


async def _say(
    application: BotApplication,
    attempt: Attempt,
    text: str,
    markup: InlineKeyboardMarkup | None,
) -> None:
    try:
        await application.bot.send_message(
            attempt.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    except TelegramError as exc:
        log.warning("could not tell chat %s of booking %s: %s", attempt.chat_id, attempt.flow, exc)
