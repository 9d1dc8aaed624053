"""Which days each team member works, to tell who "any available team member" can be on a day.

With "anyone", the bot cannot tell which member Altegio gave a booking. It knows who offers the
services (the team as last read for them); when only one of them works that day (a Saturday with
one stylist of two), every booking with anyone there is that member's, and the bot knows, as
surely as with the member chosen, which times its own bookings and its clients' holds fill.
Without that, two members are counted where one works, and the bot offers, and confirms, times
Altegio then refuses.

A member's days are read in a rush only (`learn`), once per `ttl`, with `book_dates` for the
member and no services: its `working_dates` are the days they work (`booking_dates`, the days
they have something free, where a server gives no working days). A member whose days are not
known, or a day beyond those read, narrows nothing: the whole team stays possible.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from bot.altegio import errors

if TYPE_CHECKING:
    from bot.altegio.client import AltegioClient

log = logging.getLogger(__name__)


class TeamDays:
    """Each team member's working days, as last read, for `ttl` seconds."""

    def __init__(self, monotonic: Callable[[], float], ttl: float) -> None:
        self._monotonic = monotonic
        self.ttl = ttl
        # member -> (until, first, last, the days they work between first and last)
        self._days: dict[int, tuple[float, date, date, frozenset[date]]] = {}

    def keep(self, member: int, first: date, last: date, days: frozenset[date] | None) -> None:
        """The member's working days between `first` and `last` (None: not told)."""
        if days is None:
            self._days.pop(member, None)
        else:
            self._days[member] = (self._monotonic() + self.ttl, first, last, days)

    def works(self, member: int, day: date) -> bool | None:
        """Whether the member works on `day` (None: not known)."""
        found = self._days.get(member)
        if found is None or found[0] <= self._monotonic() or not found[1] <= day <= found[2]:
            return None
        return day in found[3]

    def known(self, member: int, day: date) -> bool:
        return self.works(member, day) is not None

    def narrow(self, members: frozenset[int] | None, day: date | None) -> frozenset[int] | None:
        """Those of `members` who may work on `day`: all of them unless a member is known not
        to. Never nobody: a day a client is booking that nobody seems to work on tells that the
        days read are wrong, not that nobody can come."""
        if not members or day is None:
            return members
        kept = frozenset(m for m in members if self.works(m, day) is not False)
        return kept or members


async def learn(
    altegio: AltegioClient, service_ids: Sequence[int], day: date, first: date, last: date
) -> None:
    """Read the working days (between `first` and `last`) of those who offer the services with
    anyone, when they are more than one and one of them is not known for `day` (the caller asks
    in a rush only). A read that fails or finds no days leaves that member possible every day."""
    members = altegio.shared_times.members(tuple(service_ids))
    team_days = altegio.shared_times.team_days
    if members is None or len(members) < 2:
        return
    unknown = sorted(m for m in members if not team_days.known(m, day))

    async def read(member: int) -> None:
        try:
            found = await altegio.dates((), member, first, last)
        except errors.AltegioError as exc:
            log.info("altegio: a team member's working days unread: %s", type(exc).__name__)
            return
        days = found.working_dates or found.booking_dates
        team_days.keep(member, first, last, frozenset(days) if days else None)

    await asyncio.gather(*(read(m) for m in unknown))
