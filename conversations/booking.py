"""The booking conversation: service, team member, day, time, contact, summary, confirmation.

Each step is a `show_*` function that reads what it needs from Altegio and renders the menu, and
a few small handlers that record the client's answer in the draft and move to the next step.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.altegio import errors
from bot.altegio.client import Appointment, NewBooking
from bot.altegio.models import Catalogue, Company, Service, Slot, Staff, parse_datetime
from bot.booking import (
    Draft,
    TypedDay,
    clean_comment,
    clean_name,
    display_phone,
    horizon,
    mask_phone,
    nearest_days,
    normalize_phone,
    parse_day,
    phone_region,
)
from bot.context import Context
from bot.keyboards import NO_FLOW, Callback, Keys, decode, time_arg
from bot.storage import Contact, StoredBooking
from conversations.common import get_draft, h, put_draft, show, unavailable

log = logging.getLogger(__name__)

CONVERSATION = "booking"
MAX_CODE_ATTEMPTS = 5


class Step(StrEnum):
    SERVICE = "service"
    STAFF = "staff"
    DAY = "day"
    TIME = "time"
    PHONE = "phone"
    NAME = "name"
    COMMENT = "comment"
    SUMMARY = "summary"
    CODE = "code"


END = ConversationHandler.END
Outcome = Step | int | None
Action = Callable[[Update, Context, Draft, Callback], Awaitable[Outcome]]
Handler = Callable[[Update, Context], Coroutine[Any, Any, Outcome]]


# --- entry and exit -------------------------------------------------------------------------


async def start(update: Update, context: Context) -> Outcome:
    """/start: greet with the salon's name and offer to book."""
    t = context.t
    put_draft(context, None)
    try:
        company = await context.services.altegio.company()
        greeting = t.gettext(
            "Hello! This is the booking assistant of <b>%(salon)s</b>.", salon=h(company.title)
        )
    except errors.AltegioError:
        greeting = t.gettext("Hello! I can book you an appointment at the salon.")
    text = greeting + "\n" + t.gettext("Book an appointment in a few taps, any time of day.")
    markup = Keys(NO_FLOW, t)
    await show(
        update,
        context,
        text,
        _single(markup.button(t.gettext("Book an appointment"), "book")),
        new=update.callback_query is None,
    )
    return END


async def begin(update: Update, context: Context) -> Outcome:
    """/book or the Book button: a fresh draft, then the services."""
    if update.callback_query:
        await update.callback_query.answer()
    return await go(update, context, Draft(), Step.SERVICE)


async def cancel(update: Update, context: Context) -> Outcome:
    t = context.t
    draft = get_draft(context)
    put_draft(context, None)
    keys = Keys(NO_FLOW, t)
    text = t.gettext("Booking cancelled. Nothing was booked.")
    button = keys.button(t.gettext("Book an appointment"), "book")
    if update.message and draft and draft.phone is None:
        # The contact step left a reply keyboard open; a new message is needed to close it.
        await update.message.reply_text(text, reply_markup=ReplyKeyboardRemove())
        await show(update, context, t.gettext("Whenever you are ready:"), _single(button), new=True)
        return END
    await show(update, context, text, _single(button))
    return END


def _single(button: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button]])


async def go(update: Update, context: Context, draft: Draft, step: Step) -> Outcome:
    """Render `step`; when Altegio fails, say so and let the client retry this very step."""
    try:
        outcome = await RENDER[step](update, context, draft)
    except (errors.Unavailable, errors.RateLimited, errors.UnexpectedResponse) as exc:
        put_draft(context, draft)
        await unavailable(update, context, exc, draft.flow)
        return step
    put_draft(context, draft)
    return outcome


# --- service --------------------------------------------------------------------------------


def _groups(catalogue: Catalogue) -> list[tuple[int, str, list[Service]]]:
    """Categories that have services, in the salon's order; stray services form their own."""
    groups = []
    seen: set[int] = set()
    for category in catalogue.categories:
        services = catalogue.in_category(category.id)
        if services:
            groups.append((category.id, category.title, services))
            seen.update(s.id for s in services)
    stray = [s for s in catalogue.services if s.id not in seen]
    if stray:
        groups.append((0, "", stray))
    return groups


def _service_line(context: Context, service: Service, currency: str) -> str:
    t = context.t
    details = []
    if service.duration:
        details.append(t.duration(service.duration))
    price = t.price_range(service.price_min, service.price_max, currency)
    if price:
        details.append(price)
    line = f"• <b>{h(service.title)}</b>"
    return line + (" — " + ", ".join(details) if details else "")


async def show_service(update: Update, context: Context, draft: Draft, page: int = 0) -> Outcome:
    t = context.t
    altegio = context.services.altegio
    company = await altegio.company()
    catalogue = await altegio.catalogue()
    groups = _groups(catalogue)
    keys = Keys(draft.flow, t)
    if not groups:
        await show(
            update,
            context,
            t.gettext(
                "Online booking has no services open right now. Please call the salon: %(phone)s",
                phone=h(company.phone),
            ),
            keys.markup([], back=False),
            draft=draft,
        )
        return Step.SERVICE
    if draft.category_id is None and len(groups) > 1:
        items = [(title or t.gettext("Other services"), "cat", ident) for ident, title, _ in groups]
        text = t.gettext("What would you like to book? Choose a category:")
        await show(update, context, text, keys.paged(items, page, "catp", back=False), draft=draft)
        return Step.SERVICE
    found = next((g[2] for g in groups if g[0] == draft.category_id), None)
    services = found if found is not None else list(catalogue.services) if len(groups) == 1 else []
    lines = [_service_line(context, s, company.currency) for s in services]
    per_page = 8
    page = min(max(page, 0), max(0, (len(services) - 1) // per_page))
    shown = lines[page * per_page : (page + 1) * per_page]
    text = t.gettext("Choose a service:") + "\n\n" + "\n".join(shown)
    items = [(s.title, "svc", s.id) for s in services]
    markup = keys.paged(items, page, "svcp", per_page=per_page, back=len(groups) > 1)
    await show(update, context, text, markup, draft=draft)
    return Step.SERVICE


async def on_category(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.category_id = cb.number
    return await go(update, context, draft, Step.SERVICE)


async def on_category_page(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.category_id = None
    return await _paged(update, context, draft, cb.number)


async def on_service_page(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    return await _paged(update, context, draft, cb.number)


async def _paged(update: Update, context: Context, draft: Draft, page: int) -> Outcome:
    try:
        outcome = await show_service(update, context, draft, page)
    except (errors.Unavailable, errors.RateLimited, errors.UnexpectedResponse) as exc:
        await unavailable(update, context, exc, draft.flow)
        return Step.SERVICE
    put_draft(context, draft)
    return outcome


async def on_service(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    catalogue = await context.services.altegio.catalogue()
    service = catalogue.service(cb.number)
    if service is None:
        context.notify(
            context.t.gettext("This service is no longer offered. Please choose another.")
        )
        return await go(update, context, draft, Step.SERVICE)
    draft.service_id = service.id
    draft.staff_id = draft.day = draft.slot = draft.month = None
    return await go(update, context, draft, Step.STAFF)


# --- team member ----------------------------------------------------------------------------


async def _service(context: Context, draft: Draft) -> Service | None:
    catalogue = await context.services.altegio.catalogue()
    return catalogue.service(draft.service_id) if draft.service_id else None


async def show_staff(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    service = await _service(context, draft)
    if service is None:
        draft.service_id = None
        return await show_service(update, context, draft)
    staff = [s for s in await context.services.altegio.staff([service.id]) if s.bookable]
    if not staff:
        company = await context.services.altegio.company()
        text = t.gettext(
            "Sorry, nobody has free times for <b>%(service)s</b> in the coming weeks. "
            "Please choose another service, or call the salon: %(phone)s",
            service=h(service.title),
            phone=h(company.phone),
        )
        await show(update, context, text, keys.markup([]), draft=draft)
        return Step.STAFF
    rows = [[keys.button(t.gettext("Any available team member"), "stf", 0)]]
    for member in staff:
        label = member.name
        if member.nearest_date:
            label = t.gettext(
                "%(name)s · from %(day)s", name=member.name, day=t.date(member.nearest_date)
            )
        rows.append([keys.button(label, "stf", member.id)])
    lines = [
        f"• <b>{h(m.name)}</b>" + (f" — {h(m.specialization)}" if m.specialization else "")
        for m in staff
    ]
    text = (
        t.gettext("<b>%(service)s</b>. Who would you like to see?", service=h(service.title))
        + "\n\n"
        + "\n".join(lines)
    )
    await show(update, context, text, keys.markup(rows), draft=draft)
    return Step.STAFF


async def on_staff(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    if draft.service_id is None:
        return await go(update, context, draft, Step.SERVICE)
    if cb.number != 0:
        staff = await context.services.altegio.staff([draft.service_id])
        if not any(s.id == cb.number for s in staff):
            context.notify(
                context.t.gettext("This team member is no longer available. Please choose again.")
            )
            return await go(update, context, draft, Step.STAFF)
    draft.staff_id = cb.number
    draft.day = draft.slot = draft.month = None
    return await go(update, context, draft, Step.DAY)


async def _staff_member(context: Context, draft: Draft) -> Staff | None:
    if not draft.staff_id or draft.service_id is None:
        return None
    staff = await context.services.altegio.staff([draft.service_id])
    return next((s for s in staff if s.id == draft.staff_id), None)


def _staff_name(context: Context, member: Staff | None) -> str:
    return member.name if member else context.t.gettext("any available team member")


# --- day ------------------------------------------------------------------------------------


def _today(context: Context, company: Company) -> date:
    return context.now().astimezone(company.tz).date()


async def _bookable_days(context: Context, draft: Draft, company: Company) -> set[date]:
    first, last = horizon(_today(context, company))
    assert draft.service_id is not None and draft.staff_id is not None
    dates = await context.services.altegio.dates([draft.service_id], draft.staff_id, first, last)
    return {d for d in dates.booking_dates if first <= d <= last}


async def show_day(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    if draft.service_id is None or draft.staff_id is None:
        return await show_staff(update, context, draft)
    company = await context.services.altegio.company()
    service = await _service(context, draft)
    member = await _staff_member(context, draft)
    bookable = await _bookable_days(context, draft, company)
    intro = t.gettext(
        "<b>%(service)s</b> with %(staff)s.",
        service=h(service.title if service else ""),
        staff=h(_staff_name(context, member)),
    )
    if not bookable:
        text = (
            intro
            + "\n"
            + t.gettext(
                "There are no free days in the coming weeks. Please choose another team member "
                "or service, or call the salon: %(phone)s",
                phone=h(company.phone),
            )
        )
        await show(update, context, text, keys.markup([]), draft=draft)
        return Step.DAY
    first, last = horizon(_today(context, company))
    month = draft.shown_month or min(bookable).replace(day=1)
    draft.month = month.isoformat()
    text = (
        intro + "\n" + t.gettext("Choose a day, or type one (for example “tomorrow” or “25.12”).")
    )
    await show(update, context, text, keys.calendar(month, bookable, first, last), draft=draft)
    return Step.DAY


async def on_month(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.month = date(int(cb.arg[:4]), int(cb.arg[4:6]), 1).isoformat()
    return await go(update, context, draft, Step.DAY)


async def on_calendar(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    return await go(update, context, draft, Step.DAY)


async def on_day(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    return await choose_day(update, context, draft, TypedDay(cb.day, None))


async def typed_day(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    if draft is None:
        return await _lost(update, context)
    text = update.message.text if update.message and update.message.text else ""
    t = context.t
    try:
        company = await context.services.altegio.company()
    except errors.AltegioError as exc:
        await unavailable(update, context, exc, draft.flow)
        return Step.DAY
    typed = parse_day(text, [context.language], _today(context, company))
    if typed is None:
        await show(
            update,
            context,
            t.gettext(
                "Sorry, I could not understand that day. Tap a day in the calendar, or type "
                "one like “tomorrow”, “Friday” or “25.12”."
            ),
            Keys(draft.flow, t).markup(
                [[Keys(draft.flow, t).button(t.gettext("Show the calendar"), "cal")]]
            ),
            draft=draft,
        )
        put_draft(context, draft)
        return Step.DAY
    return await choose_day(update, context, draft, typed)


async def choose_day(update: Update, context: Context, draft: Draft, typed: TypedDay) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    try:
        company = await context.services.altegio.company()
        bookable = await _bookable_days(context, draft, company)
    except (errors.Unavailable, errors.RateLimited, errors.UnexpectedResponse) as exc:
        await unavailable(update, context, exc, draft.flow)
        return Step.DAY
    today = _today(context, company)
    day = typed.day
    if day in bookable:
        draft.day = day.isoformat()
        draft.after = typed.after
        return await go(update, context, draft, Step.TIME)
    if day < today:
        reason = t.gettext("%(day)s has already passed.", day=t.date(day))
    elif day > horizon(today)[1]:
        reason = t.gettext("%(day)s is too far ahead to book yet.", day=t.date(day))
    else:
        reason = t.gettext("There are no free times on %(day)s.", day=t.date(day))
    near = nearest_days(max(day, today), bookable)
    if not near:
        return await go(update, context, draft, Step.DAY)
    text = reason + "\n" + t.gettext("The nearest days with free times:")
    await show(update, context, text, keys.days(near), draft=draft)
    put_draft(context, draft)
    return Step.DAY


# --- time -----------------------------------------------------------------------------------


async def _free_times(context: Context, draft: Draft, day: date) -> list[Slot]:
    altegio = context.services.altegio
    assert draft.service_id is not None and draft.staff_id is not None
    slots = await altegio.times(draft.staff_id, day, [draft.service_id])
    if not slots and draft.staff_id == 0:
        # Whether `book_times` with staff 0 merges everyone's times is undocumented: when it
        # answers nothing, ask each team member who is bookable for this service.
        merged: dict[datetime, Slot] = {}
        for member in await altegio.staff([draft.service_id]):
            if member.bookable:
                for slot in await altegio.times(member.id, day, [draft.service_id]):
                    merged.setdefault(slot.start, slot)
        slots = sorted(merged.values(), key=lambda s: s.start)
    now = context.now()
    return [s for s in slots if s.start > now]


async def show_time(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    day = draft.chosen_day
    if day is None:
        return await show_day(update, context, draft)
    slots = await _free_times(context, draft, day)
    member = await _staff_member(context, draft)
    if not slots:
        company = await context.services.altegio.company()
        bookable = await _bookable_days(context, draft, company)
        bookable.discard(day)
        near = nearest_days(day, bookable)
        text = t.gettext("There are no free times on %(day)s any more.", day=t.date(day))
        draft.day = None
        if near:
            text += "\n" + t.gettext("The nearest days with free times:")
            await show(update, context, text, keys.days(near), draft=draft)
        else:
            await show(update, context, text, keys.markup([]), draft=draft)
        return Step.DAY
    shown = slots
    note = ""
    if draft.after is not None:
        later = [s for s in slots if s.start.hour * 60 + s.start.minute >= draft.after]
        if later:
            shown = later
        else:
            note = "\n" + t.gettext("Nothing is free that late; here are all the free times.")
    draft.summary_ready = False
    text = (
        t.gettext(
            "Free times on %(day)s with %(staff)s:",
            day=t.long_date(day),
            staff=h(_staff_name(context, member)),
        )
        + note
    )
    await show(update, context, text, keys.times(shown), draft=draft)
    return Step.TIME


async def on_time(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    day = draft.chosen_day
    if day is None or not cb.arg.startswith(day.strftime("%Y%m%d")):
        return await go(update, context, draft, Step.TIME if day else Step.DAY)
    try:
        slots = await _free_times(context, draft, day)
    except (errors.Unavailable, errors.RateLimited, errors.UnexpectedResponse) as exc:
        await unavailable(update, context, exc, draft.flow)
        return Step.TIME
    slot = next((s for s in slots if time_arg(s.start) == cb.arg), None)
    if slot is None:
        context.notify(
            context.t.gettext("Sorry, that time has just been taken. Please choose another."),
            alert=True,
        )
        return await go(update, context, draft, Step.TIME)
    draft.slot = slot.raw
    draft.slot_length = slot.length
    return await go(update, context, draft, Step.PHONE)


# --- contact --------------------------------------------------------------------------------


def _user_id(update: Update) -> int:
    return update.effective_user.id if update.effective_user else 0


def _profile_name(update: Update) -> str | None:
    user = update.effective_user
    return clean_name(user.full_name) if user else None


def _phone_keyboard(context: Context) -> ReplyKeyboardMarkup:
    t = context.t
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton(t.gettext("📱 Share my phone number"), request_contact=True)],
            [KeyboardButton(t.gettext("« Back")), KeyboardButton(t.gettext("Cancel"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=t.gettext("+49 151 23456789"),
    )


async def show_phone(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    remembered = context.services.storage.contact(_user_id(update))
    if remembered and draft.phone is None and not draft.summary_ready:
        text = t.gettext(
            "Book as <b>%(name)s</b>, %(phone)s?",
            name=h(remembered.name),
            phone=h(display_phone(remembered.phone)),
        )
        rows = [
            [keys.button(t.gettext("Yes"), "me")],
            [keys.button(t.gettext("Use other details"), "other")],
        ]
        await show(update, context, text, keys.markup(rows), draft=draft)
        return Step.PHONE
    chosen = await _choice_text(context, draft)
    if update.callback_query:
        # The menu keeps what was chosen; the contact question needs a reply keyboard below it.
        await show(update, context, chosen, None, draft=draft)
    text = t.gettext(
        "Your phone number, please: tap the button below to share it, or type it "
        "with the country code."
    )
    await show(update, context, text, _phone_keyboard(context), draft=draft, new=True)
    draft.phone = None
    return Step.PHONE


async def _choice_text(context: Context, draft: Draft) -> str:
    t = context.t
    service = await _service(context, draft)
    member = await _staff_member(context, draft)
    company = await context.services.altegio.company()
    start = parse_datetime(draft.slot, company.tz) if draft.slot else None
    when = ""
    if start is not None:
        local = start.astimezone(company.tz)
        when = t.gettext("%(day)s at %(time)s", day=t.long_date(local.date()), time=t.time(local))
    return t.gettext(
        "<b>%(service)s</b> with %(staff)s, %(when)s.",
        service=h(service.title if service else ""),
        staff=h(_staff_name(context, member)),
        when=when,
    )


async def on_remembered(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    remembered = context.services.storage.contact(_user_id(update))
    if remembered is None:
        return await go(update, context, draft, Step.PHONE)
    draft.name, draft.phone = remembered.name, remembered.phone
    return await go(update, context, draft, Step.COMMENT)


async def on_other_details(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.summary_ready = True  # skip the "Book as ...?" question on the way back
    outcome = await go(update, context, draft, Step.PHONE)
    draft.summary_ready = False
    put_draft(context, draft)
    return outcome


async def shared_contact(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    message = update.message
    if draft is None or message is None or message.contact is None:
        return await _lost(update, context)
    t = context.t
    contact = message.contact
    if contact.user_id is not None and contact.user_id != _user_id(update):
        await message.reply_text(
            t.gettext(
                "That is someone else's contact. Please share your own number with the button, "
                "or type the number the booking should be made for."
            ),
            reply_markup=_phone_keyboard(context),
        )
        return Step.PHONE
    phone = normalize_phone("+" + contact.phone_number.lstrip("+"), None)
    if phone is None:
        await message.reply_text(
            t.gettext("That number does not look valid. Please type it with the country code."),
            reply_markup=_phone_keyboard(context),
        )
        return Step.PHONE
    return await _got_phone(update, context, draft, phone)


async def typed_phone(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    message = update.message
    if draft is None or message is None or not message.text:
        return await _lost(update, context)
    t = context.t
    text = message.text.strip()
    if text == t.gettext("« Back"):
        await message.reply_text(
            t.gettext("OK, back to the times."), reply_markup=ReplyKeyboardRemove()
        )
        draft.slot = None
        return await go(update, context, draft, Step.TIME)
    if text == t.gettext("Cancel"):
        return await cancel(update, context)
    try:
        company = await context.services.altegio.company()
        region = phone_region(company.phone)
    except errors.AltegioError:
        region = None
    phone = normalize_phone(text, region)
    if phone is None:
        await message.reply_text(
            t.gettext(
                "That does not look like a phone number. Please type it with the country code, "
                "for example +49 151 23456789, or share it with the button below."
            ),
            reply_markup=_phone_keyboard(context),
        )
        return Step.PHONE
    return await _got_phone(update, context, draft, phone)


async def _got_phone(update: Update, context: Context, draft: Draft, phone: str) -> Outcome:
    t = context.t
    draft.phone = phone
    log.info("client %s gave phone %s", _user_id(update), mask_phone(phone))
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(
            chat.id,
            t.gettext("Thank you! Phone: %(phone)s", phone=h(display_phone(phone))),
            parse_mode=ParseMode.HTML,
            reply_markup=ReplyKeyboardRemove(),
        )
    return await go(update, context, draft, Step.NAME)


async def show_name(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    name = draft.name or _profile_name(update)
    rows = []
    if name:
        draft.name = name
        text = t.gettext(
            "The booking will be under the name <b>%(name)s</b>. Tap the button to keep it, "
            "or type another name.",
            name=h(name),
        )
        rows.append([keys.button(t.gettext("Keep this name"), "keep")])
    else:
        text = t.gettext("What name should the booking be under?")
    await show(update, context, text, keys.markup(rows), draft=draft)
    return Step.NAME


async def typed_name(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    if draft is None or update.message is None or not update.message.text:
        return await _lost(update, context)
    name = clean_name(update.message.text)
    if name is None:
        await update.message.reply_text(
            context.t.gettext("Please type a name of up to 64 letters.")
        )
        return Step.NAME
    draft.name = name
    return await go(update, context, draft, Step.COMMENT)


async def on_keep_name(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    if not draft.name:
        return await go(update, context, draft, Step.NAME)
    return await go(update, context, draft, Step.COMMENT)


async def show_comment(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    company = await context.services.altegio.company()
    rows = []
    if company.comment_required:
        text = t.gettext("Please add a comment for the salon (the salon asks for one).")
    else:
        text = t.gettext("Anything the salon should know? Type a comment, or tap Skip.")
        rows.append([keys.button(t.gettext("Skip"), "skip")])
    await show(update, context, text, keys.markup(rows), draft=draft)
    return Step.COMMENT


async def typed_comment(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    if draft is None or update.message is None or not update.message.text:
        return await _lost(update, context)
    draft.comment = clean_comment(update.message.text)
    return await go(update, context, draft, Step.SUMMARY)


async def on_skip_comment(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.comment = ""
    return await go(update, context, draft, Step.SUMMARY)


# --- summary and confirmation ---------------------------------------------------------------


async def summary_text(context: Context, draft: Draft) -> str:
    t = context.t
    company = await context.services.altegio.company()
    service = await _service(context, draft)
    member = await _staff_member(context, draft)
    start = parse_datetime(draft.slot, company.tz) if draft.slot else None
    lines = [t.gettext("Please check your booking:"), ""]
    if service:
        lines.append(t.gettext("Service: %(service)s", service=h(service.title)))
    lines.append(t.gettext("Team member: %(staff)s", staff=h(_staff_name(context, member))))
    if start is not None:
        local = start.astimezone(company.tz)
        lines.append(
            t.gettext(
                "When: %(day)s at %(time)s", day=t.long_date(local.date()), time=t.time(local)
            )
        )
    length = draft.slot_length or (service.duration if service else None)
    if length:
        lines.append(t.gettext("Duration: %(duration)s", duration=t.duration(length)))
    if service:
        price = t.price_range(service.price_min, service.price_max, company.currency)
        if price:
            lines.append(t.gettext("Price: %(price)s", price=price))
    address = company.full_address
    if address:
        lines.append(
            t.gettext("Address: %(salon)s, %(address)s", salon=h(company.title), address=h(address))
        )
    lines.append(t.gettext("Name: %(name)s", name=h(draft.name or "")))
    lines.append(t.gettext("Phone: %(phone)s", phone=h(display_phone(draft.phone or ""))))
    if draft.comment:
        lines.append(t.gettext("Comment: %(comment)s", comment=h(draft.comment)))
    return "\n".join(lines)


async def show_summary(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    if not (draft.slot and draft.phone and draft.name):
        return await show_phone(update, context, draft)
    draft.summary_ready = True
    rows = [
        [keys.button(t.gettext("✅ Confirm"), "confirm")],
        [keys.button(t.gettext("✏️ Change"), "change")],
    ]
    await show(update, context, await summary_text(context, draft), keys.markup(rows), draft=draft)
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
    await show(
        update, context, t.gettext("What would you like to change?"), keys.markup(rows), draft=draft
    )
    put_draft(context, draft)
    return Step.SUMMARY


async def on_change_what(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.summary_ready = False
    draft.code_sent = False
    if cb.arg == "svc":
        draft.category_id = draft.service_id = draft.staff_id = None
        draft.day = draft.slot = draft.month = None
        return await go(update, context, draft, Step.SERVICE)
    if cb.arg == "stf":
        draft.staff_id = draft.day = draft.slot = draft.month = None
        return await go(update, context, draft, Step.STAFF)
    if cb.arg == "day":
        draft.day = draft.slot = None
        return await go(update, context, draft, Step.DAY)
    draft.phone = None
    draft.summary_ready = True  # straight to the phone question, not "Book as ...?"
    outcome = await go(update, context, draft, Step.PHONE)
    draft.summary_ready = False
    put_draft(context, draft)
    return outcome


def _appointment(draft: Draft) -> Appointment:
    assert draft.service_id is not None and draft.staff_id is not None and draft.slot
    return Appointment(1, (draft.service_id,), draft.staff_id, draft.slot)


async def on_confirm(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    if not (draft.summary_ready and draft.slot and draft.phone and draft.name):
        return await go(update, context, draft, Step.SUMMARY)
    altegio = context.services.altegio
    try:
        company = await altegio.company()
        await altegio.check([_appointment(draft)])
        if company.phone_confirmation:
            await altegio.send_code(draft.phone, draft.name)
            draft.code_sent = True
            draft.code_attempts = 0
            return await _ask_code(update, context, draft)
    except errors.Rejected as exc:
        return await _rejected(update, context, draft, exc)
    except errors.AltegioError as exc:
        put_draft(context, draft)
        await unavailable(update, context, exc, draft.flow)
        return Step.SUMMARY
    if update.effective_chat:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    return await _book(update, context, draft, None)


async def _ask_code(update: Update, context: Context, draft: Draft, note: str = "") -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    text = (note + "\n" if note else "") + t.gettext(
        "The salon confirms bookings by text message. We have sent a code to %(phone)s: "
        "please type it here.",
        phone=h(display_phone(draft.phone or "")),
    )
    rows = [[keys.button(t.gettext("Send the code again"), "resend")]]
    await show(update, context, text, keys.markup(rows), draft=draft)
    put_draft(context, draft)
    return Step.CODE


async def on_resend(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    if not (draft.phone and draft.name):
        return await go(update, context, draft, Step.SUMMARY)
    try:
        await context.services.altegio.send_code(draft.phone, draft.name)
    except errors.AltegioError as exc:
        await unavailable(update, context, exc, draft.flow)
        return Step.CODE
    draft.code_attempts = 0
    return await _ask_code(update, context, draft, context.t.gettext("A new code is on its way."))


async def typed_code(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    if draft is None or update.message is None or not update.message.text:
        return await _lost(update, context)
    code = "".join(ch for ch in update.message.text if ch.isdigit())
    t = context.t
    if not 3 <= len(code) <= 8:
        await update.message.reply_text(
            t.gettext("Please type the digits of the code from the text message.")
        )
        return Step.CODE
    if draft.code_attempts >= MAX_CODE_ATTEMPTS:
        return await _ask_code(
            update, context, draft, t.gettext("Too many wrong codes. Please ask for a new one.")
        )
    draft.code_attempts += 1
    return await _book(update, context, draft, code)


async def _book(update: Update, context: Context, draft: Draft, code: str | None) -> Outcome:
    services = context.services
    t = context.t
    assert (
        draft.phone and draft.name and draft.service_id is not None and draft.staff_id is not None
    )
    booking = NewBooking(
        phone=draft.phone,
        fullname=draft.name,
        appointments=(_appointment(draft),),
        comment=draft.comment or "",
        code=code,
        api_id=draft.flow,
    )
    try:
        created = await services.altegio.book(booking)
    except errors.WrongCode:
        return await _ask_code(
            update, context, draft, t.gettext("That code is not right. Please try again.")
        )
    except errors.Rejected as exc:
        return await _rejected(update, context, draft, exc)
    except errors.OutcomeUnknown:
        company_phone = await _salon_phone(context)
        put_draft(context, None)
        await show(
            update,
            context,
            t.gettext(
                "The booking system did not answer in time, so I cannot tell whether your "
                "booking went through. Please do not book again yet: call the salon to check, "
                "%(phone)s.",
                phone=h(company_phone),
            ),
            None,
            new=update.callback_query is None,
        )
        return END
    except errors.AltegioError as exc:
        put_draft(context, draft)
        await unavailable(update, context, exc, draft.flow)
        return Step.SUMMARY
    company = await services.altegio.company()
    start = parse_datetime(draft.slot, company.tz) or context.now()
    chat_id = update.effective_chat.id if update.effective_chat else 0
    now = context.now()
    for record in created:
        services.storage.record_booking(
            StoredBooking(
                record_id=record.record_id,
                company_id=company.id,
                record_hash=record.record_hash,
                chat_id=chat_id,
                user_id=_user_id(update),
                service_ids=(draft.service_id,),
                staff_id=draft.staff_id,
                start=start,
                length=draft.slot_length or 0,
                created_at=now,
            )
        )
    services.storage.remember_contact(_user_id(update), Contact(draft.name, draft.phone), now)
    put_draft(context, None)
    log.info("booked record %s for client %s", created[0].record_id, _user_id(update))
    text = await _booked_text(context, draft, company, start)
    keys = Keys(NO_FLOW, t)
    markup = _single(keys.button(t.gettext("Book another appointment"), "book"))
    await show(update, context, text, markup, new=update.callback_query is None)
    return END


async def _booked_text(context: Context, draft: Draft, company: Company, start: datetime) -> str:
    t = context.t
    service = await _service(context, draft)
    member = await _staff_member(context, draft)
    local = start.astimezone(company.tz)
    lines = [
        t.gettext("✅ You are booked!"),
        "",
        t.gettext(
            "<b>%(service)s</b> with %(staff)s on %(day)s at %(time)s.",
            service=h(service.title if service else ""),
            staff=h(_staff_name(context, member)),
            day=t.long_date(local.date()),
            time=t.time(local),
        ),
    ]
    if company.full_address:
        lines.append(
            t.gettext(
                "Address: %(salon)s, %(address)s",
                salon=h(company.title),
                address=h(company.full_address),
            )
        )
    lines.append(t.gettext("See you there!"))
    return "\n".join(lines)


async def _salon_phone(context: Context) -> str:
    try:
        return (await context.services.altegio.company()).phone
    except errors.AltegioError:
        return ""


async def _rejected(
    update: Update, context: Context, draft: Draft, exc: errors.Rejected
) -> Outcome:
    """Altegio said no: explain in the client's words and take them to the step that fixes it."""
    t = context.t
    context.services.altegio.forget_availability()
    if isinstance(exc, errors.SlotTaken | errors.NoStaffAvailable):
        context.notify(
            t.gettext("Sorry, that time has just been taken. Please choose another."),
            alert=True,
        )
        draft.slot = None
        draft.code_sent = False
        return await go(update, context, draft, Step.TIME)
    if isinstance(exc, errors.ServiceUnavailable):
        draft.service_id = draft.staff_id = draft.day = draft.slot = None
        return await go(update, context, draft, Step.SERVICE)
    if isinstance(exc, errors.InvalidPhone):
        draft.phone = None
        draft.summary_ready = True
        outcome = await go(update, context, draft, Step.PHONE)
        draft.summary_ready = False
        put_draft(context, draft)
        return outcome
    if isinstance(exc, errors.NameRequired):
        draft.name = None
        return await go(update, context, draft, Step.NAME)
    if isinstance(exc, errors.WrongCode):
        return await _ask_code(
            update, context, draft, t.gettext("That code is not right. Please try again.")
        )
    phone = await _salon_phone(context)
    put_draft(context, None)
    if isinstance(exc, errors.Blacklisted):
        text = t.gettext(
            "Sorry, the salon cannot accept an online booking for this number. "
            "Please call the salon: %(phone)s",
            phone=h(phone),
        )
    else:
        log.warning("booking refused: codes=%s", list(exc.codes))
        text = t.gettext(
            "Sorry, the salon's booking system refused this booking. Please call the salon: "
            "%(phone)s",
            phone=h(phone),
        )
    await show(update, context, text, None)
    return END


# --- routing --------------------------------------------------------------------------------


RENDER: dict[Step, Callable[[Update, Context, Draft], Awaitable[Outcome]]] = {
    Step.SERVICE: show_service,
    Step.STAFF: show_staff,
    Step.DAY: show_day,
    Step.TIME: show_time,
    Step.PHONE: show_phone,
    Step.NAME: show_name,
    Step.COMMENT: show_comment,
    Step.SUMMARY: show_summary,
    Step.CODE: _ask_code,
}

BACK: dict[Step, Step] = {
    Step.STAFF: Step.SERVICE,
    Step.DAY: Step.STAFF,
    Step.TIME: Step.DAY,
    Step.PHONE: Step.TIME,
    Step.NAME: Step.PHONE,
    Step.COMMENT: Step.NAME,
    Step.SUMMARY: Step.COMMENT,
    Step.CODE: Step.SUMMARY,
}


async def _back(step: Step, update: Update, context: Context, draft: Draft) -> Outcome:
    if step is Step.SERVICE:
        draft.category_id = None
        return await go(update, context, draft, Step.SERVICE)
    target = BACK[step]
    if target is Step.TIME:
        draft.slot = None
    if target is Step.DAY:
        draft.day = None
    if target is Step.PHONE:
        draft.summary_ready = True
        draft.phone = None
        outcome = await go(update, context, draft, Step.PHONE)
        draft.summary_ready = False
        put_draft(context, draft)
        return outcome
    draft.code_sent = False
    return await go(update, context, draft, target)


ACTIONS: dict[Step, dict[str, Action]] = {
    Step.SERVICE: {
        "cat": on_category,
        "catp": on_category_page,
        "svc": on_service,
        "svcp": on_service_page,
    },
    Step.STAFF: {"stf": on_staff},
    Step.DAY: {"mon": on_month, "day": on_day, "cal": on_calendar},
    Step.TIME: {"tim": on_time},
    Step.PHONE: {"me": on_remembered, "other": on_other_details},
    Step.NAME: {"keep": on_keep_name},
    Step.COMMENT: {"skip": on_skip_comment},
    Step.SUMMARY: {"confirm": on_confirm, "change": on_change, "chg": on_change_what},
    Step.CODE: {"resend": on_resend},
}


def router(step: Step) -> Handler:
    """One callback handler per step: decode, check the button belongs here, dispatch.

    The query is answered once, after the step ran, with whatever note the step left.
    """
    actions = ACTIONS[step]

    async def route(update: Update, context: Context) -> Outcome:
        query = update.callback_query
        if query is None:
            return None
        try:
            return await _dispatch(step, actions, update, context, decode(query.data))
        finally:
            text, alert = context.toast or (None, False)
            await query.answer(text, show_alert=alert)

    return route


async def _dispatch(
    step: Step,
    actions: dict[str, Action],
    update: Update,
    context: Context,
    cb: Callback | None,
) -> Outcome:
    draft = get_draft(context)
    t = context.t
    if cb is None or draft is None or cb.flow != draft.flow:
        context.notify(t.gettext("This button is no longer active."))
        return None
    if cb.action == "noop":
        return None
    if cb.action == "cancel":
        return await cancel(update, context)
    if cb.action == "retry":
        return await go(update, context, draft, step)
    if cb.action == "back":
        return await _back(step, update, context, draft)
    handler = actions.get(cb.action)
    if handler is None:
        # A button from an earlier step of this booking: show where the client really is.
        context.notify(t.gettext("This button is no longer active."))
        draft.message_id = None
        return await go(update, context, draft, step)
    return await handler(update, context, draft, cb)


async def _lost(update: Update, context: Context) -> Outcome:
    """No draft where one is needed (e.g. data cleared): start over politely."""
    t = context.t
    keys = Keys(NO_FLOW, t)
    await show(
        update,
        context,
        t.gettext("Sorry, I lost track of this booking. Let's start again."),
        _single(keys.button(t.gettext("Book an appointment"), "book")),
        new=True,
    )
    return END


def _use_buttons(step: Step) -> Handler:
    async def remind(update: Update, context: Context) -> Outcome:
        draft = get_draft(context)
        if draft is None:
            return await _lost(update, context)
        t = context.t
        if update.message:
            await update.message.reply_text(t.gettext("Please use the buttons below."))
        draft.message_id = None
        return await go(update, context, draft, step)

    return remind


def build() -> ConversationHandler[Context]:
    text = filters.TEXT & ~filters.COMMAND
    states: dict[object, list[BaseHandler[Update, Context, Outcome]]] = {}
    for step in Step:
        handlers: list[BaseHandler[Update, Context, Outcome]] = [
            CallbackQueryHandler(router(step), pattern=r"^b1:[a-z0-9]+:")
        ]
        if step is Step.DAY:
            handlers.append(MessageHandler(text, typed_day))
        elif step is Step.PHONE:
            handlers.append(MessageHandler(filters.CONTACT, shared_contact))
            handlers.append(MessageHandler(text, typed_phone))
        elif step is Step.NAME:
            handlers.append(MessageHandler(text, typed_name))
        elif step is Step.COMMENT:
            handlers.append(MessageHandler(text, typed_comment))
        elif step is Step.CODE:
            handlers.append(MessageHandler(text, typed_code))
        handlers.append(MessageHandler(~filters.COMMAND, _use_buttons(step)))
        states[step] = handlers
    private = filters.ChatType.PRIVATE
    with warnings.catch_warnings():
        # Menus are edited in place per chat, so per-message tracking is not wanted.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return ConversationHandler(
            entry_points=[
                CommandHandler("book", begin, filters=private),
                CallbackQueryHandler(begin, pattern=r"^b1:-:book$"),
            ],
            states=states,  # type: ignore[arg-type]
            fallbacks=[
                CommandHandler("cancel", cancel),
                CommandHandler("start", start),
                CommandHandler("book", begin),
            ],
            name=CONVERSATION,
            persistent=True,
            allow_reentry=True,
        )
