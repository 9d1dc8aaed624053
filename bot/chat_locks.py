"""A chat's turn across the replicas of one bot: a session-level advisory lock per chat in
PostgreSQL, so that a chat's updates are handled one at a time whichever replica receives them.

The process's own per-chat lock (`bot/updates.py`) is taken first, so a process asks for a
chat's lock at most once at a time. Up to 4096 updates run at once, most of them only waiting
for Altegio's rate limit, and a connection each would be far more than PostgreSQL allows (and a
queue for connections would hold a client's Confirm behind every read, where the limiter lets
bookings go first). So the locks are held on a few long-lived connections, the holders, one
holding the locks of many chats: taking one is a short `pg_try_advisory_lock`, letting it go
`pg_advisory_unlock` on the same connection. Only a chat whose lock another replica holds (two
of its updates at two replicas at once: rare) waits on a connection of its own from a small
pool, in a blocking `pg_advisory_lock` that blocks that session, never the event loop, and then
holds its turn on it; the pool lets go of every lock of a connection handed back.

A replica that dies takes its connections with it, and PostgreSQL lets go of their locks: at
once when the process ends (its sockets close), within about half a minute when the host is
gone (TCP keepalives set on each connection). A database out of reach, or a turn another
replica keeps longer than `wait`, is `ChatTurnUnavailable`: the update is declined politely
rather than handled out of turn. Imported only with DATABASE_URL (psycopg loaded only then).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Protocol

from bot.storage import StorageUnavailable

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)

# Connections holding the turns of the chats being handled: each takes thousands of turns a
# second, and a bot of many tenants has this many per tenant (opened as used).
HOLDERS = 2
WAITERS = 16  # connections for chats whose turn another replica holds
WAIT = 120.0  # seconds a chat waits for another replica's turn before it is declined
CONNECT_TIMEOUT = 5  # seconds
RETRY_AFTER = 5.0  # seconds a database found out of reach is not asked again
# A dead host's connections are found dead within about 10 + 3 * 5 seconds.
_KEEPALIVES = (
    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; "
    "SET tcp_keepalives_count = 3; SET tcp_user_timeout = 25000"
)


class ChatTurnUnavailable(StorageUnavailable):
    """The chat's turn could not be had across replicas: the database out of reach, or
    another replica holding it longer than the bot waits."""


class ChatLocks(Protocol):
    """A chat's turn across processes (`key`: the chat), held while the context is open."""

    def hold(self, key: int) -> contextlib.AbstractAsyncContextManager[None]: ...

    async def aclose(self) -> None: ...


def lock_key(schema: str, chat: int) -> tuple[int, int]:
    """The two 32-bit keys of a chat's lock: the bot's schema and the chat. Two chats or
    two bots that happen to share keys only take turns with each other: never wrong."""
    space = zlib.crc32(b"altegio-bot chat turn " + schema.encode())
    folded = (chat ^ (chat >> 32)) & 0xFFFFFFFF
    return _signed(space), _signed(folded)


def _signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


class PgChatLocks:
    """The chats' turns of one bot (its schema) in one PostgreSQL database."""

    def __init__(
        self,
        url: str,
        schema: str,
        *,
        holders: int = HOLDERS,
        waiters: int = WAITERS,
        wait: float = WAIT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._schema = schema
        self._holders: list[psycopg.AsyncConnection[Any] | None] = [None] * holders
        self._connecting = [asyncio.Lock() for _ in range(holders)]
        self._waiters = waiters
        self._wait = wait
        self._monotonic = monotonic
        self._pool: AsyncConnectionPool[Any] | None = None
        self._down_until = 0.0
        self._closed = False
        self._chores: set[asyncio.Future[bool]] = set()  # locks let go after a cancel

    @contextlib.asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        lock = lock_key(self._schema, key)
        slot = hash(lock) % len(self._holders)
        conn = await self._holder(slot)
        taken = await self._on_holder(conn, slot, "SELECT pg_try_advisory_lock(%s, %s)", lock)
        if taken:
            try:
                yield
            finally:
                await self._on_holder(conn, slot, "SELECT pg_advisory_unlock(%s, %s)", lock)
            return
        async with self._waiting(lock):
            yield

    async def _holder(self, slot: int) -> psycopg.AsyncConnection[Any]:
        import psycopg  # noqa: PLC0415 (only a bot given a database loads its driver)

        conn = self._holders[slot]
        if conn is not None and not conn.closed:
            return conn
        if self._closed:
            raise ChatTurnUnavailable("the chats' turns are closed")
        async with self._connecting[slot]:
            conn = self._holders[slot]
            if conn is not None and not conn.closed:
                return conn
            if self._monotonic() < self._down_until:
                raise ChatTurnUnavailable("PostgreSQL was out of reach a moment ago")
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
                )
                await conn.execute(_KEEPALIVES)
            except psycopg.Error as exc:
                self._down_until = self._monotonic() + RETRY_AFTER
                log.warning("a chat's turn cannot be taken: PostgreSQL %s", _said(exc))
                raise ChatTurnUnavailable(_said(exc)) from exc
            self._holders[slot] = conn
            return conn

    async def _on_holder(
        self, conn: psycopg.AsyncConnection[Any], slot: int, query: str, lock: tuple[int, int]
    ) -> bool:
        """One statement on a holder, never cut short: a holder carries other chats' turns,
        and a statement cancelled halfway would leave it unusable (an update cancelled at the
        stop still lets go of its lock; one that took it as it was cancelled lets go too)."""
        step = asyncio.ensure_future(_one_row(conn, query, lock))
        try:
            return await asyncio.shield(step)
        except asyncio.CancelledError:
            if query.startswith("SELECT pg_try"):
                step.add_done_callback(lambda done: self._let_go(done, conn, slot, lock))
            raise
        except Exception as exc:
            # The connection is gone, and PostgreSQL let go of every lock it held.
            if self._holders[slot] is conn:
                self._holders[slot] = None
            log.warning("a connection holding chats' turns was lost: %s", exc)
            with contextlib.suppress(Exception):
                await conn.close()
            if query.startswith("SELECT pg_try"):
                raise ChatTurnUnavailable(str(exc)) from exc
            return False

    def _let_go(
        self,
        done: asyncio.Future[bool],
        conn: psycopg.AsyncConnection[Any],
        slot: int,
        lock: tuple[int, int],
    ) -> None:
        if not done.cancelled() and done.exception() is None and done.result():
            query = "SELECT pg_advisory_unlock(%s, %s)"
            chore = asyncio.ensure_future(self._on_holder(conn, slot, query, lock))
            self._chores.add(chore)
            chore.add_done_callback(self._chores.discard)

    @contextlib.asynccontextmanager
    async def _waiting(self, lock: tuple[int, int]) -> AsyncIterator[None]:
        """Another replica has the chat: wait for it on a connection of the pool (its
        `lock_timeout` is `wait`), and hold the turn there."""
        import psycopg  # noqa: PLC0415 (see `_holder`)

        pool = await self._opened_pool()
        got = False
        try:
            async with pool.connection(timeout=self._wait) as conn:
                await conn.execute("SELECT pg_advisory_lock(%s, %s)", lock)
                got = True
                yield
        except psycopg.errors.LockNotAvailable as exc:
            raise ChatTurnUnavailable(
                f"another replica has had the chat's turn for over {self._wait:.0f} s"
            ) from exc
        except (psycopg.Error, OSError) as exc:  # PoolTimeout too: no connection in time
            if got:
                raise
            raise ChatTurnUnavailable(_said(exc)) from exc

    async def _opened_pool(self) -> AsyncConnectionPool[Any]:
        from psycopg_pool import AsyncConnectionPool  # noqa: PLC0415 (see `_holder`)

        if self._closed:
            raise ChatTurnUnavailable("the chats' turns are closed")
        if self._pool is None:
            wait_ms = int(self._wait * 1000)

            async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
                await conn.execute(f"{_KEEPALIVES}; SET lock_timeout = {wait_ms}")

            async def reset(conn: psycopg.AsyncConnection[Any]) -> None:
                # Handed back: whatever turn it held is over (also after an error).
                await conn.execute("SELECT pg_advisory_unlock_all()")

            self._pool = AsyncConnectionPool(
                self._url,
                min_size=1,
                max_size=self._waiters,
                open=False,
                kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
                configure=configure,
                reset=reset,
                timeout=self._wait,
                name="chat-turns",
            )
            await self._pool.open(wait=False)
        return self._pool

    async def aclose(self) -> None:
        """At the stop: every connection closed (their locks let go with them)."""
        self._closed = True
        if self._chores:
            await asyncio.wait(self._chores, timeout=CONNECT_TIMEOUT)
        for slot, conn in enumerate(self._holders):
            self._holders[slot] = None
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
        if self._pool is not None:
            await self._pool.close()


async def _one_row(conn: psycopg.AsyncConnection[Any], query: str, params: Any) -> bool:
    cursor = await conn.execute(query, params)
    row = await cursor.fetchone()
    return bool(row and row[0])


def _said(exc: BaseException) -> str:
    """The error's first line, never the connection string (its password)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
