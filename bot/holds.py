"""Times clients of this bot have chosen and are about to book, hidden from the others' lists
while they do: when many book at the same moment (a promotion, a new month opening), they do
not race each other for one time and spend Altegio's rate limit on refusals.

A hold hides the time held and, with a team member chosen and the lengths known, every time
whose visit would overlap it with that team member: two clients picking 10:00 and 10:15 for an
hour's visit with Anna from one list would otherwise both confirm, and one be refused. With
"any available team member" only the very time is hidden: another member may well be free at
10:15, and Altegio's list says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.altegio.models import Slot
from bot.draft import HOLD


@dataclass(frozen=True, slots=True)
class Held:
    """A time another client holds: as Altegio wrote it, and its visit's length in seconds
    (0: not known, only that very time is hidden)."""

    raw: str
    length: int = 0

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
    span = (slot.start, slot.start + timedelta(seconds=slot.length)) if slot.length else None
    return _clashes(slot.raw, span, held)


def chosen_clashes(raw: str, length: int | None, held: Iterable[Held]) -> bool:
    """Whether a time a client taps (as Altegio wrote it, its visit `length` seconds) is one
    another client holds, or would overlap one held: the other tapped first."""
    return _clashes(raw, Held(raw, length or 0).span, held)


def _clashes(raw: str, mine: tuple[datetime, datetime] | None, held: Iterable[Held]) -> bool:
    for other in held:
        if raw == other.raw:
            return True
        span = other.span
        if mine is not None and span is not None and mine[0] < span[1] and span[0] < mine[1]:
            return True
    return False


class Holds:
    """The holds, in memory: a hold mirrors a booking flow's chosen time; it is renewed at every
    step of that flow and lapses `HOLD` after the client's last step. A courtesy between the
    bot's own clients: Altegio's answer to the booking is what decides."""

    def __init__(self, ttl: timedelta = HOLD) -> None:
        self._ttl = ttl
        # flow -> staff, time, until, length (seconds, 0 unknown)
        self._by_flow: dict[str, tuple[int, str, datetime, int]] = {}

    def keep(
        self,
        flow: str,
        staff_id: int | None,
        slot: str | None,
        now: datetime,
        length: int | None = None,
    ) -> None:
        """The flow's chosen time as it is now (none: the flow holds nothing)."""
        if staff_id is None or not slot:
            self._by_flow.pop(flow, None)
        else:
            self._by_flow[flow] = (staff_id, slot, now + self._ttl, length or 0)

    def release(self, flow: str) -> None:
        self._by_flow.pop(flow, None)

    def spans_for_others(self, flow: str, staff_id: int, now: datetime) -> list[Held]:
        """The times other flows hold with this team member (or with "any", for staff 0),
        with their lengths."""
        lapsed = [key for key, (_, _, until, _) in self._by_flow.items() if until <= now]
        for key in lapsed:
            del self._by_flow[key]
        return [
            Held(slot, length if staff_id else 0)
            for key, (staff, slot, _, length) in self._by_flow.items()
            if key != flow and staff == staff_id
        ]

    def held_for_others(self, flow: str, staff_id: int, now: datetime) -> set[str]:
        """The very times (as Altegio wrote them) other flows hold with this team member."""
        return {held.raw for held in self.spans_for_others(flow, staff_id, now)}
