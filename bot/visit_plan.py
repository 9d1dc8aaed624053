"""A visit of several services: which services may join the ones chosen, and the visit's total
duration and price. Plain code over the Altegio client: no Telegram here.

A service joins the visit "together" when some team member performs it with every service
already chosen, so the visit stays one appointment with one person (Altegio books it as one
record with several services). A service nobody performs with the others joins "after": the
visit is then booked as consecutive appointments with the team members who do each part, the
way Altegio's own widget books several appointments in one request. `book_services` is told the
chosen services too, but the reference documents that filter only with a team member and a
time; each team member's own list (`book_services?staff_id=`, the same cached reads that give
the team's durations) is what decides here, for every variant of the service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bot.altegio import errors
from bot.altegio.client import AltegioClient
from bot.altegio.models import Catalogue, Service

# A visit is kept to a few services: more is a day at the salon, better arranged by phone.
MAX_SERVICES = 4


@dataclass(frozen=True, slots=True)
class Visit:
    """The chosen services as the catalogue has them, in the order chosen."""

    services: tuple[Service, ...]
    shortest: int | None  # seconds, over the team members who could do it all
    longest: int | None

    @property
    def title(self) -> str:
        # The same joining as an appointment read back from Altegio (`Record.title`).
        return ", ".join(s.title for s in self.services)

    @property
    def price_min(self) -> Decimal | None:
        return _total(s.price_min for s in self.services)

    @property
    def price_max(self) -> Decimal | None:
        return _total(s.price_max for s in self.services)


def _total(prices: Iterable[Decimal | None]) -> Decimal | None:
    values = list(prices)
    if not values or any(v is None for v in values):
        return None
    return sum((v for v in values if v is not None), Decimal(0))


async def visit(
    altegio: AltegioClient, service_ids: Sequence[int], *, team_durations: bool = False
) -> Visit:
    """The visit's services and its total duration range over the team (read for one service
    only with `team_durations`: its own list gives it otherwise)."""
    catalogue = await altegio.catalogue()
    services = tuple(s for sid in service_ids if (s := catalogue.service(sid)) is not None)
    durations: dict[int, tuple[int, int]] = {}
    if len(services) > 1 or team_durations:
        try:
            durations = await altegio.durations()
        except errors.AltegioError:
            durations = {}
    lows, highs = [], []
    for service in services:
        low, high = durations.get(service.id) or (service.duration, service.duration)
        if not low or not high:
            return Visit(services, None, None)
        lows.append(low)
        highs.append(high)
    return Visit(services, sum(lows) if lows else None, sum(highs) if highs else None)


@dataclass(frozen=True, slots=True)
class Addable:
    """Services that may join the visit: with the same team member, or right after it with
    another one (the visit then becomes consecutive appointments)."""

    together: list[Service] = field(default_factory=list)
    after: list[Service] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.together or self.after)

    def offers(self, service_id: int) -> bool:
        return any(s.id == service_id for s in (*self.together, *self.after))


async def performers(altegio: AltegioClient) -> dict[int, set[int]]:
    """Who performs each service: service id → the team members (ids) whose own list has it.
    Cached reads: the team and each member's list, as the team's durations read them."""
    members = await altegio.staff([])
    lists = await asyncio.gather(
        *(altegio.catalogue(m.id) for m in members), return_exceptions=True
    )
    found: dict[int, set[int]] = {}
    for member, listed in zip(members, lists, strict=True):
        if isinstance(listed, Catalogue):
            for service in listed.services:
                found.setdefault(service.id, set()).add(member.id)
        elif not isinstance(listed, errors.AltegioError):
            raise listed
    return found


def split(service_ids: Sequence[int], who: Mapping[int, set[int]]) -> list[list[int]]:
    """The visit's services as the fewest consecutive appointments, each with services one team
    member performs together, in the order chosen; [] when some service has nobody at all.
    One part (the services as they are) when a single team member does everything."""
    ids = list(dict.fromkeys(service_ids))
    if not ids or any(not who.get(sid) for sid in ids):
        return []
    best: list[list[int]] | None = None
    for partition in _partitions(ids):
        if best is not None and len(partition) >= len(best):
            continue
        if all(set.intersection(*(who[sid] for sid in part)) for part in partition):
            best = partition
    return best or []


def _partitions(items: list[int]) -> Iterator[list[list[int]]]:
    """Every way to group `items` (a few), each group and the groups in the order given."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for smaller in _partitions(rest):
        yield [[first], *smaller]
        for index in range(len(smaller)):
            yield [*smaller[:index], [first, *smaller[index]], *smaller[index + 1 :]]


async def parts(altegio: AltegioClient, service_ids: Sequence[int]) -> list[list[int]]:
    """The visit's consecutive appointments when no one team member does it all; [] when one
    does (it is one appointment) or when it cannot be booked at all."""
    if len(service_ids) < 2:
        return []
    found = split(service_ids, await performers(altegio))
    return found if len(found) > 1 else []


async def addable(altegio: AltegioClient, service_ids: Sequence[int]) -> Addable:
    """Services that may join the chosen ones: with a team member who performs them all, or
    after them with another. Nothing once the visit holds `MAX_SERVICES`."""
    if not service_ids or len(service_ids) >= MAX_SERVICES:
        return Addable()
    who = await performers(altegio)
    catalogue = await altegio.catalogue()
    chosen = set(service_ids)
    doing_all = set.intersection(*(who.get(sid, set()) for sid in chosen))
    together, after = [], []
    for service in catalogue.services:
        if service.id in chosen or not who.get(service.id):
            continue
        if doing_all & who[service.id] or (
            not doing_all and split([*service_ids, service.id], who)
        ):
            # (A visit already in parts takes any service that fits in a part or as one more.)
            together.append(service)
        elif split([*service_ids, service.id], who):
            after.append(service)
    return Addable(together, after)


async def withdrawn(altegio: AltegioClient, service_ids: Sequence[int]) -> list[int]:
    """Which of the visit's services Altegio no longer offers, after a 438 (which names none):
    those its catalogue, read afresh, no longer lists; the first when it lists them all."""
    altegio.forget_catalogue()
    catalogue = await altegio.catalogue()
    gone = [sid for sid in service_ids if catalogue.service(sid) is None]
    return gone or list(service_ids[:1])


@dataclass(frozen=True, slots=True)
class Part:
    """One of a visit's consecutive appointments as the client sees it."""

    title: str  # its services
    staff_id: int  # 0: anyone
    staff_name: str  # "" for anyone


async def named_parts(
    altegio: AltegioClient, parts: Sequence[Sequence[int]], staff: Sequence[int]
) -> list[Part]:
    """The parts with their services' titles and their team members' names (as far as chosen:
    a part without one yet is with anyone)."""
    catalogue = await altegio.catalogue()
    named = []
    for index, part in enumerate(parts):
        title = ", ".join(s.title for sid in part if (s := catalogue.service(sid)) is not None)
        member_id = staff[index] if index < len(staff) else 0
        name = ""
        if member_id:
            team = await altegio.staff(part)
            name = next((m.name for m in team if m.id == member_id), "")
        named.append(Part(title, member_id, name))
    return named
