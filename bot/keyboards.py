"""Inline keyboards built from data, and the callback-data codec they speak.

Callback data is `b1:<flow>:<action>[:<arg>]` (at most 64 bytes). `b1` is the codec version,
`flow` names the booking the button belongs to, so a button from an earlier booking is recognised
as stale; `decode` is the one place where data from Telegram is parsed and validated.
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.altegio.models import Staff
from bot.i18n import Translator

VERSION = "b1"
MAX_BYTES = 64
NO_FLOW = "-"

_DIGITS = r"\d{1,12}"
ACTIONS: dict[str, str] = {
    "book": "",
    "cat": _DIGITS,
    "catp": r"\d{1,3}",
    "svc": _DIGITS,
    "svcp": r"\d{1,3}",
    "stf": _DIGITS,
    "more": "",  # add another service to the visit
    "add": _DIGITS,
    "drop": _DIGITS,
    "mon": r"\d{6}",
    "day": r"\d{8}",
    "cal": "",
    "tim": r"\d{12}",
    "timp": r"\d{1,2}",
    "soon": r"\d{12}-\d{1,12}",  # one of the earliest times: when, and with whom
    "back": "",
    "cancel": "",
    "confirm": "",
    "change": "",
    "chg": r"svc|stf|day|who",
    "me": "",
    "other": "",
    "keep": "",
    "skip": "",
    "agree": "",
    "resend": "",
    "noop": "",
    "retry": "",
    # My appointments and reminders; the argument is an Altegio record id.
    "apts": "1?",  # 1: open as a new message, leaving a confirmation above it untouched
    "apt": _DIGITS,
    "cnl": _DIGITS,
    "cnlok": _DIGITS,
    "resc": _DIGITS,
    "ics": _DIGITS,
    "addr": _DIGITS,
    "come": _DIGITS,
    "again": _DIGITS,
    "acct": "",  # confirm the phone, to see every appointment at the salon
    "past": "",  # past visits
    "remoff": "",
    "remon": "",
    "mvok": "",
    "lang": r"[a-z]{2}(?:_[A-Z]{2})?",
    "fgtok": "",
    "fgtno": "",
    # Group classes: the entry, a week, a day, a class (its day and event id), seats, the list
    # again, the filter menus and a filter set (a class, an instructor, or none).
    "classes": "",
    "clw": r"\d{1,2}",
    "cld": r"\d{8}",
    "clc": r"\d{8}-\d{1,12}",
    "cln": r"[1-4]",
    "cll": "",
    "clf": r"svc|stf",
    "clfs": r"[st]\d{1,12}|x",
    # The waiting list: ask to wait (the day seen full, if any), the days, anyone, My waiting
    # list, remove a wish, a freed time booked or let pass (a wish's or an offer's id).
    "wl": r"(?:\d{8})?",
    "wlp": r"[dwt]",
    "wla": "",
    "wls": "",
    "wlx": _DIGITS,
    "wlok": _DIGITS,
    "wlno": _DIGITS,
    # A chain's locations: one chosen (its company id), the list again, the location button.
    "loc": _DIGITS,
    "locs": "",
    "near": "",
}
# The years a button may name: bookings are made a few months ahead, never centuries.
YEARS = (2000, 2199)
_FLOW = re.compile(r"^(?:-|[a-z0-9]{4,8})$")
_ARGS = {action: re.compile(f"^(?:{pattern})$") for action, pattern in ACTIONS.items()}


@dataclass(frozen=True, slots=True)
class Callback:
    flow: str
    action: str
    arg: str = ""

    def encode(self) -> str:
        return _encode(self)

    @property
    def number(self) -> int:
        return int(self.arg)

    @property
    def day(self) -> date:
        return date(int(self.arg[:4]), int(self.arg[4:6]), int(self.arg[6:8]))


@functools.lru_cache(256)
def _encode(callback: Callback) -> str:
    """Checked by decoding it back; a menu repeats the same few (a calendar's blank days), so
    the last few hundred are kept (each client's flow makes its own)."""
    parts = [VERSION, callback.flow, callback.action]
    if callback.arg:
        parts.append(callback.arg)
    data = ":".join(parts)
    if len(data.encode()) > MAX_BYTES or decode(data) != callback:
        raise ValueError(f"callback data cannot be encoded: {data!r}")
    return data


def decode(data: str | None) -> Callback | None:
    """The button's meaning, or None for anything malformed, unknown or from another version."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    if len(parts) not in (3, 4) or parts[0] != VERSION:
        return None
    flow, action = parts[1], parts[2]
    arg = parts[3] if len(parts) == 4 else ""
    pattern = _ARGS.get(action)
    if pattern is None or not _FLOW.match(flow) or not pattern.match(arg):
        return None
    moment = arg.split("-")[0][:12]  # a class's button names its day before its event
    if action in ("day", "mon", "tim", "soon", "cld", "clc") and not _real_moment(moment):
        return None
    return Callback(flow, action, arg)


def pattern(*actions: str) -> str:
    """What PTB matches the buttons outside a booking (flow `-`) with these actions by: built
    from the codec's own table, so a handler never writes its own regex for callback data."""
    alternatives = []
    for action in actions:
        arg = ACTIONS[action]
        if not arg:
            alternatives.append(re.escape(action))
        elif re.fullmatch(arg, ""):
            alternatives.append(f"{re.escape(action)}(?::(?:{arg}))?")
        else:
            alternatives.append(f"{re.escape(action)}:(?:{arg})")
    return f"^{VERSION}:{re.escape(NO_FLOW)}:(?:{'|'.join(alternatives)})$"


def booking_pattern() -> str:
    """What PTB matches the buttons of a booking in progress by (a flow of their own); which
    step takes which action, and whether the data holds up, is `decode`'s and the flow's."""
    return f"^{VERSION}:[a-z0-9]+:"


def _real_moment(digits: str) -> bool:
    """Whether `YYYYMM`, `YYYYMMDD` or `YYYYMMDDHHMM` names a real month, day or minute (every
    button is checked this way when it is made, so this stays cheap: no strptime)."""
    day = int(digits[6:8]) if len(digits) > 6 else 1
    if not YEARS[0] <= int(digits[:4]) <= YEARS[1]:
        # No button names a day that far off; a forged one (December 9999) would run a
        # calendar past the last year a date can have.
        return False
    try:
        date(int(digits[:4]), int(digits[4:6]), day)
    except ValueError:
        return False
    return len(digits) < 12 or (int(digits[8:10]) < 24 and int(digits[10:12]) < 60)


def day_arg(day: date) -> str:
    return day.strftime("%Y%m%d")


def time_arg(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M")


class Keys:
    """Builds buttons for one booking flow in one language."""

    def __init__(self, flow: str, t: Translator) -> None:
        self.flow = flow
        self.t = t

    def button(self, label: str, action: str, arg: str | int = "") -> InlineKeyboardButton:
        return InlineKeyboardButton(
            label, callback_data=Callback(self.flow, action, str(arg)).encode()
        )

    def nav(self, back: bool = True) -> list[InlineKeyboardButton]:
        row = []
        if back:
            row.append(self.button(self.t.gettext("« Back"), "back"))
        row.append(self.button(self.t.gettext("Cancel"), "cancel"))
        return row

    def markup(
        self, rows: Sequence[Sequence[InlineKeyboardButton]], back: bool = True
    ) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([*[list(r) for r in rows if r], self.nav(back)])

    def paged(
        self,
        items: Sequence[tuple[str, str, int]],
        page: int,
        page_action: str,
        per_page: int = 8,
        back: bool = True,
    ) -> InlineKeyboardMarkup:
        """One button a row for (label, action, id), `per_page` at a time with ‹ › between pages."""
        pages = max(1, -(-len(items) // per_page))
        page = min(max(page, 0), pages - 1)
        chunk = items[page * per_page : (page + 1) * per_page]
        rows = [[self.button(label, action, ident)] for label, action, ident in chunk]
        if pages > 1:
            turn = []
            if page > 0:
                turn.append(self.button("‹", page_action, page - 1))
            turn.append(self.button(f"{page + 1}/{pages}", "noop"))
            if page < pages - 1:
                turn.append(self.button("›", page_action, page + 1))
            rows.append(turn)
        return self.markup(rows, back)

    def calendar(
        self, month: date, bookable: set[date], first: date, last: date
    ) -> InlineKeyboardMarkup:
        """A month grid: bookable days can be tapped, the others are shown as dots."""
        t = self.t
        header = [self.button(t.month(month), "noop")]
        weekdays = [self.button(name, "noop") for name in t.weekday_initials()]
        grid = calendar.Calendar(firstweekday=t.first_weekday)
        rows: list[list[InlineKeyboardButton]] = [header, weekdays]
        for week in grid.monthdatescalendar(month.year, month.month):
            if week[-1] < first:
                continue  # a week already over offers nothing
            row = []
            for day in week:
                if day.month != month.month:
                    row.append(self.button(" ", "noop"))
                elif day in bookable:
                    row.append(self.button(str(day.day), "day", day_arg(day)))
                else:
                    row.append(self.button("·", "noop"))
            rows.append(row)
        turn = []
        previous = (month.replace(day=1) - _ONE_DAY).replace(day=1)
        following = _next_month(month)
        if previous >= first.replace(day=1):
            turn.append(self.button("‹ " + t.month(previous), "mon", previous.strftime("%Y%m")))
        if following <= last:
            turn.append(self.button(t.month(following) + " ›", "mon", following.strftime("%Y%m")))
        rows.append(turn)
        return self.markup(rows)

    def team(self, staff: Sequence[Staff]) -> list[list[InlineKeyboardButton]]:
        """ "Any available team member", then each one, with their nearest free day if known."""
        t = self.t
        rows = [[self.button(t.gettext("Any available team member"), "stf", 0)]]
        for member in staff:
            label = member.name
            if member.nearest_date:
                label = t.gettext(
                    "%(name)s · from %(day)s", name=member.name, day=t.date(member.nearest_date)
                )
            rows.append([self.button(label, "stf", member.id)])
        return rows

    def days(self, days: Sequence[date]) -> InlineKeyboardMarkup:
        rows = [[self.button(self.t.date(d), "day", day_arg(d))] for d in days]
        rows.append([self.button(self.t.gettext("Show the calendar"), "cal")])
        return self.markup(rows)

    def times(
        self, starts: Sequence[datetime], page: int = 0, per_page: int = 16, per_row: int = 4
    ) -> InlineKeyboardMarkup:
        """Free times, `per_page` at a time: a long day stays a keyboard that fits a phone."""
        pages = max(1, -(-len(starts) // per_page))
        page = min(max(page, 0), pages - 1)
        chunk = starts[page * per_page : (page + 1) * per_page]
        buttons = [self.button(self.t.time(start), "tim", time_arg(start)) for start in chunk]
        rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
        if pages > 1:
            turn = []
            if page > 0:
                turn.append(self.button("‹", "timp", page - 1))
            turn.append(self.button(f"{page + 1}/{pages}", "noop"))
            if page < pages - 1:
                turn.append(self.button("›", "timp", page + 1))
            rows.append(turn)
        return self.markup(rows)


_ONE_DAY = timedelta(days=1)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)
