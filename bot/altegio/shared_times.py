"""Free times shared in a rush: while clients queue for Altegio's rate limit, one read of a day's
free times (with a team member or anyone, for some services) serves every client who asks for
the same within a short window, instead of a read each. When nobody is queued every client's
times are read fresh, as always; the read is kept all the same, for the rush that may follow.

A shared copy is kept as true as the bot can keep it without a read:

- a booking the bot makes (noted in `OwnBookings`, with who may be seeing to it) takes out of
  the copies of that day, at once, every time overlapping it, except from the copies it
  cannot concern (a massage booked with anyone, of a haircut's: nobody offers both). A read
  that was under way meanwhile loses them too before it is kept. A copy of "anyone" may so
  hide a time another team member still has free, for the window at most; one left empty is
  dropped, so no client is told a day is full on the bot's guess;
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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.altegio.models.free_times import Slot
from bot.altegio.own_bookings import Made, OwnBookings
from bot.altegio.team_days import TeamDays

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

USED, STALE, KNOWN = "used", "stale", "known"


@dataclass(frozen=True, slots=True)
class _Booked:
    seq: int
    at: float
    made: Made


class SharedTimes:
    """One location's shared copies of free times (see the module's docstring)."""

    def __init__(
        self,
        monotonic: Callable[[], float],
        ttl: float,
        own: OwnBookings,
        members: Callable[[tuple[int, ...]], frozenset[int] | None] = lambda _: None,
        team_days: TeamDays | None = None,
    ) -> None:
        self._monotonic = monotonic
        self.own = own  # the bot's bookings, shared with the booking call's own check
        # Who offers these services, as last read (None: not known); "anyone" is one of them.
        self.members = members
        # Which days each of them works (read in a rush): who "anyone" can be on a day.
        self.team_days = team_days or TeamDays(monotonic, 0.0)
        self.ttl = ttl  # the window a copy is shared for; 0 shares nothing
        self._copies: dict[Key, tuple[float, list[Slot]]] = {}
        self._inflight: dict[Key, asyncio.Future[list[Slot]]] = {}
        self._booked: list[_Booked] = []
        self._seq = 0  # bookings taken so far
        self._era = 0  # copies dropped so far: a read begun before a drop is not kept
        self._shown: dict[tuple[int, str], float] = {}  # (team member, time) shown shared: until
        self._asked: dict[Key, float] = {}  # the times asked for lately: until
        self.used = 0
        self.stale_refusals = 0
        self.known_taken = 0  # bookings refused without a request (`known`)
        # Told USED or STALE as they are counted (the metrics).
        self.on_event: Callable[[str], None] | None = None

    async def read(
        self, key: Key, load: Callable[[], Awaitable[list[Slot]]], *, queued: bool
    ) -> list[Slot]:
        """The free times `load` reads: a copy shared with other clients while `queued`, else
        read fresh (and kept for the next rush). A read of the same under way is joined either
        way: its answer is as fresh as another read's would be."""
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
                if booked.seq > seq and booked.made.start.date() == key[1]:
                    slots = self.without(key[0], key[2], slots, booked.made)
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

    def contended(self, key: Key) -> bool:
        """Whether other clients of the bot want the same times: asked for within the window
        before. Noted as asked for."""
        now = self._monotonic()
        if len(self._asked) > _TIDY_AT:
            self._asked = {k: v for k, v in self._asked.items() if v > now}
        before = self._asked.get(key, 0.0)
        self._asked[key] = now + max(self.ttl, 1.0)
        return before > now

    def took(
        self,
        staff_id: int,
        raw: str,
        length: int | None,
        services: tuple[int, ...] = (),
        *,
        members: frozenset[int] | None = None,
    ) -> Made | None:
        """The bot booked `raw` with the team member (0: anyone) for `length` seconds (None:
        as long as a copy says the time lasts), for `services`; with anyone, the time was free
        with `members` (where read member by member). The note of it (None: where or how long
        is not known, and the copies it may concern are dropped instead)."""
        start = start_of(raw)
        if start is None:
            self._drop(lambda _: True)
            return None
        length = length or self._length(staff_id, start)
        if not length:
            day = start.date()  # how much of the day it takes is not known
            self._drop(lambda key: key[1] == day)
            return None
        end = start + timedelta(seconds=length)
        made = self.own.add(self.whose(staff_id, services, start.date(), members), start, end)
        now = self._monotonic()
        self._seq += 1
        self._booked = [b for b in self._booked if b.at + REMEMBER_BOOKED > now]
        self._booked.append(_Booked(self._seq, now, made))
        for key, (until, slots) in list(self._copies.items()):
            if until <= now:
                del self._copies[key]  # lapsed: cleared out while passing
            elif key[1] == start.date():
                kept = self.without(key[0], key[2], slots, made)
                if not kept:
                    del self._copies[key]
                elif len(kept) != len(slots):
                    self._copies[key] = (until, kept)
        return made

    def without(
        self, staff_id: int, services: tuple[int, ...], slots: Sequence[Slot], made: Made
    ) -> list[Slot]:
        """The copy's times less those the booking may have filled: every time overlapping it,
        unless the booking cannot concern the copy's team member (or any of those offering the
        copy's services, for "anyone"): one with a member, or with anyone for services, that
        nobody of the copy's offers. A copy may so hide a time still free with another member,
        for the window at most: a guess on the safe side."""
        whose = self.whose(staff_id, services, made.start.date())
        if whose is not None and made.members is not None and not whose & made.members:
            return list(slots)
        return [
            slot
            for slot in slots
            if not (
                slot.start < made.end
                and made.start < slot.start + timedelta(seconds=slot.length or 60)
            )
        ]

    def refused(
        self, times: Iterable[tuple[int, str, tuple[int, ...], frozenset[int] | None]]
    ) -> None:
        """Altegio refused these (team member, time, services, and with anyone who the time was
        free with where known) as taken: the copies of that day that the refusal may concern
        are dropped (see `concerned`); counted as stale when a client was shown one of the
        times from a shared copy."""
        now = self._monotonic()
        stale = False
        for staff_id, raw, services, free_with in times:
            stale = stale or self._shown.get((staff_id, raw), 0.0) > now
            start = start_of(raw)
            if start is None:
                self._drop(lambda _: True)
                continue
            self._drop_refused(
                start.date(), self.concerned(staff_id, services, start.date(), free_with)
            )
        if stale:
            self.stale_refusals += 1
            if self.on_event is not None:
                self.on_event(STALE)

    def _drop_refused(
        self, day: date, concerned: Callable[[int, tuple[int, ...]], bool] | None
    ) -> None:
        self._drop(lambda key: key[1] == day and (concerned is None or concerned(key[0], key[2])))

    def whose(
        self,
        staff_id: int,
        services: tuple[int, ...],
        day: date | None = None,
        free_with: frozenset[int] | None = None,
    ) -> frozenset[int] | None:
        """Who may see to a visit with the team member (0: anyone, for `services`, on `day`):
        that member; with anyone, those the time is `free_with` where the times were read
        member by member, else every member who offers the services and may work that day
        (None: not known)."""
        if staff_id:
            return frozenset({staff_id})
        return free_with or self.team_days.narrow(self.members(services), day)

    def concerned(
        self,
        staff_id: int,
        services: tuple[int, ...],
        day: date | None = None,
        members: frozenset[int] | None = None,
    ) -> Callable[[int, tuple[int, ...]], bool] | None:
        """Which copies (by team member, 0 for anyone, and services) a refusal of a time with
        the team member (0: anyone, for `services`, on `day`; free with `members`, where known)
        may concern: those of the members who could have seen to it, and of anyone among them.
        None: every copy (who could is not known)."""
        mine = self.whose(staff_id, services, day, members)
        if mine is None:
            return None

        def concerns(member: int, of: tuple[int, ...]) -> bool:
            whose = self.whose(member, of, day)
            return whose is None or bool(whose & mine)

        return concerns

    def known(self) -> None:
        """A booking was refused without a request: the bot's own bookings had filled it."""
        self.known_taken += 1
        if self.on_event is not None:
            self.on_event(KNOWN)

    def forget(self, day: date | None = None) -> None:
        """Drop the copies of `day` (None: of every day), and the notes of the bot's own
        bookings then: a visit moved or cancelled, or the salon's changes, that the bot cannot
        tell the extent of."""
        self._drop(lambda key: day is None or key[1] == day)
        self.own.forget(day)

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


def start_of(raw: str) -> datetime | None:
    """Altegio's `datetime` of a free time, with its offset: the day it names is the salon's."""
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return start if start.tzinfo is not None else None
