"""The client's read cache: values kept for a while, identical reads in flight merged into one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot.altegio import errors
from bot.altegio.queue_place import detached

# The client's parts log under the one name the client always had, so log lines read as before.
log = logging.getLogger("bot.altegio.client")

T = TypeVar("T")


class TtlCache:
    """A small TTL cache that also merges concurrent identical reads into one request."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._values: dict[str, tuple[float, Any]] = {}
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    async def get(
        self,
        key: str,
        ttl: float,
        load: Callable[[], Awaitable[T]],
        *,
        stale_if_error: bool = False,
        stale_while_loading: bool = False,
        refresh_ahead: float = 0.0,
    ) -> T:
        """`stale_if_error`: when the load fails, an expired value is better than nothing (the
        salon's name and phone during an outage). `stale_while_loading`: an expired value is
        returned at once while one load runs in the background. `refresh_ahead`: a value with
        that many seconds or fewer left is loaded again in the background, and served until
        that load is done, even once it has expired."""
        now = self._monotonic()
        hit = self._values.get(key)
        if hit is not None and hit[0] > now:
            if refresh_ahead and hit[0] - now <= refresh_ahead and key not in self._inflight:
                refresh = detached(self._load(key, ttl, load))
                self._inflight[key] = refresh
                refresh.add_done_callback(_quiet)
            value: T = hit[1]
            return value
        task = self._inflight.get(key)
        if refresh_ahead and hit is not None and task is not None:
            current: T = hit[1]  # one load is under way: the copy it replaces meanwhile
            return current
        if task is None:
            # The load runs in its own task that every caller shields, so one caller giving up
            # (a cancelled update) does not cancel the read for the others waiting on it.
            if stale_while_loading and hit is not None:
                task = detached(self._load(key, ttl, load))  # nobody waits for it
                task.add_done_callback(_quiet)
            else:
                task = asyncio.ensure_future(self._load(key, ttl, load))
            self._inflight[key] = task
        if stale_while_loading and hit is not None:
            previous: T = hit[1]
            return previous
        try:
            result: T = await asyncio.shield(task)
        except errors.AltegioError:
            if stale_if_error and hit is not None:
                stale: T = hit[1]
                return stale
            raise
        return result

    async def _load(self, key: str, ttl: float, load: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await load()
            if ttl > 0:
                self._values[key] = (self._monotonic() + ttl, result)
            return result
        finally:
            del self._inflight[key]

    def drop(self, prefix: str = "") -> None:
        for key in [k for k in self._values if k.startswith(prefix)]:
            del self._values[key]

    def kept(self, prefix: str) -> dict[str, Any]:
        """The values kept under `prefix` that are still fresh, by key."""
        now = self._monotonic()
        return {
            k: v for k, (until, v) in self._values.items() if k.startswith(prefix) and until > now
        }

    def fresh(self, key: str) -> Any:
        """The value kept under `key` while it is fresh; None otherwise."""
        hit = self._values.get(key)
        return hit[1] if hit is not None and hit[0] > self._monotonic() else None

    def replace(self, key: str, value: Any) -> None:
        """Put `value` in place of the one kept under `key`, for as long as that was to be
        kept (nothing when none is kept)."""
        hit = self._values.get(key)
        if hit is not None:
            self._values[key] = (hit[0], value)

    def patch(self, prefix: str, change: Callable[[Any], Any]) -> None:
        """Put `change(value)` in place of each value kept under `prefix`, for as long as it was
        to be kept: what the client itself has just changed at Altegio, known without a read."""
        for key, (until, value) in list(self._values.items()):
            if key.startswith(prefix):
                self._values[key] = (until, change(value))

    def expire(self, key: str) -> None:
        """Read `key` afresh next time, but keep the old value for `stale_if_error`."""
        hit = self._values.get(key)
        if hit is not None:
            self._values[key] = (float("-inf"), hit[1])


def _quiet(task: asyncio.Future[Any]) -> None:
    """A background load's failure is only logged; the next caller tries again."""
    if not task.cancelled() and task.exception() is not None:
        log.info("background read failed: %s", type(task.exception()).__name__)
