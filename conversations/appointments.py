"""My appointments: the list, and per appointment cancel, calendar file, address and reminders.

Every button that names an appointment is checked against the chat that booked it; a forged or
stale one gets a polite refusal. Each appointment is read fresh from Altegio before it is shown,
so a change made by the salon is what the client sees.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import account
from bot.altegio import errors
from bot.altegio.models import Company
from bot.calendar_file import ics
from bot.chain import is_chain
from bot.context import Context
from bot.keyboards import NO_FLOW, Callback, Keys, decode, pattern
from bot.records import Change, Fresh, Refusal, cancel_refusal
from bot.storage import StoredBooking
from bot.workflows import cancel, visit_records
from conversations.listing import list_appointments, past_visits
from conversations.screens import answer, show, unavailable
from conversations.texts import call_sentence, h, refusal_text
from conversations.visit_cards import (
    calendar_entry,
    describe_visit,
    part_line,
    salon_cancelled_parts,
)

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


@dataclass(frozen=True, slots=True)
class Found:
    """An appointment's whole visit just read: the parts that stand (soonest first), those the
    salon was just found to have cancelled, and the location."""

    parts: list[Fresh]
    gone: list[Fresh]
    company: Company


async def _fresh_owned(update: Update, context: Context, cb: Callback) -> Found | None:
    """Ownership, then a fresh read of the appointment's whole visit (the appointment alone
    unless it is one of consecutive appointments booked together): the parts that stand,
    soonest first. Answers the client itself when either fails."""
    t = context.t
    query = update.callback_query
    booking = owned(update, context, cb.number)
    if booking is None:
        if query:
            await answer(
                update, context, t.gettext("This appointment is not available."), alert=True
            )
        return None
    # The appointment's own location: its address, timezone and rules.
    services = context.services.at(booking.company_id)
    try:
        company = await services.altegio.company()
    except errors.AltegioError as exc:
        if query:
            await answer(update, context)
        await unavailable(update, context, exc, retry=Callback(NO_FLOW, cb.action, cb.arg))
        return None
    parts = await visit_records.refresh_visit(services, booking)
    standing = [f for f in parts if f.change is not Change.DELETED and f.booking.status == "active"]
    if query:
        await answer(update, context)
    if not standing:
        await show(
            update,
            context,
            t.gettext("This appointment was cancelled."),
            InlineKeyboardMarkup([[keys(context).button(t.gettext("My appointments"), "apts")]]),
        )
        return None
    return Found(standing, [f for f in parts if f not in standing], company)


async def appointment(update: Update, context: Context, cb: Callback) -> None:
    found = await _fresh_owned(update, context, cb)
    if found is None:
        return
    parts, company = found.parts, found.company
    fresh = parts[0]
    t = context.t
    k = keys(context)
    record_id = fresh.booking.record_id
    text = describe_visit(t, parts, company, ask_verify=True, chain=is_chain(context.services))
    gone = salon_cancelled_parts(t, found.gone, company)
    if gone:
        text += "\n\n" + "\n".join(gone)
    if any(f.change is Change.MOVED for f in parts):
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
    if any(f.verify for f in parts):
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
    parts, company = found.parts, found.company
    fresh = parts[0]
    t = context.t
    k = keys(context)
    for part in parts:
        refusal = cancel_refusal(part.rules(company), part.booking.start, context.now())
        if refusal is not None:
            await _refuse_cancel(update, context, part, company, refusal)
            return
    if len(parts) > 1:
        question = t.gettext("Cancel this visit? Each of its appointments is cancelled.")
    else:
        question = t.gettext("Cancel this appointment?")
    chain = is_chain(context.services)
    text = question + "\n\n" + describe_visit(t, parts, company, chain=chain)
    rows = [
        [k.button(t.gettext("Yes, cancel it"), "cnlok", fresh.booking.record_id)],
        [k.button(t.gettext("No, keep it"), "apt", fresh.booking.record_id)],
    ]
    await show(update, context, text, InlineKeyboardMarkup(rows))


async def do_cancel(update: Update, context: Context, cb: Callback) -> None:
    found = await _fresh_owned(update, context, cb)
    if found is None:
        return
    parts, company = found.parts, found.company
    fresh = parts[0]
    t = context.t
    outcome = await cancel.cancel_visit(context.services, context.alerts, parts, company)
    if isinstance(outcome, cancel.Partly):
        await show_partly_cancelled(update, context, outcome, company)
        return
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
    gone = [replace(f, change=Change.SAME) for f in parts]  # whatever was read before, it is gone
    if len(parts) > 1:
        heading = t.gettext("Your visit is cancelled, each of its appointments:")
    else:
        heading = t.gettext("Your appointment is cancelled:")
    text = heading + "\n\n" + describe_visit(t, gone, company, chain=is_chain(context.services))
    rows = [
        [k.button(t.gettext("Book an appointment"), "book")],
        [k.button(t.gettext("My appointments"), "apts", 1)],
    ]
    await show(update, context, text, InlineKeyboardMarkup(rows))


async def show_partly_cancelled(
    update: Update, context: Context, outcome: cancel.Partly, company: Company
) -> None:
    """Part of a visit cancelled, part standing: exactly which, why the rest stands, and a
    Cancel again that cancels only what stands."""
    t = context.t
    k = keys(context)
    why = outcome.why
    first = outcome.standing[0]
    if isinstance(why, cancel.Refused):
        reason = refusal_text(
            t, why.refusal, first.rules(company).delete_notice, company.phone, "cancel"
        )
    elif isinstance(why, cancel.VerifyNeeded):
        reason = t.gettext(
            "To cancel the rest online, please confirm your phone number first: a text "
            "message with a code will come."
        )
    else:
        reason = t.gettext(
            "The salon's booking system did not answer about the rest, so it stands as far as "
            "is known."
        ) + call_sentence(t, company.phone)
    lines = [
        t.gettext("Only part of your visit is cancelled."),
        "",
        t.gettext("Cancelled:"),
        *(part_line(t, f, company) for f in outcome.cancelled),
        "",
        t.gettext("Still booked:"),
        *(part_line(t, f, company) for f in outcome.standing),
        "",
        reason,
    ]
    record_id = first.booking.record_id
    rows = [[k.button(t.gettext("Cancel the rest"), "cnlok", record_id)]]
    if isinstance(why, cancel.VerifyNeeded):
        rows.insert(0, [k.button(t.gettext("Confirm my phone number"), "acct")])
    rows.append([k.button(t.gettext("« My appointments"), "apts")])
    await show(update, context, "\n".join(lines), InlineKeyboardMarkup(rows))


async def calendar_file(update: Update, context: Context, cb: Callback) -> None:
    found = await _fresh_owned(update, context, cb)
    if found is None or update.effective_chat is None:
        return
    parts, company = found.parts, found.company
    t = context.t
    entry = calendar_entry(t, parts, company)
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
    company = found.company
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
