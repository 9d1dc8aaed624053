"""Limits kept per client, with no Telegram in them: how fast a client may send, how often a
code may be texted to a phone, and which taps have been answered already."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class FloodGuard:
    """A token bucket per client: a burst of `burst` updates, then `rate` per second.

    One client hammering the bot is slowed down; everyone else is untouched.
    """

    def __init__(self, clock: Callable[[], float], *, burst: int = 20, rate: float = 2.0) -> None:
        self._clock = clock
        self._burst = float(burst)
        self._rate = rate
        self._buckets: dict[int, _Bucket] = {}

    def allow(self, client: int) -> tuple[bool, bool]:
        """(let this update in, tell the client to slow down) — the warning comes once a flood."""
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(self._burst, now)
            if len(self._buckets) > 10_000:
                self._forget_full(now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.stamp) * self._rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return True, False
        warn = not bucket.warned
        bucket.warned = True
        return False, warn

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * self._rate >= self._burst
        ]
        for key in full:
            del self._buckets[key]


class CodeGuard:
    """How often a text message with a code may be sent: each one costs the salon money, and a
    client (or anyone typing someone else's number) tapping "Send the code again" must not be
    able to spend it. Per phone and per client: one a minute, five an hour."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        spacing: float = 60.0,
        per_hour: int = 5,
    ) -> None:
        self._clock = clock
        self._spacing = spacing
        self._per_hour = per_hour
        self._sent: dict[str, list[float]] = {}
        self.sent = 0  # counted for the salon's figures
        self.refused = 0

    def wait(self, phone: str, client: int) -> float:
        """Seconds until a code may go to `phone` for `client`; 0 when it may now."""
        now = self._clock()
        longest = 0.0
        for key in (f"p:{phone}", f"c:{client}"):
            times = [t for t in self._sent.get(key, []) if now - t < 3600]
            self._sent[key] = times
            if times:
                longest = max(longest, times[-1] + self._spacing - now)
            if len(times) >= self._per_hour:
                longest = max(longest, times[-self._per_hour] + 3600 - now)
        return max(0.0, longest)

    def allow(self, phone: str, client: int) -> float:
        """Count a code about to be sent, or say how long to wait (then nothing is counted)."""
        wait = self.wait(phone, client)
        if wait > 0:
            self.refused += 1
            return wait
        now = self._clock()
        for key in (f"p:{phone}", f"c:{client}"):
            self._sent.setdefault(key, []).append(now)
        self.sent += 1
        if len(self._sent) > 20_000:
            self._sent = {k: v for k, v in self._sent.items() if v and now - v[-1] < 3600}
        return 0.0


class Answered:
    """Callback queries already answered (Telegram takes one answer a query, within seconds of
    the tap): one answered early because its handling is slow is not answered again."""

    def __init__(self, keep: int = 4096) -> None:
        self._ids: set[str] = set()
        self._order: deque[str] = deque()
        self._keep = keep

    def __contains__(self, query_id: object) -> bool:
        return query_id in self._ids

    def add(self, query_id: str) -> bool:
        """Mark it answered; False when it already was."""
        if query_id in self._ids:
            return False
        self._ids.add(query_id)
        self._order.append(query_id)
        if len(self._order) > self._keep:
            self._ids.discard(self._order.popleft())
        return True
