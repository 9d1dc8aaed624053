"""Everything the bot keeps in SQLite: schema migrations and the queries on it.

Values are JSON text, never pickle; instants are ISO 8601 with their offset.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError, Table
from sqlite_utils.migrations import Migrations

migrations = Migrations("altegio-bot")


@migrations()
def m001_initial(db: Database) -> None:
    db.table("conversations").create(
        {"name": str, "key": str, "state": str}, pk=("name", "key"), not_null={"state"}
    )
    db.table("user_data").create({"user_id": int, "data": str}, pk="user_id")
    db.table("chat_data").create({"chat_id": int, "data": str}, pk="chat_id")
    db.table("bot_data").create({"id": int, "data": str}, pk="id")
    db.table("clients").create(
        {"user_id": int, "name": str, "phone": str, "updated_at": str}, pk="user_id"
    )
    db.table("bookings").create(
        {
            "record_id": int,
            "company_id": int,
            "record_hash": str,
            "chat_id": int,
            "user_id": int,
            "service_ids": str,
            "staff_id": int,
            "start": str,
            "length": int,
            "created_at": str,
        },
        pk="record_id",
    )
    db.table("bookings").create_index(["chat_id", "start"])


class StorageError(RuntimeError):
    """The database cannot be opened or written."""


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    phone: str


@dataclass(frozen=True, slots=True)
class StoredBooking:
    record_id: int
    company_id: int
    record_hash: str
    chat_id: int
    user_id: int
    service_ids: tuple[int, ...]
    staff_id: int
    start: datetime
    length: int
    created_at: datetime

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["service_ids"] = json.dumps(list(self.service_ids))
        row["start"] = self.start.isoformat()
        row["created_at"] = self.created_at.isoformat()
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredBooking:
        return cls(
            record_id=row["record_id"],
            company_id=row["company_id"],
            record_hash=row["record_hash"],
            chat_id=row["chat_id"],
            user_id=row["user_id"],
            service_ids=tuple(json.loads(row["service_ids"])),
            staff_id=row["staff_id"],
            start=datetime.fromisoformat(row["start"]),
            length=row["length"],
            created_at=datetime.fromisoformat(row["created_at"]),
        )


class Storage:
    """The one owner of the SQLite file."""

    def __init__(self, db: Database) -> None:
        self.db = db
        migrations.apply(db)

    @classmethod
    def open(cls, path: Path | None) -> Storage:
        """Open (or create) the database; `None` keeps it in memory, for tests and demos."""
        try:
            if path is None:
                return cls(Database(memory=True))
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=5.0)
            db = Database(conn)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=5000")
            storage = cls(db)
            # Fail now, at start, rather than at a client's first booking.
            db.execute("CREATE TABLE IF NOT EXISTS _write_check (x)")
            db.execute("DROP TABLE _write_check")
            return storage
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot open the database at {path}: {exc}") from exc

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        with self.db.atomic():
            yield

    def _table(self, name: str) -> Table:
        return self.db.table(name)

    # --- conversation persistence ------------------------------------------------------------

    def conversations(self, name: str) -> dict[tuple[int | str, ...], object]:
        rows = self._table("conversations").rows_where("name = ?", [name])
        return {tuple(json.loads(r["key"])): json.loads(r["state"]) for r in rows}

    def save_conversation(self, name: str, key: tuple[int | str, ...], state: object) -> None:
        table = self._table("conversations")
        encoded = json.dumps(list(key))
        if state is None:
            table.delete_where("name = ? AND key = ?", [name, encoded])
        else:
            table.upsert(
                {"name": name, "key": encoded, "state": json.dumps(state)}, pk=("name", "key")
            )

    def all_data(self, table: str, key: str) -> dict[int, dict[str, Any]]:
        return {r[key]: json.loads(r["data"]) for r in self._table(table).rows}

    def save_data(self, table: str, key: str, ident: int, data: dict[str, Any]) -> None:
        self._table(table).upsert({key: ident, "data": json.dumps(data)}, pk=key)

    def drop_data(self, table: str, key: str, ident: int) -> None:
        self._table(table).delete_where(f"{key} = ?", [ident])

    def bot_data(self) -> dict[str, Any]:
        try:
            row = self._table("bot_data").get(1)
        except NotFoundError:
            return {}
        data: dict[str, Any] = json.loads(row["data"])
        return data

    def save_bot_data(self, data: dict[str, Any]) -> None:
        self._table("bot_data").upsert({"id": 1, "data": json.dumps(data)}, pk="id")

    # --- clients and bookings ----------------------------------------------------------------

    def contact(self, user_id: int) -> Contact | None:
        try:
            row = self._table("clients").get(user_id)
        except NotFoundError:
            return None
        return Contact(row["name"], row["phone"])

    def remember_contact(self, user_id: int, contact: Contact, now: datetime) -> None:
        self._table("clients").upsert(
            {
                "user_id": user_id,
                "name": contact.name,
                "phone": contact.phone,
                "updated_at": now.isoformat(),
            },
            pk="user_id",
        )

    def record_booking(self, booking: StoredBooking) -> None:
        """Remember a confirmed booking; recording the same record id twice is a no-op."""
        self._table("bookings").insert(booking.as_row(), pk="record_id", ignore=True)

    def bookings_for_chat(self, chat_id: int) -> list[StoredBooking]:
        rows = self._table("bookings").rows_where("chat_id = ?", [chat_id], order_by="start")
        return [StoredBooking.from_row(r) for r in rows]

    def booking(self, record_id: int) -> StoredBooking | None:
        try:
            return StoredBooking.from_row(self._table("bookings").get(record_id))
        except NotFoundError:
            return None
