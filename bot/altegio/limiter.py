"""One process-wide pacer that keeps every Altegio call under the per-IP request limits."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

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


class NoSpareRoom(Exception):
    """A background request found no spare room under the limits: it is not sent."""


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


class _Entry:
    __slots__ = ("end",)

    def __init__(self) -> None:
        self.end = math.inf  # in flight: Altegio may receive it at any moment until answered


class RateLimiter:
    """Sliding windows over the last requests; callers wait their turn.

    Waiting callers are served by priority, then in the order they asked, one at a time by a
    single granter, so a burst of clients is served fairly instead of racing for free places.
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
        self._queue: list[tuple[int, int, asyncio.Future[_Entry]]] = []
        self._order = itertools.count()
        self._granter: asyncio.Task[None] | None = None
        self._answered = asyncio.Event()
        self._paused_until = 0.0
        # Told how long each caller waited for its place (the metrics).
        self.on_wait: Callable[[float], None] | None = None

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, future in self._queue if not future.done())

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

    @contextlib.asynccontextmanager
    async def slot(self, priority: int = NORMAL) -> AsyncIterator[None]:
        """Wait for a place in the windows and hold it while the request is under way."""
        asked = self._monotonic()
        entry = await self._acquire(priority)
        if self.on_wait is not None:
            self.on_wait(max(0.0, self._monotonic() - asked))
        try:
            yield
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

    async def _acquire(self, priority: int) -> _Entry:
        if priority >= BACKGROUND:
            if not self.spare():
                raise NoSpareRoom
            return self._take()
        if not self._queue and self._granter is None and self._delay(self._monotonic()) == 0:
            return self._take()  # nobody waiting and room in the windows: no queue at all
        future: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (priority, next(self._order), future))
        if self._granter is None:
            self._granter = asyncio.create_task(self._grant())
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # Let through just as the caller gave up: the place is free again.
                future.result().end = self._monotonic()
                self._answered.set()
            raise

    async def _grant(self) -> None:
        """Let the waiting callers through, first in line first, as the windows allow."""
        try:
            while self._queue:
                if self._queue[0][2].done():  # the caller gave up waiting
                    heapq.heappop(self._queue)
                    continue
                delay = self._delay(self._monotonic())
                if delay is None:
                    self._answered.clear()
                    await self._answered.wait()
                elif delay > 1e-6:  # a clock of coarse resolution could leave a sliver
                    await self._sleep(delay)
                else:
                    _, _, future = heapq.heappop(self._queue)
                    if not future.done():
                        future.set_result(self._take())
        finally:
            self._granter = None
