"""/start, and the answers outside any conversation: /help, /cancel with nothing to cancel,
an old or unknown button, anything typed while no booking is in progress."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from telegram import (
    InlineKeyboardMarkup,
    Message,
    Update,
)

from bot import chain
from bot.altegio import errors
from bot.context import Context
from bot.draft import Draft
from bot.keyboards import NO_FLOW, Keys, decode
from bot.links import read_payload
from conversations import locations as places
from conversations.drafts import JUST_BOOKED, put_draft
from conversations.flow import END, Outcome, Step, go
from conversations.screens import answer, offer_booking, show
from conversations.start_menu import show_menu
from conversations.wishes import open_link, proceed_or_retry, read_wish, small_talk, wish

log = logging.getLogger(__name__)


async def help_command(update: Update, context: Context) -> None:
    t = context.t
    text = "\n".join(
        [
            t.gettext("I book appointments at the salon for you."),
            t.gettext(
                "Tap the buttons, or just write what you would like, such as “manicure with "
                "Anna tomorrow after 5”."
            ),
            "",
            t.gettext("/book — book an appointment"),
            t.gettext("/cancel — stop the current booking"),
            t.gettext("/help — this message"),
        ]
    )
    await offer_booking(update, context, text)


async def nothing_to_cancel(update: Update, context: Context) -> None:
    """/cancel with no booking in progress: typed while a booking was being made, it finds the
    booking made, and says so rather than that nothing was booked."""
    t = context.t
    booked = context.user_data.booked_at if context.user_data is not None else None
    if isinstance(booked, str):
        with contextlib.suppress(ValueError):
            if context.now() - datetime.fromisoformat(booked) < JUST_BOOKED:
                text = t.gettext(
                    "Your booking has just been made. To cancel it, open My appointments."
                )
                keys = Keys(NO_FLOW, t)
                markup = InlineKeyboardMarkup([[keys.button(t.gettext("My appointments"), "apts")]])
                await show(update, context, text, markup, new=True)
                return
    await offer_booking(update, context, t.gettext("There is nothing to cancel right now."))


async def stale_button(update: Update, context: Context) -> None:
    """A button from a finished booking, from before a restart, or one nobody made."""
    query = update.callback_query
    if query is None:
        return
    cb = decode(query.data)
    done = context.user_data.done if context.user_data is not None else []
    if cb is not None and cb.flow in done:
        # A button of a booking just finished, tapped again: its outcome is on the screen.
        await answer(update, context)
        return
    await answer(update, context, context.t.gettext("This button is no longer active."))
    if isinstance(query.message, Message):
        text = context.t.gettext("That menu has expired. Would you like to book an appointment?")
        await offer_booking(update, context, text)


async def outside_conversation(update: Update, context: Context) -> None:
    """Anything typed or sent while no booking is in progress."""
    text = context.t.gettext("I can book you an appointment. Tap the button to start.")
    await offer_booking(update, context, text)


async def typed_outside(update: Update, context: Context) -> Outcome:
    """Text typed while no booking is in progress: a booking started from what it asks for
    ("manicure with Anna tomorrow after 5"), or the usual answer when it names nothing the
    salon offers."""
    text = update.message.text if update.message and update.message.text else ""
    found = await read_wish(context, text)
    if found is None:
        await outside_conversation(update, context)
        return END
    if not found.wants_booking:
        await small_talk(update, context, found)
        return END
    # In a chain, the wish is read again at the location the client chooses first.
    then = await places.first(context, go(Draft(), Step.SERVICE), "text:" + text)
    if then.step is Step.LOCATION:
        return then
    return await proceed_or_retry(update, context, wish(Draft(), found), Step.SERVICE)


async def start(update: Update, context: Context) -> Outcome:
    """/start: greet with the salon's name and offer to book; `/start <payload>` (a deep link)
    opens the step the link names."""
    t = context.t
    put_draft(context, None)
    payload = context.args[0] if context.args else ""
    note = ""
    target = read_payload(payload) if payload else None
    if payload and target is not None and target.location_id is not None:
        if not await _at_named(context, target.location_id):
            target, note = None, t.gettext("Sorry, that location is not in our list.") + "\n\n"
        elif not target.opens_step:
            await show_menu(update, context)
            return END
    if target is not None:
        then = await places.first(context, go(Draft(), Step.SERVICE), "link:" + payload)
        if then.step is Step.LOCATION:
            return then
        try:
            return await open_link(update, context, target)
        except errors.AltegioError:
            return await proceed_or_retry(update, context, Draft(), Step.SERVICE)
    if payload and not note:
        note = t.gettext("Sorry, that link does not open anything I know.") + "\n\n"
    if context.chat is not None and await chain.must_choose(context.services, context.chat):
        await places.show_choice(update, context, note + places.opening(context) + "\n\n")
        return END
    await show_menu(update, context, note)
    return END


async def _at_named(context: Context, location_id: int) -> bool:
    """A link naming a chain's location: the client is at it from now on; False when the bot
    serves no chain, or the location is not one of its own."""
    if not chain.is_chain(context.services):
        return location_id == context.services.altegio.company_id
    try:
        listed = await chain.locations(context.services)
    except errors.AltegioError:
        return False
    if not any(company.id == location_id for company in listed):
        return False
    context.choose_location(location_id)
    return True
