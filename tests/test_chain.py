"""A chain's locations: the sandbox's chain 100 (Berlin and Riga) as `GET companies?group_id=`
lists it, the client's `chain` against it and against YCLIENTS' documented answer, and the
locations ordered by distance and by name."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.altegio.client import AltegioClient
from bot.altegio.models import Company
from bot.chain_rules import by_distance, by_name, distance_km
from standins.altegio.riga_seed import SANDBOX_CYRILLIC_COMPANY_ID
from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN, Sandbox
from standins.altegio.seed import SANDBOX_CHAIN_ID, SANDBOX_COMPANY_ID, SANDBOX_SMS_COMPANY_ID
from tests.conftest import FakeClock

KREUZBERG, MITTE, RIGA = SANDBOX_COMPANY_ID, SANDBOX_SMS_COMPANY_ID, SANDBOX_CYRILLIC_COMPANY_ID
ALEXANDERPLATZ = (52.5219, 13.4132)
RIGA_OLD_TOWN = (56.9496, 24.1052)

Handler = Callable[[httpx.Request], httpx.Response]


class Counted(httpx.AsyncBaseTransport):
    """A handler (the sandbox's, or a hand-written answer), with the requests kept."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        await request.aread()
        return self.handler(request)


@pytest.fixture
async def made(clock: FakeClock) -> AsyncIterator[list[AltegioClient]]:
    clients: list[AltegioClient] = []
    yield clients
    for client in clients:
        await client.aclose()


def client_of(made: list[AltegioClient], clock: FakeClock, wire: Counted) -> AltegioClient:
    client = AltegioClient(
        partner_token=SANDBOX_PARTNER_TOKEN,
        company_id=KREUZBERG,
        transport=wire,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        clock=clock.now,
        jitter=lambda: 0.5,
    )
    made.append(client)
    return client


def answering(body: Any) -> Handler:
    return lambda request: httpx.Response(200, json=body)


def get(sandbox: Sandbox, path: str, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {SANDBOX_PARTNER_TOKEN}"}
    with httpx.Client(
        transport=sandbox.transport(), base_url="https://api.alteg.io/api", headers=headers
    ) as api:
        response = api.get(f"/v1/{path}", params=params)
    assert response.status_code == 200
    return response.json()["data"]


# --- the sandbox's chain ---------------------------------------------------------------------


def test_the_sandbox_lists_three_locations_in_two_timezones(sandbox: Sandbox) -> None:
    listed = get(sandbox, "companies", group_id=SANDBOX_CHAIN_ID)
    assert [entry["id"] for entry in listed] == [KREUZBERG, MITTE, RIGA]
    assert [entry["timezone_name"] for entry in listed] == [
        "Europe/Berlin",
        "Europe/Berlin",
        "Europe/Riga",
    ]
    assert [entry["phone_confirmation"] for entry in listed] == [False, True, False]
    assert {entry["main_group_id"] for entry in listed} == {SANDBOX_CHAIN_ID}
    riga = listed[2]
    assert (riga["city"], riga["coordinate_lat"], riga["coordinate_lon"]) == (
        "Rīga",
        56.9571,
        24.1214,
    )
    # Each location exactly as its own `GET company` gives it.
    for entry in listed:
        assert entry == get(sandbox, f"company/{entry['id']}")
    assert get(sandbox, "company/1003")["main_group_id"] == 0

    assert get(sandbox, "companies", group_id=7) == []
    assert [e["id"] for e in get(sandbox, "companies", group_id=100, count=2, page=2)] == [RIGA]


def test_the_chain_follows_the_locations_as_changed(sandbox: Sandbox) -> None:
    sandbox.configure(MITTE, group_id=0)
    sandbox.configure(RIGA, company_shape="documented")
    listed = get(sandbox, "companies", group_id=SANDBOX_CHAIN_ID, show_groups=1)
    assert [entry["id"] for entry in listed] == [KREUZBERG, RIGA]
    assert listed[1]["main_group"] == {"id": SANDBOX_CHAIN_ID, "title": "Studio Aurora"}
    assert listed[1]["groups"] == [listed[1]["main_group"]]
    assert get(sandbox, f"company/{MITTE}")["main_group_id"] == 0


# --- the client --------------------------------------------------------------------------------


async def test_the_client_reads_the_chain_once_and_keeps_it(
    sandbox: Sandbox, clock: FakeClock, made: list[AltegioClient]
) -> None:
    wire = Counted(sandbox.handle)
    client = client_of(made, clock, wire)
    chain = await client.chain(SANDBOX_CHAIN_ID)
    assert [(c.id, c.timezone, c.group_id) for c in chain] == [
        (KREUZBERG, "Europe/Berlin", 100),
        (MITTE, "Europe/Berlin", 100),
        (RIGA, "Europe/Riga", 100),
    ]
    assert [c.phone_confirmation for c in chain] == [False, True, False]
    assert (chain[2].title, chain[2].latitude, chain[2].longitude) == (
        "Салон Аврора",
        56.9571,
        24.1214,
    )
    assert chain[0].rules.allow_change and chain[0].currency == "EUR"
    assert await client.chain(SANDBOX_CHAIN_ID) == chain
    assert len(wire.seen) == 1  # one request, kept as long as the location
    assert dict(wire.seen[0].url.params) == {"group_id": "100", "count": "50"}
    assert await client.chain(7) == []
    assert (await client.company()).group_id == SANDBOX_CHAIN_ID


async def test_a_location_speaking_an_offset_keeps_its_zone_in_the_chain(
    sandbox: Sandbox, clock: FakeClock, made: list[AltegioClient]
) -> None:
    sandbox.configure(RIGA, timezone_form="offset", company_shape="documented")
    chain = await client_of(made, clock, Counted(sandbox.handle)).chain(SANDBOX_CHAIN_ID)
    assert chain[2].tz.utcoffset(clock.now()) == timedelta(hours=2)


# YCLIENTS' companies list as documented (YC-APIB l.2453-2503): ids and coordinates as strings,
# `timezone` for the zone, no `main_group_id`, and the chain's order in `group_priority`.
YC_CHAIN = [
    {
        "id": "1050",
        "title": "Ля Визаж",
        "short_descr": "Салон красоты",
        "active": "1",
        "phone": "+7 495 509-24-46",
        "country_id": 1,
        "country": "Россия",
        "city_id": 1,
        "city": "Москва",
        "timezone": "Europe/Moscow",
        "address": "Талалихина, д. 1, к. 2",
        "coordinate_lat": "55.735662",
        "coordinate_lon": "37.678218",
        "phone_confirmation": True,
        "currency_short_title": "р",
        "group_priority": 900,
    },
    {
        "id": "1051",
        "title": "Ля Визаж 2",
        "active": "1",
        "city": "Москва",
        "timezone": "Europe/Moscow",
        "address": "Талалихина, д. 1, к. 2",
        "coordinate_lat": "55.835662",
        "coordinate_lon": "37.778218",
        "phone_confirmation": False,
        "group_priority": 901,
    },
]


@pytest.mark.parametrize("enveloped", [True, False], ids=["envelope", "bare"])
async def test_yclients_companies_list(
    clock: FakeClock, made: list[AltegioClient], enveloped: bool
) -> None:
    body: Any = {"success": True, "data": YC_CHAIN, "meta": []} if enveloped else YC_CHAIN
    chain = await client_of(made, clock, Counted(answering(body))).chain(83)
    # The higher priority first, as the chain wants its list.
    assert [(c.id, c.title, c.timezone, c.group_id) for c in chain] == [
        (1051, "Ля Визаж 2", "Europe/Moscow", 83),
        (1050, "Ля Визаж", "Europe/Moscow", 83),
    ]
    assert (chain[1].latitude, chain[1].longitude) == (55.735662, 37.678218)
    assert (chain[1].phone, chain[1].phone_confirmation, chain[0].phone_confirmation) == (
        "+7 495 509-24-46",
        True,
        False,
    )


async def test_entries_without_a_pin_an_id_or_online_booking(
    clock: FakeClock, made: list[AltegioClient]
) -> None:
    entries = [
        {"id": "1", "title": "Unset pin", "timezone": "Europe/Riga", "coordinate_lat": 0,
         "coordinate_lon": "0"},
        {"id": 2, "title": "No pin", "timezone_name": "Europe/Riga"},
        {"id": "3", "title": "Half a pin", "coordinate_lat": "56.9", "coordinate_lon": ""},
        {"id": "4", "title": "Closed", "active": 0, "coordinate_lat": 1, "coordinate_lon": 1},
        {"title": "No id"},
        {"id": "2", "title": "No pin, listed twice"},
        {"id": 5, "title": "Another chain's", "main_group": {"id": 9}},
    ]  # fmt: skip
    chain = await client_of(
        made, clock, Counted(answering({"success": True, "data": entries}))
    ).chain(100)
    assert [(c.id, c.latitude, c.longitude) for c in chain] == [
        (1, None, None),
        (2, None, None),
        (3, None, None),
        (5, None, None),
    ]
    assert [c.group_id for c in chain] == [100, 100, 100, 9]


def _paged(total: int, *, honours_page: bool) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        count = int(request.url.params["count"])
        page = int(request.url.params.get("page", "1")) if honours_page else 1
        ids = range(1 + (page - 1) * count, min(total, page * count) + 1)
        entries = [{"id": str(i), "title": f"Branch {i}", "timezone": "UTC"} for i in ids]
        return httpx.Response(200, json={"success": True, "data": entries, "meta": []})

    return handle


@pytest.mark.parametrize(("honours_page", "listed", "asked"), [(True, 60, 2), (False, 50, 2)])
async def test_a_long_chain_is_read_page_by_page(
    clock: FakeClock, made: list[AltegioClient], honours_page: bool, listed: int, asked: int
) -> None:
    wire = Counted(_paged(60, honours_page=honours_page))
    chain = await client_of(made, clock, wire).chain(1)
    assert len(chain) == listed and len({c.id for c in chain}) == listed
    assert len(wire.seen) == asked


async def test_a_chain_the_service_does_not_know_is_empty(
    clock: FakeClock, made: list[AltegioClient]
) -> None:
    missing = lambda request: httpx.Response(  # noqa: E731
        404, json={"success": False, "data": None, "meta": []}
    )
    assert await client_of(made, clock, Counted(missing)).chain(12345) == []


# --- the rules ---------------------------------------------------------------------------------


async def _sandbox_chain(
    sandbox: Sandbox, clock: FakeClock, made: list[AltegioClient]
) -> list[Company]:
    return await client_of(made, clock, Counted(sandbox.handle)).chain(SANDBOX_CHAIN_ID)


async def test_a_client_in_riga_sees_riga_first(
    sandbox: Sandbox, clock: FakeClock, made: list[AltegioClient]
) -> None:
    nearby = by_distance(await _sandbox_chain(sandbox, clock, made), *RIGA_OLD_TOWN)
    assert [n.company.id for n in nearby] == [RIGA, MITTE, KREUZBERG]
    assert nearby[0].km is not None and 0.5 < nearby[0].km < 2
    assert nearby[1].km is not None and 830 < nearby[1].km < 860


async def test_a_client_in_mitte_sees_the_nearer_berlin_location_first(
    sandbox: Sandbox, clock: FakeClock, made: list[AltegioClient]
) -> None:
    nearby = by_distance(await _sandbox_chain(sandbox, clock, made), *ALEXANDERPLATZ)
    assert [n.company.id for n in nearby] == [MITTE, KREUZBERG, RIGA]
    km = [round(n.km or 0, 1) for n in nearby]
    assert km[0] < 1 < km[1] < 3
    assert km[2] > 800


def test_locations_without_a_pin_come_last_in_the_chains_order() -> None:
    def place(ident: int, title: str, pin: tuple[float, float] | None = None) -> Company:
        lat, lon = pin or (None, None)
        return Company(ident, title, "Europe/Berlin", latitude=lat, longitude=lon)

    chain = [
        place(1, "Zeta"),
        place(2, "Far", (48.1372, 11.5756)),
        place(3, "Alpha"),
        place(4, "Near", (52.52, 13.40)),
    ]
    nearby = by_distance(chain, *ALEXANDERPLATZ)
    assert [(n.company.id, n.km is None) for n in nearby] == [
        (4, False),
        (2, False),
        (1, True),
        (3, True),
    ]
    assert [c.title for c in by_name(chain)] == ["Alpha", "Far", "Near", "Zeta"]


def test_names_are_sorted_case_and_accents_aside() -> None:
    chain = [
        Company(1, "Ōsaka Studio", "UTC"),
        Company(2, "aurora", "UTC", address="B"),
        Company(3, "Aurora", "UTC", address="A"),
        Company(4, "Édith", "UTC"),
    ]
    assert [c.id for c in by_name(chain)] == [3, 2, 4, 1]


def test_haversine() -> None:
    assert distance_km(52.5200, 13.4050, 52.5200, 13.4050) == 0
    # Berlin to Riga, as the crow flies.
    assert 840 < distance_km(52.5200, 13.4050, 56.9496, 24.1052) < 850
    # Across the antimeridian, the short way.
    assert distance_km(0, 179.5, 0, -179.5) == pytest.approx(111.2, abs=0.1)
    assert round(distance_km(0, 0, 0, 180)) == 20015
