"""The commands over a tenants file (`BOT_TENANTS_FILE`): `run` serves every tenant in one
process, `doctor` checks each under its name. The stand-ins come in through the caller's
`altegio_transport`, as the core never imports them."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from telegram.request import BaseRequest

from bot.altegio.shared_limiter import SharedLimiter, make_limiter
from bot.chain import settle_home
from bot.doctor import check_bot, check_settings
from bot.doctor_marks import Check, fail, ok
from bot.fleet import build_fleet, serve_fleet
from bot.settings import Settings, SettingsError
from bot.tenants import Tenant, in_keys, read_tenants

log = logging.getLogger("bot")

Transport = Callable[[Settings], httpx.AsyncBaseTransport | None]


def load(settings: Settings, env: Mapping[str, str] | None = None) -> list[Tenant]:
    """The tenants of `settings.tenants_file`, over the environment `settings` were read from."""
    if settings.tenants_file is None:
        raise SettingsError("BOT_TENANTS_FILE is not set")
    return read_tenants(settings.tenants_file, env, data_dir=settings.data_dir)


async def settle(tenants: Sequence[Tenant], transport: Transport, **options: Any) -> list[Tenant]:
    """Each chain tenant with its home location known (`bot.chain.settle_home`)."""
    settled = []
    for tenant in tenants:
        found = await settle_home(tenant.settings, transport(tenant.settings), **options)
        settled.append(Tenant(tenant.name, found))
    return settled


def run(settings: Settings, tenants: Sequence[Tenant], transport: Transport) -> int:
    """Every tenant's bot in this process until SIGTERM or SIGINT, which stops them all."""
    # One address, one budget: every tenant's calls wait here (and, with DATABASE_URL, every
    # replica's).
    database_url = settings.database_url or next(
        (t.settings.database_url for t in tenants if t.settings.database_url), None
    )
    limiter = make_limiter(database_url, egress=settings.altegio_egress, replicas=settings.replicas)

    async def until_stopped() -> None:
        settled = await settle(tenants, transport, limiter=limiter)
        members = build_fleet(settled, limiter, transport)
        try:
            for member in members:
                s = member.services.settings
                log.info(
                    "tenant %s: Altegio location %s%s%s, database %s, %s",
                    member.name,
                    s.altegio_company_id,
                    f" of chain {s.altegio_group_id}" if s.altegio_group_id else "",
                    " (the embedded sandbox: nothing is booked in a real salon)"
                    if s.sandbox
                    else "",
                    f"PostgreSQL schema {s.database_schema}" if s.database_url else s.db_path,
                    "webhook" if s.webhook_url else "long polling",
                )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            await serve_fleet(members, limiter, stop, settings.webhook_listen)
        finally:
            for member in members:
                member.services.storage.close()
            if isinstance(limiter, SharedLimiter):
                await limiter.aclose()

    asyncio.run(until_stopped())
    return 0


async def diagnose(
    env: Mapping[str, str] | None = None,
    env_file: Path | None = None,
    *,
    telegram_request: BaseRequest | None = None,
    altegio_transport: Transport | None = None,
) -> list[tuple[str | None, list[Check]]]:
    """The environment's checks (unnamed), then each tenant's under its name; a file that
    cannot be read ends the report there."""
    settings, first = check_settings(env, env_file)
    if settings is None:
        return [(None, [first])]
    try:
        tenants = read_tenants(
            settings.tenants_file or Path(), env, env_file, data_dir=settings.data_dir
        )
    except SettingsError as exc:
        return [(None, [first, fail("Tenants file", str(exc))])]
    named = ", ".join(t.name for t in tenants)
    report: list[tuple[str | None, list[Check]]] = [
        (None, [first, ok("Tenants file", f"{len(tenants)} bots: {named}")])
    ]
    for tenant in tenants:
        checks = await check_bot(tenant.settings, telegram_request, altegio_transport)
        # Said in the file's words: `telegram_token`, not TELEGRAM_BOT_TOKEN.
        report.append((tenant.name, [replace(c, found=in_keys(c.found)) for c in checks]))
    return report
