"""The waiting list as the client sees it: "Tell me when something frees up" where nothing
suits, the days to wait for, My waiting list, and a freed time offered with Book it (straight to
the summary) and No thanks.

Keeping wishes, watching and offering are the core's (`bot/workflows/waitlist.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import chain
from bot.altegio import errors
from bot.altegio.models import Company
from bot.altegio.models.lenient import parse_datetime
from bot.context import BotApplication, Context
from bot.draft import Draft
from bot.i18n import Translator, writes_month_first
from bot.keyboards import NO_FLOW, Callback, Keys, day_arg, decode, pattern
from bot.services import Services
from bot.storage import StorageUnavailable, Wish
from bot.waitlist_rules import OFFER_MINUTES, choices, clamp, parse_range
from bot.workflows import waitlist
from bot.workflows.remind import Delivery
from conversations.drafts import get_draft, put_draft
from conversations.flow import (
    END,
    Outcome,
    Step,
    go,
    lost,
    salon_today,
    user_id_of,
)
from conversations.screens import answer, send_told, show
from conversations.texts import h, when

log = logging.getLogger(__name__)

WAITLIST_ACTIONS = pattern("wls", "wlx", "wlno")


def with_wait(
    markup: InlineKeyboardMarkup, keys: Keys, draft: Draft, day: date | None
) -> InlineKeyboardMarkup:
    """A screen where nothing suits, with "Tell me when something frees up" above Back and
    Cancel (not while moving an appointment, nor for a visit in parts)."""
    if draft.reschedule or draft.parts or draft.verify:
        return markup
    rows = [list(row) for row in markup.inline_keyboard]
    label = keys.t.gettext("🔔 Tell me when something frees up")
    button = keys.button(label, "wl", day_arg(day) if day else "")
    return InlineKeyboardMarkup([*rows[:-1], [button], *rows[-1:]])


async def _what(
    services: Services, t: Translator, service_ids: Sequence[int], staff_id: int
) -> str:
    """ "<b>Women's haircut</b> with Anna Weber", from the cached catalogue and team."""
    altegio = services.altegio
    catalogue = await altegio.catalogue()
    titles = [s.title for sid in service_ids if (s := catalogue.service(sid)) is not None]
    staff = t.gettext("any available team member")
    if staff_id:
        members = await altegio.staff(list(service_ids))
        staff = next((m.name for m in members if m.id == staff_id), staff)
    return t.gettext(
        "<b>%(service)s</b> with %(staff)s.", service=h(" + ".join(titles)), staff=h(staff)
    ).rstrip(".")


def _days(t: Translator, first: date, last: date) -> str:
    return t.date(first) if first == last else f"{t.date(first)} – {t.date(last)}"


def _place(company: Company) -> str:
    """A chain's location as an offer names it: its name, and its address where known."""
    address = company.full_address
    return h(f"{company.title}, {address}" if address else company.title)


# --- asking to wait (a step of the booking conversation) -----------------------------------------


async def on_wait(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    """The button where nothing suits: which days to wait for."""
    try:
        draft.day = cb.day.isoformat() if cb.arg else None
    except ValueError:
        draft.day = None
    return go(draft, Step.WAIT)


async def show_wait(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    if draft.service_id is None or draft.staff_id is None:
        return go(draft, Step.STAFF)
    company = await context.services.altegio.company()
    today = salon_today(context, company)
    what = await _what(context.services, t, draft.service_ids, draft.staff_id)
    rows = []
    for kind, first, last in choices(draft.chosen_day, today, t.first_weekday):
        if kind == "d":
            label = t.gettext("Only %(day)s", day=t.date(first))
        elif kind == "w":
            label = t.gettext("This week (until %(day)s)", day=t.date(last))
        else:
            label = t.gettext("The next two weeks (until %(day)s)", day=t.date(last))
        rows.append([keys.button(label, "wlp", kind)])
    if draft.staff_id:
        rows.append([keys.button(t.gettext("Anyone will do"), "wla")])
    text = "\n\n".join(
        [
            t.gettext("I can tell you when a time frees up for %(what)s.", what=what),
            t.gettext(
                "Which days suit you? Or type them, for example “27.11–4.12”. I will write "
                "to you here the moment a time frees up on one of them."
            ),
        ]
    )
    await show(update, context, text, keys.markup(rows), draft=draft)
    return Step.WAIT


async def on_anyone(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.staff_id = 0
    return go(draft, Step.WAIT)


async def on_period(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    company = await context.services.altegio.company()
    today = salon_today(context, company)
    for kind, first, last in choices(draft.chosen_day, today, context.t.first_weekday):
        if kind == cb.arg:
            return await _keep(update, context, draft, first, last)
    return go(draft, Step.WAIT)


async def typed_range(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    if draft is None:
        return await lost(update, context)
    t = context.t
    text = update.message.text if update.message and update.message.text else ""
    company = await context.services.altegio.company()
    today = salon_today(context, company)
    month_first = writes_month_first(company.country)
    typed = parse_range(text, [context.language], today, month_first=month_first)
    days = clamp(*typed, today) if typed else None
    if days is None:
        await show(
            update,
            context,
            t.gettext(
                "Sorry, I could not understand those days. Tap one of the buttons, or type "
                "days like “27.11–4.12” or “Friday to Sunday”."
            ),
            Keys(draft.flow, t).markup([]),
            draft=draft,
        )
        return Step.WAIT
    return await _keep(update, context, draft, *days)


async def _keep(update: Update, context: Context, draft: Draft, first: date, last: date) -> Outcome:
    t = context.t
    services = context.services
    assert draft.staff_id is not None
    user_id = user_id_of(update)
    chat_id = update.effective_chat.id if update.effective_chat else user_id
    added = await waitlist.add(
        services,
        user_id=user_id,
        chat_id=chat_id,
        language=context.language,
        service_ids=draft.service_ids,
        staff_id=draft.staff_id,
        first=first,
        last=last,
        seen_empty=draft.chosen_day,
    )
    keys = Keys(NO_FLOW, t)
    rows = [
        [keys.button(t.gettext("My waiting list"), "wls")],
        [keys.button(t.gettext("Book an appointment"), "book")],
    ]
    if added is waitlist.Added.TOO_MANY:
        text = t.gettext(
            "You are already waiting for five things, which is the most: please remove one "
            "from your waiting list first."
        )
    else:
        what = await _what(services, t, draft.service_ids, draft.staff_id)
        text = t.gettext(
            "Done: you are on the waiting list for %(what)s (%(days)s). When a time frees up, "
            "I will offer it to you here for %(minutes)s minutes, in the order clients asked.",
            what=what,
            days=_days(t, first, last),
            minutes=OFFER_MINUTES,
        )
    put_draft(context, None)
    await show(update, context, text, InlineKeyboardMarkup(rows))
    return END


# --- My waiting list ------------------------------------------------------------------------------


async def my_waitlist(update: Update, context: Context) -> None:
    """/waitlist and the My waiting list button: each wish, with ✖ to remove it."""
    t = context.t
    keys = Keys(NO_FLOW, t)
    wishes = await waitlist.wishes(context.services, user_id_of(update))
    rows: list[list[InlineKeyboardButton]] = []
    lines = [t.gettext("You are waiting for a time to free up for:")]
    if not wishes:
        lines = [
            t.gettext(
                "Your waiting list is empty. Where nothing free suits you, tap “Tell me when "
                "something frees up”."
            )
        ]
    for number, wish in enumerate(wishes, 1):
        lines.append(await _wish_line(context, number, wish))
        label = t.gettext("✖ Remove %(number)s", number=number)
        rows.append([keys.button(label, "wlx", wish.id)])
    rows.append([keys.button(t.gettext("My appointments"), "apts")])
    await show(update, context, "\n".join(lines), InlineKeyboardMarkup(rows))


async def _wish_line(context: Context, number: int, wish: Wish) -> str:
    """A wish on My waiting list, read at its own location; a chain's names the location."""
    t, there = context.t, context.services.at(wish.company_id)
    days = _days(t, wish.first_day, wish.last_day)
    try:
        what = await _what(there, t, wish.service_ids, wish.staff_id)
        if not chain.is_chain(there):
            return f"{number}. {what}, {days}"
        location = h((await there.altegio.company()).title)
    except errors.AltegioError:
        return f"{number}. …, {days}"
    return t.gettext(
        "%(number)s. %(what)s, %(days)s, at %(location)s",
        number=number,
        what=what,
        days=days,
        location=location,
    )


async def on_button(update: Update, context: Context) -> None:
    """My waiting list, removing a wish, and No thanks to a freed time."""
    query = update.callback_query
    cb = decode(query.data) if query else None
    if cb is None:
        await answer(update, context)
        return
    t = context.t
    chat_id = update.effective_chat.id if update.effective_chat else 0
    if cb.action == "wlx":
        removed = waitlist.remove(context.services, user_id_of(update), cb.number)
        await answer(update, context, t.gettext("Removed.") if removed else None)
    elif cb.action == "wlno":
        await answer(update, context)
        following = await waitlist.pass_on(context.services, cb.number, chat_id)
        await show(update, context, t.gettext("All right, the time goes to the next in line."))
        application = context.application
        if isinstance(application, BotApplication):
            await send_offers(application, following)
        return
    else:
        await answer(update, context)
    await my_waitlist(update, context)


# --- a freed time offered -------------------------------------------------------------------------


async def tick(application: BotApplication) -> int:
    """The tick's part: watch for freed times and offer them; returns how many were offered."""
    try:
        offered = await waitlist.watch(application.services)
    except (errors.AltegioError, StorageUnavailable) as exc:
        log.info("waiting list: not watched this tick (%s)", type(exc).__name__)
        return 0
    return await send_offers(application, offered)


async def send_offers(application: BotApplication, offered: list[waitlist.Offered]) -> int:
    services = application.services
    told = 0
    while offered:
        item = offered.pop(0)
        chosen = services.storage.language(item.wish.chat_id)
        t = services.catalogs.translator(chosen or item.wish.language or services.catalogs.default)
        keys = Keys(NO_FLOW, t)
        there = services.at(item.wish.company_id)  # the wish's location, in its timezone
        company = await there.altegio.company()
        what = await _what(there, t, item.wish.service_ids, item.offer.staff_id)
        moment = when(t, item.start, company)
        text = t.gettext(
            "🔔 A time has freed up: %(what)s, %(when)s. It is kept for you for %(minutes)s "
            "minutes.",
            what=what,
            when=moment,
            minutes=OFFER_MINUTES,
        )
        if chain.is_chain(services):  # which of the chain's locations
            text = t.gettext(
                "🔔 A time has freed up at %(location)s: %(what)s, %(when)s. It is kept for "
                "you for %(minutes)s minutes.",
                location=_place(company),
                what=what,
                when=moment,
                minutes=OFFER_MINUTES,
            )
        rows = [
            [keys.button(t.gettext("Book it"), "wlok", item.offer.id)],
            [keys.button(t.gettext("No thanks"), "wlno", item.offer.id)],
        ]
        delivery = await send_told(application.bot, item.wish.chat_id, text, rows, "a freed time")
        if delivery is Delivery.DELIVERED:
            told += 1
        else:
            offered += await waitlist.pass_on(services, item.offer.id, item.wish.chat_id)
    return told


async def take_offer(update: Update, context: Context) -> Outcome:
    """Book it: the booking conversation at the summary, with the time and the services chosen
    and the contact remembered (or at the phone step)."""
    query = update.callback_query
    cb = decode(query.data) if query else None
    await answer(update, context)
    chat_id = update.effective_chat.id if update.effective_chat else 0
    taken = waitlist.take(context.services, cb.number, chat_id) if cb else None
    t = context.t
    if taken is None:
        keys = Keys(NO_FLOW, t)
        text = t.gettext(
            "Sorry, this time is no longer kept for you: it went to the next in line. You stay "
            "on the waiting list."
        )
        rows = [[keys.button(t.gettext("My waiting list"), "wls")]]
        await show(update, context, text, InlineKeyboardMarkup(rows))
        return END
    offer, wish = taken
    notice = await _at_wish_location(context, wish)
    services = list(wish.service_ids)
    draft = Draft(service_id=services[0], more_services=services[1:], staff_id=offer.staff_id)
    company = await context.services.altegio.company()
    draft.slot, draft.slot_length = offer.slot, offer.length or None
    draft.month = ""
    start = parse_datetime(offer.slot, company.tz)
    draft.day = start.astimezone(company.tz).date().isoformat() if start else None
    remembered = context.services.storage.contact(user_id_of(update))
    if remembered is None:
        if notice:  # said where the offer was, the phone step below it
            await show(update, context, notice)
            context.fresh_menu = True
        return go(draft, Step.PHONE)
    draft.notice = notice  # at the top of the summary
    draft.name, draft.phone = remembered.name, remembered.phone
    draft.email = remembered.email or None
    return go(draft, Step.SUMMARY)


async def _at_wish_location(context: Context, wish: Wish) -> str:
    """A chain's offer is booked at the wish's location: the client's choice becomes it (so
    the booking, its timezone and its catalogue are that location's); the note saying so when
    they had chosen another."""
    services = context.services
    if not chain.is_chain(services):
        return ""
    where = waitlist.location_of(services, wish)
    before = services.altegio.company_id
    if chain.chosen(services, context.chat or 0) != where:
        context.choose_location(where)
    if before == where:
        return ""
    company = await context.services.altegio.company()
    return context.t.gettext(
        "📍 This time is at %(location)s, so I have switched your location to it: the booking "
        "is made there.",
        location=_place(company),
    )
