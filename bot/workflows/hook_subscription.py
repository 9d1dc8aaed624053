"""Subscribing the location's record webhooks to the bot's own address (`hooks_settings`,
reference §12.1), with the salon's admin user token (`ALTEGIO_USER_TOKEN`); with a chain, each
of its locations to the same address, each on its own schedule.

A POST replaces the whole location's settings, so the bot reads them first and writes only
when its address is missing or record events are off: every other app's URLs and flags are
sent back as they were, an older address of the bot's own (another secret, another host) is
replaced, and at most ten URLs are kept. Plain code: no Telegram here.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from bot import chain
from bot.altegio import errors
from bot.altegio.client import AltegioClient
from bot.services import HookSite, Services
from bot.settings import Settings

log = logging.getLogger(__name__)

MAX_URLS = 10
# Looked at again this often while live (the salon may remove the address in Altegio), and
# after a failure from a minute up to half an hour.
RECHECK = timedelta(hours=6)
RETRY_FIRST = timedelta(minutes=1)
RETRY_MOST = timedelta(minutes=30)
OWN_PATH = "/altegio/"
# The event flags of §12.1's body.
# fmt: off
FLAGS = (
    "record", "client", "salon", "service", "service_category", "master", "good",
    "goods_operations_sale", "goods_operations_receipt", "goods_operations_consumable",
    "goods_operations_stolen", "goods_operations_move", "finances_operation",
)
# fmt: on


class Subscription(StrEnum):
    LIVE = "live"  # Altegio posts the location's record events to the bot
    REFUSED = "refused"  # the token was not accepted, or lacks the rights: no webhooks
    FULL = "full"  # ten other URLs already: no room for the bot's
    NOT_TAKEN = "not_taken"  # Altegio refused the settings themselves
    UNAVAILABLE = "unavailable"  # Altegio did not answer: tried again later
    OFF = "off"  # no admin token, or no public address (polling mode)


async def subscribe(services: Services) -> Subscription:
    """Make sure the location posts record events to the bot's address."""
    settings = services.settings
    url, token = settings.altegio_hook_url, settings.altegio_user_token
    if not url or not token:
        return Subscription.OFF
    altegio = services.altegio
    try:
        current = await altegio.hook_settings(token)
        wanted = _wanted(current, url)
        if wanted is None:
            return Subscription.FULL
        if wanted != current:
            answer = await altegio.set_hook_settings(wanted, token)
            if url not in _urls(answer) and answer:
                log.warning("altegio webhooks: the address was not kept by Altegio")
                return Subscription.NOT_TAKEN
    except errors.AuthError:
        return Subscription.REFUSED
    except (errors.Unavailable, errors.RateLimited):
        return Subscription.UNAVAILABLE
    except errors.AltegioError as exc:
        log.warning("altegio webhooks: settings refused (%s)", type(exc).__name__)
        return Subscription.NOT_TAKEN
    return Subscription.LIVE


async def keep(services: Services) -> dict[int, Subscription]:
    """Subscribe each location that is due (the bot's own; with a chain, each of its locations
    as last read): at start, after a failure, and now and then while live. What each location
    looked at came to; {} when none was due. A location that refuses is not tried again (until
    a restart), and stops none of the others."""
    hooks = services.hooks
    home = services.altegio.company_id
    now = services.clock()
    settings = services.settings
    if not settings.altegio_hook_url or not settings.altegio_user_token:
        site = hooks.site(home)
        if site.refused:
            return {}
        site.refused = True  # nothing to try, for any location
        return {home: Subscription.OFF}
    places = _places(home, hooks.chain)
    if chain.is_chain(services) and (
        hooks.chain is None or any(_due(hooks.site(c), now) for c in places)
    ):
        # A location that joined the chain is subscribed at the next look.
        try:
            places = _places(home, await chain_ids(services))
        except errors.AltegioError as exc:
            log.warning("altegio webhooks: the chain's locations not read (%s)", type(exc).__name__)
    outcomes: dict[int, Subscription] = {}
    for company_id in places:
        site = hooks.site(company_id)
        if not _due(site, now):
            continue
        outcome = await subscribe(services.at(company_id))
        site.failures = 0 if outcome is Subscription.LIVE else site.failures + 1
        site.next_check = next_check(outcome, site.failures, now)
        site.subscribed = outcome is Subscription.LIVE
        site.refused = site.next_check is None
        outcomes[company_id] = outcome
    return outcomes


def _places(home: int, listed: tuple[int, ...] | None) -> list[int]:
    return list(dict.fromkeys([home, *(listed or ())]))


def _due(site: HookSite, now: datetime) -> bool:
    return not site.refused and (site.next_check is None or now >= site.next_check)


async def chain_ids(services: Services) -> tuple[int, ...]:
    """The chain's locations, in its order (read through the cache `chain.locations` keeps),
    as the webhooks know them from now on. Raises `AltegioError` when they cannot be read."""
    listed = tuple(company.id for company in await chain.locations(services))
    services.hooks.chain = listed
    return listed


def ours(services: Services, company_id: int) -> bool:
    """Whether the events of a location are the bot's to take: its own location's, or a
    chain's location's (before the chain is read in this process, any location's: an event is
    followed only once it is known to be one of the chain's)."""
    if company_id == services.altegio.company_id:
        return True
    if not chain.is_chain(services):
        return False
    return services.hooks.chain is None or company_id in services.hooks.chain


async def location(services: Services, company_id: int) -> Services | None:
    """The services at the location an event came from (0: the bot's own), or None for a
    location that is not the chain's (the event is left alone)."""
    if company_id in (0, services.altegio.company_id):
        return services
    if not chain.is_chain(services):
        return None
    listed = services.hooks.chain
    if listed is None:
        try:
            listed = await chain_ids(services)
        except errors.AltegioError as exc:
            # Which locations are the chain's is not known yet: the event waits for the tick.
            raise errors.Unavailable(f"the chain's locations ({type(exc).__name__})") from exc
    if company_id not in listed:
        log.info(
            "altegio webhooks: an event of location %s, not the chain's: left alone", company_id
        )
        return None
    return services.at(company_id)


def _urls(settings: dict[str, Any]) -> list[str]:
    urls = settings.get("urls")
    return [u for u in urls if isinstance(u, str)] if isinstance(urls, list) else []


def _wanted(current: dict[str, Any], url: str) -> dict[str, Any] | None:
    """The settings with the bot's address in and record events on; everything else as it
    was. None when there is no room for one more URL."""
    origin = _origin(url)
    urls = _urls(current)
    others = [u for u in urls if u != url and not _older_own(u, origin)]
    kept = list(dict.fromkeys([*others, url]))
    if len(kept) > MAX_URLS:
        return None
    # A location with no settings yet gets every documented flag, off but for records.
    wanted: dict[str, Any] = {name: 0 for name in FLAGS} if not current else {}
    wanted.update(current)
    wanted["urls"] = kept
    wanted["active"] = 1
    wanted["record"] = 1
    if not others and "self_sending" not in current:
        # Nobody else's settings to keep: the bot's own changes need not come back to it.
        wanted["self_sending"] = 0
    per_url = current.get("url_settings")
    if isinstance(per_url, list):
        # Newer backends' per-URL flags: an older address of the bot's own goes with it.
        wanted["url_settings"] = [
            s
            for s in per_url
            if not (isinstance(s, dict) and _older_own(str(s.get("url", "")), origin))
        ]
    if _same(wanted, current):
        return current
    return wanted


def _same(wanted: dict[str, Any], current: dict[str, Any]) -> bool:
    flags_on = all(str(current.get(name)) in ("1", "True") for name in ("active", "record"))
    return flags_on and _urls(current) == wanted["urls"] and wanted.keys() == current.keys()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _older_own(candidate: str, origin: str) -> bool:
    """An address the bot gave Altegio before (its secret changed since)."""
    return candidate.startswith(origin + OWN_PATH)


def next_check(outcome: Subscription, failures: int, now: datetime) -> datetime | None:
    """When to look again: None for never (until a restart)."""
    if outcome is Subscription.LIVE:
        return now + RECHECK
    if outcome in (Subscription.UNAVAILABLE, Subscription.NOT_TAKEN, Subscription.FULL):
        wait: timedelta = min(RETRY_FIRST * 2 ** max(failures - 1, 0), RETRY_MOST)
        return now + wait
    return None


async def status_line(altegio: AltegioClient, settings: Settings) -> tuple[bool, str]:
    """For `doctor`, read only: whether all is as it should be, and what was found (never the
    token or the secret path)."""
    url, token = settings.altegio_hook_url, settings.altegio_user_token
    if not token:
        return (
            True,
            "off (ALTEGIO_USER_TOKEN is not set): the salon's changes are read at reminders",
        )
    if not url:
        return False, (
            "ALTEGIO_USER_TOKEN is set, but in polling mode Altegio cannot reach the bot: set "
            "WEBHOOK_URL and WEBHOOK_SECRET for webhooks (until then changes are read at reminders)"
        )
    try:
        current = await altegio.hook_settings(token)
    except errors.AuthError:
        return False, (
            "ALTEGIO_USER_TOKEN is not accepted for the location's webhook settings (wrong or "
            "expired, or its user lacks rights to the location's settings): no webhooks"
        )
    except errors.AltegioError as exc:
        return False, f"the location's webhook settings could not be read ({type(exc).__name__})"
    shown = f"{_origin(url)}{OWN_PATH}…"
    others = len([u for u in _urls(current) if u != url])
    if _wanted(current, url) is current:
        return True, f"subscribed: Altegio posts record events to {shown} ({others} other URLs)"
    if _wanted(current, url) is None:
        return False, f"{others} other URLs are subscribed: Altegio takes no more than {MAX_URLS}"
    return True, f"the bot subscribes {shown} at start, keeping the {others} other URLs"
