"""My appointments: the list, and per appointment cancel, calendar file, address and reminders.

Every button that names an appointment is checked against the chat that booked it; a forged or
stale one gets a polite refusal. Each appointment is read fresh from Altegio before it is shown,
so a change made by the salon is what the client sees.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import account
from bot.altegio import errors
from bot.altegio.models import Company
from bot.calendar_file import CalendarEntry, ics
from bot.context import Context
from bot.keyboards import NO_FLOW, Callback, Keys, decode, pattern
from bot.records import Change, Fresh, Refusal, cancel_refusal
from bot.storage import StoredBooking
from bot.workflows import cancel
from bot.workflows.sync import refresh
from conversations.listing import list_appointments, past_visits
from conversations.screens import answer, show, unavailable
from conversations.texts import describe, h, refusal_text

log = logging.getLogger(__name__)


def keys(context: Context) -> Keys:
    return Keys(NO_FLOW, context.t)


def owned(update: Update, context: Context, record_id: int) -> StoredBooking | None:
    """The stored booking, only when this chat made it."""
    booking = context.services.storage.booking(record_id)
    chat = update.effective_chat
    if booking is None or chat is None or booking.chat_id != chat.id:
        if booking is not None:
            log.warning("chat %s asked for record %s of another chat", chat and chat.id, record_id)
        return None
    return booking


# --- one appointment ----------------------------------------------------------------------------


async def _fresh_owned(
    update: Update, context: Context, cb: Callback
) -> tuple[Fresh, Company] | None:
    """Ownership, then a fresh read; answers the client itself when either fails."""
    t = context.t
    query = update.callback_query
    booking = owned(update, context, cb.number)
    if booking is None:
        if query:
            await answer(
                update, context, t.gettext("This appointment is not available."), alert=True
            )
        return None
    services = context.services
    try:
        company = await services.altegio.company()
    except errors.AltegioError as exc:
        if query:
            await answer(update, context)
        await unavailable(update, context, exc, retry=Callback(NO_FLOW, cb.action, cb.arg))
        return None
    fresh = await refresh(services, booking)
    if fresh.change is Change.DELETED or booking.status != "active":
        if query:
            await answer(update, context)
        await show(
            update,
            context,
            t.gettext("This appointment was cancelled."),
            InlineKeyboardMarkup([[keys(context).button(t.gettext("My appointments"), "apts")]]),
        )
        return None
    if query:
        await answer(update, context)
    return fresh, company


async def appointment(update: Update, context: Context, cb: Callback) -> None:
    found = await _fresh_owned(update, context, cb)
    if found is None:
        return
    fresh, company = found
    t = context.t
    k = keys(context)
    record_id = fresh.booking.record_id
    text = describe(t, fresh, company, ask_verify=True)
    if fresh.change is Change.MOVED:
        text = t.gettext("The salon has moved this appointment.") + "\n\n" + text
    rows = []
    if fresh.booking.start > context.now():
        row = [
            k.button(t.gettext("Reschedule"), "resc", record_id),
            k.button(t.gettext("Cancel appointment"), "cnl", record_id),
        ]
        rows.append(row[1:] if fresh.booking.activity_id else row)  # a class is never moved
    rows.append(
        [
            k.button(t.gettext("Add to calendar"), "ics", record_id),
            k.button(t.gettext("Address"), "addr", record_id),
        ]
    )
    if fresh.verify:
        rows.append([k.button(t.gettext("Confirm my phone number"), "acct")])
    rows.append([k.button(t.gettext("« My appointments"), "apts")])
    await show(update, context, text, InlineKeyboardMarkup(rows))


async def _refuse_cancel(
    update: Update, context: Context, fresh: Fresh, company: Company, refusal: Refusal
) -> None:
    t = context.t
    notice = fresh.rules(company).delete_notice
    text = refusal_text(t, refusal, notice, company.phone, "cancel")
    back = keys(context).button(t.gettext("« Back"), "apt", fresh.booking.record_id)
    await show(update, context, text, InlineKeyboardMarkup([[back]]))


async def ask_cancel(update: Update, context: Context, cb: Callback) -> None:
    found = await _fresh_owned(update, context, cb)
    if found is None:
        return
    fresh, company = found
    t = context.t
    k = keys(context)
    refusal = cancel_refusal(fresh.rules(company), fresh.booking.start, context.now())
    if refusal is not None:
        await _refuse_cancel(update, context, fresh, company, refusal)
        return
    text = t.gettext("Cancel this appointment?") + "\n\n" + describe(t, fresh, company)
    rows = [
        [k.button(t.gettext("Yes, cancel it"), "cnlok", fresh.booking.record_id)],
        [k.button(t.gettext("No, keep it"), "apt", fresh.booking.record_id)],
    ]
    await show(update, context, text, InlineKeyboardMarkup(rows))


async def do_cancel(update: Update, context: Context, cb: Callback) -> None:
    found = await _fresh_owned(update, context, cb)
    if found is None:
        return
    fresh, company = found
    t = context.t
    outcome = await cancel.cancel(context.services, context.alerts, fresh, company)
    if isinstance(outcome, cancel.Refused):
        await _refuse_cancel(update, context, fresh, company, outcome.refusal)
        return
    if isinstance(outcome, cancel.Unreachable):
        await unavailable(update, context, outcome.reason, retry=Callback(NO_FLOW, "cnlok", cb.arg))
        return
    k = keys(context)
    if isinstance(outcome, cancel.VerifyNeeded):
        text = t.gettext(
            "To cancel it online, please confirm your phone number first: a text message "
            "with a code will come. Your appointment stays as it is until then."
        )
        rows = [
            [k.button(t.gettext("Confirm my phone number"), "acct")],
            [k.button(t.gettext("« Back"), "apt", fresh.booking.record_id)],
        ]
        await show(update, context, text, InlineKeyboardMarkup(rows))
        return
    gone = replace(fresh, change=Change.SAME)  # whatever could be read before, it is gone
    text = t.gettext("Your appointment is cancelled:") + "\n\n" + describe(t, gone, company)
    rows = [
        [k.button(t.gettext("Book an appointment"), "book")],
        [k.button(t.gettext("My appointments"), "apts", 1)],
    ]
    await show(update, context, text, InlineKeyboardMarkup(rows))


async def calendar_file(update: Update, context: Context, cb: Callback) -> None:
    found = await _fresh_owned(update, context, cb)
    if found is None or update.effective_chat is None:
        return
    fresh, company = found
    t = context.t
    title = fresh.title or t.gettext("Appointment")
    entry = CalendarEntry(
        uid=f"{fresh.booking.record_id}@{company.id}.altegio",
        title=f"{title} — {company.title}",
        start=fresh.booking.start.astimezone(company.tz),
        length=fresh.booking.length,
        location=", ".join(p for p in (company.title, company.full_address) if p),
        description=t.gettext("Team member: %(staff)s", staff=fresh.staff_name)
        if fresh.staff_name
        else "",
    )
    local = entry.start
    await context.bot.send_document(
        update.effective_chat.id,
        document=ics(entry, context.now()),
        filename=f"appointment-{local:%Y-%m-%d-%H%M}.ics",
        caption=t.gettext("Open the file to add the appointment to your calendar."),
    )


async def address(update: Update, context: Context, cb: Callback) -> None:
    found = await _fresh_owned(update, context, cb)
    if found is None or update.effective_chat is None:
        return
    _fresh, company = found
    chat_id = update.effective_chat.id
    if company.latitude is not None and company.longitude is not None:
        await context.bot.send_venue(
            chat_id,
            latitude=company.latitude,
            longitude=company.longitude,
            title=company.title,
            address=company.full_address or company.title,
        )
        return
    t = context.t
    lines = [f"<b>{h(company.title)}</b>"]
    if company.full_address:
        lines.append(h(company.full_address))
    if company.phone:
        lines.append(t.gettext("Phone: %(phone)s", phone=h(company.phone)))
    await context.bot.send_message(chat_id, "\n".join(lines), parse_mode=ParseMode.HTML)


async def coming(update: Update, context: Context, cb: Callback) -> None:
    """The reminder's I'll come: thank them and take the buttons away."""
    query = update.callback_query
    t = context.t
    if owned(update, context, cb.number) is None:
        if query:
            await answer(
                update, context, t.gettext("This appointment is not available."), alert=True
            )
        return
    if query:
        await answer(update, context, t.gettext("Thank you! See you soon."))
        if query.message is not None:
            # The reminder may be too old to edit; the thank-you above is what matters.
            with contextlib.suppress(TelegramError):
                await query.edit_message_reply_markup(
                    InlineKeyboardMarkup(
                        [[keys(context).button(t.gettext("My appointments"), "apts", 1)]]
                    )
                )


async def reminders_setting(update: Update, context: Context, enabled: bool | None) -> None:
    """/settings, and the buttons that turn reminders off and on."""
    t = context.t
    chat = update.effective_chat
    if chat is None:
        return
    storage = context.services.storage
    if enabled is not None:
        account.set_reminders(context.services, chat.id, enabled)
    query = update.callback_query
    on = storage.reminders_enabled(chat.id)
    if query:
        toast = t.gettext("Reminders are on.") if on else t.gettext("Reminders are off.")
        await answer(update, context, toast)
    k = keys(context)
    text = (
        t.gettext("Reminders before your appointments are on.")
        if on
        else t.gettext("Reminders before your appointments are off.")
    )
    button = (
        k.button(t.gettext("Turn reminders off"), "remoff")
        if on
        else k.button(t.gettext("Turn reminders on"), "remon")
    )
    await show(update, context, text, InlineKeyboardMarkup([[button]]), new=query is None)


async def settings_command(update: Update, context: Context) -> None:
    await reminders_setting(update, context, None)


async def on_button(update: Update, context: Context) -> None:
    """Buttons of My appointments and of reminders (flow `-`)."""
    query = update.callback_query
    if query is None:
        return
    cb = decode(query.data)
    if cb is None:
        await answer(update, context, context.t.gettext("This button is no longer active."))
        return
    if cb.action == "apts":
        context.fresh_menu = cb.arg == "1"
        await list_appointments(update, context)
    elif cb.action == "past":
        await past_visits(update, context)
    elif cb.action == "apt":
        await appointment(update, context, cb)
    elif cb.action == "cnl":
        await ask_cancel(update, context, cb)
    elif cb.action == "cnlok":
        await do_cancel(update, context, cb)
    elif cb.action == "ics":
        await calendar_file(update, context, cb)
    elif cb.action == "addr":
        await address(update, context, cb)
    elif cb.action == "come":
        await coming(update, context, cb)
    elif cb.action in ("remoff", "remon"):
        await reminders_setting(update, context, cb.action == "remon")


APPOINTMENT_ACTIONS = pattern(
    "apts", "apt", "cnl", "cnlok", "ics", "addr", "come", "remoff", "remon", "past"
)
