"""What the queries run on: one small interface, `Sql`, over two engines.

The queries are written once, in the SQL both engines speak (`?` placeholders, `INSERT … ON
CONFLICT`, `RETURNING`), and run through `execute`, `executemany` and `transaction`. SQLite runs
them as they are (`SqliteSql`, here); PostgreSQL (`bot/storage/pg_engine.py`) changes only the
placeholders. Whatever the engine, a statement the database does not take raises
`StorageUnavailable`, so the callers keep one `except` for both.

The interface is synchronous: every statement is a short read or write by key, done before the
update's next await, so no other update of the process interleaves with a transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol


class StorageError(RuntimeError):
    """The database cannot be opened or written."""


class StorageUnavailable(StorageError):
    """The database did not take a statement just now: busy (another program holds the file),
    out of reach (PostgreSQL restarting, the network), or refusing it."""


Params = Sequence[Any]


class Cursor(Protocol):
    """What a statement gives back: DB-API's cursor, as far as the queries use it."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Sql(Protocol):
    """One database's connection, as the queries see it."""

    dialect: str  # "sqlite" | "postgres"

    def execute(self, sql: str, params: Params = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Everything inside is one transaction: all of it is kept, or none."""
        ...

    def ping(self) -> None:
        """Raise `StorageUnavailable` when the database cannot be written now."""
        ...

    def close(self) -> None: ...


class SqliteSql:
    """`Sql` over a sqlite3 connection (the one sqlite-utils' `Database` holds), switched to
    autocommit: a statement outside `transaction` is kept at once, as in PostgreSQL, and none
    leaves the file's write lock held until some later commit."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        conn.isolation_level = None
        self.conn = conn

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StorageUnavailable(str(exc)) from exc

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise StorageUnavailable(str(exc)) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self.conn.in_transaction:
            # Inside another one: that one commits (sqlite3's own `with conn:` would commit
            # here, halfway through the outer one).
            yield
            return
        try:
            self.conn.execute("BEGIN")
        except sqlite3.Error as exc:
            raise StorageUnavailable(str(exc)) from exc
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        try:
            self.conn.commit()
        except sqlite3.Error as exc:
            self.conn.rollback()
            raise StorageUnavailable(str(exc)) from exc

    def ping(self) -> None:
        if self.conn.in_transaction:
            return  # this process is writing right now
        try:
            # Takes the write lock and lets it go, writing nothing.
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise StorageUnavailable(str(exc)) from exc

    def close(self) -> None:
        self.conn.close()
