"""From the details to a confirmed appointment: the summary, Confirm, the SMS code, and what became
of the booking put into words."""

from __future__ import annotations

import logging

from telegram import (
    Update,
)
from telegram.constants import ChatAction

from bot import visit_plan
from bot.altegio import errors
from bot.altegio.models import parse_datetime
from bot.chain import is_chain
from bot.context import Context
from bot.draft import (
    Draft,
    display_phone,
)
from bot.keyboards import NO_FLOW, Callback, Keys
from bot.storage import Attempt, AttemptState
from bot.workflows import book
from bot.workflows import group_classes as class_calls
from conversations import classes
from conversations.contact import ask_new_phone, show_phone
from conversations.details import needs_comment, needs_consent, needs_email
from conversations.drafts import just_booked, put_draft
from conversations.flow import (
    END,
    Outcome,
    Step,
    call_salon,
    chosen_staff,
    finish,
    go,
    service_gone,
    staff_name,
    take_notice,
    user_id_of,
)
from conversations.screens import my_appointments, show, single, unavailable
from conversations.texts import (
    booked_text,
    code_wait,
    h,
    summary_tail,
    uncertain_text,
)
from conversations.verify import ask_verify_code
from conversations.visit_parts import schedule_lines

log = logging.getLogger(__name__)


MAX_CODE_ATTEMPTS = 5


# --- summary and confirmation ---------------------------------------------------------------


async def summary_text(context: Context, draft: Draft) -> str:
    if draft.activity is not None:
        return await classes.summary_text(context, draft)
    t = context.t
    company = await context.services.altegio.company()
    visit = await visit_plan.visit(context.services.altegio, draft.service_ids)
    member = await chosen_staff(context, draft)
    start = parse_datetime(draft.slot, company.tz) if draft.slot else None
    lines = [t.gettext("Please check your booking:"), ""]
    if draft.parts and start is not None:
        lines += await schedule_lines(context, draft, company.tz)
    elif len(visit.services) > 1:
        lines.append(t.gettext("Services: %(services)s", services=h(visit.title)))
    elif visit.services:
        lines.append(t.gettext("Service: %(service)s", service=h(visit.title)))
    if not draft.parts:
        lines.append(t.gettext("Team member: %(staff)s", staff=h(staff_name(context, member))))
    if start is not None:
        local = start.astimezone(company.tz)
        lines.append(
            t.gettext(
                "When: %(day)s at %(time)s", day=t.long_date(local.date()), time=t.time(local)
            )
        )
    # The free time's own length is the whole visit's with this team member (`sum_length`).
    length = draft.slot_length or visit.shortest
    if draft.parts:
        length = sum(int(n or 0) for _, n in draft.later) + (draft.slot_length or 0)
    if length:
        lines.append(t.gettext("Duration: %(duration)s", duration=t.duration(length)))
    price = t.price_range(visit.price_min, visit.price_max, company.currency)
    if price:
        lines.append(t.gettext("Price: %(price)s", price=price))
    lines += summary_tail(t, company, draft, is_chain(context.services))
    return "\n".join(lines)


async def show_summary(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    if not (draft.slot and draft.phone and draft.name):
        return await show_phone(update, context, draft)
    if draft.email is None and await needs_email(context, draft):
        return go(draft, Step.EMAIL)
    if not draft.comment and await needs_comment(context, draft):
        return go(draft, Step.COMMENT)
    if await needs_consent(context, draft, update) is not None:
        return go(draft, Step.CONSENT)
    draft.summary_ready = True
    rows = [
        [keys.button(t.gettext("✅ Confirm"), "confirm")],
        [keys.button(t.gettext("✏️ Change"), "change")],
    ]
    text = take_notice(draft) + await summary_text(context, draft)
    await show(update, context, text, keys.markup(rows), draft=draft)
    return Step.SUMMARY


async def on_change(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    rows = [
        [keys.button(t.gettext("Service"), "chg", "svc")],
        [keys.button(t.gettext("Team member"), "chg", "stf")],
        [keys.button(t.gettext("Day and time"), "chg", "day")],
        [keys.button(t.gettext("Name and phone"), "chg", "who")],
    ]
    if draft.activity is not None:  # a group class: the class (its day, its seats) is one
        rows[:3] = [[keys.button(t.gettext("Class and seats"), "chg", "day")]]
    await show(
        update, context, t.gettext("What would you like to change?"), keys.markup(rows), draft=draft
    )
    put_draft(context, draft)
    return Step.SUMMARY


async def on_change_what(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.summary_ready = False
    draft.code_sent = False
    if cb.arg == "svc":
        draft.more_services = []
        draft.category_id = draft.service_id = draft.staff_id = None
        draft.day = draft.slot = draft.month = None
        return go(draft, Step.SERVICE)
    if cb.arg == "stf":
        draft.staff_id = draft.day = draft.slot = draft.month = None
        return go(draft, Step.STAFF)
    if cb.arg == "day":
        draft.day = draft.slot = None
        return go(draft, Step.DAY)
    return await ask_new_phone(update, context, draft)


async def on_confirm(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    if not (draft.summary_ready and draft.slot and draft.phone and draft.name):
        return go(draft, Step.SUMMARY)
    earlier = context.services.storage.attempt(draft.flow)
    if earlier is not None and earlier.state is not AttemptState.NOT_BOOKED:
        # A booking call of this very booking has gone out before (its answer lost, or the bot
        # restarted meanwhile): its outcome decides, never a second call.
        return await _after_earlier(update, context, draft, earlier)
    try:
        code_needed = await book.needs_code(context.services)
    except errors.AltegioError as exc:
        put_draft(context, draft)
        await unavailable(update, context, exc, draft.flow)
        return Step.SUMMARY
    if code_needed:
        return await _send_code(update, context, draft)
    if update.effective_chat:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    return await _book(update, context, draft, None)


async def _after_earlier(
    update: Update, context: Context, draft: Draft, earlier: Attempt
) -> Outcome:
    t = context.t
    if earlier.state.open:
        context.notify(
            t.gettext(
                "Still checking whether your booking went through. I will tell you here as soon "
                "as I know."
            ),
            alert=True,
        )
        return Step.SUMMARY
    if earlier.state is AttemptState.BOOKED:
        text = t.gettext("This booking has been made: you will find it in My appointments.")
    else:
        text = uncertain_text(t, answered=earlier.answered, told=False)
        text += await call_salon(context)
    return await finish(update, context, text)


async def _send_code(update: Update, context: Context, draft: Draft) -> Outcome:
    text_code = class_calls.text_code if draft.activity is not None else book.text_code
    sent = await text_code(context.services, draft, user_id_of(update))
    if isinstance(sent, book.NotBooked):
        if isinstance(sent.reason, errors.Rejected):
            return await _rejected(update, context, draft, sent.reason)
        put_draft(context, draft)
        await unavailable(update, context, sent.reason, draft.flow)
        return Step.SUMMARY
    draft.code_sent = True
    if isinstance(sent, book.CodeWait):
        return await ask_code(update, context, draft, code_wait(context.t, sent.wait))
    draft.code_attempts = 0
    return await ask_code(update, context, draft)


async def ask_code(update: Update, context: Context, draft: Draft, note: str = "") -> Outcome:
    if draft.verify:
        return await ask_verify_code(update, context, draft, note)
    t = context.t
    keys = Keys(draft.flow, t)
    if draft.reschedule:
        text = t.gettext(
            "To move your appointment online, please confirm your phone number. We have sent "
            "a code to %(phone)s: please type it here.",
            phone=h(display_phone(draft.phone or "")),
        )
    else:
        text = t.gettext(
            "The salon confirms bookings by text message. We have sent a code to %(phone)s: "
            "please type it here.",
            phone=h(display_phone(draft.phone or "")),
        )
    text = (note + "\n" if note else "") + text
    rows = [[keys.button(t.gettext("Send the code again"), "resend")]]
    await show(update, context, text, keys.markup(rows), draft=draft)
    put_draft(context, draft)
    return Step.CODE


async def on_resend(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    if draft.verify:
        draft.code_sent = False
        return await ask_verify_code(
            update, context, draft, context.t.gettext("A new code is on its way.")
        )
    if not (draft.phone and draft.name):
        return go(draft, Step.SUMMARY)
    try:
        sent = await book.resend_code(context.services, draft.phone, draft.name, user_id_of(update))
    except errors.AltegioError as exc:
        await unavailable(update, context, exc, draft.flow)
        return Step.CODE
    if isinstance(sent, book.CodeWait):
        note = code_wait(context.t, sent.wait)
        context.notify(note)
        return await ask_code(update, context, draft, note)
    draft.code_attempts = 0
    return await ask_code(update, context, draft, context.t.gettext("A new code is on its way."))


async def read_code(update: Update, context: Context, draft: Draft) -> str | None:
    """The digits of a typed SMS code, or None once the client has been told what is wrong."""
    message = update.message
    if message is None or not message.text:
        return None
    code = "".join(ch for ch in message.text if ch.isdigit())
    t = context.t
    if not 3 <= len(code) <= 8:
        await message.reply_text(
            t.gettext("Please type the digits of the code from the text message.")
        )
        return None
    if draft.code_attempts >= MAX_CODE_ATTEMPTS:
        await ask_code(
            update, context, draft, t.gettext("Too many wrong codes. Please ask for a new one.")
        )
        return None
    draft.code_attempts += 1
    put_draft(context, draft)
    return code


async def book_with_code(update: Update, context: Context, draft: Draft, code: str) -> Outcome:
    return await _book(update, context, draft, code)


async def _book(update: Update, context: Context, draft: Draft, code: str | None) -> Outcome:
    who = book.Who(_chat(update), user_id_of(update), context.language)
    booking = class_calls.book_class if draft.activity is not None else book.book
    outcome = await booking(context.services, context.alerts, draft, who, code)
    if isinstance(outcome, book.Checking):
        return await _checking(update, context, draft)
    if isinstance(outcome, book.NotBooked):
        return await _not_booked(update, context, draft, code, outcome.reason)
    t = context.t
    put_draft(context, None)
    just_booked(context)
    won, chain = outcome, is_chain(context.services)
    text = booked_text(
        t, won.title, won.staff_name, won.company, won.start, parts=won.parts, chain=chain
    )
    if draft.activity is not None:  # a class: the seats booked, under what and when
        lines = text.split("\n")
        lines.insert(3, t.gettext("Seats: %(seats)s", seats=class_calls.seats_of(draft)))
        text = "\n".join(lines)
    keys = Keys(NO_FLOW, t)
    markup = single(keys.button(t.gettext("Book another appointment"), "book"))
    await show(update, context, text, markup, new=update.callback_query is None)
    return END


async def _not_booked(
    update: Update, context: Context, draft: Draft, code: str | None, exc: errors.AltegioError
) -> Outcome:
    """Altegio answered that it did not book (or the call never left): say why, and on."""
    if isinstance(exc, errors.WrongCode):
        if code is None:
            # The salon has just switched SMS confirmation on: ask for a code, as it now does.
            return await _send_code(update, context, draft)
        return await ask_code(
            update, context, draft, context.t.gettext("That code is not right. Please try again.")
        )
    if isinstance(exc, errors.Rejected):
        return await _rejected(update, context, draft, exc)
    if isinstance(exc, errors.NotFound):
        return await _other_time(update, context, draft, taken=False)
    put_draft(context, draft)
    await unavailable(update, context, exc, draft.flow)
    return Step.SUMMARY


async def _checking(update: Update, context: Context, draft: Draft) -> Outcome:
    """The answer to the booking call was lost or unreadable: the client is told the outcome is
    being checked (never that it failed while it may still land)."""
    t = context.t
    text = t.gettext(
        "The salon's booking system has not answered yet. I am checking whether your booking "
        "went through and will tell you here within a few minutes. Please do not book again "
        "meanwhile."
    )
    await show(update, context, text, my_appointments(t), draft=draft, new=True)
    put_draft(context, draft)
    return Step.SUMMARY


def _chat(update: Update) -> int:
    return update.effective_chat.id if update.effective_chat else 0


async def _rejected(
    update: Update, context: Context, draft: Draft, exc: errors.Rejected
) -> Outcome:
    """Altegio said no: explain in the client's words and take them to the step that fixes it,
    with their choices kept."""
    t = context.t
    if isinstance(exc, errors.SlotTaken | errors.NoStaffAvailable):
        context.notify(
            t.gettext("Sorry, that time has just been taken. Please choose another."),
            alert=True,
        )
        return await _other_time(update, context, draft, taken=True)
    if isinstance(exc, errors.ServiceUnavailable):
        return await service_gone(update, context, draft)
    if isinstance(exc, errors.InvalidPhone):
        return await ask_new_phone(update, context, draft)
    if isinstance(exc, errors.NameRequired):
        draft.name = None
        return go(draft, Step.NAME)
    if isinstance(exc, errors.EmailRequired):
        draft.email_needed = True
        draft.email = None
        draft.notice = t.gettext("The salon needs an e-mail address with the booking.")
        return go(draft, Step.EMAIL)
    if isinstance(exc, errors.CommentRequired):
        draft.comment_needed = True
        draft.comment = None
        return go(draft, Step.COMMENT)
    if isinstance(exc, errors.WrongCode):
        return await ask_code(
            update, context, draft, t.gettext("That code is not right. Please try again.")
        )
    if isinstance(exc, errors.Blacklisted):
        put_draft(context, None)
        text = t.gettext("Sorry, the salon cannot accept an online booking for this number.")
        text += await call_salon(context, also=False)
        await show(update, context, text, None)
        return END
    # A refusal whose reason Altegio did not name: nothing was booked, so the client chooses
    # again with everything else kept, rather than losing the whole booking.
    draft.refusals += 1
    note = t.gettext("The salon's booking system did not accept this booking at that time.")
    if draft.refusals > 1:
        note += await call_salon(context)
    context.notify(note, alert=True)
    draft.notice = note
    return await _other_time(update, context, draft, taken=False)


async def _other_time(update: Update, context: Context, draft: Draft, *, taken: bool) -> Outcome:
    draft.slot = None
    draft.code_sent = False
    draft.taken = taken
    return go(draft, Step.TIME)
