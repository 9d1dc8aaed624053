"""What a location offers and when, as Altegio's online-booking endpoints tell it: `GET company`,
`book_services`, `book_staff`, `book_staff_seances`, `book_dates` and `book_times`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta

import httpx

from standins.altegio.salon import HORIZON_DAYS, SalonState
from standins.altegio.seed import CHAIN_TITLES, Salon, StaffMember
from standins.altegio.wire import (
    AVATAR,
    AVATAR_BIG,
    Json,
    by_month,
    fail,
    iso,
    not_found,
    ok,
    path_int,
    pick,
    position,
    price,
    query_ids,
    query_instant,
    query_int,
    rating,
)

DEFAULT_DATES_DAYS = 30
MAX_DATES_DAYS = 366

# fmt: off
# The location's own facts that the full `GET company` shows as they are. Listed rather than
# taken from `asdict`, so that a field saying how the sandbox behaves never reaches the wire.
_COMPANY_KEYS = (
    "id", "title", "timezone_name", "country_id", "country", "city_id", "city", "address", "zip",
    "phone", "site", "coordinate_lat", "coordinate_lon", "short_descr", "currency_short_title",
    "phone_confirmation", "allow_change_record", "allow_change_record_delay_step",
    "allow_delete_record", "allow_delete_record_delay_step",
)
_DOCUMENTED_COMPANY_KEYS = (
    "id", "title", "country_id", "country", "city_id", "city", "timezone_name", "address", "zip",
    "coordinate_lat", "coordinate_lon", "short_descr",
)
# fmt: on


def get_company(state: SalonState, salon: Salon, params: httpx.QueryParams) -> Json:
    loc = salon.location
    bookform = loc.id * 10
    bookforms = [
        {
            "id": bookform,
            "title": "Online booking",
            "is_default": 1,
            "url": f"https://n{bookform}.alteg.io/",
        }
    ]
    if loc.company_shape == "documented":
        data = _documented_company(state, salon, params, bookforms)
    else:
        data = {
            **pick(asdict(loc), _COMPANY_KEYS),
            "public_title": loc.title,
            "business_type_id": 1,
            "phones": [loc.phone],
            "description": "",
            "active_staff_count": len(state.present(salon)),
            "booking_comment_required": loc.booking_comment_required,
            "booking_email_required": loc.booking_email_required,
            "booking_comment_input_name": loc.booking_comment_input_name,
            "booking_notify_text": "",
            "reminds_sms_disabled": False,
            "main_group_id": loc.group_id,
            "bookforms": bookforms,
            "payment_policy": {"type": "none"},
        }
        if params.get("forBooking") == "1":
            data["next_slot"] = _next_slot(state, salon)
    if loc.timezone_form != "name":
        hours = _offset(state, salon)
        # Where the name stood, so the field order stays the platform's.
        data = {
            ("timezone" if key == "timezone_name" else key): (
                (hours if loc.timezone_form == "offset_int" else str(hours))
                if key == "timezone_name"
                else value
            )
            for key, value in data.items()
        }
    return ok(data)


def _documented_company(
    state: SalonState, salon: Salon, params: httpx.QueryParams, bookforms: list[Json]
) -> Json:
    """Exactly the fields of Altegio's "Get location", in its order."""
    loc = salon.location
    data: Json = {
        **pick(asdict(loc), _DOCUMENTED_COMPANY_KEYS),
        "social": dict.fromkeys(("facebook", "instagram", "telegram", "whatsapp", "viber"), ""),
        "site": loc.site,
        "business_type_id": 1,
        "description": "",
        "phone_confirmation": loc.phone_confirmation,
        "active_staff_count": len(state.present(salon)),
    }
    if params.get("forBooking") == "1":
        data["next_slot"] = _next_slot(state, salon)
    data |= {
        "group_priority": 0,
        "push_notification_phone_confirm": 0,
        "main_group_id": loc.group_id,
        # "An object or an empty array": `[]` when the location belongs to no chain.
        "main_group": _group(loc.group_id) or [],
    }
    if params.get("show_groups") == "1":
        data["groups"] = [_group(loc.group_id)] if loc.group_id else []
    data["bookforms"] = bookforms
    if params.get("bookform_id"):
        data["online_sales_form_url"] = f"https://o{loc.id}.alteg.io"
    data["payment_policy"] = {"type": "none"}
    if params.get("my") == "1":
        data["access"] = {}
    return data


def _group(group_id: int) -> Json:
    """A chain as a location names it (the sandbox's pick: its id and title)."""
    return {"id": group_id, "title": CHAIN_TITLES.get(group_id, "")} if group_id else {}


def _offset(state: SalonState, salon: Salon) -> int | float:
    """The location's current UTC offset in hours: 2, -5, 5.5."""
    offset = state.now().astimezone(state.tz(salon)).utcoffset() or timedelta()
    hours = offset.total_seconds() / 3600
    return int(hours) if hours.is_integer() else hours


def _next_slot(state: SalonState, salon: Salon) -> str | None:
    today = state.today(salon)
    members = state.eligible(salon, [])
    for offset in range(HORIZON_DAYS):
        slots = state.day_slots(salon, members, [], today + timedelta(days=offset))
        if slots:
            return iso(slots[0][0], state.tz(salon))
    return None


def book_services(state: SalonState, salon: Salon, params: httpx.QueryParams) -> Json:
    staff_id = query_int(params, "staff_id")
    chosen = query_ids(params, "service_ids")
    instant = query_instant(params, "datetime", state.tz(salon))
    pool = [m for m in state.present(salon) if staff_id in (0, m.id)]
    services = []
    for service in salon.services:
        performers = [m for m in pool if service.id in state.performs(m)]
        if instant is not None:
            combo = chosen if service.id in chosen else [*chosen, service.id]
            performers = [
                m
                for m in performers
                if all(s in state.performs(m) for s in combo)
                and state.free_at(salon, m, combo, instant)
            ]
        if not performers:
            continue
        item: Json = {
            "id": service.id,
            "title": service.title,
            "category_id": service.category_id,
            "price_min": price(service, service.price_min),
            "price_max": price(service, service.price_max),
            "discount": 0,
            "comment": service.comment,
            "weight": service.weight,
            "active": 1,
            "gender": service.gender,
            "image": "",
            "prepaid": "forbidden",
            "abonement_restriction": 0,
            "is_composite": False,
            "images": [],
        }
        if staff_id:
            item["seance_length"] = service.length_for(staff_id)
        elif salon.location.lengths_form != "staff_only":
            item["seance_length"] = service.length if salon.location.lengths_form == "always" else 0
        services.append(item)
    listed = {item["category_id"] for item in services}
    categories = [
        {"id": c.id, "title": c.title, "gender": 0, "api_id": "0", "weight": c.weight}
        for c in salon.categories
        if c.id in listed
    ]
    data: Json = {"events": [], "services": services}
    form = salon.location.services_form
    if form == "yclients":
        for item in [*services, *categories]:
            item["sex"] = item.pop("gender")
            if "active" in item:
                item["active"] = 0
    if form in ("category", "both", "yclients"):
        data["category"] = categories
    if form in ("categories", "both"):
        data["categories"] = categories
    return ok(data)


def book_staff(state: SalonState, salon: Salon, params: httpx.QueryParams) -> Json:
    chosen = query_ids(params, "service_ids")
    instant = query_instant(params, "datetime", state.tz(salon))
    today = state.today(salon)
    members = []
    for member in state.eligible(salon, chosen):
        if instant is not None and not state.free_at(salon, member, chosen, instant):
            continue
        first = state.first_free_day(salon, member, chosen, today)
        item: Json = {
            "id": str(member.id),
            "api_id": None,
            "name": member.name,
            "specialization": member.specialization,
            "position": position(member),
            "position_id": member.position[0] if member.position else 0,
            "bookable": first is not None,
            "weight": member.weight,
            "show_rating": 1,
            "rating": rating(member),
            "votes_count": member.votes_count,
            "comments_count": member.comments_count,
            "avatar": AVATAR,
            "avatar_big": AVATAR_BIG,
            "information": member.information,
            "seances": [],
            "schedule_till": (today + timedelta(days=HORIZON_DAYS)).isoformat(),
            "fired": 0,
            "status": 0,
            "hidden": 0,
            "prepaid": "forbidden",
        }
        if first is not None:
            item["seance_date"] = first.isoformat()
        members.append(item)
    return ok(members, {"count": len(members)})


def _members(
    state: SalonState, salon: Salon, staff_segment: str, chosen: Sequence[int]
) -> list[StaffMember]:
    """Staff 0 means everyone who performs the chosen services; an unknown or removed id
    is a 404."""
    staff_id = path_int(staff_segment)
    eligible = state.eligible(salon, chosen)
    if staff_id == 0:
        return eligible
    if all(m.id != staff_id for m in state.present(salon)):
        not_found()
    return [m for m in eligible if m.id == staff_id]


def _slot_items(state: SalonState, salon: Salon, slots: list[tuple[datetime, int]]) -> list[Json]:
    tz = state.tz(salon)
    return [
        {
            "time": start.astimezone(tz).strftime("%H:%M"),
            "seance_length": length,
            "sum_length": length,
            "datetime": iso(start, tz),
        }
        for start, length in slots
    ]


def book_staff_seances(
    state: SalonState, salon: Salon, staff_segment: str, params: httpx.QueryParams
) -> Json:
    """The nearest day with free times and its times, in the location's `seances_form`."""
    chosen = query_ids(params, "service_ids")
    members = _members(state, salon, staff_segment, chosen)
    form = salon.location.seances_form
    since = state.today(salon)
    instant = query_instant(params, "datetime", state.tz(salon))
    if instant is not None and form != "no_datetime":
        since = max(since, instant.astimezone(state.tz(salon)).date())
    for offset in range(HORIZON_DAYS):
        day = since + timedelta(days=offset)
        slots = state.day_slots(salon, members, chosen, day)
        if slots:
            items = [] if form == "date_only" else _slot_items(state, salon, slots)
            return ok({"seance_date": day.isoformat(), "seances": items})
    return ok({"seance_date": None, "seances": []} if form == "full" else [])


def book_dates(state: SalonState, salon: Salon, params: httpx.QueryParams) -> Json:
    chosen = query_ids(params, "service_ids")
    staff_id = query_int(params, "staff_id")
    if staff_id in state.removed and any(m.id == staff_id for m in salon.staff):
        not_found()
    members = [m for m in state.eligible(salon, chosen) if staff_id in (0, m.id)]
    first, last = _date_range(state, salon, params)
    working: list[date] = []
    booking: list[date] = []
    day = first
    while day <= last:
        if any(day.weekday() in m.schedule for m in members):
            working.append(day)
            if state.day_slots(salon, members, chosen, day):
                booking.append(day)
        day += timedelta(days=1)
    return ok(
        {
            "booking_days": by_month(booking),
            "booking_dates": [d.isoformat() for d in booking],
            "working_days": by_month(working),
            "working_dates": [d.isoformat() for d in working],
        }
    )


def _date_range(state: SalonState, salon: Salon, params: httpx.QueryParams) -> tuple[date, date]:
    date_from, date_to = params.get("date_from"), params.get("date_to")
    try:
        if date_from and date_to:
            first, last = date.fromisoformat(date_from[:10]), date.fromisoformat(date_to[:10])
        elif month := params.get("date"):
            first = date.fromisoformat(month[:10]).replace(day=1)
            last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        else:
            first = state.today(salon)
            last = first + timedelta(days=DEFAULT_DATES_DAYS)
    except ValueError:
        fail(422, "Invalid date")
    return first, min(last, first + timedelta(days=MAX_DATES_DAYS))


def book_times(
    state: SalonState, salon: Salon, staff_segment: str, day_segment: str, params: httpx.QueryParams
) -> Json:
    chosen = query_ids(params, "service_ids")
    members = _members(state, salon, staff_segment, chosen)
    try:
        day = date.fromisoformat(day_segment)
    except ValueError:
        not_found()
    return ok(_slot_items(state, salon, state.day_slots(salon, members, chosen, day)))
