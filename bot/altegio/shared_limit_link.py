"""The shared Altegio limit's one connection to PostgreSQL, and whether the database is out of
reach for now (then the limiter keeps to its fallback, `shared_limiter.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bot.altegio import shared_limit_sql as sql

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)


class DatabaseUnreachable(Exception):
    """PostgreSQL did not answer: the process goes on with its share of the budget."""


class LimitLink:
    """One connection, one statement at a time; the tables made on first use. Any failure to
    get an answer makes the database unreachable for `retry` seconds."""

    def __init__(
        self,
        dsn: str,
        *,
        timeout: float,
        retry: float,
        monotonic: Callable[[], float],
        chore: Callable[[Coroutine[Any, Any, None]], None],
        on_back: Callable[[], None],
    ) -> None:
        self._dsn = dsn
        self._timeout = timeout
        self._retry = retry
        self._monotonic = monotonic
        self._chore = chore  # runs work in the background, awaited before closing
        self._on_back = on_back  # told when the database answers again
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._connecting = asyncio.Lock()
        self._down_until: float | None = None
        self._closed = False

    def down(self) -> bool:
        """Whether the fallback decides: the database out of reach for now, or closed."""
        if self._closed:
            return True
        return self._down_until is not None and self._monotonic() < self._down_until

    async def run(self, query: str, params: Any) -> tuple[Any, ...] | None:
        """One statement and its row (if it returns any)."""
        import psycopg  # noqa: PLC0415 (only a process given a database loads its driver)

        if self._closed:
            raise DatabaseUnreachable("closed")
        try:
            async with asyncio.timeout(self._timeout):
                conn = await self._connection()
                cursor = await conn.execute(query, params)
                row = await cursor.fetchone() if cursor.description else None
        except (psycopg.Error, OSError, TimeoutError) as exc:
            self._unreachable(exc)
            raise DatabaseUnreachable from exc
        if self._down_until is not None:
            self._down_until = None
            log.warning("the shared Altegio rate limit is kept in PostgreSQL again")
            self._on_back()
        return row

    async def close(self, last: tuple[str, Any] | None = None) -> None:
        """Run `last` if the database is in reach, then close for good."""
        if self._conn is not None:
            if not self.down() and last is not None:
                with contextlib.suppress(Exception):
                    await self.run(*last)
            if self._conn is not None:
                await self._conn.close()
            self._conn = None
        self._closed = True

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        import psycopg  # noqa: PLC0415 (see `run`)

        async with self._connecting:
            if self._conn is None or self._conn.closed:
                conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
                try:
                    async with conn.transaction():
                        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (sql.SCHEMA_LOCK,))
                        await conn.execute(sql.SCHEMA)
                        found = await conn.execute(
                            "SELECT to_regproc(%s) IS NOT NULL", (sql.GRANT_FUNCTION,)
                        )
                        exists = await found.fetchone()
                        if not (exists and exists[0]):
                            await conn.execute(sql.GRANT)
                except BaseException:
                    await conn.close()
                    raise
                self._conn = conn
            return self._conn

    def _unreachable(self, exc: BaseException) -> None:
        if self._down_until is None:
            log.warning(
                "PostgreSQL cannot be reached for the shared Altegio rate limit (%s): this "
                "process keeps to its own share of the budget and tries again every %g s",
                type(exc).__name__,
                self._retry,
            )
        self._down_until = self._monotonic() + self._retry
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            self._chore(conn.close())
