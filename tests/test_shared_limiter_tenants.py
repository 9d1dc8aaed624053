"""Tenants sharing the Altegio limit kept in PostgreSQL (a throw-away one): within a process
they take turns, and a tenant waiting in one process is left a place by another process's
flood of another tenant's reads. Real time passes; windows are scaled down."""

from __future__ import annotations

import asyncio

from bot.altegio.limiter import NORMAL
from bot.altegio.shared_limiter import SharedLimiter

LIMITS = ((3, 1.0), (100, 10.0))


async def tenants_served(dsn: str, egress: str) -> list[str]:
    """Whose requests were let through, in the order they were."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cursor = await conn.execute(
            "SELECT tenant FROM altegio_limit_grants WHERE egress = %s ORDER BY granted, id",
            (egress,),
        )
        return [tenant for (tenant,) in await cursor.fetchall()]


async def test_tenants_in_one_process_take_turns(pg_dsn: str) -> None:
    limiter = SharedLimiter(pg_dsn, egress="ip", limits=LIMITS)

    async def read(tenant: str) -> None:
        async with limiter.for_tenant(tenant).slot(NORMAL):
            await asyncio.sleep(0.02)

    try:
        await asyncio.gather(*(read("a") for _ in range(5)), *(read("b") for _ in range(2)))
        assert limiter.waiting == 0
    finally:
        await limiter.aclose()
    assert await tenants_served(pg_dsn, "ip") == ["a", "b", "a", "b", "a", "a", "a"]


async def test_a_flood_in_one_process_leaves_room_for_a_tenant_waiting_in_another(
    pg_dsn: str,
) -> None:
    async def slow_to_ask(seconds: float) -> None:
        await asyncio.sleep(seconds + 0.15)  # a busy process: it asks again late

    here = SharedLimiter(pg_dsn, egress="ip", limits=LIMITS)
    there = SharedLimiter(pg_dsn, egress="ip", limits=LIMITS, sleep=slow_to_ask)
    window_taken = asyncio.Event()
    taken = 0

    async def call(limiter: SharedLimiter, tenant: str) -> None:
        nonlocal taken
        async with limiter.for_tenant(tenant).slot(NORMAL):
            taken += 1
            if taken == 3:
                window_taken.set()
            await asyncio.sleep(0.05)

    try:
        flood = [asyncio.create_task(call(here, "a")) for _ in range(12)]
        await window_taken.wait()
        other = asyncio.create_task(call(there, "b"))
        await asyncio.sleep(0.2)  # B waits in its process, the flood in the other
        assert there.for_tenant("b").waiting == 1
        await other
        for task in flood:
            task.cancel()
        await asyncio.gather(*flood, return_exceptions=True)
    finally:
        await here.aclose()
        await there.aclose()
    served = await tenants_served(pg_dsn, "ip")
    # B has one of the three places of the next window, however much faster the flood asks.
    assert served[:3] == ["a"] * 3
    assert "b" in served[3:6]


async def test_a_tenant_alone_takes_every_place(pg_dsn: str) -> None:
    here = SharedLimiter(pg_dsn, egress="ip", limits=LIMITS)
    there = SharedLimiter(pg_dsn, egress="ip", limits=LIMITS)

    async def call(limiter: SharedLimiter) -> None:
        async with limiter.for_tenant("a").slot(NORMAL):
            await asyncio.sleep(0.02)

    try:
        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(call(here) for _ in range(4)), *(call(there) for _ in range(5)))
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        await here.aclose()
        await there.aclose()
    assert await tenants_served(pg_dsn, "ip") == ["a"] * 9
    assert elapsed < 3.0  # three windows of three: nobody's room held for a tenant not waiting
