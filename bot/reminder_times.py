"""When reminders go out: parsing the reminder settings and planning due times around quiet hours.

Plain functions over aware datetimes; the caller supplies `now` and the salon's zone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAY = timedelta(days=1)
# How long before quiet hours begin a reminder pulled out of them is sent: early enough to be read
# before the client goes to bed, late enough to still be the evening before.
QUIET_LEAD = timedelta(minutes=30)
# Step and reach of the fallback search for a time outside quiet hours (see `_step_out`).
_STEP = timedelta(minutes=1)
_REACH = 3 * _DAY

_OFFSET = re.compile(
    r"(?:(?P<d>[0-9]+)\s*d)?\s*(?:(?P<h>[0-9]+)\s*h)?\s*(?:(?P<m>[0-9]+)\s*m)?",
    re.IGNORECASE,
)
_OFFSET_FORM = "expected a comma-separated list such as 24h,2h (units d, h, m: 1d, 90m, 1h30m)"
_RANGE = re.compile(
    r"(?P<start>[0-9]{1,2}(?::[0-9]{2})?)\s*[-–—]\s*(?P<end>[0-9]{1,2}(?::[0-9]{2})?)"
)
_RANGE_FORM = "expected HH:MM-HH:MM such as 22:00-08:00 (or 22-8), or off"
_OFF = frozenset({"", "off", "none"})


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local wall-clock hours in which nothing is sent: from `start` (included) to `end` (excluded).

    `start` later than `end` wraps past midnight (22:00-08:00). Times are naive and whole minutes.
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        for moment in (self.start, self.end):
            if moment.tzinfo is not None or moment.second or moment.microsecond:
                # Whole naive minutes keep the free part of the day at least a minute long, which
                # the fallback search in `_step_out` relies on.
                raise ValueError(f"quiet hours take naive whole minutes, not {moment!r}")
        if self.start == self.end:
            raise ValueError("quiet hours cannot start and end at the same time")

    def contains(self, local: time) -> bool:
        """Whether the salon-local wall-clock time `local` is inside the quiet hours."""
        local = local.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True, slots=True)
class Planned:
    """One reminder to send: the offset it was configured as, and when (aware, UTC)."""

    offset: timedelta  # timedelta(0) for the after-visit message
    due: datetime


def parse_offsets(text: str) -> tuple[timedelta, ...]:
    """Offsets before the appointment, as in "24h,2h"; largest first, duplicates removed.

    Each item is days, hours and minutes in that order ("1d", "90m", "1h30m"), spaces and case
    free. An empty text means no reminders. Raises ValueError naming the bad item.
    """
    if not text.strip():
        return ()
    found: set[timedelta] = set()
    for raw in text.split(","):
        item = raw.strip()
        found.add(_parse_offset(item))
    return tuple(sorted(found, reverse=True))


def _parse_offset(item: str) -> timedelta:
    if not item:
        raise ValueError(f"an empty item in the list; {_OFFSET_FORM}")
    if item.startswith("-"):
        raise ValueError(
            f"{item!r}: offsets count back from the appointment and take no sign; {_OFFSET_FORM}"
        )
    match = _OFFSET.fullmatch(item)
    if match is None or not any(match.groups()):
        raise ValueError(f"{item!r} is not an offset; {_OFFSET_FORM}")
    try:
        days, hours, minutes = (int(group or 0) for group in match.group("d", "h", "m"))
        offset = timedelta(days=days, hours=hours, minutes=minutes)
    except (ValueError, OverflowError):
        # Only absurdly many digits get here (int's digit limit, timedelta's range).
        raise ValueError(f"{item!r} is too long an offset; {_OFFSET_FORM}") from None
    if offset <= timedelta(0):
        raise ValueError(f"{item!r} must be longer than zero; {_OFFSET_FORM}")
    return offset


def parse_quiet_hours(text: str) -> QuietHours | None:
    """Quiet hours from "22:00-08:00" (also "22-8", an en dash); None for "", "off" or "none".

    "24:00" is accepted as midnight. Raises ValueError showing the bad part and the expected form.
    """
    cleaned = text.strip()
    if cleaned.lower() in _OFF:
        return None
    match = _RANGE.fullmatch(cleaned)
    if match is None:
        raise ValueError(f"{cleaned!r} is not a time range; {_RANGE_FORM}")
    start, end = _parse_clock(match["start"]), _parse_clock(match["end"])
    if start == end:
        raise ValueError(
            f"{cleaned!r} starts and ends at the same time; to send at any hour use off"
        )
    return QuietHours(start, end)


def _parse_clock(text: str) -> time:
    hour_text, _, minute_text = text.partition(":")
    hour, minute = int(hour_text), int(minute_text or 0)
    if (hour, minute) == (24, 0):
        return time(0, 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time of day; {_RANGE_FORM}")
    return time(hour, minute)


def plan_reminders(
    start: datetime,
    offsets: Sequence[timedelta],
    tz: ZoneInfo,
    quiet: QuietHours | None,
    now: datetime,
) -> list[Planned]:
    """The reminders for an appointment at `start`, as seen at `now`; sorted by due time, in UTC.

    * A whole-day offset (24h, 48h, 1d) keeps the appointment's wall-clock time in `tz`, so across
      a DST change it is 23 or 25 real hours; any other offset is exact elapsed time.
    * A wall-clock time that does not exist (spring-forward gap) moves forward by the gap; one that
      happens twice (fall-back) is the first, earlier one (`fold=0`, as zoneinfo converts).
    * A due time inside quiet hours moves to before them: to the last quiet-hours start at or
      before it, minus 30 minutes (quiet 22:00-08:00: 06:30 and 23:10 both go to 21:30 the evening
      before). Sending early rather than late keeps a reminder ahead of the visit. Should a DST
      change or a free part of the day shorter than 30 minutes leave that inside quiet hours, the
      last free minute before the due time is taken instead.
    * When that earlier time has already passed (a visit booked late in the evening for the next
      morning), the reminder goes out as the quiet hours end, if that is still before the visit,
      or else at its own time: a visit during the salon's night means the client is up for it.
    * What is not strictly after `now` and strictly before `start` is dropped: a reminder whose
      time had passed when the appointment was booked is never sent.
    * Reminders falling on the same instant merge into one, keeping the smallest offset.
    """
    _require_aware(start, "start")
    _require_aware(now, "now")
    merged: dict[datetime, timedelta] = {}
    for offset in offsets:
        if offset <= timedelta(0):
            raise ValueError(f"reminder offsets must be longer than zero, not {offset}")
        due = _before(start, offset, tz)
        if due is None:
            continue
        planned: datetime | None = due
        if quiet is not None:
            planned = _out_before(due, tz, quiet)
            if (planned is None or planned <= now) and now < due < start:
                woken = _out_after(due, tz, quiet)
                planned = woken if now < woken < start else due
        if planned is None or not now < planned < start:
            continue
        merged[planned] = min(offset, merged.get(planned, offset))
    return [Planned(offset, due) for due, offset in sorted(merged.items())]


def plan_after_visit(
    end: datetime,
    tz: ZoneInfo,
    quiet: QuietHours | None,
    delay: timedelta = timedelta(hours=2),
) -> datetime:
    """When the after-visit message goes out: `delay` after `end`, in UTC.

    Inside quiet hours it waits until they end (the next morning), since a thank-you may be late;
    the end's wall-clock time resolves like reminders' (gap: forward, repeated: the first).
    """
    _require_aware(end, "end")
    if delay < timedelta(0):
        raise ValueError(f"the after-visit delay cannot be negative, not {delay}")
    due = end.astimezone(UTC) + delay
    if quiet is None:
        return due
    return _out_after(due, tz, quiet)


def _out_after(due: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """`due` itself if outside quiet hours, else the moment those quiet hours end."""
    local = due.astimezone(tz).replace(tzinfo=None)
    if not quiet.contains(local.time()):
        return due
    wake = datetime.combine(local.date(), quiet.end)
    if wake <= local:
        wake += _DAY
    moved = _instant(wake, tz)
    if moved <= due or _quiet_at(moved, tz, quiet):
        # Only a DST change at the very end of quiet hours gets here.
        return _step_out(due, tz, quiet, _STEP) or moved
    return moved


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not {moment!r}")


def _instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a salon wall-clock time: a gap moves forward, a repeat takes the first."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _before(start: datetime, offset: timedelta, tz: ZoneInfo) -> datetime | None:
    """`offset` before `start` by the whole-day/exact rule; None if out of datetime's range."""
    try:
        if offset % _DAY:
            return start.astimezone(UTC) - offset
        wall = start.astimezone(tz).replace(tzinfo=None) - offset
        return _instant(wall, tz)
    except OverflowError:
        # Centuries before the appointment: certainly before `now`, so simply not planned.
        return None


def _quiet_at(instant: datetime, tz: ZoneInfo, quiet: QuietHours) -> bool:
    return quiet.contains(instant.astimezone(tz).time())


def _out_before(due: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime | None:
    """`due` itself if outside quiet hours, else QUIET_LEAD before the quiet hours it is in."""
    local = due.astimezone(tz).replace(tzinfo=None)
    if not quiet.contains(local.time()):
        return due
    try:
        began = datetime.combine(local.date(), quiet.start)
        if began > local:
            began -= _DAY
        moved = _instant(began - QUIET_LEAD, tz)
    except OverflowError:
        return None
    if moved < due and not _quiet_at(moved, tz, quiet):
        return moved
    return _step_out(due, tz, quiet, -_STEP)


def _step_out(
    instant: datetime, tz: ZoneInfo, quiet: QuietHours, step: timedelta
) -> datetime | None:
    """The first instant outside quiet hours going from `instant` by `step`, within `_REACH`.

    Used only when the wall-clock rule lands in quiet hours anyway. The free part of a day is at
    least a minute long and a DST change skips at most a few hours of one day, so a minute step
    within three days finds one; None (the reminder is dropped) only at the edges of datetime.
    """
    moment = instant
    try:
        for _ in range(int(_REACH / _STEP)):
            moment += step
            if not _quiet_at(moment, tz, quiet):
                return moment
    except OverflowError:
        pass
    return None


# An appointment that cannot be read when its reminder is due is read again after 1, 2, 4, ...
# minutes (at most half an hour apart, six times in all). A reminder before the visit does not
# wait for that longer than an eighth of the time it was due ahead of the visit (an hour at
# most, fifteen minutes for a two-hour reminder), nor past half an hour before the visit: it
# then goes out with what is known rather than late or not at all.
READ_RETRY_FIRST = timedelta(minutes=1)
READ_RETRY_LONGEST = timedelta(minutes=30)
READ_RETRIES = 6
PATIENCE = timedelta(hours=1)
SEND_BY = timedelta(minutes=30)


def read_retry(
    attempts: int,
    now: datetime,
    start: datetime,
    *,
    since: datetime,
    before_visit: bool,
    tz: ZoneInfo,
    quiet: QuietHours | None,
) -> datetime | None:
    """When to read an appointment again after `attempts` failed reads for its reminder, the
    first at `since`; None when waiting longer would be worse (send what is known now, or,
    after the visit, give up).

    A retry never falls in quiet hours: before the visit the reminder goes out now instead, and
    a thank-you waits for the morning.
    """
    if attempts >= READ_RETRIES:
        return None
    at = now + min(READ_RETRY_FIRST * (1 << attempts), READ_RETRY_LONGEST)
    if before_visit:
        patience = min(PATIENCE, max(start - since, timedelta(0)) / 8)
        if at > since + patience or at > start - SEND_BY:
            return None
        if quiet is not None and _quiet_at(at, tz, quiet):
            return None
        return at
    return at if quiet is None else _out_after(at, tz, quiet)
