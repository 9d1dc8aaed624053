"""Group events ("activities"), as Altegio's endpoints show and book them: `activity/{id}/search`,
`search_dates`, `search_dates_range`, `filters` and `POST activity/{id}/{event}/book`.

The studio's weekly classes (`activity_seed`) become events for this week and the next few,
relative to the sandbox's clock, made once per sandbox on the first request. An event's
`records_count` is its seed count plus the seats of the records booked into it and not
cancelled, so a cancel through `user/records` frees its seats. A location without events
answers empty lists and a null range. Where the reference lists variants, the location's
`activity_form` ("alt": `company_id` and an ISO `date`; "yc": `salon_id`, `date` as
"YYYY-MM-DD HH:MM:SS" and `timestamp`) and `activity_dates_form` (`search_dates`' undocumented
body) choose; a full event is a 422 with `activity_full_code` in `meta.errors` (0: the
sentence in `meta.message` only, as is every refusal where `error_form` is "message").
"""

from __future__ import annotations

import secrets
import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx

from standins.altegio.activity_seed import FULL_FIRST, SANDBOX_STUDIO_ID, WEEKLY_CLASSES, WEEKS
from standins.altegio.booking_endpoints import client_checks
from standins.altegio.salon import Record, SalonState
from standins.altegio.seed import Salon, Service, StaffMember
from standins.altegio.wire import (
    AVATAR,
    Json,
    as_int,
    fail,
    iso,
    json_body,
    not_found,
    ok,
    path_int,
    position,
    preset_hours,
    query_ids,
    query_int,
    rating,
    salon_at,
    text_of,
    wall,
    words,
)


@dataclass
class Event:
    id: int
    company_id: int
    service_id: int
    staff_id: int
    start: datetime  # UTC
    length: int
    capacity: int
    seeded: int  # seats taken when the sandbox started


_EVENTS: weakref.WeakKeyDictionary[SalonState, dict[int, Event]] = weakref.WeakKeyDictionary()


def events(state: SalonState) -> dict[int, Event]:
    """Every location's events, made on first use from the weekly classes."""
    made = _EVENTS.get(state)
    if made is None:
        made = _EVENTS[state] = _make(state)
    return made


def _make(state: SalonState) -> dict[int, Event]:
    made: dict[int, Event] = {}
    now = state.now()
    full_given = False
    for salon in state.salons.values():
        if salon.location.id != SANDBOX_STUDIO_ID:
            continue  # the weekly classes are the studio's
        tz = state.tz(salon)
        today = now.astimezone(tz).date()
        monday = today - timedelta(days=today.weekday())
        services = {s.id: s for s in salon.services}
        for offset in range(7 * WEEKS):
            day = monday + timedelta(days=offset)
            for index, weekly in enumerate(WEEKLY_CLASSES):
                if weekly.weekday != day.weekday():
                    continue
                start = datetime.combine(day, weekly.at, tzinfo=tz).astimezone(UTC)
                seeded = (day.day + 3 * index) % max(1, weekly.capacity - 3)
                if weekly.service_id == FULL_FIRST and start > now and not full_given:
                    seeded, full_given = weekly.capacity, True
                ident = (day.toordinal() - 700_000) * 10 + index
                made[ident] = Event(
                    ident,
                    salon.location.id,
                    weekly.service_id,
                    weekly.staff_id,
                    start,
                    services[weekly.service_id].length,
                    weekly.capacity,
                    seeded,
                )
    return made


def taken(state: SalonState, event: Event) -> int:
    booked = sum(
        r.clients_count
        for r in state.records.values()
        if r.activity_id == event.id and not r.deleted
    )
    return event.seeded + booked


def _of(state: SalonState, salon: Salon) -> list[Event]:
    return sorted(
        (e for e in events(state).values() if e.company_id == salon.location.id),
        key=lambda e: (e.start, e.id),
    )


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        fail(422, "Invalid date")


def _filtered(state: SalonState, salon: Salon, params: httpx.QueryParams) -> list[Event]:
    """Events in `from`..`till` (local days, both included) matching the filters given, in
    the current form (`service_ids[]`, `staff_ids[]`) or the older one (`service_id`,
    `staff_id`)."""
    tz = state.tz(salon)
    first, last = _day(params.get("from")), _day(params.get("till"))
    services = set(query_ids(params, "service_ids")) | ({query_int(params, "service_id")} - {0})
    staff = set(query_ids(params, "staff_ids")) | ({query_int(params, "staff_id")} - {0})
    found = []
    for event in _of(state, salon):
        day = event.start.astimezone(tz).date()
        if (first and day < first) or (last and day > last):
            continue
        if (services and event.service_id not in services) or (
            staff and event.staff_id not in staff
        ):
            continue
        found.append(event)
    return found


def _service(salon: Salon, service_id: int) -> Service:
    return next(s for s in salon.services if s.id == service_id)


def _member(salon: Salon, staff_id: int) -> StaffMember:
    return next(m for m in salon.staff if m.id == staff_id)


def _view(state: SalonState, salon: Salon, event: Event) -> Json:
    tz = state.tz(salon)
    loc = salon.location
    service = _service(salon, event.service_id)
    member = _member(salon, event.staff_id)
    category = next(c for c in salon.categories if c.id == service.category_id)
    item: Json = {
        "id": event.id,
        "service_id": event.service_id,
        "staff_id": event.staff_id,
        "length": event.length,
        "capacity": event.capacity,
        "records_count": taken(state, event),
        "color": "#7cb342",
        "font_color": "#ffffff",
        "instructions": "",
        "stream_link": "",
        "notified": False,
        "prepaid": "forbidden",
        "service": {
            "id": service.id,
            "category_id": service.category_id,
            "title": service.title,
            "price_min": service.price_min,
            "price_max": service.price_max,
            "comment": service.comment,
            "image_url": "",
            "salon_service_id": service.id,
            "prepaid": "forbidden",
            "category": {"id": category.id, "category_id": 0, "title": category.title},
        },
        "staff": {
            "id": member.id,
            "api_id": None,
            "name": member.name,
            "company_id": loc.id,
            "specialization": member.specialization,
            "rating": rating(member),
            "show_rating": 1,
            "avatar": AVATAR,
            "avatar_big": AVATAR,
            "comments_count": member.comments_count,
            "votes_count": member.votes_count,
            "average_score": member.rating,
            "prepaid": "forbidden",
            "position": position(member),
        },
        "resource_instances": [],
        "labels": [],
    }
    if loc.activity_form == "yc":
        item["salon_id"] = loc.id
        item["date"] = wall(event.start, tz)
        item["timestamp"] = int(event.start.timestamp())
    else:
        item["company_id"] = loc.id
        item["date"] = iso(event.start, tz)
    return item


def search(state: SalonState, salon: Salon, params: httpx.QueryParams) -> Json:
    found = _filtered(state, salon, params)
    count = as_int(params.get("count")) or 25
    page = max(1, as_int(params.get("page")) or 1)
    chunk = found[(page - 1) * count : page * count]
    return ok([_view(state, salon, e) for e in chunk], {"count": len(found)})


def search_dates(state: SalonState, salon: Salon, params: httpx.QueryParams) -> Json:
    tz = state.tz(salon)
    days: dict[str, int] = {}
    for event in _filtered(state, salon, params):
        key = event.start.astimezone(tz).date().isoformat()
        days[key] = days.get(key, 0) + 1
    form = salon.location.activity_dates_form
    if form == "objects":
        return ok([{"date": d, "count": n} for d, n in days.items()])
    if form == "keyed":
        return ok({"dates": list(days)})
    return ok(list(days))


def search_dates_range(state: SalonState, salon: Salon) -> Json:
    found = _of(state, salon)
    if not found:
        return ok({"min_date": None, "max_date": None})
    tz = state.tz(salon)
    return ok(
        {
            "min_date": found[0].start.astimezone(tz).date().isoformat(),
            "max_date": found[-1].start.astimezone(tz).date().isoformat(),
        }
    )


def filters(state: SalonState, salon: Salon, params: httpx.QueryParams) -> Json:
    """The facets; a value is disabled where no event matches it with the other filters."""
    found = _of(state, salon)
    matching = _filtered(state, salon, params)
    staff = {e.staff_id for e in found}
    services = {e.service_id for e in found}
    categories = {_service(salon, s).category_id for s in services}

    def facet(code: str, title: str, items: list[tuple[int, str]], ids: set[int]) -> Json:
        return {
            "code": code,
            "title": title,
            "data": [{"id": i, "title": t, "is_disabled": i not in ids} for i, t in items],
        }

    data = [
        facet(
            "staff",
            "Team member",
            [(m.id, m.name) for m in salon.staff if m.id in staff],
            {e.staff_id for e in matching},
        ),
        facet("resource", "Resource", [], set()),
        facet(
            "service",
            "Service",
            [(s.id, s.title) for s in salon.services if s.id in services],
            {e.service_id for e in matching},
        ),
        facet(
            "service_category",
            "Service category",
            [(c.id, c.title) for c in salon.categories if c.id in categories],
            {_service(salon, e.service_id).category_id for e in matching},
        ),
    ]
    return ok(data, {"count": len(data)})


def book(state: SalonState, salon: Salon, segment: str, body: Json) -> Json:
    """A seat (or `clients_count` seats) in an event: the client checks of `book_record`, then
    the capacity. Answers 200 with the new record's `id` and `hash`."""
    loc = salon.location
    event = events(state).get(path_int(segment))
    if event is None or event.company_id != loc.id:
        not_found()
    phone, fullname = client_checks(state, salon, body)
    seats = as_int(body.get("clients_count"))
    seats = 1 if body.get("clients_count") is None else seats
    if seats is None or seats < 1:
        fail(422, words(loc, "Invalid number of clients", "Неверное количество клиентов"))
    now = state.now()
    if event.start <= now:
        fail(422, words(loc, "The event has already started", "Событие уже началось"))
    if taken(state, event) + seats > event.capacity:
        message = words(
            loc, "There are not enough free places for this event", "Недостаточно свободных мест"
        )
        if loc.activity_full_code and loc.error_form != "message":
            fail(422, message, [{"code": loc.activity_full_code, "message": message}])
        fail(422, message)
    api_id = body.get("api_id")
    record = Record(
        record_id=state.new_record_id(),
        company_id=loc.id,
        staff_id=event.staff_id,
        service_ids=[event.service_id],
        start=event.start,
        length=event.length,
        phone=phone,
        fullname=fullname,
        email=text_of(body.get("email")),
        comment=text_of(body.get("comment")),
        master_requested=True,
        hash=secrets.token_hex(16),
        api_id="" if api_id is None else str(api_id),
        notify_by_sms=preset_hours(body.get("notify_by_sms"), loc.default_notify_by_sms),
        notify_by_email=preset_hours(body.get("notify_by_email"), loc.default_notify_by_email),
        create_date=now,
        last_change_date=now,
        activity_id=event.id,
        clients_count=seats,
    )
    state.records[record.record_id] = record
    return ok({"id": record.record_id, "hash": record.hash})


def route(state: SalonState, request: httpx.Request, cid: str, rest: list[str]) -> tuple[int, Json]:
    """`activity/{cid}/...`: the endpoint the rest of the path names."""
    salon = salon_at(state, cid)
    params = request.url.params
    match request.method.upper(), rest:
        case "GET", ["search"]:
            return 200, search(state, salon, params)
        case "GET", ["search_dates"]:
            return 200, search_dates(state, salon, params)
        case "GET", ["search_dates_range"]:
            return 200, search_dates_range(state, salon)
        case "GET", ["filters"]:
            return 200, filters(state, salon, params)
        case "POST", [event_id, "book"]:
            return 200, book(state, salon, event_id, json_body(request))
    not_found()
