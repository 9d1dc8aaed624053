"""The salon's changes told at once: what Altegio's record webhooks bring (a move, a cancel,
another team member, an appointment the salon made for the client) put into words with the
usual actions, and the location's subscription kept, from the tick.

Receiving and following the events is the core's (`bot/workflows/salon_changes.py`); the
subscription is `bot/workflows/hook_subscription.py`'s.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from telegram import InlineKeyboardButton

from bot.chain import is_chain
from bot.context import BotApplication
from bot.i18n import Translator
from bot.keyboards import NO_FLOW, Keys
from bot.updates import PerChatUpdateProcessor
from bot.workflows import hook_subscription, salon_changes
from bot.workflows.hook_subscription import Subscription
from bot.workflows.remind import Delivery
from bot.workflows.salon_changes import News, Told
from conversations.screens import send_told
from conversations.texts import describe, h, salon_cancelled_text, when
from conversations.visit_cards import describe_visit, part_cancelled_text, part_moved_text

log = logging.getLogger(__name__)


async def process(application: BotApplication) -> int:
    """Follow the webhook events waiting in the inbox and tell their clients; returns how many
    were told."""

    async def tell(news: News) -> Delivery:
        return await _tell(application, news)

    def turn(chat_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        processor = application.update_processor
        if isinstance(processor, PerChatUpdateProcessor):
            return processor.turn(chat_id)
        return _no_turn()

    return await salon_changes.process(application.services, tell, turn)


@contextlib.asynccontextmanager
async def _no_turn() -> AsyncIterator[None]:
    yield


async def keep_subscribed(application: BotApplication) -> Subscription | None:
    """Subscribe the location's record webhooks when due (at start, after a failure, and now
    and then while live); None when it was not due."""
    services = application.services
    hooks = services.hooks
    now = services.clock()
    if hooks.refused or (hooks.next_check is not None and now < hooks.next_check):
        return None
    outcome = await hook_subscription.subscribe(services)
    hooks.failures = 0 if outcome is Subscription.LIVE else hooks.failures + 1
    again = hook_subscription.next_check(outcome, hooks.failures, now)
    hooks.next_check = again
    was_subscribed, hooks.subscribed = hooks.subscribed, outcome is Subscription.LIVE
    if outcome is Subscription.LIVE:
        if not was_subscribed:
            log.info(
                "altegio webhooks: subscribed; the salon's changes are told at once (reminders "
                "trust the stored copy once the first event has come)"
            )
    elif outcome is Subscription.OFF:
        hooks.refused = True  # nothing to try: told at start (`announce`)
    elif outcome is Subscription.REFUSED:
        hooks.refused = True
        log.warning(
            "altegio webhooks: ALTEGIO_USER_TOKEN was not accepted for hooks_settings (no "
            "token or no rights to the location's settings); running without webhooks"
        )
        await application.tell_admin(
            "⚠️ Altegio did not accept ALTEGIO_USER_TOKEN for the location's webhook settings "
            "(the token is wrong or expired, or its user lacks the rights to the location's "
            "settings). The bot runs without webhooks: the salon's changes reach clients at "
            "their reminders. Give it a token of a user with those rights and restart it."
        )
    elif outcome is Subscription.UNAVAILABLE:
        log.warning("altegio webhooks: Altegio not answering; trying again later")
    elif hooks.failures == 1:
        log.warning("altegio webhooks: not subscribed (%s); trying again later", outcome)
        reason = (
            "ten other addresses are subscribed already (Altegio takes no more)"
            if outcome is Subscription.FULL
            else "Altegio refused the settings"
        )
        await application.tell_admin(
            f"⚠️ The bot could not subscribe to Altegio's webhooks: {reason}. It runs without "
            "them (the salon's changes reach clients at their reminders) and tries again."
        )
    return outcome


def announce(application: BotApplication) -> None:
    """Say at start whether the salon's changes come by webhook, and why not."""
    settings = application.services.settings
    if not settings.altegio_user_token:
        log.info("altegio webhooks: off (no ALTEGIO_USER_TOKEN); changes are read at reminders")
    elif not settings.altegio_hook_url:
        log.warning(
            "altegio webhooks: off in polling mode (Altegio needs the bot's public https "
            "address: set WEBHOOK_URL); changes are read at reminders"
        )
    else:
        log.info("altegio webhooks: subscribing the location's record events")


async def _tell(application: BotApplication, news: News) -> Delivery:
    t = application.services.catalogs.translator(news.language)
    keys = Keys(NO_FLOW, t)
    fresh, company = news.fresh, news.company
    chain = is_chain(application.services)  # the appointment's location named
    record_id = fresh.booking.record_id
    others = [f for f in news.parts if f.booking.record_id != record_id]
    if others and news.told is Told.CANCELLED:
        # One part of a visit: the rest stands, with its own actions.
        text = part_cancelled_text(t, fresh, others, company, chain=chain)
        rows = _actions(t, keys, others[0].booking.record_id)
    elif others and news.told is Told.MOVED:
        text = part_moved_text(t, fresh, news.parts, company, chain=chain)
        rows = _actions(t, keys, news.parts[0].booking.record_id)
    elif others:
        text = _headline(t, news) + "\n\n" + describe_visit(t, news.parts, company, chain=chain)
        rows = _actions(t, keys, news.parts[0].booking.record_id)
    elif news.told is Told.CANCELLED:
        text = salon_cancelled_text(t, fresh, company, chain=chain)
        rows = [[keys.button(t.gettext("Book again"), "again", record_id)]]
    else:
        text = _headline(t, news) + "\n\n" + describe(t, fresh, company, chain=chain)
        rows = _actions(t, keys, record_id)
    return await send_told(application.bot, news.chat_id, text, rows, "the salon's change")


def _headline(t: Translator, news: News) -> str:
    if news.told is Told.MOVED:
        return t.gettext(
            "The salon has moved your appointment. The new time is %(when)s.",
            when=when(t, news.fresh.booking.start, news.company),
        )
    if news.told is Told.STAFF:
        return t.gettext(
            "The salon has changed who will see you: %(staff)s.",
            staff=h(news.fresh.staff_name),
        )
    return t.gettext("The salon has booked you in:")


def _actions(t: Translator, keys: Keys, record_id: int) -> list[list[InlineKeyboardButton]]:
    return [
        [
            keys.button(t.gettext("Reschedule"), "resc", record_id),
            keys.button(t.gettext("Cancel appointment"), "cnl", record_id),
        ],
        [
            keys.button(t.gettext("Add to calendar"), "ics", record_id),
            keys.button(t.gettext("Address"), "addr", record_id),
        ],
        [keys.button(t.gettext("My appointments"), "apts", 1)],
    ]
