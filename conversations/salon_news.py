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

from bot import chain
from bot.altegio import errors
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
    """Subscribe the record webhooks of the bot's location (with a chain, of each of its
    locations) when due (at start, after a failure, and now and then while live); None when
    none was due. A chain's outcome is its first location's that is not live, else live."""
    services = application.services
    hooks = services.hooks
    before = {company_id for company_id, site in hooks.sites.items() if site.subscribed}
    outcomes = await hook_subscription.keep(services)
    if not outcomes:
        return None
    if Subscription.OFF in outcomes.values():
        return Subscription.OFF  # nothing to try: told at start (`announce`)
    names = await _names(application, outcomes)
    live = [c for c, outcome in outcomes.items() if outcome is Subscription.LIVE]
    if [c for c in live if c not in before]:
        log.info(
            "altegio webhooks: subscribed%s; the salon's changes are told at once (reminders "
            "trust the stored copy once the first event has come)",
            _at(names, [c for c in live if c not in before]),
        )
    refused = [c for c, outcome in outcomes.items() if outcome is Subscription.REFUSED]
    if refused:
        await _refused(application, _at(names, refused))
    if Subscription.UNAVAILABLE in outcomes.values():
        log.warning("altegio webhooks: Altegio not answering; trying again later")
    for company_id, outcome in outcomes.items():
        if outcome not in (Subscription.FULL, Subscription.NOT_TAKEN):
            continue
        if hooks.site(company_id).failures != 1:
            continue
        log.warning(
            "altegio webhooks: not subscribed%s (%s); trying again later",
            _at(names, [company_id]),
            outcome,
        )
        reason = (
            "ten other addresses are subscribed already (Altegio takes no more)"
            if outcome is Subscription.FULL
            else "Altegio refused the settings"
        )
        await application.tell_admin(
            f"⚠️ The bot could not subscribe to Altegio's webhooks{_at(names, [company_id])}: "
            f"{reason}. It runs without them (the salon's changes reach clients at their "
            "reminders) and tries again."
        )
    return next((o for o in outcomes.values() if o is not Subscription.LIVE), Subscription.LIVE)


async def _refused(application: BotApplication, where: str) -> None:
    """The admin token refused (for some of a chain's locations, `where` naming them): said
    once, as the location is not tried again until a restart."""
    log.warning(
        "altegio webhooks: ALTEGIO_USER_TOKEN was not accepted for hooks_settings%s (no "
        "token or no rights to the location's settings); running without webhooks%s",
        where,
        " there" if where else "",
    )
    if not where:
        await application.tell_admin(
            "⚠️ Altegio did not accept ALTEGIO_USER_TOKEN for the location's webhook settings "
            "(the token is wrong or expired, or its user lacks the rights to the location's "
            "settings). The bot runs without webhooks: the salon's changes reach clients at "
            "their reminders. Give it a token of a user with those rights and restart it."
        )
        return
    await application.tell_admin(
        f"⚠️ Altegio did not accept ALTEGIO_USER_TOKEN for the webhook settings{where} (the "
        "token's user lacks the rights to those locations' settings, or the token is wrong or "
        "expired). The bot runs without webhooks there: the salon's changes there reach "
        "clients at their reminders; the chain's other locations are not affected. Give it a "
        "token of a user with rights to every location of the chain and restart it."
    )


async def _names(application: BotApplication, outcomes: dict[int, Subscription]) -> dict[int, str]:
    """A chain's locations by id, as the log and the admin chat name them ({} without a
    chain: the one location needs no name)."""
    services = application.services
    if not chain.is_chain(services):
        return {}
    try:
        listed = await chain.locations(services)
    except errors.AltegioError:
        listed = []
    titles = {company.id: company.title for company in listed}
    return {c: f"{titles[c]} ({c})" if titles.get(c) else f"location {c}" for c in outcomes}


def _at(names: dict[int, str], company_ids: list[int]) -> str:
    """ " at X (1004), Y (1002)" for a chain's locations; "" for the bot's one location."""
    if not names:
        return ""
    return " at " + ", ".join(names[c] for c in company_ids)


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
    elif chain.is_chain(application.services):
        log.info("altegio webhooks: subscribing the record events of each of the chain's locations")
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
