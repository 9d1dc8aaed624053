"""`Sql` over PostgreSQL (psycopg 3): the same queries as SQLite, each bot in a schema of its own.

Many processes (replicas, or a restart beside a stopping one) share one schema: the migrations
run under a transaction-level advisory lock, so replicas starting together apply each once.
A statement outside `transaction` is its own transaction (autocommit), as in `SqliteSql`. A lost
connection fails the statement under way (`StorageUnavailable`, as a busy SQLite file does) and
is made again by the next one.

The storage's statements are synchronous (each a short read or write by key, between two
awaits): a database that does not answer would hold the whole process. So a connection attempt
waits at most `CONNECT_TIMEOUT`, a connection whose network went silent is given up within
`tcp_user_timeout` and found dead by keepalives while idle, and once an attempt has failed the
statements of the next `RETRY_AFTER` seconds fail at once, without trying again: a black-holed
database costs the process one wait every few seconds, not one per statement.

Imported only when `DATABASE_URL` is set: a bot on SQLite never loads psycopg.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import psycopg
from psycopg import sql as pgsql

from bot.storage.engine import Cursor, Params, StorageError, StorageUnavailable
from bot.storage.pg_schema import MIGRATIONS

log = logging.getLogger(__name__)

SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Taken (per transaction) while a schema's migrations run: "altb" "migr".
_MIGRATIONS_LOCK = (0x616C7462, 0x6D696772)
CONNECT_TIMEOUT = 5  # seconds: a database out of reach fails a statement, not the bot
RETRY_AFTER = 3.0  # seconds a failed connection attempt is not made again
# A silent network gives up a statement's send within 5 s; an idle connection is found dead
# within about 10 + 3 * 5 s.
_LIVELINESS: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 5000,
}


def _postgres(sql: str, cache: dict[str, str]) -> str:
    """`?` placeholders as psycopg's `%s` (and a literal `%` doubled)."""
    translated = cache.get(sql)
    if translated is None:
        translated = cache[sql] = sql.replace("%", "%%").replace("?", "%s")
    return translated


def _params(params: Params) -> Params:
    # SQLite stores a bool as 0/1 in an INTEGER column; PostgreSQL wants the number.
    if any(isinstance(p, bool) for p in params):
        return [int(p) if isinstance(p, bool) else p for p in params]
    return params


class PgSql:
    """One connection to one schema."""

    dialect = "postgres"

    def __init__(self, url: str, schema: str) -> None:
        if not SCHEMA_NAME.match(schema):
            raise StorageError(
                f"{schema!r} cannot name a PostgreSQL schema: use lower-case letters, digits "
                "and _ (DATABASE_SCHEMA)"
            )
        self.url = url
        self.schema = schema
        self._sql: dict[str, str] = {}
        self._conn: psycopg.Connection[Any] | None = None
        self.monotonic: Callable[[], float] = time.monotonic
        self._down_until = 0.0

    @classmethod
    def connect(cls, url: str, schema: str) -> PgSql:
        """Connect, create the schema when missing and bring its tables up to date."""
        engine = cls(url, schema)
        try:
            engine.migrate()
        except StorageUnavailable as exc:
            raise StorageError(
                f"cannot open the PostgreSQL database (DATABASE_URL): {exc}"
            ) from exc
        return engine

    def _connection(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        if self.monotonic() < self._down_until:
            raise StorageUnavailable("PostgreSQL was out of reach a moment ago")
        try:
            conn = psycopg.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, **_LIVELINESS
            )
            conn.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(self.schema)))
        except psycopg.Error as exc:
            self._down_until = self.monotonic() + RETRY_AFTER
            raise StorageUnavailable(_said(exc)) from exc
        if self._conn is not None:
            log.info("connected to PostgreSQL again")
        self._conn = conn
        return conn

    def migrate(self) -> None:
        conn = self._connection()
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", _MIGRATIONS_LOCK)
                conn.execute(
                    pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        pgsql.Identifier(self.schema)
                    )
                )
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, "
                    "applied_at timestamptz NOT NULL DEFAULT now())"
                )
                done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
                for name, statements in MIGRATIONS:
                    if name in done:
                        continue
                    for statement in statements:
                        conn.execute(statement.encode())
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
        except psycopg.Error as exc:
            raise StorageUnavailable(_said(exc)) from exc

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        conn = self._connection()
        try:
            return conn.execute(_postgres(sql, self._sql), _params(params))
        except psycopg.Error as exc:
            raise StorageUnavailable(_said(exc)) from exc

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        conn = self._connection()
        try:
            with conn.cursor() as cursor:
                cursor.executemany(_postgres(sql, self._sql), [_params(r) for r in rows])
        except psycopg.Error as exc:
            raise StorageUnavailable(_said(exc)) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        conn = self._connection()
        try:
            with conn.transaction():
                yield
        except psycopg.Error as exc:
            raise StorageUnavailable(_said(exc)) from exc

    def ping(self) -> None:
        self.execute("SELECT 1")

    def retry_now(self) -> None:
        """Let the next statement try to connect at once (the database is known to be back)."""
        self._down_until = 0.0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _said(exc: psycopg.Error) -> str:
    """The error's first line: enough to tell what happened, and never the connection string
    (its password)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
