"""A visit of several services: which services may join the ones chosen, and the visit's total
duration and price. Plain code over the Altegio client: no Telegram here.

A service may join the visit when some team member performs it together with every service
already chosen, so the visit stays one appointment with one person (Altegio books it as one
record with several services). `book_services` is told the chosen services too, but the
reference documents that filter only with a team member and a time; the team member's own list
(`book_services?staff_id=`, the same cached read that gives the team's durations) is what
decides here, for every variant of the service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


async def addable(altegio: AltegioClient, service_ids: Sequence[int]) -> list[Service]:
    """Services that may join the chosen ones: some team member performs them all. None once
    the visit holds `MAX_SERVICES`."""
    if not service_ids or len(service_ids) >= MAX_SERVICES:
        return []
    members = await altegio.staff(service_ids)
    lists = await asyncio.gather(
        *(altegio.catalogue(m.id) for m in members), return_exceptions=True
    )
    possible: set[int] = set()
    for listed in lists:
        if isinstance(listed, Catalogue):
            possible.update(s.id for s in listed.services)
        elif not isinstance(listed, errors.AltegioError):
            raise listed
    catalogue = await altegio.catalogue()
    chosen = set(service_ids)
    return [s for s in catalogue.services if s.id in possible and s.id not in chosen]


async def withdrawn(altegio: AltegioClient, service_ids: Sequence[int]) -> list[int]:
    """Which of the visit's services Altegio no longer offers, after a 438 (which names none):
    those its catalogue, read afresh, no longer lists; the first when it lists them all."""
    altegio.forget_catalogue()
    catalogue = await altegio.catalogue()
    gone = [sid for sid in service_ids if catalogue.service(sid) is None]
    return gone or list(service_ids[:1])
