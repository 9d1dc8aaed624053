"""A chain's locations in the order a client looks for them: the nearest first from where they
are, or by name for a list. Plain rules, no I/O."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.altegio.models.company import Company

EARTH_RADIUS_KM = 6371.0088  # the mean radius: what a client's "2.4 km away" needs


@dataclass(frozen=True, slots=True)
class Nearby:
    """A location and how far it is from the client, in km; None where its pin is unknown."""

    company: Company
    km: float | None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points in degrees (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def by_distance(companies: Iterable[Company], latitude: float, longitude: float) -> list[Nearby]:
    """The locations nearest first from (`latitude`, `longitude`); those without a pin last, in
    the order given (the chain's own). Equal distances keep the chain's order too."""
    located: list[Nearby] = []
    unplaced: list[Nearby] = []
    for company in companies:
        if company.latitude is None or company.longitude is None:
            unplaced.append(Nearby(company, None))
        else:
            km = distance_km(latitude, longitude, company.latitude, company.longitude)
            located.append(Nearby(company, km))
    located.sort(key=lambda nearby: nearby.km or 0.0)
    return located + unplaced


def by_name(companies: Sequence[Company]) -> list[Company]:
    """The locations by name for a list, case and accents aside; the same name by address."""
    return sorted(companies, key=lambda c: (_fold(c.title), _fold(c.full_address), c.id))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
