"""Bookings made through the bot, and what the client was told about each."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from bot.storage.engine import Sql


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
    language: str = ""  # the language it was booked in: its reminders' unless one is chosen
    # A visit booked as consecutive appointments with different team members: the first
    # record's id on every record of it; 0 for an appointment that is a visit of its own.
    visit_id: int = 0
    # A seat (or several) in a group class: Altegio's event id; 0 for an appointment.
    activity_id: int = 0

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
            language=row.get("language") or "",
            visit_id=row.get("visit_id") or 0,
            activity_id=row.get("activity_id") or 0,
        )


_FIELDS = tuple(f.name for f in fields(StoredBooking))
_COLUMNS = ", ".join(_FIELDS)


class BookingRows:
    """The `bookings` table, keyed by Altegio's record id."""

    sql: Sql

    def record_booking(self, booking: StoredBooking) -> None:
        """Remember a confirmed booking; recording the same record id twice is a no-op."""
        # A plain statement (sqlite-utils reads the schema first).
        row = booking.as_row()
        columns = ", ".join(row)
        places = ", ".join("?" for _ in row)
        with self.sql.transaction():
            self.sql.execute(
                f"INSERT INTO bookings ({columns}) VALUES ({places}) ON CONFLICT DO NOTHING",
                tuple(row.values()),
            )

    def bookings_for_chat(self, chat_id: int) -> list[StoredBooking]:
        return self._bookings("chat_id = ? ORDER BY start", (chat_id,))

    def _bookings(self, where: str, params: tuple[object, ...]) -> list[StoredBooking]:
        cursor = self.sql.execute(f"SELECT {_COLUMNS} FROM bookings WHERE {where}", params)
        return [StoredBooking.from_row(dict(zip(_FIELDS, r, strict=True))) for r in cursor]

    def booking(self, record_id: int) -> StoredBooking | None:
        # A plain statement: every due reminder looks its booking up (sqlite-utils' `get`
        # reads the schema first).
        found = self._bookings("record_id = ?", (record_id,))
        return found[0] if found else None

    def visit_bookings(self, booking: StoredBooking) -> list[StoredBooking]:
        """Every record of the booking's visit, soonest first: the booking alone unless it is
        one of consecutive appointments booked together."""
        if not booking.visit_id:
            return [booking]
        return self._bookings("visit_id = ? ORDER BY start", (booking.visit_id,)) or [booking]

    def update_booking(self, record_id: int, **changes: Any) -> None:
        """Change the status or the time of a stored booking (the time as an aware datetime)."""
        if "start" in changes and isinstance(changes["start"], datetime):
            changes["start"] = changes["start"].isoformat()
        unknown = set(changes) - set(_FIELDS)
        if unknown:
            raise ValueError(f"not a booking's column: {', '.join(sorted(unknown))}")
        if changes:
            places = ", ".join(f"{name} = ?" for name in changes)
            with self.sql.transaction():
                self.sql.execute(
                    f"UPDATE bookings SET {places} WHERE record_id = ?",
                    (*changes.values(), record_id),
                )

    def upcoming_bookings(self, chat_id: int, since: datetime) -> list[StoredBooking]:
        """Active bookings of a chat that have not ended before `since`, soonest first."""
        return [
            b
            for b in self.bookings_for_chat(chat_id)
            if b.status == "active" and b.start.timestamp() + b.length >= since.timestamp()
        ]
