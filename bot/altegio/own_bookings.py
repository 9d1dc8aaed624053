"""The bookings this process has made lately, and what they tell without asking Altegio.

In a rush many clients are shown the same free times, and Altegio refuses every booking of a
time the bot itself has just filled: a request of the rate limit spent, per refusal, on an
answer the bot already knew. Each booking the bot makes is noted here with who may be seeing to
it: the team member chosen, or, with "any available team member", every member who offers its
services and may work that day, or, where the times were read member by member, those the time
was free with (Altegio picks one of them). A time is surely taken when, at some moment of its
visit, the bot's bookings there need every one of the members who could see to it: bookings
overlapping one moment each need a member of their own, so that many bookings, each with
someone among those members, leave none of them free.

Only that certainty counts: one member of two is busy, or a booking whose members are not
known, tells nothing, and Altegio decides. A note is kept `REMEMBER` at most, and the notes of a
day are dropped when the bot moves or cancels a visit, or the salon's webhooks say the day
changed (a booking cancelled behind the bot's back is seldom followed by a client wanting that
very time within minutes; even then, see `taken`'s `since`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

REMEMBER = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Made:
    """A booking the bot made: when, who may be seeing to it (None: not known), and its visit."""

    at: datetime
    members: frozenset[int] | None
    start: datetime
    end: datetime


class OwnBookings:
    """This process's bookings of the last `REMEMBER` (see the module's docstring)."""

    def __init__(self, clock: Callable[[], datetime], remember: timedelta = REMEMBER) -> None:
        self._clock = clock
        self._remember = remember
        self._by_day: dict[date, list[Made]] = {}

    def add(self, members: frozenset[int] | None, start: datetime, end: datetime) -> Made:
        """Note a booking just made."""
        now = self._clock()
        self._tidy(now)
        made = Made(now, members or None, start, end)
        self._by_day.setdefault(start.date(), []).append(made)
        return made

    def forget(self, day: date | None = None) -> None:
        """Drop the notes of `day` (None: of every day): the bot cannot tell what changed."""
        if day is None:
            self._by_day.clear()
        else:
            self._by_day.pop(day, None)

    def on(self, day: date) -> list[Made]:
        """The notes of the bookings on `day`, oldest first."""
        now = self._clock()
        return [m for m in self._by_day.get(day, []) if m.at + self._remember > now]

    def taken(
        self,
        members: frozenset[int],
        start: datetime,
        end: datetime,
        *,
        since: datetime | None = None,
    ) -> bool:
        """Whether a visit of [start, end) with one of `members` is surely impossible for the
        bot's own bookings. `since`: only if one of those bookings was made after then (when
        the client was shown the time: a list read after a booking, still showing the time,
        knows better than the note, e.g. that the booking was cancelled since)."""
        if not members:
            return False
        near = [
            m
            for m in self.on(start.date())
            if m.members is not None and m.members <= members and m.start < end and start < m.end
        ]
        if len(near) < len(members):
            return False
        for moment in {start, *(m.start for m in near if m.start > start)}:
            busy = [m for m in near if m.start <= moment < m.end]
            if len(busy) < len(members):
                continue
            # Each needs a member of its own; two with the same one member would be a member
            # seeing to two visits at once, which proves nothing about the others.
            if len(frozenset().union(*(m.members for m in busy if m.members))) < len(members):
                continue
            if since is None or any(m.at >= since for m in busy):
                return True
        return False

    def _tidy(self, now: datetime) -> None:
        for day in list(self._by_day):
            kept = [m for m in self._by_day[day] if m.at + self._remember > now]
            if kept:
                self._by_day[day] = kept
            else:
                del self._by_day[day]
