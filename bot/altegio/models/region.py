"""Where a location is, as Altegio writes it: its zone as an IANA name or a bare UTC offset, its
country by name in any of Altegio's languages (and so the country's currency)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import available_timezones

from babel import Locale
from babel.numbers import get_territory_currencies

from bot.altegio.models.lenient import Json, as_decimal, as_str, zone

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


def zone_key(raw: Mapping[str, Json]) -> str:
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
