"""The location: `GET company`, completed by what its records' `company` block tells (phone,
currency, the rules for changing appointments online)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from bot.altegio.errors import UnexpectedResponse
from bot.altegio.models.lenient import (
    Json,
    as_bool,
    as_decimal,
    as_dict,
    as_int,
    as_list,
    as_str,
    require_int,
    zone,
)
from bot.altegio.models.region import country_currency, territory, zone_key


@dataclass(frozen=True, slots=True)
class Rules:
    """The salon's rules for changing appointments online; None where Altegio did not say.

    `GET company` is documented without them; a record's own `company` block carries them.
    An unknown rule is never guessed: the bot then asks Altegio and reports its answer.
    """

    allow_change: bool | None = None
    change_notice: int | None = None  # seconds before the visit online changes close
    allow_delete: bool | None = None
    delete_notice: int | None = None

    @classmethod
    def from_wire(cls, raw: Mapping[str, Json]) -> Rules:
        def flag(key: str) -> bool | None:
            value = raw.get(key)
            return None if value is None or value == "" else as_bool(value)

        def seconds(key: str) -> int | None:
            value = as_int(raw.get(key))
            return None if value is None or value < 0 else value

        return cls(
            allow_change=flag("allow_change_record"),
            change_notice=seconds("allow_change_record_delay_step"),
            allow_delete=flag("allow_delete_record"),
            delete_notice=seconds("allow_delete_record_delay_step"),
        )

    def over(self, other: Rules) -> Rules:
        """These rules, with what they leave unknown taken from `other`."""
        return Rules(
            allow_change=_first(self.allow_change, other.allow_change),
            change_notice=_first(self.change_notice, other.change_notice),
            allow_delete=_first(self.allow_delete, other.allow_delete),
            delete_notice=_first(self.delete_notice, other.delete_notice),
        )


def _first(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


@dataclass(frozen=True, slots=True)
class Facts:
    """What a record's `company` block tells about its location beyond `GET company`."""

    phone: str = ""
    currency: str = ""
    rules: Rules = Rules()

    @classmethod
    def from_wire(cls, data: Json) -> Facts:
        raw = as_dict(data)
        phones = as_list(raw.get("phones"))
        return cls(
            phone=as_str(raw.get("phone")) or (as_str(phones[0]) if phones else ""),
            currency=as_str(raw.get("currency_short_title")) or as_str(raw.get("currency")),
            rules=Rules.from_wire(raw),
        )

    def over(self, other: Facts) -> Facts:
        return Facts(
            phone=self.phone or other.phone,
            currency=self.currency or other.currency,
            rules=self.rules.over(other.rules),
        )

    def as_json(self) -> dict[str, Json]:
        rules = self.rules
        return {
            "phone": self.phone,
            "currency_short_title": self.currency,
            "allow_change_record": rules.allow_change,
            "allow_change_record_delay_step": rules.change_notice,
            "allow_delete_record": rules.allow_delete,
            "allow_delete_record_delay_step": rules.delete_notice,
        }


@dataclass(frozen=True, slots=True)
class Company:
    id: int
    title: str
    timezone: str  # an IANA key; a bare UTC offset becomes the fixed zone of that offset
    address: str = ""
    city: str = ""
    phone: str = ""  # "" when Altegio did not say
    currency: str = ""  # "" when Altegio did not say
    # The currency of the location's country: prices carry it when nothing more exact is known.
    country_currency: str = ""
    country: str = ""  # ISO 3166 code of the location's country, where it could be told
    phone_confirmation: bool = False
    rules: Rules = Rules()
    comment_required: bool = False
    comment_label: str = ""  # the salon's own name for the comment field, if it set one
    email_required: bool = False
    latitude: float | None = None  # `coordinate_lat`; None with the longitude when unset
    longitude: float | None = None  # `coordinate_lon`
    group_id: int = 0  # the chain (`main_group_id`); 0 when the location belongs to none

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone) or ZoneInfo("UTC")

    @property
    def full_address(self) -> str:
        parts = [p for p in (self.address, self.city) if p]
        if len(parts) == 2 and self.city in self.address:
            return self.address
        return ", ".join(parts)

    def with_facts(self, facts: Facts) -> Company:
        """The location as `GET company` told it, completed by what its records told."""
        return replace(
            self,
            phone=self.phone or facts.phone,
            currency=self.currency or facts.currency or self.country_currency,
            rules=self.rules.over(facts.rules),
        )

    @classmethod
    def from_wire(cls, data: Json) -> Company:
        raw = as_dict(data)
        if not raw:
            raise UnexpectedResponse("company: no data")
        facts = Facts.from_wire(raw)
        main_group = as_dict(raw.get("main_group"))
        latitude, longitude = _coordinates(raw.get("coordinate_lat"), raw.get("coordinate_lon"))
        return cls(
            id=require_int(raw.get("id"), "company.id"),
            title=as_str(raw.get("title")) or as_str(raw.get("public_title")),
            timezone=zone_key(raw),
            address=as_str(raw.get("address")),
            city=as_str(raw.get("city")),
            phone=facts.phone,
            currency=facts.currency,
            country_currency=country_currency(as_str(raw.get("country"))),
            country=territory(as_str(raw.get("country"))) or "",
            phone_confirmation=as_bool(raw.get("phone_confirmation")),
            rules=facts.rules,
            comment_required=as_bool(raw.get("booking_comment_required")),
            comment_label=as_str(raw.get("booking_comment_input_name")),
            email_required=as_bool(raw.get("booking_email_required")),
            latitude=latitude,
            longitude=longitude,
            group_id=as_int(raw.get("main_group_id")) or as_int(main_group.get("id")) or 0,
        )


def _coordinates(lat: Json, lon: Json) -> tuple[float | None, float | None]:
    """The map pin, or (None, None) when either half is missing or out of range, or both are 0
    (how an unset pin arrives)."""
    latitude, longitude = as_decimal(lat), as_decimal(lon)
    if latitude is None or longitude is None or abs(latitude) > 90 or abs(longitude) > 180:
        return None, None
    if latitude == 0 and longitude == 0:
        return None, None
    return float(latitude), float(longitude)


def chain_from_wire(data: Json, group_id: int) -> list[Company]:
    """A chain's locations (`GET companies?group_id=`), in the chain's order: a higher
    `group_priority` first, else as listed. Entries without an id, repeated ones and those
    marked not `active` are left out; each belongs to `group_id` unless it names its own."""
    listed: list[tuple[int, int, Company]] = []
    seen: set[int] = set()
    for index, entry in enumerate(as_list(data)):
        raw = as_dict(entry)
        active = raw.get("active")
        if as_int(raw.get("id")) is None or (active not in (None, "") and not as_bool(active)):
            continue
        company = Company.from_wire(raw)
        if company.id in seen:
            continue
        seen.add(company.id)
        company = company if company.group_id else replace(company, group_id=group_id)
        listed.append((-(as_int(raw.get("group_priority")) or 0), index, company))
    return [company for *_, company in sorted(listed, key=lambda item: item[:2])]
