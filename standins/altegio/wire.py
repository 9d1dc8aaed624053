"""Altegio's wire format as the sandbox speaks it: the `{success, data, meta}` envelope,
refusals worded in the location's error form and language, request values read leniently (ids
as ints or strings, PHP-style repeated parameters) and answer values written in the platform's
irregular shapes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, NoReturn
from zoneinfo import ZoneInfo

import httpx

from standins.altegio.salon import SalonState
from standins.altegio.seed import Location, Salon, Service, StaffMember

Json = dict[str, Any]

AVATAR = "https://app.alteg.io/images/no-master.png"
AVATAR_BIG = "https://app.alteg.io/images/no-master-big.png"

# fmt: off
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

NO_REF: Final = object()
"""Marks a refusal about the whole request: its error entry carries no appointment `id`."""
NO_SERVICES = "No services or promotions set"


# -- answers and refusals ------------------------------------------------------------------------


class Abort(Exception):
    """Stops request processing with a ready response."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


_AUTH_RE = re.compile(r"^Bearer (?P<p>[^,\s]+)(,\s*User (?P<u>\S+))?$")


def authenticate(request: httpx.Request, partner_token: str) -> str | None:
    """Check the partner token; return the user token, if the caller sent one."""
    match = _AUTH_RE.match(request.headers.get("Authorization", ""))
    if match is None or match["p"] != partner_token:
        fail(401, "Authentication needed.")
    return match["u"]


def fail(status: int, message: str | None = None, errors: Sequence[Json] = ()) -> NoReturn:
    meta: Any
    if message is None:
        meta = []
    else:
        meta = {"message": message}
        if errors:
            meta["errors"] = list(errors)
    raise Abort(status, {"success": False, "data": None, "meta": meta})


def not_found() -> NoReturn:
    fail(404)


@dataclass(frozen=True)
class Problem:
    """A business refusal (431-438, or the inner 422), worded only when the answer goes out:
    the location's error form and language decide the words."""

    code: int
    legacy: str
    """The English of the `codes` form, word for word as the sandbox has always sent it."""
    ref: Any = NO_REF
    staff_id: int | None = None
    staff_name: str = ""
    start: datetime | None = None
    """The appointment's time as wall time at the location."""
    other_ref: Any = None


def words(loc: Location, english: str, russian: str) -> str:
    return russian if loc.error_language == "ru" else english


def sentence(problem: Problem, language: str) -> str:
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
    return "Не указаны услуги или акции" if ru else NO_SERVICES


def refuse(loc: Location, *problems: Problem) -> NoReturn:
    """A 422 in the location's error form and language."""
    if loc.error_form == "message":
        # The older form has room for one sentence: the first refusal is the one told.
        fail(422, sentence(problems[0], loc.error_language))
    errors = []
    for problem in problems:
        if loc.error_language == "en":
            text = problem.legacy
        else:
            text = sentence(problem, loc.error_language)
        error: Json = {"code": problem.code, "message": text}
        if problem.ref is not NO_REF:
            error["id"] = problem.ref
        errors.append(error)
    fail(422, words(loc, "An error has occurred", "Произошла ошибка"), errors)


def ok(data: Any, meta: Any = None) -> Json:
    return {"success": True, "data": data, "meta": [] if meta is None else meta}


def no_service(ref: Any) -> Problem:
    return Problem(438, "There is no appointment for the specified service/promotion", ref)


# -- reading requests ------------------------------------------------------------------------


def as_int(value: object) -> int | None:
    """Ids arrive as ints or numeric strings; anything else is not an id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def path_int(segment: str) -> int:
    value = as_int(segment)
    if value is None:
        not_found()
    return value


def parse_instant(value: object, tz: ZoneInfo) -> datetime | None:
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


def json_body(request: httpx.Request) -> Json:
    raw = request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        fail(400, "Invalid JSON")
    if not isinstance(body, dict):
        fail(400, "Invalid JSON")
    return body


def query_int(params: httpx.QueryParams, name: str) -> int:
    """A numeric query parameter, 0 when absent; garbage matches nothing (-1)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return 0
    value = as_int(raw)
    return -1 if value is None else value


def query_ids(params: httpx.QueryParams, name: str) -> list[int]:
    """Repeated ids, sent as `name[]`, PHP-style `name[0]`, or plain `name`."""
    ids = []
    for key, value in params.multi_items():
        if key == name or (key.startswith(f"{name}[") and key.endswith("]")):
            parsed = as_int(value)
            ids.append(-1 if parsed is None else parsed)
    return ids


def query_instant(params: httpx.QueryParams, name: str, tz: ZoneInfo) -> datetime | None:
    raw = params.get(name)
    if not raw:
        return None
    instant = parse_instant(raw, tz)
    if instant is None:
        fail(422, f"Invalid {name}")
    return instant


def text_of(value: object) -> str:
    return value if isinstance(value, str) else ""


def preset_hours(given: object, preset: int) -> int:
    """A reminder setting of a booking: the location's preset when the booking names none (0 is
    a choice: no reminder)."""
    return preset if given is None else as_int(given) or 0


def salon_at(state: SalonState, segment: str) -> Salon:
    """The location a path segment names; an unknown one is a 404."""
    salon = state.salons.get(path_int(segment))
    if salon is None:
        not_found()
    return salon


# -- writing answers -------------------------------------------------------------------------


def iso(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).isoformat(timespec="seconds")


def iso_compact(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S%z")


def wall(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def price(service: Service, value: int) -> int | str:
    return str(value) if service.id % 3 == 0 else value


def rating(member: StaffMember) -> float | str:
    return str(member.rating) if member.id % 2 == 0 else member.rating


def position(member: StaffMember) -> Json | list[Any]:
    if member.position is None:
        return []
    return {"id": member.position[0], "title": member.position[1]}


def pick(mapping: Json, keys: Iterable[str]) -> Json:
    return {key: mapping[key] for key in keys}


def by_month(days: list[date]) -> dict[str, list[int]] | list[Any]:
    if not days:
        return []
    months: dict[str, list[int]] = {}
    for day in days:
        months.setdefault(str(day.month), []).append(day.day)
    return months
