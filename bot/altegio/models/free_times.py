"""When a team member can be booked: the bookable days of a range and the free times of a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.altegio.models.lenient import (
    Json,
    as_dict,
    as_int,
    as_list,
    as_str,
    parse_date,
    parse_datetime,
)


@dataclass(frozen=True, slots=True)
class BookableDates:
    booking_dates: tuple[date, ...]
    working_dates: tuple[date, ...] = ()

    @classmethod
    def from_wire(cls, data: Json, span: tuple[date, date] | None = None) -> BookableDates:
        """`span` is the requested range: month maps carry no year, so it supplies one."""
        raw = as_dict(data)
        booking = _dates(raw.get("booking_dates"))
        if not booking and span is not None:
            booking = _month_days(raw.get("booking_days"), span)
        working = _dates(raw.get("working_dates"))
        if not working and span is not None:
            working = _month_days(raw.get("working_days"), span)
        return cls(tuple(sorted(set(booking))), tuple(sorted(set(working))))


def _dates(values: Json) -> list[date]:
    return [d for d in (parse_date(v) for v in as_list(values)) if d]


def _month_days(values: Json, span: tuple[date, date]) -> list[date]:
    # Only used when `*_dates` is missing: each month gets the year that puts it in the range.
    first, last = span
    days: list[date] = []
    for month_key, items in as_dict(values).items():
        month = as_int(month_key)
        if month is None or not 1 <= month <= 12:
            continue
        for item in as_list(items):
            day = as_int(item)
            if day is None:
                continue
            for year in range(first.year, last.year + 1):
                try:
                    candidate = date(year, month, day)
                except ValueError:
                    continue
                if first <= candidate <= last:
                    days.append(candidate)
                    break
    return days


# Who a free time is free with, and how long the visit lasts with each: (team member, seconds).
FreeWith = tuple[tuple[int, int | None], ...]


def members_of(free_with: FreeWith) -> frozenset[int] | None:
    """The team members a time is free with (None: not known)."""
    return frozenset(member for member, _ in free_with) or None


def shortest_of(free_with: FreeWith) -> int | None:
    """The shortest the visit can last, with whichever of them Altegio gives it to (None: not
    known)."""
    lengths = [length for _, length in free_with if length]
    return min(lengths) if lengths else None


@dataclass(frozen=True, slots=True)
class Slot:
    """A free time; `raw` is Altegio's own `datetime`, echoed back unchanged when booking."""

    start: datetime
    raw: str
    length: int | None = None  # seconds; read member by member, the longest of theirs
    # Read member by member ("any available team member" in a rush): who the time is free with,
    # and how long the visit lasts with each (empty: not known, as in Altegio's list of anyone).
    free_with: FreeWith = ()

    @property
    def members(self) -> frozenset[int] | None:
        """Who the time is free with, when read member by member (None: not known)."""
        return members_of(self.free_with)

    @classmethod
    def list_from_wire(cls, data: Json, tz: ZoneInfo, day: date | None = None) -> list[Slot]:
        slots: dict[datetime, Slot] = {}
        for item in as_list(data):
            raw = as_dict(item)
            value = raw.get("datetime")
            start = parse_datetime(value, tz)
            if start is None and day is not None:
                time_text = as_str(raw.get("time"))
                try:
                    hour, minute = (int(x) for x in time_text.split(":")[:2])
                    start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                except ValueError:
                    start = None
                value = start.isoformat() if start else None
            if start is None:
                continue
            text = value if isinstance(value, str) else start.isoformat()
            # Shown in the salon's zone whatever offset Altegio wrote; `raw` stays verbatim.
            start = start.astimezone(tz)
            length = as_int(raw.get("sum_length")) or as_int(raw.get("seance_length"))
            slots.setdefault(start, cls(start, text, length))
        return sorted(slots.values(), key=lambda s: s.start)


@dataclass(frozen=True, slots=True)
class Nearest:
    """A team member's nearest day with free times and its times (`book_staff_seances`).

    Read leniently: `data` may be `[]` when there is nothing, `seance_date` null or a Unix
    time, and `seances` empty although a day is named (then the day's times are to be read).
    """

    day: date | None
    slots: tuple[Slot, ...] = ()

    @classmethod
    def from_wire(cls, data: Json, tz: ZoneInfo) -> Nearest:
        raw = as_dict(data)
        day = parse_date(raw.get("seance_date"))
        slots = Slot.list_from_wire(raw.get("seances"), tz, day)
        if day is None and slots:
            day = slots[0].start.date()
        return cls(day, tuple(slots))
