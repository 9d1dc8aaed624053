"""The earliest free times, offered before any calendar: a named team member's own, or, for
"any available team member", the earliest across the team, each with who it is with.

What it costs Altegio: the team (`book_staff`, cached, and already read to offer the team) says
each member's nearest day; only the members with the earliest days are asked for their nearest
times (`book_staff_seances`, at most `ASK_AT_MOST` of them), and those answers are kept for
half a minute and shared by every client offered them. So "anyone" across a team of ten costs
no more than three reads, and at a busy moment mostly none.

Clients booking at the same moment are offered different times (`Offered`): each is offered the
earliest times no other client of the bot is being offered or is booking, so they do not race
each other for the same few and spend the rate limit on refusals. Where the nearest day has
none left, the days after it are read (`book_staff_seances` from the next day on, or where the
server does not take a day to look from, `book_dates` and the next day's `book_times`; kept for
three minutes and shared), at most `MORE_DAYS` of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.altegio import errors
from bot.altegio.client import AltegioClient
from bot.altegio.models import Nearest, Slot, Staff
from bot.draft import HOLD, Draft, horizon

log = logging.getLogger(__name__)

# Team members asked for their nearest times when the client takes anyone: those whose nearest
# day is the earliest, in the salon's own order. A fourth with the same day is not asked.
ASK_AT_MOST = 3
SHOWN = 4  # the earliest times offered
# Bookable days after the nearest one read at most, when every free time already read is being
# offered to (or booked by) other clients of the bot.
MORE_DAYS = 7
# How long times offered to a client are kept from the others while the client has not chosen.
OFFERED_FOR = timedelta(minutes=1)

Span = tuple[datetime, datetime]  # from, until


@dataclass(frozen=True, slots=True)
class Early:
    """One of the earliest free times and the team member it is with."""

    slot: Slot
    staff_id: int
    staff_name: str

    @property
    def span(self) -> Span:
        return self.slot.start, self.slot.start + _length(self.slot)


class Offered:
    """The earliest times each booking flow of the bot is being offered, or has taken one of,
    by team member: each client is offered times that overlap none of another client's (with
    the same team member, for any service), so clients booking at the same moment do not race
    for the same few.

    Times offered are kept while the client looks at them, at most `OFFERED_FOR` from when they
    were offered; the one a client takes, while they book it, at most `HOLD` from when it was
    taken (`follow` lets them go sooner). In memory only: a courtesy between the bot's own
    clients; Altegio's answer to the booking is what decides.
    """

    def __init__(self, offered_for: timedelta = OFFERED_FOR, taken_for: timedelta = HOLD) -> None:
        self._offered_for = offered_for
        self._taken_for = taken_for
        # Until when, the times by button, and whether one was taken.
        self._by_flow: dict[str, tuple[datetime, dict[str, Early], bool]] = {}

    def offer(self, flow: str, offers: Mapping[str, Early], now: datetime) -> None:
        """The times now offered to the flow, in place of any offered before."""
        if offers:
            self._by_flow[flow] = (now + self._offered_for, dict(offers), False)
        else:
            self._by_flow.pop(flow, None)

    def take(self, flow: str, key: str, now: datetime) -> None:
        """The client took the time offered as `key`: the others offered to them are let go."""
        kept = self._by_flow.pop(flow, None)
        taken = kept[1].get(key) if kept else None
        if taken is not None:
            self._by_flow[flow] = (now + self._taken_for, {key: taken}, True)

    def follow(self, flow: str, draft: Draft | None) -> None:
        """The flow's times as its draft now stands: let go once the client neither looks at
        the earliest times (they chose a day instead, or went back) nor books one. A time
        taken stays kept when the flow ends (`draft` None): it has most likely just been
        booked, and a read of the team member's times that was under way meanwhile may still
        bring it as free."""
        if draft is None:
            if flow in self._by_flow and not self._by_flow[flow][2]:
                del self._by_flow[flow]
            return
        looking = draft.earliest and draft.month is None
        booking = draft.early is not None and draft.slot
        if not (looking or booking):
            self._by_flow.pop(flow, None)

    def others(self, flow: str, staff_id: int, now: datetime) -> list[Span]:
        """The spans of the times offered to (or taken by) other clients with this team
        member."""
        for lapsed in [key for key, (until, *_) in self._by_flow.items() if until <= now]:
            del self._by_flow[lapsed]
        return [
            early.span
            for key, (_, offers, _) in self._by_flow.items()
            if key != flow
            for early in offers.values()
            if early.staff_id == staff_id
        ]


async def earliest(
    altegio: AltegioClient,
    service_ids: Sequence[int],
    staff_id: int,
    held: Callable[[int], set[str]],
    *,
    now: datetime,
    busy: Sequence[Span] = (),
    claimed: Callable[[int], Sequence[Span]] = lambda _: (),
    count: int = SHOWN,
) -> list[Early]:
    """The `count` earliest free times with `staff_id` (0: with anyone), leaving out times
    already past, those `held(staff_id)` names (other clients of the bot are booking them),
    those overlapping `claimed(staff_id)` (offered to other clients of the bot just now) and
    those overlapping `busy`, the client's own appointments (the earliest time with one team
    member is often the earliest with another: a client booking twice is not offered it twice).
    Where other clients leave fewer than `count`, fewer: the days after those read are read
    only when nothing is left.

    The answer is computed after the last read, with nothing awaited in between: a caller that
    notes it in `Offered` at once leaves the next client a consistent view.

    Raises what Altegio raised when nobody's times could be read; a team member who has left
    (`StaffGone`) is passed over when the client takes anyone.
    """
    if staff_id:
        asked = [Staff(staff_id, "")]
    else:
        team = [m for m in await altegio.staff(service_ids) if m.bookable]
        # Sorted by nearest day (stable: the salon's order among equals); where Altegio gives
        # no nearest day, the salon's order alone.
        team.sort(key=lambda m: m.nearest_date or date.max)
        asked = team[:ASK_AT_MOST]
    answers = await asyncio.gather(
        *(altegio.nearest(m.id, service_ids) for m in asked), return_exceptions=True
    )
    times: dict[int, list[Slot]] = {}
    last_day: dict[int, date] = {}  # the last day read of each member who may have more
    failures: list[BaseException] = []
    for member, answer in zip(asked, answers, strict=True):
        if isinstance(answer, errors.StaffGone) and not staff_id:
            continue
        if isinstance(answer, BaseException):
            failures.append(answer)
            continue
        times[member.id] = list(answer.slots)
        if (day := _day_of(answer)) is not None:
            last_day[member.id] = day
    if failures and len(failures) == len(asked):
        raise failures[0]
    for failure in failures:
        log.info("nearest times not read for one team member: %s", type(failure).__name__)
    members = [m for m in asked if m.id in times]
    for _ in range(MORE_DAYS):
        offers, contested = _pick(members, times, held, claimed, now, busy, count)
        if offers or not contested or not last_day:
            return offers
        # Other clients of the bot are offered every free time read: the next days are read.
        await _read_on(altegio, service_ids, now, times, last_day)
    return _pick(members, times, held, claimed, now, busy, count)[0]


def _day_of(nearest: Nearest) -> date | None:
    if nearest.slots:
        return max(s.start.date() for s in nearest.slots)
    return nearest.day


async def _read_on(
    altegio: AltegioClient,
    service_ids: Sequence[int],
    now: datetime,
    times: dict[int, list[Slot]],
    last_day: dict[int, date],
) -> None:
    """Each member's next bookable day after the last read, added to their times; a member
    with none (or whose days cannot be read just now) is read no further."""
    company = await altegio.company()
    first, last = horizon(now.astimezone(company.tz).date())

    async def next_day(staff_id: int, after: date) -> tuple[date, list[Slot]] | None:
        later = await altegio.nearest(staff_id, service_ids, after + timedelta(days=1))
        if later.day is None or later.day > after:
            return (later.day, list(later.slots)) if later.day and later.day <= last else None
        # This server does not look from a day on: the bookable days, then the next one's times.
        days = await altegio.dates(service_ids, staff_id, first, last)
        following = [d for d in days.booking_dates if after < d <= last]
        if not following:
            return None
        day = min(following)
        return day, await altegio.day_times(staff_id, day, service_ids)

    members = list(last_day)
    found = await asyncio.gather(
        *(next_day(m, last_day[m]) for m in members), return_exceptions=True
    )
    for staff_id, more in zip(members, found, strict=True):
        if isinstance(more, BaseException) or more is None:
            if isinstance(more, BaseException):
                log.info("the days after the nearest not read: %s", type(more).__name__)
            del last_day[staff_id]
            continue
        last_day[staff_id], slots = more
        times[staff_id].extend(slots)


def _pick(  # noqa: PLR0917 - what the choice depends on, each named at the call
    members: Sequence[Staff],
    times: Mapping[int, Sequence[Slot]],
    held: Callable[[int], set[str]],
    claimed: Callable[[int], Sequence[Span]],
    now: datetime,
    busy: Sequence[Span],
    count: int,
) -> tuple[list[Early], bool]:
    """The earliest free times, and whether any was left out as another client's."""
    offers: dict[datetime, Early] = {}
    contested = False
    for member in members:  # the salon's order: a time two members share goes to the first
        theirs, others = held(member.id), claimed(member.id)
        for slot in times[member.id]:
            if slot.start <= now or slot.start in offers or _overlaps(slot, busy):
                continue
            if slot.raw in theirs or _overlaps(slot, others):
                contested = True
                continue
            offers[slot.start] = Early(slot, member.id, member.name)
    return sorted(offers.values(), key=lambda e: e.slot.start)[:count], contested


def _overlaps(slot: Slot, spans: Sequence[Span]) -> bool:
    end = slot.start + _length(slot)
    return any(slot.start < until and since < end for since, until in spans)


def _length(slot: Slot) -> timedelta:
    """A time of unknown length still takes its first minute."""
    return timedelta(seconds=slot.length or 60)
