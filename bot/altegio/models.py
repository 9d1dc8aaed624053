"""Typed records of what Altegio returns, parsed leniently from the wire.

Altegio sends ids and numbers as ints or strings, `meta` as a list or an object, offsets with or
without a colon, `category` or `categories`, `sex` or `gender`: every parser here accepts all the
variants the API reference lists, and fails with `UnexpectedResponse` only when a field the bot
cannot do without is missing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.numbers import get_territory_currencies

from bot.altegio.errors import UnexpectedResponse

Json = Any

_OFFSET_NO_COLON = re.compile(r"([+-])(\d{2})(\d{2})$")


# --- lenient scalars -------------------------------------------------------------------------


def as_int(value: Json, default: int | None = None) -> int | None:
    """An int from an int, a float with no fraction, or a numeric string; else `default`."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return default
            return int(number) if number.is_integer() else default
    return default


def require_int(value: Json, what: str) -> int:
    number = as_int(value)
    if number is None:
        raise UnexpectedResponse(f"{what} is not a number: {value!r}")
    return number


def as_decimal(value: Json) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def as_bool(value: Json) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def as_str(value: Json) -> str:
    if value is None or isinstance(value, list | dict):
        return ""
    return str(value).strip()


def as_dict(value: Json) -> dict[str, Json]:
    """A mapping, treating Altegio's empty `[]` (its way of writing an empty object) as `{}`."""
    return dict(value) if isinstance(value, Mapping) else {}


def as_list(value: Json) -> list[Json]:
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        # Some lists arrive keyed by index ({"0": ..., "1": ...}).
        return list(value.values())
    return []


def parse_datetime(value: Json, tz: ZoneInfo | None = None) -> datetime | None:
    """An aware datetime from ISO 8601 (offset with or without a colon, `T` or space) or Unix time.

    A naive value is read as local time of `tz` (the salon's zone), or UTC when none is known.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=tz or UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=tz or UTC)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _OFFSET_NO_COLON.sub(r"\1\2:\3", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=tz or UTC)
    return parsed


def parse_date(value: Json) -> date | None:
    """A calendar day from `YYYY-MM-DD` (or a longer ISO value) or a Unix timestamp."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        return datetime.fromtimestamp(int(value), tz=UTC).date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # tzdata answers a region such as "Europe" with IsADirectoryError.
        return None


# --- envelope --------------------------------------------------------------------------------


def unwrap(body: Json) -> tuple[Json, dict[str, Json]]:
    """Split a v2 envelope into (data, meta); a bare body is its own data."""
    if isinstance(body, Mapping) and "success" in body:
        meta = body.get("meta")
        return body.get("data"), as_dict(meta)
    return body, {}


def error_codes(body: Json) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """Business codes, offending appointment ids and the message of an error body."""
    codes: list[int] = []
    ids: list[int] = []
    message = ""
    if not isinstance(body, Mapping):
        return (), (), ""
    meta = as_dict(body.get("meta"))
    message = as_str(meta.get("message"))
    for item in as_list(meta.get("errors")):
        entry = as_dict(item)
        code = as_int(entry.get("code"))
        if code is not None:
            codes.append(code)
        ident = as_int(entry.get("id"))
        if ident is not None:
            ids.append(ident)
        message = message or as_str(entry.get("message"))
    legacy = as_dict(body.get("errors"))
    legacy_code = as_int(legacy.get("code"))
    if legacy_code is not None:
        codes.append(legacy_code)
    message = message or as_str(legacy.get("message"))
    return tuple(codes), tuple(ids), message


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rules:
    """The salon's rules for changing appointments online; None where Altegio did not say.

    `GET company` is documented without them; a record's own `company` block carries them.
    An unknown rule is never guessed: the bot then asks Altegio and reports its answer.
    """

    allow_change: bool | None = None
    change_notice: int | None = None  # seconds before the visit online changes close
    allow_delete: bool | None = None
    delete_notice: int | None = None

    @classmethod
    def from_wire(cls, raw: Mapping[str, Json]) -> Rules:
        def flag(key: str) -> bool | None:
            value = raw.get(key)
            return None if value is None or value == "" else as_bool(value)

        def seconds(key: str) -> int | None:
            value = as_int(raw.get(key))
            return None if value is None or value < 0 else value

        return cls(
            allow_change=flag("allow_change_record"),
            change_notice=seconds("allow_change_record_delay_step"),
            allow_delete=flag("allow_delete_record"),
            delete_notice=seconds("allow_delete_record_delay_step"),
        )

    def over(self, other: Rules) -> Rules:
        """These rules, with what they leave unknown taken from `other`."""
        return Rules(
            allow_change=_first(self.allow_change, other.allow_change),
            change_notice=_first(self.change_notice, other.change_notice),
            allow_delete=_first(self.allow_delete, other.allow_delete),
            delete_notice=_first(self.delete_notice, other.delete_notice),
        )


def _first(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


@dataclass(frozen=True, slots=True)
class Facts:
    """What a record's `company` block tells about its location beyond `GET company`."""

    phone: str = ""
    currency: str = ""
    rules: Rules = Rules()

    @classmethod
    def from_wire(cls, data: Json) -> Facts:
        raw = as_dict(data)
        phones = as_list(raw.get("phones"))
        return cls(
            phone=as_str(raw.get("phone")) or (as_str(phones[0]) if phones else ""),
            currency=as_str(raw.get("currency_short_title")) or as_str(raw.get("currency")),
            rules=Rules.from_wire(raw),
        )

    def over(self, other: Facts) -> Facts:
        return Facts(
            phone=self.phone or other.phone,
            currency=self.currency or other.currency,
            rules=self.rules.over(other.rules),
        )

    def as_json(self) -> dict[str, Json]:
        rules = self.rules
        return {
            "phone": self.phone,
            "currency_short_title": self.currency,
            "allow_change_record": rules.allow_change,
            "allow_change_record_delay_step": rules.change_notice,
            "allow_delete_record": rules.allow_delete,
            "allow_delete_record_delay_step": rules.delete_notice,
        }


@dataclass(frozen=True, slots=True)
class Company:
    id: int
    title: str
    timezone: str  # an IANA key; a bare UTC offset becomes the fixed zone of that offset
    address: str = ""
    city: str = ""
    phone: str = ""  # "" when Altegio did not say
    currency: str = ""  # "" when Altegio did not say
    # The currency of the location's country: prices carry it when nothing more exact is known.
    country_currency: str = ""
    country: str = ""  # ISO 3166 code of the location's country, where it could be told
    phone_confirmation: bool = False
    rules: Rules = Rules()
    comment_required: bool = False
    comment_label: str = ""  # the salon's own name for the comment field, if it set one
    email_required: bool = False
    latitude: float | None = None
    longitude: float | None = None

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone) or ZoneInfo("UTC")

    @property
    def full_address(self) -> str:
        parts = [p for p in (self.address, self.city) if p]
        if len(parts) == 2 and self.city in self.address:
            return self.address
        return ", ".join(parts)

    def with_facts(self, facts: Facts) -> Company:
        """The location as `GET company` told it, completed by what its records told."""
        return replace(
            self,
            phone=self.phone or facts.phone,
            currency=self.currency or facts.currency or self.country_currency,
            rules=self.rules.over(facts.rules),
        )

    @classmethod
    def from_wire(cls, data: Json) -> Company:
        raw = as_dict(data)
        if not raw:
            raise UnexpectedResponse("company: no data")
        facts = Facts.from_wire(raw)
        return cls(
            id=require_int(raw.get("id"), "company.id"),
            title=as_str(raw.get("title")) or as_str(raw.get("public_title")),
            timezone=_zone_key(raw),
            address=as_str(raw.get("address")),
            city=as_str(raw.get("city")),
            phone=facts.phone,
            currency=facts.currency,
            country_currency=country_currency(as_str(raw.get("country"))),
            country=territory(as_str(raw.get("country"))) or "",
            phone_confirmation=as_bool(raw.get("phone_confirmation")),
            rules=facts.rules,
            comment_required=as_bool(raw.get("booking_comment_required")),
            comment_label=as_str(raw.get("booking_comment_input_name")),
            email_required=as_bool(raw.get("booking_email_required")),
            latitude=_coordinate(raw.get("coordinate_lat"), 90),
            longitude=_coordinate(raw.get("coordinate_lon"), 180),
        )


# The languages Altegio names countries in (its markets), for finding a country's currency.
_COUNTRY_LANGUAGES = ("en", "ru", "uk", "de", "es", "pt", "pl", "lv", "lt", "et", "kk", "fr", "it")


@functools.cache
def _territories() -> dict[str, str]:
    names: dict[str, str] = {}
    for language in _COUNTRY_LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if code.isalpha() and len(code) == 2:
                names.setdefault(name.casefold(), code)
    return names


def territory(country: str) -> str | None:
    """The ISO 3166 code of a country named as Altegio names it ("Germany", "Россия")."""
    return _territories().get(country.strip().casefold())


@functools.cache
def country_currency(country: str) -> str:
    """The ISO currency of a country named as Altegio names it ("Germany", "Россия"); ""."""
    code = territory(country)
    if code is None:
        return ""
    currencies = get_territory_currencies(code)
    return currencies[0] if currencies else ""


def _zone_key(raw: Mapping[str, Json]) -> str:
    """The location's zone: `timezone_name`, or `timezone` as a name, or `timezone` as a bare
    offset (`"-5"`, `2`, `"5.5"`, `"+05:30"`), which becomes a fixed zone of that offset."""
    for key in ("timezone_name", "timezone"):
        name = as_str(raw.get(key))
        if zone(name) is not None and not _OFFSET.match(name):
            return name
    for key in ("timezone", "timezone_name", "utc_offset", "time_zone_offset"):
        seconds = utc_offset(raw.get(key))
        if seconds is not None:
            fixed = fixed_zone(seconds)
            if fixed is not None:
                return fixed
    return "UTC"


_OFFSET = re.compile(
    r"^(?:utc|gmt)?\s*([+-]?)\s*(\d{1,2})(?:(?:[:.,](\d{1,2}))|(\d{2}))?$", re.IGNORECASE
)


def utc_offset(value: Json) -> int | None:
    """An offset from UTC in seconds, from hours (`-5`, `"5.5"`, `"+3"`), `"+05:30"` or
    `"UTC+3"`; None when the value is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = Decimal(str(value))
    else:
        text = as_str(value).replace("−", "-")
        if not text:
            return None
        number_or_none = as_decimal(text)
        if re.fullmatch(r"[+-]\d{4}", text):
            number_or_none = None  # +0530: hours and minutes, as ISO writes an offset
        if number_or_none is not None and ":" not in text:
            number = number_or_none
        else:
            match = _OFFSET.match(text)
            if match is None:
                return None
            sign = -1 if match[1] == "-" else 1
            minutes = int(match[3] or match[4] or 0)
            if minutes >= 60:
                return None
            number = Decimal(sign) * (Decimal(int(match[2])) + Decimal(minutes) / 60)
    # Hours as Altegio writes them; a few sources write minutes or seconds instead.
    if abs(number) <= 14:
        seconds = number * 3600
    elif abs(number) <= 14 * 60 and number % 15 == 0:
        seconds = number * 60
    elif abs(number) <= 14 * 3600 and number % 900 == 0:
        seconds = number
    else:
        return None
    return int(seconds)


@functools.cache
def fixed_zone(seconds: int) -> str | None:
    """An IANA key whose offset is always `seconds` from UTC: `Etc/GMT+5` for UTC-5 (the Etc
    names invert the sign), or, for an offset such as +05:30, a zone that keeps it all year."""
    if seconds % 3600 == 0 and -12 <= seconds // 3600 <= 14:
        hours = -seconds // 3600
        return "Etc/GMT" if hours == 0 else f"Etc/GMT{hours:+d}"
    wanted = timedelta(seconds=seconds)
    # Zones that kept the offset all through recent years, without daylight saving.
    probes = [datetime(year, month, 1, 12, tzinfo=UTC) for year in (2025, 2026) for month in (1, 7)]
    names = sorted(available_timezones())
    for name in names:
        candidate = zone(name)
        if candidate is not None and all(
            p.astimezone(candidate).utcoffset() == wanted for p in probes
        ):
            return name
    # No zone keeps it all year (-03:30): one that has it for part of the year is still nearer
    # the truth than UTC.
    for name in names:
        candidate = zone(name)
        if candidate is not None and any(
            p.astimezone(candidate).utcoffset() == wanted for p in probes
        ):
            return name
    return None


def _coordinate(value: Json, limit: float) -> float | None:
    number = as_decimal(value)
    # 0/0 is how an unset map pin arrives.
    if number is None or number == 0 or abs(number) > limit:
        return None
    return float(number)


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    title: str
    weight: int = 0


@dataclass(frozen=True, slots=True)
class Service:
    id: int
    title: str
    category_id: int | None
    price_min: Decimal | None
    price_max: Decimal | None
    duration: int | None  # seconds; Altegio fills it only when the list is filtered by staff
    weight: int = 0
    comment: str = ""

    @classmethod
    def from_wire(cls, data: Json) -> Service | None:
        raw = as_dict(data)
        ident = as_int(raw.get("id"))
        if ident is None:
            return None
        low = as_decimal(raw.get("price_min"))
        high = as_decimal(raw.get("price_max"))
        if low is None:
            low = as_decimal(raw.get("cost"))
        if high is None or (low is not None and high < low):
            high = low
        length = as_int(raw.get("seance_length")) or as_int(raw.get("length"))
        return cls(
            id=ident,
            title=as_str(raw.get("title")) or f"#{ident}",
            category_id=as_int(raw.get("category_id")),
            price_min=low,
            price_max=high,
            duration=length if length and length > 0 else None,
            weight=as_int(raw.get("weight"), 0) or 0,
            comment=as_str(raw.get("comment")),
        )


@dataclass(frozen=True, slots=True)
class Catalogue:
    services: tuple[Service, ...]
    categories: tuple[Category, ...]

    def service(self, service_id: int) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def category(self, category_id: int) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def in_category(self, category_id: int | None) -> list[Service]:
        return [s for s in self.services if s.category_id == category_id]

    @classmethod
    def from_wire(cls, data: Json) -> Catalogue:
        raw = as_dict(data)
        if not raw and isinstance(data, list):
            raw = {"services": data}
        services = [s for s in (Service.from_wire(x) for x in as_list(raw.get("services"))) if s]
        categories: list[Category] = []
        for item in as_list(raw.get("category")) or as_list(raw.get("categories")):
            entry = as_dict(item)
            ident = as_int(entry.get("id"))
            if ident is None:
                continue
            categories.append(
                Category(ident, as_str(entry.get("title")), as_int(entry.get("weight"), 0) or 0)
            )
        # Higher weight first, as the salon ordered them in Altegio.
        services.sort(key=lambda s: (-s.weight, s.title.casefold()))
        categories.sort(key=lambda c: (-c.weight, c.title.casefold()))
        return cls(tuple(services), tuple(categories))


@dataclass(frozen=True, slots=True)
class Staff:
    id: int
    name: str
    specialization: str = ""
    position: str = ""
    bookable: bool = True
    nearest_date: date | None = None
    rating: Decimal | None = None
    weight: int = 0

    @classmethod
    def from_wire(cls, data: Json) -> Staff | None:
        raw = as_dict(data)
        ident = as_int(raw.get("id"))
        if ident is None or ident <= 0:
            return None
        if as_bool(raw.get("fired")) or as_bool(raw.get("hidden")):
            return None
        position = as_dict(raw.get("position"))
        bookable = raw.get("bookable")
        return cls(
            id=ident,
            name=as_str(raw.get("name")) or f"#{ident}",
            specialization=as_str(raw.get("specialization")) or as_str(raw.get("spec")),
            position=as_str(position.get("title")),
            bookable=True if bookable is None else as_bool(bookable),
            nearest_date=parse_date(raw.get("seance_date")),
            rating=as_decimal(raw.get("rating")) if as_bool(raw.get("show_rating", 1)) else None,
            weight=as_int(raw.get("weight"), 0) or 0,
        )

    @classmethod
    def list_from_wire(cls, data: Json) -> list[Staff]:
        staff = [s for s in (cls.from_wire(x) for x in as_list(data)) if s]
        staff.sort(key=lambda s: (-s.weight, s.name.casefold()))
        return staff


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


@dataclass(frozen=True, slots=True)
class Slot:
    """A free time; `raw` is Altegio's own `datetime`, echoed back unchanged when booking."""

    start: datetime
    raw: str
    length: int | None = None

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

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.length)

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
        )


def records_from_wire(data: Json, tz: ZoneInfo) -> list[Record]:
    if isinstance(data, Mapping) and "id" in data:
        return [Record.from_wire(data, tz)]
    return [Record.from_wire(item, tz) for item in as_list(data)]


def services_param(service_ids: Sequence[int]) -> list[tuple[str, str]]:
    return [("service_ids[]", str(i)) for i in service_ids]
