"""The salon's own view: admin chats and their codes, and the booking funnel."""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.engine import Sql


class AdminRows:
    """The `admin_codes`, `admin_chats` and `funnel` tables."""

    sql: Sql

    def add_admin_code(self, code_hash: str, expires_at: int) -> None:
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO admin_codes (code_hash, expires_at) VALUES (?, ?) "
                "ON CONFLICT (code_hash) DO UPDATE SET expires_at = excluded.expires_at",
                (code_hash, expires_at),
            )

    def spend_admin_code(self, code_hash: str, now: int) -> bool:
        """Delete the code if it is known and unexpired; whether it was (expired ones go too)."""
        with self.sql.transaction():
            self.sql.execute("DELETE FROM admin_codes WHERE expires_at <= ?", (now,))
            cursor = self.sql.execute("DELETE FROM admin_codes WHERE code_hash = ?", (code_hash,))
        return cursor.rowcount == 1

    def authorize_chat(self, chat_id: int, authorized: bool) -> None:
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO admin_chats (chat_id, authorized) VALUES (?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET authorized = excluded.authorized",
                (chat_id, int(authorized)),
            )

    def authorized_chats(self) -> list[int]:
        rows = self.sql.execute("SELECT chat_id FROM admin_chats WHERE authorized = 1")
        return [row[0] for row in rows]

    def set_admin_notices(self, chat_id: int, on: bool) -> None:
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO admin_chats (chat_id, notices) VALUES (?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET notices = excluded.notices",
                (chat_id, int(on)),
            )

    def admin_notices(self, chat_id: int) -> bool:
        row = self.sql.execute(
            "SELECT notices FROM admin_chats WHERE chat_id = ?", (chat_id,)
        ).fetchone()
        return row is None or bool(row[0])

    def digest_week(self, chat_id: int) -> str:
        """The Monday (ISO date) of the last weekly digest sent to the chat, or ""."""
        row = self.sql.execute(
            "SELECT digest_week FROM admin_chats WHERE chat_id = ?", (chat_id,)
        ).fetchone()
        return str(row[0] or "") if row is not None else ""

    def set_digest_week(self, chat_id: int, week: str) -> None:
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO admin_chats (chat_id, digest_week) VALUES (?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET digest_week = excluded.digest_week",
                (chat_id, week),
            )

    def funnel_event(self, flow: str, events: Sequence[str], step: str, at: int) -> None:
        """Record milestones once per flow, in one transaction; `started` takes the step of
        every later one."""
        with self.sql.transaction():
            self.sql.executemany(
                "INSERT INTO funnel (flow, event, step, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(flow, event, step, at) for event in events],
            )
            self.sql.execute(
                "UPDATE funnel SET step = ? WHERE flow = ? AND event = 'started'", (step, flow)
            )

    def funnel_rows(self, since: int, until: int) -> list[tuple[str, str, str, int]]:
        """(flow, event, step, at) of every milestone of drafts started (and of moves and
        cancels made) in [since, until)."""
        rows = self.sql.execute(
            "SELECT f.flow, f.event, f.step, f.at FROM funnel f WHERE f.flow IN "
            "(SELECT flow FROM funnel WHERE event IN ('started', 'moved', 'cancelled') "
            "AND at >= ? AND at < ?)",
            (since, until),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def bookings_created(self) -> list[str]:
        """`created_at` (ISO 8601) of every booking made through the bot."""
        rows = self.sql.execute("SELECT created_at FROM bookings")
        return [row[0] for row in rows if row[0]]

    def bookings_located(self) -> list[tuple[str, int]]:
        """(`created_at`, `company_id`) of every booking made through the bot (0: the bot's
        own location), for a chain's counts per location."""
        rows = self.sql.execute("SELECT created_at, company_id FROM bookings")
        return [(row[0], int(row[1] or 0)) for row in rows if row[0]]
