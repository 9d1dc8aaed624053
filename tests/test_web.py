"""The HTTP side: the webhook with and without its secret, /healthz, /metrics, and the stop a
SIGTERM runs, over a real local socket."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from telegram import Update

from bot.settings import Settings, SettingsError
from bot.web import SECRET_HEADER, WebServer, stop_gracefully
from standins.telegram.users import StubUser
from tests.conftest import Bot, FakeClock, postgres_only, postgres_out_of_reach, sqlite_only
from tests.test_real_answers import PHONE, book

SECRET = "s3cret_-token"
PATH = "/tg/5f0c2d9e7a"


async def never(_seconds: float) -> None:
    """The "still working" notice never comes: no real time passes in tests."""
    await asyncio.Event().wait()


@pytest.fixture
async def bot(make_bot: Callable[..., Any]) -> Bot:
    made: Bot = await make_bot(slow_sleep=never)
    return made


@pytest.fixture
async def served(bot: Bot) -> AsyncIterator[tuple[WebServer, httpx.AsyncClient]]:
    assert bot.app is not None
    server = WebServer(bot.app, path=PATH, secret=SECRET, tick_interval=10.0)
    port = await server.start("127.0.0.1", 0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        yield server, client
    await server.stop()


def start_update(user: StubUser, update_id: int) -> dict[str, Any]:
    """`/start` as Telegram would post it (the stand-in notes that the user wrote)."""
    return {**user.message_update("/start"), "update_id": update_id}


async def until(done: Callable[[], bool]) -> None:
    """Let the event loop run until `done` (never sleeping for real)."""
    for _ in range(10_000):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError("never happened")


async def test_a_webhook_update_needs_the_secret(
    bot: Bot, served: tuple[WebServer, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    _, client = served
    user = bot.user()
    refused = await client.post(PATH, json=start_update(user, 1))
    wrong = await client.post(PATH, json=start_update(user, 2), headers={SECRET_HEADER: "nope"})
    assert (refused.status_code, wrong.status_code) == (403, 403)
    assert user.bot_texts == []
    assert "/start" not in caplog.text and "nope" not in caplog.text
    assert "update refused" in caplog.text
    taken = await client.post(PATH, json=start_update(user, 3), headers={SECRET_HEADER: SECRET})
    assert taken.status_code == 200
    await until(lambda: any("Studio Aurora" in t for t in user.bot_texts))
    # Any other path is not the webhook.
    elsewhere = await client.post("/", json=start_update(user, 4), headers={SECRET_HEADER: SECRET})
    assert elsewhere.status_code in (404, 405)


async def test_a_webhook_body_that_is_no_update_is_refused(
    bot: Bot, served: tuple[WebServer, httpx.AsyncClient]
) -> None:
    _, client = served
    headers = {SECRET_HEADER: SECRET}
    for body in ("[1]", "7", '"text"', "{not json"):
        answer = await client.post(PATH, content=body, headers=headers)
        assert answer.status_code == 400, body


async def test_a_long_tick_under_way_is_alive_and_a_stopped_poll_is_not(
    bot: Bot, clock: FakeClock, served: tuple[WebServer, httpx.AsyncClient]
) -> None:
    from bot.web import health

    assert bot.app is not None and bot.services is not None
    heartbeat = bot.services.heartbeat
    heartbeat.tick(clock.now())  # a tick begins, then waits on Altegio for minutes
    clock.advance(minutes=5)
    assert health(bot.app, 10.0)[0]
    clock.advance(minutes=6)  # stuck for longer than any wait: no longer alive
    assert health(bot.app, 10.0)[1]["reasons"] == ["reminders: tick not run recently"]
    heartbeat.tick_done(clock.now())
    assert health(bot.app, 10.0)[0]
    # Polling that stopped (another instance took the updates, say) is no health.
    healthy, body = health(bot.app, 10.0, polling=True)
    assert not healthy and body["reasons"] == ["updates: polling stopped"]


@sqlite_only
async def test_healthz_is_ok_then_503_when_the_database_cannot_be_written(
    bot: Bot, served: tuple[WebServer, httpx.AsyncClient]
) -> None:
    _, client = served
    ok = await client.get("/healthz")
    assert ok.status_code == 200 and ok.json() == {"status": "ok", "altegio": "ok"}
    blocker = sqlite3.connect(bot.db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        busy = await client.get("/healthz")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert busy.status_code == 503
    assert busy.json()["status"] == "unhealthy"
    assert busy.json()["reasons"] == ["database: cannot be written"]
    assert (await client.get("/healthz")).status_code == 200


async def test_healthz_is_503_when_the_reminder_tick_is_stale(
    bot: Bot, clock: FakeClock, served: tuple[WebServer, httpx.AsyncClient]
) -> None:
    from bot.context import Context
    from conversations.reminders import tick

    assert bot.app is not None
    _, client = served
    clock.advance(seconds=50)
    assert (await client.get("/healthz")).status_code == 200
    clock.advance(seconds=20)
    stale = await client.get("/healthz")
    assert stale.status_code == 503
    assert stale.json()["reasons"] == ["reminders: tick not run recently"]
    await tick(Context(bot.app))
    assert (await client.get("/healthz")).status_code == 200


async def test_altegio_down_is_said_but_is_no_503(
    bot: Bot, served: tuple[WebServer, httpx.AsyncClient]
) -> None:
    _, client = served
    bot.sandbox.fault("GET", "company", status=503, times=None)
    user = bot.user()
    await user.send("/book")
    answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "altegio": "unavailable"}


async def test_metrics_after_a_booking(
    bot: Bot, served: tuple[WebServer, httpx.AsyncClient]
) -> None:
    _, client = served
    user = bot.user(through_processor=True)
    await book(user)
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    text = answer.text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in (
        "bot_updates_handled",
        "bot_update_handling_seconds",
        "bot_altegio_requests",
        "bot_altegio_limiter_queue",
        "bot_altegio_limiter_wait_seconds",
        "bot_bookings",
        "bot_reminders",
        "bot_altegio_breaker_open",
    ):
        assert name in families, name

    def value(family: str, sample: str, **labels: str) -> float:
        return sum(
            s.value
            for s in families[family].samples
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
        )

    assert value("bot_bookings", "bot_bookings_total", outcome="booked") == 1
    assert value("bot_updates_handled", "bot_updates_handled_total") >= 8
    assert value("bot_altegio_requests", "bot_altegio_requests_total", endpoint="book_record") == 1
    endpoints = {s.labels["endpoint"] for s in families["bot_altegio_requests"].samples}
    assert endpoints <= {
        "company",
        "privacy_policy",
        "book_services",
        "book_staff",
        "book_staff_seances",
        "book_dates",
        "book_times",
        "book_code",
        "book_check",
        "book_record",
        "book_record.get",
        "book_record.put",
        "user/records",
        "user/records.delete",
        "user/auth",
    }
    assert bot.services is not None
    stored = bot.services.storage.bookings_for_chat(user.chat_id)
    assert stored
    for secret in (PHONE, "15123456789", stored[0].record_hash, str(stored[0].record_id)):
        assert secret not in text
    assert "sandbox-partner-token" not in text


class Gate(httpx.AsyncBaseTransport):
    """The sandbox, with one request of a route held until released."""

    def __init__(self, bot_ref: list[Bot], route: str) -> None:
        self.bot_ref = bot_ref
        self.route = route
        self.armed = False
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        if self.armed and f"/v1/{self.route}" in request.url.path:
            self.armed = False
            self.entered.set()
            await self.release.wait()
        return self.bot_ref[0].sandbox.handle(request)


class QueuedUser(StubUser):
    """A client whose updates arrive as the webhook and polling deliver them: on the queue."""

    async def _process(self, update: dict[str, Any]) -> None:
        await self.app.update_queue.put(Update.de_json(update, self.app.bot))


async def test_a_stop_mid_booking_finishes_the_update_writes_the_state_and_resumes(
    make_bot: Callable[..., Any],
) -> None:
    """The stop SIGTERM runs (`stop_gracefully`), in process: an update under way (its free
    times still being read from Altegio) is finished, the conversation written, and after a
    restart the client carries on where they were."""
    ref: list[Bot] = []
    gate = Gate(ref, "book_times")
    bot: Bot = await make_bot(transport=gate, slow_sleep=never)
    ref.append(bot)
    assert bot.app is not None and bot.services is not None
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap("Any available team member")
    gate.armed = True
    queued = QueuedUser(bot.stub, bot.app, user_id=user.user_id, first_name="Anna")
    await queued.send("Friday")
    await gate.entered.wait()  # the update is under way, waiting for Altegio
    stopping = asyncio.create_task(stop_gracefully(bot.app, None))
    await asyncio.sleep(0)
    assert not stopping.done()
    gate.release.set()
    await stopping
    assert not bot.app.running
    assert "Free times on" in user.last.text, user.screen()
    bot.services.storage.close()
    bot.app = None
    await bot.start()
    user = bot.user()
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text, user.screen()


async def test_a_slow_update_is_given_up_after_the_grace(make_bot: Callable[..., Any]) -> None:
    ref: list[Bot] = []
    gate = Gate(ref, "book_times")
    bot: Bot = await make_bot(transport=gate, slow_sleep=never)
    ref.append(bot)
    assert bot.app is not None
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap("Any available team member")
    gate.armed = True
    queued = QueuedUser(bot.stub, bot.app, user_id=user.user_id, first_name="Anna")
    await queued.send("Friday")
    await gate.entered.wait()
    await stop_gracefully(bot.app, None, grace=0)  # never released: given up at once
    assert not bot.app.running
    assert bot.services is not None
    bot.services.storage.close()
    bot.app = None


def test_webhook_settings_are_checked() -> None:
    def load(**env: str) -> Settings:
        return Settings.load(env=env, env_file=Path("/nonexistent"))

    assert load().webhook_url is None
    assert load().webhook_listen == ("0.0.0.0", 8080)
    good = load(WEBHOOK_URL="https://bot.example.com/tg/abc", WEBHOOK_SECRET=SECRET)
    assert good.webhook_url == "https://bot.example.com/tg/abc"
    assert good.webhook_secret == SECRET
    assert load(WEBHOOK_LISTEN="127.0.0.1:9000").webhook_listen == ("127.0.0.1", 9000)
    for env in (
        {"WEBHOOK_URL": "http://bot.example.com/tg", "WEBHOOK_SECRET": SECRET},
        {"WEBHOOK_URL": "https://bot.example.com/tg"},
        {"WEBHOOK_URL": "https://bot.example.com/tg", "WEBHOOK_SECRET": "has space"},
        {"WEBHOOK_URL": "https://bot.example.com/tg", "WEBHOOK_SECRET": "x" * 257},
        {"WEBHOOK_URL": "https://bot.example.com/healthz", "WEBHOOK_SECRET": SECRET},
        {"WEBHOOK_LISTEN": "8080"},
        {"WEBHOOK_LISTEN": "0.0.0.0:99999"},
    ):
        with pytest.raises(SettingsError):
            load(**env)


@postgres_only
async def test_healthz_is_503_while_postgresql_is_out_of_reach(
    bot: Bot, served: tuple[WebServer, httpx.AsyncClient]
) -> None:
    _, client = served
    assert (await client.get("/healthz")).status_code == 200
    assert bot.services is not None
    with postgres_out_of_reach(bot.services.storage):
        down = await client.get("/healthz")
    assert down.status_code == 503
    assert down.json()["reasons"] == ["database: cannot be written"]
    assert (await client.get("/healthz")).status_code == 200


@pytest.mark.parametrize("engine", ["sqlite", "postgres"], indirect=True)
async def test_an_update_telegram_sends_again_is_handled_once(
    bot: Bot, served: tuple[WebServer, httpx.AsyncClient]
) -> None:
    """Telegram sends an update again when its answer came late (or, behind a load balancer,
    to another replica): the bot answers it once."""
    _, client = served
    user = bot.user()
    headers = {SECRET_HEADER: SECRET}
    for _ in range(3):
        answer = await client.post(PATH, json=start_update(user, 41), headers=headers)
        assert answer.status_code == 200
    await client.post(PATH, json=start_update(user, 42), headers=headers)
    await until(lambda: sum("Studio Aurora" in t for t in user.bot_texts) >= 2)
    for _ in range(50):
        await asyncio.sleep(0)
    assert sum("Studio Aurora" in t for t in user.bot_texts) == 2
