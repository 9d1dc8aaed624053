"""Replicas of one bot on PostgreSQL, each ticking: every reminder, salon's change, unanswered
booking and digest told once, not once per replica, and a replica that dies mid-way leaves
nothing undone (another takes it over); a live one's slow work is never taken from it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import psycopg
import pytest

from bot.storage import Storage, StoredBooking
from conversations import reminders, salon_news
from conversations.late_answers import resolve_attempts
from conversations.reminders import send_due
from standins.altegio.seed import SANDBOX_COMPANY_ID
from tests.conftest import BERLIN, Bot
from tests.test_appointments import FRIDAY_10, book
from tests.test_real_answers import live, to_summary
from tests.test_salon_changes import HOOKS_ENV, MOVED, Yielding, booked, follow, hooked, said
from tests.test_salon_view import with_admin


@pytest.fixture
def engine() -> str:
    """Replicas share a PostgreSQL database: every bot here keeps its data there."""
    return "postgres"


HAIRCUT, ANNA = 10001, 2001


async def replica_of(first: Bot, tmp_path: Path, **options: Any) -> Bot:
    """Another process of the same bot: the same database and schema, Telegram and Altegio."""
    other = Bot(
        first.clock,
        first.sandbox,
        tmp_path / "replica.sqlite3",
        first.stub,
        database_url=first.database_url,
        schema=first.schema,
        **options,
    )
    await other.start()
    return other


@pytest.fixture
async def pair(make_bot: Callable[..., Any], tmp_path: Path) -> AsyncIterator[tuple[Bot, Bot]]:
    first: Bot = await make_bot()
    second = await replica_of(first, tmp_path)
    yield first, second
    await second.stop()


def plant(bot: Bot, count: int) -> list[int]:
    """`count` clients, each with an appointment the salon entered, its reminder due now; their
    chat ids."""
    assert bot.services is not None
    storage, now = bot.services.storage, bot.clock.now()
    first_day = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
    chats = []
    for i in range(count):
        chat_id = 300_000 + i
        bot.stub.open_private_chat(chat_id, {"first_name": f"Client {i}"}).started = True
        start = first_day + timedelta(days=i // 8, hours=i % 8)
        record_id = bot.sandbox.salon_book(
            SANDBOX_COMPANY_ID, f"+49151000{i:05d}", HAIRCUT, ANNA, start
        )
        row = next(r for r in bot.sandbox.records() if r["record_id"] == record_id)
        storage.record_booking(
            StoredBooking(
                record_id,
                SANDBOX_COMPANY_ID,
                str(row["hash"]),
                chat_id,
                chat_id,
                (HAIRCUT,),
                ANNA,
                row["start"],
                int(row["length"]),
                now,
                title="Women's haircut",
                staff_name="Anna Weber",
            )
        )
        storage.replace_reminders(record_id, chat_id, [("before", 60, now - timedelta(minutes=1))])
        chats.append(chat_id)
    return chats


def reminded(bot: Bot, chat_id: int) -> int:
    return sum("Reminder" in m.body for m in bot.stub.transcript(chat_id))


async def dies(bot: Bot) -> None:
    """The bot's process is killed: its connections drop, and (with replicas) PostgreSQL lets
    its locks go as soon as it notices (a moment later, in its own time: waited for here)."""
    assert bot.services is not None
    replica = bot.services.replica
    await bot.stop(graceful=False)
    if replica is None:
        return
    with psycopg.connect(bot.database_url, autocommit=True) as conn:
        for _ in range(500):
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
                " AND objid = %s AND objsubid = 2",
                (replica.alive_space, replica.id),
            ).fetchone()
            if row is not None and row[0] == 0:
                return
            await asyncio.sleep(0.01)  # PostgreSQL's backend ending, not the bot's time
    raise AssertionError("the dead replica's session lingers")


async def tick(bot: Bot) -> None:
    """The JobQueue's tick, as it runs in each replica."""
    await reminders.tick(SimpleNamespace(application=bot.app))  # type: ignore[arg-type]


# --- reminders ---------------------------------------------------------------------------------


def test_replicas_claiming_at_once_take_each_due_reminder_once(pg_dsn: str) -> None:
    now = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)
    storages = [Storage.open_url(pg_dsn, "altegio_bot") for _ in range(2)]
    try:
        for i in range(50):
            storages[0].replace_reminders(
                1000 + i, 5000 + i, [("before", 60, now - timedelta(minutes=1))]
            )
        # One claims in a transaction still open: the other takes the rest, without waiting.
        storages[1].sql.execute("SET lock_timeout = '2s'")
        with storages[0].sql.transaction():
            held = storages[0].claim_due(now, 20, by=1)
            rest = storages[1].claim_due(now, 100, by=2)
        assert len(held) == 20 and len(rest) == 30
        assert not {r.id for r in held} & {r.id for r in rest}
        assert storages[1].claim_due(now, 100, by=2) == []

        # Two threads at once, in small batches, again and again.
        for round_ in range(5):
            for i in range(50):
                record_id = 10_000 * (round_ + 1) + i
                storages[0].replace_reminders(
                    record_id, 5000 + i, [("before", 60, now - timedelta(minutes=1))]
                )
            start = threading.Barrier(2)
            taken: list[list[int]] = [[], []]

            def claim(n: int, taken: list[list[int]] = taken, start: Any = start) -> None:
                start.wait()
                while batch := storages[n].claim_due(now, 3, by=n + 1):
                    taken[n].extend(r.id for r in batch)

            threads = [threading.Thread(target=claim, args=(n,)) for n in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert len(taken[0]) + len(taken[1]) == 50
            assert len(set(taken[0]) | set(taken[1])) == 50
    finally:
        for storage in storages:
            storage.close()


async def test_two_replicas_ticking_at_once_send_each_of_50_reminders_once(
    make_bot: Callable[..., Any], tmp_path: Path
) -> None:
    # Altegio over a network: while one replica waits for a record, the other runs.
    first: Bot = await make_bot(transport=Yielding())
    assert isinstance(first.transport, Yielding)
    first.transport.bot = first
    second = await replica_of(first, tmp_path, transport=first.transport)
    try:
        chats = plant(first, 50)
        assert first.app is not None and second.app is not None
        totals = [0, 0]
        while True:
            sent = await asyncio.gather(send_due(first.app, limit=7), send_due(second.app, limit=7))
            if not any(sent):
                break
            totals = [a + b for a, b in zip(totals, sent, strict=True)]
        assert [reminded(first, c) for c in chats] == [1] * 50
        assert sum(totals) == 50 and min(totals) > 0, totals  # both replicas did their share
    finally:
        await second.stop()


async def test_a_replica_that_dies_after_claiming_leaves_its_reminders_to_the_other(
    pair: tuple[Bot, Bot],
) -> None:
    first, second = pair
    assert first.services is not None and first.services.replica is not None
    chats = plant(first, 3)
    # The first claims them, and is killed before it sends any.
    by = first.services.replica.alive()
    claimed = first.services.storage.claim_due(first.clock.now(), 100, by)
    assert len(claimed) == 3
    assert second.app is not None
    # While it lives, its claims are its own, however long ago they were made.
    first.clock.advance(minutes=10)
    assert await send_due(second.app) == 0
    await dies(first)
    assert await send_due(second.app) == 3
    assert await send_due(second.app) == 0
    assert [reminded(second, c) for c in chats] == [1, 1, 1]


class Gate(httpx.AsyncBaseTransport):
    """The sandbox, held up while shut (Altegio slow for this replica)."""

    def __init__(self) -> None:
        self.bot: Bot | None = None
        self.shut = False
        self.open = asyncio.Event()
        self.held = 0  # requests held up

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.bot is not None
        await request.aread()
        if self.shut:
            self.held += 1
            await self.open.wait()
        return self.bot.sandbox.handle(request)


async def test_a_live_replicas_slow_send_is_not_sent_again_by_another(
    make_bot: Callable[..., Any], tmp_path: Path
) -> None:
    gate = Gate()
    first: Bot = await make_bot(transport=gate)
    gate.bot = first
    second = await replica_of(first, tmp_path)
    try:
        chats = plant(first, 1)
        assert first.app is not None and second.app is not None
        gate.shut = True
        slow = asyncio.create_task(send_due(first.app))
        for _ in range(20):
            await asyncio.sleep(0)  # the first has claimed it and waits for Altegio
        assert gate.held == 1
        for _ in range(10):
            first.clock.advance(minutes=1)
            assert await send_due(second.app) == 0
        gate.open.set()
        assert await slow == 1
        assert await send_due(second.app) == 0
        assert reminded(first, chats[0]) == 1
    finally:
        await second.stop()


# --- the rest of the tick ----------------------------------------------------------------------


async def test_an_event_received_by_one_replica_and_swept_by_another_is_told_once(
    make_bot: Callable[..., Any], tmp_path: Path
) -> None:
    wire = Yielding()
    first = await hooked(make_bot, transport=wire)
    second = await replica_of(first, tmp_path, env=HOOKS_ENV)
    try:
        user, record_id = await booked(first)
        first.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(hours=5))  # in the inbox
        assert second.app is not None
        # The first follows it as it comes; the second's tick sweeps the inbox meanwhile.
        told = await asyncio.gather(follow(first), salon_news.process(second.app))
        assert sorted(told) == [0, 1]
        assert await salon_news.process(second.app) == 0
        assert await follow(first) == 0
        assert said(user, MOVED) == 1
        # Another change, received by the first, which dies before following it.
        first.clock.advance(minutes=1)
        first.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(hours=6))
        await dies(first)
        assert await salon_news.process(second.app) == 1
        assert await salon_news.process(second.app) == 0
        assert said(user, MOVED) == 2
    finally:
        await second.stop()


async def test_an_unanswered_booking_is_looked_into_by_one_replica(pair: tuple[Bot, Bot]) -> None:
    first, second = pair
    user = first.user()
    first.sandbox.fault(
        "POST", "book_record", status=504, body="<html>Gateway Time-out</html>", carry_out=True
    )
    await book_unanswered(user)
    before = len(user.bot_texts)
    for _ in range(18):  # three minutes of ticks, both replicas at once
        first.clock.advance(seconds=10)
        await asyncio.gather(tick(first), tick(second))
    after = user.bot_texts[before:]
    # Looked into for its two minutes, then told what became of it: once.
    assert len(after) == 1, after
    assert "cannot confirm your booking" in after[0]


async def book_unanswered(user: Any) -> None:
    with contextlib.suppress(AssertionError):
        await book(user)  # the answer was lost: the client is told it is being checked
    assert "check" in user.last.text.lower()


async def test_the_weekly_digest_goes_once_from_replicas_and_after_the_leader_dies(
    pair: tuple[Bot, Bot],
) -> None:
    first, second = pair
    admin = await with_admin(first)
    assert second.services is not None
    object.__setattr__(second.services.settings, "admin_chat_id", admin.user_id)
    await book(first.user())
    first.clock.current = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
    for _ in range(3):
        await asyncio.gather(tick(first), tick(second))
    assert len([t for t in admin.bot_texts if t.startswith("📊")]) == 1
    # The leader dies: the other leads from its next tick, and sends the next week's once.
    assert first.services is not None and first.services.replica is not None
    leader = first if first.services.replica.lead() else second
    survivor = second if leader is first else first
    await dies(leader)
    first.clock.advance(days=7)
    for _ in range(3):
        await tick(survivor)
    assert len([t for t in admin.bot_texts if t.startswith("📊")]) == 2


async def test_a_replica_cut_off_while_sending_leaves_the_reminder_to_the_one_that_took_it(
    make_bot: Callable[..., Any], tmp_path: Path
) -> None:
    gate = Gate()
    first: Bot = await make_bot(transport=gate)
    gate.bot = first
    second = await replica_of(first, tmp_path)
    try:
        chats = plant(first, 1)
        assert first.app is not None and second.app is not None
        assert first.services is not None and first.services.replica is not None
        gate.shut = True
        slow = asyncio.create_task(send_due(first.app))
        for _ in range(20):
            await asyncio.sleep(0)  # claimed; waiting for Altegio
        assert gate.held == 1
        # The first's own connection drops (the network, not the process): it looks dead.
        replica = first.services.replica
        replica.close()
        with psycopg.connect(first.database_url, autocommit=True) as conn:
            for _ in range(500):
                row = conn.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND classid = %s AND objid = %s AND objsubid = 2",
                    (replica.alive_space, replica.id),
                ).fetchone()
                if row is not None and row[0] == 0:
                    break
                await asyncio.sleep(0.01)  # PostgreSQL's backend ending
        assert await send_due(second.app) == 1
        gate.open.set()
        assert await slow == 0  # no longer its claim: not told again
        assert reminded(first, chats[0]) == 1
    finally:
        await second.stop()


class Held(httpx.AsyncBaseTransport):
    """The sandbox, where a booking call waits until let through (a slow Altegio)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.open = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        if request.method == "POST" and "/book_record/" in request.url.path:
            await self.open.wait()
        return self.bot.sandbox.handle(request)


async def test_a_booking_call_in_flight_at_one_replica_is_no_orphan_to_one_started_later(
    make_bot: Callable[..., Any], tmp_path: Path
) -> None:
    first: Bot = await make_bot()
    wire = Held(first)
    first.transport = wire
    await first.restart()
    user = first.user()
    await to_summary(user)
    confirming = asyncio.create_task(user.tap("✅ Confirm"))
    for _ in range(50):
        await asyncio.sleep(0)  # the call is on its way
    # Another replica starts while the call is in flight, and looks at unanswered calls.
    first.clock.advance(seconds=20)
    second = await replica_of(first, tmp_path)
    try:
        assert second.app is not None
        first.clock.advance(seconds=20)
        assert await resolve_attempts(second.app) == 0
        assert not any("restarted" in t for t in user.bot_texts)
        wire.open.set()
        await confirming
        assert "You are booked" in user.last.text
        assert len(live(first)) == 1
        await second.settle()
        assert not any("restarted" in t for t in user.bot_texts)
    finally:
        await second.stop()
