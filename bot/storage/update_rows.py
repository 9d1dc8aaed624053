"""Telegram's updates as the webhook took them: each id noted once (an update Telegram sends
again is not handled twice), and each update kept until it is handled, so that one taken by a
process that died first is handled after all, by another replica or at the next start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.engine import Sql

KEEP_IDS = 86400  # seconds an id is remembered (Telegram gives up on an update well before)

# The live replicas' ids in the lock space given (`bot/leases.py`, each holds `(space, id)`).
_ALIVE = (
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND objsubid = 2 AND classid::bigint = ? AND database = ("
    " SELECT oid FROM pg_database WHERE datname = current_database())"
)


@dataclass(frozen=True, slots=True)
class Unhandled:
    """An update taken but never handled, as Telegram sent it."""

    update_id: int
    body: str


class UpdateRows:
    """The `telegram_updates` table."""

    sql: Sql

    def first_delivery(
        self,
        update_id: int,
        now: datetime,
        *,
        chat_id: int | None = None,
        body: str | None = None,
        by: int | None = None,
    ) -> bool:
        """Note a Telegram update taken by the webhook; False when it was taken before (Telegram
        sends an update again when its answer is late, to this process or another replica).
        With `body`, the update is kept until `update_handled`, noted as taken by replica `by`
        (None: a bot of one process). Ids older than a day are forgotten."""
        stamp = int(now.timestamp())
        with self.sql.transaction():
            cursor = self.sql.execute(
                "INSERT INTO telegram_updates"
                " (update_id, received_at, chat_id, body, taken_by, done)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (update_id, stamp, chat_id, body, by, 0 if body is not None else 1),
            )
            if update_id % 256 == 0:
                self.sql.execute(
                    "DELETE FROM telegram_updates WHERE received_at < ?", (stamp - KEEP_IDS,)
                )
        return cursor.rowcount == 1

    def update_handled(self, update_id: int) -> None:
        """The update was handled (or answered that it could not be): nothing of it is kept
        but its id."""
        self.sql.execute(
            "UPDATE telegram_updates SET done = 1, body = NULL WHERE update_id = ? AND done = 0",
            (update_id,),
        )

    def unhandled_updates(
        self,
        now: datetime,
        *,
        within: int,
        by: int | None = None,
        alive_space: int | None = None,
    ) -> list[Unhandled]:
        """Updates taken by a process that is gone before it handled them, oldest first, now
        taken by the asker: with replicas (`by`, `alive_space`), those of replicas no longer
        alive; for a bot of one process (at its start), every one not handled.

        An update is given up (noted handled, never handled) when it was received more than
        `within` seconds ago, or when a later update of its chat was handled or is being
        handled: the client has moved on, and the old one would only confuse them."""
        since = int(now.timestamp()) - within
        if by is None or alive_space is None:
            orphaned, later_taken, params = "done = 0", "later.done = 1", []
        else:
            orphaned = f"done = 0 AND taken_by IS NOT NULL AND taken_by NOT IN ({_ALIVE})"
            later_taken = f"later.done = 1 OR later.taken_by IN ({_ALIVE})"
            params = [alive_space]
        with self.sql.transaction():
            self.sql.execute(
                "UPDATE telegram_updates SET done = 1, body = NULL"
                f" WHERE {orphaned} AND (received_at < ? OR EXISTS ("
                " SELECT 1 FROM telegram_updates later"
                " WHERE later.chat_id = telegram_updates.chat_id"
                f" AND later.update_id > telegram_updates.update_id AND ({later_taken})))",
                [*params, since, *params],
            )
            rows = self.sql.execute(
                f"UPDATE telegram_updates SET taken_by = ? WHERE {orphaned}"
                " RETURNING update_id, body",
                [by, *params],
            ).fetchall()
        found = [Unhandled(int(row[0]), str(row[1])) for row in rows if row[1] is not None]
        return sorted(found, key=lambda update: update.update_id)
