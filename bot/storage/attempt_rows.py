"""Booking calls in flight: each noted before it is sent to Altegio, so that after a crash or a
lost answer the bot knows what may have been booked, for whom, and since when."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.storage.engine import Sql


class AttemptState(StrEnum):
    SENDING = "sending"  # the call has gone out; its answer has not come (yet)
    CHECKING = "checking"  # its answer was lost: what became of it is being looked into
    BOOKED = "booked"  # it was found among the client's appointments
    NOT_BOOKED = "not_booked"  # nothing was booked: the client may confirm again
    UNKNOWN = "unknown"  # nobody can tell: the salon was asked

    @property
    def open(self) -> bool:
        """Whether its outcome is still to be known."""
        return self in (AttemptState.SENDING, AttemptState.CHECKING)


@dataclass(frozen=True, slots=True)
class Attempt:
    """A booking call that may have reached Altegio; see `schema.m005_attempts`."""

    flow: str
    chat_id: int
    user_id: int
    data: dict[str, Any]
    state: AttemptState
    started_at: datetime
    check_at: datetime | None = None
    deadline: datetime | None = None
    answered: bool = False

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Attempt:
        flow, chat_id, user_id, data, state, started, check_at, deadline, answered = row
        return cls(
            flow,
            chat_id,
            user_id,
            json.loads(data),
            AttemptState(state),
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


class AttemptRows:
    """The `attempts` table: one row per flow (a chat's booking, or its move)."""

    sql: Sql

    def begin_attempt(
        self, flow: str, chat_id: int, user_id: int, data: dict[str, Any], now: datetime
    ) -> None:
        """Note a booking call before it is sent (replacing an earlier one of the same flow)."""
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO attempts (flow, chat_id, user_id, data, state, started_at,"
                " answered) VALUES (?, ?, ?, ?, 'sending', ?, 0) ON CONFLICT (flow) DO UPDATE"
                " SET chat_id = excluded.chat_id, user_id = excluded.user_id,"
                " data = excluded.data, state = excluded.state, started_at = excluded.started_at,"
                " check_at = NULL, deadline = NULL, answered = 0",
                (flow, chat_id, user_id, json.dumps(data), int(now.timestamp())),
            )

    def attempt(self, flow: str) -> Attempt | None:
        row = self.sql.execute(_ATTEMPT + " WHERE flow = ?", (flow,)).fetchone()
        return Attempt.from_row(row) if row else None

    def attempts_due(self, now: datetime, orphaned_before: datetime) -> list[Attempt]:
        """Attempts to look at now: those being checked whose next look is due, and those still
        "sending" since before `orphaned_before` (their process died, or the call hung)."""
        rows = self.sql.execute(
            _ATTEMPT + " WHERE (state = 'checking' AND check_at <= ?)"
            " OR (state = 'sending' AND started_at < ?) ORDER BY started_at",
            (int(now.timestamp()), int(orphaned_before.timestamp())),
        ).fetchall()
        return [Attempt.from_row(r) for r in rows]

    def check_attempt(
        self, flow: str, check_at: datetime, deadline: datetime, *, answered: bool | None = None
    ) -> None:
        """Look again at `check_at`, until `deadline`."""
        with self.sql.transaction():
            self.sql.execute(
                "UPDATE attempts SET state = 'checking', check_at = ?, deadline = ?,"
                " answered = COALESCE(?, answered) WHERE flow = ?",
                (
                    int(check_at.timestamp()),
                    int(deadline.timestamp()),
                    None if answered is None else int(answered),
                    flow,
                ),
            )

    def settle_attempt(self, flow: str, state: AttemptState) -> None:
        """How a looked-into attempt ended: booked, not booked or unknown (kept a day, for the
        flow's buttons)."""
        with self.sql.transaction():
            self.sql.execute(
                "UPDATE attempts SET state = ?, check_at = NULL WHERE flow = ?", (str(state), flow)
            )

    def end_attempt(self, flow: str) -> None:
        """The call's own answer said what became of it: its note is no longer needed."""
        with self.sql.transaction():
            self.sql.execute("DELETE FROM attempts WHERE flow = ?", (flow,))

    def abandon_attempt(self, flow: str) -> None:
        """The client left the booking while its call is checked: its outcome is still told,
        but not offered to be tried again."""
        row = self.sql.execute("SELECT data FROM attempts WHERE flow = ?", (flow,)).fetchone()
        if row is None:
            return
        data = {**json.loads(row[0]), "abandoned": True}
        with self.sql.transaction():
            self.sql.execute(
                "UPDATE attempts SET data = ? WHERE flow = ?", (json.dumps(data), flow)
            )

    def forget_settled_attempts(self, before: datetime) -> None:
        with self.sql.transaction():
            self.sql.execute(
                "DELETE FROM attempts WHERE state IN ('booked', 'not_booked', 'unknown')"
                " AND started_at < ?",
                (int(before.timestamp()),),
            )
