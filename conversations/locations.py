"""A chain's locations (`ALTEGIO_GROUP_ID`): the client chooses where to book, by name and
address or the nearest to where they are (Telegram's location button), and may change it (📍 on
the start menu). The choice is kept per chat (`Context.choose_location`); from then on every
screen is that location's: its catalogue, team, timezone, rules and SMS confirmation.

The choice is a step of the booking (`Step.LOCATION`) when the client starts one without having
chosen: what they started with (a link, a typed wish, Group classes) goes on once they have. From
/start or 📍, it is a screen of its own, followed by the location's start menu.
"""

from __future__ import annotations

import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot import chain
from bot.altegio import errors
from bot.altegio.models import Company
from bot.chain_rules import Nearby, by_distance, by_name
from bot.context import Context
from bot.draft import Draft
from bot.i18n import Translator
from bot.keyboards import NO_FLOW, Callback, Keys, decode, pattern
from bot.links import read_payload
from conversations.drafts import get_draft, put_draft
from conversations.flow import Outcome, Show, Step, go, lost
from conversations.screens import answer, offer_booking, show, unavailable
from conversations.start_menu import show_menu
from conversations.texts import h
from conversations.wishes import open_link, proceed_or_retry, read_wish, wish

log = logging.getLogger(__name__)

LOCATION_ACTIONS = pattern("loc", "locs", "near")  # the screen outside a booking
# In the chat's data, which is this process's alone (not written to the database): the point
# the client shared, until they choose (forgotten then); the location button is open below.
_POINT = "near"
_ASKED = "asked_point"


async def first(context: Context, then: Show, after: str = "") -> Show:
    """`then`, or the choice of a location first when the client is to make it (a chain, and
    none chosen); `after` is what to go on with then ("link:<payload>", "text:<text>",
    "classes"; nothing: the services)."""
    if context.chat is None or not await chain.must_choose(context.services, context.chat):
        return then
    if context.user_data is not None:
        context.user_data.after_location = after
    return go(then.draft, Step.LOCATION)


def follow(context: Context, company_id: int) -> None:
    """An appointment is moved or booked again: the client is at its location from now on."""
    at = context.services.altegio.company_id
    if chain.is_chain(context.services) and company_id and at != company_id:
        context.choose_location(company_id)


# --- the list -------------------------------------------------------------------------------


async def show_locations(update: Update, context: Context, draft: Draft) -> Outcome:
    """`Step.LOCATION`: the chain's locations, as buttons of this booking."""
    await _show_list(update, context, Keys(draft.flow, context.t), draft)
    return Step.LOCATION


async def show_choice(update: Update, context: Context, note: str = "") -> None:
    """The chain's locations as a screen of its own (from /start or 📍)."""
    try:
        await _show_list(update, context, Keys(NO_FLOW, context.t), None, note)
    except errors.AltegioError as exc:
        await unavailable(update, context, exc)


async def _show_list(
    update: Update, context: Context, keys: Keys, draft: Draft | None, note: str = ""
) -> None:
    t = context.t
    listed = await chain.locations(context.services)
    point = _point(context)
    nearby = by_distance(listed, *point) if point else [Nearby(c, None) for c in by_name(listed)]
    chosen = chain.chosen(context.services, context.chat) if context.chat is not None else None
    if point:
        heading = t.gettext("Our locations, the nearest to you first:")
    else:
        heading = t.gettext("Which of our locations would you like to book at?")
    lines = [note + heading]
    rows: list[list[InlineKeyboardButton]] = []
    for near in nearby:
        company, far = near.company, _far(t, near)
        lines.append("\n<b>" + h(company.title) + "</b>" + (f" · {far}" if far else ""))
        if company.full_address:
            lines.append(h(company.full_address))
        label = (
            ("✓ " if company.id == chosen else "") + company.title + (f" · {far}" if far else "")
        )
        rows.append([keys.button(label, "loc", company.id)])
    if not point:
        lines.append("\n" + t.gettext("Share where you are to see the nearest first."))
        rows.append([keys.button(t.gettext("📍 Nearest to me"), "near")])
    text = "\n".join(lines)
    markup = keys.markup(rows, back=False) if draft is not None else InlineKeyboardMarkup(rows)
    await show(update, context, text, markup, draft=draft)


def _far(t: Translator, near: Nearby) -> str:
    return "" if near.km is None else t.distance(near.km)


def _point(context: Context) -> tuple[float, float] | None:
    data = context.chat_data or {}
    point = data.get(_POINT)
    if isinstance(point, list | tuple) and len(point) == 2:
        return float(point[0]), float(point[1])
    return None


# --- sharing where the client is ------------------------------------------------------------


async def _ask_point(update: Update, context: Context) -> None:
    """The location button below the chat: Telegram sends the client's pin only when tapped."""
    t = context.t
    await answer(update, context)
    if context.chat_data is not None:
        context.chat_data[_ASKED] = True
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton(t.gettext("📍 Send my location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(
            chat.id,
            t.gettext(
                "Tap “📍 Send my location” below and I will list our locations by distance. "
                "I use it only for that, and forget it once you choose."
            ),
            reply_markup=keyboard,
        )


def _keep_point(update: Update, context: Context) -> bool:
    message = update.message
    if message is None or message.location is None or context.chat_data is None:
        return False
    context.chat_data[_POINT] = [message.location.latitude, message.location.longitude]
    return True


async def on_near(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    await _ask_point(update, context)
    return Step.LOCATION


async def on_located(update: Update, context: Context) -> Outcome:
    """A pin shared during the choice: the list again, nearest first, as a new message."""
    draft = get_draft(context)
    if draft is None:
        return await lost(update, context)
    _keep_point(update, context)
    return go(draft, Step.LOCATION)


# --- choosing -------------------------------------------------------------------------------


async def _pick(update: Update, context: Context, arg: str) -> Company | None:
    """Keep the location the client tapped; None (and they are told) when it has left the
    chain. The pin they shared is forgotten, and the location button below taken away."""
    listed = await chain.locations(context.services)
    found = next((c for c in listed if str(c.id) == arg), None)
    if found is None:
        await answer(update, context, context.t.gettext("That location is no longer available."))
        return None
    await answer(update, context)
    context.choose_location(found.id)
    data = context.chat_data
    if data is not None:
        data.pop(_POINT, None)
        if data.pop(_ASKED, False) and update.effective_chat is not None:
            await context.bot.send_message(
                update.effective_chat.id,
                "📍 " + h(found.title),
                parse_mode="HTML",
                reply_markup=ReplyKeyboardRemove(),
            )
            context.fresh_menu = True
    return found


async def on_pick(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    """`Step.LOCATION`: a location chosen; what the client started goes on there."""
    if await _pick(update, context, cb.arg) is None:
        return go(draft, Step.LOCATION)
    after = ""
    if context.user_data is not None:
        after, context.user_data.after_location = context.user_data.after_location or "", None
    fresh = Draft(flow=draft.flow)
    if after.startswith("link:"):
        target = read_payload(after.removeprefix("link:"))
        if target is not None:
            try:
                return await open_link(update, context, target)
            except errors.AltegioError:
                return await proceed_or_retry(update, context, fresh, Step.SERVICE)
    if after.startswith("text:"):
        found = await read_wish(context, after.removeprefix("text:"))
        if found is not None and found.wants_booking:
            return await proceed_or_retry(update, context, wish(fresh, found), Step.SERVICE)
    if after == "classes":
        return go(fresh, Step.CLASS)
    return go(fresh, Step.SERVICE)


async def on_button(update: Update, context: Context) -> None:
    """The screen of its own: 📍 (the list), Nearest to me, or a location chosen."""
    query = update.callback_query
    cb = decode(query.data) if query is not None else None
    if cb is None:
        return
    if cb.action == "near":
        await _ask_point(update, context)
        return
    if cb.action == "locs":
        await answer(update, context)
        await show_choice(update, context)
        return
    try:
        found = await _pick(update, context, cb.arg)
    except errors.AltegioError as exc:
        await unavailable(update, context, exc)
        return
    if found is None:
        await show_choice(update, context)
        return
    put_draft(context, None)  # a booking begun elsewhere is not carried over
    await show_menu(update, context)


async def on_shared(update: Update, context: Context) -> None:
    """A pin sent while no booking is in progress: the chain's locations, nearest first."""
    if not chain.is_chain(context.services) or not _keep_point(update, context):
        text = context.t.gettext("I can book you an appointment. Tap the button to start.")
        await offer_booking(update, context, text)
        return
    await show_choice(update, context)


def opening(context: Context) -> str:
    """What the list says before a client who has not chosen yet starts."""
    return context.t.gettext("Hello! I can book you an appointment at any of our locations.")
