"""Two replicas of one bot (two bots on one PostgreSQL schema) guard together: a time held on
one is hidden on the other, a client flooding both is slowed after one burst, texted codes are
counted for both, and Altegio failing on one pauses the other's calls. On SQLite each guard is
the in-memory one, as before; without PostgreSQL, each guard falls back as it says."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.altegio import errors
from bot.altegio.breaker import Breaker
from bot.holds import Held, Holds
from bot.limits import CodeGuard, FloodGuard
from bot.services import Services
from bot.shared_guards import CLOSED_WAIT, SharedGuards
from bot.storage import Storage
from bot.storage.pg_engine import PgSql
from standins.telegram.users import StubUser
from tests.conftest import Bot, FakeClock

SCHEMA = "altegio_bot"
PHONE = "+4915123456789"


async def replicas(make_bot: Callable[..., Any], pg_dsn: str) -> tuple[Bot, Bot]:
    first = await make_bot(database_url=pg_dsn, schema=SCHEMA)
    second = await make_bot(database_url=pg_dsn, schema=SCHEMA)
    return first, second


def services(bot: Bot) -> Services:
    assert bot.services is not None
    return bot.services


def buttons(user: StubUser) -> list[str]:
    # Times are written with a narrow no-break space before AM/PM.
    return [label.replace("\u202f", " ") for row in user.last.buttons for label in row]


async def test_a_time_held_on_one_replica_is_hidden_on_the_other(
    make_bot: Callable[..., Any], pg_dsn: str, clock: FakeClock
) -> None:
    a, b = await replicas(make_bot, pg_dsn)
    first, second = a.user(), b.user(100002, first_name="Ben")
    for user in (first, second):
        await user.send("/book")
        await user.tap("Hair")
        await user.tap("Women's haircut")
        await user.tap("Any available team member")
        await user.send("tomorrow after 3")
    assert buttons(first)[0] == "3:00 PM" and buttons(second)[0] == "3:00 PM"

    await first.tap("3:00\u202fPM")  # on replica A
    await second.tap("« Back")
    await second.send("tomorrow after 3")  # on replica B
    assert "3:00 PM" not in buttons(second)
    assert buttons(second)[0] == "3:15 PM"

    # The hold lapses five minutes after the first client's last step.
    clock.advance(minutes=5, seconds=1)
    await second.tap("« Back")
    await second.send("tomorrow after 3")
    assert buttons(second)[0] == "3:00 PM"


async def test_holds_are_kept_released_and_lapse_across_replicas(
    make_bot: Callable[..., Any], pg_dsn: str, clock: FakeClock
) -> None:
    a, b = await replicas(make_bot, pg_dsn)
    holds_a, holds_b, now = services(a).holds, services(b).holds, clock.now()
    holds_a.keep("f1", 2001, "2026-03-02T15:00:00+01:00", now)
    assert holds_b.held_for_others("f2", 2001, now) == {"2026-03-02T15:00:00+01:00"}
    assert holds_b.held_for_others("f1", 2001, now) == set()  # the flow's own time
    assert holds_b.held_for_others("f2", 2002, now) == set()  # another team member's
    holds_b.keep("f1", 2001, None, now)  # the client's next step, on B: no time chosen
    assert holds_a.held_for_others("f2", 2001, now) == set()
    holds_b.keep("f1", 2001, "2026-03-02T15:30:00+01:00", now)
    holds_a.release("f1")
    assert holds_b.held_for_others("f2", 2001, now) == set()
    holds_a.keep("f3", 2001, "2026-03-02T16:00:00+01:00", now)
    # A time held with anyone carries who may see to it, across replicas too.
    both = frozenset({2001, 2002})
    holds_a.keep("f4", 0, "2026-03-02T17:00:00+01:00", now, 3600, members=both)
    assert holds_b.spans_for_others("f2", 0, now) == [Held("2026-03-02T17:00:00+01:00", 3600, both)]
    clock.advance(minutes=5)
    assert holds_b.held_for_others("f2", 2001, clock.now()) == set()


async def test_a_client_flooding_both_replicas_is_slowed_after_one_burst(
    make_bot: Callable[..., Any], pg_dsn: str, clock: FakeClock
) -> None:
    a, b = await replicas(make_bot, pg_dsn)
    guards = [services(a).flood, services(b).flood]
    answers = [guards[i % 2].allow(7) for i in range(24)]
    assert answers[:20] == [(True, False)] * 20
    assert answers[20:] == [(False, True), (False, False), (False, False), (False, False)]
    assert guards[0].allow(8) == (True, False)  # another client is untouched
    clock.advance(seconds=0.5)  # one token back, at two a second
    assert guards[1].allow(7) == (True, False)
    assert guards[0].allow(7) == (False, True)  # a new flood: warned again, once
    clock.advance(seconds=10)
    assert [guards[i % 2].allow(7)[0] for i in range(21)] == [True] * 20 + [False]


async def test_a_flood_through_the_handlers_of_both_replicas(
    make_bot: Callable[..., Any], pg_dsn: str
) -> None:
    a, b = await replicas(make_bot, pg_dsn)
    on_a, on_b = a.user(), b.user()
    for i in range(20):
        await (on_a if i % 2 else on_b).send("/start")
    before = len(on_a.bot_messages) + len(on_b.bot_messages)
    await on_a.send("/start")
    assert "very quickly" in on_a.last.text
    await on_b.send("/start")  # refused quietly: the warning came once
    assert len(on_a.bot_messages) + len(on_b.bot_messages) == before + 1


async def test_codes_are_counted_across_replicas(
    make_bot: Callable[..., Any], pg_dsn: str, clock: FakeClock
) -> None:
    a, b = await replicas(make_bot, pg_dsn)
    codes = [services(a).codes, services(b).codes]
    assert codes[0].allow(PHONE, 1) == 0
    assert codes[1].allow(PHONE, 1) == pytest.approx(60)  # one a minute, per phone
    assert codes[1].allow("+4915199999999", 1) == pytest.approx(60)  # and per client
    assert codes[1].allow("+4915199999999", 2) == 0  # another phone, another client
    clock.advance(seconds=30)
    assert codes[0].wait(PHONE, 1) == pytest.approx(30)
    for turn in range(4):
        clock.advance(seconds=60)
        assert codes[turn % 2].allow(PHONE, 1) == 0
    clock.advance(seconds=60)
    # Five within the hour: the sixth waits until the first is an hour old.
    assert codes[1].allow(PHONE, 1) == pytest.approx(3600 - 30 - 300)
    assert codes[0].allow(PHONE, 3) == pytest.approx(3600 - 30 - 300)  # the phone's five
    clock.advance(seconds=3600 - 330)
    assert codes[0].allow(PHONE, 1) == 0


async def test_altegio_failing_on_one_replica_pauses_the_other(
    make_bot: Callable[..., Any], pg_dsn: str, clock: FakeClock
) -> None:
    a, b = await replicas(make_bot, pg_dsn)
    on_a, on_b = services(a).altegio.breaker, services(b).altegio.breaker
    assert not on_b.is_open
    for _ in range(4):
        on_a.failure()
    clock.advance(seconds=1)
    assert on_b.failing and not on_b.is_open
    on_b.failure()  # the fifth in a row, counted together
    assert on_b.is_open
    clock.advance(seconds=1)  # seen by the other within a second
    assert on_a.is_open and 28 <= on_a.remaining <= 29
    with pytest.raises(errors.CircuitOpen):
        await services(a).altegio.company(fresh=True)
    clock.advance(seconds=30)
    assert not on_a.is_open and not on_b.is_open
    await services(b).altegio.company(fresh=True)  # one success on B closes it for all
    clock.advance(seconds=1)
    assert not on_a.failing
    on_a.failure()  # counted from none again: not reopened by one failure
    assert not on_a.is_open and not on_b.is_open


async def test_each_guard_is_the_in_memory_one_on_sqlite(make_bot: Callable[..., Any]) -> None:
    bot = await make_bot(database_url="")
    used = services(bot)
    assert type(used.flood) is FloodGuard
    assert type(used.codes) is CodeGuard
    assert type(used.holds) is Holds
    assert type(used.altegio.breaker) is Breaker


def test_checks_at_the_same_moment_on_many_connections_are_atomic(pg_dsn: str) -> None:
    """Eight processes' connections asking at once: one burst in all, one code in all."""
    stores = [Storage.open_url(pg_dsn, SCHEMA) for _ in range(8)]
    now = 1_790_000_000.0
    start = threading.Barrier(len(stores))

    def flood(store: Storage) -> list[int]:
        start.wait()
        return [store.take_token(7, now, 20.0, 2.0) for _ in range(5)]

    def code(store: Storage) -> float:
        start.wait()
        return SharedGuards(store, lambda: now).codes.allow(PHONE, 1)

    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            taken = [outcome for some in pool.map(flood, stores) for outcome in some]
            waits = list(pool.map(code, stores))
    finally:
        for store in stores:
            store.close()
    assert (taken.count(0), taken.count(1), taken.count(2)) == (20, 1, 19)
    assert sorted(waits) == [0.0] + [pytest.approx(60.0)] * 7


async def test_rows_that_guard_nothing_are_deleted(
    make_bot: Callable[..., Any], pg_dsn: str, clock: FakeClock
) -> None:
    a, b = await replicas(make_bot, pg_dsn)
    used = services(a)
    used.holds.keep("f1", 2001, "2026-03-02T15:00:00+01:00", clock.now())
    used.flood.allow(7)
    used.codes.allow(PHONE, 1)

    def rows() -> list[int]:
        sql = services(b).storage.sql
        tables = ("guard_holds", "guard_floods", "guard_codes")
        return [sql.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables]

    assert rows() == [1, 1, 2]
    clock.advance(minutes=5)  # the hold lapsed, the bucket is full again
    used.flood.allow(8)
    assert rows() == [0, 1, 2]  # only client 8's bucket is new
    clock.advance(hours=1)
    used.flood.allow(9)
    assert rows() == [0, 1, 0]


def test_without_postgresql_each_guard_falls_back(clock: FakeClock) -> None:
    """Nothing listens on port 1: every statement fails, as with a database out of reach."""
    storage = Storage(PgSql("postgresql://127.0.0.1:1/nothing", "altegio_bot"))
    guards = SharedGuards(storage, lambda: clock.now().timestamp())
    # The flood guard keeps this process's own bucket: a flood is still slowed.
    assert [guards.flood.allow(7)[0] for _ in range(21)] == [True] * 20 + [False]
    # No code is texted while the count of texts cannot be read.
    assert guards.codes.allow(PHONE, 1) == CLOSED_WAIT
    # A hold is a courtesy: nothing is hidden, nothing fails.
    guards.holds.keep("f1", 2001, "2026-03-02T15:00:00+01:00", clock.now())
    assert guards.holds.held_for_others("f2", 2001, clock.now()) == set()
    # The breaker counts this process's failures itself.
    breaker = guards.breaker(1001)
    for _ in range(5):
        breaker.failure()
    assert breaker.is_open
    breaker.success()
    assert not breaker.is_open
