"""How updates are let in: one at a time per chat, many chats at once, a slow one answered at
once."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.altegio.queue_place import CURRENT, Place
from bot.storage import StorageUnavailable

log = logging.getLogger(__name__)

Notice = Callable[[Update], Awaitable[None]]
Declined = Callable[[Update, Exception], Awaitable[None]]
# Around an update's handling: what the client sees while its requests wait in the line.
Queued = Callable[[Update, Place], contextlib.AbstractAsyncContextManager[None]]


class SharedTurns(Protocol):
    """A chat's turn across the processes of one bot (`bot.chat_locks.PgChatLocks`)."""

    def hold(self, key: int) -> contextlib.AbstractAsyncContextManager[None]: ...

    async def aclose(self) -> None: ...


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of one chat run in order, so two taps on Confirm or two devices of one client
    never race each other; different chats run concurrently, up to the processor's limit.

    An update still being handled after `slow_after` seconds (waiting its turn for Altegio's
    rate limit, or for a slow Altegio) gets `on_slow` called, and again every few seconds, so
    the client sees the bot is working (a typing indicator).

    With `shared` (replicas of one bot on one database), a chat's turn is also taken across
    processes, inside the process's own; `on_turn` then reads the chat's state afresh before
    its update is handled and `on_turn_end` writes what it changed before the turn passes on
    (PTB notes the user's data as changed only once every handler has run), and an update
    whose turn or state cannot be had is not handled on what may be stale: `on_declined`
    answers it. Without, none of this costs anything.

    `on_queued` is around each update's handling, with its place in the line for Altegio's
    limit (`bot/altegio/queue_place.py`): the note a client sees while it waits.

    `on_handled` is told of each update done with (handled, or declined and answered), not of
    one cut short by the stop.
    """

    def __init__(
        self,
        max_concurrent_updates: int = 256,
        *,
        on_slow: Notice | None = None,
        slow_after: float = 0.6,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_start: Callable[[], None] | None = None,
        on_done: Callable[[float], None] | None = None,
        shared: SharedTurns | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        self._on_start = on_start
        self._on_done = on_done  # told how long each update took (the metrics)
        self._on_slow = on_slow
        self._slow_after = slow_after
        self._sleep = sleep
        self._shared = shared
        self.on_turn: Callable[[Update], None] | None = None
        self.on_turn_end: Notice | None = None
        self.on_declined: Declined | None = None
        self.on_handled: Callable[[object], None] | None = None
        self.on_queued: Queued | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self._on_start is not None:
            self._on_start()
        started = time.perf_counter()
        place = Place()  # where its requests stand in the line for Altegio's limit
        token = CURRENT.set(place)
        try:
            if self.on_queued is not None and isinstance(update, Update):
                async with self.on_queued(update, place):
                    await self._in_order(update, coroutine)
            else:
                await self._in_order(update, coroutine)
        finally:
            CURRENT.reset(token)
            if self._on_done is not None:
                self._on_done(time.perf_counter() - started)
        # Not when cancelled (the stop): an update kept until handled is then handled later.
        if self.on_handled is not None:
            self.on_handled(update)

    async def _in_order(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        if key is None:
            await coroutine
            return
        notice = None
        if self._on_slow is not None and isinstance(update, Update):
            notice = asyncio.create_task(self._signal(update, self._on_slow))
        try:
            if self._shared is None:
                async with self._own_turn(key):
                    await coroutine
            else:
                await self._in_shared_turn(key, update, coroutine, self._shared)
        finally:
            if notice is not None:
                notice.cancel()

    async def _in_shared_turn(
        self, key: int, update: object, coroutine: Awaitable[Any], shared: SharedTurns
    ) -> None:
        declined: Exception | None = None
        handled = False
        try:
            async with self._own_turn(key):
                try:
                    async with shared.hold(key):
                        if self.on_turn is not None and isinstance(update, Update):
                            self.on_turn(update)
                        handled = True
                        try:
                            await coroutine
                        finally:
                            if self.on_turn_end is not None and isinstance(update, Update):
                                await self.on_turn_end(update)
                except Exception as exc:
                    if handled:
                        raise
                    declined = exc
                if declined is not None:
                    if isinstance(declined, StorageUnavailable):
                        log.warning("an update declined: its chat's turn or state %s", declined)
                    else:
                        log.error("an update declined: its chat's state", exc_info=declined)
                    if self.on_declined is not None and isinstance(update, Update):
                        with contextlib.suppress(Exception):
                            await self.on_declined(update, declined)
        finally:
            if not handled and inspect.iscoroutine(coroutine):
                coroutine.close()  # never started (declined, or the stop): nothing of it ran

    @contextlib.asynccontextmanager
    async def turn(self, key: int) -> AsyncIterator[None]:
        """A chat's turn: its updates take it one at a time, and so does work outside them
        (the salon's change to one of its appointments), which waits for the update under way
        and holds the next one back. With `shared`, across processes too
        (`bot.chat_locks.ChatTurnUnavailable` when it cannot be had)."""
        async with self._own_turn(key):
            if self._shared is None:
                yield
            else:
                async with self._shared.hold(key):
                    yield

    @contextlib.asynccontextmanager
    async def _own_turn(self, key: int) -> AsyncIterator[None]:
        """The chat's turn within this process."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]  # idle chats cost nothing
            else:
                self._locks[key] = (lock, users - 1)

    async def _signal(self, update: Update, on_slow: Notice) -> None:
        await self._sleep(self._slow_after)
        while True:
            try:
                await on_slow(update)
            except Exception:
                return
            await self._sleep(4.5)  # Telegram shows "typing" for about five seconds

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        if self._shared is not None:
            await self._shared.aclose()


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user else None
