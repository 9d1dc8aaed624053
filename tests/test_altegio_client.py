"""The Altegio client against hand-written wire bodies: every variant the API reference lists.

Altegio is faked only at the wire (`httpx.MockTransport`); time is a fake clock, so retries,
back-off and the rate limiter run instantly and their waits can be read back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.altegio import errors
from bot.altegio.booking_calls import Appointment, NewBooking
from bot.altegio.client import AltegioClient
from bot.altegio.limiter import NORMAL, URGENT, RateLimiter
from bot.altegio.models import Facts, Rules, Slot

COMPANY_ID = 1001
TOKEN = "tok"
WARSAW = ZoneInfo("Europe/Warsaw")
BELGRADE = ZoneInfo("Europe/Belgrade")
TOKYO = ZoneInfo("Asia/Tokyo")
DAY = date(2026, 6, 15)
RECORD_HASH = "567df655304da9b98487769426d4e76e"

COMPANY = {
    "id": COMPANY_ID,
    "title": "Demo Studio",
    "city": "Warsaw",
    "timezone_name": "Europe/Warsaw",
    "address": "ul. Przykładowa 1",
    "phone_confirmation": True,
    "active_staff_count": 2,
    "next_slot": "2026-06-15T10:00:00+02:00",
    "main_group_id": 0,
    "payment_policy": {"type": "none"},
}

RECORD = {
    "id": 2820023,
    "services": [
        {
            "id": 10001,
            "title": "Women's haircut",
            "cost": 50,
            "price_min": 40,
            "price_max": 60,
            "discount": 0,
            "amount": 1,
            "seance_length": 3600,
        }
    ],
    "company": {
        "id": COMPANY_ID,
        "title": "Demo Studio",
        "timezone": "2",
        "allow_change_record_delay_step": 7200,
    },
    "staff": {
        "id": 2001,
        "name": "Anna",
        "specialization": "Stylist",
        "position": {"id": 11, "title": "Senior stylist"},
    },
    "clients_count": 1,
    "date": "2026-06-15 12:00:00",
    "datetime": "2026-06-15T12:00:00+0200",
    "create_date": "2026-06-01T09:12:44+0200",
    "comment": "",
    "deleted": False,
    "attendance": 0,
    "length": 3600,
    "notify_by_sms": 2,
    "notify_by_email": 0,
    "master_requested": True,
    "online": True,
    "api_id": "",
    "last_change_date": "2026-06-01T09:12:44+0200",
    "prepaid": False,
    "prepaid_confirmed": False,
    "activity_id": 0,
}

CREATED = [{"id": 1, "record_id": 2820023, "record_hash": RECORD_HASH}]


# --- the wire ------------------------------------------------------------------------------


Reply = Callable[[httpx.Request], httpx.Response] | type[httpx.TransportError]


def ok(data: Any = None, *, meta: Any = None, status: int = 200) -> Reply:
    """A v2 envelope, as Altegio sends it with the `Accept: ...v2+json` header."""
    body = {"success": True, "data": data, "meta": [] if meta is None else meta}
    return answer(status, body)


def fail(status: int, meta: Any = None, **extra: Any) -> Reply:
    body = {"success": False, "data": None, "meta": [] if meta is None else meta, **extra}
    return answer(status, body)


def answer(
    status: int,
    body: Any = None,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    def reply(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(status, content=content, headers=headers)
        if body is None:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return reply


def rejected(status: int, *items: dict[str, Any], message: str = "An error has occurred") -> Reply:
    return fail(status, {"message": message, "errors": list(items)})


class Wire:
    """Altegio as a table of routes; a route gives its replies in turn, then its last forever."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[httpx.Request] = []
        self.gate: asyncio.Event | None = None
        self.on_request: Callable[[httpx.Request], None] | None = None

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, f"/api/v1/{path}")] = list(replies)

    def seen(self, path: str, method: str | None = None) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if r.url.path == f"/api/v1/{path}" and (method is None or r.method == method)
        ]

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.on_request is not None:
            self.on_request(request)
        # Let concurrent callers reach the client while this answer is "on the wire".
        await asyncio.sleep(0)
        if self.gate is not None:
            await self.gate.wait()
        replies = self.routes.get((request.method, request.url.path))
        assert replies, f"unexpected {request.method} {request.url}"
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if isinstance(reply, type):
            raise reply("simulated", request=request)
        return reply(request)


@dataclass
class FakeTime:
    """Monotonic time that moves only when told to, or when the code under test sleeps."""

    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def ticks() -> FakeTime:
    return FakeTime()


MakeClient = Callable[..., AltegioClient]


@pytest.fixture
async def make_client(wire: Wire, ticks: FakeTime) -> AsyncIterator[MakeClient]:
    made: list[AltegioClient] = []

    def make(**options: Any) -> AltegioClient:
        settings: dict[str, Any] = {
            "partner_token": TOKEN,
            "company_id": COMPANY_ID,
            "transport": httpx.MockTransport(wire.handler),
            "sleep": ticks.sleep,
            "monotonic": ticks.monotonic,
            "jitter": lambda: 0.5,
        }
        settings.update(options)
        client = AltegioClient(**settings)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def client(make_client: MakeClient) -> AltegioClient:
    return make_client()


def sent_json(request: httpx.Request) -> Any:
    return json.loads(request.content)


def booking(*appointments: Appointment, code: str | None = None) -> NewBooking:
    return NewBooking(
        phone="+48600000000",
        fullname="Jan Kowalski",
        appointments=appointments or (Appointment(1, (10001,), 2001, "2026-06-15T12:00:00+02:00"),),
        code=code,
    )


# --- envelope and bodies -------------------------------------------------------------------


@pytest.mark.parametrize(
    "meta", [[], {}, {"count": 2}, {"message": "Created"}, {"message": "Accepted"}]
)
async def test_meta_as_list_or_object_is_accepted(
    client: AltegioClient, wire: Wire, meta: Any
) -> None:
    wire.on(
        "GET",
        f"book_staff/{COMPANY_ID}",
        ok([{"id": 2001, "name": "Anna"}, {"id": 2002, "name": "Marko"}], meta=meta),
    )

    staff = await client.staff([10001])

    assert [s.name for s in staff] == ["Anna", "Marko"]


async def test_bare_record_body_is_its_own_data(client: AltegioClient, wire: Wire) -> None:
    # GET book_record is documented without the envelope.
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on("GET", f"book_record/{COMPANY_ID}/2820023/{RECORD_HASH}", answer(200, RECORD))

    record = await client.record(2820023, RECORD_HASH)

    assert record.id == 2820023
    assert record.start == datetime(2026, 6, 15, 12, 0, tzinfo=WARSAW)
    assert record.staff_name == "Anna"
    assert [(s.id, s.cost) for s in record.services] == [(10001, Decimal(50))]


async def test_enveloped_record_body_is_unwrapped(client: AltegioClient, wire: Wire) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on("GET", f"book_record/{COMPANY_ID}/2820023/{RECORD_HASH}", ok(RECORD))

    record = await client.record(2820023, RECORD_HASH)

    assert record.id == 2820023
    assert record.length == 3600
    assert record.end == datetime(2026, 6, 15, 13, 0, tzinfo=WARSAW)


@pytest.mark.parametrize(
    "reply",
    [
        answer(201),
        answer(201, content=b"  \n"),
        answer(201, {"success": True, "meta": {"message": "Created"}}),
        ok(None, meta={"message": "Created"}, status=201),
        ok(None, status=200),
    ],
    ids=["empty", "blank", "no-data", "data-null", "200"],
)
async def test_send_code_and_check_accept_every_documented_success(
    client: AltegioClient, wire: Wire, reply: Reply
) -> None:
    wire.on("POST", f"book_code/{COMPANY_ID}", reply)
    wire.on("POST", f"book_check/{COMPANY_ID}", reply)

    await client.send_code("+48600000000", "Jan")
    await client.check([Appointment(1, (10001,), 2001, "2026-06-15T12:00:00+02:00")])

    assert sent_json(wire.seen(f"book_code/{COMPANY_ID}")[0]) == {
        "phone": "+48600000000",
        "fullname": "Jan",
    }
    assert sent_json(wire.seen(f"book_check/{COMPANY_ID}")[0]) == {
        "appointments": [
            {
                "id": 1,
                "services": [10001],
                "staff_id": 2001,
                "datetime": "2026-06-15T12:00:00+02:00",
            }
        ]
    }


@pytest.mark.parametrize(
    "reply",
    [
        ok(CREATED, status=201),
        answer(201, CREATED),
        ok(
            [{"id": "1", "record_id": "2820023", "record_hash": RECORD_HASH}],
            meta={"message": "Created"},
            status=201,
        ),
    ],
    ids=["enveloped", "bare", "string-ids"],
)
async def test_book_returns_the_created_records(
    client: AltegioClient, wire: Wire, reply: Reply
) -> None:
    wire.on("POST", f"book_record/{COMPANY_ID}", reply)

    created = await client.book(booking())

    assert [(c.appointment_id, c.record_id, c.record_hash) for c in created] == [
        (1, 2820023, RECORD_HASH)
    ]


async def test_book_answered_without_records_is_an_unknown_outcome(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on(
        "POST",
        f"book_record/{COMPANY_ID}",
        answer(201, {"success": True, "meta": {"message": "Created"}}),
    )

    # Altegio said yes without naming the record: it probably exists, so never book again blindly.
    with pytest.raises(errors.OutcomeUnknown):
        await client.book(booking())


# --- catalogue and staff -------------------------------------------------------------------


async def test_catalogue_in_altegio_shape(client: AltegioClient, wire: Wire) -> None:
    wire.on(
        "GET",
        f"book_services/{COMPANY_ID}",
        ok(
            {
                "events": [],
                "services": [
                    {
                        "id": 10002,
                        "title": "Manicure",
                        "category_id": 502,
                        "price_min": 30,
                        "price_max": 30,
                        "discount": 0,
                        "comment": "",
                        "weight": 5,
                        "active": 1,
                        "gender": 0,
                        "image": "",
                        "prepaid": "forbidden",
                        "seance_length": 2700,
                    },
                    {
                        "id": 10001,
                        "title": "Women's haircut",
                        "category_id": 501,
                        "price_min": 40,
                        "price_max": 60,
                        "discount": 0,
                        "comment": "Wash included",
                        "weight": 10,
                        "active": 1,
                        "gender": 0,
                        "image": "",
                        "prepaid": "forbidden",
                        "seance_length": 3600,
                    },
                ],
                "category": [
                    {"id": 502, "title": "Nails", "gender": 0, "api_id": "0", "weight": 7},
                    {"id": 501, "title": "Hair", "gender": 0, "api_id": "0", "weight": 60},
                ],
            }
        ),
    )

    catalogue = await client.catalogue()

    # Altegio's weight orders them: higher first.
    assert [s.id for s in catalogue.services] == [10001, 10002]
    assert [c.title for c in catalogue.categories] == ["Hair", "Nails"]
    haircut = catalogue.service(10001)
    assert haircut is not None
    assert (haircut.price_min, haircut.price_max, haircut.duration) == (
        Decimal(40),
        Decimal(60),
        3600,
    )
    assert haircut.comment == "Wash included"
    assert [s.id for s in catalogue.in_category(502)] == [10002]


async def test_catalogue_in_yclients_shape_with_strings(client: AltegioClient, wire: Wire) -> None:
    wire.on(
        "GET",
        f"book_services/{COMPANY_ID}",
        ok(
            {
                "events": [],
                "services": [
                    {
                        "id": "16",
                        "title": "Colour",
                        "category_id": "3",
                        "price_min": "1500.50",
                        "price_max": "2000",
                        "weight": "2",
                        "sex": 0,
                        "seance_length": "5400",
                    },
                    # No `seance_length`: Altegio fills it only when filtered by staff.
                    {"id": 17, "title": "Beard trim", "category_id": 4, "sex": 1, "price_min": 20},
                ],
                "category": [],
                "categories": [
                    {"id": "3", "title": "Colouring", "sex": 0, "api_id": "", "weight": "9"},
                    {"id": 4, "title": "Barber", "sex": 1, "api_id": 7, "weight": 1},
                ],
            }
        ),
    )

    catalogue = await client.catalogue()

    colour = catalogue.service(16)
    assert colour is not None
    assert colour.category_id == 3
    assert (colour.price_min, colour.price_max) == (Decimal("1500.50"), Decimal(2000))
    assert colour.duration == 5400
    trim = catalogue.service(17)
    assert trim is not None
    assert trim.duration is None
    assert trim.price_min == trim.price_max == Decimal(20)
    assert [(c.id, c.title) for c in catalogue.categories] == [(3, "Colouring"), (4, "Barber")]


async def test_catalogue_of_one_team_member_asks_for_it(client: AltegioClient, wire: Wire) -> None:
    wire.on(
        "GET",
        f"book_services/{COMPANY_ID}",
        ok({"services": [{"id": 1, "title": "Cut", "seance_length": 1800}], "category": []}),
    )

    await client.catalogue(staff_id=2001)
    await client.catalogue()

    sent = wire.seen(f"book_services/{COMPANY_ID}")
    assert [r.url.params.get("staff_id") for r in sent] == ["2001", None]


async def test_staff_with_strings_positions_and_api_ids(client: AltegioClient, wire: Wire) -> None:
    wire.on(
        "GET",
        f"book_staff/{COMPANY_ID}",
        ok(
            [
                {
                    "id": "16",
                    "name": "Olga",
                    "specialization": "Colourist",
                    "position": [],
                    "bookable": True,
                    "weight": "3",
                    "show_rating": "1",
                    "rating": "3",
                    "api_id": "0",
                    "seance_date": "2026-06-16",
                },
                {
                    "id": 2001,
                    "name": "Anna",
                    "specialization": "Stylist",
                    "position": {"id": 11, "title": "Senior stylist"},
                    "bookable": True,
                    "weight": 11,
                    "show_rating": 1,
                    "rating": 4.9,
                    "api_id": "",
                    "seance_date": "2026-06-15",
                    "seances": [],
                },
                {
                    "id": 2002,
                    "name": "Marko",
                    "specialization": "Nail artist",
                    "position": [],
                    "bookable": False,
                    "weight": 8,
                    "show_rating": 0,
                    "rating": 4.5,
                    "api_id": 42,
                },
            ]
        ),
    )

    staff = await client.staff([10001, 10002])

    assert [s.id for s in staff] == [2001, 2002, 16]
    anna, marko, olga = staff
    assert (anna.position, anna.rating, anna.nearest_date) == (
        "Senior stylist",
        Decimal("4.9"),
        date(2026, 6, 15),
    )
    assert (marko.bookable, marko.rating, marko.nearest_date) == (False, None, None)
    assert (olga.position, olga.rating, olga.specialization) == ("", Decimal(3), "Colourist")
    assert wire.requests[0].url.params.get_list("service_ids[]") == ["10001", "10002"]


# --- bookable dates ------------------------------------------------------------------------


def _midnight_utc(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


async def test_dates_sends_the_range_and_reads_booking_dates(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on(
        "GET",
        f"book_dates/{COMPANY_ID}",
        ok(
            {
                "booking_days": {"6": [15, 16, 18]},
                "booking_dates": ["2026-06-18", "2026-06-15", "2026-06-16"],
                "working_days": [],
                "working_dates": [],
            }
        ),
    )

    found = await client.dates([10001, 10002], 2001, date(2026, 6, 15), date(2026, 7, 15))

    assert found.booking_dates == (date(2026, 6, 15), date(2026, 6, 16), date(2026, 6, 18))
    assert found.working_dates == ()
    params = wire.requests[0].url.params
    assert params.get_list("service_ids[]") == ["10001", "10002"]
    assert params["staff_id"] == "2001"
    assert (params["date_from"], params["date_to"]) == ("2026-06-15", "2026-07-15")


async def test_dates_as_unix_timestamps(client: AltegioClient, wire: Wire) -> None:
    days = [date(2026, 6, 15), date(2026, 6, 17)]
    wire.on(
        "GET",
        f"book_dates/{COMPANY_ID}",
        ok(
            {
                "booking_dates": [_midnight_utc(d) for d in days],
                "working_dates": [str(_midnight_utc(d)) for d in days],
                "working_days": {"6": ["15", "17"]},
                "booking_days": {"6": [15, 17]},
            }
        ),
    )

    found = await client.dates([10001], 0, date(2026, 6, 1), date(2026, 6, 30))

    assert found.booking_dates == tuple(days)
    assert found.working_dates == tuple(days)


@pytest.mark.parametrize("days", [[15, 16], ["15", "16"]], ids=["int-days", "string-days"])
async def test_dates_from_month_map_take_the_year_of_the_request(
    client: AltegioClient, wire: Wire, days: list[Any]
) -> None:
    wire.on(
        "GET",
        f"book_dates/{COMPANY_ID}",
        ok({"booking_days": {"6": days}, "working_days": []}),
    )

    found = await client.dates([10001], 0, date(2026, 6, 1), date(2026, 6, 30))

    assert found.booking_dates == (date(2026, 6, 15), date(2026, 6, 16))
    assert found.working_dates == ()


async def test_dates_from_month_map_across_new_year(client: AltegioClient, wire: Wire) -> None:
    wire.on(
        "GET",
        f"book_dates/{COMPANY_ID}",
        ok({"booking_days": {"12": [30], "1": ["5"]}, "working_days": []}),
    )

    found = await client.dates([10001], 0, date(2026, 12, 20), date(2027, 1, 19))

    assert found.booking_dates == (date(2026, 12, 30), date(2027, 1, 5))


# --- free times ----------------------------------------------------------------------------


NOON_WARSAW = datetime(2026, 6, 15, 12, 0, tzinfo=WARSAW)


@pytest.mark.parametrize(
    "value",
    [
        "2026-06-15T12:00:00+02:00",
        "2026-06-15T12:00:00+0200",
        "2026-06-15T12:00:00",
        "2026-06-15 12:00:00",
        "2026-06-15T10:00:00Z",
        "2026-06-15T12:00:00.000+02:00",
    ],
)
async def test_slot_datetime_formats(client: AltegioClient, wire: Wire, value: str) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on(
        "GET",
        f"book_times/{COMPANY_ID}/2001/2026-06-15",
        ok([{"time": "12:00", "seance_length": 3600, "sum_length": 5400, "datetime": value}]),
    )

    slots = await client.times(2001, DAY, [10001])

    assert [(s.start, s.raw, s.length) for s in slots] == [(NOON_WARSAW, value, 5400)]


@pytest.mark.parametrize("value", [int(NOON_WARSAW.timestamp()), str(int(NOON_WARSAW.timestamp()))])
async def test_slot_datetime_as_unix_time(
    client: AltegioClient, wire: Wire, value: int | str
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on(
        "GET",
        f"book_times/{COMPANY_ID}/2001/2026-06-15",
        ok([{"time": "12:00", "seance_length": 3600, "datetime": value}]),
    )

    slots = await client.times(2001, DAY, [10001])

    assert [s.start for s in slots] == [NOON_WARSAW]
    assert slots[0].start.utcoffset() == timedelta(hours=2)
    if isinstance(value, str):
        assert slots[0].raw == value
    else:
        # A bare number has no wording to echo; what is sent back names the same instant.
        assert datetime.fromisoformat(slots[0].raw) == NOON_WARSAW


async def test_slot_without_datetime_is_built_from_the_day_and_time(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on(
        "GET",
        f"book_times/{COMPANY_ID}/2001/2026-06-15",
        ok([{"time": "12:00", "seance_length": 3600}]),
    )

    slots = await client.times(2001, DAY, [10001])

    assert [s.start for s in slots] == [NOON_WARSAW]
    assert datetime.fromisoformat(slots[0].raw) == NOON_WARSAW


async def test_duplicate_slots_are_offered_once_in_order(client: AltegioClient, wire: Wire) -> None:
    # A staff-0 union, or the same instant written twice.
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on(
        "GET",
        f"book_times/{COMPANY_ID}/0/2026-06-15",
        ok(
            [
                {"time": "13:00", "seance_length": 3600, "datetime": "2026-06-15T13:00:00+02:00"},
                {"time": "12:00", "seance_length": 3600, "datetime": "2026-06-15T12:00:00+02:00"},
                {"time": "12:00", "seance_length": 3600, "datetime": "2026-06-15T12:00:00+02:00"},
                {"time": "12:00", "seance_length": 3600, "datetime": "2026-06-15T12:00:00+0200"},
                {"time": "13:00", "seance_length": 3600, "datetime": "2026-06-15T11:00:00Z"},
            ]
        ),
    )

    slots = await client.times(0, DAY, [10001])

    assert [s.start for s in slots] == [NOON_WARSAW, NOON_WARSAW + timedelta(hours=1)]
    assert slots[0].raw == "2026-06-15T12:00:00+02:00"


async def test_slots_of_other_days_are_left_out(client: AltegioClient, wire: Wire) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on(
        "GET",
        f"book_times/{COMPANY_ID}/2001/2026-06-15",
        ok(
            [
                {"time": "12:00", "datetime": "2026-06-15T12:00:00+02:00"},
                {"time": "12:00", "datetime": "2026-06-16T12:00:00+02:00"},
            ]
        ),
    )

    slots = await client.times(2001, DAY, [10001])

    assert [s.start for s in slots] == [NOON_WARSAW]


async def test_utc_slot_early_in_the_salon_day_is_kept(client: AltegioClient, wire: Wire) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok({**COMPANY, "timezone_name": "Asia/Tokyo"}))
    wire.on(
        "GET",
        f"book_times/{COMPANY_ID}/2001/2026-06-15",
        ok(
            [
                {"time": "08:00", "datetime": "2026-06-14T23:00:00Z"},
                {"time": "12:00", "datetime": "2026-06-15T03:00:00Z"},
            ]
        ),
    )

    slots = await client.times(2001, DAY, [10001])

    assert [s.start for s in slots] == [
        datetime(2026, 6, 15, 8, 0, tzinfo=TOKYO),
        datetime(2026, 6, 15, 12, 0, tzinfo=TOKYO),
    ]


@pytest.mark.parametrize(
    "value",
    ["2026-06-15T12:00:00+0200", "2026-06-15T12:00:00.000+02:00", "2026-06-15 12:00:00"],
)
async def test_slot_is_echoed_to_altegio_verbatim(
    client: AltegioClient, wire: Wire, value: str
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on(
        "GET",
        f"book_times/{COMPANY_ID}/2001/2026-06-15",
        ok([{"time": "12:00", "seance_length": 3600, "datetime": value}]),
    )
    wire.on("POST", f"book_check/{COMPANY_ID}", ok(None, meta={"message": "Created"}, status=201))
    wire.on("POST", f"book_record/{COMPANY_ID}", ok(CREATED, status=201))
    [slot] = await client.times(2001, DAY, [10001])
    appointment = Appointment(1, (10001,), 2001, slot.raw)

    await client.check([appointment])
    await client.book(booking(appointment, code="1754"))

    for path in (f"book_check/{COMPANY_ID}", f"book_record/{COMPANY_ID}"):
        [request] = wire.seen(path)
        assert f'"datetime": "{value}"'.encode() in request.content
        assert sent_json(request)["appointments"][0]["datetime"] == value
    body = sent_json(wire.seen(f"book_record/{COMPANY_ID}")[0])
    assert body["phone"] == "+48600000000"
    assert body["fullname"] == "Jan Kowalski"
    assert body["code"] == "1754"
    assert body["appointments"] == [
        {"id": 1, "services": [10001], "staff_id": 2001, "datetime": value}
    ]


async def test_booking_without_code_sends_no_code(client: AltegioClient, wire: Wire) -> None:
    wire.on("POST", f"book_record/{COMPANY_ID}", ok(CREATED, status=201))

    await client.book(booking())

    assert "code" not in sent_json(wire.requests[0])


# --- records -------------------------------------------------------------------------------


async def _record(client: AltegioClient, wire: Wire, company: Any, record: Any) -> Any:
    wire.on("GET", f"company/{COMPANY_ID}", ok(company))
    wire.on("GET", f"book_record/{COMPANY_ID}/2820023/{RECORD_HASH}", ok(record))
    return await client.record(2820023, RECORD_HASH)


async def test_record_with_offset_without_colon(client: AltegioClient, wire: Wire) -> None:
    without_date = {k: v for k, v in RECORD.items() if k != "date"}

    record = await _record(client, wire, COMPANY, without_date)

    assert record.start == NOON_WARSAW
    # Shown in the salon's zone, whatever offset Altegio wrote.
    assert record.start.tzinfo == WARSAW


async def test_record_with_utc_datetime_is_shown_in_the_salon_zone(
    client: AltegioClient, wire: Wire
) -> None:
    utc_only = {**RECORD, "datetime": "2026-06-15T10:00:00+0000"}
    del utc_only["date"]

    record = await _record(client, wire, COMPANY, utc_only)

    assert record.start == NOON_WARSAW
    assert record.start.hour == 12


@pytest.mark.parametrize(
    ("local", "wrong"),
    [
        ("2026-07-15 12:00:00", "2026-07-15T12:00:00+0100"),  # summer written as winter
        ("2026-01-15 12:00:00", "2026-01-15T12:00:00+02:00"),  # winter written as summer
    ],
)
async def test_record_trusts_the_local_date_over_a_wrong_offset(
    client: AltegioClient, wire: Wire, local: str, wrong: str
) -> None:
    company = {**COMPANY, "timezone_name": "Europe/Belgrade"}

    record = await _record(client, wire, company, {**RECORD, "date": local, "datetime": wrong})

    expected = datetime.fromisoformat(local).replace(tzinfo=BELGRADE)
    assert record.start == expected
    assert record.start.utcoffset() == expected.utcoffset()
    assert record.start.astimezone(UTC) == expected.astimezone(UTC)


@pytest.mark.parametrize(
    ("fields", "attendance"),
    [
        ({"attendance": 2}, 2),
        ({"attendance": -1}, -1),
        ({"attendance": "1"}, 1),
        ({"visit_attendance": 1}, 1),
        ({"visit_attendance": -1}, -1),
        ({}, 0),
    ],
)
async def test_record_attendance_under_either_name(
    client: AltegioClient, wire: Wire, fields: dict[str, Any], attendance: int
) -> None:
    base = {k: v for k, v in RECORD.items() if k != "attendance"}

    record = await _record(client, wire, COMPANY, {**base, **fields})

    assert record.attendance == attendance


@pytest.mark.parametrize(
    ("deleted", "expected"),
    [(True, True), (False, False), ("1", True), ("0", False), (1, True), (0, False)],
)
async def test_record_deleted_flag(
    client: AltegioClient, wire: Wire, deleted: Any, expected: bool
) -> None:
    record = await _record(client, wire, COMPANY, {**RECORD, "deleted": deleted})

    assert record.deleted is expected


async def test_unknown_record_is_not_found(client: AltegioClient, wire: Wire) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on("GET", f"book_record/{COMPANY_ID}/9/{RECORD_HASH}", fail(404))

    with pytest.raises(errors.NotFound):
        await client.record(9, RECORD_HASH)


async def test_record_answered_with_nothing_is_not_found(client: AltegioClient, wire: Wire) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on("GET", f"book_record/{COMPANY_ID}/9/{RECORD_HASH}", ok(None))

    with pytest.raises(errors.NotFound):
        await client.record(9, RECORD_HASH)


# --- the location --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "zone_name"),
    [
        ({"timezone_name": "Europe/Warsaw"}, "Europe/Warsaw"),
        ({"timezone": "Europe/Moscow"}, "Europe/Moscow"),
        ({"timezone_name": "America/New_York", "timezone": "-5"}, "America/New_York"),
        # A bare offset in hours, as record blocks (and some locations) give it: a fixed zone.
        ({"timezone": "2"}, "Etc/GMT-2"),
        ({"timezone": 2}, "Etc/GMT-2"),
        ({"timezone_name": "", "timezone": "-5"}, "Etc/GMT+5"),
        ({"timezone": "-5"}, "Etc/GMT+5"),
        ({"timezone": "+05:30"}, "Asia/Calcutta"),
        ({"timezone": "5.5"}, "Asia/Calcutta"),
        ({"timezone": "0"}, "Etc/GMT"),
        ({}, "UTC"),
    ],
)
async def test_company_timezone_variants(
    client: AltegioClient, wire: Wire, fields: dict[str, Any], zone_name: str
) -> None:
    body = {k: v for k, v in COMPANY.items() if k != "timezone_name"}
    wire.on("GET", f"company/{COMPANY_ID}", ok({**body, **fields}))

    company = await client.company()

    assert company.timezone == zone_name
    assert company.tz == ZoneInfo(zone_name)


async def test_company_with_a_region_instead_of_a_zone_falls_back(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok({**COMPANY, "timezone_name": "Europe"}))

    company = await client.company()

    assert company.timezone == "UTC"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("1", True), ("0", False), (1, True), (0, False), (None, False)],
)
async def test_company_phone_confirmation(
    client: AltegioClient, wire: Wire, value: Any, expected: bool
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok({**COMPANY, "phone_confirmation": value}))

    company = await client.company()

    assert company.phone_confirmation is expected


async def test_company_rules_as_strings(client: AltegioClient, wire: Wire) -> None:
    wire.on(
        "GET",
        f"company/{COMPANY_ID}",
        ok(
            {
                **COMPANY,
                "id": str(COMPANY_ID),
                "allow_change_record": "1",
                "allow_change_record_delay_step": "7200",
                "allow_delete_record": 0,
                "allow_delete_record_delay_step": "3600",
                "currency_short_title": "PLN",
                "phones": ["+48221234567"],
            }
        ),
    )

    company = await client.company()

    assert company.id == COMPANY_ID
    assert (company.rules.allow_change, company.rules.change_notice) == (True, 7200)
    assert (company.rules.allow_delete, company.rules.delete_notice) == (False, 3600)
    assert company.currency == "PLN"
    assert company.phone == "+48221234567"
    assert company.full_address == "ul. Przykładowa 1, Warsaw"


async def test_company_without_data_is_unexpected(client: AltegioClient, wire: Wire) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(None))

    with pytest.raises(errors.UnexpectedResponse):
        await client.company()


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        fail(401, {"message": "Authentication needed."}),
        fail(403, {"message": "Access denied."}),
        answer(401, {"errors": {"code": 401, "message": "Unauthorized"}}),
        answer(403, content=b"<html>Forbidden</html>"),
    ],
)
async def test_refused_token_is_an_auth_error(
    client: AltegioClient, wire: Wire, reply: Reply
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", reply)

    with pytest.raises(errors.AuthError):
        await client.company()
    # Retrying a refused token cannot help.
    assert len(wire.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [
        fail(404),
        fail(404, {}),
        answer(
            404, {"errors": {"code": 404, "message": "Not found"}, "meta": {"message": "Not found"}}
        ),
        answer(404),
    ],
    ids=["meta-list", "meta-object", "legacy", "empty"],
)
async def test_unknown_location_is_not_found(
    client: AltegioClient, wire: Wire, reply: Reply
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", reply)

    with pytest.raises(errors.NotFound):
        await client.company()


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (431, errors.InvalidPhone),
        (432, errors.WrongCode),
        (433, errors.SlotTaken),
        (435, errors.NameRequired),
        (436, errors.NoStaffAvailable),
        (437, errors.SlotTaken),
        (438, errors.ServiceUnavailable),
        ("433", errors.SlotTaken),
    ],
)
async def test_business_codes_name_the_refusal(
    client: AltegioClient, wire: Wire, code: int | str, kind: type[errors.Rejected]
) -> None:
    wire.on(
        "POST",
        f"book_record/{COMPANY_ID}",
        rejected(422, {"code": code, "message": "Refused"}),
    )

    with pytest.raises(kind) as caught:
        await client.book(booking())

    assert caught.value.codes == (int(code),)
    assert caught.value.appointment_ids == ()
    assert isinstance(caught.value, errors.Rejected)


async def test_taken_slot_names_the_appointment(client: AltegioClient, wire: Wire) -> None:
    wire.on(
        "POST",
        f"book_check/{COMPANY_ID}",
        rejected(
            422,
            {
                "code": 433,
                "id": 2,
                "message": "Team Member (0) cannot be booked on May 30, 2021 at 15:30.",
            },
        ),
    )

    with pytest.raises(errors.SlotTaken) as caught:
        await client.check(
            [
                Appointment(1, (10001,), 2001, "2026-06-15T12:00:00+02:00"),
                Appointment(2, (10002,), 2001, "2026-06-15T13:00:00+02:00"),
            ]
        )

    assert caught.value.codes == (433,)
    assert caught.value.appointment_ids == (2,)


async def test_several_codes_are_all_reported(client: AltegioClient, wire: Wire) -> None:
    wire.on(
        "POST",
        f"book_record/{COMPANY_ID}",
        rejected(422, {"code": 433, "id": "1"}, {"code": 437, "id": 2}, {"code": 435}),
    )

    with pytest.raises(errors.Rejected) as caught:
        await client.book(booking())

    assert set(caught.value.codes) == {433, 437, 435}
    assert set(caught.value.appointment_ids) == {1, 2}
    # The client cannot book without a name, whichever slot it picks.
    assert isinstance(caught.value, errors.NameRequired)


@pytest.mark.parametrize("status", [403, 422])
async def test_blacklisted_phone(client: AltegioClient, wire: Wire, status: int) -> None:
    wire.on(
        "POST",
        f"book_record/{COMPANY_ID}",
        rejected(status, {"code": 434, "message": "The phone is blacklisted"}),
    )

    with pytest.raises(errors.Blacklisted) as caught:
        await client.book(booking())

    assert caught.value.codes == (434,)
    assert not isinstance(caught.value, errors.AuthError)


async def test_older_refusal_with_only_a_message(client: AltegioClient, wire: Wire) -> None:
    message = "Master Anna is not available on 15 June at 12:00"
    wire.on("POST", f"book_check/{COMPANY_ID}", fail(422, {"message": message}))

    with pytest.raises(errors.Rejected) as caught:
        await client.check([Appointment(1, (10001,), 2001, "2026-06-15T12:00:00+02:00")])

    assert type(caught.value) is errors.Rejected
    assert caught.value.codes == ()
    assert str(caught.value) == message


async def test_no_services_set_is_a_plain_refusal(client: AltegioClient, wire: Wire) -> None:
    wire.on(
        "POST",
        f"book_check/{COMPANY_ID}",
        rejected(422, {"code": 422, "message": "No services or promotions set"}),
    )

    with pytest.raises(errors.Rejected) as caught:
        await client.check([Appointment(1, (), 2001, "2026-06-15T12:00:00+02:00")])

    assert type(caught.value) is errors.Rejected
    assert caught.value.codes == (422,)


@pytest.mark.parametrize(
    ("meta", "kind"),
    [
        ({"message": "Refused"}, errors.Rejected),
        ({"message": "x", "errors": [{"code": 436}]}, errors.NoStaffAvailable),
    ],
)
async def test_success_status_with_success_false_is_a_refusal(
    client: AltegioClient, wire: Wire, meta: Any, kind: type[errors.Rejected]
) -> None:
    wire.on("POST", f"book_check/{COMPANY_ID}", fail(200, meta))

    with pytest.raises(kind):
        await client.check([Appointment(1, (10001,), 0, "2026-06-15T12:00:00+02:00")])


@pytest.mark.parametrize(
    "content", [b"<html><body>Maintenance</body></html>", b"{not json", b"\xff\xfe\x00"]
)
async def test_success_status_without_json_is_unexpected(
    client: AltegioClient, wire: Wire, content: bytes
) -> None:
    wire.on("GET", f"book_staff/{COMPANY_ID}", answer(200, content=content))

    with pytest.raises(errors.UnexpectedResponse):
        await client.staff([10001])


async def test_unknown_client_error_is_a_refusal(client: AltegioClient, wire: Wire) -> None:
    wire.on("GET", f"book_staff/{COMPANY_ID}", answer(400, content=b"Bad Request"))

    with pytest.raises(errors.Rejected) as caught:
        await client.staff([10001])

    assert caught.value.codes == ()
    assert len(wire.requests) == 1


# --- retries -------------------------------------------------------------------------------


STAFF = ok([{"id": 2001, "name": "Anna"}])


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_read_gives_up_after_max_attempts_of_server_errors(
    client: AltegioClient, wire: Wire, ticks: FakeTime, status: int
) -> None:
    wire.on("GET", f"book_staff/{COMPANY_ID}", fail(status))

    with pytest.raises(errors.Unavailable) as caught:
        await client.staff([10001])

    assert not isinstance(caught.value, errors.OutcomeUnknown)
    assert len(wire.requests) == 3
    # 0.5 s, 1 s ceilings; jitter 0.5 puts each at its ceiling.
    assert ticks.slept == [0.5, 1.0]


@pytest.mark.parametrize(
    ("jitter", "delays"),
    [(0.0, [0.25, 0.5, 1.0]), (0.5, [0.5, 1.0, 2.0]), (0.99, [0.745, 1.49, 2.98])],
)
async def test_backoff_grows_and_is_jittered(
    make_client: MakeClient, wire: Wire, ticks: FakeTime, jitter: float, delays: list[float]
) -> None:
    client = make_client(max_attempts=4, jitter=lambda: jitter)
    wire.on("GET", f"book_staff/{COMPANY_ID}", fail(503))

    with pytest.raises(errors.Unavailable):
        await client.staff([10001])

    assert len(wire.requests) == 4
    assert ticks.slept == pytest.approx(delays)


async def test_read_recovers_after_a_server_error(
    client: AltegioClient, wire: Wire, ticks: FakeTime
) -> None:
    wire.on("GET", f"book_staff/{COMPANY_ID}", fail(502), STAFF)

    staff = await client.staff([10001])

    assert [s.id for s in staff] == [2001]
    assert len(wire.requests) == 2
    assert ticks.slept == [0.5]


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout, httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError],
)
async def test_read_recovers_after_a_transport_failure(
    client: AltegioClient, wire: Wire, ticks: FakeTime, failure: type[httpx.TransportError]
) -> None:
    wire.on("GET", f"book_staff/{COMPANY_ID}", failure, failure, STAFF)

    staff = await client.staff([10001])

    assert [s.id for s in staff] == [2001]
    assert len(wire.requests) == 3
    assert ticks.slept == [0.5, 1.0]


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.ConnectError, httpx.PoolTimeout])
async def test_read_gives_up_after_max_attempts_of_transport_failures(
    client: AltegioClient, wire: Wire, failure: type[httpx.TransportError]
) -> None:
    wire.on("GET", f"book_staff/{COMPANY_ID}", failure)

    with pytest.raises(errors.Unavailable) as caught:
        await client.staff([10001])

    assert not isinstance(caught.value, errors.OutcomeUnknown)
    assert isinstance(caught.value.__cause__, failure)
    assert len(wire.requests) == 3


async def test_one_attempt_means_no_retry(
    make_client: MakeClient, wire: Wire, ticks: FakeTime
) -> None:
    client = make_client(max_attempts=1)
    wire.on("GET", f"book_staff/{COMPANY_ID}", fail(503), STAFF)

    with pytest.raises(errors.Unavailable):
        await client.staff([10001])

    assert len(wire.requests) == 1
    assert ticks.slept == []


async def test_rate_limited_read_gives_up_after_max_attempts(
    client: AltegioClient, wire: Wire, ticks: FakeTime
) -> None:
    wire.on(
        "GET",
        f"book_staff/{COMPANY_ID}",
        fail(429, {"message": "Too Many Requests"}),
    )

    with pytest.raises(errors.RateLimited) as caught:
        await client.staff([10001])

    assert caught.value.retry_after is None
    assert len(wire.requests) == 3
    # The backoff, then what is left of the one-second pause every 429 puts on the limiter.
    assert ticks.slept == [0.5, 0.5, 1.0]


@pytest.mark.parametrize(("header", "waits"), [("2", [2.0]), ("0.5", [0.5]), ("10", [10.0])])
async def test_retry_after_is_honoured(
    client: AltegioClient, wire: Wire, ticks: FakeTime, header: str, waits: list[float]
) -> None:
    wire.on(
        "GET",
        f"book_staff/{COMPANY_ID}",
        answer(429, {"success": False, "data": None, "meta": []}, headers={"Retry-After": header}),
        STAFF,
    )

    staff = await client.staff([10001])

    assert [s.id for s in staff] == [2001]
    assert ticks.slept == waits


async def test_retry_after_on_a_server_error_is_honoured(
    client: AltegioClient, wire: Wire, ticks: FakeTime
) -> None:
    wire.on(
        "GET",
        f"book_staff/{COMPANY_ID}",
        answer(503, content=b"", headers={"Retry-After": "3"}),
        STAFF,
    )

    await client.staff([10001])

    assert ticks.slept == [3.0]


async def test_retry_after_beyond_the_cap_is_not_waited_for(
    make_client: MakeClient, wire: Wire, ticks: FakeTime
) -> None:
    client = make_client(retry_after_cap=5.0)
    wire.on(
        "GET",
        f"book_staff/{COMPANY_ID}",
        answer(429, content=b"", headers={"Retry-After": "30"}),
        STAFF,
    )

    with pytest.raises(errors.RateLimited) as caught:
        await client.staff([10001])

    assert caught.value.retry_after == 30.0
    assert len(wire.requests) == 1
    assert all(wait <= 5.0 for wait in ticks.slept)


async def test_unreadable_retry_after_falls_back_to_backoff(
    client: AltegioClient, wire: Wire, ticks: FakeTime
) -> None:
    wire.on(
        "GET",
        f"book_staff/{COMPANY_ID}",
        answer(429, content=b"", headers={"Retry-After": "soon"}),
        STAFF,
    )

    await client.staff([10001])

    assert ticks.slept == [0.5, 0.5]  # backoff, then the rest of the 429 pause


async def test_retry_after_as_an_http_date_is_honoured(
    make_client: MakeClient, wire: Wire, ticks: FakeTime
) -> None:
    now = datetime(2026, 10, 21, 7, 27, 56, tzinfo=UTC)
    client = make_client(clock=lambda: now)
    wire.on(
        "GET",
        f"book_staff/{COMPANY_ID}",
        answer(429, content=b"", headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}),
        STAFF,
    )

    await client.staff([10001])

    assert ticks.slept[0] == 4.0  # until the date, on the injected clock


async def test_retry_after_as_a_date_already_past_waits_nothing(
    make_client: MakeClient, wire: Wire, ticks: FakeTime
) -> None:
    client = make_client(clock=lambda: datetime(2026, 10, 22, tzinfo=UTC))
    wire.on(
        "GET",
        f"book_staff/{COMPANY_ID}",
        answer(503, content=b"", headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}),
        STAFF,
    )

    await client.staff([10001])

    assert ticks.slept == [0.0]


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError]
)
async def test_booking_is_never_repeated_once_sent(
    client: AltegioClient, wire: Wire, failure: type[httpx.TransportError]
) -> None:
    wire.on("POST", f"book_record/{COMPANY_ID}", failure, ok(CREATED, status=201))

    with pytest.raises(errors.OutcomeUnknown) as caught:
        await client.book(booking())

    assert isinstance(caught.value, errors.Unavailable)
    assert len(wire.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_booking_answered_with_a_server_error_is_of_unknown_outcome(
    client: AltegioClient, wire: Wire, ticks: FakeTime, status: int
) -> None:
    wire.on("POST", f"book_record/{COMPANY_ID}", fail(status), ok(CREATED, status=201))

    with pytest.raises(errors.OutcomeUnknown):
        await client.book(booking())

    assert len(wire.requests) == 1
    assert ticks.slept == []


@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ConnectTimeout])
async def test_booking_is_retried_when_it_never_left(
    client: AltegioClient, wire: Wire, failure: type[httpx.TransportError]
) -> None:
    wire.on("POST", f"book_record/{COMPANY_ID}", failure, ok(CREATED, status=201))

    created = await client.book(booking())

    assert [c.record_id for c in created] == [2820023]
    assert len(wire.requests) == 2


async def test_booking_that_never_connects_is_unavailable(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("POST", f"book_record/{COMPANY_ID}", httpx.ConnectError)

    with pytest.raises(errors.Unavailable) as caught:
        await client.book(booking())

    assert not isinstance(caught.value, errors.OutcomeUnknown)
    assert len(wire.requests) == 3


@pytest.mark.parametrize("headers", [None, {"Retry-After": "1"}])
async def test_rate_limited_booking_is_not_retried(
    client: AltegioClient, wire: Wire, ticks: FakeTime, headers: dict[str, str] | None
) -> None:
    wire.on(
        "POST",
        f"book_record/{COMPANY_ID}",
        answer(
            429,
            {"success": False, "data": None, "meta": {"message": "Too Many Requests"}},
            headers=headers,
        ),
        ok(CREATED, status=201),
    )

    with pytest.raises(errors.RateLimited):
        await client.book(booking())

    assert len(wire.requests) == 1
    assert ticks.slept == []


async def test_code_request_is_never_repeated_once_sent(client: AltegioClient, wire: Wire) -> None:
    # A repeated request would text the client a second, different code.
    wire.on("POST", f"book_code/{COMPANY_ID}", httpx.ReadTimeout, answer(201))

    with pytest.raises(errors.OutcomeUnknown):
        await client.send_code("+48600000000", "Jan")

    assert len(wire.requests) == 1


async def test_check_is_a_dry_run_and_is_retried(client: AltegioClient, wire: Wire) -> None:
    wire.on("POST", f"book_check/{COMPANY_ID}", fail(503), httpx.ReadTimeout, answer(201))

    await client.check([Appointment(1, (10001,), 2001, "2026-06-15T12:00:00+02:00")])

    assert len(wire.requests) == 3


# --- headers, paths and parameters ---------------------------------------------------------


async def test_every_request_carries_the_partner_token_and_v2_headers(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on("POST", f"book_record/{COMPANY_ID}", ok(CREATED, status=201))

    await client.company()
    await client.book(booking())

    assert [r.url.path for r in wire.requests] == [
        f"/api/v1/company/{COMPANY_ID}",
        f"/api/v1/book_record/{COMPANY_ID}",
    ]
    for request in wire.requests:
        assert request.url.host == "api.alteg.io"
        assert request.url.scheme == "https"
        assert request.headers["Authorization"] == "Bearer tok"
        assert request.headers["Accept"] == "application/vnd.api.v2+json"
        assert request.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("base_url", "prefix"),
    [
        ("https://api.alteg.io/api", "https://api.alteg.io/api/v1/"),
        ("https://api.alteg.io/api/", "https://api.alteg.io/api/v1/"),
        ("https://api.yclients.com/api", "https://api.yclients.com/api/v1/"),
    ],
)
async def test_base_url_gains_the_version(
    make_client: MakeClient, wire: Wire, base_url: str, prefix: str
) -> None:
    client = make_client(base_url=base_url)
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))

    await client.company()

    assert str(wire.requests[0].url) == f"{prefix}company/{COMPANY_ID}"


async def test_times_path_and_repeated_service_ids(client: AltegioClient, wire: Wire) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on("GET", f"book_times/{COMPANY_ID}/2001/2026-06-15", ok([]))

    assert await client.times(2001, DAY, [10001, 10002]) == []

    [request] = wire.seen(f"book_times/{COMPANY_ID}/2001/2026-06-15")
    assert request.url.params.multi_items() == [
        ("service_ids[]", "10001"),
        ("service_ids[]", "10002"),
    ]
    assert "service_ids%5B%5D=10001&service_ids%5B%5D=10002" in str(request.url)


# --- caching -------------------------------------------------------------------------------


async def test_company_is_cached_until_its_ttl(
    make_client: MakeClient, wire: Wire, ticks: FakeTime
) -> None:
    client = make_client(catalogue_ttl=300.0)
    wire.on(
        "GET",
        f"company/{COMPANY_ID}",
        ok(COMPANY),
        ok({**COMPANY, "title": "Renamed Studio"}),
    )

    first = await client.company()
    ticks.now += 299
    second = await client.company()
    ticks.now += 2
    third = await client.company()

    assert (first.title, second.title, third.title) == (
        "Demo Studio",
        "Demo Studio",
        "Renamed Studio",
    )
    assert len(wire.requests) == 2


async def test_catalogue_is_cached_per_team_member_until_its_ttl(
    client: AltegioClient, wire: Wire, ticks: FakeTime
) -> None:
    wire.on(
        "GET",
        f"book_services/{COMPANY_ID}",
        ok({"services": [{"id": 1, "title": "Cut"}], "category": []}),
        ok({"services": [{"id": 1, "title": "Cut"}, {"id": 2, "title": "Dye"}], "category": []}),
    )

    first = await client.catalogue()
    again = await client.catalogue()
    ticks.now += 301
    later = await client.catalogue()

    assert again == first
    assert [s.id for s in later.services] == [1, 2]
    assert len(wire.requests) == 2


async def test_times_are_always_fresh(client: AltegioClient, wire: Wire) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on(
        "GET",
        f"book_times/{COMPANY_ID}/2001/2026-06-15",
        ok([{"time": "12:00", "datetime": "2026-06-15T12:00:00+02:00"}]),
        ok([]),
    )

    first = await client.times(2001, DAY, [10001])
    second = await client.times(2001, DAY, [10001])

    assert [s.start for s in first] == [NOON_WARSAW]
    assert second == []
    assert len(wire.seen(f"book_times/{COMPANY_ID}/2001/2026-06-15")) == 2
    assert len(wire.seen(f"company/{COMPANY_ID}")) == 1


async def test_concurrent_catalogue_reads_share_one_request(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on(
        "GET",
        f"book_services/{COMPANY_ID}",
        ok({"services": [{"id": 1, "title": "Cut"}], "category": []}),
    )

    results = await asyncio.gather(*(client.catalogue() for _ in range(5)))

    assert len(wire.requests) == 1
    assert all(r == results[0] for r in results)
    assert [s.id for s in results[0].services] == [1]


async def test_failed_load_is_shared_and_not_cached(client: AltegioClient, wire: Wire) -> None:
    wire.on(
        "GET",
        f"book_services/{COMPANY_ID}",
        fail(401, {"message": "Authentication needed."}),
        ok({"services": [{"id": 1, "title": "Cut"}], "category": []}),
    )

    outcomes = await asyncio.gather(*(client.catalogue() for _ in range(3)), return_exceptions=True)
    assert all(isinstance(o, errors.AuthError) for o in outcomes)
    assert len(wire.requests) == 1

    catalogue = await client.catalogue()

    assert [s.id for s in catalogue.services] == [1]
    assert len(wire.requests) == 2


async def test_failed_load_of_one_caller_is_not_cached(client: AltegioClient, wire: Wire) -> None:
    wire.on(
        "GET",
        f"company/{COMPANY_ID}",
        answer(200, content=b"<html>oops</html>"),
        ok(COMPANY),
    )

    with pytest.raises(errors.UnexpectedResponse):
        await client.company()
    company = await client.company()

    assert company.title == "Demo Studio"


async def test_cancelling_one_reader_does_not_cancel_the_others(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on(
        "GET",
        f"book_services/{COMPANY_ID}",
        ok({"services": [{"id": 1, "title": "Cut"}], "category": []}),
    )
    wire.gate = asyncio.Event()
    on_the_wire = asyncio.Event()
    wire.on_request = lambda _request: on_the_wire.set()
    first = asyncio.create_task(client.catalogue())
    await on_the_wire.wait()
    second = asyncio.create_task(client.catalogue())
    await asyncio.sleep(0)

    first.cancel()
    wire.gate.set()
    outcome = await asyncio.gather(second, return_exceptions=True)

    assert not second.cancelled()
    assert [s.id for s in outcome[0].services] == [1]


async def test_staff_and_dates_stay_cached_across_bookings_until_forgotten_or_expired(
    client: AltegioClient, wire: Wire, ticks: FakeTime
) -> None:
    wire.on("GET", f"book_staff/{COMPANY_ID}", STAFF)
    wire.on("GET", f"book_dates/{COMPANY_ID}", ok({"booking_dates": ["2026-06-15"]}))
    wire.on("POST", f"book_record/{COMPANY_ID}", ok(CREATED, status=201))

    async def read() -> None:
        await client.staff([10001])
        await client.dates([10001], 0, date(2026, 6, 1), date(2026, 6, 30))

    await read()
    await read()
    assert len(wire.requests) == 2

    # A booking does not spend the rate limit on reloading them: free times are always fresh.
    await client.book(booking())
    await read()
    assert len(wire.seen(f"book_staff/{COMPANY_ID}")) == 1
    assert len(wire.seen(f"book_dates/{COMPANY_ID}")) == 1

    client.forget_availability()
    await read()
    assert len(wire.seen(f"book_staff/{COMPANY_ID}")) == 2

    ticks.now += 181
    await read()
    assert len(wire.seen(f"book_dates/{COMPANY_ID}")) == 3


async def test_different_service_sets_are_cached_apart(client: AltegioClient, wire: Wire) -> None:
    wire.on("GET", f"book_staff/{COMPANY_ID}", STAFF)

    await client.staff([10001])
    await client.staff([10002])
    await client.staff([10001])

    assert [r.url.params.get_list("service_ids[]") for r in wire.requests] == [
        ["10001"],
        ["10002"],
    ]


# --- pacing --------------------------------------------------------------------------------


def _assert_within_limits(times: list[float], count: int, window: float) -> None:
    # `count + 1` requests must span at least `window` seconds.
    for earlier, later in zip(times, times[count:], strict=False):
        assert later - earlier >= window - 1e-9, (earlier, later)


async def test_limiter_paces_a_burst_in_order_on_a_fake_clock(ticks: FakeTime) -> None:
    limiter = RateLimiter(monotonic=ticks.monotonic, sleep=ticks.sleep)
    served: list[tuple[int, float]] = []

    async def caller(n: int) -> None:
        async with limiter.slot():
            served.append((n, ticks.now - 1000.0))

    await asyncio.gather(*(caller(n) for n in range(12)))

    assert [n for n, _ in served] == list(range(12))
    times = [t for _, t in served]
    # The windows carry a small margin (1.1 s, 60.5 s) over Altegio's own 1 s and 60 s.
    assert times == pytest.approx([0.0] * 5 + [1.1] * 5 + [2.2] * 2)
    _assert_within_limits(times, 5, 1.0)
    _assert_within_limits(times, 200, 60.0)
    assert limiter.waiting == 0


async def test_limiter_keeps_the_minute_limit(ticks: FakeTime) -> None:
    limiter = RateLimiter(monotonic=ticks.monotonic, sleep=ticks.sleep)
    times: list[float] = []

    for _ in range(230):
        async with limiter.slot():
            times.append(ticks.now - 1000.0)

    _assert_within_limits(times, 5, 1.0)
    _assert_within_limits(times, 200, 60.0)
    # The 201st waits for the first to leave the minute (and the margin).
    assert times[200] == pytest.approx(60.5)


async def test_limiter_lets_spaced_requests_through_without_waiting(ticks: FakeTime) -> None:
    limiter = RateLimiter(monotonic=ticks.monotonic, sleep=ticks.sleep)

    for _ in range(20):
        async with limiter.slot():
            pass
        ticks.now += 0.25

    assert ticks.slept == []


async def test_a_booking_goes_before_the_reads_queued_ahead_of_it(ticks: FakeTime) -> None:
    """When the limit binds, a write (a booking being made) is let through before the reads of
    clients still choosing, even those who asked earlier."""
    limiter = RateLimiter(monotonic=ticks.monotonic, sleep=ticks.sleep)
    served: list[str] = []

    async def caller(name: str, priority: int) -> None:
        async with limiter.slot(priority):
            served.append(name)

    reads = [asyncio.create_task(caller(f"read {n}", NORMAL)) for n in range(8)]
    await asyncio.sleep(0)
    booking = asyncio.create_task(caller("booking", URGENT))
    await asyncio.gather(*reads, booking)

    assert served[:5] == [f"read {n}" for n in range(5)]  # room for five at once
    assert served[5] == "booking"
    assert served[6:] == ["read 5", "read 6", "read 7"]
    assert limiter.waiting == 0


async def test_a_caller_who_gives_up_waiting_frees_the_queue(ticks: FakeTime) -> None:
    limiter = RateLimiter(monotonic=ticks.monotonic, sleep=ticks.sleep)
    for _ in range(5):
        async with limiter.slot():
            pass
    impatient = asyncio.create_task(limiter.slot().__aenter__())
    await asyncio.sleep(0)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    async with limiter.slot():
        pass
    assert ticks.now - 1000.0 == pytest.approx(1.1)
    assert limiter.waiting == 0


async def test_a_request_in_flight_holds_its_place_until_answered(ticks: FakeTime) -> None:
    """Altegio counts a request when it arrives, which may be any time before its answer: the
    window of a slow request starts when it is answered, so six never arrive within a second."""
    limiter = RateLimiter(monotonic=ticks.monotonic, sleep=ticks.sleep)
    answer = asyncio.Event()
    started: list[float] = []

    async def slow() -> None:
        async with limiter.slot():
            started.append(ticks.now - 1000.0)
            await answer.wait()

    slow_ones = [asyncio.create_task(slow()) for _ in range(5)]
    await asyncio.sleep(0)
    sixth = asyncio.create_task(slow())
    for _ in range(5):
        await asyncio.sleep(0)
    assert started == [0.0] * 5  # the sixth waits for an answer, however long it takes

    ticks.now += 3.0  # the five are answered three seconds later
    answer.set()
    await asyncio.gather(*slow_ones, sixth)
    assert started[5] == pytest.approx(3.0 + 1.1)


async def test_client_requests_are_paced(
    client: AltegioClient, wire: Wire, ticks: FakeTime
) -> None:
    sent_at: list[float] = []
    wire.on_request = lambda _request: sent_at.append(ticks.now - 1000.0)
    wire.on("GET", f"book_staff/{COMPANY_ID}", STAFF)

    await asyncio.gather(*(client.staff([service]) for service in range(12)))

    assert len(sent_at) == 12
    _assert_within_limits(sent_at, 5, 1.0)
    assert sent_at[-1] == pytest.approx(2.2)


# --- secrets -------------------------------------------------------------------------------


SECRET_TOKEN = "partner-7f3c9a1e5d2b"


async def _exercise_secrets(make_client: MakeClient, wire: Wire) -> None:
    client = make_client(partner_token=SECRET_TOKEN)
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on("GET", f"book_record/{COMPANY_ID}/2820023/{RECORD_HASH}", fail(503), ok(RECORD))
    wire.on("GET", f"book_record/{COMPANY_ID}/404/{RECORD_HASH}", fail(404))
    wire.on(
        "POST",
        f"book_record/{COMPANY_ID}",
        rejected(422, {"code": 433, "id": 1}),
        ok(CREATED, status=201),
        httpx.ReadTimeout,
    )

    await client.record(2820023, RECORD_HASH)
    with pytest.raises(errors.NotFound):
        await client.record(404, RECORD_HASH)
    with pytest.raises(errors.SlotTaken):
        await client.book(booking())
    await client.book(booking())
    with pytest.raises(errors.OutcomeUnknown):
        await client.book(booking())


def _leaks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if SECRET_TOKEN in r.getMessage() or RECORD_HASH in r.getMessage()
    ]


async def test_logs_never_carry_the_token_or_a_record_hash(
    make_client: MakeClient, wire: Wire, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # As the bot runs it (bot/cli.py): httpx's own per-URL INFO lines are silenced.
    caplog.set_level(logging.WARNING, logger="httpx")

    await _exercise_secrets(make_client, wire)

    assert any(r.name == "bot.altegio.client" for r in caplog.records)
    assert _leaks(caplog) == []


async def test_logs_never_carry_a_record_hash_even_with_httpx_logging(
    make_client: MakeClient, wire: Wire, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    await _exercise_secrets(make_client, wire)

    assert _leaks(caplog) == []


def test_slot_raw_round_trips_through_the_model() -> None:
    # The parser itself, with no client: raw is exactly what came in.
    slots = Slot.list_from_wire(
        [{"datetime": "2026-06-15T12:00:00+0200"}, {"datetime": None}, {}, "junk"], WARSAW
    )

    assert [(s.start, s.raw) for s in slots] == [(NOON_WARSAW, "2026-06-15T12:00:00+0200")]


async def test_a_429_pauses_every_caller(ticks: FakeTime) -> None:
    limiter = RateLimiter(monotonic=ticks.monotonic, sleep=ticks.sleep)
    limiter.pause(2.0)
    async with limiter.slot():
        pass
    assert ticks.slept == [pytest.approx(2.0)]


# --- answers that must not mislead ---------------------------------------------------------


@pytest.mark.parametrize(
    "content", [b"<html>Bad gateway</html>", b'{"success": true, "data": [{"id": 1, "record', b""]
)
async def test_an_unreadable_success_of_a_booking_is_an_answered_unknown(
    client: AltegioClient, wire: Wire, content: bytes
) -> None:
    wire.on("POST", f"book_record/{COMPANY_ID}", answer(201, content=content))

    with pytest.raises(errors.OutcomeUnknown) as caught:
        await client.book(booking())

    assert caught.value.answered
    assert len(wire.requests) == 1


async def test_a_404_page_from_something_else_is_no_answer_from_altegio(
    client: AltegioClient, wire: Wire
) -> None:
    page = answer(404, content=b"<html><h1>404 Not Found</h1>nginx</html>")
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on("GET", f"book_record/{COMPANY_ID}/9/{RECORD_HASH}", page)
    wire.on("DELETE", f"user/records/9/{RECORD_HASH}", page)

    with pytest.raises(errors.Unavailable) as read:
        await client.record(9, RECORD_HASH)
    assert not isinstance(read.value, errors.NotFound)
    with pytest.raises(errors.OutcomeUnknown):
        await client.cancel_record(9, RECORD_HASH)


@pytest.mark.parametrize(
    ("reply", "from_altegio"),
    [(fail(404), True), (fail(404, {}), True), (answer(404), False)],
)
async def test_a_not_found_says_whether_altegio_said_it(
    client: AltegioClient, wire: Wire, reply: Reply, from_altegio: bool
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on("GET", f"book_record/{COMPANY_ID}/9/{RECORD_HASH}", reply)

    with pytest.raises(errors.NotFound) as caught:
        await client.record(9, RECORD_HASH)

    assert caught.value.from_altegio is from_altegio


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (
            "Team Member Anna(2001) cannot be booked on 15 June 2026 at 12:00. "
            "The selected time is already taken or is not working.",
            errors.SlotTaken,
        ),
        (
            "К сотруднику Ирина Александровна(6544) нельзя записаться на 30 сентября 2015 в "
            "16:00. Выбранное время уже занято или является нерабочим.",
            errors.SlotTaken,
        ),
        ("Wrong confirmation code", errors.WrongCode),
        ("Неверный код подтверждения", errors.WrongCode),
        ("Invalid phone number format", errors.InvalidPhone),
        ("Неверный формат номера телефона", errors.InvalidPhone),
        ("Please enter your name", errors.NameRequired),
        ("Please enter your email", errors.EmailRequired),
        ("Укажите email", errors.EmailRequired),
        ("Please enter a comment", errors.CommentRequired),
        ("There is no appointment for the specified service/promotion", errors.ServiceUnavailable),
        ("Нет свободных сотрудников на это время", errors.NoStaffAvailable),
        ("An error has occurred", errors.Rejected),
    ],
)
async def test_a_refusal_without_a_code_is_read_by_its_meaning(
    client: AltegioClient, wire: Wire, message: str, kind: type[errors.Rejected]
) -> None:
    wire.on("POST", f"book_record/{COMPANY_ID}", fail(422, {"message": message}))

    with pytest.raises(errors.Rejected) as caught:
        await client.book(booking())

    assert type(caught.value) is kind
    assert caught.value.codes == ()


async def test_a_code_wins_over_the_words(client: AltegioClient, wire: Wire) -> None:
    wire.on(
        "POST",
        f"book_record/{COMPANY_ID}",
        rejected(422, {"code": 433, "message": "Please enter your email"}),
    )

    with pytest.raises(errors.SlotTaken):
        await client.book(booking())


@pytest.mark.parametrize(
    "reply",
    [
        answer(200, content=b""),
        ok(None),
        ok({"id": RECORD["id"]}),
        answer(200, content=b"<html>OK</html>"),
        ok({"id": 1}),  # some other record: not this one
    ],
    ids=["empty", "null", "id-only", "html", "other-id"],
)
async def test_a_move_answered_without_its_record_returns_none(
    client: AltegioClient, wire: Wire, reply: Reply
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on("PUT", f"book_record/{COMPANY_ID}/{RECORD['id']}", reply)

    moved = await client.reschedule(RECORD["id"], "2026-06-16T12:00:00+02:00", "user-token")

    assert moved is None
    assert len(wire.seen(f"book_record/{COMPANY_ID}/{RECORD['id']}", "PUT")) == 1


async def test_a_move_answered_with_its_record_returns_it(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on("PUT", f"book_record/{COMPANY_ID}/{RECORD['id']}", ok(RECORD))

    moved = await client.reschedule(RECORD["id"], "2026-06-15T12:00:00+02:00", "user-token")

    assert moved is not None and moved.id == RECORD["id"]


# --- the location as documented, and what records tell of it --------------------------------


async def test_the_documented_location_knows_no_rules_phone_or_currency(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok({**COMPANY, "country": "Narnia"}))

    company = await client.company()

    assert company.phone == ""
    assert company.currency == ""
    assert company.rules == Rules()


async def test_the_currency_of_the_locations_country_stands_in(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok({**COMPANY, "country": "Poland"}))

    assert (await client.company()).currency == "PLN"


async def test_records_tell_the_locations_phone_currency_and_rules(
    make_client: MakeClient, wire: Wire
) -> None:
    kept: list[Facts] = []
    client = make_client(on_facts=kept.append)
    wire.on("GET", f"company/{COMPANY_ID}", ok({**COMPANY, "country": "Poland"}))
    block = {
        "id": COMPANY_ID,
        "phone": "+48221234567",
        "currency_short_title": "zł",
        "allow_delete_record": True,
        "allow_delete_record_delay_step": "3600",
        "allow_change_record": 0,
    }
    wire.on(
        "GET",
        f"book_record/{COMPANY_ID}/{RECORD['id']}/{RECORD_HASH}",
        ok({**RECORD, "company": block}),
    )

    before = await client.company()
    record = await client.record(RECORD["id"], RECORD_HASH)
    after = await client.company()

    assert before.phone == "" and before.rules.allow_delete is None
    assert record.facts.rules == Rules(False, None, True, 3600)
    assert after.phone == "+48221234567"
    assert after.currency == "zł"
    assert after.rules == Rules(False, None, True, 3600)
    assert kept and kept[-1].phone == "+48221234567"
    # What was learned comes back after a restart.
    again = make_client(facts=Facts.from_wire(kept[-1].as_json()))
    assert (await again.company()).phone == "+48221234567"


async def test_another_locations_record_teaches_nothing(client: AltegioClient, wire: Wire) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    other = {**RECORD, "company": {"id": 99, "phone": "+100"}}
    wire.on("GET", f"book_record/{COMPANY_ID}/{RECORD['id']}/{RECORD_HASH}", ok(other))

    await client.record(RECORD["id"], RECORD_HASH)

    assert (await client.company()).phone == ""


async def test_company_read_fresh_on_demand_and_stale_when_altegio_fails(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on(
        "GET",
        f"company/{COMPANY_ID}",
        ok({**COMPANY, "phone_confirmation": True}),
        ok({**COMPANY, "phone_confirmation": False}),
        fail(503),
    )

    assert (await client.company()).phone_confirmation
    assert (await client.company()).phone_confirmation  # cached
    assert not (await client.company(fresh=True)).phone_confirmation
    assert not (await client.company(fresh=True)).phone_confirmation  # failing: the last copy


# --- the salon's own reminders -----------------------------------------------------------------


async def test_a_booking_leaves_the_salons_own_reminders_alone_by_default(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("POST", f"book_record/{COMPANY_ID}", ok(CREATED, status=201))

    await client.book(booking())
    await client.book(replace(booking(), notify_by_sms=0, notify_by_email=24))

    first, second = (sent_json(r) for r in wire.seen(f"book_record/{COMPANY_ID}"))
    assert "notify_by_sms" not in first and "notify_by_email" not in first
    assert (second["notify_by_sms"], second["notify_by_email"]) == (0, 24)


# --- services withdrawn, team members gone ------------------------------------------------------


CATALOGUE = ok(
    {
        "services": [
            {"id": 10001, "title": "Women's haircut", "category_id": 501},
            {"id": 10002, "title": "Manicure", "category_id": 502},
        ],
        "category": [{"id": 501, "title": "Hair"}, {"id": 502, "title": "Nails"}],
    }
)


async def test_a_withdrawn_service_is_not_offered_even_from_an_older_list(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("GET", f"book_services/{COMPANY_ID}", CATALOGUE)

    client.withdraw_service(10001)
    catalogue = await client.catalogue()

    assert [s.id for s in catalogue.services] == [10002]


async def test_a_team_member_altegio_no_longer_finds_is_gone(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on(
        "GET",
        f"book_staff/{COMPANY_ID}",
        ok([{"id": 2001, "name": "Anna"}, {"id": 2002, "name": "Marko"}]),
    )
    wire.on("GET", f"book_times/{COMPANY_ID}/2001/{DAY.isoformat()}", fail(404))

    await client.staff([10001])
    with pytest.raises(errors.StaffGone) as caught:
        await client.times(2001, DAY, [10001])

    assert (caught.value.staff_id, caught.value.name) == (2001, "Anna")
    assert [s.id for s in await client.staff([10001])] == [2002]


async def test_a_proxy_page_on_a_team_members_times_is_no_departure(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("GET", f"company/{COMPANY_ID}", ok(COMPANY))
    wire.on(
        "GET", f"book_times/{COMPANY_ID}/2001/{DAY.isoformat()}", answer(404, content=b"<html/>")
    )

    with pytest.raises(errors.Unavailable):
        await client.times(2001, DAY, [10001])


# --- durations and the privacy policy -------------------------------------------------------------


async def test_durations_come_from_the_teams_own_lists(client: AltegioClient, wire: Wire) -> None:
    wire.on("GET", f"book_services/{COMPANY_ID}", CATALOGUE)
    wire.on(
        "GET",
        f"book_staff/{COMPANY_ID}",
        ok([{"id": 2001, "name": "Anna"}, {"id": 2002, "name": "Marko"}]),
    )

    def per_member(request: httpx.Request) -> httpx.Response:
        lengths = {"2001": 3600, "2002": 4500}
        staff = request.url.params.get("staff_id")
        if staff is None:
            return CATALOGUE(request)
        services = [{"id": 10001, "title": "Women's haircut", "seance_length": lengths[staff]}]
        return httpx.Response(200, json={"success": True, "data": {"services": services}})

    wire.on("GET", f"book_services/{COMPANY_ID}", per_member)

    durations = await client.durations()

    assert durations == {10001: (3600, 4500)}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            ok({"text": "<p>We keep <b>your</b> data.</p><p>Ask us.</p>"}),
            "We keep your data.\n\nAsk us.",
        ),
        (ok("Plain policy"), "Plain policy"),
        (ok({"privacy_policy": "Under another key"}), "Under another key"),
        (ok({"url": "https://salon.example/privacy"}), "https://salon.example/privacy"),
        (ok({"text": "", "is_custom": False}), None),
        (ok(None), None),
        (ok([]), None),
        (fail(404), None),
    ],
)
async def test_the_privacy_policy_in_any_shape(
    client: AltegioClient, wire: Wire, reply: Reply, expected: str | None
) -> None:
    wire.on("GET", f"privacy_policy/{COMPANY_ID}", reply)

    assert await client.privacy_policy() == expected


@pytest.mark.parametrize(
    "reply",
    [answer(404, content=b"<html>Not Found</html>"), fail(403, {"message": "Access denied."})],
    ids=["no-such-endpoint", "no-rights"],
)
async def test_a_privacy_policy_that_cannot_be_read_is_none_to_show(
    client: AltegioClient, wire: Wire, reply: Reply
) -> None:
    wire.on("GET", f"privacy_policy/{COMPANY_ID}", reply)

    assert await client.privacy_policy() is None


async def test_an_unreadable_success_of_a_cancel_is_an_unknown_outcome(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("DELETE", f"user/records/9/{RECORD_HASH}", answer(200, content=b"<html>OK</html>"))

    with pytest.raises(errors.OutcomeUnknown):
        await client.cancel_record(9, RECORD_HASH)


async def test_an_unreadable_success_of_a_code_request_is_a_code_sent(
    client: AltegioClient, wire: Wire
) -> None:
    wire.on("POST", f"book_code/{COMPANY_ID}", answer(201, content=b"<html>Created</html>"))

    await client.send_code("+48600000000", "Jan")

    assert len(wire.requests) == 1
