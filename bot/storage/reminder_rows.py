"""Reminders: whether a chat wants them and in which language, and the queue of those planned,
claimed by one tick at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.storage.engine import Sql

_DROP_PENDING = "UPDATE reminders SET status = 'dropped' WHERE record_id = ? AND status = 'pending'"


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


def _reminders(rows: list[Any]) -> list[Reminder]:
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


class ReminderRows:
    """The `chats` table (reminders on or off, the language, the chosen location) and the
    `reminders` queue."""

    sql: Sql

    def reminders_enabled(self, chat_id: int) -> bool:
        row = self.sql.execute(
            "SELECT reminders FROM chats WHERE chat_id = ?", (chat_id,)
        ).fetchone()
        return True if row is None or row[0] is None else bool(row[0])

    def set_reminders(self, chat_id: int, enabled: bool) -> None:
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO chats (chat_id, reminders) VALUES (?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET reminders = excluded.reminders",
                (chat_id, int(enabled)),
            )

    def set_language(self, chat_id: int, language: str) -> None:
        """The language the client chose (`/language`): the bot speaks it, reminders included."""
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO chats (chat_id, language) VALUES (?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET language = excluded.language",
                (chat_id, language),
            )

    def language(self, chat_id: int) -> str | None:
        row = self.sql.execute(
            "SELECT language FROM chats WHERE chat_id = ?", (chat_id,)
        ).fetchone()
        return str(row[0]) if row and row[0] else None

    def chosen_location(self, chat_id: int) -> int | None:
        """The chain's location the client chose (None: not chosen yet)."""
        row = self.sql.execute(
            "SELECT company_id FROM chats WHERE chat_id = ?", (chat_id,)
        ).fetchone()
        return int(row[0]) if row and row[0] else None

    def choose_location(self, chat_id: int, company_id: int | None) -> None:
        """Keep the location the client chose (None: forget the choice)."""
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO chats (chat_id, company_id) VALUES (?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET company_id = excluded.company_id",
                (chat_id, company_id),
            )

    def replace_reminders(
        self, record_id: int, chat_id: int, planned: list[tuple[str, int, datetime]]
    ) -> None:
        """Drop the record's pending reminders and schedule (kind, offset minutes, due) anew."""
        with self.sql.transaction():
            self.sql.execute(_DROP_PENDING, [record_id])
            self.sql.executemany(
                "INSERT INTO reminders (record_id, chat_id, kind, offset_minutes, due_at, status)"
                " VALUES (?, ?, ?, ?, ?, 'pending')",
                [
                    (record_id, chat_id, kind, minutes, int(due.timestamp()))
                    for kind, minutes, due in planned
                ],
            )

    def drop_reminders(self, record_id: int) -> None:
        self.sql.execute(_DROP_PENDING, [record_id])

    def claim_due(self, now: datetime, limit: int = 100, by: int | None = None) -> list[Reminder]:
        """Atomically take the reminders that are due: a claimed reminder is nobody else's.
        `by`: the replica claiming (PostgreSQL), whose claims stay its own while it lives."""
        stamp = int(now.timestamp())
        if self.sql.dialect == "postgres":
            # Replicas claim at once: each skips the rows another is claiming, and the outer
            # WHERE sees a row as it is once that other has committed.
            with self.sql.transaction():
                rows = self.sql.execute(
                    "UPDATE reminders SET status = 'claimed', claimed_at = ?, claimed_by = ?"
                    " WHERE status = 'pending' AND id IN ("
                    " SELECT id FROM reminders WHERE status = 'pending' AND due_at <= ?"
                    " ORDER BY due_at LIMIT ? FOR UPDATE SKIP LOCKED"
                    ") RETURNING id, record_id, chat_id, kind, offset_minutes, due_at, attempts,"
                    " failing_since",
                    [stamp, by, stamp, limit],
                ).fetchall()
            return _reminders(rows)
        with self.sql.transaction():
            rows = self.sql.execute(
                "UPDATE reminders SET status = 'claimed', claimed_at = ? WHERE id IN ("
                " SELECT id FROM reminders WHERE status = 'pending' AND due_at <= ?"
                " ORDER BY due_at LIMIT ?"
                ") RETURNING id, record_id, chat_id, kind, offset_minutes, due_at, attempts,"
                " failing_since",
                [stamp, stamp, limit],
            ).fetchall()
        return _reminders(rows)

    def still_claimed(self, reminder_id: int, by: int) -> bool:
        """Whether the reminder is still claimed by replica `by` (PostgreSQL): not handed to
        another replica as this one's lost meanwhile."""
        row = self.sql.execute(
            "SELECT 1 FROM reminders WHERE id = ? AND status = 'claimed' AND claimed_by = ?",
            (reminder_id, by),
        ).fetchone()
        return row is not None

    def finish_reminder(self, reminder_id: int, status: str) -> None:
        with self.sql.transaction():
            self.sql.execute("UPDATE reminders SET status = ? WHERE id = ?", (status, reminder_id))

    def retry_reminder(
        self, reminder_id: int, due: datetime, attempts: int, since: datetime
    ) -> None:
        """Try again at `due`: its appointment could not be read now (first failed at `since`)."""
        with self.sql.transaction():
            self.sql.execute(
                "UPDATE reminders SET status = 'pending', claimed_at = NULL, due_at = ?,"
                " attempts = ?, failing_since = ? WHERE id = ?",
                (int(due.timestamp()), attempts, int(since.timestamp()), reminder_id),
            )

    def release_claim(self, reminder_id: int) -> None:
        """A reminder that could not be checked or delivered now is tried again next tick."""
        with self.sql.transaction():
            self.sql.execute(
                "UPDATE reminders SET status = 'pending', claimed_at = NULL WHERE id = ?",
                (reminder_id,),
            )

    def release_stale_claims(
        self,
        now: datetime,
        older_than: int = 120,
        *,
        by: int | None = None,
        alive_space: int | None = None,
    ) -> int:
        """Claims left by a process that stopped mid-send go back to the queue.

        With replicas (PostgreSQL, `alive_space` given: the advisory-lock space in which each
        live replica holds its id), a claim goes back at once when its replica is no longer
        alive, never while it is (however slow its send), and by age only when it is the
        asking replica's own (`by`: its tick stopped halfway) or nobody's."""
        if alive_space is None or self.sql.dialect != "postgres":
            cursor = self.sql.execute(
                "UPDATE reminders SET status = 'pending', claimed_at = NULL"
                " WHERE status = 'claimed' AND claimed_at <= ?",
                [int(now.timestamp()) - older_than],
            )
            return cursor.rowcount
        cursor = self.sql.execute(
            "UPDATE reminders SET status = 'pending', claimed_at = NULL, claimed_by = NULL"
            " WHERE status = 'claimed' AND ("
            " ((claimed_by IS NULL OR claimed_by = ?) AND claimed_at <= ?)"
            " OR (claimed_by IS NOT NULL AND claimed_by <> ? AND claimed_by NOT IN ("
            "  SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
            "  AND objsubid = 2 AND classid::bigint = ? AND database = ("
            "  SELECT oid FROM pg_database WHERE datname = current_database()))))",
            [by, int(now.timestamp()) - older_than, by, alive_space],
        )
        return cursor.rowcount
