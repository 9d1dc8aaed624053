"""Free times shared in a rush: while clients queue for Altegio's rate limit, one read of a day's
free times (with a team member or anyone, for some services) serves every client who asks for
the same within a short window, instead of a read each. When nobody is queued every client's
times are read fresh, as always; the read is kept all the same, for the rush that may follow.

A shared copy is kept as true as the bot can keep it without a read:

- a booking the bot makes takes its time, and every time overlapping it, out of the copies of
  its team member and of "anyone" that day (a booking with anyone: out of every copy of the
  day), at once; a read that was under way meanwhile loses it too before it is kept. A copy of
  "anyone" may so hide a time another team member still has free, for the window at most; one
  left empty is dropped, so no client is told a day is full on the bot's guess;
- a time Altegio refuses as taken (someone outside the bot was faster) drops the copies of its
  team member's and anyone's day, and the client is shown times read afresh;
- a move or a cancel through the bot, and the salon's webhooks for a day, drop copies (of
  everything, of that day): a read under way meanwhile is not kept either;
- times held for clients of the bot who are booking are hidden from the others by the booking
  flow (`Holds`), on shared copies as on fresh reads.

`used` counts reads served from a shared copy (or joined to another client's read under way),
each one request saved; `stale_refusals` counts bookings Altegio refused as taken whose time a
client was shown from a shared copy: an upper bound of the refusals sharing caused, since the
time may have been taken after the copy was shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.altegio.models.free_times import Slot

# Whose free times, on which day, for which services: (team member or 0 for anyone, day,
# service ids).
Key = tuple[int, date, tuple[int, ...]]

# The bot's own bookings are remembered this long, to be taken out of a read that was under way
# while they were made: longer than a read takes once it has left (its timeout and retries), so
# a booking older than that was made before the read left, and Altegio's answer knows it.
REMEMBER_BOOKED = 120.0
# Times shown from a shared copy are remembered this long, to tell a refusal of one as stale.
REMEMBER_SHOWN = 600.0
# Past this many, lapsed copies and marks are cleared out when the next one is kept.
_TIDY_AT = 2000

USED, STALE = "used", "stale"


@dataclass(frozen=True, slots=True)
class _Booked:
    seq: int
    at: float
    staff_id: int
    start: datetime
    end: datetime


class SharedTimes:
    """One location's shared copies of free times (see the module's docstring)."""

    def __init__(self, monotonic: Callable[[], float], ttl: float) -> None:
        self._monotonic = monotonic
        self.ttl = ttl  # the window a copy is shared for; 0 shares nothing
        self._copies: dict[Key, tuple[float, list[Slot]]] = {}
        self._inflight: dict[Key, asyncio.Future[list[Slot]]] = {}
        self._booked: list[_Booked] = []
        self._seq = 0  # bookings taken so far
        self._era = 0  # copies dropped so far: a read begun before a drop is not kept
        self._shown: dict[tuple[int, str], float] = {}  # (team member, time) shown shared: until
        self.used = 0
        self.stale_refusals = 0
        # Told USED or STALE as they are counted (the metrics).
        self.on_event: Callable[[str], None] | None = None

    async def read(
        self, key: Key, load: Callable[[], Awaitable[list[Slot]]], *, queued: bool
    ) -> list[Slot]:
        """The free times `load` reads: a copy shared with other clients while `queued`, else
        read fresh (and kept for the next rush)."""
        if queued:
            hit = self._copies.get(key)
            if hit is not None and hit[0] > self._monotonic():
                return self._serve(key, hit[1])
            running = self._inflight.get(key)
            if running is not None:
                return self._serve(key, await asyncio.shield(running))
        # The read runs in its own task that every caller shields, so one caller giving up (a
        # cancelled update) does not cancel it for the others joined to it.
        task = asyncio.ensure_future(self._load(key, load))
        self._inflight.setdefault(key, task)
        return list(await asyncio.shield(task))

    async def _load(self, key: Key, load: Callable[[], Awaitable[list[Slot]]]) -> list[Slot]:
        seq, era = self._seq, self._era
        try:
            slots = await load()
        finally:
            if self._inflight.get(key) is asyncio.current_task():
                del self._inflight[key]
        if self._seq > seq:
            # Bookings made while the read was under way: Altegio may have answered before.
            for booked in self._booked:
                day = booked.start.date()
                if booked.seq > seq and day == key[1] and _touches(booked.staff_id, key[0]):
                    slots = _free(slots, booked.start, booked.end)
        if era == self._era and self.ttl > 0:
            now = self._monotonic()
            if len(self._copies) > _TIDY_AT:
                self._copies = {k: v for k, v in self._copies.items() if v[0] > now}
            self._copies[key] = (now + self.ttl, slots)
        return slots

    def _serve(self, key: Key, slots: list[Slot]) -> list[Slot]:
        self.used += 1
        if self.on_event is not None:
            self.on_event(USED)
        until = self._monotonic() + REMEMBER_SHOWN
        if len(self._shown) > _TIDY_AT * 10:
            now = self._monotonic()
            self._shown = {k: v for k, v in self._shown.items() if v > now}
        staff_id = key[0]
        for slot in slots:
            self._shown[staff_id, slot.raw] = until
        return list(slots)

    def took(self, staff_id: int, raw: str, length: int | None) -> None:
        """The bot booked `raw` with the team member (0: anyone) for `length` seconds (None:
        as long as a copy says the time lasts)."""
        start = _start(raw)
        if start is None:
            self.forget()
            return
        length = length or self._length(staff_id, start)
        if not length:
            self.forget(start.date())  # how much of the day it takes is not known
            return
        end = start + timedelta(seconds=length)
        now = self._monotonic()
        self._seq += 1
        self._booked = [b for b in self._booked if b.at + REMEMBER_BOOKED > now]
        self._booked.append(_Booked(self._seq, now, staff_id, start, end))
        for key, (until, slots) in list(self._copies.items()):
            if until <= now:
                del self._copies[key]  # lapsed: cleared out while passing
            elif key[1] == start.date() and _touches(staff_id, key[0]):
                kept = _free(slots, start, end)
                if not kept:
                    del self._copies[key]
                elif len(kept) != len(slots):
                    self._copies[key] = (until, kept)

    def refused(self, times: Iterable[tuple[int, str]]) -> None:
        """Altegio refused these (team member, time) as taken: the copies of those team
        members' days and of anyone's are dropped; counted as stale when a client was shown
        one of the times from a shared copy."""
        now = self._monotonic()
        stale = False
        for staff_id, raw in times:
            stale = stale or self._shown.get((staff_id, raw), 0.0) > now
            start = _start(raw)
            if start is None:
                self.forget()
                continue
            self._drop_day(start.date(), staff_id)
        if stale:
            self.stale_refusals += 1
            if self.on_event is not None:
                self.on_event(STALE)

    def forget(self, day: date | None = None) -> None:
        """Drop the copies of `day` (None: of every day)."""
        self._drop(lambda key: day is None or key[1] == day)

    def _drop_day(self, day: date, staff_id: int) -> None:
        """Drop the copies of `day` a booking with the team member (0: anyone) changes."""
        self._drop(lambda key: key[1] == day and _touches(staff_id, key[0]))

    def _drop(self, which: Callable[[Key], bool]) -> None:
        self._era += 1
        for key in [k for k in self._copies if which(k)]:
            del self._copies[key]
        # A read under way may have been answered before the change: nobody joins it any more.
        for key in [k for k in self._inflight if which(k)]:
            del self._inflight[key]

    def _length(self, staff_id: int, start: datetime) -> int | None:
        """How long the time at `start` lasts, as a kept copy of the team member's (or else of
        anyone's) says."""
        for wanted in (staff_id, 0):
            for key, (_, slots) in self._copies.items():
                if key[0] == wanted and key[1] == start.date():
                    found = next((s.length for s in slots if s.start == start and s.length), None)
                    if found:
                        return found
        return None


def _touches(booked_staff: int, copy_staff: int) -> bool:
    """Whether a booking with one team member (0: anyone) changes a copy of another's."""
    return booked_staff == copy_staff or not booked_staff or not copy_staff


def _free(slots: list[Slot], start: datetime, end: datetime) -> list[Slot]:
    """The times that do not overlap [start, end)."""
    return [
        s
        for s in slots
        if not (s.start < end and start < s.start + timedelta(seconds=s.length or 60))
    ]


def _start(raw: str) -> datetime | None:
    """Altegio's `datetime` of a free time, with its offset: the day it names is the salon's."""
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return start if start.tzinfo is not None else None
