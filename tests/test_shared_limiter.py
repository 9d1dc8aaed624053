"""The Altegio rate limit shared through PostgreSQL, against a real (throw-away) one: several
limiters, as replicas would hold them, and separate processes, never exceed the windows
together; bookings go before reads queued earlier elsewhere; background reads never take a
window's last place; a 429's pause holds everyone; without the database, a share of the budget.

Windows are scaled down (half a second, two seconds) to keep this short; real time passes.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.altegio.limiter import BACKGROUND, NORMAL, URGENT, NoSpareRoom, RateLimiter
from bot.altegio.shared_limiter import SharedLimiter, make_limiter
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parent.parent
LIMITS = ((5, 0.5), (15, 2.0))

Grant = tuple[datetime, datetime | None, int]


async def grants(dsn: str, egress: str) -> list[Grant]:
    """Every request let through for `egress`: granted and answered (database time), priority."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cursor = await conn.execute(
            "SELECT granted, ended, priority FROM altegio_limit_grants"
            " WHERE egress = %s ORDER BY granted",
            (egress,),
        )
        return list(await cursor.fetchall())


async def waiting_urgent(dsn: str) -> int:
    """Bookings waiting, as the database has heard from every process."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cursor = await conn.execute("SELECT coalesce(sum(urgent), 0) FROM altegio_limit_waiters")
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


def most_at_once(rows: list[Grant], window: float) -> int:
    """The most requests that can have reached Altegio within one `window`: a request may
    arrive anywhere between its grant and its answer."""
    span = timedelta(seconds=window)

    def holding(at: datetime) -> int:
        return sum(1 for g, ended, _ in rows if g <= at and (ended is None or ended + span > at))

    return max(holding(granted) for granted, _, _ in rows)


def assert_within(rows: list[Grant], limits: tuple[tuple[int, float], ...]) -> None:
    for limit, window in limits:
        assert most_at_once(rows, window) <= limit, (limit, window)


def test_the_check_counts_what_it_should() -> None:
    t = datetime(2026, 1, 1)
    rows = [
        (t + timedelta(seconds=0.1 * i), t + timedelta(seconds=0.1 * i + 0.05), 1) for i in range(6)
    ]
    assert most_at_once(rows, 0.5) == 6  # six within 0.55 s: answered ones count a window on
    assert most_at_once(rows, 0.05) == 1  # fmt: skip


async def hammer(limiter: SharedLimiter, calls: int, priority: int = NORMAL) -> None:
    async def call() -> None:
        async with limiter.slot(priority):
            await asyncio.sleep(0.02)  # the request under way

    await asyncio.gather(*(call() for _ in range(calls)))


async def test_three_replicas_keep_to_one_budget(pg_dsn: str) -> None:
    replicas = [SharedLimiter(pg_dsn, egress="ip", limits=LIMITS) for _ in range(3)]
    started = time.monotonic()
    try:
        await asyncio.gather(
            hammer(replicas[0], 10), hammer(replicas[1], 10, URGENT), hammer(replicas[2], 10)
        )
    finally:
        for limiter in replicas:
            await limiter.aclose()
    elapsed = time.monotonic() - started
    rows = await grants(pg_dsn, "ip")
    assert len(rows) == 30
    assert all(ended is not None for _, ended, _ in rows)
    assert_within(rows, LIMITS)
    # The budget is used, not wasted: 15 at once, 15 more once the two-second window lets them.
    assert elapsed < 6.0
    # About one round trip per place, never a storm of asking.
    assert sum(limiter.asked for limiter in replicas) <= 4 * len(rows)


SCRIPT = """
import asyncio, sys
from bot.altegio.shared_limiter import SharedLimiter

async def main(dsn, calls):
    limiter = SharedLimiter(dsn, egress="ip", limits=((5, 0.5), (15, 2.0)))
    async def call():
        async with limiter.slot():
            await asyncio.sleep(0.02)
    await asyncio.gather(*(call() for _ in range(calls)))
    await limiter.aclose()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def test_separate_processes_keep_to_one_budget(pg_dsn: str) -> None:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", SCRIPT, pg_dsn, "8", cwd=ROOT, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    for process in processes:
        _, errors = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, errors.decode()
    rows = await grants(pg_dsn, "ip")
    assert len(rows) == 24
    assert_within(rows, LIMITS)


async def test_bookings_elsewhere_go_before_reads_queued_earlier(pg_dsn: str) -> None:
    limits = ((3, 1.0), (100, 10.0))
    reads = SharedLimiter(pg_dsn, egress="ip", limits=limits)
    bookings = SharedLimiter(pg_dsn, egress="ip", limits=limits)
    let_through = 0
    window_taken = asyncio.Event()

    async def read() -> None:
        nonlocal let_through
        async with reads.slot(NORMAL):
            let_through += 1
            if let_through == 3:
                window_taken.set()
            await asyncio.sleep(0.05)

    try:
        queued = [asyncio.create_task(read()) for _ in range(9)]
        await window_taken.wait()  # six reads still waiting
        await hammer(bookings, 3, URGENT)
        for task in queued:
            task.cancel()
        await asyncio.gather(*queued, return_exceptions=True)
    finally:
        await reads.aclose()
        await bookings.aclose()
    order = [priority for _, _, priority in await grants(pg_dsn, "ip")]
    assert order[:6] == [NORMAL] * 3 + [URGENT] * 3


async def test_a_booking_behind_reads_in_its_own_process_is_told_at_once(pg_dsn: str) -> None:
    """A booking joining reads already waiting in its process is reported to the database at
    once, not when the reads' turn comes: the reads waiting elsewhere leave it a place in the
    window that frees next, instead of taking them all."""
    limits = ((3, 1.0), (100, 10.0))
    here = SharedLimiter(pg_dsn, egress="ip", limits=limits)
    there = SharedLimiter(pg_dsn, egress="ip", limits=limits)
    window_taken = asyncio.Event()
    taken = 0

    async def call(limiter: SharedLimiter, priority: int) -> None:
        nonlocal taken
        async with limiter.slot(priority):
            taken += 1
            if taken == 3:
                window_taken.set()
            await asyncio.sleep(0.05)

    try:
        waiting = [asyncio.create_task(call(here, NORMAL)) for _ in range(5)]
        await window_taken.wait()
        waiting += [asyncio.create_task(call(there, NORMAL)) for _ in range(3)]
        await asyncio.sleep(0.2)  # both processes' reads wait for the window
        booking = asyncio.create_task(call(here, URGENT))
        await asyncio.sleep(0.1)
        assert await waiting_urgent(pg_dsn) == 1  # the window is still full: heard of at once
        await booking
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
    finally:
        await here.aclose()
        await there.aclose()
    order = [priority for _, _, priority in await grants(pg_dsn, "ip")]
    assert order[:3] == [NORMAL] * 3
    assert URGENT in order[3:6]


async def test_background_never_takes_a_windows_last_place(pg_dsn: str) -> None:
    limits = ((5, 0.5), (100, 10.0))
    busy = SharedLimiter(pg_dsn, egress="ip", limits=limits)
    watcher = SharedLimiter(pg_dsn, egress="ip", limits=limits)
    try:
        async with watcher.slot(BACKGROUND):  # an empty window has room to spare
            pass
        await hammer(busy, 3)  # four of five taken
        started = time.monotonic()
        with pytest.raises(NoSpareRoom):
            async with watcher.slot(BACKGROUND):
                pytest.fail("let through into the last place")
        assert time.monotonic() - started < 0.3  # refused at once, never queued
        assert not watcher.spare()
        await asyncio.sleep(0.6)  # the window empties
        async with watcher.slot(BACKGROUND):
            pass
    finally:
        await busy.aclose()
        await watcher.aclose()
    assert_within(await grants(pg_dsn, "ip"), limits)


async def test_a_429_on_one_replica_holds_the_others(pg_dsn: str) -> None:
    told = SharedLimiter(pg_dsn, egress="ip", limits=LIMITS)
    other = SharedLimiter(pg_dsn, egress="ip", limits=LIMITS)
    try:
        async with told.slot():
            pass
        told.pause(0.6)
        await told.settled()
        started = time.monotonic()
        async with other.slot():
            pass
        waited = time.monotonic() - started
    finally:
        await told.aclose()
        await other.aclose()
    import psycopg

    async with await psycopg.AsyncConnection.connect(pg_dsn) as conn:
        cursor = await conn.execute("SELECT paused_until FROM altegio_limit_egress")
        row = await cursor.fetchone()
    assert row is not None
    first, second = await grants(pg_dsn, "ip")
    assert second[0] >= row[0] > first[0]
    assert waited > 0.4


async def test_a_dead_replicas_requests_free_their_places_after_hold(pg_dsn: str) -> None:
    limits = ((3, 0.3), (100, 10.0))
    dead = SharedLimiter(pg_dsn, egress="ip", limits=limits, hold=0.5)
    alive = SharedLimiter(pg_dsn, egress="ip", limits=limits, hold=0.5)
    held: list[Any] = [dead.slot() for _ in range(3)]
    for entered in held:
        await entered.__aenter__()  # in flight when the replica died: never answered
    try:
        async with alive.slot():
            pass
    finally:
        await alive.aclose()
        await dead.aclose()
        for entered in held:  # a closed limiter writes nothing more
            await entered.__aexit__(None, None, None)
    rows = await grants(pg_dsn, "ip")
    assert [ended is None for _, ended, _ in rows] == [True, True, True, False]
    # The first of them counted as answered `hold` after its grant, and a window on from there.
    assert rows[3][0] - rows[0][0] >= timedelta(seconds=0.5 + 0.3)


async def test_without_the_database_a_share_of_the_budget(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = SharedLimiter(
        "postgresql://postgres@/none?host=/nonexistent&port=1",
        limits=((4, 0.5), (100, 60.0)),
        replicas=2,
        retry=5.0,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )
    let_through: list[float] = []

    async def call() -> None:
        async with limiter.slot():
            let_through.append(clock.monotonic())

    with caplog.at_level(logging.WARNING, logger="bot.altegio.shared_limiter"):
        await asyncio.gather(*(call() for _ in range(6)))
        clock.advance(seconds=10)  # the database is tried again, still out of reach
        await call()
    await limiter.aclose()
    # Two of four each half second: this replica's half of the budget.
    assert let_through[:6] == [0.0, 0.0, 0.5, 0.5, 1.0, 1.0]
    assert len(let_through) == 7
    assert len([r for r in caplog.records if "cannot be reached" in r.message]) == 1


def test_a_bot_without_a_database_never_loads_its_driver() -> None:
    code = (
        "import sys\n"
        "from bot.altegio.shared_limiter import make_limiter\n"
        "limiter = make_limiter(None)\n"
        "print(type(limiter).__name__, 'psycopg' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.stdout.split() == ["RateLimiter", "False"], result.stderr
    assert isinstance(make_limiter(None), RateLimiter)


async def test_a_lost_connection_falls_back_and_comes_back(
    pg_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    limiter = SharedLimiter(pg_dsn, egress="ip", limits=LIMITS, retry=0.3)
    with caplog.at_level(logging.WARNING, logger="bot.altegio.shared_limiter"):
        async with limiter.slot():
            pass
        # The database drops every connection while a request is under way.
        async with (
            limiter.slot(),
            await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as conn,
        ):
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        async with limiter.slot():  # this replica's share, decided here
            pass
        await asyncio.sleep(0.4)
        async with limiter.slot():  # the database again
            pass
        await limiter.settled()
        await limiter.aclose()
    rows = await grants(pg_dsn, "ip")
    assert len(rows) == 3
    # The answer the database missed was written once it was back: no place held for `hold`.
    assert all(ended is not None for _, ended, _ in rows)
    said = [r.message for r in caplog.records]
    assert len([m for m in said if "cannot be reached" in m]) == 1
    assert len([m for m in said if "in PostgreSQL again" in m]) == 1
