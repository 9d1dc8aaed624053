"""What a location offers: its services and their categories, and the team members who do them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.altegio.models.lenient import (
    Json,
    as_bool,
    as_decimal,
    as_dict,
    as_int,
    as_list,
    as_str,
    parse_date,
)


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    title: str
    weight: int = 0


@dataclass(frozen=True, slots=True)
class Service:
    id: int
    title: str
    category_id: int | None
    price_min: Decimal | None
    price_max: Decimal | None
    duration: int | None  # seconds; Altegio fills it only when the list is filtered by staff
    weight: int = 0
    comment: str = ""

    @classmethod
    def from_wire(cls, data: Json) -> Service | None:
        raw = as_dict(data)
        ident = as_int(raw.get("id"))
        if ident is None:
            return None
        low = as_decimal(raw.get("price_min"))
        high = as_decimal(raw.get("price_max"))
        if low is None:
            low = as_decimal(raw.get("cost"))
        if high is None or (low is not None and high < low):
            high = low
        length = as_int(raw.get("seance_length")) or as_int(raw.get("length"))
        return cls(
            id=ident,
            title=as_str(raw.get("title")) or f"#{ident}",
            category_id=as_int(raw.get("category_id")),
            price_min=low,
            price_max=high,
            duration=length if length and length > 0 else None,
            weight=as_int(raw.get("weight"), 0) or 0,
            comment=as_str(raw.get("comment")),
        )


@dataclass(frozen=True, slots=True)
class Catalogue:
    services: tuple[Service, ...]
    categories: tuple[Category, ...]

    def service(self, service_id: int) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def category(self, category_id: int) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def in_category(self, category_id: int | None) -> list[Service]:
        return [s for s in self.services if s.category_id == category_id]

    @classmethod
    def from_wire(cls, data: Json) -> Catalogue:
        raw = as_dict(data)
        if not raw and isinstance(data, list):
            raw = {"services": data}
        services = [s for s in (Service.from_wire(x) for x in as_list(raw.get("services"))) if s]
        categories: list[Category] = []
        for item in as_list(raw.get("category")) or as_list(raw.get("categories")):
            entry = as_dict(item)
            ident = as_int(entry.get("id"))
            if ident is None:
                continue
            categories.append(
                Category(ident, as_str(entry.get("title")), as_int(entry.get("weight"), 0) or 0)
            )
        # Higher weight first, as the salon ordered them in Altegio.
        services.sort(key=lambda s: (-s.weight, s.title.casefold()))
        categories.sort(key=lambda c: (-c.weight, c.title.casefold()))
        return cls(tuple(services), tuple(categories))


@dataclass(frozen=True, slots=True)
class Staff:
    id: int
    name: str
    specialization: str = ""
    position: str = ""
    bookable: bool = True
    nearest_date: date | None = None
    rating: Decimal | None = None
    weight: int = 0

    @classmethod
    def from_wire(cls, data: Json) -> Staff | None:
        raw = as_dict(data)
        ident = as_int(raw.get("id"))
        if ident is None or ident <= 0:
            return None
        if as_bool(raw.get("fired")) or as_bool(raw.get("hidden")):
            return None
        position = as_dict(raw.get("position"))
        bookable = raw.get("bookable")
        return cls(
            id=ident,
            name=as_str(raw.get("name")) or f"#{ident}",
            specialization=as_str(raw.get("specialization")) or as_str(raw.get("spec")),
            position=as_str(position.get("title")),
            bookable=True if bookable is None else as_bool(bookable),
            nearest_date=parse_date(raw.get("seance_date")),
            rating=as_decimal(raw.get("rating")) if as_bool(raw.get("show_rating", 1)) else None,
            weight=as_int(raw.get("weight"), 0) or 0,
        )

    @classmethod
    def list_from_wire(cls, data: Json) -> list[Staff]:
        staff = [s for s in (cls.from_wire(x) for x in as_list(data)) if s]
        staff.sort(key=lambda s: (-s.weight, s.name.casefold()))
        return staff
