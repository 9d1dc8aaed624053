"""Two salons in one process: a location (1001) and a chain (100), each its own bot, database
and clients, their Altegio calls drawn from one rate limiter; one HTTP server routing each
tenant's webhook to its own bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.altegio.limiter import ALTEGIO_LIMITS, RateLimiter, TenantLimiter
from bot.fleet import FleetServer, Member, build_member
from bot.tenants import read_tenants
from bot.web import SECRET_HEADER
from standins.altegio.sandbox import Sandbox
from standins.telegram.bot_api import BotApiStub
from standins.telegram.users import StubUser
from tests.conftest import FakeClock
from tests.test_real_answers import PHONE, to_summary, to_time
from tests.test_tenants import NO_ENV_FILE, TOKEN_A, TOKEN_B, TWO
from tests.test_web import start_update, until

HOOKS = """
webhook_url = "https://bots.example/tg/{name}-7f3a9c"
webhook_secret = "secret-{name}"
"""


class Wire(httpx.AsyncBaseTransport):
    """The sandbox, with the moment and location of every request kept."""

    def __init__(self, sandbox: Sandbox, clock: FakeClock) -> None:
        self.sandbox = sandbox
        self.clock = clock
        self.seen: list[tuple[float, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((self.clock.monotonic(), request.url.path))
        await request.aread()
        return self.sandbox.handle(request)


@dataclass
class Fleet:
    members: dict[str, Member]
    stubs: dict[str, BotApiStub]
    limiter: RateLimiter
    wire: Wire

    def user(self, tenant: str, user_id: int, **kwargs: Any) -> StubUser:
        kwargs.setdefault("first_name", "Anna")
        kwargs.setdefault("last_name", "Schmidt")
        member = self.members[tenant]
        return StubUser(self.stubs[tenant], member.application, user_id=user_id, **kwargs)


async def start_fleet(
    tmp_path: Path, clock: FakeClock, sandbox: Sandbox, text: str = TWO
) -> AsyncIterator[Fleet]:
    path = tmp_path / "tenants.toml"
    path.write_text(text, encoding="utf-8")
    tenants = read_tenants(path, {}, NO_ENV_FILE)
    limiter = RateLimiter(monotonic=clock.monotonic, sleep=clock.sleep)
    wire = Wire(sandbox, clock)
    fleet = Fleet({}, {}, limiter, wire)
    for tenant in tenants:
        stub = BotApiStub(clock=clock.now)
        member = build_member(
            tenant,
            limiter,
            altegio_transport=wire,
            application_options={
                "request": stub,
                "reminder_interval": None,
                "telegram_rate_limit": False,
                "slow_sleep": never,
            },
            clock=clock.now,
            sleep=clock.sleep,
            monotonic=clock.monotonic,
            jitter=lambda: 0.5,
        )
        fleet.members[tenant.name], fleet.stubs[tenant.name] = member, stub
        await member.application.initialize()
        await member.application.start()
    yield fleet
    for member in fleet.members.values():
        if member.application.running:
            await member.application.stop()
        await member.application.shutdown()
        member.services.storage.close()


async def never(_seconds: float) -> None:
    await asyncio.Event().wait()


@pytest.fixture
async def fleet(tmp_path: Path, clock: FakeClock, sandbox: Sandbox) -> AsyncIterator[Fleet]:
    async for made in start_fleet(tmp_path, clock, sandbox):
        yield made


async def choose_aurora(user: StubUser) -> None:
    await user.send("/start")
    assert "Which of our locations" in user.last.text, user.screen()
    await user.tap("Studio Aurora")


async def test_each_client_books_at_their_own_salon_and_sees_nothing_of_the_other(
    fleet: Fleet, sandbox: Sandbox
) -> None:
    single, chain = fleet.members["aurora"], fleet.members["chain-100"]
    assert single.services.settings.db_path != chain.services.settings.db_path
    anna = fleet.user("aurora", 100001)
    await to_summary(anna, day="Friday")
    await anna.tap("✅ Confirm")
    assert "You are booked" in anna.last.text, anna.screen()
    # At the chain's bot, another client chooses a location first, then books.
    olga = fleet.user("chain-100", 100002, first_name="Olga")
    await choose_aurora(olga)
    await to_summary(olga, day="Thursday")
    await olga.tap("✅ Confirm")
    assert "You are booked" in olga.last.text, olga.screen()
    assert len([r for r in sandbox.records(1001) if r["phone"] == PHONE]) == 2
    # Each bot keeps its own client's booking, and only that.
    assert len(single.services.storage.bookings_for_chat(anna.chat_id)) == 1
    assert single.services.storage.bookings_for_chat(olga.chat_id) == []
    assert len(chain.services.storage.bookings_for_chat(olga.chat_id)) == 1
    assert chain.services.storage.bookings_for_chat(anna.chat_id) == []
    # Anna, talking to the chain's bot, is a stranger there: her booking at the other bot
    # unknown, her phone number not remembered.
    stranger = fleet.user("chain-100", 100001)
    await stranger.send("/appointments")
    assert "You have no upcoming appointments" in stranger.last.text, stranger.screen()
    assert "Anna Weber" not in stranger.screen()
    assert chain.services.storage.contact(anna.chat_id) is None


async def test_both_tenants_wait_at_one_limiter_and_keep_within_altegio_s_limits(
    fleet: Fleet,
) -> None:
    # Each tenant waits at its own view of the one limiter of the address.
    views = {name: m.services.altegio.limiter for name, m in fleet.members.items()}
    for name, view in views.items():
        assert isinstance(view, TenantLimiter) and view.tenant == name
        assert view is fleet.limiter.for_tenant(name)

    async def at_aurora(user_id: int) -> None:
        await to_time(fleet.user("aurora", user_id))

    async def at_chain(user_id: int) -> None:
        user = fleet.user("chain-100", user_id)
        await choose_aurora(user)
        await to_time(user)

    await asyncio.gather(
        *(at_aurora(200000 + n) for n in range(6)), *(at_chain(300000 + n) for n in range(6))
    )
    times = sorted(at for at, _ in fleet.wire.seen)
    assert len(times) > 20 and times[-1] - times[0] > 3  # the limiter made them wait
    for count, window in ALTEGIO_LIMITS:
        for n, start in enumerate(times):
            within = sum(1 for t in times[n:] if t - start < window - 0.1)
            assert within <= count, (count, window, start)
    assert fleet.limiter.waiting == 0


@pytest.fixture
async def hooked(tmp_path: Path, clock: FakeClock, sandbox: Sandbox) -> AsyncIterator[Fleet]:
    """Both tenants in webhook mode, each its own path and secret."""
    text = TWO.replace("company_id = 1001", "company_id = 1001" + HOOKS.format(name="aurora"))
    text = text.replace("group_id = 100", "group_id = 100" + HOOKS.format(name="chain"))
    async for made in start_fleet(tmp_path, clock, sandbox, text):
        yield made


async def test_one_server_routes_each_tenant_s_webhook_to_its_bot(hooked: Fleet) -> None:
    fleet = hooked
    server = FleetServer(list(fleet.members.values()), fleet.limiter, tick_interval=None)
    port = await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            anna = fleet.user("aurora", 100001)
            olga = fleet.user("chain-100", 100002)
            # A's secret at B's path is refused, and the other way round.
            wrong = await client.post(
                "/tg/chain-7f3a9c",
                json=start_update(olga, 1),
                headers={SECRET_HEADER: "secret-aurora"},
            )
            assert wrong.status_code == 403
            for user, path, secret in (
                (anna, "/tg/aurora-7f3a9c", "secret-aurora"),
                (olga, "/tg/chain-7f3a9c", "secret-chain"),
            ):
                taken = await client.post(
                    path, json=start_update(user, 2), headers={SECRET_HEADER: secret}
                )
                assert taken.status_code == 200
            await until(lambda: any("Studio Aurora" in t for t in anna.bot_texts))
            await until(lambda: any("Which of our locations" in t for t in olga.bot_texts))
            assert not any("Which of our locations" in t for t in anna.bot_texts)
            health = await client.get("/healthz")
            assert health.status_code == 200
            body = health.json()
            assert body["status"] == "ok"
            assert set(body["tenants"]) == {"aurora", "chain-100"}
            assert body["tenants"]["aurora"]["status"] == "ok"
            scraped = (await client.get("/metrics")).text
    finally:
        await server.stop()
    updates = {
        sample.labels["tenant"]: sample.value
        for family in text_string_to_metric_families(scraped)
        if family.name == "bot_updates_handled"
        for sample in family.samples
        if sample.name == "bot_updates_handled_total"
    }
    assert updates == {"aurora": 1.0, "chain-100": 1.0}
    queue = [
        family
        for family in text_string_to_metric_families(scraped)
        if family.name == "bot_altegio_limiter_queue"
    ]
    # Each tenant's own queue at its view of the one limiter.
    assert len(queue) == 1
    assert sorted(s.labels["tenant"] for s in queue[0].samples) == ["aurora", "chain-100"]
    for secret in (TOKEN_A, TOKEN_B, "secret-aurora"):
        assert secret not in scraped


async def test_healthz_names_the_tenant_that_cannot_serve(hooked: Fleet) -> None:
    fleet = hooked
    server = FleetServer(list(fleet.members.values()), fleet.limiter, tick_interval=None)
    healthy, body = server.health()
    assert healthy and body["status"] == "ok"
    await fleet.members["chain-100"].application.stop()
    healthy, body = server.health()
    assert not healthy and body["status"] == "unhealthy"
    tenants = body["tenants"]
    assert isinstance(tenants, dict)
    assert tenants["aurora"]["status"] == "ok"
    assert tenants["chain-100"]["reasons"] == ["updates: not running"]
