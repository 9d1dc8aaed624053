"""Telling a client what became of a booking call whose answer never came, once the core
(`bot/workflows/unanswered.py`) knows; runs from the tick."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.chain import is_chain
from bot.context import BotApplication
from bot.keyboards import Keys
from bot.workflows import unanswered
from bot.workflows.unanswered import Became, News
from conversations.screens import my_appointments
from conversations.texts import booked_text, call_sentence, location_line, uncertain_text, when

log = logging.getLogger(__name__)


async def resolve_attempts(application: BotApplication) -> int:
    """Look at the unanswered booking calls that are due; returns how many were settled."""

    async def say(news: News) -> None:
        await _say(application, news)

    return await unanswered.resolve(application.services, application, say)


async def _say(application: BotApplication, news: News) -> None:
    t = application.services.catalogs.translator(news.language)
    attempt, company, record = news.attempt, news.company, news.record
    markup: InlineKeyboardMarkup | None = my_appointments(t)
    old_when = when(t, news.old_start, company) if news.old_start and company else ""
    phone = company.phone if company else ""
    if news.became is Became.RESTARTED:
        text = t.gettext(
            "The bot restarted while your booking was being made. I am checking whether it "
            "went through and will tell you here within a few minutes."
        )
        markup = None
    elif news.became is Became.BOOKED and record is not None and company is not None:
        title = record.title or str(attempt.data.get("title") or "")
        chain = is_chain(application.services)
        text = booked_text(t, title, record.staff_name, company, record.start, chain=chain)
    elif news.became is Became.ABANDONED:
        text = t.gettext("The booking you confirmed earlier did not go through.")
        markup = None
    elif news.became is Became.NOT_BOOKED:
        text = t.gettext(
            "The salon's booking system did not answer, and the booking did not go through. "
            "Your choices are kept: tap Confirm to try again."
        )
        keys = Keys(attempt.flow, t)
        markup = InlineKeyboardMarkup([[keys.button(t.gettext("✅ Confirm"), "confirm")]])
    elif news.became is Became.MOVE_NOT_BOOKED:
        text = t.gettext(
            "Sorry, the appointment could not be moved right now. It stays as it was: %(when)s.",
            when=old_when,
        )
    elif news.became is Became.MOVED and record is not None and company is not None:
        text = t.gettext("✅ Done! Your appointment is moved.")
        text += "\n" + t.gettext("New time: %(when)s", when=when(t, record.start, company))
        if is_chain(application.services):
            text += "\n" + location_line(t, company, chain=True)
    elif news.became is Became.MOVE_LEFT_TWO:
        text = t.gettext(
            "Your new time is booked, but the old appointment could not be cancelled. "
            "Please cancel one of them in My appointments."
        )
    elif news.became is Became.MOVE_UNKNOWN:
        text = t.gettext(
            "The salon's booking system did not answer in time, so I cannot tell whether your "
            "new time was booked. Your appointment on %(when)s stands. Please do not try again; "
            "check My appointments in a minute.",
            when=old_when,
        )
        text += call_sentence(t, phone)
    else:
        text = uncertain_text(t, answered=attempt.answered, told=news.told)
        text += call_sentence(t, phone)
    try:
        await application.bot.send_message(
            attempt.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    except TelegramError as exc:
        log.warning("could not tell chat %s of booking %s: %s", attempt.chat_id, attempt.flow, exc)
