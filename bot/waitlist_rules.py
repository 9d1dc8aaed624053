"""The waiting list's plain rules: the days a wish covers, how often each day is looked at, the
watcher's share of Altegio's rate limit, and how long a freed time is kept for the client it is
offered to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.draft import horizon, parse_day

# The watcher's fixed share of Altegio's 200 requests a minute: 10 (5 %). A booking costs 2.4 to
# 5 requests, so at the busiest moment measured (84 bookings a minute using the whole limit) the
# share is worth two bookings a minute; and it is only ever spent on room the clients leave
# spare (background reads never queue), so in practice it takes nothing from them. Ten reads a
# minute look at a day for tomorrow every ten minutes for some fifty different wishes at once,
# and the salon's webhooks, where live, say at once which day to look at.
READS_PER_MINUTE = 10
# Reads come at most three at once (the tick runs every ten seconds): spread over the minute.
BURST = 3
# How long a freed time is kept for the client it is offered to before the next in line gets
# it: long enough to see a Telegram notification and tap twice, short enough that the third in
# line still hears of a time for today within half an hour.
OFFER_MINUTES = 10
# A client's wishes at most (each costs reads until it ends).
MAX_WISHES = 5
# The longest range of days one wish covers.
MAX_DAYS = 31


def look_every(day: date, today: date) -> timedelta:
    """How often a day is looked at: nearer days more often (they fill and free up fastest,
    and a freed time today is gone soonest)."""
    ahead = (day - today).days
    if ahead <= 0:
        return timedelta(minutes=5)
    if ahead == 1:
        return timedelta(minutes=10)
    if ahead <= 7:
        return timedelta(minutes=30)
    return timedelta(hours=2)


@dataclass(slots=True)
class Budget:
    """A token bucket: `READS_PER_MINUTE` on average, at most `BURST` at once."""

    rate: float = READS_PER_MINUTE / 60.0  # per second
    burst: float = BURST
    tokens: float = BURST
    at: float | None = None  # the monotonic second it was last filled

    def take(self, now: float, *, owed: bool = False) -> bool:
        """One read's token; `owed`: taken even when none is left, the debt paid back before
        the next read (a day whose reads belong together is read whole)."""
        if self.at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1 and not owed:
            return False
        self.tokens -= 1
        return True

    def give_back(self) -> None:
        """A read not sent after all (no spare room): its token is not spent."""
        self.tokens = min(self.burst, self.tokens + 1)


@dataclass(slots=True)
class WatchState:
    """The watcher in this process: its budget, and the reads it has sent (for the metrics,
    the tests and the benchmark)."""

    budget: Budget = field(default_factory=Budget)
    reads: int = 0
    skipped: int = 0  # reads not sent: no spare room under the rate limit
    # "Anyone"'s days being read team member by team member, what is read so far (in memory:
    # a restart reads them again).
    partial: dict[str, dict[int, list[Any]]] = field(default_factory=dict)


def watch_key(service_ids: Sequence[int], staff_id: int, day: date, location: int = 0) -> str:
    """One read's worth: the free times of these services with this team member (0: anyone)
    on this day at this location (`watch_location`: 0, the bot's own, in the form keys had
    before chains). Every wish that covers it shares the read."""
    return f"{_at(location)}{','.join(map(str, service_ids))}:{staff_id}:{day.isoformat()}"


def watch_location(company_id: int, home: int) -> int:
    """Where a wish's days are watched, as its keys name it: 0 for the bot's own location
    (`home`, and wishes made before chains, kept with 0), else the chain's location."""
    return 0 if company_id in (0, home) else company_id


def key_location(key: str) -> int:
    """The location a `watch_key` or `month_key` is read at (0: the bot's own)."""
    where, _, rest = key.partition("@")
    return int(where) if rest else 0


def _at(location: int) -> str:
    return f"{location}@" if location else ""


def _what(key: str) -> list[str]:
    """A key's services, team member and day or month, without its location."""
    return key.rpartition("@")[2].split(":")


def day_parts(key: str) -> tuple[tuple[int, ...], int, date]:
    """The services, team member and day of a `watch_key`."""
    services, staff, day = _what(key)
    return tuple(int(s) for s in services.split(",")), int(staff), date.fromisoformat(day)


def services_and_staff(key: str) -> tuple[tuple[int, ...], int]:
    """The services and team member of a `watch_key` or `month_key`."""
    services, staff, _ = _what(key)
    return tuple(int(s) for s in services.split(",")), int(staff)


def month_key(service_ids: Sequence[int], staff_id: int, day: date, location: int = 0) -> str:
    """The days of one month with anything free (`book_dates`, one read for the month's wished
    days: a month, so a server that answers only the month of `date` answers the same)."""
    return f"{_at(location)}{','.join(map(str, service_ids))}:{staff_id}:{day:%Y-%m}"


def is_month_key(key: str) -> bool:
    return len(key.rsplit(":", 1)[-1]) == 7


def days_of(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def day_end(day: date, tz: ZoneInfo) -> datetime:
    """When a wish for `day` expires: the end of that day in the salon's timezone."""
    return datetime.combine(day + timedelta(days=1), time(0), tz)


def week_end(day: date, first_weekday: int) -> date:
    """The last day of the week `day` is in, where weeks start on `first_weekday` (0: Monday)."""
    last = (first_weekday - 1) % 7
    return day + timedelta(days=(last - day.weekday()) % 7)


def choices(day: date | None, today: date, first_weekday: int) -> list[tuple[str, date, date]]:
    """The ranges offered: (kind, first, last) for that day, this week, the next two weeks."""
    offered: list[tuple[str, date, date]] = []
    if day is not None and day >= today:
        offered.append(("d", day, day))
    offered.append(("w", today, week_end(today, first_weekday)))
    offered.append(("t", today, today + timedelta(days=13)))
    return offered


def clamp(first: date, last: date, today: date) -> tuple[date, date] | None:
    """A range kept within what can be booked and `MAX_DAYS`; None when nothing is left."""
    first = max(first, today)
    last = min(last, horizon(today)[1], first + timedelta(days=MAX_DAYS - 1))
    return (first, last) if first <= last else None


_BETWEEN = re.compile(
    r"^\s*(.+?)\s*(?:–|—|\.\.\.?|\s-\s|(?<=\d)-(?=\s*\d{1,2}[./])"
    r"|\s(?:to|until|till|bis|до|по|al|hasta|a|até|do|līdz|iki|kuni)\s)\s*(.+?)\s*$",
    re.IGNORECASE,
)


def parse_range(
    text: str, languages: Sequence[str], today: date, *, month_first: bool = False
) -> tuple[date, date] | None:
    """Days typed as a range ("27.11–4.12", "Friday to Sunday") or one day; None when not
    understood."""
    match = _BETWEEN.match(text[:100])
    if match:
        start = parse_day(match[1], languages, today, month_first=month_first)
        end = parse_day(match[2], languages, today, month_first=month_first)
        if start is None or end is None:
            return None
        first, last = start.day, end.day
        if last < first:
            return None
        return first, last
    one = parse_day(text, languages, today, month_first=month_first)
    return (one.day, one.day) if one else None
