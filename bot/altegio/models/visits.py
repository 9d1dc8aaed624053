"""Appointments: what a booking call created, and a record as Altegio reports it now."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.altegio.errors import UnexpectedResponse
from bot.altegio.models.company import Facts
from bot.altegio.models.lenient import (
    Json,
    as_bool,
    as_decimal,
    as_dict,
    as_int,
    as_list,
    as_str,
    parse_datetime,
    require_int,
)


@dataclass(frozen=True, slots=True)
class CreatedRecord:
    appointment_id: int
    record_id: int
    record_hash: str


def created_records(data: Json) -> list[CreatedRecord]:
    out: list[CreatedRecord] = []
    items = as_list(data) if not isinstance(data, Mapping) or "record_id" not in data else [data]
    for item in items:
        raw = as_dict(item)
        record_id = as_int(raw.get("record_id"))
        if record_id is None:
            record_id = as_int(raw.get("id")) if "hash" in raw else None
        record_hash = as_str(raw.get("record_hash")) or as_str(raw.get("hash"))
        if record_id is None or not record_hash:
            continue
        out.append(CreatedRecord(as_int(raw.get("id"), 0) or 0, record_id, record_hash))
    if not out:
        raise UnexpectedResponse("book_record: no record in the answer")
    return out


@dataclass(frozen=True, slots=True)
class RecordService:
    id: int
    title: str
    cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """An appointment as Altegio reports it now."""

    id: int
    start: datetime
    length: int
    deleted: bool
    staff_id: int | None
    staff_name: str
    services: tuple[RecordService, ...] = ()
    comment: str = ""
    attendance: int = 0
    company: dict[str, Json] = field(default_factory=dict)
    activity_id: int = 0  # the group event it is a seat in; 0 for an appointment

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.length)

    @property
    def company_id(self) -> int | None:
        """Its location, as the record names it (None when it does not)."""
        return as_int(self.company.get("id"))

    @property
    def facts(self) -> Facts:
        """Its location's phone, currency and rules, as the record carries them."""
        return Facts.from_wire(self.company)

    @property
    def title(self) -> str:
        return ", ".join(s.title for s in self.services if s.title)

    @classmethod
    def from_wire(cls, data: Json, tz: ZoneInfo) -> Record:
        raw = as_dict(data)
        ident = require_int(raw.get("id"), "record.id")
        # The naive local `date` is trusted over `datetime`, whose offset has been seen wrong
        # across daylight-saving changes; the salon's zone makes it aware.
        start = None
        local = as_str(raw.get("date"))
        if local and len(local) > 10:
            naive = parse_datetime(local, None)
            if naive is not None:
                start = naive.replace(tzinfo=tz)
        if start is None:
            parsed = parse_datetime(raw.get("datetime"), tz)
            start = parsed.astimezone(tz) if parsed else None
        if start is None:
            raise UnexpectedResponse("record: no usable date")
        staff = as_dict(raw.get("staff"))
        services = []
        for item in as_list(raw.get("services")):
            entry = as_dict(item)
            sid = as_int(entry.get("id"))
            if sid is not None:
                services.append(
                    RecordService(sid, as_str(entry.get("title")), as_decimal(entry.get("cost")))
                )
        attendance = raw.get("attendance", raw.get("visit_attendance"))
        return cls(
            id=ident,
            start=start,
            length=as_int(raw.get("length"), 0) or as_int(raw.get("seance_length"), 0) or 0,
            deleted=as_bool(raw.get("deleted")),
            staff_id=as_int(staff.get("id")) or as_int(raw.get("staff_id")),
            staff_name=as_str(staff.get("name")),
            services=tuple(services),
            comment=as_str(raw.get("comment")),
            attendance=as_int(attendance, 0) or 0,
            company=as_dict(raw.get("company")),
            activity_id=as_int(raw.get("activity_id"), 0) or 0,
        )


def records_from_wire(data: Json, tz: ZoneInfo) -> list[Record]:
    if isinstance(data, Mapping) and "id" in data:
        return [Record.from_wire(data, tz)]
    return [Record.from_wire(item, tz) for item in as_list(data)]
