"""Many bots in one process (`BOT_TENANTS_FILE`): one `Services` and one `BotApplication` per
tenant, their Altegio calls behind one rate limiter, one HTTP server for them all.

What is kept apart: each tenant's database (its own SQLite file, bound to its location or
chain), conversations, updates, reminders, flood and code guards, circuit breaker and metrics.
What is shared: the process, the HTTP server on `WEBHOOK_LISTEN` (each tenant's Telegram webhook
on its own path with its own secret, each tenant's Altegio webhooks on their own derived path)
and the Altegio rate limiter, as Altegio counts requests per IP address, not per partner token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample

from bot import update_inbox
from bot.altegio.limiter import Limiter
from bot.app import build_application, build_services
from bot.context import BotApplication
from bot.services import Services
from bot.settings import Settings
from bot.tenants import Tenant
from bot.web import (
    STOP_GRACE,
    Listener,
    bot_server,
    health,
    start_bot,
    stop_gracefully,
    take_updates,
)

log = logging.getLogger(__name__)


def limiter_for(limiter: Limiter, tenant: str) -> Limiter:
    """What tenant `tenant`'s Altegio clients wait at: its own view of the one limiter of the
    egress address, so that a busy tenant cannot starve the others (tenants take turns within
    a priority, `bot/altegio/turns.py`); the view's queue and waits are the tenant's own, and
    so are its limiter series in /metrics."""
    return limiter.for_tenant(tenant)


@dataclass
class Member:
    """One tenant's bot, built but not started."""

    name: str
    services: Services
    application: BotApplication


def build_member(
    tenant: Tenant,
    limiter: Limiter,
    *,
    altegio_transport: httpx.AsyncBaseTransport | None = None,
    application_options: dict[str, Any] | None = None,
    **options: Any,
) -> Member:
    """Tenant `tenant`'s services and application, its Altegio calls at the shared limiter."""
    services = build_services(
        tenant.settings,
        altegio_transport=altegio_transport,
        limiter=limiter_for(limiter, tenant.name),
        **options,  # build_services' own (storage, clock) and the Altegio clients'
    )
    built = dict(application_options or {})
    built.setdefault("token", tenant.settings.require_telegram_token())
    return Member(tenant.name, services, build_application(services, **built))


def build_fleet(
    tenants: Sequence[Tenant],
    limiter: Limiter,
    altegio_transport: Callable[[Settings], httpx.AsyncBaseTransport | None],
) -> list[Member]:
    """Every tenant's bot (for `run`), sharing `limiter`; a database refused closes those
    already opened."""
    members: list[Member] = []
    try:
        for tenant in tenants:
            transport = altegio_transport(tenant.settings)
            members.append(build_member(tenant, limiter, altegio_transport=transport))
    except BaseException:
        for member in members:
            member.services.storage.close()
        raise
    return members


class FleetMetrics:
    """A Prometheus collector of every tenant's series, each with a `tenant` label (the
    limiter's too: each tenant's queue and waits at its own view of the shared limiter)."""

    def __init__(self, members: Sequence[Member]) -> None:
        self._members = members
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for member in self._members:
            for family in member.services.metrics.registry.collect():
                merged = families.get(family.name)
                if merged is None:
                    merged = Metric(family.name, family.documentation, family.type, family.unit)
                    families[family.name] = merged
                merged.samples.extend(
                    Sample(sample.name, {"tenant": member.name, **sample.labels}, *sample[2:])
                    for sample in family.samples
                )
        yield from families.values()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class FleetServer(Listener):
    """One HTTP server for every tenant: each tenant's webhook paths, `/healthz` naming every
    tenant (503 when any is unhealthy) and `/metrics` with a `tenant` label."""

    def __init__(
        self,
        members: Sequence[Member],
        limiter: Limiter,
        *,
        tick_interval: float | None = 10.0,
    ) -> None:
        super().__init__()
        self._members = members
        self._tick_interval = tick_interval
        self.metrics = FleetMetrics(members)
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/metrics", self._metrics)
        self._polling: dict[str, bool] = {}
        for member in members:
            own = bot_server(member.application, tick_interval)
            self._polling[member.name] = not member.services.settings.webhook_url
            for path, handler in own.routes:
                self.app.router.add_post(path, handler)

    def health(self) -> tuple[bool, dict[str, object]]:
        tenants: dict[str, object] = {}
        healthy = True
        for member in self._members:
            application = member.application
            polling = self._polling[member.name] and application.updater is not None
            fine, body = health(application, self._tick_interval, polling=polling)
            healthy = healthy and fine
            tenants[member.name] = body
        return healthy, {"status": "ok" if healthy else "unhealthy", "tenants": tenants}

    async def _healthz(self, request: web.Request) -> web.Response:
        healthy, body = self.health()
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )


async def serve_fleet(
    members: Sequence[Member],
    limiter: Limiter,
    stop: asyncio.Event,
    listen: tuple[str, int],
    *,
    tick_interval: float | None = 10.0,
    grace: float = STOP_GRACE,
) -> None:
    """Run every tenant's bot until `stop` is set, then stop them all gracefully (at once,
    each within `grace`)."""
    server = FleetServer(members, limiter, tick_interval=tick_interval)
    webhooks = any(m.services.settings.webhook_url for m in members)
    try:
        for member in members:
            await start_bot(member.application)
        host, port = listen
        try:
            await server.start(host, port)
            log.info("serving %d bots' /healthz and /metrics on %s:%s", len(members), host, port)
        except OSError as exc:
            if webhooks:
                raise
            log.warning(
                "/healthz and /metrics not served: cannot listen on %s:%s (%s)", *listen, exc
            )
        for member in members:
            await take_updates(member.application)
            await update_inbox.take_back(member.application, at_start=True)
            log.info("tenant %s: taking updates", member.name)
        await stop.wait()
    finally:
        await server.stop()
        # Also when a start failed half way: those not started are shut down all the same.
        await asyncio.gather(*(stop_gracefully(m.application, None, grace) for m in members))
