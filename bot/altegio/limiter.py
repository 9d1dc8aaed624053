"""One process-wide pacer that keeps every Altegio call under the per-IP request limits."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

# Altegio allows 200 requests a minute and 5 a second per IP, counted as requests arrive. A
# request arrives somewhere between being let through here and its answer coming back, so each
# one holds its place in the windows from the moment it is let through until its answer is
# back, and the window runs from then: however long it takes to leave this process (a busy
# event loop) or to cross the network, six requests never reach Altegio within one second. The
# small margins cover timer and clock granularity; they cost no sustained throughput, which the
# minute's limit sets.
ALTEGIO_LIMITS: tuple[tuple[int, float], ...] = ((5, 1.1), (200, 60.5))

Sleep = Callable[[float], Awaitable[None]]


class _Entry:
    __slots__ = ("end",)

    def __init__(self) -> None:
        self.end = math.inf  # in flight: Altegio may receive it at any moment until answered


class RateLimiter:
    """Sliding windows over the last requests; callers wait their turn in arrival order.

    The asyncio lock is FIFO, and the caller at its head waits while holding it, so a burst of
    clients is served fairly in the order they asked instead of racing for free places.
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
        self._lock = asyncio.Lock()
        self._answered = asyncio.Event()
        self._paused_until = 0.0
        self.waiting = 0

    def pause(self, seconds: float) -> None:
        """Altegio answered 429: nobody goes for `seconds`, whoever asks."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a place in the windows and hold it while the request is under way."""
        entry = await self._acquire()
        try:
            yield
        finally:
            entry.end = self._monotonic()
            self._answered.set()

    def _delay(self, now: float) -> float | None:
        """Seconds until one more request may go; None while that depends on requests still
        in flight (their windows start only when they are answered)."""
        while self._history and self._history[0].end + self._span <= now:
            self._history.popleft()
        delay = 0.0
        for count, window in self._limits:
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

    async def _acquire(self) -> _Entry:
        self.waiting += 1
        try:
            async with self._lock:
                while True:
                    now = self._monotonic()
                    delay = self._delay(now)
                    if delay is None:
                        self._answered.clear()
                        await self._answered.wait()
                        continue
                    delay = max(delay, self._paused_until - now)
                    # A clock of coarse resolution could leave a sliver of a delay forever.
                    if delay <= 1e-6:
                        entry = _Entry()
                        self._history.append(entry)
                        return entry
                    await self._sleep(delay)
        finally:
            self.waiting -= 1
