"""Group events ("activities", a studio's classes) as Altegio lists them, read leniently.

An event's location is `company_id` (Altegio) or `salon_id` (YCLIENTS); its `date` is ISO with
an offset, or the local "YYYY-MM-DD HH:MM:SS" beside a Unix `timestamp`. `search_dates` answers
in a form nobody documents for Altegio: a list of days, of objects naming their day, an object
holding such a list, or a month map; each is read. Free seats are `capacity - records_count`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.altegio.models.lenient import (
    Json,
    as_decimal,
    as_dict,
    as_int,
    as_list,
    as_str,
    parse_date,
    parse_datetime,
)


@dataclass(frozen=True, slots=True)
class Activity:
    """One group event: a class at a time, with an instructor and seats."""

    id: int
    service_id: int
    title: str
    staff_id: int
    staff_name: str
    start: datetime
    length: int  # seconds
    capacity: int
    records_count: int
    price_min: Decimal | None = None
    price_max: Decimal | None = None

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.records_count)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.length)


def _start(raw: Mapping[str, Json], tz: ZoneInfo) -> datetime | None:
    """The local `date` trusted first (an offset may be wrong across daylight saving, as in
    records), then an ISO `date` with its offset, then `timestamp`."""
    value = raw.get("date")
    text = as_str(value)
    if text and len(text) > 10 and "T" not in text and "+" not in text:
        naive = parse_datetime(text, None)
        if naive is not None:
            return naive.replace(tzinfo=tz)
    parsed = parse_datetime(value, tz) if text and len(text) > 10 else None
    if parsed is None:
        parsed = parse_datetime(raw.get("timestamp"), tz)
    return parsed.astimezone(tz) if parsed else None


def activity_from_wire(data: Json, tz: ZoneInfo) -> Activity | None:
    """An event, or None when it lacks what a client needs (its id, time or seats)."""
    raw = as_dict(data)
    ident = as_int(raw.get("id"))
    start = _start(raw, tz)
    capacity = as_int(raw.get("capacity"))
    if ident is None or start is None or capacity is None:
        return None
    service = as_dict(raw.get("service"))
    staff = as_dict(raw.get("staff"))
    return Activity(
        id=ident,
        service_id=as_int(raw.get("service_id")) or as_int(service.get("id"), 0) or 0,
        title=as_str(service.get("title")) or as_str(raw.get("title")),
        staff_id=as_int(raw.get("staff_id")) or as_int(staff.get("id"), 0) or 0,
        staff_name=as_str(staff.get("name")),
        start=start,
        length=as_int(raw.get("length"), 0) or 0,
        capacity=capacity,
        records_count=as_int(raw.get("records_count"), 0) or 0,
        price_min=as_decimal(service.get("price_min")),
        price_max=as_decimal(service.get("price_max")),
    )


def activities_from_wire(data: Json, tz: ZoneInfo) -> list[Activity]:
    found = (activity_from_wire(item, tz) for item in as_list(data))
    return sorted((a for a in found if a is not None), key=lambda a: (a.start, a.id))


def event_days(data: Json, year: int) -> list[date]:
    """The days `search_dates` names, in any of its forms; `year` places a month map's days."""
    if isinstance(data, Mapping):
        for key in ("dates", "data", "days", "event_dates"):
            if key in data:
                return event_days(data[key], year)
        if all(as_int(k) is not None for k in data):  # {"12": [3, 5]}, as `book_dates` writes
            days = [
                date(year, int(month), number)
                for month, numbers in data.items()
                for value in as_list(numbers)
                if (number := as_int(value)) is not None
            ]
            return sorted(days)
    found: set[date] = set()
    for item in as_list(data):
        value = as_dict(item).get("date") if isinstance(item, Mapping) else item
        day = parse_date(value)
        if day is not None:
            found.add(day)
    return sorted(found)


def date_range(data: Json) -> tuple[date | None, date | None]:
    raw = as_dict(data)
    return parse_date(raw.get("min_date")), parse_date(raw.get("max_date"))


def facets(data: Json) -> dict[str, list[tuple[int, str]]]:
    """`filters`: per facet code (staff, service, ...), its values that match anything."""
    found: dict[str, list[tuple[int, str]]] = {}
    for item in as_list(data):
        facet = as_dict(item)
        values = []
        for entry in as_list(facet.get("data")):
            raw = as_dict(entry)
            ident = as_int(raw.get("id"))
            if ident is not None and not raw.get("is_disabled"):
                values.append((ident, as_str(raw.get("title"))))
        found[as_str(facet.get("code"))] = values
    return found
