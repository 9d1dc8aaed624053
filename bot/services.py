"""What the core's workflows are given: the one owner of each outside world, and the clock.

Plain code, no Telegram: the application hands these to the handlers, which hand them to the
workflows (`bot/workflows/`), and to the tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.altegio.client import AltegioClient
from bot.altegio.models.company import Company
from bot.earliest import Offered
from bot.holds import Holds
from bot.i18n import Catalogs
from bot.limits import Answered, CodeGuard, FloodGuard
from bot.metrics import Heartbeat, Metrics
from bot.records import ReminderPolicy
from bot.settings import Settings
from bot.storage import PendingWrites, Storage
from bot.waitlist_rules import WatchState

if TYPE_CHECKING:
    from bot.leases import Replica  # psycopg only with DATABASE_URL


@dataclass(slots=True)
class HookSite:
    """One location's record webhooks as this process knows them."""

    subscribed: bool = False  # Altegio holds the bot's address, with record events on
    # When an event of this location first reached the bot's address since it started: the
    # address is reachable (a reverse proxy that does not forward it would leave the stored
    # copy stale, unnoticed) and the location posts to it. None: nothing heard yet.
    heard_since: datetime | None = None
    refused: bool = False  # not tried again until a restart: the token refused, or nothing to try
    next_check: datetime | None = None  # None: at the next tick
    failures: int = 0

    @property
    def live(self) -> bool:
        """Whether the location's changes reach the bot by webhook now."""
        return self.subscribed and self.heard_since is not None


@dataclass(slots=True)
class HookStatus:
    """The record webhooks as this process knows them, per location (the bot's own; each of a
    chain's): whether they are live (reminders then trust the stored copy), when to look at
    each subscription next, and the one lock under which received events are followed, one at
    a time."""

    sites: dict[int, HookSite] = field(default_factory=dict)  # by location id
    # A chain's locations as last read (subscribed, and whose events are taken), in its
    # order; None before the first read, and without a chain.
    chain: tuple[int, ...] | None = None
    # Appointments whose state this process learnt since the webhooks were heard (an event, or
    # a read): an event missed while the bot was down leaves the others to be read once.
    known: set[int] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # News of the salon's changes Telegram did not take, told again at later ticks
    # (`bot/workflows/salon_changes.Retell`).
    retell: list[Any] = field(default_factory=list)

    def site(self, company_id: int) -> HookSite:
        found = self.sites.get(company_id)
        if found is None:
            found = self.sites[company_id] = HookSite()
        return found

    def heard(self, company_id: int, now: datetime) -> None:
        """An event of the location reached the bot's address."""
        site = self.site(company_id)
        if site.heard_since is None:
            site.heard_since = now

    @property
    def subscribed(self) -> bool:
        """Whether Altegio holds the bot's address for any location."""
        return any(site.subscribed for site in self.sites.values())

    @property
    def live(self) -> bool:
        """Whether any location's changes reach the bot by webhook now."""
        return any(site.live for site in self.sites.values())

    def live_at(self, company_id: int) -> bool:
        site = self.sites.get(company_id)
        return site is not None and site.live

    def fresh(self, record_id: int, created_at: datetime, company_id: int) -> bool:
        """Whether the stored copy of an appointment at `company_id` is kept in step by
        webhooks: that location's are live, and it was made, or learnt of, since they were
        heard in this process."""
        site = self.sites.get(company_id)
        if site is None or not site.live or site.heard_since is None:
            return False
        return record_id in self.known or created_at >= site.heard_since


class Locations:
    """One Altegio client per location of the partner, made when first needed and kept (its
    caches with it), all behind the one rate limit of the bot's address."""

    def __init__(self, own: AltegioClient, make: Callable[[int], AltegioClient]) -> None:
        self._clients = {own.company_id: own}
        self._make = make

    def client(self, company_id: int) -> AltegioClient:
        found = self._clients.get(company_id)
        if found is None:
            found = self._clients[company_id] = self._make(company_id)
        return found

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


@dataclass(frozen=True, slots=True)
class Services:
    """What handlers and workflows may use: the one owner of each outside world, and the clock."""

    settings: Settings
    altegio: AltegioClient
    storage: Storage
    catalogs: Catalogs
    clock: Callable[[], datetime]
    # In memory, or shared by the replicas of a bot on PostgreSQL (`bot/shared_guards.py`):
    # the same interface either way.
    flood: FloodGuard
    codes: CodeGuard
    holds: Holds = field(default_factory=Holds)
    offered: Offered = field(default_factory=Offered)  # the earliest times each flow is offered
    pending: PendingWrites = field(default_factory=PendingWrites)
    answered: Answered = field(default_factory=Answered)
    # Booking calls this process is making right now (their attempts are not orphans).
    in_flight: set[str] = field(default_factory=set)
    # When this process started: a booking call still "sending" from before it is an orphan.
    started_at: datetime | None = None
    # What /metrics reports, and when the reminder tick last ran (for /healthz).
    metrics: Metrics = field(default_factory=Metrics)
    heartbeat: Heartbeat = field(default_factory=Heartbeat)
    # Altegio's record webhooks (`bot/workflows/salon_changes.py`).
    hooks: HookStatus = field(default_factory=HookStatus)
    # The waiting list's watcher: its share of the rate limit (`bot/workflows/waitlist.py`).
    waitlist: WatchState = field(default_factory=WatchState)
    # The Altegio client of another location (of the same partner, behind the same rate
    # limit), for what is kept of it: None when the bot knows only its own.
    locations: Locations | None = None
    # This process among the replicas of a bot on PostgreSQL (`bot/leases.py`): who claimed a
    # reminder, who leads the periodic work. None for a bot of one process (SQLite).
    replica: Replica | None = None

    def at(self, company_id: int) -> Services:
        """These services with the Altegio client of `company_id` (an appointment's own
        location, or a chain's location a client chose); 0 (unknown) is the bot's own."""
        wanted = company_id or self.settings.altegio_company_id or self.altegio.company_id
        if wanted == self.altegio.company_id or self.locations is None:
            return self
        return replace(self, altegio=self.locations.client(wanted))

    @property
    def reminder_policy(self) -> ReminderPolicy:
        return ReminderPolicy(self.settings.reminder_offsets, self.settings.quiet_hours)


class Alerts(Protocol):
    """The salon's admin chat, as the core sees it (the application carries it)."""

    async def tell_admin(self, text: str, company: Company | None = None) -> bool:
        """A note to the salon's admin chat; whether it reached one. `company`: the location
        it is about, named in a chain."""
        ...

    async def salon_notice(self, text: str, company: Company | None = None) -> None:
        """A notice of what a client did through the bot (a booking, a move, a cancel) to every
        admin chat that has notices on; `company`: its location, named in a chain."""
        ...

    async def storage_trouble(self, cause: str) -> None:
        """Tell the salon (once a trouble) that the database cannot be written."""
        ...

    async def storage_recovered(self) -> None:
        """Tell the salon the database can be written again, once nothing waits."""
        ...


async def keep(services: Services, alerts: Alerts, what: str, write: Callable[[], None]) -> None:
    """Write what Altegio has already done (a booking, a move, a cancel) to the database; a busy
    database keeps it for later and the salon is told, but the client's outcome stands."""
    if not services.pending.run(what, write):
        await alerts.storage_trouble("database is busy")
