"""Shared fixtures: an injected clock, the sandbox location, and a bot driven through the stub."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.app import OFFLINE_TOKEN, build_application, build_services
from bot.context import BotApplication
from bot.services import Services
from bot.settings import Settings
from bot.storage import Storage
from standins.altegio.sandbox import Sandbox
from standins.altegio.seed import SANDBOX_COMPANY_ID
from standins.telegram.bot_api import BotApiStub
from standins.telegram.users import StubUser

# A throw-away PostgreSQL: `pg_cluster` for the session, `pg_dsn` a fresh database per test.
from tests.pg_cluster import pg_cluster, pg_dsn  # noqa: F401

BERLIN = ZoneInfo("Europe/Berlin")
# A Tuesday morning in the sandbox salon's timezone.
START = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)


async def never(_seconds: float) -> None:
    """A wait that never ends (no real time passes in tests)."""
    await asyncio.Event().wait()


@dataclass
class FakeClock:
    """Wall time and monotonic time that move only when told to, or when code sleeps."""

    current: datetime = START
    slept: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return (self.current - START).total_seconds()

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=max(seconds, 0))

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Sandbox:
    return Sandbox(clock.now)


@dataclass
class Bot:
    """One running bot: restart it to see what survives."""

    clock: FakeClock
    sandbox: Sandbox
    db_path: Path
    stub: BotApiStub
    company_id: int = SANDBOX_COMPANY_ID
    transport: httpx.AsyncBaseTransport | None = None
    app: BotApplication | None = None
    services: Services | None = None
    users: dict[int, StubUser] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    slow_sleep: Callable[[float], Awaitable[None]] | None = None
    database_url: str = ""  # PostgreSQL instead of the SQLite file at `db_path`
    schema: str = "altegio_bot"
    altegio_options: dict[str, Any] = field(default_factory=dict)  # e.g. its own `limiter`

    def open_storage(self) -> Storage:
        if self.database_url:
            return Storage.open_url(self.database_url, self.schema)
        return Storage.open(self.db_path)

    async def start(self) -> BotApplication:
        env = {"ALTEGIO_COMPANY_ID": str(self.company_id), **self.env}
        settings = Settings.load(env=env, env_file=Path("/nonexistent"))
        self.services = build_services(
            settings,
            altegio_transport=self.transport
            if self.transport is not None
            else self.sandbox.transport(),
            storage=self.open_storage(),
            clock=self.clock.now,
            sleep=self.clock.sleep,
            monotonic=self.clock.monotonic,
            jitter=lambda: 0.5,
            **self.altegio_options,
        )
        self.app = build_application(
            self.services,
            token=OFFLINE_TOKEN,
            request=self.stub,
            reminder_interval=None,
            telegram_rate_limit=False,
            # (Through the update processor, the typing notice's wait on the fake clock
            # would come back at once, for ever: none unless asked for.)
            slow_sleep=self.slow_sleep or (never if self.database_url else self.clock.sleep),
        )
        await self.app.initialize()
        await self.app.start()
        self.users = {}
        return self.app

    async def stop(self, graceful: bool = True) -> None:
        """Stop the bot; `graceful=False` drops it without shutting down, like a crash."""
        if self.app is None or self.services is None:
            return
        if graceful:
            await self.app.stop()
            await self.app.shutdown()
        else:
            await self.app.stop()
            await self.services.altegio.aclose()
            # Its connections die with it (with replicas, its chats' turns are let go).
            await self.app.update_processor.shutdown()
        if self.services.replica is not None:
            self.services.replica.close()  # a crash: its connection gone with the process
        self.services.storage.close()
        self.app = None

    async def restart(self, graceful: bool = True) -> None:
        await self.stop(graceful)
        await self.start()

    async def settle(self, minutes: float = 3) -> None:
        """Let the bot look at unanswered bookings until they are settled, as the JobQueue's
        tick does every ten seconds."""
        from conversations.late_answers import resolve_attempts

        assert self.app is not None
        for _ in range(int(minutes * 60 / 10)):
            self.clock.advance(seconds=10)
            await resolve_attempts(self.app)

    def user(self, user_id: int = 100001, **kwargs: Any) -> StubUser:
        assert self.app is not None
        found = self.users.get(user_id)
        if found is None:
            kwargs.setdefault("first_name", "Anna")
            kwargs.setdefault("last_name", "Schmidt")
            # On PostgreSQL the bot is ready for replicas: an update's state is written as its
            # chat's turn ends, in the update processor, which every update goes through.
            kwargs.setdefault("through_processor", bool(self.database_url))
            found = StubUser(self.stub, self.app, user_id=user_id, **kwargs)
            self.users[user_id] = found
        return found


ENGINES = ("sqlite", "postgres")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module with `BOTH_ENGINES = True` runs each of its tests that starts a bot twice: its
    bots on a SQLite file, then on PostgreSQL."""
    chosen = any(m.args and m.args[0] == "engine" for m in metafunc.definition.iter_markers())
    wanted = getattr(metafunc.module, "BOTH_ENGINES", False)
    if wanted and not chosen and "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", ENGINES, indirect=True)


# A test of what only a SQLite file has (its lock, its backup): on SQLite whatever TEST_ENGINE.
sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
postgres_only = pytest.mark.parametrize("engine", ["postgres"], indirect=True)


@contextlib.contextmanager
def postgres_out_of_reach(storage: Storage) -> Iterator[None]:
    """PostgreSQL gone for this storage (its connection cut, and no new one made) until the
    block ends; then it connects again at its next statement."""
    import psycopg

    engine: Any = storage.sql
    url = engine.url
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    engine.url = url.split("?")[0] + "?host=/nonexistent&port=1"
    try:
        yield
    finally:
        engine.url = url
        engine.retry_now()  # (else the next statement would wait out the retry pause)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The storage engine the test's bots keep their data in: SQLite unless parametrized, or
    unless `TEST_ENGINE=postgres` runs every bot of the suite on PostgreSQL."""
    return str(getattr(request, "param", os.environ.get("TEST_ENGINE", "sqlite")))


@pytest.fixture
def database_url(engine: str, request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL database when the engine is PostgreSQL; "" for SQLite."""
    return str(request.getfixturevalue("pg_dsn")) if engine == "postgres" else ""


@pytest.fixture
async def make_bot(
    clock: FakeClock, sandbox: Sandbox, tmp_path: Path, database_url: str
) -> AsyncIterator[Callable[..., Any]]:
    bots: list[Bot] = []

    async def make(**options: Any) -> Bot:
        options.setdefault("database_url", database_url)
        # Each bot of a test keeps its own data (a schema each), as each has its own file.
        options.setdefault("schema", f"altegio_bot_{len(bots)}")
        bot = Bot(
            clock,
            sandbox,
            tmp_path / f"bot{len(bots)}.sqlite3",
            BotApiStub(clock=clock.now),
            **options,
        )
        await bot.start()
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        await bot.stop()


@pytest.fixture
async def bot(make_bot: Callable[..., Any]) -> Bot:
    made: Bot = await make_bot()
    return made


class Recording(httpx.AsyncBaseTransport):
    """The sandbox, with every request kept so a test can count what reached Altegio."""

    def __init__(self) -> None:
        self.bot: Bot | None = None
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.bot is not None
        self.seen.append(request)
        await request.aread()
        return self.bot.sandbox.handle(request)


@pytest.fixture
async def recorded(make_bot: Callable[..., Any]) -> tuple[Bot, Recording]:
    wire = Recording()
    wire.bot = await make_bot(transport=wire)
    return wire.bot, wire
