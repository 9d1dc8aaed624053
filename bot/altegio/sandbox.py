"""The sandbox location: an in-process demo salon that speaks Altegio's online-booking wire format.

It is a server, not a client: `Sandbox.handle` answers `httpx.Request`s, so the real Altegio client
runs against it unchanged through `Sandbox.transport()` or, over a socket, through `serve()`.

The sandbox reproduces, on purpose and always in the same places, the irregularities a client meets
on the real service, so the client's lenient parsing is exercised on every run:

* `book_staff`: every `id` is a string (`"2001"`); `rating` is a string for team members with an
  even id; `position` is an object for some members and `[]` for the others; `meta` is
  `{"count": N}`.
* `book_services`: `price_min`/`price_max` are strings for services whose id is divisible by 3;
  services and categories carry `gender`; categories come under the key `category` and have
  `api_id` as the string `"0"`; `seance_length` is present only when filtered by `staff_id`.
* `book_dates`: month keys are strings, day numbers are ints, and an empty month map is `[]`.
* `book_code` and `book_check`: `meta` is `{"message": "Created"}` (and `book_code` has no `data`).
* Offsets: `+02:00` (with a colon) in `book_times`, `book_staff_seances` and `company.next_slot`;
  `+0200` (no colon) in record `datetime`, `create_date` and `last_change_date`; record `date` is
  naive local `YYYY-MM-DD HH:MM:SS`. Datetimes are always ISO strings, never Unix integers.
* `GET book_record/{id}/{record_id}/{hash}` is a bare object; `POST user/auth` is enveloped and
  carries the token twice, once under the key `"0"`; `GET user/records` answers 201.
* Record `api_id` is always a string (`""` when none was given); `company.timezone` inside a record
  is a numeric-looking string (the current offset in hours).
* 429 carries no `Retry-After`, as nothing documents one.

Where the reference leaves behaviour open, the sandbox picks: a wrong record hash is a 404 (so ids
cannot be probed); rescheduling or cancelling inside the delay step is a 422 with `meta.message`
only; a repeated cancel is a 404; an appointment naming an unknown team member is a 433 and one
naming a member who does not perform the service is a 438; an SMS code stays valid for its five
minutes however often it is used; with a user token, `user/records` lists every record of that
phone at both locations, cancelled ones included.

On demand it also gives answers the real service can give but the default sandbox does not:

* `Sandbox.configure(company_id, **changes)` changes a location's settings while running. Besides
  the salon's own facts (a new `timezone_name` moves the whole location: schedules are wall-clock
  times in its zone, records keep their instants) these include `booking_email_required` and
  `booking_comment_required` (enforced by `book_record`), `privacy_policy`, the reminder presets
  `default_notify_by_sms`/`default_notify_by_email` (hours; a booking that omits
  `notify_by_sms`/`notify_by_email`, or sends null, gets them; the demo salons text a reminder
  24 hours ahead), and
  how the sandbox speaks, which is never itself on the wire:
  `company_shape` "full" (default: also phone, currency, the `allow_*` rules and the
  `booking_*` settings) or "documented" (exactly Altegio's "Get location" fields, none of those;
  `main_group` is `[]`,
  `groups` is `[]` with `show_groups=1`, `online_sales_form_url` only with `bookform_id`,
  `access` `{}` only with `my=1`); `timezone_form` "name" (default), "offset" (`timezone` as the
  current offset in hours as a string: "-5", "2", "5.5") or "offset_int" (the same as a number),
  for `GET company` only; `error_form` "codes" (default) or "message" (the older 422 form: a
  sentence in `meta.message`, no `errors`, no code; with several failing appointments only the
  first is told; the 434 blacklist stays a 403, with `meta.message` only); `error_language`
  "en" (default) or "ru" for the refusal sentences (dates spelled "27 November 2026" /
  "27 ноября 2026"). In English the "codes" form keeps its earlier wording.
* `GET privacy_policy/{id}`: `{"text": ...}` when the location has a policy, `data: null` when not
  (the body is undocumented; this is the sandbox's pick).
* `Sandbox.withdraw_service(id)`: nobody performs the service any more; naming it in `book_check`
  or `book_record` is a 438. `Sandbox.remove_staff(id)`: the member leaves the lists and the
  staff-0 unions; naming them in `book_check`/`book_record`, or rescheduling their record, is a
  433. Existing records keep showing both; a record of a withdrawn service can still be moved.
* `Sandbox.fault(method, route, ...)`: canned answers (any status, raw or JSON body, headers) for
  the next matching requests, optionally after handling the request for real (`carry_out`), so an
  answer can be lost after its write happened. `clear_faults()` removes them.

More picks where the reference is silent: a required email that is missing or malformed, or a
required comment that is empty, is a 422 with `meta.message` only (no code is documented), in
both error forms, checked after the name and before the SMS code; a removed team member's
`book_times`, `book_staff_seances` and `book_dates?staff_id=` are a 404 with `meta: []`;
`user/auth` refusals speak in the form of the location named by `company_id`, else of the
default location. The rate limiter comes first, then a fault (before the token is checked),
then the endpoint: a 429 wins over a fault, a fault over a 401, and a limited request does not
use a fault up.

Test-only views and switches, which need no token, are not rate-limited and never faulted:
`GET /__sandbox/sms?company_id=&phone=`, `GET /__sandbox/records[?company_id=]`,
`POST|DELETE /__sandbox/faults` (JSON with the arguments of `Sandbox.fault`; `body` a string or
JSON), `POST /__sandbox/locations/{id}` (JSON of `configure` changes),
`POST /__sandbox/services/{id}/withdraw` and `POST /__sandbox/staff/{id}/remove`. Bad input is a
400 `{"error": ...}`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import EllipsisType
from typing import Any, Final, NoReturn, get_args, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from bot.altegio.sandbox_seed import (
    BLACKLISTED_PHONES,
    SALONS,
    SANDBOX_COMPANY_ID,
    SANDBOX_SMS_COMPANY_ID,
    SEED_APPOINTMENTS,
    Location,
    Salon,
    Service,
    StaffMember,
)

__all__ = [
    "CLIENT_IP_EXTENSION",
    "SANDBOX_COMPANY_ID",
    "SANDBOX_PARTNER_TOKEN",
    "SANDBOX_SMS_COMPANY_ID",
    "Sandbox",
    "make_server",
    "serve",
]

logger = logging.getLogger(__name__)

SANDBOX_PARTNER_TOKEN = "sandbox-partner-token"

CLIENT_IP_EXTENSION = "sandbox.client_ip"
"""Request extension through which `serve()` tells the rate limiter who is calling."""

SLOT_STEP = timedelta(minutes=15)
NEAREST_DELAY = timedelta(minutes=30)
CODE_TTL = timedelta(minutes=5)
HORIZON_DAYS = 60
DEFAULT_DATES_DAYS = 30
MAX_DATES_DAYS = 366

_AUTH_RE = re.compile(r"^Bearer (?P<p>[^,\s]+)(,\s*User (?P<u>\S+))?$")
_PHONE_RE = re.compile(r"^\+?\d{10,15}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_AVATAR = "https://app.alteg.io/images/no-master.png"
_AVATAR_BIG = "https://app.alteg.io/images/no-master-big.png"

Json = dict[str, Any]
Busy = list[tuple[datetime, datetime]]

# Which fields each record shape carries, as the reference lists them.
# fmt: off
_RECORD_COMPANY_KEYS = (
    "id", "title", "country_id", "country", "city_id", "city", "phone", "address",
    "coordinate_lat", "coordinate_lon", "allow_delete_record", "allow_change_record", "site",
    "currency_short_title", "allow_change_record_delay_step", "allow_delete_record_delay_step",
)
_CHANGED_COMPANY_KEYS = (
    "id", "title", "country_id", "country", "city_id", "city", "phone", "timezone", "address",
    "coordinate_lat", "coordinate_lon",
)
_CHANGED_RECORD_KEYS = (
    "id", "date", "datetime", "create_date", "comment", "deleted", "length", "notify_by_sms",
    "notify_by_email", "master_requested", "online", "api_id",
)
# The location's own facts that the full `GET company` shows as they are. Listed rather than
# taken from `asdict`, so that a field saying how the sandbox behaves never reaches the wire.
_COMPANY_KEYS = (
    "id", "title", "timezone_name", "country_id", "country", "city_id", "city", "address", "zip",
    "phone", "site", "coordinate_lat", "coordinate_lon", "short_descr", "currency_short_title",
    "phone_confirmation", "allow_change_record", "allow_change_record_delay_step",
    "allow_delete_record", "allow_delete_record_delay_step",
)
_DOCUMENTED_COMPANY_KEYS = (
    "id", "title", "country_id", "country", "city_id", "city", "timezone_name", "address", "zip",
    "coordinate_lat", "coordinate_lon", "short_descr",
)
_MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ),
    "ru": (
        "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
        "октября", "ноября", "декабря",
    ),
}
# fmt: on

_CHOICES: dict[str, tuple[str, ...]] = {
    "company_shape": ("full", "documented"),
    "timezone_form": ("name", "offset", "offset_int"),
    "error_form": ("codes", "message"),
    "error_language": ("en", "ru"),
}
_LOCATION_TYPES: dict[str, Any] = get_type_hints(Location)

_NO_REF: Final = object()
"""Marks a refusal about the whole request: its error entry carries no appointment `id`."""
_NO_SERVICES = "No services or promotions set"


class _Abort(Exception):
    """Stops request processing with a ready response."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _fail(status: int, message: str | None = None, errors: Sequence[Json] = ()) -> NoReturn:
    meta: Any
    if message is None:
        meta = []
    else:
        meta = {"message": message}
        if errors:
            meta["errors"] = list(errors)
    raise _Abort(status, {"success": False, "data": None, "meta": meta})


def _not_found() -> NoReturn:
    _fail(404)


@dataclass(frozen=True)
class _Problem:
    """A business refusal (431-438, or the inner 422), worded only when the answer goes out:
    the location's error form and language decide the words."""

    code: int
    legacy: str
    """The English of the `codes` form, word for word as the sandbox has always sent it."""
    ref: Any = _NO_REF
    staff_id: int | None = None
    staff_name: str = ""
    start: datetime | None = None
    """The appointment's time as wall time at the location."""
    other_ref: Any = None


def _words(loc: Location, english: str, russian: str) -> str:
    return russian if loc.error_language == "ru" else english


def _sentence(problem: _Problem, language: str) -> str:
    """The refusal as Altegio words it in `language`, with dates spelled out as it does."""
    ru = language == "ru"
    staff = f"{problem.staff_name}({problem.staff_id or 0})"
    day = hour = ""
    if problem.start is not None:
        start = problem.start
        day = f"{start.day} {_MONTHS[language][start.month - 1]} {start.year}"
        hour = start.strftime("%H:%M")
    match problem.code:
        case 431:
            return "Неверный формат номера телефона" if ru else "Invalid phone number format"
        case 432:
            return "Неверный код подтверждения" if ru else "Wrong confirmation code"
        case 433 if ru:
            when = f"на {day} в {hour}" if day else "на выбранное время"
            return (
                f"К сотруднику {staff} нельзя записаться {when}. "
                "Выбранное время уже занято или является нерабочим."
            )
        case 433:
            when = f"on {day} at {hour}" if day else "at the selected time"
            return (
                f"Team Member {staff} cannot be booked {when}. "
                "The selected time is already taken or is not working."
            )
        case 435:
            return "Не указано имя" if ru else "Please enter your name"
        case 436 if ru:
            return f"Нет свободных сотрудников на {day} в {hour}."
        case 436:
            return f"No team member is available on {day} at {hour}."
        case 437 if ru:
            return f"Запись пересекается с записью {problem.other_ref} в этом же бронировании."
        case 437:
            return f"The appointment overlaps appointment {problem.other_ref} in the same booking."
        case 438:
            return (
                "Нет записи на указанную услугу"
                if ru
                else "There is no appointment for the specified service/promotion"
            )
    return "Не указаны услуги или акции" if ru else _NO_SERVICES


def _refuse(loc: Location, *problems: _Problem) -> NoReturn:
    """A 422 in the location's error form and language."""
    if loc.error_form == "message":
        # The older form has room for one sentence: the first refusal is the one told.
        _fail(422, _sentence(problems[0], loc.error_language))
    errors = []
    for problem in problems:
        if loc.error_language == "en":
            text = problem.legacy
        else:
            text = _sentence(problem, loc.error_language)
        error: Json = {"code": problem.code, "message": text}
        if problem.ref is not _NO_REF:
            error["id"] = problem.ref
        errors.append(error)
    _fail(422, _words(loc, "An error has occurred", "Произошла ошибка"), errors)


def _ok(data: Any, meta: Any = None) -> Json:
    return {"success": True, "data": data, "meta": [] if meta is None else meta}


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def _as_int(value: object) -> int | None:
    """Ids arrive as ints or numeric strings; anything else is not an id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _path_int(segment: str) -> int:
    value = _as_int(segment)
    if value is None:
        _not_found()
    return value


def _parse_instant(value: object, tz: ZoneInfo) -> datetime | None:
    """An ISO datetime as a UTC instant; a naive one is wall time at the location."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def _iso(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).isoformat(timespec="seconds")


def _iso_compact(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S%z")


def _wall(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _at(day: date, moment: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=tz).astimezone(UTC)


def _price(service: Service, value: int) -> int | str:
    return str(value) if service.id % 3 == 0 else value


def _rating(member: StaffMember) -> float | str:
    return str(member.rating) if member.id % 2 == 0 else member.rating


def _position(member: StaffMember) -> Json | list[Any]:
    if member.position is None:
        return []
    return {"id": member.position[0], "title": member.position[1]}


@dataclass
class _Record:
    record_id: int
    company_id: int
    staff_id: int
    service_ids: list[int]
    start: datetime
    length: int
    phone: str
    fullname: str
    email: str
    comment: str
    master_requested: bool
    hash: str
    api_id: str
    notify_by_sms: int
    notify_by_email: int
    create_date: datetime
    last_change_date: datetime
    deleted: bool = False

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.length)


@dataclass
class _SmsCode:
    code: str
    expires_at: datetime
    fullname: str


@dataclass
class _User:
    id: int
    phone: str
    token: str


@dataclass
class _Planned:
    ref: Any
    member: StaffMember
    service_ids: list[int]
    start: datetime
    length: int
    master_requested: bool


class _RateLimiter:
    """Sliding windows per client IP: 5 requests per second and 200 per minute."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[datetime]] = {}

    def allow(self, client: str, now: datetime) -> bool:
        hits = self._hits.setdefault(client, deque())
        while hits and now - hits[0] >= timedelta(minutes=1):
            hits.popleft()
        last_second = sum(1 for hit in hits if now - hit < timedelta(seconds=1))
        if len(hits) >= 200 or last_second >= 5:
            return False
        hits.append(now)
        return True


@dataclass
class _Fault:
    """A canned answer that replaces the real one for matching requests."""

    method: str
    route: str
    status: int
    content: bytes
    headers: dict[str, str]
    carry_out: bool
    times: int | None
    path_contains: str

    def matches(self, method: str, route: str | None, path: str) -> bool:
        return method == self.method and route == self.route and self.path_contains in path

    def response(self) -> httpx.Response:
        return httpx.Response(self.status, headers=self.headers, content=self.content)


def _default_fault_body(status: int) -> Any:
    """What Altegio's own envelope would say for `status`; a 204 has no body at all."""
    if status == 204:
        return b""
    if status < 300:
        return {"success": True, "data": None, "meta": []}
    if status == 404:
        return {"success": False, "data": None, "meta": []}
    messages = {
        401: "Authentication needed.",
        403: "Access denied.",
        422: "An error has occurred",
        429: "Too Many Requests",
    }
    if status >= 500:
        message = "Server error"
    else:
        try:
            message = messages.get(status) or HTTPStatus(status).phrase
        except ValueError:
            message = "Error"
    return {"success": False, "data": None, "meta": {"message": message}}


def _make_fault(
    method: str,
    route: str,
    *,
    status: int,
    body: Any,
    content_type: str | None,
    headers: dict[str, str] | None,
    carry_out: bool,
    times: int | None,
    path_contains: str,
) -> _Fault:
    if not isinstance(method, str) or not method.strip():
        raise ValueError("method must be an HTTP method such as 'POST'")
    if not isinstance(route, str) or not route.strip("/") or "/" in route.strip("/"):
        raise ValueError("route must be the first path segment after /v1/, e.g. 'book_record'")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("status must be an HTTP status code")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError("times must be a positive number, or None for every request")
    if not isinstance(carry_out, bool):
        raise TypeError("carry_out must be a bool")
    if not isinstance(path_contains, str):
        raise TypeError("path_contains must be a string")
    if content_type is not None and not isinstance(content_type, str):
        raise TypeError("content_type must be a string")
    extra = dict(headers or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        raise TypeError("headers must map strings to strings")
    if body is ...:
        body = _default_fault_body(status)
    if isinstance(body, dict | list):
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        kind = "application/json"
    elif isinstance(body, str):
        content, kind = body.encode(), "text/html; charset=utf-8"
    elif isinstance(body, bytes) or body is None:
        content, kind = body or b"", "text/html"
    else:
        raise TypeError("body must be bytes, str, a dict or a list")
    if all(key.lower() != "content-type" for key in extra):
        extra = {"Content-Type": content_type or kind, **extra}
    return _Fault(
        method=method.strip().upper(),
        route=route.strip("/"),
        status=status,
        content=content,
        headers=extra,
        carry_out=carry_out,
        times=times,
        path_contains=path_contains,
    )


class Sandbox:
    """The demo salon's state and its Altegio endpoints."""

    def __init__(
        self,
        clock: Callable[[], datetime] | None = None,
        *,
        enforce_rate_limit: bool = False,
        on_sms: Callable[[int, str, str], None] | None = None,
    ) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._on_sms = on_sms
        self._limiter = _RateLimiter() if enforce_rate_limit else None
        self._lock = threading.Lock()
        self._salons = {salon.location.id: salon for salon in SALONS}
        self._zones = {cid: ZoneInfo(s.location.timezone_name) for cid, s in self._salons.items()}
        self._records: dict[int, _Record] = {}
        self._codes: dict[tuple[int, str], _SmsCode] = {}
        self._users: dict[str, _User] = {}
        self._blacklist = {_digits(phone) for phone in BLACKLISTED_PHONES}
        self._withdrawn: set[int] = set()
        self._removed: set[int] = set()
        self._faults: list[_Fault] = []
        self._next_record_id = 4_100_001
        self._next_user_id = 21_733_001
        self._seed()

    # -- inspection and salon-side actions --------------------------------------------------

    def records(self, company_id: int | None = None) -> list[dict[str, Any]]:
        """Copies of the stored records, datetimes in the location's timezone."""
        with self._lock:
            return self._rows(company_id)

    def _rows(self, company_id: int | None) -> list[dict[str, Any]]:
        rows = []
        for record in sorted(self._records.values(), key=lambda r: r.record_id):
            if company_id is None or record.company_id == company_id:
                row = asdict(record)
                for key in ("start", "create_date", "last_change_date"):
                    row[key] = row[key].astimezone(self._zones[record.company_id])
                rows.append(row)
        return rows

    def last_sms_code(self, company_id: int, phone: str) -> str | None:
        with self._lock:
            sent = self._codes.get((company_id, _digits(phone)))
            return sent.code if sent else None

    def salon_cancel(self, record_id: int) -> None:
        """As if the salon deleted the appointment in its back office."""
        with self._lock:
            record = self._records[record_id]
            record.deleted = True
            record.last_change_date = self._now()

    def salon_move(self, record_id: int, new_start: datetime) -> None:
        """As if the salon moved the appointment; the salon may override its own schedule."""
        if new_start.tzinfo is None:
            raise ValueError("new_start must be timezone-aware")
        with self._lock:
            record = self._records[record_id]
            record.start = new_start.astimezone(UTC)
            record.last_change_date = self._now()

    def add_user_token(self, phone: str, token: str | None = None) -> str:
        """Log a client in without an SMS round trip; returns the user token."""
        with self._lock:
            user = self._user_for(phone)
            if token is not None and token != user.token:
                del self._users[user.token]
                user.token = token
                self._users[token] = user
            return user.token

    def blacklist(self, phone: str) -> None:
        with self._lock:
            self._blacklist.add(_digits(phone))

    def configure(self, company_id: int, **changes: Any) -> None:
        """Change the location's settings while running, as its owner would in Altegio.

        Unknown fields are a TypeError, values of the wrong type a TypeError, unknown choices
        (and a changed `id` or an unknown `timezone_name`) a ValueError; nothing changes then.
        """
        with self._lock:
            self._configure(company_id, changes)

    def withdraw_service(self, service_id: int) -> None:
        """As if the salon took the service off online booking; its records keep it."""
        with self._lock:
            self._withdraw_service(service_id)

    def remove_staff(self, staff_id: int) -> None:
        """As if the team member left the salon; their records keep them."""
        with self._lock:
            self._remove_staff(staff_id)

    def fault(
        self,
        method: str,
        route: str,
        *,
        status: int = 500,
        body: bytes | str | dict[str, Any] | list[Any] | EllipsisType | None = ...,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        carry_out: bool = False,
        times: int | None = 1,
        path_contains: str = "",
    ) -> None:
        """Answer the next `times` matching requests (None: all, until cleared) with a canned
        answer.

        `route` is the first path segment after `/v1/`. `body` is sent as is when bytes or str
        (None is an empty body) and as JSON when a dict or list; left out, it is the envelope
        Altegio would send for `status`. With `carry_out` the request is first handled for real,
        its changes kept, and only its answer replaced: a write that happened but whose answer
        was lost.
        """
        fault = _make_fault(
            method,
            route,
            status=status,
            body=body,
            content_type=content_type,
            headers=headers,
            carry_out=carry_out,
            times=times,
            path_contains=path_contains,
        )
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _configure(self, company_id: int, changes: dict[str, Any]) -> None:
        salon = self._salons.get(company_id)
        if salon is None:
            raise KeyError(f"no location {company_id}")
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in _LOCATION_TYPES:
                raise TypeError(f"a location has no field {name!r}")
            checked[name] = _checked_value(name, value)
        if checked.get("id", company_id) != company_id:
            raise ValueError("a location's id cannot change")
        zone = self._zones[company_id]
        if "timezone_name" in checked:
            try:
                zone = ZoneInfo(checked["timezone_name"])
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError(f"unknown timezone {checked['timezone_name']!r}") from error
        location = dataclasses.replace(salon.location, **checked)
        self._salons[company_id] = dataclasses.replace(salon, location=location)
        # Schedules are wall-clock times, so the whole location moves with its zone; records
        # keep their instants.
        self._zones[company_id] = zone

    def _withdraw_service(self, service_id: int) -> None:
        if all(s.id != service_id for salon in self._salons.values() for s in salon.services):
            raise KeyError(f"no service {service_id}")
        self._withdrawn.add(service_id)

    def _remove_staff(self, staff_id: int) -> None:
        if all(m.id != staff_id for salon in self._salons.values() for m in salon.staff):
            raise KeyError(f"no team member {staff_id}")
        self._removed.add(staff_id)

    # -- transport ---------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        sent: list[tuple[int, str, str]] = []
        with self._lock:
            response = self._respond(request, sent)
        # The callback runs outside the lock so it may call back into the sandbox.
        if self._on_sms is not None:
            for company_id, phone, code in sent:
                self._on_sms(company_id, phone, code)
        return response

    def _respond(self, request: httpx.Request, sent: list[tuple[int, str, str]]) -> httpx.Response:
        """Hooks first; then the rate limiter, as it stands in front of everything; then a
        fault, which breaks the server before it looks at the token; then the endpoint."""
        path = request.url.path
        hook = path.find("/__sandbox/")
        try:
            if hook != -1:
                status, body = self._hook(
                    request.method, path[hook + len("/__sandbox/") :], request
                )
                return httpx.Response(status, json=body)
            if self._limiter is not None:
                client = str(request.extensions.get(CLIENT_IP_EXTENSION, "local"))
                if not self._limiter.allow(client, self._now()):
                    _fail(429, "Too Many Requests")
        except _Abort as abort:
            return httpx.Response(abort.status, json=abort.body)
        fault = self._take_fault(request.method.upper(), path)
        if fault is not None and not fault.carry_out:
            return fault.response()
        try:
            status, body = self._dispatch(request, sent)
        except _Abort as abort:
            status, body = abort.status, abort.body
        if fault is not None:
            return fault.response()
        return httpx.Response(status, json=body)

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        version = path.rfind("/v1/")
        route = path[version + len("/v1/") :].strip("/").split("/")[0] if version != -1 else None
        for fault in self._faults:
            if fault.matches(method, route, path):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                return fault
        return None

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            # A naive clock would silently mean the host's timezone.
            raise ValueError("the sandbox clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    def _dispatch(
        self, request: httpx.Request, sent: list[tuple[int, str, str]]
    ) -> tuple[int, Any]:
        path = request.url.path
        user_token = self._authenticate(request)
        version = path.rfind("/v1/")
        if version == -1:
            _not_found()
        segments = path[version + len("/v1/") :].strip("/").split("/")
        params = request.url.params
        method = request.method.upper()
        match method, segments:
            case "GET", ["company", cid]:
                return 200, self._get_company(self._salon(cid), params)
            case "GET", ["privacy_policy", cid]:
                policy = self._salon(cid).location.privacy_policy
                return 200, _ok({"text": policy} if policy else None)
            case "GET", ["book_services", cid]:
                return 200, self._book_services(self._salon(cid), params)
            case "GET", ["book_staff", cid]:
                return 200, self._book_staff(self._salon(cid), params)
            case "GET", ["book_staff_seances", cid, staff_id]:
                return 200, self._book_staff_seances(self._salon(cid), staff_id, params)
            case "GET", ["book_dates", cid]:
                return 200, self._book_dates(self._salon(cid), params)
            case "GET", ["book_times", cid, staff_id, day]:
                return 200, self._book_times(self._salon(cid), staff_id, day, params)
            case "POST", ["book_code", cid]:
                return 201, self._book_code(self._salon(cid), _json_body(request), sent)
            case "POST", ["book_check", cid]:
                return 201, self._book_check(self._salon(cid), _json_body(request))
            case "POST", ["book_record", cid]:
                return 201, self._book_record(self._salon(cid), _json_body(request))
            case "GET", ["book_record", cid, record_id, record_hash]:
                record = self._record_by_hash(cid, record_id, record_hash, user_token)
                return 200, self._record_view(record)
            case "PUT", ["book_record", cid, record_id]:
                body = _json_body(request)
                return 200, self._reschedule(cid, record_id, body, user_token)
            case "POST", ["user", "auth"]:
                return 201, self._user_auth(_json_body(request))
            case "GET", ["user", "records", *rest]:
                return 201, self._user_records(rest, user_token)
            case "DELETE", ["user", "records", *rest]:
                return 200, self._delete_record(rest, user_token)
        _not_found()

    def _authenticate(self, request: httpx.Request) -> str | None:
        """Check the partner token; return the user token, if the caller sent one."""
        match = _AUTH_RE.match(request.headers.get("Authorization", ""))
        if match is None or match["p"] != SANDBOX_PARTNER_TOKEN:
            _fail(401, "Authentication needed.")
        return match["u"]

    def _salon(self, segment: str) -> Salon:
        salon = self._salons.get(_path_int(segment))
        if salon is None:
            _not_found()
        return salon

    def _tz(self, salon: Salon) -> ZoneInfo:
        return self._zones[salon.location.id]

    # -- availability ------------------------------------------------------------------------

    def _performs(self, member: StaffMember) -> frozenset[int]:
        """What the member may be booked for now: withdrawn services are nobody's."""
        return member.service_ids - self._withdrawn

    def _present(self, salon: Salon) -> list[StaffMember]:
        return [m for m in salon.staff if m.id not in self._removed]

    def _eligible(self, salon: Salon, service_ids: Sequence[int]) -> list[StaffMember]:
        """Team members who perform every one of the chosen services (and something at all)."""
        return [
            m
            for m in self._present(salon)
            if (performs := self._performs(m)) and all(s in performs for s in service_ids)
        ]

    def _length(self, salon: Salon, member: StaffMember, service_ids: Sequence[int]) -> int:
        services = {s.id: s for s in salon.services}
        if not service_ids:
            # Nothing chosen yet: the member's shortest service decides whether they are free.
            return min(services[s].length_for(member.id) for s in self._performs(member))
        return sum(services[s].length_for(member.id) for s in service_ids)

    def _shifts(
        self, salon: Salon, member: StaffMember, day: date
    ) -> list[tuple[datetime, datetime]]:
        tz = self._tz(salon)
        hours = member.schedule.get(day.weekday(), ())
        return [(_at(day, start, tz), _at(day, end, tz)) for start, end in hours]

    def _busy(self, staff_id: int, ignore: int | None = None) -> Busy:
        return [
            (r.start, r.end)
            for r in self._records.values()
            if r.staff_id == staff_id and not r.deleted and r.record_id != ignore
        ]

    def _free_slots(
        self, salon: Salon, member: StaffMember, day: date, length: int
    ) -> list[datetime]:
        """Grid starts on `day` where the whole visit fits a shift and overlaps no booking."""
        tz = self._tz(salon)
        earliest = self._now() + NEAREST_DELAY
        busy = self._busy(member.id)
        duration = timedelta(seconds=length)
        slots = []
        for start, end in member.schedule.get(day.weekday(), ()):
            # Step in wall time so the grid stays on the quarter-hour across DST changes.
            wall = datetime.combine(day, start)
            shift_end = _at(day, end, tz)
            while True:
                slot = wall.replace(tzinfo=tz).astimezone(UTC)
                if slot + duration > shift_end:
                    break
                if slot >= earliest and not any(
                    b_start < slot + duration and slot < b_end for b_start, b_end in busy
                ):
                    slots.append(slot)
                wall += SLOT_STEP
        return slots

    def _day_slots(
        self, salon: Salon, members: Iterable[StaffMember], service_ids: Sequence[int], day: date
    ) -> list[tuple[datetime, int]]:
        """Free starts on `day` over several members, one per instant, earliest first."""
        found: dict[datetime, int] = {}
        for member in members:
            length = self._length(salon, member, service_ids)
            for slot in self._free_slots(salon, member, day, length):
                found.setdefault(slot, length)
        return sorted(found.items())

    def _first_free_day(
        self, salon: Salon, member: StaffMember, service_ids: Sequence[int], since: date
    ) -> date | None:
        for offset in range(HORIZON_DAYS):
            day = since + timedelta(days=offset)
            if self._day_slots(salon, [member], service_ids, day):
                return day
        return None

    def _free_at(
        self, salon: Salon, member: StaffMember, service_ids: Sequence[int], instant: datetime
    ) -> bool:
        day = instant.astimezone(self._tz(salon)).date()
        length = self._length(salon, member, service_ids)
        return instant in self._free_slots(salon, member, day, length)

    def _fits(
        self,
        member: StaffMember,
        salon: Salon,
        start: datetime,
        length: int,
        ignore: int | None = None,
    ) -> bool:
        """Whether a booking may start exactly here (off the grid too, as the API allows)."""
        if start <= self._now():
            return False
        end = start + timedelta(seconds=length)
        day = start.astimezone(self._tz(salon)).date()
        if not any(a <= start and end <= b for a, b in self._shifts(salon, member, day)):
            return False
        return not any(
            b_start < end and start < b_end for b_start, b_end in self._busy(member.id, ignore)
        )

    def _today(self, salon: Salon) -> date:
        return self._now().astimezone(self._tz(salon)).date()

    # -- catalogue endpoints -----------------------------------------------------------------

    def _get_company(self, salon: Salon, params: httpx.QueryParams) -> Json:
        loc = salon.location
        bookform = loc.id * 10
        bookforms = [
            {
                "id": bookform,
                "title": "Online booking",
                "is_default": 1,
                "url": f"https://n{bookform}.alteg.io/",
            }
        ]
        if loc.company_shape == "documented":
            data = self._documented_company(salon, params, bookforms)
        else:
            data = {
                **_pick(asdict(loc), _COMPANY_KEYS),
                "public_title": loc.title,
                "business_type_id": 1,
                "phones": [loc.phone],
                "description": "",
                "active_staff_count": len(self._present(salon)),
                "booking_comment_required": loc.booking_comment_required,
                "booking_email_required": loc.booking_email_required,
                "booking_comment_input_name": loc.booking_comment_input_name,
                "booking_notify_text": "",
                "reminds_sms_disabled": False,
                "main_group_id": 0,
                "bookforms": bookforms,
                "payment_policy": {"type": "none"},
            }
            if params.get("forBooking") == "1":
                data["next_slot"] = self._next_slot(salon)
        if loc.timezone_form != "name":
            hours = self._offset(salon)
            # Where the name stood, so the field order stays the platform's.
            data = {
                ("timezone" if key == "timezone_name" else key): (
                    (hours if loc.timezone_form == "offset_int" else str(hours))
                    if key == "timezone_name"
                    else value
                )
                for key, value in data.items()
            }
        return _ok(data)

    def _documented_company(
        self, salon: Salon, params: httpx.QueryParams, bookforms: list[Json]
    ) -> Json:
        """Exactly the fields of Altegio's "Get location", in its order."""
        loc = salon.location
        data: Json = {
            **_pick(asdict(loc), _DOCUMENTED_COMPANY_KEYS),
            "social": dict.fromkeys(("facebook", "instagram", "telegram", "whatsapp", "viber"), ""),
            "site": loc.site,
            "business_type_id": 1,
            "description": "",
            "phone_confirmation": loc.phone_confirmation,
            "active_staff_count": len(self._present(salon)),
        }
        if params.get("forBooking") == "1":
            data["next_slot"] = self._next_slot(salon)
        data |= {
            "group_priority": 0,
            "push_notification_phone_confirm": 0,
            "main_group_id": 0,
            # "An object or an empty array": the location belongs to no chain.
            "main_group": [],
        }
        if params.get("show_groups") == "1":
            data["groups"] = []
        data["bookforms"] = bookforms
        if params.get("bookform_id"):
            data["online_sales_form_url"] = f"https://o{loc.id}.alteg.io"
        data["payment_policy"] = {"type": "none"}
        if params.get("my") == "1":
            data["access"] = {}
        return data

    def _offset(self, salon: Salon) -> int | float:
        """The location's current UTC offset in hours: 2, -5, 5.5."""
        offset = self._now().astimezone(self._tz(salon)).utcoffset() or timedelta()
        hours = offset.total_seconds() / 3600
        return int(hours) if hours.is_integer() else hours

    def _next_slot(self, salon: Salon) -> str | None:
        today = self._today(salon)
        members = self._eligible(salon, [])
        for offset in range(HORIZON_DAYS):
            slots = self._day_slots(salon, members, [], today + timedelta(days=offset))
            if slots:
                return _iso(slots[0][0], self._tz(salon))
        return None

    def _book_services(self, salon: Salon, params: httpx.QueryParams) -> Json:
        staff_id = _query_int(params, "staff_id")
        chosen = _query_ids(params, "service_ids")
        instant = _query_instant(params, "datetime", self._tz(salon))
        pool = [m for m in self._present(salon) if staff_id in (0, m.id)]
        services = []
        for service in salon.services:
            performers = [m for m in pool if service.id in self._performs(m)]
            if instant is not None:
                combo = chosen if service.id in chosen else [*chosen, service.id]
                performers = [
                    m
                    for m in performers
                    if all(s in self._performs(m) for s in combo)
                    and self._free_at(salon, m, combo, instant)
                ]
            if not performers:
                continue
            item: Json = {
                "id": service.id,
                "title": service.title,
                "category_id": service.category_id,
                "price_min": _price(service, service.price_min),
                "price_max": _price(service, service.price_max),
                "discount": 0,
                "comment": service.comment,
                "weight": service.weight,
                "active": 1,
                "gender": service.gender,
                "image": "",
                "prepaid": "forbidden",
                "abonement_restriction": 0,
                "is_composite": False,
                "images": [],
            }
            if staff_id:
                item["seance_length"] = service.length_for(staff_id)
            services.append(item)
        listed = {item["category_id"] for item in services}
        categories = [
            {"id": c.id, "title": c.title, "gender": 0, "api_id": "0", "weight": c.weight}
            for c in salon.categories
            if c.id in listed
        ]
        return _ok({"events": [], "services": services, "category": categories})

    def _book_staff(self, salon: Salon, params: httpx.QueryParams) -> Json:
        chosen = _query_ids(params, "service_ids")
        instant = _query_instant(params, "datetime", self._tz(salon))
        today = self._today(salon)
        members = []
        for member in self._eligible(salon, chosen):
            if instant is not None and not self._free_at(salon, member, chosen, instant):
                continue
            first = self._first_free_day(salon, member, chosen, today)
            item: Json = {
                "id": str(member.id),
                "api_id": None,
                "name": member.name,
                "specialization": member.specialization,
                "position": _position(member),
                "position_id": member.position[0] if member.position else 0,
                "bookable": first is not None,
                "weight": member.weight,
                "show_rating": 1,
                "rating": _rating(member),
                "votes_count": member.votes_count,
                "comments_count": member.comments_count,
                "avatar": _AVATAR,
                "avatar_big": _AVATAR_BIG,
                "information": member.information,
                "seances": [],
                "schedule_till": (today + timedelta(days=HORIZON_DAYS)).isoformat(),
                "fired": 0,
                "status": 0,
                "hidden": 0,
                "prepaid": "forbidden",
            }
            if first is not None:
                item["seance_date"] = first.isoformat()
            members.append(item)
        return _ok(members, {"count": len(members)})

    def _members(
        self, salon: Salon, staff_segment: str, chosen: Sequence[int]
    ) -> list[StaffMember]:
        """Staff 0 means everyone who performs the chosen services; an unknown or removed id
        is a 404."""
        staff_id = _path_int(staff_segment)
        eligible = self._eligible(salon, chosen)
        if staff_id == 0:
            return eligible
        if all(m.id != staff_id for m in self._present(salon)):
            _not_found()
        return [m for m in eligible if m.id == staff_id]

    def _slot_items(self, salon: Salon, slots: list[tuple[datetime, int]]) -> list[Json]:
        tz = self._tz(salon)
        return [
            {
                "time": start.astimezone(tz).strftime("%H:%M"),
                "seance_length": length,
                "sum_length": length,
                "datetime": _iso(start, tz),
            }
            for start, length in slots
        ]

    def _book_staff_seances(
        self, salon: Salon, staff_segment: str, params: httpx.QueryParams
    ) -> Json:
        chosen = _query_ids(params, "service_ids")
        members = self._members(salon, staff_segment, chosen)
        since = self._today(salon)
        instant = _query_instant(params, "datetime", self._tz(salon))
        if instant is not None:
            since = max(since, instant.astimezone(self._tz(salon)).date())
        for offset in range(HORIZON_DAYS):
            day = since + timedelta(days=offset)
            slots = self._day_slots(salon, members, chosen, day)
            if slots:
                return _ok(
                    {"seance_date": day.isoformat(), "seances": self._slot_items(salon, slots)}
                )
        return _ok({"seance_date": None, "seances": []})

    def _book_dates(self, salon: Salon, params: httpx.QueryParams) -> Json:
        chosen = _query_ids(params, "service_ids")
        staff_id = _query_int(params, "staff_id")
        if staff_id in self._removed and any(m.id == staff_id for m in salon.staff):
            _not_found()
        members = [m for m in self._eligible(salon, chosen) if staff_id in (0, m.id)]
        first, last = self._date_range(salon, params)
        working: list[date] = []
        booking: list[date] = []
        day = first
        while day <= last:
            if any(day.weekday() in m.schedule for m in members):
                working.append(day)
                if self._day_slots(salon, members, chosen, day):
                    booking.append(day)
            day += timedelta(days=1)
        return _ok(
            {
                "booking_days": _by_month(booking),
                "booking_dates": [d.isoformat() for d in booking],
                "working_days": _by_month(working),
                "working_dates": [d.isoformat() for d in working],
            }
        )

    def _date_range(self, salon: Salon, params: httpx.QueryParams) -> tuple[date, date]:
        date_from, date_to = params.get("date_from"), params.get("date_to")
        try:
            if date_from and date_to:
                first, last = date.fromisoformat(date_from[:10]), date.fromisoformat(date_to[:10])
            elif month := params.get("date"):
                first = date.fromisoformat(month[:10]).replace(day=1)
                last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            else:
                first = self._today(salon)
                last = first + timedelta(days=DEFAULT_DATES_DAYS)
        except ValueError:
            _fail(422, "Invalid date")
        return first, min(last, first + timedelta(days=MAX_DATES_DAYS))

    def _book_times(
        self, salon: Salon, staff_segment: str, day_segment: str, params: httpx.QueryParams
    ) -> Json:
        chosen = _query_ids(params, "service_ids")
        members = self._members(salon, staff_segment, chosen)
        try:
            day = date.fromisoformat(day_segment)
        except ValueError:
            _not_found()
        return _ok(self._slot_items(salon, self._day_slots(salon, members, chosen, day)))

    # -- booking endpoints -------------------------------------------------------------------

    def _book_code(self, salon: Salon, body: Json, sent: list[tuple[int, str, str]]) -> Json:
        phone = body.get("phone")
        if not isinstance(phone, str) or not _PHONE_RE.match(phone.strip()):
            _refuse(salon.location, _Problem(431, "Invalid phone number format"))
        name = body.get("fullname") or body.get("fulname") or ""
        code = str(1000 + secrets.randbelow(9000))
        self._codes[(salon.location.id, _digits(phone))] = _SmsCode(
            code, self._now() + CODE_TTL, name if isinstance(name, str) else ""
        )
        sent.append((salon.location.id, phone.strip(), code))
        return {"success": True, "meta": {"message": "Created"}}

    def _code_matches(self, phone: str, code: object, company_ids: Iterable[int]) -> bool:
        if code is None or isinstance(code, bool):
            return False
        given = str(code).strip()
        now = self._now()
        for company_id in company_ids:
            sent = self._codes.get((company_id, _digits(phone)))
            if sent is not None and sent.expires_at > now and sent.code == given:
                return True
        return False

    def _plan(self, salon: Salon, body: Json) -> list[_Planned]:
        """Resolve and validate the appointments of a check or booking; never writes."""
        loc = salon.location
        appointments = body.get("appointments")
        if not isinstance(appointments, list) or not appointments:
            _refuse(loc, _Problem(422, _NO_SERVICES))
        tz = self._tz(salon)
        known = {s.id for s in salon.services if s.id not in self._withdrawn}
        planned: list[_Planned] = []
        errors: list[_Problem] = []
        for appointment in appointments:
            item = appointment if isinstance(appointment, dict) else {}
            ref = item.get("id")
            raw_services = item.get("services") or []
            service_ids = (
                [_as_int(s) for s in raw_services] if isinstance(raw_services, list) else []
            )
            start = _parse_instant(item.get("datetime"), tz)
            local = start.astimezone(tz) if start else None
            staff_id = _as_int(item.get("staff_id", 0))
            when = local.strftime("%Y-%m-%d at %H:%M") if local else "that time"
            # A removed member is still on file (their old records show them), so named too.
            named = next((m.name for m in salon.staff if m.id == staff_id), "")
            taken = _Problem(
                433,
                f"Team Member ({staff_id}) cannot be booked on {when}. "
                "The selected time is already taken or is not working.",
                ref,
                staff_id,
                named,
                local,
            )
            if not service_ids:
                errors.append(_Problem(422, _NO_SERVICES, ref))
                continue
            ids = [s for s in service_ids if s is not None and s in known]
            if len(ids) != len(service_ids):
                errors.append(_no_service(ref))
                continue
            if start is None or staff_id is None:
                errors.append(taken)
                continue
            chosen: _Planned | None = None
            if staff_id == 0:
                for member in self._eligible(salon, ids):
                    length = self._length(salon, member, ids)
                    if self._fits(member, salon, start, length):
                        chosen = _Planned(ref, member, ids, start, length, False)
                        break
                if chosen is None:
                    message = f"No team member is available on {when}."
                    errors.append(_Problem(436, message, ref, start=local))
                    continue
            else:
                member_or_none = next((m for m in self._present(salon) if m.id == staff_id), None)
                if member_or_none is None:
                    errors.append(taken)
                    continue
                if not all(s in self._performs(member_or_none) for s in ids):
                    errors.append(_no_service(ref))
                    continue
                length = self._length(salon, member_or_none, ids)
                if not self._fits(member_or_none, salon, start, length):
                    errors.append(taken)
                    continue
                chosen = _Planned(ref, member_or_none, ids, start, length, True)
            # One client cannot sit in two chairs at once, whoever serves them.
            end = chosen.start + timedelta(seconds=chosen.length)
            clash = next(
                (
                    p
                    for p in planned
                    if p.start < end and chosen.start < p.start + timedelta(seconds=p.length)
                ),
                None,
            )
            if clash is not None:
                message = f"The appointment overlaps appointment {clash.ref} in the same booking."
                errors.append(_Problem(437, message, ref, other_ref=clash.ref))
                continue
            planned.append(chosen)
        if errors:
            _refuse(loc, *errors)
        return planned

    def _book_check(self, salon: Salon, body: Json) -> Json:
        self._plan(salon, body)
        return {"success": True, "data": None, "meta": {"message": "Created"}}

    def _book_record(self, salon: Salon, body: Json) -> Json:
        loc = salon.location
        phone = body.get("phone")
        if not isinstance(phone, str) or not _PHONE_RE.match(phone.strip()):
            _refuse(loc, _Problem(431, "Invalid phone number format"))
        phone = phone.strip()
        if _digits(phone) in self._blacklist:
            message = _words(
                loc,
                "You cannot book online. Please contact the salon.",
                "Вы не можете записаться онлайн. Пожалуйста, свяжитесь с салоном.",
            )
            if loc.error_form == "message":
                _fail(403, message)
            _fail(403, message, [{"code": 434, "message": message}])
        fullname = body.get("fullname")
        if not isinstance(fullname, str) or not fullname.strip():
            _refuse(loc, _Problem(435, "Please enter your name"))
        # These two refusals carry no documented code, so none is made up: the message only.
        if loc.booking_email_required and not _EMAIL_RE.match(_text(body.get("email")).strip()):
            _fail(422, _words(loc, "Please enter your email", "Укажите email"))
        if loc.booking_comment_required and not _text(body.get("comment")).strip():
            _fail(422, _words(loc, "Please enter a comment", "Укажите комментарий"))
        if loc.phone_confirmation and not self._code_matches(phone, body.get("code"), [loc.id]):
            _refuse(loc, _Problem(432, "Wrong confirmation code"))
        planned = self._plan(salon, body)
        now = self._now()
        api_id = body.get("api_id")
        created = []
        for item in planned:
            record = _Record(
                record_id=self._next_record_id,
                company_id=loc.id,
                staff_id=item.member.id,
                service_ids=item.service_ids,
                start=item.start,
                length=item.length,
                phone=phone,
                fullname=fullname.strip(),
                email=_text(body.get("email")),
                comment=_text(body.get("comment")),
                master_requested=item.master_requested,
                hash=secrets.token_hex(16),
                api_id="" if api_id is None else str(api_id),
                notify_by_sms=_hours(body.get("notify_by_sms"), loc.default_notify_by_sms),
                notify_by_email=_hours(body.get("notify_by_email"), loc.default_notify_by_email),
                create_date=now,
                last_change_date=now,
            )
            self._next_record_id += 1
            self._records[record.record_id] = record
            created.append(
                {"id": item.ref, "record_id": record.record_id, "record_hash": record.hash}
            )
        return _ok(created)

    # -- records -----------------------------------------------------------------------------

    def _user(self, user_token: str | None) -> _User:
        """The logged-in client; endpoints that need one answer 401 without it."""
        user = self._users.get(user_token) if user_token else None
        if user is None:
            _fail(401, "Authentication needed.")
        return user

    def _owns(self, user: _User, record: _Record) -> bool:
        return _digits(record.phone) == user.phone

    def _record_by_hash(
        self, cid: str, record_segment: str, record_hash: str, user_token: str | None
    ) -> _Record:
        salon = self._salon(cid)
        record = self._records.get(_path_int(record_segment))
        if record is None or record.company_id != salon.location.id:
            _not_found()
        if secrets.compare_digest(record.hash, record_hash):
            return record
        if user_token is not None:
            if not self._owns(self._user(user_token), record):
                _fail(403, "Access denied.")
            return record
        # A wrong hash reads as a missing record, so ids cannot be probed for existence.
        _not_found()

    def _reschedule(
        self, cid: str, record_segment: str, body: Json, user_token: str | None
    ) -> Json:
        salon = self._salon(cid)
        loc = salon.location
        user = self._user(user_token)
        record = self._records.get(_path_int(record_segment))
        if record is None or record.company_id != loc.id or record.deleted:
            _not_found()
        if not self._owns(user, record):
            _fail(403, "Access denied.")
        now = self._now()
        if not loc.allow_change_record:
            _fail(
                422,
                _words(
                    loc,
                    "Online rescheduling is not available at this location.",
                    "Онлайн-перенос записи в этом филиале недоступен.",
                ),
            )
        if now + timedelta(seconds=loc.allow_change_record_delay_step) > record.start:
            hours = loc.allow_change_record_delay_step // 3600
            _fail(
                422,
                _words(
                    loc,
                    f"Cannot reschedule online less than {hours} h before the visit.",
                    f"Перенести запись онлайн можно не позднее чем за {hours} ч до визита.",
                ),
            )
        tz = self._tz(salon)
        start = _parse_instant(body.get("datetime"), tz)
        member = self._member_of(record)
        # A member who has left takes no more visits, not even moved ones.
        if (
            start is None
            or member.id in self._removed
            or not self._fits(member, salon, start, record.length, record.record_id)
        ):
            message = (
                f"Team Member ({record.staff_id}) cannot be booked at that time. "
                "The selected time is already taken or is not working."
            )
            local = start.astimezone(tz) if start else None
            _refuse(
                loc, _Problem(433, message, staff_id=member.id, staff_name=member.name, start=local)
            )
        record.start = start
        if isinstance(body.get("comment"), str):
            record.comment = body["comment"]
        record.last_change_date = now
        return _ok(self._changed_view(record))

    def _user_auth(self, body: Json) -> Json:
        phone = body.get("phone")
        company = _as_int(body.get("company_id"))
        companies = [company] if company in self._salons else list(self._salons)
        if not isinstance(phone, str) or not self._code_matches(phone, body.get("code"), companies):
            # Without a location in the body, the default location's error form speaks.
            speaker = self._salons.get(company or 0) or self._salons[SANDBOX_COMPANY_ID]
            _refuse(speaker.location, _Problem(432, "Wrong confirmation code"))
        user = self._user_for(phone)
        name = next(
            (s.fullname for (_, p), s in self._codes.items() if p == user.phone and s.fullname),
            "",
        ) or next(
            (r.fullname for r in self._records.values() if _digits(r.phone) == user.phone), ""
        )
        return _ok(
            {
                "0": user.token,
                "id": user.id,
                "user_token": user.token,
                "name": name,
                "phone": user.phone,
                "login": user.phone,
                "email": "",
                "avatar": _AVATAR,
            }
        )

    def _user_for(self, phone: str) -> _User:
        digits = _digits(phone)
        for user in self._users.values():
            if user.phone == digits:
                return user
        user = _User(self._next_user_id, digits, secrets.token_hex(16))
        self._next_user_id += 1
        self._users[user.token] = user
        return user

    def _path_record(self, rest: list[str], user_token: str | None) -> _Record:
        """`user/records/{id}/{hash}`: a user token owning the record, or the matching hash."""
        if not rest:
            _not_found()
        record = self._records.get(_path_int(rest[0]))
        if record is None:
            _not_found()
        if user_token is not None:
            if not self._owns(self._user(user_token), record):
                _fail(403, "Access denied.")
            return record
        if len(rest) < 2 or not secrets.compare_digest(record.hash, rest[1]):
            _not_found()
        return record

    def _user_records(self, rest: list[str], user_token: str | None) -> Json:
        if user_token is not None:
            # With a token the path ids are not needed: the client sees all their visits.
            user = self._user(user_token)
            mine = [r for r in self._records.values() if self._owns(user, r)]
            return _ok([self._record_view(r) for r in sorted(mine, key=lambda r: r.start)])
        return _ok([self._record_view(self._path_record(rest, None))])

    def _delete_record(self, rest: list[str], user_token: str | None) -> Json:
        record = self._path_record(rest, user_token)
        if record.deleted:
            _not_found()
        loc = self._salons[record.company_id].location
        if not loc.allow_delete_record:
            _fail(
                422,
                _words(
                    loc,
                    "Online cancellation is not available at this location.",
                    "Онлайн-отмена записи в этом филиале недоступна.",
                ),
            )
        now = self._now()
        if now + timedelta(seconds=loc.allow_delete_record_delay_step) > record.start:
            hours = loc.allow_delete_record_delay_step // 3600
            _fail(
                422,
                _words(
                    loc,
                    f"Cannot cancel online less than {hours} h before the visit.",
                    f"Отменить запись онлайн можно не позднее чем за {hours} ч до визита.",
                ),
            )
        record.deleted = True
        record.last_change_date = now
        return _ok(None)

    # -- record views ------------------------------------------------------------------------

    def _services_of(self, record: _Record) -> list[Service]:
        salon = self._salons[record.company_id]
        by_id = {s.id: s for s in salon.services}
        return [by_id[s] for s in record.service_ids]

    def _member_of(self, record: _Record) -> StaffMember:
        salon = self._salons[record.company_id]
        return next(m for m in salon.staff if m.id == record.staff_id)

    def _offset_hours(self, salon: Salon) -> str:
        offset = self._now().astimezone(self._tz(salon)).utcoffset() or timedelta()
        return str(int(offset.total_seconds() // 3600))

    def _record_view(self, record: _Record) -> Json:
        """The record as `GET book_record` and `GET user/records` show it."""
        salon = self._salons[record.company_id]
        tz = self._tz(salon)
        member = self._member_of(record)
        company = {
            **_pick(asdict(salon.location), _RECORD_COMPANY_KEYS),
            "phones": [salon.location.phone],
            "timezone": self._offset_hours(salon),
        }
        services = [
            {
                "id": s.id,
                "title": s.title,
                "cost": s.price_min,
                "price_min": _price(s, s.price_min),
                "price_max": _price(s, s.price_max),
                "discount": 0,
                "amount": 1,
                "seance_length": s.length_for(member.id),
            }
            for s in self._services_of(record)
        ]
        staff = {
            "id": member.id,
            "name": member.name,
            "specialization": member.specialization,
            "position": _position(member),
            "show_rating": 1,
            "rating": _rating(member),
            "votes_count": member.votes_count,
            "avatar": _AVATAR,
            "comments_count": member.comments_count,
        }
        return {
            "id": record.record_id,
            "services": services,
            "company": company,
            "staff": staff,
            "clients_count": 1,
            "date": _wall(record.start, tz),
            "datetime": _iso_compact(record.start, tz),
            "create_date": _iso_compact(record.create_date, tz),
            "comment": record.comment,
            "deleted": record.deleted,
            "attendance": 0,
            "length": record.length,
            "notify_by_sms": record.notify_by_sms,
            "notify_by_email": record.notify_by_email,
            "master_requested": record.master_requested,
            "online": True,
            "api_id": record.api_id,
            "last_change_date": _iso_compact(record.last_change_date, tz),
            "prepaid": False,
            "prepaid_confirmed": False,
            "activity_id": 0,
        }

    def _changed_view(self, record: _Record) -> Json:
        """The shorter shape `PUT book_record` answers with; staff specialization is `spec`."""
        full = self._record_view(record)
        staff = _pick(full["staff"], ("id", "name", "show_rating", "rating", "votes_count"))
        return {
            **_pick(full, _CHANGED_RECORD_KEYS),
            "services": [_pick(s, ("id", "title", "cost", "discount")) for s in full["services"]],
            "company": _pick(full["company"], _CHANGED_COMPANY_KEYS),
            "staff": {
                **staff,
                "spec": full["staff"]["specialization"],
                "avatar": _AVATAR,
                "comments_count": full["staff"]["comments_count"],
            },
        }

    # -- seed and test hooks -----------------------------------------------------------------

    def _seed(self) -> None:
        now = self._now()
        for seed in SEED_APPOINTMENTS:
            salon = self._salons[seed.company_id]
            tz = self._tz(salon)
            member = next(m for m in salon.staff if m.id == seed.staff_id)
            day = now.astimezone(tz).date()
            remaining = seed.working_day
            while day.weekday() not in member.schedule or remaining:
                if day.weekday() in member.schedule:
                    remaining -= 1
                day += timedelta(days=1)
            created = now - timedelta(days=3 + seed.working_day)
            record = _Record(
                record_id=self._next_record_id,
                company_id=seed.company_id,
                staff_id=seed.staff_id,
                service_ids=list(seed.service_ids),
                start=_at(day, seed.at, tz),
                length=self._length(salon, member, seed.service_ids),
                phone=seed.phone,
                fullname=seed.fullname,
                email="",
                comment=seed.comment,
                master_requested=True,
                hash=secrets.token_hex(16),
                api_id="",
                notify_by_sms=2,
                notify_by_email=0,
                create_date=created,
                last_change_date=created,
            )
            self._next_record_id += 1
            self._records[record.record_id] = record

    def _hook(self, method: str, name: str, request: httpx.Request) -> tuple[int, Any]:
        """Test-only views and switches under `/__sandbox/`; not part of Altegio's API."""
        params = request.url.params
        method = method.upper()
        match method, name.strip("/").split("/"):
            case "POST", ["faults"]:
                return self._hook_change(request, self._hook_fault)
            case "DELETE", ["faults"]:
                cleared = len(self._faults)
                self._faults.clear()
                return 200, {"cleared": cleared}
            case "POST", ["locations", cid]:
                return self._hook_change(request, lambda body: self._hook_configure(cid, body))
            case "POST", ["services", sid, "withdraw"]:
                return self._hook_change(request, lambda _: self._withdraw_service(_hook_id(sid)))
            case "POST", ["staff", sid, "remove"]:
                return self._hook_change(request, lambda _: self._remove_staff(_hook_id(sid)))
        if method == "GET" and name.strip("/") == "sms":
            sms_company = _as_int(params.get("company_id")) or SANDBOX_COMPANY_ID
            sent = self._codes.get((sms_company, _digits(params.get("phone", ""))))
            return 200, {"company_id": sms_company, "code": sent.code if sent else None}
        if method == "GET" and name.strip("/") == "records":
            rows = self._rows(_as_int(params.get("company_id")))
            return 200, [
                {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
                for row in rows
            ]
        _not_found()

    def _hook_change(
        self, request: httpx.Request, change: Callable[[Any], object]
    ) -> tuple[int, Any]:
        """Run a hook's change on its JSON body; bad input of any kind is a 400."""
        raw = request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return 400, {"error": "the body is not JSON"}
        try:
            change(body)
        except (KeyError, TypeError, ValueError) as error:
            message = error.args[0] if error.args else type(error).__name__
            return 400, {"error": str(message)}
        return 200, {"ok": True}

    def _hook_configure(self, cid: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise TypeError("the body must be a JSON object of location fields")
        self._configure(_hook_id(cid), body)

    def _hook_fault(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise TypeError("the body must be a JSON object")
        known = {
            "method", "route", "status", "body", "content_type", "headers", "carry_out",
            "times", "path_contains",
        }  # fmt: skip
        if unknown := set(body) - known:
            raise TypeError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        if "method" not in body or "route" not in body:
            raise TypeError("a fault needs a method and a route")
        fault = _make_fault(
            body["method"],
            body["route"],
            status=body.get("status", 500),
            body=body.get("body", ...),
            content_type=body.get("content_type"),
            headers=body.get("headers"),
            carry_out=body.get("carry_out", False),
            times=body.get("times", 1),
            path_contains=body.get("path_contains", ""),
        )
        self._faults.append(fault)


def _hook_id(segment: str) -> int:
    value = _as_int(segment)
    if value is None:
        raise ValueError(f"{segment!r} is not an id")
    return value


def _checked_value(name: str, value: object) -> object:
    """`value` if it suits the location field `name` (as JSON would carry it)."""
    kinds = get_args(_LOCATION_TYPES[name]) or (_LOCATION_TYPES[name],)
    for kind in kinds:
        if kind is type(None) and value is None:
            return value
        if kind is bool and isinstance(value, bool):
            return value
        if kind is str and isinstance(value, str):
            if name in _CHOICES and value not in _CHOICES[name]:
                raise ValueError(f"{name} must be one of {', '.join(_CHOICES[name])}")
            return value
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ValueError(f"{name} cannot be negative")
            return value
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    raise TypeError(f"{name} cannot be {value!r}")


def _pick(mapping: Json, keys: Iterable[str]) -> Json:
    return {key: mapping[key] for key in keys}


def _no_service(ref: Any) -> _Problem:
    return _Problem(438, "There is no appointment for the specified service/promotion", ref)


def _hours(given: object, preset: int) -> int:
    """A reminder setting of a booking: the location's preset when the booking names none (0 is
    a choice: no reminder)."""
    return preset if given is None else _as_int(given) or 0


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _json_body(request: httpx.Request) -> Json:
    raw = request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        _fail(400, "Invalid JSON")
    if not isinstance(body, dict):
        _fail(400, "Invalid JSON")
    return body


def _query_int(params: httpx.QueryParams, name: str) -> int:
    """A numeric query parameter, 0 when absent; garbage matches nothing (-1)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return 0
    value = _as_int(raw)
    return -1 if value is None else value


def _query_ids(params: httpx.QueryParams, name: str) -> list[int]:
    """Repeated ids, sent as `name[]`, PHP-style `name[0]`, or plain `name`."""
    ids = []
    for key, value in params.multi_items():
        if key == name or (key.startswith(f"{name}[") and key.endswith("]")):
            parsed = _as_int(value)
            ids.append(-1 if parsed is None else parsed)
    return ids


def _query_instant(params: httpx.QueryParams, name: str, tz: ZoneInfo) -> datetime | None:
    raw = params.get(name)
    if not raw:
        return None
    instant = _parse_instant(raw, tz)
    if instant is None:
        _fail(422, f"Invalid {name}")
    return instant


def _by_month(days: list[date]) -> dict[str, list[int]] | list[Any]:
    if not days:
        return []
    months: dict[str, list[int]] = {}
    for day in days:
        months.setdefault(str(day.month), []).append(day.day)
    return months


def make_server(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 8099) -> ThreadingHTTPServer:
    """An HTTP server relaying every request to `sandbox`; port 0 picks a free port."""

    class Relay(BaseHTTPRequestHandler):
        server_version = "AltegioSandbox/1.0"
        # Keep-alive, as Altegio's own servers: a client reuses its connections.
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes: without this, Nagle's algorithm and the client's
        # delayed acknowledgement hold every answer back for some 40 ms.
        disable_nagle_algorithm = True

        def relay(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                authority = self.headers.get("Host") or f"{host}:{port}"
                request = httpx.Request(
                    self.command,
                    f"http://{authority}{self.path}",
                    headers=[(k, v) for k, v in self.headers.items() if k.lower() != "host"],
                    content=body,
                    extensions={CLIENT_IP_EXTENSION: self.client_address[0]},
                )
                response = sandbox.handle(request)
            except Exception:
                logger.exception("sandbox failed on %s %s", self.command, self.path)
                response = httpx.Response(
                    500,
                    json={"success": False, "data": None, "meta": {"message": "Server error"}},
                )
            self.send_response(response.status_code)
            self.send_header("Content-Type", response.headers.get("Content-Type", "text/plain"))
            for name, value in response.headers.multi_items():
                # Framing is this server's business; a fault's own headers (Retry-After) pass.
                if name.lower() not in {"content-type", "content-length", "transfer-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = relay

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s " + format, self.address_string(), *args)

    return ThreadingHTTPServer((host, port), Relay)


def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 8099) -> None:
    """Serve the sandbox over HTTP until interrupted."""
    server = make_server(sandbox, host, port)
    logger.info("Altegio sandbox listening on http://%s:%d/api", *server.server_address[:2])
    try:
        server.serve_forever()
    finally:
        server.server_close()
