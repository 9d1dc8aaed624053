"""Bookings made through the bot, and what the client was told about each."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database


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


class BookingRows:
    """The `bookings` table, keyed by Altegio's record id."""

    db: Database

    def record_booking(self, booking: StoredBooking) -> None:
        """Remember a confirmed booking; recording the same record id twice is a no-op."""
        # A plain statement (sqlite-utils reads the schema first).
        row = booking.as_row()
        columns = ", ".join(row)
        places = ", ".join("?" for _ in row)
        with self.db.conn:
            self.db.conn.execute(
                f"INSERT OR IGNORE INTO bookings ({columns}) VALUES ({places})",
                tuple(row.values()),
            )

    def bookings_for_chat(self, chat_id: int) -> list[StoredBooking]:
        rows = self.db.table("bookings").rows_where("chat_id = ?", [chat_id], order_by="start")
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

    def visit_bookings(self, booking: StoredBooking) -> list[StoredBooking]:
        """Every record of the booking's visit, soonest first: the booking alone unless it is
        one of consecutive appointments booked together."""
        if not booking.visit_id:
            return [booking]
        rows = self.db.table("bookings").rows_where(
            "visit_id = ?", [booking.visit_id], order_by="start"
        )
        return [StoredBooking.from_row(r) for r in rows] or [booking]

    def update_booking(self, record_id: int, **changes: Any) -> None:
        """Change the status or the time of a stored booking (the time as an aware datetime)."""
        if "start" in changes and isinstance(changes["start"], datetime):
            changes["start"] = changes["start"].isoformat()
        self.db.table("bookings").update(record_id, changes)

    def upcoming_bookings(self, chat_id: int, since: datetime) -> list[StoredBooking]:
        """Active bookings of a chat that have not ended before `since`, soonest first."""
        return [
            b
            for b in self.bookings_for_chat(chat_id)
            if b.status == "active" and b.start.timestamp() + b.length >= since.timestamp()
        ]
