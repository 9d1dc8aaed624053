"""Showing things to a client: a menu edited in place, the answer to a tapped button, the one
screen for Altegio not answering (in every flow), and the ways on to booking or the list."""

from __future__ import annotations

import contextlib
import logging

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.altegio import errors
from bot.context import Context
from bot.draft import Draft
from bot.i18n import Translator
from bot.keyboards import NO_FLOW, Callback, Keys
from bot.workflows.remind import Delivery
from conversations.texts import h, when_to_retry

log = logging.getLogger(__name__)


Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


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
    update: Update,
    context: Context,
    exc: errors.AltegioError,
    flow: str = NO_FLOW,
    *,
    retry: Callback | None = None,
) -> None:
    """Altegio failed: say so politely and offer to try again, in every flow. In a booking
    (`flow`) the client's choices are kept and Try again resumes the step; elsewhere `retry` is
    the button that does again what failed."""
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
    elif isinstance(exc, errors.RateLimited):
        wait = exc.retry_after
    if retry is not None:
        text = t.gettext("Sorry, the salon's booking system is not answering right now.")
    elif isinstance(exc, errors.CircuitOpen):
        text = t.gettext(
            "Online booking is temporarily unavailable: the salon's booking system is having "
            "trouble. Your choices so far are kept."
        )
    else:
        text = t.gettext(
            "Sorry, the salon's booking system is not answering right now. "
            "Your choices so far are kept."
        )
    text += " " + when_to_retry(t, wait)
    if phone:
        text += "\n" + t.gettext("You can also call the salon: %(phone)s", phone=h(phone))
    # Tapped again while it lasts, the screen may not change: the answer to the tap shows it.
    context.notify(t.gettext("The salon's booking system is still not answering."))
    try_again = retry or Callback(flow, "retry")
    rows = [[InlineKeyboardButton(t.gettext("Try again"), callback_data=try_again.encode())]]
    if retry is None:
        cancel = Callback(flow, "cancel").encode()
        rows.append([InlineKeyboardButton(t.gettext("Cancel"), callback_data=cancel)])
    await show(update, context, text, InlineKeyboardMarkup(rows))


def my_appointments(t: Translator, *, new: bool = True) -> InlineKeyboardMarkup:
    """The My appointments button under a message that ends something; `new` opens the list as
    a message of its own, leaving this one as it is."""
    keys = Keys(NO_FLOW, t)
    return InlineKeyboardMarkup(
        [[keys.button(t.gettext("My appointments"), "apts", "1" if new else "")]]
    )


def book_button(context: Context) -> InlineKeyboardMarkup:
    keys = Keys(NO_FLOW, context.t)
    return InlineKeyboardMarkup([[keys.button(context.t.gettext("Book an appointment"), "book")]])


async def offer_booking(update: Update, context: Context, text: str) -> None:
    await show(update, context, text, book_button(context), new=True)


def single(button: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button]])


async def send_told(
    bot: Bot, chat_id: int, text: str, rows: list[list[InlineKeyboardButton]], about: str
) -> Delivery:
    """Send a message the client did not ask for (a reminder, the salon's change): blocked,
    failed (logged, naming `about`) or delivered."""
    try:
        await bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, reply_markup=InlineKeyboardMarkup(rows)
        )
    except Forbidden:
        return Delivery.BLOCKED
    except TelegramError as exc:
        log.warning("%s for chat %s not delivered: %s", about, chat_id, exc)
        return Delivery.FAILED
    return Delivery.DELIVERED
