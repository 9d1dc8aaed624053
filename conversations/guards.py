"""What runs before any handler, or after all of them: flood control, private chats only, edits
of old messages, and the one place unexpected errors land."""

from __future__ import annotations

import contextlib
import logging

from telegram import (
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.context import Context
from bot.storage import StorageUnavailable
from conversations.screens import answer, book_button

log = logging.getLogger(__name__)


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


async def on_error(update: object, context: Context) -> None:
    """The one place unexpected errors land: log them, tell the salon, apologise, offer a way
    back."""
    error = context.error
    if isinstance(error, StorageUnavailable):
        await _storage_unavailable(update, context, error)
        return
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
    if isinstance(update, Update):
        await _apologise(
            update,
            context,
            context.t.gettext(
                "Sorry, something went wrong on our side. Your booking details are kept; "
                "please try again, or start over."
            ),
            with_book_button=True,
        )


async def _storage_unavailable(update: object, context: Context, error: Exception) -> None:
    """The database did not answer (PostgreSQL restarting, out of reach): nothing of the update
    was done past that point, so the client is asked to try again; the salon hears once."""
    log.warning("an update could not be handled: the database does not answer (%s)", error)
    await context.alerts.storage_trouble(str(error))
    if isinstance(update, Update):
        await _apologise(
            update,
            context,
            context.t.gettext(
                "Sorry, I cannot reach my records just now. Please try again in a minute."
            ),
        )


async def _apologise(
    update: Update, context: Context, text: str, *, with_book_button: bool = False
) -> None:
    """The tapped button answered, and `text` sent to the chat (nothing without one)."""
    if update.effective_chat is None:
        return
    if update.callback_query is not None:
        await answer(update, context)
    with contextlib.suppress(TelegramError):
        await context.bot.send_message(
            update.effective_chat.id,
            text,
            reply_markup=book_button(context) if with_book_button else None,
        )
