"""The waiting list's watcher: which of the days clients wait for have a time that freed up,
read within its budget and only into room the clients leave spare.

For each (location, services, team member, month) some wish covers, one `book_dates` read (at
that location, `Services.at`) says which of the wished days have anything free at all
(Altegio's `booking_dates` are the days with free slots, §6.8). A wished day with nothing free
needs no more reads; one that has something gets `book_times` (with "anyone", each team
member's merged where Altegio's own answer for anyone is empty, §10), at once when it had
nothing before and then at its own pace while it keeps free times. Nearer days are read more
often (`look_every`, by each location's own calendar), the most overdue for its pace first. A
time free at a read and not at the one before has freed up; the first read of a day is what is
free already (a day first seen with nothing free has nothing to hide). A chain's locations
share the one budget.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.altegio import errors
from bot.altegio.models import Slot
from bot.services import Services
from bot.storage.waitlist_rows import Free
from bot.visit_times import merged
from bot.waitlist_rules import (
    day_parts,
    is_month_key,
    key_location,
    look_every,
    month_key,
    services_and_staff,
    watch_key,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# A day with nothing free is read again only when its month's days say it has something (or a
# webhook says it changed).
NEVER = 2**62


@dataclass(frozen=True, slots=True)
class Freed:
    key: str  # the day's `watch_key`
    staff_id: int
    raw: str  # Altegio's `datetime` of the freed time


class _OutOfRoom(Exception):
    """The budget or the rate limit's spare room ran out: the rest waits for the next tick."""


async def read_due(
    services: Services, days: set[str], zones: dict[int, ZoneInfo], now: datetime
) -> list[Freed]:
    """Read what is due among the wished `days` (their `watch_key`s), each at its own location
    in its own timezone (`zones`, by `key_location`: a location missing there is left as it is
    until the next tick), all within the one budget; returns the freed times."""
    storage = services.storage
    stamp = int(now.timestamp())
    months: dict[str, list[date]] = {}
    for key in days:
        where = key_location(key)
        service_ids, staff_id, day = day_parts(key)
        if where in zones and day >= now.astimezone(zones[where]).date():
            months.setdefault(month_key(service_ids, staff_id, day, where), []).append(day)
    known = storage.watched()
    storage.unwatch({k for k in set(known) - days - set(months) if key_location(k) in zones})
    storage.watch(set(months) - set(known), stamp)
    storage.watch(days - set(known), NEVER)
    queue = []
    for key, (_, _, due) in storage.watched().items():
        where = key_location(key)
        if due > stamp or where not in zones:
            continue
        today = now.astimezone(zones[where]).date()
        if key in months:
            pace = look_every(min(months[key]), today)
        elif key in days and (day := day_parts(key)[2]) >= today:
            pace = look_every(day, today)
        else:
            continue
        queue.append((-(stamp - due) / pace.total_seconds(), key))
    freed: list[Freed] = []
    work = [key for _, key in sorted(queue)]
    try:
        while work:
            key = work.pop(0)
            where = key_location(key)
            there, today = services.at(where), now.astimezone(zones[where]).date()
            if is_month_key(key):
                # A day that has something free now, after nothing: its times read at once.
                work[:0] = await _read_month(there, key, months[key], stamp, today)
            else:
                freed += await _read_day(there, key, now, today)
    except _OutOfRoom:
        pass
    return freed


async def _read_month(
    services: Services, key: str, wished: list[date], stamp: int, today: date
) -> list[str]:
    """The month's wished days with something free: those that had nothing before are
    returned, to be read at once."""
    storage = services.storage
    service_ids, staff_id = services_and_staff(key)
    where = key_location(key)
    pace = int(look_every(min(wished), today).total_seconds())
    try:
        dates = await _sent(
            services,
            services.altegio.dates(
                list(service_ids), staff_id, min(wished), max(wished), background=True
            ),
        )
    except errors.AltegioError as exc:
        log.info("waiting list: days not read (%s); later", type(exc).__name__)
        storage.put_off(key, stamp + pace)
        return []
    bookable = set(dates.booking_dates)
    known = storage.watched()
    opened = []
    for day in wished:
        day_key = watch_key(service_ids, staff_id, day, where)
        before = known.get(day_key, (None, 0, 0))[0]
        if day not in bookable:
            storage.know_free(day_key, [], stamp, NEVER)
        elif not before:
            storage.look_now([day_key])  # something is free now: which times, at once
            opened.append(day_key)
    storage.know_free(key, [(d.isoformat(), 0) for d in sorted(bookable)], stamp, stamp + pace)
    return opened


async def _read_day(services: Services, key: str, now: datetime, today: date) -> list[Freed]:
    storage = services.storage
    service_ids, staff_id, day = day_parts(key)
    stamp = int(now.timestamp())
    pace = int(look_every(day, today).total_seconds())
    altegio = services.altegio
    partial = services.waitlist.partial
    try:
        slots: list[Slot] = []
        if key not in partial:
            slots = await _sent(
                services, altegio.times(staff_id, day, service_ids, background=True)
            )
        if not slots and staff_id == 0:
            # Whether Altegio merges everyone's times for "anyone" is not documented (§10):
            # each team member's, over as many ticks as the spare room takes.
            got = partial.setdefault(key, {})
            for member in await altegio.staff(list(service_ids)):
                if member.bookable and member.id not in got:
                    read = altegio.times(member.id, day, service_ids, background=True)
                    got[member.id] = await _sent(services, read, owed=True)
            del partial[key]
            slots = merged(got)
    except errors.AltegioError as exc:
        partial.pop(key, None)
        log.info("waiting list: a day not read (%s); later", type(exc).__name__)
        storage.put_off(key, stamp + pace)
        return []
    held = services.holds.held_for_others("", staff_id, now)
    free: Free = [(s.raw, s.length or 0) for s in slots if s.start > now and s.raw not in held]
    before = storage.watched().get(key, (None, 0, 0))[0]
    storage.know_free(key, free, stamp, stamp + pace if free else NEVER)
    if before is None:
        return []  # the first read: what is free already is not news
    known = {raw for raw, _ in before}
    return [Freed(key, staff_id, raw) for raw, _ in free if raw not in known]


async def _sent(services: Services, call: Coroutine[Any, Any, T], *, owed: bool = False) -> T:
    """One request of the watcher's: within its budget (`owed`: paid back later), only into
    spare room."""
    state = services.waitlist
    if not state.budget.take(services.clock().timestamp(), owed=owed):
        call.close()  # never sent
        raise _OutOfRoom
    try:
        result = await call
    except errors.NoSpareRoom:
        state.budget.give_back()
        state.skipped += 1
        raise _OutOfRoom from None
    except errors.AltegioError:
        state.reads += 1
        raise
    state.reads += 1
    return result
