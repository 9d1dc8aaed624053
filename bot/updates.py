"""How updates are let in: one at a time per chat, many chats at once, and floods held back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of one chat run in order, so two taps on Confirm or two devices of one client
    never race each other; different chats run concurrently, up to the processor's limit."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        if key is None:
            await coroutine
            return
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]  # idle chats cost nothing
            else:
                self._locks[key] = (lock, users - 1)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user else None


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
