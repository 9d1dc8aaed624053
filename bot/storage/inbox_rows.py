"""Altegio's webhook events as received (the inbox), and the newest change followed per record."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.engine import Sql


@dataclass(frozen=True, slots=True)
class HookEvent:
    key: str
    record_id: int
    status: str  # create | update | delete
    changed_at: int  # Unix seconds; 0: not given
    body: dict[str, Any]


class InboxRows:
    """The `hook_inbox` and `hook_marks` tables."""

    sql: Sql

    def keep_hook_event(self, event: HookEvent, now: datetime) -> bool:
        """Keep a received event; False when the same event was received before."""
        with self.sql.transaction():
            cursor = self.sql.execute(
                "INSERT INTO hook_inbox"
                " (key, record_id, status, changed_at, body, received_at, done)"
                " VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING",
                (
                    event.key,
                    event.record_id,
                    event.status,
                    event.changed_at,
                    json.dumps(event.body),
                    int(now.timestamp()),
                ),
            )
        return cursor.rowcount == 1

    def hook_events_waiting(self, limit: int = 100) -> list[HookEvent]:
        """Events not processed yet, in the order received."""
        # The order they came in: SQLite's rowid, PostgreSQL's `seq` (it has no rowid).
        arrival = "rowid" if self.sql.dialect == "sqlite" else "seq"
        rows = self.sql.execute(
            "SELECT key, record_id, status, changed_at, body FROM hook_inbox WHERE done = 0"
            f" ORDER BY received_at, {arrival} LIMIT ?",
            (limit,),
        ).fetchall()
        return [HookEvent(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def finish_hook_event(self, key: str) -> None:
        """Processed: only its key is kept (to know a repeat), not the client's details."""
        with self.sql.transaction():
            self.sql.execute("UPDATE hook_inbox SET done = 1, body = '{}' WHERE key = ?", (key,))

    def hook_mark(self, record_id: int) -> int:
        """The newest change followed of the record (Unix seconds), 0 for none."""
        row = self.sql.execute(
            "SELECT changed_at FROM hook_marks WHERE record_id = ?", (record_id,)
        ).fetchone()
        return int(row[0]) if row else 0

    def mark_hook(self, record_id: int, changed_at: int) -> None:
        """The record's change at `changed_at` was followed (an older mark never wins)."""
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO hook_marks (record_id, changed_at) VALUES (?, ?)"
                " ON CONFLICT (record_id) DO UPDATE SET"
                " changed_at = CASE WHEN excluded.changed_at > hook_marks.changed_at"
                " THEN excluded.changed_at ELSE hook_marks.changed_at END",
                (record_id, changed_at),
            )

    def forget_hook_events(self, before: datetime) -> None:
        """Processed events received before `before` (a repeat that late is unlikely, and its
        mark still keeps it from changing anything)."""
        with self.sql.transaction():
            self.sql.execute(
                "DELETE FROM hook_inbox WHERE done = 1 AND received_at < ?",
                (int(before.timestamp()),),
            )
