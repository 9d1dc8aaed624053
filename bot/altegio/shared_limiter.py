"""One Altegio rate limit for every process behind one egress address, kept in PostgreSQL.

Altegio counts requests per IP address: replicas sending from one address share its 5 requests
a second and 200 a minute. `SharedLimiter` has `RateLimiter`'s interface and windows (with the
same margins, `ALTEGIO_LIMITS`), decided in the database for all of them.

Each grant is one call of a PL/pgSQL function (`shared_limit_sql.py`), one round trip: it locks
the egress address's row (`SELECT ... FOR UPDATE`, for the microseconds of that statement),
reads `clock_timestamp()` (the one clock the processes share; their own clocks never meet),
counts the requests in each window from a table of grants, and records a grant or answers how
long until asking again is worth it. A row per grant, not counters per window: the windows
slide, and a request holds its place from its grant until its answer plus the window. A row
lock, not an advisory lock: the pause lives on the same row, and the lock goes with the
transaction whatever happens to the connection. An answer writes `ended` (one short statement);
a process that dies with requests in flight holds their places `hold` seconds at most.

Within a process callers queue as in `RateLimiter` (by priority, then tenant by tenant, each
tenant's in order) and one granter asks for the first in line, then sleeps locally for the delay
it was given: about one round trip per place that frees, never polling. While other processes'
requests are in flight the delay is a lower bound (their answers are not known yet): asking
again costs a round trip, not a place.

Across processes, each one leaves in the database how many of its callers wait, by priority,
and of which tenants (valid for the delay it was given and a little more, so a dead process
stops counting). Reads are let through only with room left for the bookings waiting elsewhere;
background reads only when nobody anywhere waits and a place stays free after them; a 429's
pause is for everyone. Of the tenants a process has waiting the database picks the one served
longest ago, and a tenant served longer ago still, waiting elsewhere, is left a place: a tenant
flooding one process cannot take the places another's callers wait for in another.

A database out of reach (or silent for `timeout`): the process keeps to its own `RateLimiter`
with its share of the budget (the limits divided by `replicas`), says so once in the log and
tries again after `retry` seconds. Never an unbounded burst: at worst, replicas cut off from a
database the others still reach add their shares, and Altegio's 429 pauses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bot.altegio import shared_limit_sql as sql
from bot.altegio.limiter import (
    ALTEGIO_LIMITS,
    BACKGROUND,
    DEFAULT_TENANT,
    NORMAL,
    URGENT,
    Limiter,
    NoSpareRoom,
    RateLimiter,
    Sleep,
    TenantLimiter,
)
from bot.altegio.shared_limit_link import DatabaseUnreachable, LimitLink
from bot.altegio.turns import Turns

# Seconds a process's waiting callers keep counting after the delay it was given.
LEASE = 2.0
# Added to how long a request was held, measured here, when its answer is written late: its
# grant reached this process a round trip after the database recorded it.
LATE_MARGIN = 0.1


def share(limits: tuple[tuple[int, float], ...], replicas: int) -> tuple[tuple[int, float], ...]:
    """One process's part of the budget when it cannot reach the others."""
    return tuple((max(1, limit // max(1, replicas)), window) for limit, window in limits)


@dataclass(frozen=True)
class _Answer:
    grant: int | None
    delay: float
    room: int
    others: int
    tenant: str


class SharedLimiter:
    """Sliding windows shared through PostgreSQL by every process with the same `egress`."""

    def __init__(
        self,
        dsn: str,
        *,
        egress: str = "default",
        limits: tuple[tuple[int, float], ...] = ALTEGIO_LIMITS,
        replicas: int = 2,
        hold: float = 30.0,
        timeout: float = 2.0,
        retry: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._egress = egress
        self._limits = limits
        self._hold = hold
        self._monotonic = monotonic
        self._sleep = sleep
        self._fallback = RateLimiter(share(limits, replicas), monotonic=monotonic, sleep=sleep)
        self._instance = uuid.uuid4()
        self._link = LimitLink(
            dsn,
            timeout=timeout,
            retry=retry,
            monotonic=monotonic,
            chore=self._chore,
            on_back=self._back,
        )
        self._turns: Turns[int | None] = Turns()
        self._tenants: dict[str, TenantLimiter] = {}
        self._granter: asyncio.Task[None] | None = None
        self._nudge = asyncio.Event()
        self._reported = (0, 0)  # this process's waiting callers as the database last heard
        self._room = min((limit for limit, _ in limits), default=1)
        self._others = 0
        self._paused_until = 0.0
        self._chores: set[asyncio.Task[None]] = set()
        self._unwritten: dict[int, float] = {}  # answered grants the database has not heard of
        self.on_wait: Callable[[float], None] | None = None
        # Round trips asking for a place (what tests and measurements count).
        self.asked = 0

    @property
    def waiting(self) -> int:
        return self._turns.waiting() + self._fallback.waiting

    def spare(self) -> bool:
        """Whether a background request may go now, as far as this process last heard (the
        database decides when it asks)."""
        if self._down():
            return self._fallback.spare()
        return (
            self.waiting == 0
            and self._granter is None
            and self._monotonic() >= self._paused_until
            and self._room >= 2
            and self._others == 0
        )

    def pause(self, seconds: float) -> None:
        """Altegio answered 429: nobody behind this address goes for `seconds`."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)
        self._fallback.pause(seconds)
        if not self._down():
            self._chore(self._write_pause(seconds))

    def slot(self, priority: int = NORMAL) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait for a place in the shared windows and hold it while the request is under way."""
        return self.tenant_slot(priority, DEFAULT_TENANT, self)

    def for_tenant(self, tenant: str) -> TenantLimiter:
        """This limit, for one tenant's callers (one view per tenant)."""
        view = self._tenants.get(tenant)
        if view is None:
            view = self._tenants[tenant] = TenantLimiter(self, tenant)
        return view

    def tenant_waiting(self, tenant: str) -> int:
        """How many of `tenant`'s callers wait."""
        return self._turns.waiting(tenant) + self._fallback.tenant_waiting(tenant)

    @contextlib.asynccontextmanager
    async def tenant_slot(
        self, priority: int, tenant: str, told: Limiter | None
    ) -> AsyncIterator[None]:
        asked = self._monotonic()
        grant = await self._acquire(priority, tenant)
        if grant is None:
            async with self._fallback.tenant_slot(priority, tenant, None):
                self._waited(asked, told)
                yield
            return
        self._waited(asked, told)
        granted = self._monotonic()
        try:
            yield
        finally:
            await asyncio.shield(self._release(grant, self._monotonic() - granted))

    async def settled(self) -> None:
        """Wait until what this process owes the database (answers, pauses) is written."""
        while self._chores:
            await asyncio.gather(*self._chores, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop asking; what is still owed is written first, and this process's waiting callers
        stop counting for the others."""
        if self._granter is not None:
            self._granter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._granter
        await self.settled()
        await self._link.close((sql.FORGET_WAITERS, (self._egress, self._instance)))

    def _waited(self, asked: float, told: Limiter | None) -> None:
        if told is not None and told.on_wait is not None:
            told.on_wait(max(0.0, self._monotonic() - asked))

    def _down(self) -> bool:
        """Whether the fallback decides: the database out of reach for now, or closed."""
        return self._link.down()

    def _back(self) -> None:
        if self._unwritten:
            self._chore(self._write_late())

    async def _acquire(self, priority: int, tenant: str) -> int | None:
        """A grant's id, or None: the database is out of reach, the fallback decides."""
        if self._down():
            return None
        if priority >= BACKGROUND:
            if self._turns or self._granter is not None:
                raise NoSpareRoom
            try:
                answer = await self._ask(BACKGROUND, 0, 0, [str(tenant)])
            except DatabaseUnreachable:
                return None
            if answer.grant is None:
                raise NoSpareRoom
            return answer.grant
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        waiter = self._turns.add(priority, tenant, future)
        if self._granter is None:
            self._granter = asyncio.create_task(self._grant())
        elif priority == URGENT and self._counts(skip_first=False)[0] > self._reported[0]:
            self._nudge.set()  # tell the database now, before the others take the next place
        try:
            return await future
        except asyncio.CancelledError:
            self._turns.drop(waiter)
            if future.done() and not future.cancelled() and future.result() is not None:
                grant = future.result()
                assert grant is not None
                self._chore(self._release(grant, 0.0))
            raise

    def _counts(self, *, skip_first: bool) -> tuple[int, int]:
        """This process's callers waiting, urgent and normal (but the first in line)."""
        urgent, normal = self._turns.waiting(priority=URGENT), self._turns.waiting(priority=NORMAL)
        first = self._turns.first() if skip_first else None
        if first is not None:
            return urgent - (first.priority == URGENT), normal - (first.priority == NORMAL)
        return urgent, normal

    async def _grant(self) -> None:
        """Let this process's waiting callers through, first in line first, as the database
        allows."""
        try:
            while (first := self._turns.first()) is not None:
                paused = self._paused_until - self._monotonic()
                if paused > 1e-6:
                    await self._sleep(paused)
                    continue
                try:
                    answer = await self._ask(
                        first.priority,
                        *self._counts(skip_first=True),
                        self._waiting_tenants(first.priority),
                    )
                except DatabaseUnreachable:
                    break
                if answer.grant is None:
                    await self._wait(max(answer.delay, 0.001))
                    continue
                if (waiter := self._turns.first()) is not None:
                    if waiter.priority == first.priority:  # the tenant chosen, unless gone
                        waiter = self._turns.first_of(first.priority, answer.tenant) or waiter
                    self._turns.take(waiter)
                    waiter.future.set_result(answer.grant)
                else:
                    self._chore(self._release(answer.grant, 0.0))
        finally:
            self._granter = None
            # Left waiting (the database out of reach, or this limiter closing): the fallback
            # lets them through, never unbounded.
            for waiter in self._turns.drain():
                waiter.future.set_result(None)
            if not self._down() and self._reported != (0, 0):
                self._reported = (0, 0)
                self._chore(self._forget_waiters())

    async def _wait(self, delay: float) -> None:
        """Sleep `delay`, or less when an urgent caller arrives the database has not heard of."""
        sleeper = asyncio.ensure_future(self._sleep(delay))
        nudged = asyncio.ensure_future(self._nudge.wait())
        try:
            await asyncio.wait({sleeper, nudged}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            nudged.cancel()

    def _waiting_tenants(self, priority: int) -> list[str]:
        return [str(waiter.tenant) for waiter in self._turns.heads(priority)]

    async def _ask(self, priority: int, urgent: int, normal: int, tenants: list[str]) -> _Answer:
        self._nudge.clear()
        self.asked += 1
        row = await self._link.run(
            sql.ASK,
            (
                self._egress,
                self._instance,
                priority,
                urgent,
                normal,
                tenants,
                self._waiting_tenants(URGENT),
                self._waiting_tenants(NORMAL),
                [limit for limit, _ in self._limits],
                [window for _, window in self._limits],
                self._hold,
                LEASE,
            ),
        )
        assert row is not None
        answer = _Answer(row[0], float(row[1]), int(row[2]), int(row[3]), str(row[4]))
        if priority < BACKGROUND:
            granted = answer.grant is not None
            self._reported = (
                urgent + (priority == URGENT and not granted),
                normal + (priority == NORMAL and not granted),
            )
        self._room, self._others = answer.room, answer.others
        return answer

    async def _release(self, grant: int, held: float) -> None:
        """The request is answered: its windows run from now. Unwritten while the database is
        out of reach, it is written when it is back (as held this long after its grant, plus
        the round trip), rather than holding its place for `hold`."""
        if not self._down():
            with contextlib.suppress(DatabaseUnreachable):
                await self._link.run(sql.RELEASE, (grant,))
                return
        self._unwritten[grant] = held + LATE_MARGIN

    async def _write_late(self) -> None:
        late, self._unwritten = self._unwritten, {}
        try:
            await self._link.run(sql.RELEASE_LATE, (list(late), list(late.values())))
        except DatabaseUnreachable:
            self._unwritten |= late

    async def _write_pause(self, seconds: float) -> None:
        with contextlib.suppress(DatabaseUnreachable):
            await self._link.run(sql.PAUSE, {"egress": self._egress, "seconds": seconds})

    async def _forget_waiters(self) -> None:
        with contextlib.suppress(DatabaseUnreachable):
            await self._link.run(sql.FORGET_WAITERS, (self._egress, self._instance))

    def _chore(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)


def make_limiter(
    database_url: str | None, *, egress: str = "default", replicas: int = 2
) -> Limiter:
    """This process's own limiter without a database; with one, the limit it shares with every
    process reaching Altegio from the same address (`egress`)."""
    if not database_url:
        return RateLimiter()
    return SharedLimiter(database_url, egress=egress, replicas=replicas)
