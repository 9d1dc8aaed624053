"""Pieces every conversation uses: showing a menu in place, the draft, and Altegio failures."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.altegio import errors
from bot.altegio.booking_calls import NewBooking
from bot.altegio.models import CreatedRecord
from bot.attempts import CHECK_EVERY, CHECK_FOR
from bot.context import BotApplication, Context
from bot.draft import Draft
from bot.i18n import Translator
from bot.keyboards import NO_FLOW, Callback, Keys, decode

log = logging.getLogger(__name__)

JUST_BOOKED = timedelta(minutes=10)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


def h(text: object) -> str:
    """Salon and client text inside our HTML messages."""
    return escape(str(text), quote=False)


async def store(context: Context, what: str, write: Callable[[], None]) -> None:
    """Write what Altegio has already done (a booking, a move, a cancel) to the database; a busy
    database keeps it for later and the salon is told, but the client's outcome stands."""
    application = context.application
    if isinstance(application, BotApplication):
        await store_in(application, what, write)


async def store_in(application: BotApplication, what: str, write: Callable[[], None]) -> None:
    if not application.services.pending.run(what, write):
        await application.storage_trouble("database is busy")


async def answer(
    update: Update, context: Context, text: str | None = None, *, alert: bool = False
) -> None:
    """Answer the tapped button, once: a slow step's button was answered already ("One
    moment"), and Telegram refuses a second answer."""
    query = update.callback_query
    if query is None or not context.services.answered.add(query.id):
        return
    with contextlib.suppress(TelegramError):
        await query.answer(text, show_alert=alert)


def my_appointments(t: Translator, *, new: bool = True) -> InlineKeyboardMarkup:
    """The My appointments button under a message that ends something; `new` opens the list as
    a message of its own, leaving this one as it is."""
    keys = Keys(NO_FLOW, t)
    return InlineKeyboardMarkup(
        [[keys.button(t.gettext("My appointments"), "apts", "1" if new else "")]]
    )


def call_sentence(t: Translator, phone: str, *, also: bool = True) -> str:
    """A sentence giving the salon's phone to append, or "" when the phone is not known."""
    if not phone:
        return ""
    if also:
        return " " + t.gettext("You can also call the salon: %(phone)s", phone=h(phone))
    return " " + t.gettext("Please call the salon: %(phone)s", phone=h(phone))


async def book_noted(
    context: Context,
    booking: NewBooking,
    *,
    flow: str,
    chat_id: int,
    user_id: int,
    data: dict[str, Any],
) -> list[CreatedRecord]:
    """`book_record`, noted in storage before it leaves: should the answer be lost, or the bot
    die before it comes, the attempt is looked into (`resolve_attempts`) instead of letting the
    client book twice. A lost answer is raised as `OutcomeUnknown` with the attempt being
    checked; any other failure ends the attempt. On success the caller ends it, with what it
    keeps of the booking."""
    services = context.services
    storage = services.storage
    now = context.now()
    try:
        storage.begin_attempt(flow, chat_id, user_id, data, now)
    except sqlite3.Error as exc:
        log.error("booking %s without a note of it in flight (%s)", flow, exc)
    services.in_flight.add(flow)
    try:
        return await services.altegio.book(booking)
    except errors.OutcomeUnknown as exc:
        answered = exc.answered
        await store(
            context,
            f"the check of booking {flow}",
            lambda: storage.check_attempt(
                flow, now + CHECK_EVERY, now + CHECK_FOR, answered=answered
            ),
        )
        raise
    except errors.AltegioError:
        await store(
            context, f"the end of booking {flow}", lambda: storage.settle_attempt(flow, "gone")
        )
        raise
    finally:
        services.in_flight.discard(flow)


def get_draft(context: Context) -> Draft | None:
    if context.user_data is None:
        return None
    return context.user_data.get_draft()


def put_draft(context: Context, draft: Draft | None) -> None:
    if context.user_data is None:
        return
    holds = context.services.holds
    previous = context.user_data.draft
    if previous is not None and (draft is None or previous.get("flow") != draft.flow):
        holds.release(str(previous.get("flow")))
    if draft is not None:
        # The chosen time is held from the bot's other clients while this client books it.
        holds.keep(draft.flow, draft.staff_id, draft.slot, context.now())
    # A finished booking's buttons, tapped again (twenty times on Confirm), get a quiet answer.
    context.user_data.put_draft(draft)


async def show(
    update: Update,
    context: Context,
    text: str,
    markup: Markup = None,
    *,
    draft: Draft | None = None,
    new: bool = False,
) -> Message | None:
    """Edit the menu the client tapped, or send a new message when they typed or it is gone."""
    query = update.callback_query
    new = new or context.fresh_menu
    if query is not None and not new and isinstance(markup, InlineKeyboardMarkup | None):
        message = query.message
        if isinstance(message, Message):
            try:
                edited = await message.edit_text(
                    text, parse_mode=ParseMode.HTML, reply_markup=markup
                )
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    return message
                log.info("cannot edit the menu (%s); sending a new one", exc.message)
            else:
                return edited if isinstance(edited, Message) else message
    chat = update.effective_chat
    if chat is None:
        return None
    sent = await context.bot.send_message(
        chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
    )
    return sent


async def unavailable(
    update: Update, context: Context, exc: errors.AltegioError, flow: str = NO_FLOW
) -> None:
    """Altegio failed: say so politely, keep the client's choices, offer to try again."""
    t = context.t
    log.warning("Altegio failed: %s: %s", type(exc).__name__, exc)
    phone = ""
    try:
        company = await context.services.altegio.company()
        phone = company.phone
    except errors.AltegioError:
        pass
    wait: float | None = None
    if isinstance(exc, errors.CircuitOpen):
        wait = context.services.altegio.breaker.remaining
        text = t.gettext(
            "Online booking is temporarily unavailable: the salon's booking system is having "
            "trouble. Your choices so far are kept."
        )
    else:
        if isinstance(exc, errors.RateLimited):
            wait = exc.retry_after
        text = t.gettext(
            "Sorry, the salon's booking system is not answering right now. "
            "Your choices so far are kept."
        )
    text += " " + _when_to_retry(t, wait)
    if phone:
        text += "\n" + t.gettext("You can also call the salon: %(phone)s", phone=h(phone))
    # Tapped again while it lasts, the screen may not change: the answer to the tap shows it.
    context.notify(t.gettext("The salon's booking system is still not answering."))
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t.gettext("Try again"), callback_data=Callback(flow, "retry").encode()
                )
            ],
            [
                InlineKeyboardButton(
                    t.gettext("Cancel"), callback_data=Callback(flow, "cancel").encode()
                )
            ],
        ]
    )
    await show(update, context, text, markup)


def _when_to_retry(t: Translator, wait: float | None) -> str:
    """When trying again makes sense: Altegio's own word (Retry-After), or the pause the bot
    keeps from it, rounded up; "in a moment" when nobody said."""
    if not wait or wait < 5:
        return t.gettext("Please try again in a moment.")
    if wait < 60:
        seconds = int(-(-wait // 5) * 5)
        return t.ngettext(
            "Please try again in about %(n)s second.",
            "Please try again in about %(n)s seconds.",
            seconds,
        )
    minutes = int(-(-wait // 60))
    return t.ngettext(
        "Please try again in about %(n)s minute.",
        "Please try again in about %(n)s minutes.",
        minutes,
    )


async def private_only(update: Update, context: Context) -> None:
    """Groups and channels: explain once per message that the bot works in private chats."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    message = update.effective_message
    if update.message is not None and message is not None and message.text:
        if message.text.startswith("/"):
            await message.reply_text(
                context.t.gettext(
                    "I can only book appointments in a private chat. Please write to me directly."
                )
            )
    elif update.callback_query is not None:
        await answer(update, context)
    raise ApplicationHandlerStop


def _book_button(context: Context) -> InlineKeyboardMarkup:
    keys = Keys(NO_FLOW, context.t)
    return InlineKeyboardMarkup([[keys.button(context.t.gettext("Book an appointment"), "book")]])


async def offer_booking(update: Update, context: Context, text: str) -> None:
    await show(update, context, text, _book_button(context), new=True)


async def help_command(update: Update, context: Context) -> None:
    t = context.t
    text = "\n".join(
        [
            t.gettext("I book appointments at the salon for you."),
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


def just_booked(context: Context) -> None:
    """Remember when this client last booked, for a /cancel typed while it was being made."""
    if context.user_data is not None:
        context.user_data.booked_at = context.now().isoformat()


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


async def on_error(update: object, context: Context) -> None:
    """The one place unexpected errors land: log them, tell the salon, apologise, offer a way
    back."""
    error = context.error
    log.error("unhandled error while handling an update", exc_info=error)
    admin = context.services.settings.admin_chat_id
    if admin is not None and error is not None:
        where = ""
        if isinstance(update, Update) and update.effective_chat is not None:
            where = f" (chat {update.effective_chat.id})"
        with contextlib.suppress(TelegramError):
            # The type and place only: the message could carry a client's data.
            await context.bot.send_message(
                admin, f"⚠️ The booking bot hit an error{where}: {type(error).__name__}"
            )
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.callback_query is not None:
        await answer(update, context)
    with contextlib.suppress(TelegramError):
        await context.bot.send_message(
            update.effective_chat.id,
            context.t.gettext(
                "Sorry, something went wrong on our side. Your booking details are kept; "
                "please try again, or start over."
            ),
            reply_markup=_book_button(context),
        )


async def hold_floods(update: Update, context: Context) -> None:
    """A client sending far more than a person types is slowed down, alone."""
    user = update.effective_user
    if user is None:
        return
    allowed, warn = context.services.flood.allow(user.id)
    if allowed:
        return
    if warn and update.effective_chat is not None and update.effective_chat.type == "private":
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(
                update.effective_chat.id,
                context.t.gettext(
                    "You are sending messages very quickly. Please wait a moment, then go on."
                ),
            )
    if update.callback_query is not None:
        await answer(update, context)
    raise ApplicationHandlerStop


async def edited_message(update: Update, context: Context) -> None:
    """Edits of earlier messages are not read again: say so rather than act on them."""
    message = update.edited_message
    if message is None:
        return
    await message.reply_text(
        context.t.gettext(
            "I do not read changes to earlier messages. Please send it again as a new message."
        )
    )
    raise ApplicationHandlerStop
