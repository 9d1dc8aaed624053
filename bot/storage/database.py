"""`Storage`, the database's one owner: opening it (a SQLite file: WAL, the lock, the write
check; or a PostgreSQL schema), the location it belongs to, and forgetting a client across every
table.

The queries live with their subject, one class per module, and `Storage` is made of them all;
they run on either engine through `bot.storage.engine.Sql`.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
from pathlib import Path
from typing import IO

from sqlite_utils import Database

from bot.storage.admin_rows import AdminRows
from bot.storage.attempt_rows import AttemptRows
from bot.storage.booking_rows import BookingRows
from bot.storage.client_rows import ClientRows
from bot.storage.engine import Sql, SqliteSql, StorageError, StorageUnavailable
from bot.storage.guard_rows import GuardRows
from bot.storage.inbox_rows import InboxRows
from bot.storage.location_rows import LocationRows
from bot.storage.reminder_rows import ReminderRows
from bot.storage.schema import migrations
from bot.storage.state_rows import StateRows
from bot.storage.update_rows import UpdateRows
from bot.storage.waitlist_rows import WaitlistRows

__all__ = ["Storage", "StorageError", "StorageUnavailable"]

# How long a write waits for a lock another process holds: short, because the wait blocks every
# client of this process; a write that still finds the file locked fails and is tried again.
BUSY_TIMEOUT = 0.1


def _lock(path: Path) -> IO[bytes]:
    """Hold `<file>.lock` for as long as the process uses the database."""
    handle = (path.parent / (path.name + ".lock")).open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StorageError(
            f"another bot process is using the database at {path}: stop it first, or give "
            "this one a BOT_DB_PATH of its own"
        ) from None
    return handle


class Storage(
    StateRows,
    ClientRows,
    BookingRows,
    ReminderRows,
    LocationRows,
    AttemptRows,
    AdminRows,
    InboxRows,
    WaitlistRows,
    GuardRows,
    UpdateRows,
):
    """The one owner of the database: a SQLite file (`open`), or a PostgreSQL schema
    (`open_url`)."""

    def __init__(self, db: Database | Sql, lock: IO[bytes] | None = None) -> None:
        self._lock = lock
        if isinstance(db, Database):
            self.db = db  # sqlite-utils: the SQLite file's migrations, and its tests
            self.sql: Sql = SqliteSql(db.conn)
            migrations.apply(db)
        else:
            self.sql = db

    @classmethod
    def open_url(cls, url: str, schema: str) -> Storage:
        """Open (or create) the bot's tables in a PostgreSQL schema; many processes may."""
        try:
            from bot.storage.pg_engine import PgSql  # noqa: PLC0415 (psycopg only when used)
        except ImportError as exc:
            raise StorageError(
                f"DATABASE_URL needs PostgreSQL's driver ({exc}): install the bot with it, "
                "pip install 'altegio-bot[postgres]'"
            ) from exc

        return cls(PgSql.connect(url, schema))

    @classmethod
    def open(cls, path: Path | None) -> Storage:
        """Open (or create) the database; `None` keeps it in memory, for tests and demos.

        A file is this process's alone: a second bot started on it (two locations run from one
        folder with the default path) is refused here, rather than reading and changing the
        other's appointments.
        """
        if path is None:
            return cls(Database(memory=True))
        lock: IO[bytes] | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = _lock(path)
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT)
            db = Database(conn)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
            # With WAL, NORMAL loses nothing when the process dies, only on power loss, and
            # spares an fsync on every update.
            db.execute("PRAGMA synchronous=NORMAL")
            storage = cls(db, lock)
            # Fail now, at start, rather than at a client's first booking.
            db.execute("CREATE TABLE IF NOT EXISTS _write_check (x)")
            db.execute("DROP TABLE _write_check")
            return storage
        except (sqlite3.Error, OSError) as exc:
            if lock is not None:
                lock.close()
            raise StorageError(f"cannot open the database at {path}: {exc}") from exc

    def close(self) -> None:
        self.sql.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def check_writable(self) -> None:
        """Raise `StorageUnavailable` when the database cannot be written now (another
        program holds the file's write lock, PostgreSQL out of reach); writes nothing."""
        self.sql.ping()

    def bind(self, company_id: int, group_id: int | None = None) -> None:
        """Make the stored data this location's, or this chain's (`group_id`): a file that holds
        another location's or chain's data is refused (its appointments would be read through
        the wrong salon). A location's file may become its chain's; with a chain, the location
        kept is the one a client who has not chosen is at (`home`)."""
        kept = dict(self.sql.execute("SELECT key, value FROM meta").fetchall())
        chain = kept.get("group_id")
        if group_id is None:
            if chain is not None:
                raise StorageError(
                    f"this database holds the data of the Altegio chain {chain}: set "
                    f"ALTEGIO_GROUP_ID={chain}, or give location {company_id} a BOT_DB_PATH "
                    "of its own"
                )
            if kept.get("company_id", str(company_id)) != str(company_id):
                raise StorageError(
                    f"this database holds the data of Altegio location {kept['company_id']}, "
                    f"not of location {company_id}: give each location a BOT_DB_PATH of its own"
                )
        elif chain is not None and chain != str(group_id):
            raise StorageError(
                f"this database holds the data of the Altegio chain {chain}, not of chain "
                f"{group_id}: give each chain a BOT_DB_PATH of its own"
            )
        with self.sql.transaction():
            for key, value in (("company_id", company_id), ("group_id", group_id)):
                if value is not None:
                    self.sql.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, str(value)),
                    )

    def home(self) -> int | None:
        """The location this file was last bound to (a chain's first, when none was named)."""
        row = self.sql.execute("SELECT value FROM meta WHERE key = 'company_id'").fetchone()
        return int(row[0]) if row and str(row[0]).isdigit() else None

    def forget(self, user_id: int, chat_id: int) -> None:
        """Delete everything kept about a client, in one transaction."""
        sql = self.sql
        with sql.transaction():
            sql.execute("DELETE FROM reminders WHERE chat_id = ?", [chat_id])
            for wishes in (
                "DELETE FROM wish_offers WHERE wish_id IN (SELECT id FROM wishes "
                "WHERE user_id = ? OR chat_id = ?)",
                "DELETE FROM wishes WHERE user_id = ? OR chat_id = ?",
            ):
                sql.execute(wishes, [user_id, chat_id])
            sql.execute("DELETE FROM attempts WHERE chat_id = ? OR user_id = ?", [chat_id, user_id])
            sql.execute("DELETE FROM bookings WHERE chat_id = ? OR user_id = ?", [chat_id, user_id])
            sql.execute("DELETE FROM clients WHERE user_id = ?", [user_id])
            sql.execute("DELETE FROM chats WHERE chat_id = ?", [chat_id])
            sql.execute("DELETE FROM user_data WHERE user_id = ?", [user_id])
            sql.execute("DELETE FROM chat_data WHERE chat_id = ?", [chat_id])
            for name, key in sql.execute("SELECT name, key FROM conversations").fetchall():
                if chat_id in json.loads(key) or user_id in json.loads(key):
                    sql.execute("DELETE FROM conversations WHERE name = ? AND key = ?", (name, key))
