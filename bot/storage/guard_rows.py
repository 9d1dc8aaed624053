"""The guards several replicas of one bot share, on PostgreSQL only (`pg001_shared_guards`):
held times, flood buckets, texted codes and the Altegio circuit breaker.

Each check is one statement (an upsert returning what it decided) or one short transaction
under row locks, so two replicas asking at once get the answers one process would give. Times
are the bot's injected clock as Unix seconds. Lapsed rows are deleted by `forget_lapsed_guards`,
which the guards call now and then (`bot/shared_guards.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from bot.storage.engine import Sql

# A token bucket refilled to `now`, capped at the burst: (burst, rate) as parameters.
_REFILL = "LEAST(?, guard_floods.tokens + GREATEST(0, excluded.stamp - guard_floods.stamp) * ?)"


class GuardRows:
    """The `guard_*` tables, which SQLite has not: a bot on one process keeps its guards in
    memory (`bot/limits.py`, `bot.draft.Holds`)."""

    sql: Sql

    # --- held times ---------------------------------------------------------------------

    def hold_time(  # noqa: PLR0917 - a hold's parts, in the table's order
        self, flow: str, staff_id: int, slot: str, until: float, length: int, members: list[int]
    ) -> None:
        """Hold `slot` for the flow; `members`: held with anyone, who may see to it (JSON)."""
        self.sql.execute(
            "INSERT INTO guard_holds (flow, staff_id, slot, until, length, members) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (flow) DO UPDATE SET "
            "staff_id = excluded.staff_id, slot = excluded.slot, until = excluded.until, "
            "length = excluded.length, members = excluded.members",
            (flow, staff_id, slot, until, length, json.dumps(members)),
        )

    def release_time(self, flow: str) -> None:
        self.sql.execute("DELETE FROM guard_holds WHERE flow = ?", (flow,))

    def times_held(
        self, staff_id: int, besides: str, now: float
    ) -> list[tuple[str, int, list[int]]]:
        """The times other flows than `besides` hold with this team member, each with its
        visit's length (seconds, 0 unknown) and, held with anyone, who may see to it."""
        rows = self.sql.execute(
            "SELECT slot, length, members FROM guard_holds "
            "WHERE staff_id = ? AND flow <> ? AND until > ?",
            (staff_id, besides, now),
        ).fetchall()
        return [(str(row[0]), int(row[1] or 0), _members(row[2])) for row in rows]

    # --- flood buckets ------------------------------------------------------------------

    def take_token(self, client: int, now: float, burst: float, rate: float) -> int:
        """Take one token from the client's bucket: 0 taken, 1 refused (the first refusal of
        this flood: warn), 2 refused again. One statement: the row is locked while it runs."""
        row = self.sql.execute(
            "INSERT INTO guard_floods (client, tokens, stamp, warned, outcome) "
            "VALUES (?, ?, ?, 0, 0) ON CONFLICT (client) DO UPDATE SET "
            f"tokens = CASE WHEN {_REFILL} >= 1 THEN {_REFILL} - 1 ELSE {_REFILL} END, "
            "stamp = GREATEST(guard_floods.stamp, excluded.stamp), "
            f"warned = CASE WHEN {_REFILL} >= 1 THEN 0 ELSE 1 END, "
            f"outcome = CASE WHEN {_REFILL} >= 1 THEN 0 "
            "WHEN guard_floods.warned = 0 THEN 1 ELSE 2 END "
            "RETURNING outcome",
            (client, burst - 1, now, *(burst, rate) * 5),
        ).fetchone()
        return int(row[0])

    # --- texted codes -------------------------------------------------------------------

    def claim_code(
        self,
        keys: Sequence[str],
        now: float,
        window: float,
        wait_for: Callable[[list[list[float]]], float],
    ) -> float:
        """Under the keys' row locks: the times codes went out under each key within `window`,
        oldest first, given to `wait_for`; when it answers 0 a code is counted under every key
        (and 0 returned); any other answer is returned, and nothing counted."""
        keys = sorted(keys)  # locked in one order everywhere: no deadlock between replicas
        with self.sql.transaction():
            for key in keys:
                self.sql.execute(
                    "INSERT INTO guard_codes (key, sent, last_at) VALUES (?, '', 0) "
                    "ON CONFLICT (key) DO NOTHING",
                    (key,),
                )
            rows = dict(
                self.sql.execute(
                    "SELECT key, sent FROM guard_codes WHERE key = ANY(?) ORDER BY key FOR UPDATE",
                    (keys,),
                ).fetchall()
            )
            sent = [
                sorted(t for t in map(float, str(rows.get(key, "")).split()) if now - t < window)
                for key in keys
            ]
            wait = wait_for(sent)
            if wait != 0:
                return wait
            for key, times in zip(keys, sent, strict=True):
                self.sql.execute(
                    "UPDATE guard_codes SET sent = ?, last_at = ? WHERE key = ?",
                    (" ".join(repr(t) for t in [*times, now]), now, key),
                )
        return 0.0

    # --- the circuit breaker ------------------------------------------------------------

    def breaker_state(self, name: str) -> tuple[int, float]:
        """(failures in a row, paused until) as every replica left them."""
        row = self.sql.execute(
            "SELECT failures, open_until FROM guard_breakers WHERE name = ?", (name,)
        ).fetchone()
        return (int(row[0]), float(row[1])) if row else (0, 0.0)

    def breaker_failed(
        self, name: str, now: float, threshold: int, cooldown: float
    ) -> tuple[int, float]:
        """Count a failure; the `threshold`-th in a row pauses calls until `now + cooldown`
        (and leaves one failure short of it, so that after the pause one failure reopens)."""
        opens = threshold <= 1  # the first failure is already the threshold-th
        row = self.sql.execute(
            "INSERT INTO guard_breakers (name, failures, open_until) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET "
            "failures = CASE WHEN guard_breakers.failures + 1 >= ? THEN ? "
            "ELSE guard_breakers.failures + 1 END, "
            "open_until = CASE WHEN guard_breakers.failures + 1 >= ? THEN ? "
            "ELSE guard_breakers.open_until END "
            "RETURNING failures, open_until",
            (
                name,
                threshold - 1 if opens else 1,
                now + cooldown if opens else 0.0,
                threshold,
                threshold - 1,
                threshold,
                now + cooldown,
            ),
        ).fetchone()
        return int(row[0]), float(row[1])

    def breaker_closed(self, name: str) -> None:
        self.sql.execute(
            "UPDATE guard_breakers SET failures = 0, open_until = 0 WHERE name = ?", (name,)
        )

    # --- lapsed rows --------------------------------------------------------------------

    def forget_lapsed_guards(self, now: float, *, bucket_full: float, code_window: float) -> None:
        """Delete what no longer guards anything: lapsed holds, buckets full again (a client
        quiet for `bucket_full` seconds), code counts older than `code_window`."""
        self.sql.execute("DELETE FROM guard_holds WHERE until <= ?", (now,))
        self.sql.execute("DELETE FROM guard_floods WHERE stamp < ?", (now - bucket_full,))
        self.sql.execute("DELETE FROM guard_codes WHERE last_at < ?", (now - code_window,))


def _members(stored: object) -> list[int]:
    """A hold's members as stored (a JSON list; nothing, or anything else, for none)."""
    try:
        found = json.loads(str(stored or "[]"))
    except ValueError:
        return []
    return [int(m) for m in found if isinstance(m, int)] if isinstance(found, list) else []
