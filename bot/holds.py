"""Times clients of this bot have chosen and are about to book, hidden from the others' lists
while they do: when many book at the same moment (a promotion, a new month opening), they do
not race each other for one time and spend Altegio's rate limit on refusals.

A hold hides the time held and, with a team member chosen and the lengths known, every time
whose visit would overlap it with that team member: two clients picking 10:00 and 10:15 for an
hour's visit with Anna from one list would otherwise both confirm, and one be refused. With
"any available team member" a hold is the only member's who can see to it, when only one can
(the only one the time is free with, read member by member in a rush, or the only one working
that day: `SharedTimes.whose`), and hides the same; else only the very time is hidden from the
others with anyone: another member may well be free at 10:15, and Altegio's list says so. A
list with anyone also loses a time every member who may see to it holds for other clients
(`Others`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.altegio.models import Slot
from bot.draft import HOLD


@dataclass(frozen=True, slots=True)
class Held:
    """A time another client holds: as Altegio wrote it, its visit's length in seconds (0: not
    known, only that very time is hidden), and, held with anyone, who may see to it (None: not
    known)."""

    raw: str
    length: int = 0
    members: frozenset[int] | None = None

    @property
    def span(self) -> tuple[datetime, datetime] | None:
        try:
            start = datetime.fromisoformat(self.raw)
        except ValueError:
            return None
        if start.tzinfo is None or self.length <= 0:
            return None
        return start, start + timedelta(seconds=self.length)


def clashes(slot: Slot, held: Iterable[Held]) -> bool:
    """Whether a free time is one another client holds, or its visit (`slot.length`) would
    overlap one held."""
    return _clashes(slot.raw, _span(slot.raw, slot.length), held)


def _span(raw: str, length: int | None) -> tuple[datetime, datetime] | None:
    return Held(raw, length or 0).span


def _clashes(raw: str, mine: tuple[datetime, datetime] | None, held: Iterable[Held]) -> bool:
    for other in held:
        if raw == other.raw:
            return True
        span = other.span
        if mine is not None and span is not None and mine[0] < span[1] and span[0] < mine[1]:
            return True
    return False


def _full(raw: str, mine: tuple[datetime, datetime] | None, held: list[Held], room: int) -> bool:
    """Whether, at some moment of the visit, holds with anyone fill `room` members: each one
    held then needs a member of its own."""
    if mine is None:
        return sum(h.raw == raw for h in held) >= room
    spans = [
        s for h in held if (s := h.span or _span(h.raw, 60)) and s[0] < mine[1] and mine[0] < s[1]
    ]
    moments = {mine[0], *(s[0] for s in spans if s[0] > mine[0])}
    return any(sum(s[0] <= moment < s[1] for s in spans) >= room for moment in moments)


def held_members(staff_id: int, members: frozenset[int] | None) -> frozenset[int] | None:
    """Who may see to a time held: kept for a hold with anyone only (a member's is theirs)."""
    return members if not staff_id and members else None


@dataclass(frozen=True, slots=True)
class Others:
    """What the bot's other clients hold that a client's times concern: with the client's team
    member, or, for anyone, with anyone and with each member who may see to the visit
    (`each`, by member)."""

    held: list[Held]
    each: dict[int, list[Held]] = field(default_factory=dict)

    def clash(self, slot: Slot) -> bool:
        """Whether the free time is held, or its visit overlaps what is held (`clashes`); with
        anyone, whether every member who may see to it (those it is free with, where the time
        says) is held then, by a visit with them or by as many visits with anyone as they
        are."""
        return self._clash(slot.raw, _span(slot.raw, slot.length), slot.members)

    def chosen(self, raw: str, length: int | None, members: frozenset[int] | None = None) -> bool:
        """The same for a time a client taps (free with `members`, where known): the other
        tapped first."""
        return self._clash(raw, _span(raw, length), members)

    def _clash(
        self, raw: str, span: tuple[datetime, datetime] | None, members: frozenset[int] | None
    ) -> bool:
        if not self.each:
            return _clashes(raw, span, self.held)
        # The very time held with anyone stays hidden: who is free at it is not known.
        if any(h.raw == raw for h in self.held):
            return True
        free = {
            m
            for m, held in self.each.items()
            if (members is None or m in members) and not _clashes(raw, span, held)
        }
        if not free:
            return True
        counted = [h for h in self.held if h.members is not None and h.members & free]
        return _full(raw, span, counted, len(free))


class Holds:
    """The holds, in memory: a hold mirrors a booking flow's chosen time; it is renewed at every
    step of that flow and lapses `HOLD` after the client's last step. A courtesy between the
    bot's own clients: Altegio's answer to the booking is what decides."""

    def __init__(self, ttl: timedelta = HOLD) -> None:
        self._ttl = ttl
        # flow -> staff, time, until, length (seconds, 0 unknown), members (with anyone)
        self._by_flow: dict[str, tuple[int, str, datetime, int, frozenset[int] | None]] = {}

    def keep(
        self,
        flow: str,
        staff_id: int | None,
        slot: str | None,
        now: datetime,
        length: int | None = None,
        *,
        members: frozenset[int] | None = None,
    ) -> None:
        """The flow's chosen time as it is now (none: the flow holds nothing); `members`: with
        anyone (staff 0), who may see to it."""
        if staff_id is None or not slot:
            self._by_flow.pop(flow, None)
        else:
            kept = held_members(staff_id, members)
            self._by_flow[flow] = (staff_id, slot, now + self._ttl, length or 0, kept)

    def release(self, flow: str) -> None:
        self._by_flow.pop(flow, None)

    def spans_for_others(self, flow: str, staff_id: int, now: datetime) -> list[Held]:
        """The times other flows hold with this team member (or with "any", for staff 0),
        with their lengths and, with anyone, who may see to them."""
        lapsed = [key for key, (_, _, until, _, _) in self._by_flow.items() if until <= now]
        for key in lapsed:
            del self._by_flow[key]
        return [
            Held(slot, length, members)
            for key, (staff, slot, _, length, members) in self._by_flow.items()
            if key != flow and staff == staff_id
        ]

    def others(
        self, flow: str, staff_id: int, members: frozenset[int] | None, now: datetime
    ) -> Others:
        """What other flows hold that concerns this flow's times with the team member (0: with
        anyone, whom `members` may be: without them, the very times held with anyone only)."""
        held = self.spans_for_others(flow, staff_id, now)
        if staff_id:
            return Others(held)
        if not members:
            return Others([Held(h.raw) for h in held])
        return Others(held, {m: self.spans_for_others(flow, m, now) for m in sorted(members)})

    def held_for_others(self, flow: str, staff_id: int, now: datetime) -> set[str]:
        """The very times (as Altegio wrote them) other flows hold with this team member."""
        return {held.raw for held in self.spans_for_others(flow, staff_id, now)}
