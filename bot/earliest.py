"""The earliest free times, offered before any calendar: a named team member's own, or, for
"any available team member", the earliest across the team, each with who it is with.

What it costs Altegio: the team (`book_staff`, cached, and already read to offer the team) says
each member's nearest day; only the members with the earliest days are asked for their nearest
times (`book_staff_seances`, at most `ASK_AT_MOST` of them), and those answers are kept for
half a minute and shared by every client offered them. So "anyone" across a team of ten costs
no more than three reads, and at a busy moment mostly none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.altegio import errors
from bot.altegio.client import AltegioClient
from bot.altegio.models import Nearest, Slot, Staff

log = logging.getLogger(__name__)

# Team members asked for their nearest times when the client takes anyone: those whose nearest
# day is the earliest, in the salon's own order. A fourth with the same day is not asked.
ASK_AT_MOST = 3
SHOWN = 4  # the earliest times offered


@dataclass(frozen=True, slots=True)
class Early:
    """One of the earliest free times and the team member it is with."""

    slot: Slot
    staff_id: int
    staff_name: str


async def earliest(
    altegio: AltegioClient,
    service_ids: Sequence[int],
    staff_id: int,
    held: Callable[[int], set[str]],
    *,
    now: datetime,
    busy: Sequence[tuple[datetime, datetime]] = (),
    count: int = SHOWN,
) -> list[Early]:
    """The `count` earliest free times with `staff_id` (0: with anyone), leaving out times
    already past, those `held(staff_id)` names (other clients of the bot are booking them) and
    those overlapping `busy`, the client's own appointments (the earliest time with one team
    member is often the earliest with another: a client booking twice is not offered it twice).

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
    offers: dict[datetime, Early] = {}
    failures: list[BaseException] = []
    for member, answer in zip(asked, answers, strict=True):
        if isinstance(answer, errors.StaffGone) and not staff_id:
            continue
        if isinstance(answer, BaseException):
            failures.append(answer)
            continue
        offers.update(_offers(member, answer, held(member.id), now, offers))
    offers = {start: e for start, e in offers.items() if not _overlaps(e.slot, busy)}
    if failures and len(failures) == len(asked):
        raise failures[0]
    for failure in failures:
        log.info("nearest times not read for one team member: %s", type(failure).__name__)
    return sorted(offers.values(), key=lambda e: e.slot.start)[:count]


def _overlaps(slot: Slot, busy: Sequence[tuple[datetime, datetime]]) -> bool:
    end = slot.start + timedelta(seconds=slot.length or 0)
    return any(
        slot.start < until and since < max(end, slot.start + _MOMENT) for since, until in busy
    )


_MOMENT = timedelta(minutes=1)  # a time of unknown length still takes its first minute


def _offers(
    member: Staff, nearest: Nearest, held: set[str], now: datetime, taken: dict[datetime, Early]
) -> dict[datetime, Early]:
    """The member's times not yet offered with someone earlier in the salon's order."""
    return {
        slot.start: Early(slot, member.id, member.name)
        for slot in nearest.slots
        if slot.start > now and slot.raw not in held and slot.start not in taken
    }
