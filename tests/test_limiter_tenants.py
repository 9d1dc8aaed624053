"""Tenants sharing one Altegio limit in one process: a tenant flooding the limiter delays the
others by one turn at most, bookings of any tenant go before reads of every tenant, a tenant
alone has the whole budget, and the windows hold whoever asks."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import pytest

from bot.altegio.limiter import (
    BACKGROUND,
    DEFAULT_TENANT,
    NORMAL,
    URGENT,
    Limiter,
    NoSpareRoom,
    RateLimiter,
)


@dataclass
class Ticks:
    """Monotonic time that moves only when the code under test sleeps."""

    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class Served:
    """Who was let through, when, and how long each held its place."""

    ticks: Ticks
    order: list[str] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    waits: dict[str, list[float]] = field(default_factory=dict)

    async def call(
        self, limiter: Limiter, name: str, priority: int = NORMAL, hold: float = 0.0
    ) -> None:
        asked = self.ticks.now
        async with limiter.slot(priority):
            granted = self.ticks.now
            self.order.append(name)
            self.waits.setdefault(name, []).append(granted - asked)
            if hold:
                await self.ticks.sleep(hold)
            self.spans.append((granted, self.ticks.now))

    def calls(
        self, limiter: Limiter, name: str, n: int, priority: int = NORMAL
    ) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(self.call(limiter, name, priority)) for _ in range(n)]


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def limiter(ticks: Ticks) -> RateLimiter:
    return RateLimiter(monotonic=ticks.monotonic, sleep=ticks.sleep)


def assert_within(spans: list[tuple[float, float]], limits: tuple[tuple[int, float], ...]) -> None:
    """No more than `limit` requests could reach Altegio within any `window`: a request holds
    its place from its grant until its answer plus the window."""
    for limit, window in limits:
        for at, _ in spans:
            holding = sum(1 for granted, ended in spans if granted <= at < ended + window - 1e-9)
            assert holding <= limit, (limit, window, at)


async def test_a_flooding_tenant_delays_another_by_one_turn(
    ticks: Ticks, limiter: RateLimiter
) -> None:
    served = Served(ticks)
    flood = served.calls(limiter.for_tenant("a"), "a", 300)
    await asyncio.sleep(0)
    quiet = served.calls(limiter.for_tenant("b"), "b", 10)
    await asyncio.gather(*flood, *quiet)

    # Five of A's went at once; from then on A and B alternate until B has no more.
    assert served.order[:5] == ["a"] * 5
    assert served.order[5:25] == ["a", "b"] * 10
    assert served.order[25:] == ["a"] * 285
    assert max(served.waits["b"]) <= 4 * 1.1 + 1e-9  # ten reads, two a second: four seconds


async def test_three_tenants_take_turns_behind_a_flood(ticks: Ticks, limiter: RateLimiter) -> None:
    served = Served(ticks)
    flood = served.calls(limiter.for_tenant("a"), "a", 100)
    await asyncio.sleep(0)
    others = served.calls(limiter.for_tenant("b"), "b", 3) + served.calls(
        limiter.for_tenant("c"), "c", 3
    )
    await asyncio.gather(*flood, *others)

    assert served.order[5:14] == ["a", "b", "c"] * 3
    # Each of B's and C's reads waited at most one turn of the others.
    assert max(served.waits["b"] + served.waits["c"]) <= 2 * 1.1 + 1e-9


async def test_a_late_tenant_waits_one_turn_when_the_minute_is_full(
    ticks: Ticks, limiter: RateLimiter
) -> None:
    served = Served(ticks)
    a, b = limiter.for_tenant("a"), limiter.for_tenant("b")
    late: list[asyncio.Task[None]] = []
    asked: list[float] = []

    async def flooding() -> None:
        async with a.slot():
            served.order.append("a")
            if len(served.order) == 200:  # A has taken the whole minute: B asks
                asked.append(ticks.now)
                late.extend(served.calls(b, "b", 1))

    await asyncio.gather(*(flooding() for _ in range(260)))
    await asyncio.gather(*late)

    # B goes with the first place that leaves the minute, ahead of A's sixty waiting.
    assert asked[0] < 45.0
    assert served.order.index("b") == 200
    assert served.spans[0][0] == pytest.approx(60.5)  # B's the only span told


async def test_a_booking_of_any_tenant_goes_before_reads_of_every_tenant(
    ticks: Ticks, limiter: RateLimiter
) -> None:
    served = Served(ticks)
    reads = served.calls(limiter.for_tenant("a"), "read a", 8) + served.calls(
        limiter.for_tenant("b"), "read b", 8
    )
    await asyncio.sleep(0)
    booking = served.calls(limiter.for_tenant("c"), "booking c", 1, URGENT)
    await asyncio.gather(*reads, *booking)

    assert served.order[:5] == ["read a"] * 5
    assert served.order[5] == "booking c"
    assert served.order[6:10] == ["read a", "read b"] * 2


async def test_a_tenant_flooding_bookings_cannot_starve_anothers_booking(
    ticks: Ticks, limiter: RateLimiter
) -> None:
    served = Served(ticks)
    flood = served.calls(limiter.for_tenant("a"), "a", 50, URGENT)
    reads = served.calls(limiter.for_tenant("b"), "read b", 3)
    await asyncio.sleep(0)
    booking = served.calls(limiter.for_tenant("b"), "booking b", 1, URGENT)
    await asyncio.gather(*flood, *reads, *booking)

    assert served.order.index("booking b") == 6  # five of A's at once, one more of A's, B's
    assert served.order[-3:] == ["read b"] * 3  # reads wait for every booking


async def test_a_tenant_alone_has_the_whole_budget(ticks: Ticks, limiter: RateLimiter) -> None:
    served = Served(ticks)
    await asyncio.gather(*served.calls(limiter.for_tenant("a"), "a", 230))

    times = [granted for granted, _ in served.spans]
    assert times[:10] == pytest.approx([0.0] * 5 + [1.1] * 5)
    assert times[199] < 60.0
    assert times[200] == pytest.approx(60.5)  # the 201st waits for the minute, as alone


async def test_the_windows_hold_whoever_asks(ticks: Ticks, limiter: RateLimiter) -> None:
    served = Served(ticks)
    rng = random.Random(17)
    tasks = [
        asyncio.create_task(
            served.call(
                limiter.for_tenant(rng.choice("abc")),
                "x",
                rng.choice([URGENT, NORMAL, NORMAL]),
                rng.choice([0.0, 0.05, 0.4, 2.0]),
            )
        )
        for _ in range(260)
    ]
    await asyncio.gather(*tasks)

    assert len(served.spans) == 260
    assert_within(served.spans, ((5, 1.1), (200, 60.5)))


async def test_untagged_callers_are_the_default_tenant(ticks: Ticks, limiter: RateLimiter) -> None:
    served = Served(ticks)
    default = limiter.for_tenant(DEFAULT_TENANT)
    tasks = [
        asyncio.create_task(served.call(limiter if n % 2 else default, str(n))) for n in range(12)
    ]
    await asyncio.gather(*tasks)

    assert served.order == [str(n) for n in range(12)]  # one line, in the order asked
    assert limiter.for_tenant("a") is limiter.for_tenant("a")


async def test_waiting_and_waits_are_told_per_tenant(ticks: Ticks, limiter: RateLimiter) -> None:
    a, b = limiter.for_tenant("a"), limiter.for_tenant("b")
    heard: dict[str, list[float]] = {"a": [], "b": [], "all": []}
    a.on_wait, b.on_wait = heard["a"].append, heard["b"].append
    limiter.on_wait = heard["all"].append
    served = Served(ticks)
    tasks = served.calls(a, "a", 9) + served.calls(b, "b", 3)
    await asyncio.sleep(0)

    assert (a.waiting, b.waiting, limiter.waiting) == (4, 3, 7)
    assert not b.spare()  # background reads wait for nobody's callers
    with pytest.raises(NoSpareRoom):
        async with b.slot(BACKGROUND):
            pass
    await asyncio.gather(*tasks)
    assert (len(heard["a"]), len(heard["b"]), heard["all"]) == (9, 3, [])
    assert (a.waiting, b.waiting, limiter.waiting) == (0, 0, 0)


async def test_a_tenants_caller_who_gives_up_leaves_the_turns(
    ticks: Ticks, limiter: RateLimiter
) -> None:
    served = Served(ticks)
    flood = served.calls(limiter.for_tenant("a"), "a", 8)
    await asyncio.sleep(0)
    impatient = served.calls(limiter.for_tenant("b"), "b", 1)
    await asyncio.sleep(0)
    assert limiter.for_tenant("b").waiting == 1
    impatient[0].cancel()
    await asyncio.gather(*flood, *impatient, return_exceptions=True)

    assert served.order == ["a"] * 8
    assert limiter.waiting == 0
    assert ticks.now == pytest.approx(1.1)


async def test_a_pause_of_one_tenant_holds_them_all(ticks: Ticks, limiter: RateLimiter) -> None:
    limiter.for_tenant("a").pause(2.0)
    async with limiter.for_tenant("b").slot():
        pass
    assert ticks.slept == [pytest.approx(2.0)]
