"""One process-wide pacer that keeps every Altegio call under the per-IP request limits."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

# Altegio allows 200 requests a minute and 5 a second per IP. The windows are kept longer here:
# a request is counted when it is let through, but it reaches Altegio a little later, later still
# on a busy event loop, so requests let through a window apart can arrive closer together. The
# second's margin costs no throughput (the minute's limit is the one that binds when busy).
ALTEGIO_LIMITS: tuple[tuple[int, float], ...] = ((5, 1.25), (200, 61.0))

Sleep = Callable[[float], Awaitable[None]]


class RateLimiter:
    """Sliding windows over the last requests; callers wait their turn in arrival order.

    The asyncio lock is FIFO, and the caller at its head sleeps while holding it, so a burst of
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
        self._history: deque[float] = deque()
        self._span = max((window for _, window in limits), default=0.0)
        self._lock = asyncio.Lock()
        self._paused_until = 0.0
        self.waiting = 0

    def pause(self, seconds: float) -> None:
        """Altegio answered 429: nobody goes for `seconds`, whoever asks."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    def _delay(self, now: float) -> float:
        while self._history and now - self._history[0] >= self._span:
            self._history.popleft()
        delay = 0.0
        for count, window in self._limits:
            if len(self._history) >= count:
                # The request `count` places back must leave the window before another may go.
                oldest = self._history[-count]
                delay = max(delay, oldest + window - now)
        return delay

    async def acquire(self) -> None:
        self.waiting += 1
        try:
            async with self._lock:
                while True:
                    now = self._monotonic()
                    delay = max(self._delay(now), self._paused_until - now)
                    # A clock of coarse resolution could leave a sliver of a delay forever.
                    if delay <= 1e-6:
                        self._history.append(now)
                        return
                    await self._sleep(delay)
        finally:
            self.waiting -= 1
