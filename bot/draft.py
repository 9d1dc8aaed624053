"""The booking draft a client builds step by step, and the plain rules the steps rely on."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

import phonenumbers
from dateparser.date import DateDataParser

# How far ahead the calendar offers days.
HORIZON_DAYS = 90
MAX_NAME = 64
MAX_COMMENT = 500


@dataclass(slots=True)
class Draft:
    """What the client has chosen so far; JSON by construction (it lives in `user_data`)."""

    flow: str = field(default_factory=lambda: secrets.token_hex(3))
    category_id: int | None = None
    service_id: int | None = None  # the first service of the visit
    more_services: list[int] = field(default_factory=list)  # the visit's other services, in order
    adding: bool = False  # the team step shows the services that may join the visit
    staff_id: int | None = None  # 0 = any team member
    month: str | None = None  # YYYY-MM-01 shown in the calendar
    day: str | None = None  # YYYY-MM-DD
    after: int | None = None  # minutes after midnight the client asked for ("after 5")
    before: int | None = None  # and the minute their window ends ("in the morning": 12:00)
    # What a client's own words asked for and the menus have not settled yet (bot/understand):
    # the services or team members it could be (several: offered as a choice), the day.
    wish_services: list[int] = field(default_factory=list)
    wish_staff: list[int] = field(default_factory=list)
    wish_day: str | None = None  # YYYY-MM-DD
    slot: str | None = None  # Altegio's own `datetime` of the chosen time, echoed back
    slot_length: int | None = None
    # Who the chosen time is free with and for how long, when read member by member (with
    # anyone, in a rush): [the time, [[team member, seconds], ...]] (`slot_free_with`).
    slot_with: list[Any] = field(default_factory=list)
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    email_needed: bool = False  # Altegio asked for an e-mail the location did not announce
    comment: str | None = None
    comment_needed: bool = False  # likewise for a comment
    consent: str = ""  # the fingerprint of the salon's privacy policy the client accepted
    notice: str = ""  # a note for the next screen (what changed, why the client is there)
    refusals: int = 0  # unexplained refusals of this booking by Altegio
    code_sent: bool = False
    code_attempts: int = 0
    summary_ready: bool = False
    new_contact: bool = False  # the client wants to give details other than the remembered ones
    reschedule: int | None = None  # the record being moved, when this draft moves one
    verify: bool = False  # this draft confirms the client's phone, to link their account
    nearest: bool = False  # go straight to the nearest day with a free time (Book again)
    taken: bool = False  # the chosen time was just taken: offer anyone's times if need be
    # Days (YYYY-MM-DD) this client found nothing free on (booked, or held by other clients of
    # the bot): not offered again as the nearest days while the client books.
    full_days: list[str] = field(default_factory=list)
    # The times last offered, as Altegio wrote them with their length, keyed by button (so a
    # tap needs no second read: the booking itself is what checks the time is still free).
    offered: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    # And, read member by member, who each is free with: [[team member, seconds], ...].
    offered_with: dict[str, list[list[Any]]] = field(default_factory=dict)
    # When those (or the earliest) times were shown, as ISO 8601: a booking the bot made after
    # then may have filled the time chosen among them (`bot/altegio/own_bookings.py`).
    seen_at: str | None = None
    time_text: str = ""  # the heading of the times shown, for their other pages
    # The earliest times offered first, by button: (team member, Altegio's `datetime`, length).
    earliest: dict[str, tuple[int, str, int | None]] = field(default_factory=dict)
    early: int | None = None  # the team member chosen (0: anyone) before an earliest time
    # A visit nobody does whole, as consecutive appointments: each part's services, each part's
    # team member as chosen so far (0: anyone), the times offered for the later parts by button
    # ([Altegio's `datetime`, length] each), and those of the time chosen.
    parts: list[list[int]] = field(default_factory=list)
    part_staff: list[int] = field(default_factory=list)
    chains: dict[str, list[list[Any]]] = field(default_factory=dict)
    later: list[list[Any]] = field(default_factory=list)
    activity: int | None = None  # a group class being booked (its event), not an appointment
    classes: dict[str, int] = field(default_factory=dict)  # seats; the list's week and filters

    def as_json(self) -> dict[str, Any]:
        # Written after every update: a copy with the containers copied, as JSON has them.
        return {name: _plain(getattr(self, name)) for name in _DRAFT_FIELDS}

    @classmethod
    def from_json(cls, data: object) -> Draft | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(**{k: v for k, v in data.items() if k in _DRAFT_KNOWN})
        except TypeError:
            return None

    @property
    def service_ids(self) -> list[int]:
        """Every service of the visit, the first chosen first (empty before one is chosen)."""
        if self.service_id is None:
            return []
        return [self.service_id, *(s for s in self.more_services if s != self.service_id)]

    @property
    def seen(self) -> datetime | None:
        """When the times the client chose from were shown (None: not known)."""
        try:
            return datetime.fromisoformat(self.seen_at) if self.seen_at else None
        except ValueError:
            return None

    @property
    def slot_free_with(self) -> tuple[tuple[int, int | None], ...]:
        """Who the chosen time is free with and for how long, as the times read member by
        member said (empty: not known, or said of another time than the one chosen now)."""
        if len(self.slot_with) != 2 or self.slot_with[0] != self.slot:
            return ()
        return parse_free_with(self.slot_with[1])

    @property
    def chosen_day(self) -> date | None:
        return date.fromisoformat(self.day) if self.day else None

    @property
    def shown_month(self) -> date | None:
        return date.fromisoformat(self.month) if self.month else None


def parse_free_with(value: Any) -> tuple[tuple[int, int | None], ...]:
    """[[team member, seconds], ...] as kept in a draft, read leniently (a state written by
    another version may hold anything)."""
    found: list[tuple[int, int | None]] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], int):
            found.append((item[0], item[1] if isinstance(item[1], int) else None))
    return tuple(found)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


_DRAFT_FIELDS = tuple(f.name for f in fields(Draft))
_DRAFT_KNOWN = frozenset(_DRAFT_FIELDS)


# --- times other clients of the bot are booking -----------------------------------------------

HOLD = timedelta(minutes=5)


# --- phone numbers --------------------------------------------------------------------------


def phone_region(salon_phone: str) -> str | None:
    """The country whose local number format a salon's clients most likely type."""
    try:
        number = phonenumbers.parse(salon_phone, None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.region_code_for_number(number)


def normalize_phone(text: str, region: str | None) -> str | None:
    """E.164 (`+4915112345678`) for a valid number typed in any common way, else None."""
    cleaned = text.strip()
    if not cleaned or len(cleaned) > 40:
        return None
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    elif re.fullmatch(r"[1-9][\d\s().-]{9,}", cleaned) and _valid("+" + cleaned, None):
        # Digits with neither "+" nor a trunk "0" are an international number written without
        # its plus, as Telegram shares them; local numbers start with 0 nearly everywhere.
        cleaned = "+" + cleaned
    for attempt in (cleaned, "+" + re.sub(r"\D", "", cleaned)):
        number = _parse(attempt, region)
        if number is not None and phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _valid(text: str, region: str | None) -> bool:
    number = _parse(text, region)
    return number is not None and phonenumbers.is_valid_number(number)


def display_phone(phone: str) -> str:
    """E.164 as people read it: `+49 151 23456789`."""
    number = _parse(phone, None)
    if number is None:
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask_phone(phone: str) -> str:
    """For logs: enough to tell numbers apart, not enough to call one."""
    return phone[:4] + "…" + phone[-2:] if len(phone) > 6 else "…"


# --- names ----------------------------------------------------------------------------------


# Terminal escape sequences (colours, cursor moves, window titles) go as a whole, not only their
# escape character: "\x1b[31mAnna" is "Anna", not "[31mAnna".
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, links
    r"|\x9b[0-?]*[ -/]*[@-~]"  # CSI in its one-character form
    r"|\x1b[@-Z\\-_]"  # two-character sequences
)
# Invisible characters that are part of how a name is written: the joiner that makes one emoji
# of several, and the non-joiner some scripts (Persian, Indic) need inside words.
_KEPT = frozenset("\u200c\u200d")


def _printable(text: str, keep: str = "") -> str:
    text = _ESCAPES.sub("", text)
    return "".join(ch for ch in text if ch.isprintable() or ch in _KEPT or ch in keep)


def clean_name(text: str) -> str | None:
    """A name as a person would write it: printable, with at least one letter, not too long."""
    name = " ".join(_printable(text).split())
    if not name or len(name) > MAX_NAME or not any(ch.isalpha() for ch in name):
        return None
    return name


def clean_comment(text: str) -> str:
    """A comment as typed, without control characters; its length is the caller's to check
    (`MAX_COMMENT`): a long one is refused, never cut."""
    return _printable(text, keep="\n").strip()


_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"]+@([^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]{2,})")


def clean_email(text: str) -> str | None:
    """An e-mail address as typed (spaces around it dropped, the domain in lower case), or
    None when it cannot be one."""
    address = text.strip().strip("<>").strip()
    match = _EMAIL.fullmatch(address)
    if match is None or len(address) > 254 or ".." in address:
        return None
    local, _, domain = address.rpartition("@")
    if local.startswith(".") or local.endswith(".") or domain.startswith(("-", ".")):
        return None
    return f"{local}@{domain.lower()}"


# --- typed days -----------------------------------------------------------------------------


_NUMERIC = re.compile(r"^\s*(\d{1,2})\s*[./-]\s*(\d{1,2})\s*(?:[./-]\s*(\d{2}|\d{4}))?\s*\.?\s*$")
_BARE_DAY = re.compile(r"^\s*(\d{1,2})\s*\.?\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
_AFTER = re.compile(
    r"(?<!\w)(?:after|from|past|после|с|після|з|ab|nach|después de las|después de|desde las"
    r"|depois das|depois de|a partir das|po|od|pēc|nuo|pärast|peale)\s+(\d{1,2})(?:[:.](\d{2}))?"
    r"\s*(am|pm)?",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"(?<!\w)(?:next|this|coming|on|следующ\w*|ближайш\w*|в|во|на|у|наступн\w*|найближч\w*"
    r"|am|nächste\w*|kommende\w*|el|la|próxim\w*|este|esta|na|no|w|we|następn\w*"
    r"|nākam\w*|kitą|kitas|järgmisel|järgmine)(?!\w)",
    re.IGNORECASE,
)
# "The day after tomorrow" in the shipped languages, which the date parser does not all know.
_IN_TWO_DAYS = re.compile(
    r"^\s*(?:(?:the\s+)?day\s+after\s+tomorrow|послезавтра|післязавтра|übermorgen"
    r"|pasado\s+mañana|depois\s+de\s+amanhã|pojutrze|parīt|poryt|ülehomme)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class TypedDay:
    day: date
    after: int | None = None  # minutes after midnight


def parse_day(
    text: str, languages: Sequence[str], today: date, *, month_first: bool = False
) -> TypedDay | None:
    """A calendar day from free text in the client's language or English, or None.

    Only answers that name a single day are accepted ("March" names a month); a bare number is
    a day of this month or, once it has passed, of the next one.
    """
    text = text.strip()[:100]
    if not text:
        return None
    after = _after(text)
    core = _AFTER.sub(" ", text).strip() or text
    if _IN_TWO_DAYS.search(core):
        return TypedDay(today + timedelta(days=2), after)
    found = _numeric_day(core, today, month_first)
    if found is None:
        found = _dateparser_day(core, languages, today, month_first)
    if found is None:
        stripped = _FILLER.sub(" ", core).strip()
        if stripped and stripped != core:
            found = _dateparser_day(stripped, languages, today)
    return TypedDay(found, after) if found else None


def _after(text: str) -> int | None:
    match = _AFTER.search(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").lower()
    if suffix == "pm" and hour < 12:
        hour += 12
    elif not suffix and 1 <= hour <= 7:
        # Nobody books a haircut after 5 in the morning.
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return hour * 60 + minute


def _numeric_day(text: str, today: date, month_first: bool = False) -> date | None:
    if match := _ISO.match(text):
        return _safe_date(int(match[1]), int(match[2]), int(match[3]))
    if match := _BARE_DAY.match(text):
        day = int(match[1])
        for months_ahead in range(3):
            month_index = today.month - 1 + months_ahead
            candidate = _safe_date(today.year + month_index // 12, month_index % 12 + 1, day)
            if candidate and candidate >= today:
                return candidate
        return None
    if match := _NUMERIC.match(text):
        first, second = int(match[1]), int(match[2])
        year_text = match[3]
        # Day first, as nearly every Altegio market writes it; month first where the salon's
        # country writes dates so (11/02 is 2 November in the United States), except with dots,
        # which nobody writes month first. Either way the other order where only it is a date.
        month_first_here = month_first and "." not in text
        if month_first_here:
            month, day = (first, second) if first <= 12 else (second, first)
        else:
            day, month = (first, second) if second <= 12 else (second, first)
        if year_text:
            year = int(year_text) + (2000 if len(year_text) == 2 else 0)
            return _safe_date(year, month, day)
        candidate = _safe_date(today.year, month, day)
        if candidate and candidate < today:
            candidate = _safe_date(today.year + 1, month, day)
        return candidate
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_PARSERS: dict[tuple[tuple[str, ...], date, bool], DateDataParser] = {}


def _dateparser_day(
    text: str, languages: Sequence[str], today: date, month_first: bool = False
) -> date | None:
    # The parser knows languages, not regions: pt_BR is "pt".
    codes = [language.split("_")[0].lower() for language in languages]
    key = (tuple(dict.fromkeys([*codes, "en"])), today, month_first)
    parser = _PARSERS.get(key)
    if parser is None:
        if len(_PARSERS) > 64:
            _PARSERS.clear()
        # Noon as the base keeps "tomorrow" on the right day whatever the salon's offset.
        base = datetime(today.year, today.month, today.day, 12)  # noqa: DTZ001
        order = "MDY" if month_first else "DMY"
        settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": base, "DATE_ORDER": order}
        parser = DateDataParser(languages=list(key[0]), settings=settings)
        _PARSERS[key] = parser
    try:
        data = parser.get_date_data(text)
    except (ValueError, OverflowError):
        return None
    if data.date_obj is None or data.period != "day":
        return None
    return data.date_obj.date()


# --- days and times -------------------------------------------------------------------------


def nearest_days(target: date, bookable: Iterable[date], count: int = 4) -> list[date]:
    """The bookable days closest to `target`, later ones first on a tie, in calendar order."""
    days = sorted(set(bookable))
    ranked = sorted(days, key=lambda d: (abs((d - target).days), d < target))
    return sorted(ranked[:count])


def horizon(today: date) -> tuple[date, date]:
    return today, today + timedelta(days=HORIZON_DAYS)
