"""Free days and times of a visit booked as consecutive appointments with different team
members: each part's own free times, chained so that each part starts when the one before ends
(or a few minutes later, on the salon's grid). Plain code over the Altegio client.

What it costs: one `book_dates` per part for the days (cached like any other), one `book_times`
per part for a day's times (fresh, as for a visit of one appointment; shared with other clients
while they queue for the rate limit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta

from bot.altegio import errors
from bot.altegio.client import AltegioClient
from bot.altegio.models import Slot

# The longest wait between two parts of a visit: the next part starts when the one before ends,
# or within these minutes (a salon's grid of free times may not meet the end exactly).
GAP = timedelta(minutes=15)

Chain = tuple[Slot, ...]  # one free time per part, the first part's first


async def days(
    altegio: AltegioClient,
    parts: Sequence[Sequence[int]],
    staff: Sequence[int],
    first: date,
    last: date,
) -> set[date]:
    """The days within [first, last] on which every part has a free time with its team member
    (0: anyone)."""
    answers = await asyncio.gather(
        *(
            altegio.dates(part, member, first, last)
            for part, member in zip(parts, staff, strict=True)
        )
    )
    found: set[date] | None = None
    for answer in answers:
        these = {d for d in answer.booking_dates if first <= d <= last}
        found = these if found is None else found & these
    return found or set()


async def chains(
    altegio: AltegioClient,
    parts: Sequence[Sequence[int]],
    staff: Sequence[int],
    day: date,
    *,
    now: datetime,
    held: Callable[[int], set[str]],
    lengths: Sequence[int],
) -> list[Chain]:
    """The visit's possible times on `day`: for each free time of the first part (not past, not
    held by another client of the bot), the earliest free time of each next part that starts
    when the one before ends, within `GAP`. `lengths` stands in for a part's length where
    Altegio's free time gives none."""
    per_part = await asyncio.gather(
        *(free_times(altegio, member, day, part) for part, member in zip(parts, staff, strict=True))
    )
    firsts = [s for s in per_part[0] if s.start > now and s.raw not in held(staff[0])]
    found: list[Chain] = []
    for opening in firsts:
        chain = [opening]
        for index in range(1, len(parts)):
            before = chain[-1]
            ends = before.start + timedelta(seconds=before.length or lengths[index - 1])
            following = next(
                (s for s in per_part[index] if ends <= s.start <= ends + GAP),
                None,
            )
            if following is None:
                break
            chain.append(following)
        if len(chain) == len(parts):
            found.append(tuple(chain))
    return found


async def free_times(
    altegio: AltegioClient, staff_id: int, day: date, service_ids: Sequence[int]
) -> list[Slot]:
    """Free times on `day` with `staff_id` (0: anyone). Whether `book_times` with staff 0
    merges everyone's times is undocumented (§10): when it answers nothing, each bookable team
    member who performs the services is asked, and their times merged. Read fresh, but shared
    with the clients asking for the same while clients queue for the rate limit (a rush)."""
    slots = await altegio.times(staff_id, day, service_ids, share=True)
    if slots or staff_id:
        return slots
    members = [m.id for m in await altegio.staff(service_ids) if m.bookable]
    return await each_members(altegio, members, day, service_ids) or []


async def each_members(
    altegio: AltegioClient, members: Sequence[int], day: date, service_ids: Sequence[int]
) -> list[Slot] | None:
    """Free times on `day` with any of `members`, read member by member (each read shared like
    any other): each time knows who it is free with (`Slot.free_with`). A member Altegio no
    longer knows is left out (and withdrawn); None: none of them is known any more."""
    answers = await asyncio.gather(
        *(altegio.times(member, day, service_ids, share=True) for member in members),
        return_exceptions=True,
    )
    found: dict[int, Sequence[Slot]] = {}
    for member, answer in zip(members, answers, strict=True):
        if isinstance(answer, errors.StaffGone):
            continue
        if isinstance(answer, BaseException):
            raise answer
        found[member] = answer
    return merged(found) if found else None


def merged(by_member: Mapping[int, Sequence[Slot]]) -> list[Slot]:
    """Several team members' free times as one list, each start once, soonest first, knowing
    who each is free with and for how long; its length is the longest of theirs."""
    found: dict[datetime, Slot] = {}
    for member, slots in by_member.items():
        for slot in slots:
            seen = found.get(slot.start)
            free_with = (*(seen.free_with if seen else ()), (member, slot.length))
            lengths = [n for _, n in free_with if n]
            found[slot.start] = Slot(
                seen.start if seen else slot.start,
                seen.raw if seen else slot.raw,
                max(lengths) if lengths else None,
                free_with,
            )
    return sorted(found.values(), key=lambda s: s.start)


def in_window(moment: datetime, after: int | None, before: int | None) -> bool:
    """Whether a local time falls within the part of the day a client asked for (minutes after
    midnight; None: no bound)."""
    minute = moment.hour * 60 + moment.minute
    return (after or 0) <= minute < (before if before is not None else 24 * 60)
