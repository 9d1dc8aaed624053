"""Everything the bot keeps in SQLite: schema migrations and the queries on it.

Values are JSON text, never pickle; instants are ISO 8601 with their offset.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError, Table

from bot.storage.schema import migrations

_DATA_TABLES = {("user_data", "user_id"), ("chat_data", "chat_id")}
_DROP_PENDING = "UPDATE reminders SET status = 'dropped' WHERE record_id = ? AND status = 'pending'"


class StorageError(RuntimeError):
    """The database cannot be opened or written."""


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


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    phone: str
    email: str = ""
    policy: str = ""  # a fingerprint of the salon's privacy policy the client accepted


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
    phone: str = ""
    fullname: str = ""
    status: str = "active"
    title: str = ""  # the services, as last known
    staff_name: str = ""  # the team member, as last known

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
            phone=row.get("phone") or "",
            fullname=row.get("fullname") or "",
            status=row.get("status") or "active",
            title=row.get("title") or "",
            staff_name=row.get("staff_name") or "",
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """A booking call that may have reached Altegio; see `m005_attempts`."""

    flow: str
    chat_id: int
    user_id: int
    data: dict[str, Any]
    state: str
    started_at: datetime
    check_at: datetime | None = None
    deadline: datetime | None = None
    answered: bool = False

    @classmethod
    def from_row(cls, row: sqlite3.Row | tuple[Any, ...]) -> Attempt:
        flow, chat_id, user_id, data, state, started, check_at, deadline, answered = row
        return cls(
            flow,
            chat_id,
            user_id,
            json.loads(data),
            state,
            _instant(started),
            None if check_at is None else _instant(check_at),
            None if deadline is None else _instant(deadline),
            bool(answered),
        )


def _instant(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, tz=UTC)


_ATTEMPT = (
    "SELECT flow, chat_id, user_id, data, state, started_at, check_at, deadline, answered "
    "FROM attempts"
)


@dataclass(frozen=True, slots=True)
class Reminder:
    id: int
    record_id: int
    chat_id: int
    kind: str
    offset_minutes: int
    due_at: datetime
    attempts: int = 0
    failing_since: datetime | None = None


class Storage:
    """The one owner of the SQLite file."""

    def __init__(self, db: Database, lock: IO[bytes] | None = None) -> None:
        self.db = db
        self._lock = lock
        migrations.apply(db)

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
        self.db.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def bind(self, company_id: int) -> None:
        """Make the stored data this location's: a file that holds another location's data is
        refused (its appointments would be read through the wrong salon)."""
        row = self.db.conn.execute("SELECT value FROM meta WHERE key = 'company_id'").fetchone()
        if row is None:
            with self.db.conn:
                self.db.conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('company_id', ?)", (str(company_id),)
                )
        elif row[0] != str(company_id):
            raise StorageError(
                f"this database holds the data of Altegio location {row[0]}, not of location "
                f"{company_id}: give each location a BOT_DB_PATH of its own"
            )

    def _table(self, name: str) -> Table:
        return self.db.table(name)

    # --- conversation persistence ------------------------------------------------------------

    def conversations(self, name: str) -> dict[tuple[int | str, ...], object]:
        rows = self._table("conversations").rows_where("name = ?", [name])
        return {tuple(json.loads(r["key"])): json.loads(r["state"]) for r in rows}

    # The writes made on every update are plain statements: sqlite-utils' upsert looks the table
    # up first, which costs more than the write itself.
    def save_conversation(self, name: str, key: tuple[int | str, ...], state: object) -> None:
        with self.db.conn:
            self._put_conversation(name, key, state)

    def all_data(self, table: str, key: str) -> dict[int, dict[str, Any]]:
        return {r[key]: json.loads(r["data"]) for r in self._table(table).rows}

    def save_data(self, table: str, key: str, ident: int, data: dict[str, Any]) -> None:
        if (table, key) not in _DATA_TABLES:
            raise ValueError(f"not a data table: {table}.{key}")
        with self.db.conn:
            self.db.conn.execute(
                f"INSERT OR REPLACE INTO {table} ({key}, data) VALUES (?, ?)",
                (ident, json.dumps(data)),
            )

    def save_state(
        self,
        user_data: Iterable[tuple[int, dict[str, Any]]],
        dropped_users: Iterable[int],
        conversations: Iterable[tuple[str, tuple[int | str, ...], object]],
    ) -> None:
        """Users' data and conversation states, as one transaction (one commit per update)."""
        conn = self.db.conn
        with conn:
            for ident, data in user_data:
                conn.execute(
                    "INSERT OR REPLACE INTO user_data (user_id, data) VALUES (?, ?)",
                    (ident, json.dumps(data)),
                )
            for ident in dropped_users:
                conn.execute("DELETE FROM user_data WHERE user_id = ?", (ident,))
            for name, key, state in conversations:
                self._put_conversation(name, key, state)

    def _put_conversation(self, name: str, key: tuple[int | str, ...], state: object) -> None:
        encoded = json.dumps(list(key))
        if state is None:
            self.db.conn.execute(
                "DELETE FROM conversations WHERE name = ? AND key = ?", (name, encoded)
            )
        else:
            self.db.conn.execute(
                "INSERT OR REPLACE INTO conversations (name, key, state) VALUES (?, ?, ?)",
                (name, encoded, json.dumps(state)),
            )

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

    # The writes of a booking are plain statements too (sqlite-utils reads the schema first).

    def contact(self, user_id: int) -> Contact | None:
        row = self.db.conn.execute(
            "SELECT name, phone, email, policy FROM clients WHERE user_id = ?", (user_id,)
        ).fetchone()
        if row is None or not row[0] or not row[1]:
            return None  # only a user token is kept for them so far
        return Contact(row[0], row[1], row[2] or "", row[3] or "")

    def remember_contact(self, user_id: int, contact: Contact, now: datetime) -> None:
        """The client's details for next time; an e-mail or a policy left empty keeps the one
        already known."""
        with self.db.conn:
            self.db.conn.execute(
                "INSERT INTO clients (user_id, name, phone, email, policy, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, "
                "phone = excluded.phone, updated_at = excluded.updated_at, "
                "email = CASE WHEN excluded.email = '' THEN email ELSE excluded.email END, "
                "policy = CASE WHEN excluded.policy = '' THEN policy ELSE excluded.policy END",
                (
                    user_id,
                    contact.name,
                    contact.phone,
                    contact.email,
                    contact.policy,
                    now.isoformat(),
                ),
            )

    def record_booking(self, booking: StoredBooking) -> None:
        """Remember a confirmed booking; recording the same record id twice is a no-op."""
        row = booking.as_row()
        columns = ", ".join(row)
        places = ", ".join("?" for _ in row)
        with self.db.conn:
            self.db.conn.execute(
                f"INSERT OR IGNORE INTO bookings ({columns}) VALUES ({places})",
                tuple(row.values()),
            )

    def bookings_for_chat(self, chat_id: int) -> list[StoredBooking]:
        rows = self._table("bookings").rows_where("chat_id = ?", [chat_id], order_by="start")
        return [StoredBooking.from_row(r) for r in rows]

    def booking(self, record_id: int) -> StoredBooking | None:
        # A plain statement: every due reminder looks its booking up (sqlite-utils' `get`
        # reads the schema first).
        cursor = self.db.conn.execute("SELECT * FROM bookings WHERE record_id = ?", (record_id,))
        row = cursor.fetchone()
        if row is None:
            return None
        return StoredBooking.from_row(
            dict(zip([c[0] for c in cursor.description], row, strict=True))
        )

    def update_booking(self, record_id: int, **changes: Any) -> None:
        """Change the status or the time of a stored booking (the time as an aware datetime)."""
        if "start" in changes and isinstance(changes["start"], datetime):
            changes["start"] = changes["start"].isoformat()
        self._table("bookings").update(record_id, changes)

    def upcoming_bookings(self, chat_id: int, since: datetime) -> list[StoredBooking]:
        """Active bookings of a chat that have not ended before `since`, soonest first."""
        return [
            b
            for b in self.bookings_for_chat(chat_id)
            if b.status == "active" and b.start.timestamp() + b.length >= since.timestamp()
        ]

    def location_facts(self, company_id: int) -> dict[str, Any]:
        """What records told about a location (phone, currency, rules), kept across restarts."""
        row = self.db.conn.execute(
            "SELECT facts FROM locations WHERE company_id = ?", (company_id,)
        ).fetchone()
        data = json.loads(row[0]) if row else {}
        return data if isinstance(data, dict) else {}

    def save_location_facts(self, company_id: int, facts: dict[str, Any]) -> None:
        with self.db.conn:
            self.db.conn.execute(
                "INSERT OR REPLACE INTO locations (company_id, facts) VALUES (?, ?)",
                (company_id, json.dumps(facts)),
            )

    def set_user_token(self, user_id: int, token: str) -> None:
        """Keep the client's Altegio user token (a client not remembered yet gets a row)."""
        with self.db.conn:
            self.db.conn.execute(
                "INSERT INTO clients (user_id, user_token) VALUES (?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET user_token = excluded.user_token",
                (user_id, token),
            )

    def user_token(self, user_id: int) -> str | None:
        # A plain statement: every appointment read asks for it (sqlite-utils reads the schema).
        row = self.db.conn.execute(
            "SELECT user_token FROM clients WHERE user_id = ?", (user_id,)
        ).fetchone()
        return str(row[0]) if row and row[0] else None

    # --- booking calls in flight -------------------------------------------------------------

    def begin_attempt(
        self, flow: str, chat_id: int, user_id: int, data: dict[str, Any], now: datetime
    ) -> None:
        """Note a booking call before it is sent (replacing an earlier one of the same flow)."""
        with self.db.conn:
            self.db.conn.execute(
                "INSERT OR REPLACE INTO attempts (flow, chat_id, user_id, data, state,"
                " started_at, answered) VALUES (?, ?, ?, ?, 'sending', ?, 0)",
                (flow, chat_id, user_id, json.dumps(data), int(now.timestamp())),
            )

    def attempt(self, flow: str) -> Attempt | None:
        row = self.db.conn.execute(_ATTEMPT + " WHERE flow = ?", (flow,)).fetchone()
        return Attempt.from_row(row) if row else None

    def attempts_due(self, now: datetime, orphaned_before: datetime) -> list[Attempt]:
        """Attempts to look at now: those being checked whose next look is due, and those still
        "sending" since before `orphaned_before` (their process died, or the call hung)."""
        rows = self.db.conn.execute(
            _ATTEMPT + " WHERE (state = 'checking' AND check_at <= ?)"
            " OR (state = 'sending' AND started_at < ?) ORDER BY started_at",
            (int(now.timestamp()), int(orphaned_before.timestamp())),
        ).fetchall()
        return [Attempt.from_row(r) for r in rows]

    def check_attempt(
        self, flow: str, check_at: datetime, deadline: datetime, *, answered: bool | None = None
    ) -> None:
        """Look again at `check_at`, until `deadline`."""
        with self.db.conn:
            self.db.conn.execute(
                "UPDATE attempts SET state = 'checking', check_at = ?, deadline = ?,"
                " answered = COALESCE(?, answered) WHERE flow = ?",
                (
                    int(check_at.timestamp()),
                    int(deadline.timestamp()),
                    None if answered is None else int(answered),
                    flow,
                ),
            )

    def settle_attempt(self, flow: str, state: str) -> None:
        """How the attempt ended: booked, not_booked or unknown (kept a day, for the flow's
        buttons), or gone (the call's own answer said)."""
        with self.db.conn:
            if state == "gone":
                self.db.conn.execute("DELETE FROM attempts WHERE flow = ?", (flow,))
            else:
                self.db.conn.execute(
                    "UPDATE attempts SET state = ?, check_at = NULL WHERE flow = ?", (state, flow)
                )

    def abandon_attempt(self, flow: str) -> None:
        """The client left the booking while its call is checked: its outcome is still told,
        but not offered to be tried again."""
        row = self.db.conn.execute("SELECT data FROM attempts WHERE flow = ?", (flow,)).fetchone()
        if row is None:
            return
        data = {**json.loads(row[0]), "abandoned": True}
        with self.db.conn:
            self.db.conn.execute(
                "UPDATE attempts SET data = ? WHERE flow = ?", (json.dumps(data), flow)
            )

    def forget_settled_attempts(self, before: datetime) -> None:
        with self.db.conn:
            self.db.conn.execute(
                "DELETE FROM attempts WHERE state IN ('booked', 'not_booked', 'unknown')"
                " AND started_at < ?",
                (int(before.timestamp()),),
            )

    # --- reminders ---------------------------------------------------------------------------

    def reminders_enabled(self, chat_id: int) -> bool:
        try:
            return bool(self._table("chats").get(chat_id)["reminders"])
        except NotFoundError:
            return True

    def set_reminders(self, chat_id: int, enabled: bool) -> None:
        self._table("chats").upsert({"chat_id": chat_id, "reminders": int(enabled)}, pk="chat_id")

    def set_language(self, chat_id: int, language: str) -> None:
        """The language messages sent outside a conversation (reminders) are written in."""
        with self.db.conn:
            self.db.conn.execute(
                "INSERT INTO chats (chat_id, language) VALUES (?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET language = excluded.language",
                (chat_id, language),
            )

    def language(self, chat_id: int) -> str | None:
        try:
            value = self._table("chats").get(chat_id).get("language")
        except NotFoundError:
            return None
        return str(value) if value else None

    def replace_reminders(
        self, record_id: int, chat_id: int, planned: list[tuple[str, int, datetime]]
    ) -> None:
        """Drop the record's pending reminders and schedule (kind, offset minutes, due) anew."""
        with self.db.atomic():
            self.db.execute(_DROP_PENDING, [record_id])
            self.db.conn.executemany(
                "INSERT INTO reminders (record_id, chat_id, kind, offset_minutes, due_at, status)"
                " VALUES (?, ?, ?, ?, ?, 'pending')",
                [
                    (record_id, chat_id, kind, minutes, int(due.timestamp()))
                    for kind, minutes, due in planned
                ],
            )

    def drop_reminders(self, record_id: int) -> None:
        self.db.execute(_DROP_PENDING, [record_id])

    def claim_due(self, now: datetime, limit: int = 100) -> list[Reminder]:
        """Atomically take the reminders that are due: a claimed reminder is nobody else's."""
        stamp = int(now.timestamp())
        with self.db.atomic():
            rows = self.db.execute(
                "UPDATE reminders SET status = 'claimed', claimed_at = ? WHERE id IN ("
                " SELECT id FROM reminders WHERE status = 'pending' AND due_at <= ?"
                " ORDER BY due_at LIMIT ?"
                ") RETURNING id, record_id, chat_id, kind, offset_minutes, due_at, attempts,"
                " failing_since",
                [stamp, stamp, limit],
            ).fetchall()
        return [
            Reminder(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                datetime.fromtimestamp(r[5], tz=UTC),
                r[6],
                None if r[7] is None else datetime.fromtimestamp(r[7], tz=UTC),
            )
            for r in sorted(rows, key=lambda r: r[5])
        ]

    def finish_reminder(self, reminder_id: int, status: str) -> None:
        with self.db.conn:
            self.db.conn.execute(
                "UPDATE reminders SET status = ? WHERE id = ?", (status, reminder_id)
            )

    def retry_reminder(
        self, reminder_id: int, due: datetime, attempts: int, since: datetime
    ) -> None:
        """Try again at `due`: its appointment could not be read now (first failed at `since`)."""
        with self.db.conn:
            self.db.conn.execute(
                "UPDATE reminders SET status = 'pending', claimed_at = NULL, due_at = ?,"
                " attempts = ?, failing_since = ? WHERE id = ?",
                (int(due.timestamp()), attempts, int(since.timestamp()), reminder_id),
            )

    def release_claim(self, reminder_id: int) -> None:
        """A reminder that could not be checked or delivered now is tried again next tick."""
        self._table("reminders").update(reminder_id, {"status": "pending", "claimed_at": None})

    def release_stale_claims(self, now: datetime, older_than: int = 120) -> int:
        """Claims left by a process that stopped mid-send go back to the queue."""
        cursor = self.db.execute(
            "UPDATE reminders SET status = 'pending', claimed_at = NULL"
            " WHERE status = 'claimed' AND claimed_at <= ?",
            [int(now.timestamp()) - older_than],
        )
        return cursor.rowcount

    # --- forgetting a client -------------------------------------------------------------------

    def forget(self, user_id: int, chat_id: int) -> None:
        """Delete everything kept about a client, in one transaction."""
        with self.db.atomic():
            self.db.execute("DELETE FROM reminders WHERE chat_id = ?", [chat_id])
            self.db.execute(
                "DELETE FROM attempts WHERE chat_id = ? OR user_id = ?", [chat_id, user_id]
            )
            self.db.execute(
                "DELETE FROM bookings WHERE chat_id = ? OR user_id = ?", [chat_id, user_id]
            )
            self.db.execute("DELETE FROM clients WHERE user_id = ?", [user_id])
            self.db.execute("DELETE FROM chats WHERE chat_id = ?", [chat_id])
            self.db.execute("DELETE FROM user_data WHERE user_id = ?", [user_id])
            self.db.execute("DELETE FROM chat_data WHERE chat_id = ?", [chat_id])
            for row in list(self._table("conversations").rows):
                key = json.loads(row["key"])
                if chat_id in key or user_id in key:
                    self._table("conversations").delete((row["name"], row["key"]))
