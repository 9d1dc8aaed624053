"""One process-wide pacer that keeps every Altegio call under the per-IP request limits.

Several bots in one process (a deployment serving many salons, `for_tenant`) share it, since
Altegio counts per address. Waiting callers go by priority, and within a priority tenant by
tenant in turn (`turns.py`): a booking of any salon before the reads of every salon, and a salon
with hundreds of reads queued delays another's read by one turn (one read of each other salon
waiting), never by its queue. No tenant is capped below the whole budget: a salon alone uses
all of it, and once others wait the turns share it out. A cap by recent use would make the
salon that was busy first pay for another's late arrival (its callers stalled while the other
catches up on a minute's use), and one reserving room for idle salons would waste it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from bot.altegio.turns import Turns

# Altegio allows 200 requests a minute and 5 a second per IP, counted as requests arrive. A
# request arrives somewhere between being let through here and its answer coming back, so each
# one holds its place in the windows from the moment it is let through until its answer is
# back, and the window runs from then: however long it takes to leave this process (a busy
# event loop) or to cross the network, six requests never reach Altegio within one second. The
# small margins cover timer and clock granularity; they cost no sustained throughput, which the
# minute's limit sets.
ALTEGIO_LIMITS: tuple[tuple[int, float], ...] = ((5, 1.1), (200, 60.5))

# Who goes first when callers queue: a booking being made (a write) before the reads of clients
# still choosing, so that a booking started is finished while its free times are fresh, instead
# of behind everyone who arrived after it.
URGENT, NORMAL = 0, 1
# Reads nobody waits for (the waiting list's watcher): never queued, let through only when
# nobody is waiting and every window keeps a place free after them, so a client's request never
# finds the room taken by one.
BACKGROUND = 2
# Whose callers are untagged: a bot alone in its process.
DEFAULT_TENANT = ""


class NoSpareRoom(Exception):
    """A background request found no spare room under the limits: it is not sent."""


class Unsent(Exception):
    """Raised inside a place by a caller that, its turn come, no longer sends its request (it
    carries what the caller raises instead): the place goes to the next caller, as if never
    taken."""

    def __init__(self, instead: BaseException) -> None:
        super().__init__(str(instead))
        self.instead = instead


Sleep = Callable[[float], Awaitable[None]]


class Limiter(Protocol):
    """What the client asks of a limiter: `RateLimiter` here (one process), or `SharedLimiter`
    (`shared_limiter.py`: every process behind one address, through PostgreSQL)."""

    # Told how long each caller waited for its place (the metrics).
    on_wait: Callable[[float], None] | None

    @property
    def waiting(self) -> int: ...

    def spare(self) -> bool: ...

    def pause(self, seconds: float) -> None: ...

    def slot(self, priority: int = NORMAL) -> contextlib.AbstractAsyncContextManager[None]: ...

    def for_tenant(self, tenant: str) -> Limiter:
        """The same limit, for the callers of one tenant (one bot among several): they take
        turns with the other tenants' (see `turns.py`)."""
        ...


class _Entry:
    __slots__ = ("end",)

    def __init__(self) -> None:
        self.end = math.inf  # in flight: Altegio may receive it at any moment until answered


class RateLimiter:
    """Sliding windows over the last requests; callers wait their turn.

    Waiting callers are served by priority, then tenant by tenant in turn, each tenant's in the
    order they asked, one at a time by a single granter, so a burst of clients is served fairly
    instead of racing for free places. Untagged callers are one tenant (`DEFAULT_TENANT`).
    """

    def __init__(
        self,
        limits: tuple[tuple[int, float], ...] = ALTEGIO_LIMITS,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._limits = limits
        self._monotonic = monotonic
        self._sleep = sleep
        self._history: deque[_Entry] = deque()
        self._span = max((window for _, window in limits), default=0.0)
        self._turns: Turns[_Entry] = Turns()
        self._tenants: dict[str, TenantLimiter] = {}
        self._granter: asyncio.Task[None] | None = None
        self._answered = asyncio.Event()
        self._paused_until = 0.0
        # Told how long each untagged caller waited for its place (the metrics).
        self.on_wait: Callable[[float], None] | None = None

    @property
    def waiting(self) -> int:
        """Callers waiting, of every tenant."""
        return self._turns.waiting()

    def spare(self) -> bool:
        """Whether a background request may go now (see `BACKGROUND`)."""
        return (
            self.waiting == 0
            and self._granter is None
            and self._delay(self._monotonic(), spare=1) == 0
        )

    def pause(self, seconds: float) -> None:
        """Altegio answered 429: nobody goes for `seconds`, whoever asks."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    def slot(self, priority: int = NORMAL) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait for a place in the windows and hold it while the request is under way."""
        return self.tenant_slot(priority, DEFAULT_TENANT, self)

    def for_tenant(self, tenant: str) -> TenantLimiter:
        """This limit, for one tenant's callers (one view per tenant)."""
        view = self._tenants.get(tenant)
        if view is None:
            view = self._tenants[tenant] = TenantLimiter(self, tenant)
        return view

    def tenant_waiting(self, tenant: str) -> int:
        """How many of `tenant`'s callers wait."""
        return self._turns.waiting(tenant)

    @contextlib.asynccontextmanager
    async def tenant_slot(
        self, priority: int, tenant: str, told: Limiter | None
    ) -> AsyncIterator[None]:
        """A place for `tenant`'s caller; `told` (if any) hears how long it waited."""
        asked = self._monotonic()
        entry = await self._acquire(priority, tenant)
        if told is not None and told.on_wait is not None:
            told.on_wait(max(0.0, self._monotonic() - asked))
        try:
            yield
        except Unsent:
            self._history.remove(entry)
            raise
        finally:
            entry.end = self._monotonic()
            self._answered.set()

    def _delay(self, now: float, spare: int = 0) -> float | None:
        """Seconds until one more request may go (leaving `spare` places free in every window);
        None while that depends on requests still in flight (their windows start only when
        they are answered)."""
        while self._history and self._history[0].end + self._span <= now:
            self._history.popleft()
        delay = max(0.0, self._paused_until - now)
        for limit, window in self._limits:
            count = max(1, limit - spare)
            if len(self._history) < count:
                continue
            ends = [e.end + window for e in self._history if e.end + window > now]
            if len(ends) < count:
                continue
            # This many must leave the window first; requests in flight leave it last.
            ends.sort()
            leaving = ends[len(ends) - count]
            if leaving == math.inf:
                return None
            delay = max(delay, leaving - now)
        return delay

    def _take(self) -> _Entry:
        entry = _Entry()
        self._history.append(entry)
        return entry

    async def _acquire(self, priority: int, tenant: str) -> _Entry:
        if priority >= BACKGROUND:
            if not self.spare():
                raise NoSpareRoom
            return self._take()
        if not self._turns and self._granter is None and self._delay(self._monotonic()) == 0:
            return self._take()  # nobody waiting and room in the windows: no queue at all
        future: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        waiter = self._turns.add(priority, tenant, future)
        if self._granter is None:
            self._granter = asyncio.create_task(self._grant())
        try:
            return await future
        except asyncio.CancelledError:
            self._turns.drop(waiter)
            if future.done() and not future.cancelled():
                # Let through just as the caller gave up: the place is free again.
                future.result().end = self._monotonic()
                self._answered.set()
            raise

    async def _grant(self) -> None:
        """Let the waiting callers through, whoever's turn it is first, as the windows allow."""
        try:
            while self._turns.first() is not None:
                delay = self._delay(self._monotonic())
                if delay is None:
                    self._answered.clear()
                    await self._answered.wait()
                elif delay > 1e-6:  # a clock of coarse resolution could leave a sliver
                    await self._sleep(delay)
                else:
                    waiter = self._turns.first()
                    if waiter is not None:
                        self._turns.take(waiter)
                        waiter.future.set_result(self._take())
        finally:
            self._granter = None


class _Tenanted(Protocol):
    """A limiter whose callers may belong to tenants: `RateLimiter`, `SharedLimiter`."""

    def spare(self) -> bool: ...

    def pause(self, seconds: float) -> None: ...

    def for_tenant(self, tenant: str) -> TenantLimiter: ...

    def tenant_slot(
        self, priority: int, tenant: str, told: Limiter | None
    ) -> contextlib.AbstractAsyncContextManager[None]: ...

    def tenant_waiting(self, tenant: str) -> int: ...


class TenantLimiter:
    """One tenant's view of a limiter: its callers take turns with the other tenants'; the
    windows, the pause and background reads' spare room are the whole limiter's."""

    def __init__(self, limiter: _Tenanted, tenant: str) -> None:
        self._limiter = limiter
        self.tenant = tenant
        # Told how long each of this tenant's callers waited for its place.
        self.on_wait: Callable[[float], None] | None = None

    @property
    def waiting(self) -> int:
        """This tenant's callers waiting."""
        return self._limiter.tenant_waiting(self.tenant)

    def spare(self) -> bool:
        return self._limiter.spare()

    def pause(self, seconds: float) -> None:
        self._limiter.pause(seconds)

    def slot(self, priority: int = NORMAL) -> contextlib.AbstractAsyncContextManager[None]:
        return self._limiter.tenant_slot(priority, self.tenant, self)

    def for_tenant(self, tenant: str) -> TenantLimiter:
        return self._limiter.for_tenant(tenant)
