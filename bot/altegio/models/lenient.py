"""Lenient readers of Altegio's scalars: ids and numbers as ints or strings, dates and times with
or without an offset's colon, Altegio's `[]` for an empty object.

Every model is parsed with these, so a variant the API reference lists never breaks a read;
`require_int` raises `UnexpectedResponse` where a value the bot cannot do without is missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.altegio.errors import UnexpectedResponse

Json = Any

_OFFSET_NO_COLON = re.compile(r"([+-])(\d{2})(\d{2})$")


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
