"""Pieces every conversation uses: showing a menu in place, the draft, and Altegio failures."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from html import escape

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
from bot.booking import Draft
from bot.context import BotApplication, Context
from bot.keyboards import NO_FLOW, Callback, Keys

log = logging.getLogger(__name__)

DRAFT = "draft"

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


def get_draft(context: Context) -> Draft | None:
    if context.user_data is None:
        return None
    return Draft.from_json(context.user_data.get(DRAFT))


def put_draft(context: Context, draft: Draft | None) -> None:
    if context.user_data is None:
        return
    holds = context.services.holds
    previous = context.user_data.get(DRAFT)
    if isinstance(previous, dict) and (draft is None or previous.get("flow") != draft.flow):
        holds.release(str(previous.get("flow")))
    if draft is None:
        context.user_data.pop(DRAFT, None)
    else:
        # The chosen time is held from the bot's other clients while this client books it.
        holds.keep(draft.flow, draft.staff_id, draft.slot, context.now())
        context.user_data[DRAFT] = draft.as_json()


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
                if draft is not None and isinstance(edited, Message):
                    draft.message_id = edited.message_id
                return edited if isinstance(edited, Message) else message
    chat = update.effective_chat
    if chat is None:
        return None
    sent = await context.bot.send_message(
        chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
    )
    if draft is not None:
        draft.message_id = sent.message_id
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
    if isinstance(exc, errors.CircuitOpen):
        text = t.gettext(
            "Online booking is temporarily unavailable: the salon's booking system is having "
            "trouble. Your choices so far are kept; please try again in a few minutes."
        )
    else:
        text = t.gettext(
            "Sorry, the salon's booking system is not answering right now. "
            "Your choices so far are kept: please try again in a moment."
        )
    if phone:
        text += "\n" + t.gettext("You can also call the salon: %(phone)s", phone=h(phone))
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
        await update.callback_query.answer()
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
    await offer_booking(update, context, context.t.gettext("There is nothing to cancel right now."))


async def stale_button(update: Update, context: Context) -> None:
    """A button from a finished booking, from before a restart, or one nobody made."""
    query = update.callback_query
    if query is None:
        return
    await query.answer(context.t.gettext("This button is no longer active."))
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
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
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
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
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
