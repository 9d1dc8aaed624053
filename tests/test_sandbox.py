"""The sandbox location answers in Altegio's wire format and keeps a consistent salon diary."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from standins.altegio.faults import CLIENT_IP_EXTENSION
from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN, Sandbox
from standins.altegio.seed import SANDBOX_COMPANY_ID, SANDBOX_SMS_COMPANY_ID
from standins.altegio.server import make_server

BERLIN = ZoneInfo("Europe/Berlin")
BASE_URL = "https://api.alteg.io/api"
PARTNER = f"Bearer {SANDBOX_PARTNER_TOKEN}"
CLIENT_PHONE = "+491701234567"

ANNA, JONAS, MIA, SOFIA, LUKAS = 2001, 2002, 2003, 2004, 2005
HAIRCUT, MENS_CUT, COLOUR, GEL, MASSAGE = 10001, 10002, 10004, 10007, 10012


class Clock:
    """A hand-moved clock, so nothing depends on when the tests run."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _client(sandbox: Sandbox, authorization: str | None = PARTNER) -> httpx.Client:
    headers = {"Accept": "application/vnd.api.v2+json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return httpx.Client(transport=sandbox.transport(), base_url=BASE_URL, headers=headers)


@pytest.fixture
def clock() -> Clock:
    # A Tuesday morning, before the salon opens.
    return Clock(datetime(2026, 6, 16, 9, 0, tzinfo=BERLIN))


@pytest.fixture
def sandbox(clock: Clock) -> Sandbox:
    return Sandbox(clock)


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with _client(sandbox) as client:
        yield client


Query = list[tuple[str, str | int | float | bool | None]]


def _services(*ids: int) -> Query:
    return [("service_ids[]", service_id) for service_id in ids]


def free_times(
    api: httpx.Client, staff_id: int, day: str, *services: int, company: int = SANDBOX_COMPANY_ID
) -> list[str]:
    response = api.get(f"/v1/book_times/{company}/{staff_id}/{day}", params=_services(*services))
    assert response.status_code == 200
    return [slot["time"] for slot in response.json()["data"]]


def quarter_hours(first: str, last: str) -> list[str]:
    start = datetime.strptime(first, "%H:%M").replace(tzinfo=UTC)
    end = datetime.strptime(last, "%H:%M").replace(tzinfo=UTC)
    times = []
    while start <= end:
        times.append(start.strftime("%H:%M"))
        start += timedelta(minutes=15)
    return times


def appointment(staff_id: int, when: str, *services: int, ref: int = 1) -> dict[str, Any]:
    return {"id": ref, "services": list(services), "staff_id": staff_id, "datetime": when}


def book(
    api: httpx.Client,
    *appointments: dict[str, Any],
    company: int = SANDBOX_COMPANY_ID,
    **fields: Any,
) -> httpx.Response:
    body = {"phone": CLIENT_PHONE, "fullname": "Eva Lorenz", "appointments": list(appointments)}
    body.update(fields)
    return api.post(f"/v1/book_record/{company}", json=body)


def error_codes(response: httpx.Response) -> list[tuple[int, Any]]:
    return [(error["code"], error.get("id")) for error in response.json()["meta"]["errors"]]


# -- authentication and envelopes -----------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Token {SANDBOX_PARTNER_TOKEN}", f"{PARTNER}, User", "Bearer"],
)
def test_requests_without_a_valid_partner_token_are_refused(
    sandbox: Sandbox, authorization: str | None
) -> None:
    with _client(sandbox, authorization) as client:
        response = client.get(f"/v1/company/{SANDBOX_COMPANY_ID}")
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "data": None,
        "meta": {"message": "Authentication needed."},
    }


def test_unknown_location_and_path_are_404_with_empty_meta(api: httpx.Client) -> None:
    for path in ("/v1/company/999", "/v1/book_services/abc", "/v1/no_such_thing/1001"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json() == {"success": False, "data": None, "meta": []}


def test_any_base_path_prefix_works(sandbox: Sandbox) -> None:
    with httpx.Client(
        transport=sandbox.transport(),
        base_url="http://localhost/some/proxy/api",
        headers={"Authorization": PARTNER},
    ) as client:
        assert client.get(f"/v1/company/{SANDBOX_COMPANY_ID}").status_code == 200


# -- catalogue ---------------------------------------------------------------------------------


def test_company_describes_the_location(api: httpx.Client) -> None:
    body = api.get(f"/v1/company/{SANDBOX_COMPANY_ID}").json()
    assert body["success"] is True
    assert body["meta"] == []
    data = body["data"]
    assert data["title"] == "Studio Aurora"
    assert data["timezone_name"] == "Europe/Berlin"
    assert data["currency_short_title"] == "EUR"
    assert data["phone_confirmation"] is False
    assert data["allow_change_record"] is True
    assert data["allow_change_record_delay_step"] == 7200
    assert data["allow_delete_record"] is True
    assert data["allow_delete_record_delay_step"] == 7200
    assert data["booking_comment_required"] is False
    assert data["booking_email_required"] is False
    assert "next_slot" not in data

    sms = api.get(f"/v1/company/{SANDBOX_SMS_COMPANY_ID}").json()["data"]
    assert sms["title"] == "Studio Aurora Mitte"
    assert sms["phone_confirmation"] is True


def test_company_next_slot_is_the_first_free_time_with_a_colon_offset(api: httpx.Client) -> None:
    data = api.get(f"/v1/company/{SANDBOX_COMPANY_ID}", params={"forBooking": 1}).json()["data"]
    # 09:00 now plus the 30-minute lead: Jonas and Mia can both start at 09:30.
    assert data["next_slot"] == "2026-06-16T09:30:00+02:00"


def test_book_services_lists_services_and_categories(api: httpx.Client) -> None:
    body = api.get(f"/v1/book_services/{SANDBOX_COMPANY_ID}").json()
    assert body["meta"] == []
    data = body["data"]
    assert set(data) == {"events", "services", "category"}
    services = {s["id"]: s for s in data["services"]}
    assert len(services) == 13
    assert all("seance_length" not in s for s in services.values())
    assert services[HAIRCUT]["price_min"] == 40
    assert services[HAIRCUT]["price_max"] == 60
    assert services[MENS_CUT]["price_min"] == "28"  # ids divisible by 3 send strings
    assert services[MENS_CUT]["price_max"] == "28"
    assert services[MENS_CUT]["gender"] == 1
    assert [c["title"] for c in data["category"]] == ["Hair", "Nails", "Brows & Lashes", "Massage"]
    assert all(c["api_id"] == "0" for c in data["category"])


def test_book_services_for_one_team_member_carries_their_durations(api: httpx.Client) -> None:
    data = api.get(f"/v1/book_services/{SANDBOX_COMPANY_ID}", params={"staff_id": JONAS}).json()
    services = {s["id"]: s for s in data["data"]["services"]}
    assert set(services) == {HAIRCUT, MENS_CUT, 10003}
    assert services[HAIRCUT]["seance_length"] == 75 * 60  # Jonas takes longer than Anna
    assert services[MENS_CUT]["seance_length"] == 30 * 60
    assert [c["id"] for c in data["data"]["category"]] == [501]


def test_book_services_at_a_time_keeps_what_fits(api: httpx.Client) -> None:
    params: dict[str, str | int] = {"staff_id": ANNA, "datetime": "2026-06-16T13:00"}
    services = api.get(f"/v1/book_services/{SANDBOX_COMPANY_ID}", params=params).json()
    # Anna is booked from 14:00: an hour-long cut fits at 13:00, a two-hour colour does not.
    ids = {s["id"] for s in services["data"]["services"]}
    assert HAIRCUT in ids
    assert COLOUR not in ids


def test_book_staff_lists_who_performs_the_services(api: httpx.Client) -> None:
    body = api.get(f"/v1/book_staff/{SANDBOX_COMPANY_ID}", params=_services(HAIRCUT)).json()
    assert body["meta"] == {"count": 2}
    anna, jonas = body["data"]
    assert anna["id"] == "2001"
    assert anna["position"] == {"id": 11, "title": "Senior stylist"}
    assert anna["rating"] == 4.9
    assert jonas["id"] == "2002"
    assert jonas["position"] == []
    assert jonas["rating"] == "4.6"
    assert anna["bookable"] is True
    assert anna["seance_date"] == "2026-06-16"

    massage = api.get(f"/v1/book_staff/{SANDBOX_COMPANY_ID}", params=_services(MASSAGE)).json()
    assert [m["id"] for m in massage["data"]] == [str(LUKAS)]
    assert massage["data"][0]["seance_date"] == "2026-06-17"  # Lukas does not work Tuesdays


def test_book_staff_at_a_time_keeps_only_who_is_free_then(api: httpx.Client) -> None:
    params: Query = [*_services(MENS_CUT), ("datetime", "2026-06-16T10:00:00+02:00")]
    data = api.get(f"/v1/book_staff/{SANDBOX_COMPANY_ID}", params=params).json()["data"]
    assert [m["id"] for m in data] == [str(JONAS)]  # Anna has a client at 10:00


def test_book_staff_seances_gives_the_nearest_day(api: httpx.Client) -> None:
    response = api.get(
        f"/v1/book_staff_seances/{SANDBOX_COMPANY_ID}/{LUKAS}", params=_services(MASSAGE)
    )
    data = response.json()["data"]
    assert data["seance_date"] == "2026-06-17"
    assert data["seances"][0] == {
        "time": "10:00",
        "seance_length": 3600,
        "sum_length": 3600,
        "datetime": "2026-06-17T10:00:00+02:00",
    }


def test_book_dates_shapes_and_ranges(api: httpx.Client) -> None:
    params: Query = [*_services(MASSAGE), ("date_from", "2026-06-15"), ("date_to", "2026-06-21")]
    data = api.get(f"/v1/book_dates/{SANDBOX_COMPANY_ID}", params=params).json()["data"]
    # Lukas works Monday, Wednesday, Friday and Saturday; Monday the 15th is already past.
    assert data["working_dates"] == ["2026-06-15", "2026-06-17", "2026-06-19", "2026-06-20"]
    assert data["working_days"] == {"6": [15, 17, 19, 20]}
    assert data["booking_dates"] == ["2026-06-17", "2026-06-19", "2026-06-20"]
    assert data["booking_days"] == {"6": [17, 19, 20]}

    month = api.get(
        f"/v1/book_dates/{SANDBOX_COMPANY_ID}", params=[*_services(MASSAGE), ("date", "2026-07-09")]
    ).json()["data"]
    assert month["booking_dates"][0] == "2026-07-01"
    assert month["booking_dates"][-1] == "2026-07-31"
    assert set(month["booking_days"]) == {"7"}

    default = api.get(f"/v1/book_dates/{SANDBOX_COMPANY_ID}").json()["data"]
    assert default["booking_dates"][0] == "2026-06-16"
    assert default["booking_dates"][-1] <= "2026-07-16"

    nobody = api.get(f"/v1/book_dates/{SANDBOX_COMPANY_ID}", params=_services(MASSAGE, GEL))
    assert nobody.json()["data"] == {
        "booking_days": [],
        "booking_dates": [],
        "working_days": [],
        "working_dates": [],
    }


# -- free time ---------------------------------------------------------------------------------


def test_book_times_skips_taken_slots_and_keeps_visits_inside_the_shift(api: httpx.Client) -> None:
    response = api.get(
        f"/v1/book_times/{SANDBOX_COMPANY_ID}/{ANNA}/2026-06-16", params=_services(HAIRCUT)
    )
    body = response.json()
    assert body["meta"] == []
    assert body["data"][0] == {
        "time": "11:00",
        "seance_length": 3600,
        "sum_length": 3600,
        "datetime": "2026-06-16T11:00:00+02:00",
    }
    # Anna is booked 10:00-11:00 and 14:00-16:00 and leaves at 19:00.
    assert free_times(api, ANNA, "2026-06-16", HAIRCUT) == [
        *quarter_hours("11:00", "13:00"),
        *quarter_hours("16:00", "18:00"),
    ]


def test_book_times_hides_the_past_and_the_next_half_hour(api: httpx.Client) -> None:
    # Jonas starts at 09:00, it is 09:00 now; his 75-minute cut must end before 11:00.
    assert free_times(api, JONAS, "2026-06-16", HAIRCUT) == [
        "09:30",
        "09:45",
        *quarter_hours("12:15", "15:45"),
    ]
    assert free_times(api, JONAS, "2026-06-15", HAIRCUT) == []


def test_book_times_respects_breaks(api: httpx.Client) -> None:
    # Mia lunches 13:00-14:00 and has a client 10:00-11:00.
    assert free_times(api, MIA, "2026-06-16", GEL) == [
        *quarter_hours("11:00", "12:00"),
        *quarter_hours("14:00", "17:00"),
    ]


def test_book_times_sums_the_chosen_services(api: httpx.Client) -> None:
    data = api.get(
        f"/v1/book_times/{SANDBOX_COMPANY_ID}/{ANNA}/2026-06-16",
        params=_services(HAIRCUT, MENS_CUT),
    ).json()["data"]
    assert {slot["sum_length"] for slot in data} == {90 * 60}
    assert [slot["time"] for slot in data][-1] == "17:30"


def test_book_times_for_any_team_member_is_the_union(api: httpx.Client) -> None:
    data = api.get(
        f"/v1/book_times/{SANDBOX_COMPANY_ID}/0/2026-06-16", params=_services(HAIRCUT)
    ).json()["data"]
    times = [slot["time"] for slot in data]
    assert times == ["09:30", "09:45", *quarter_hours("11:00", "18:00")]
    assert len(set(slot["datetime"] for slot in data)) == len(data)
    by_time = {slot["time"]: slot["sum_length"] for slot in data}
    assert by_time["09:30"] == 75 * 60  # only Jonas is free then
    assert by_time["11:00"] == 60 * 60  # Anna is


def test_book_times_for_someone_who_does_not_do_the_service_is_empty(api: httpx.Client) -> None:
    assert free_times(api, MIA, "2026-06-16", HAIRCUT) == []
    assert api.get(f"/v1/book_times/{SANDBOX_COMPANY_ID}/9999/2026-06-16").status_code == 404


def test_salon_side_changes_show_in_free_time(sandbox: Sandbox, api: httpx.Client) -> None:
    anna_at_ten = next(
        r
        for r in sandbox.records(SANDBOX_COMPANY_ID)
        if r["staff_id"] == ANNA and r["start"].hour == 10
    )
    sandbox.salon_cancel(anna_at_ten["record_id"])
    assert "10:00" in free_times(api, ANNA, "2026-06-16", HAIRCUT)

    sandbox.salon_move(anna_at_ten["record_id"], datetime(2026, 6, 16, 17, 0, tzinfo=BERLIN))
    moved = next(r for r in sandbox.records() if r["record_id"] == anna_at_ten["record_id"])
    assert moved["start"] == datetime(2026, 6, 16, 17, 0, tzinfo=BERLIN)


# -- SMS codes ---------------------------------------------------------------------------------


def test_book_code_sends_a_code(clock: Clock) -> None:
    sent: list[tuple[int, str, str]] = []
    sandbox = Sandbox(
        clock, on_sms=lambda company, phone, code: sent.append((company, phone, code))
    )
    with _client(sandbox) as api:
        response = api.post(
            f"/v1/book_code/{SANDBOX_SMS_COMPANY_ID}",
            json={"phone": CLIENT_PHONE, "fulname": "Eva"},
        )
        assert response.status_code == 201
        assert response.json() == {"success": True, "meta": {"message": "Created"}}
        code = sandbox.last_sms_code(SANDBOX_SMS_COMPANY_ID, CLIENT_PHONE)
        assert code is not None
        assert len(code) == 4
        assert code.isdigit()
        assert sent == [(SANDBOX_SMS_COMPANY_ID, CLIENT_PHONE, code)]

        hook = api.get(
            "/__sandbox/sms", params={"company_id": SANDBOX_SMS_COMPANY_ID, "phone": CLIENT_PHONE}
        )
        assert hook.json()["code"] == code

        bad = api.post(f"/v1/book_code/{SANDBOX_SMS_COMPANY_ID}", json={"phone": "12"})
        assert bad.status_code == 422
        assert error_codes(bad) == [(431, None)]


# -- book_check --------------------------------------------------------------------------------


def test_book_check_accepts_a_free_slot_without_writing(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    before = sandbox.records()
    response = api.post(
        f"/v1/book_check/{SANDBOX_COMPANY_ID}",
        json={"appointments": [appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT)]},
    )
    assert response.status_code == 201
    assert response.json() == {"success": True, "data": None, "meta": {"message": "Created"}}
    assert sandbox.records() == before


@pytest.mark.parametrize(
    ("appointments", "expected"),
    [
        ([appointment(ANNA, "2026-06-16T10:00:00+02:00", HAIRCUT, ref=7)], [(433, 7)]),
        ([appointment(ANNA, "2026-06-16T18:30:00+02:00", HAIRCUT, ref=7)], [(433, 7)]),
        ([appointment(0, "2026-06-16T10:00:00+02:00", COLOUR, ref=3)], [(436, 3)]),
        ([appointment(ANNA, "2026-06-16T11:00:00+02:00", 99999, ref=4)], [(438, 4)]),
        ([appointment(MIA, "2026-06-16T11:00:00+02:00", HAIRCUT, ref=4)], [(438, 4)]),
        (
            [
                appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT, ref=1),
                appointment(MIA, "2026-06-16T11:30:00+02:00", GEL, ref=2),
            ],
            [(437, 2)],
        ),
        (
            [
                appointment(ANNA, "2026-06-16T10:00:00+02:00", HAIRCUT, ref=1),
                appointment(MIA, "2026-06-16T11:00:00+02:00", GEL, ref=2),
                appointment(0, "2026-06-16T11:00:00+02:00", 424242, ref=3),
            ],
            [(433, 1), (438, 3)],
        ),
    ],
)
def test_book_check_reports_each_failing_appointment(
    api: httpx.Client, appointments: list[dict[str, Any]], expected: list[tuple[int, int]]
) -> None:
    response = api.post(f"/v1/book_check/{SANDBOX_COMPANY_ID}", json={"appointments": appointments})
    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False
    assert body["data"] is None
    assert body["meta"]["message"]
    assert error_codes(response) == expected


# -- book_record -------------------------------------------------------------------------------


def test_book_record_creates_a_record(sandbox: Sandbox, api: httpx.Client) -> None:
    response = book(
        api,
        appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT, ref=5),
        email="eva@example.com",
        comment="Fringe only",
        api_id=77,
        notify_by_sms=2,
        notify_by_email=24,
        bookform_id=10010,
        isMobile=True,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["meta"] == []
    [created] = body["data"]
    assert created["id"] == 5
    assert len(created["record_hash"]) == 32
    int(created["record_hash"], 16)

    record = sandbox.records()[-1]
    assert record["record_id"] == created["record_id"]
    assert record["start"] == datetime(2026, 6, 16, 11, 0, tzinfo=BERLIN)
    assert record["master_requested"] is True
    assert record["email"] == "eva@example.com"
    assert record["comment"] == "Fringe only"
    assert record["api_id"] == "77"
    assert record["notify_by_sms"] == 2
    assert record["notify_by_email"] == 24
    assert "11:00" not in free_times(api, ANNA, "2026-06-16", HAIRCUT)


def test_book_record_for_any_team_member_picks_a_free_one(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    # Anna has a client at 10:00, so the booking goes to Jonas.
    response = book(api, appointment(0, "2026-06-16T09:30:00+02:00", HAIRCUT))
    assert response.status_code == 201
    record = sandbox.records()[-1]
    assert record["staff_id"] == JONAS
    assert record["master_requested"] is False
    assert record["length"] == 75 * 60


@pytest.mark.parametrize(
    "when",
    [
        "2026-06-16T11:00:00",
        "2026-06-16 11:00:00",
        "2026-06-16T11:00:00+0200",
        "2026-06-16T09:00:00Z",
    ],
)
def test_book_record_reads_naive_times_as_local_and_any_offset_style(
    sandbox: Sandbox, api: httpx.Client, when: str
) -> None:
    assert book(api, appointment(ANNA, when, HAIRCUT)).status_code == 201
    assert sandbox.records()[-1]["start"] == datetime(2026, 6, 16, 11, 0, tzinfo=BERLIN)


def test_book_record_is_all_or_nothing(sandbox: Sandbox, api: httpx.Client) -> None:
    before = sandbox.records()
    response = book(
        api,
        appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT, ref=1),
        appointment(ANNA, "2026-06-16T14:00:00+02:00", HAIRCUT, ref=2),
    )
    assert response.status_code == 422
    assert error_codes(response) == [(433, 2)]
    assert sandbox.records() == before


def test_book_record_keeps_a_visit_of_several_services(sandbox: Sandbox, api: httpx.Client) -> None:
    # Two services with one team member: one record holding both, as long as both together.
    response = book(api, appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT, 10003, ref=1))
    assert response.status_code == 201
    [created] = response.json()["data"]
    record = sandbox.records()[-1]
    assert record["record_id"] == created["record_id"]
    assert record["service_ids"] == [HAIRCUT, 10003]
    assert record["length"] == 105 * 60
    read = api.get(
        f"/v1/book_record/{SANDBOX_COMPANY_ID}/{created['record_id']}/{created['record_hash']}"
    ).json()
    read = read.get("data", read)
    assert [s["id"] for s in read["services"]] == [HAIRCUT, 10003]
    # Consecutive appointments with two team members: one record each, in one request.
    day = "2026-06-18"
    anna = api.get(f"/v1/book_times/{SANDBOX_COMPANY_ID}/{ANNA}/{day}?service_ids[]={HAIRCUT}")
    mia = api.get(f"/v1/book_times/{SANDBOX_COMPANY_ID}/{MIA}/{day}?service_ids[]={GEL}")
    mia_times = {s["datetime"]: s for s in mia.json()["data"]}
    first, second = next(
        (s["datetime"], after)
        for s in anna.json()["data"]
        if (after := s["datetime"].replace(s["time"], f"{int(s['time'][:2]) + 1:02d}:00"))
        in mia_times
        and s["time"].endswith(":00")
    )
    response = book(
        api,
        appointment(ANNA, first, HAIRCUT, ref=1),
        appointment(MIA, second, GEL, ref=2),
    )
    assert response.status_code == 201, response.text
    assert [c["id"] for c in response.json()["data"]] == [1, 2]
    assert [(r["staff_id"], r["service_ids"]) for r in sandbox.records()[-2:]] == [
        (ANNA, [HAIRCUT]),
        (MIA, [GEL]),
    ]


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"phone": "0170-1234"}, 422, 431),
        ({"phone": "+49 170 1234567"}, 422, 431),
        ({"phone": "+4915200000666", "fullname": ""}, 403, 434),  # blacklist before the name
        ({"fullname": "  "}, 422, 435),
        ({"fullname": None}, 422, 435),
    ],
)
def test_book_record_checks_the_client_first(
    api: httpx.Client, fields: dict[str, Any], status: int, code: int
) -> None:
    # The appointment is also bad (a taken slot), but client checks come first.
    response = book(api, appointment(ANNA, "2026-06-16T10:00:00+02:00", HAIRCUT), **fields)
    assert response.status_code == status
    assert error_codes(response) == [(code, None)]
    assert response.json()["meta"]["message"]


def test_book_record_at_the_sms_location_needs_the_code(
    clock: Clock, sandbox: Sandbox, api: httpx.Client
) -> None:
    clara_free = appointment(2101, "2026-06-16T14:00:00+02:00", 11001)
    missing = book(api, clara_free, company=SANDBOX_SMS_COMPANY_ID)
    assert missing.status_code == 422
    assert error_codes(missing) == [(432, None)]

    api.post(f"/v1/book_code/{SANDBOX_SMS_COMPANY_ID}", json={"phone": CLIENT_PHONE})
    code = sandbox.last_sms_code(SANDBOX_SMS_COMPANY_ID, CLIENT_PHONE)
    assert code is not None
    wrong = book(api, clara_free, company=SANDBOX_SMS_COMPANY_ID, code="0000")
    assert error_codes(wrong) == [(432, None)]
    # A code sent for the other location does not count here.
    other = book(api, clara_free, company=SANDBOX_COMPANY_ID, code=code)
    assert other.status_code == 422

    clock.advance(minutes=6)
    expired = book(api, clara_free, company=SANDBOX_SMS_COMPANY_ID, code=code)
    assert error_codes(expired) == [(432, None)]

    api.post(f"/v1/book_code/{SANDBOX_SMS_COMPANY_ID}", json={"phone": CLIENT_PHONE})
    fresh = sandbox.last_sms_code(SANDBOX_SMS_COMPANY_ID, CLIENT_PHONE)
    assert fresh is not None
    ok = book(api, clara_free, company=SANDBOX_SMS_COMPANY_ID, code=int(fresh))
    assert ok.status_code == 201


def test_the_default_location_books_without_a_code(api: httpx.Client) -> None:
    response = book(api, appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT))
    assert response.status_code == 201


# -- reading records back ----------------------------------------------------------------------


def test_record_reads_back_bare_with_colonless_offsets(api: httpx.Client) -> None:
    created = book(api, appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT)).json()["data"][0]
    response = api.get(
        f"/v1/book_record/{SANDBOX_COMPANY_ID}/{created['record_id']}/{created['record_hash']}"
    )
    assert response.status_code == 200
    record = response.json()
    assert "success" not in record
    assert record["id"] == created["record_id"]
    assert record["datetime"] == "2026-06-16T11:00:00+0200"
    assert record["date"] == "2026-06-16 11:00:00"
    assert record["create_date"] == "2026-06-16T09:00:00+0200"
    assert record["last_change_date"] == "2026-06-16T09:00:00+0200"
    assert record["length"] == 3600
    assert record["deleted"] is False
    assert record["master_requested"] is True
    assert record["api_id"] == ""
    assert record["services"] == [
        {
            "id": HAIRCUT,
            "title": "Women's haircut",
            "cost": 40,
            "price_min": 40,
            "price_max": 60,
            "discount": 0,
            "amount": 1,
            "seance_length": 3600,
        }
    ]
    assert record["staff"]["name"] == "Anna Weber"
    assert record["company"]["currency_short_title"] == "EUR"
    assert record["company"]["allow_delete_record_delay_step"] == 7200

    wrong = api.get(f"/v1/book_record/{SANDBOX_COMPANY_ID}/{created['record_id']}/{'0' * 32}")
    assert wrong.status_code == 404
    elsewhere = api.get(
        f"/v1/book_record/{SANDBOX_SMS_COMPANY_ID}/{created['record_id']}/{created['record_hash']}"
    )
    assert elsewhere.status_code == 404


# -- the client's own cabinet ------------------------------------------------------------------


def test_user_auth_trades_the_sms_code_for_a_token(sandbox: Sandbox, api: httpx.Client) -> None:
    api.post(
        f"/v1/book_code/{SANDBOX_COMPANY_ID}",
        json={"phone": CLIENT_PHONE, "fullname": "Eva Lorenz"},
    )
    wrong = api.post("/v1/user/auth", json={"phone": CLIENT_PHONE, "code": "0000"})
    assert wrong.status_code == 422
    assert error_codes(wrong) == [(432, None)]

    code = sandbox.last_sms_code(SANDBOX_COMPANY_ID, CLIENT_PHONE)
    response = api.post("/v1/user/auth", json={"phone": CLIENT_PHONE, "code": code})
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert data["0"] == data["user_token"]
    assert data["name"] == "Eva Lorenz"
    assert data["phone"] == "491701234567"
    again = api.post("/v1/user/auth", json={"phone": CLIENT_PHONE, "code": code}).json()
    assert again["data"]["user_token"] == data["user_token"]


def test_user_records_with_a_token_lists_all_the_clients_visits(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    first = book(api, appointment(ANNA, "2026-06-17T15:00:00+02:00", HAIRCUT)).json()["data"][0]
    book(api, appointment(MIA, "2026-06-16T14:00:00+02:00", GEL))
    token = sandbox.add_user_token(CLIENT_PHONE)

    mine = api.get(
        f"/v1/user/records/{first['record_id']}/{first['record_hash']}",
        headers={"Authorization": f"{PARTNER}, User {token}"},
    )
    assert mine.status_code == 201
    assert [r["datetime"] for r in mine.json()["data"]] == [
        "2026-06-16T14:00:00+0200",
        "2026-06-17T15:00:00+0200",
    ]

    no_hash = api.get(
        f"/v1/user/records/{first['record_id']}/",
        headers={"Authorization": f"{PARTNER}, User {token}"},
    )
    assert len(no_hash.json()["data"]) == 2

    by_hash = api.get(f"/v1/user/records/{first['record_id']}/{first['record_hash']}")
    assert by_hash.status_code == 201
    assert [r["id"] for r in by_hash.json()["data"]] == [first["record_id"]]
    assert api.get(f"/v1/user/records/{first['record_id']}/{'f' * 32}").status_code == 404

    unknown_user = api.get(
        f"/v1/user/records/{first['record_id']}/{first['record_hash']}",
        headers={"Authorization": f"{PARTNER}, User nobody"},
    )
    assert unknown_user.status_code == 401


def test_cancel_once_then_404(sandbox: Sandbox, api: httpx.Client) -> None:
    created = book(api, appointment(ANNA, "2026-06-17T15:00:00+02:00", HAIRCUT)).json()["data"][0]
    path = f"/v1/user/records/{created['record_id']}/{created['record_hash']}"
    first = api.delete(path)
    assert first.status_code == 200
    assert first.json() == {"success": True, "data": None, "meta": []}
    assert api.delete(path).status_code == 404
    readback = api.get(
        f"/v1/book_record/{SANDBOX_COMPANY_ID}/{created['record_id']}/{created['record_hash']}"
    )
    assert readback.json()["deleted"] is True
    assert "15:00" in free_times(api, ANNA, "2026-06-17", HAIRCUT)


def test_cancel_is_refused_close_to_the_visit(clock: Clock, api: httpx.Client) -> None:
    created = book(api, appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT)).json()["data"][0]
    clock.advance(minutes=1)  # now less than two hours before the visit
    response = api.delete(f"/v1/user/records/{created['record_id']}/{created['record_hash']}")
    assert response.status_code == 422
    assert response.json()["meta"]["message"]
    assert "errors" not in response.json()["meta"]


def test_cancel_of_someone_elses_record_is_denied(sandbox: Sandbox, api: httpx.Client) -> None:
    created = book(api, appointment(ANNA, "2026-06-17T15:00:00+02:00", HAIRCUT)).json()["data"][0]
    stranger = sandbox.add_user_token("+491709999999")
    response = api.delete(
        f"/v1/user/records/{created['record_id']}/{created['record_hash']}",
        headers={"Authorization": f"{PARTNER}, User {stranger}"},
    )
    assert response.status_code == 403
    assert response.json()["meta"] == {"message": "Access denied."}


def test_reschedule(clock: Clock, sandbox: Sandbox, api: httpx.Client) -> None:
    created = book(api, appointment(ANNA, "2026-06-18T10:00:00+02:00", HAIRCUT)).json()["data"][0]
    path = f"/v1/book_record/{SANDBOX_COMPANY_ID}/{created['record_id']}"
    token = sandbox.add_user_token(CLIENT_PHONE)
    as_client = {"Authorization": f"{PARTNER}, User {token}"}
    new_time = {"datetime": "2026-06-18T15:00:00+02:00", "comment": "Afternoon suits better"}

    assert api.put(path, json=new_time).status_code == 401
    stranger = sandbox.add_user_token("+491709999999")
    denied = api.put(path, json=new_time, headers={"Authorization": f"{PARTNER}, User {stranger}"})
    assert denied.status_code == 403

    taken = api.put(path, json={"datetime": "2026-06-17T11:00:00+02:00"}, headers=as_client)
    assert taken.status_code == 422
    assert error_codes(taken) == [(433, None)]

    moved = api.put(path, json=new_time, headers=as_client)
    assert moved.status_code == 200
    data = moved.json()["data"]
    assert data["id"] == created["record_id"]
    assert data["date"] == "2026-06-18 15:00:00"
    assert data["comment"] == "Afternoon suits better"
    assert data["staff"]["spec"] == "Hair stylist & colourist"
    assert set(data["services"][0]) == {"id", "title", "cost", "discount"}
    assert "10:00" in free_times(api, ANNA, "2026-06-18", HAIRCUT)
    assert "15:00" not in free_times(api, ANNA, "2026-06-18", HAIRCUT)

    clock.now = datetime(2026, 6, 18, 13, 30, tzinfo=BERLIN)
    too_late = api.put(path, json={"datetime": "2026-06-18T17:00:00+02:00"}, headers=as_client)
    assert too_late.status_code == 422
    assert set(too_late.json()["meta"]) == {"message"}


def test_concurrent_bookings_of_one_slot_let_exactly_one_through(sandbox: Sandbox) -> None:
    body = {
        "phone": CLIENT_PHONE,
        "fullname": "Eva Lorenz",
        "appointments": [appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT)],
    }
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        request = httpx.Request(
            "POST",
            f"{BASE_URL}/v1/book_record/{SANDBOX_COMPANY_ID}",
            headers={"Authorization": PARTNER},
            json=body,
        )
        barrier.wait()
        statuses.append(sandbox.handle(request).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [422] * 7


async def test_works_with_the_async_client(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url=BASE_URL, headers={"Authorization": PARTNER}
    ) as api:
        response = await api.post(
            f"/v1/book_record/{SANDBOX_COMPANY_ID}",
            json={
                "phone": CLIENT_PHONE,
                "fullname": "Eva Lorenz",
                "appointments": [appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT)],
            },
        )
    assert response.status_code == 201


# -- rate limit --------------------------------------------------------------------------------


def test_rate_limit_per_second_and_per_minute(clock: Clock) -> None:
    sandbox = Sandbox(clock, enforce_rate_limit=True)
    path = f"/v1/company/{SANDBOX_COMPANY_ID}"
    with _client(sandbox) as api:
        assert [api.get(path).status_code for _ in range(5)] == [200] * 5
        limited = api.get(path)
        assert limited.status_code == 429
        assert limited.json() == {
            "success": False,
            "data": None,
            "meta": {"message": "Too Many Requests"},
        }
        clock.advance(seconds=1)

        # Five a second stays under the per-second window but fills the minute.
        for _ in range(39):
            for _ in range(5):
                assert api.get(path).status_code == 200
            clock.advance(seconds=1)
        assert api.get(path).status_code == 429  # 200 accepted within the last minute
        clock.advance(seconds=20)  # the first five leave the window
        assert [api.get(path).status_code for _ in range(6)] == [200] * 5 + [429]


def test_rate_limit_is_per_client_ip(clock: Clock) -> None:
    sandbox = Sandbox(clock, enforce_rate_limit=True)

    def call(ip: str) -> int:
        request = httpx.Request(
            "GET",
            f"{BASE_URL}/v1/company/{SANDBOX_COMPANY_ID}",
            headers={"Authorization": PARTNER},
            extensions={CLIENT_IP_EXTENSION: ip},
        )
        return sandbox.handle(request).status_code

    assert [call("10.0.0.1") for _ in range(6)] == [200] * 5 + [429]
    assert call("10.0.0.2") == 200


def test_no_rate_limit_unless_asked(api: httpx.Client) -> None:
    path = f"/v1/company/{SANDBOX_COMPANY_ID}"
    assert {api.get(path).status_code for _ in range(20)} == {200}


# -- daylight saving time ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "before", "after"),
    [
        # The clocks go back on Sunday 25 October 2026.
        (
            datetime(2026, 10, 20, 9, 0, tzinfo=BERLIN),
            ("2026-10-24", "+02:00"),
            ("2026-10-26", "+01:00"),
        ),
        # They go forward on Sunday 29 March 2026.
        (
            datetime(2026, 3, 24, 9, 0, tzinfo=BERLIN),
            ("2026-03-28", "+01:00"),
            ("2026-03-30", "+02:00"),
        ),
    ],
)
def test_offsets_follow_daylight_saving_time(
    now: datetime, before: tuple[str, str], after: tuple[str, str]
) -> None:
    sandbox = Sandbox(Clock(now))
    with _client(sandbox) as api:
        saturday, saturday_offset = before
        monday, monday_offset = after
        anna = api.get(
            f"/v1/book_times/{SANDBOX_COMPANY_ID}/{ANNA}/{saturday}", params=_services(HAIRCUT)
        ).json()["data"]
        assert anna[0]["datetime"] == f"{saturday}T10:00:00{saturday_offset}"
        jonas = api.get(
            f"/v1/book_times/{SANDBOX_COMPANY_ID}/{JONAS}/{monday}", params=_services(MENS_CUT)
        ).json()["data"]
        assert jonas[0]["time"] == "09:00"
        assert jonas[0]["datetime"] == f"{monday}T09:00:00{monday_offset}"
        assert jonas[-1]["time"] == "16:30"

        created = book(api, appointment(JONAS, jonas[0]["datetime"], MENS_CUT)).json()["data"][0]
        record = api.get(
            f"/v1/book_record/{SANDBOX_COMPANY_ID}/{created['record_id']}/{created['record_hash']}"
        ).json()
        assert record["datetime"] == f"{monday}T09:00:00{monday_offset.replace(':', '')}"
        assert record["date"] == f"{monday} 09:00:00"
        start = sandbox.records()[-1]["start"]
        expected_utc_hour = 9 - int(monday_offset[1:3])
        assert start.astimezone(UTC).hour == expected_utc_hour


# -- over a real socket ------------------------------------------------------------------------


def test_served_over_http(clock: Clock) -> None:
    sandbox = Sandbox(clock, enforce_rate_limit=True)
    server = make_server(sandbox, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        base = f"http://{host!s}:{port}/api"
        with httpx.Client(base_url=base, headers={"Authorization": PARTNER}, timeout=5) as api:
            company = api.get(f"/v1/company/{SANDBOX_COMPANY_ID}")
            assert company.status_code == 200
            assert company.headers["content-type"].startswith("application/json")
            assert company.json()["data"]["title"] == "Studio Aurora"

            sent = api.post(f"/v1/book_code/{SANDBOX_COMPANY_ID}", json={"phone": CLIENT_PHONE})
            assert sent.status_code == 201
            hook = api.get("/__sandbox/sms", params={"phone": CLIENT_PHONE})
            assert hook.json()["code"] == sandbox.last_sms_code(SANDBOX_COMPANY_ID, CLIENT_PHONE)

            created = book(api, appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT))
            assert created.status_code == 201
            records = api.get("/__sandbox/records", params={"company_id": SANDBOX_COMPANY_ID})
            assert records.json()[-1]["start"] == "2026-06-16T11:00:00+02:00"

            # The limiter sees the socket's address: three requests so far, two more allowed.
            statuses = [api.get(f"/v1/company/{SANDBOX_COMPANY_ID}").status_code for _ in range(3)]
            assert statuses == [200, 200, 429]

        with httpx.Client(base_url=base, timeout=5) as anonymous:
            clock.advance(seconds=1)
            assert anonymous.get(f"/v1/company/{SANDBOX_COMPANY_ID}").status_code == 401
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- location settings changed while running ---------------------------------------------------

# Every key the full `GET company` has always sent: new settings must not leak into it.
FULL_COMPANY_KEYS = {
    "id", "title", "timezone_name", "country_id", "country", "city_id", "city", "address", "zip",
    "phone", "site", "coordinate_lat", "coordinate_lon", "short_descr", "currency_short_title",
    "phone_confirmation", "allow_change_record", "allow_change_record_delay_step",
    "allow_delete_record", "allow_delete_record_delay_step", "public_title", "business_type_id",
    "phones", "description", "active_staff_count", "booking_comment_required",
    "booking_email_required", "booking_comment_input_name", "booking_notify_text",
    "reminds_sms_disabled", "main_group_id", "bookforms", "payment_policy",
}  # fmt: skip

DOCUMENTED_COMPANY_KEYS = {
    "id", "title", "country_id", "country", "city_id", "city", "timezone_name", "address", "zip",
    "coordinate_lat", "coordinate_lon", "short_descr", "social", "site", "business_type_id",
    "description", "phone_confirmation", "active_staff_count", "group_priority",
    "push_notification_phone_confirm", "main_group_id", "main_group", "bookforms",
    "payment_policy",
}  # fmt: skip


def company(api: httpx.Client, cid: int = SANDBOX_COMPANY_ID, **params: Any) -> dict[str, Any]:
    response = api.get(f"/v1/company/{cid}", params=params)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()["data"]
    return data


def test_full_company_shows_the_booking_settings_and_nothing_internal(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    assert set(company(api)) == FULL_COMPANY_KEYS
    assert set(company(api, forBooking=1)) == FULL_COMPANY_KEYS | {"next_slot"}
    sandbox.configure(
        SANDBOX_COMPANY_ID,
        booking_email_required=True,
        booking_comment_required=True,
        booking_comment_input_name="Wishes",
        privacy_policy="<p>Private</p>",
        default_notify_by_sms=12,
        default_notify_by_email=6,
        timezone_form="name",
        error_form="message",
        error_language="ru",
    )
    data = company(api)
    assert set(data) == FULL_COMPANY_KEYS
    assert data["booking_email_required"] is True
    assert data["booking_comment_required"] is True
    assert data["booking_comment_input_name"] == "Wishes"
    assert "Private" not in json.dumps(data)
    assert company(api, SANDBOX_SMS_COMPANY_ID)["booking_email_required"] is False


def test_configure_refuses_what_a_location_cannot_be(sandbox: Sandbox, api: httpx.Client) -> None:
    before = company(api)
    with pytest.raises(TypeError):
        sandbox.configure(SANDBOX_COMPANY_ID, no_such_field=1)
    with pytest.raises(TypeError):
        sandbox.configure(SANDBOX_COMPANY_ID, booking_email_required="yes")
    with pytest.raises(TypeError):
        sandbox.configure(SANDBOX_COMPANY_ID, default_notify_by_sms=True)
    with pytest.raises(ValueError, match="error_form"):
        sandbox.configure(SANDBOX_COMPANY_ID, error_form="shouting")
    with pytest.raises(ValueError, match="timezone"):
        sandbox.configure(SANDBOX_COMPANY_ID, timezone_name="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="id"):
        sandbox.configure(SANDBOX_COMPANY_ID, id=1003)
    with pytest.raises(KeyError):
        sandbox.configure(999, title="Nowhere")
    # A refused change changes nothing, not even its valid parts.
    with pytest.raises(ValueError):
        sandbox.configure(SANDBOX_COMPANY_ID, title="Renamed", company_shape="tiny")
    assert company(api) == before


def test_documented_company_shape_is_exactly_get_location(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    sandbox.configure(SANDBOX_COMPANY_ID, company_shape="documented")
    data = company(api)
    assert set(data) == DOCUMENTED_COMPANY_KEYS
    assert data["timezone_name"] == "Europe/Berlin"
    assert data["main_group"] == {"id": 100, "title": "Studio Aurora"}  # the chain 100
    assert data["social"] == dict.fromkeys(
        ("facebook", "instagram", "telegram", "whatsapp", "viber"), ""
    )
    assert data["bookforms"][0]["url"] == "https://n10010.alteg.io/"
    assert data["payment_policy"] == {"type": "none"}

    everything = company(api, forBooking=1, show_groups=1, bookform_id=10010, my=1)
    assert set(everything) == DOCUMENTED_COMPANY_KEYS | {
        "next_slot",
        "groups",
        "online_sales_form_url",
        "access",
    }
    assert everything["next_slot"] == "2026-06-16T09:30:00+02:00"
    assert everything["access"] == {}

    # Records keep their company block whatever the location answers itself.
    created = book(api, appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT)).json()["data"][0]
    record = api.get(
        f"/v1/book_record/{SANDBOX_COMPANY_ID}/{created['record_id']}/{created['record_hash']}"
    ).json()
    assert record["company"]["phone"] == "+493012345670"
    assert record["company"]["currency_short_title"] == "EUR"
    assert record["company"]["allow_change_record"] is True


@pytest.mark.parametrize(
    ("zone", "now", "offset"),
    [
        ("Europe/Berlin", datetime(2026, 6, 16, 7, 0, tzinfo=UTC), 2),
        ("America/New_York", datetime(2026, 6, 16, 7, 0, tzinfo=UTC), -4),
        ("America/New_York", datetime(2026, 12, 1, 7, 0, tzinfo=UTC), -5),
        ("Asia/Kolkata", datetime(2026, 6, 16, 7, 0, tzinfo=UTC), 5.5),
    ],
)
def test_timezone_forms(zone: str, now: datetime, offset: float) -> None:
    sandbox = Sandbox(Clock(now))
    with _client(sandbox) as api:
        sandbox.configure(SANDBOX_COMPANY_ID, timezone_name=zone, timezone_form="offset")
        as_text = company(api)
        assert "timezone_name" not in as_text
        assert as_text["timezone"] == str(offset)
        sandbox.configure(SANDBOX_COMPANY_ID, timezone_form="offset_int")
        as_number = company(api)
        assert as_number["timezone"] == offset
        assert not isinstance(as_number["timezone"], str)
        sandbox.configure(SANDBOX_COMPANY_ID, company_shape="documented")
        assert company(api)["timezone"] == offset
        sandbox.configure(SANDBOX_COMPANY_ID, timezone_form="name")
        assert company(api)["timezone_name"] == zone


def test_a_location_moved_to_new_york_keeps_wall_clock_hours(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    seeded = next(
        r
        for r in sandbox.records(SANDBOX_COMPANY_ID)
        if r["staff_id"] == ANNA and r["start"].hour == 10
    )
    sandbox.configure(SANDBOX_COMPANY_ID, timezone_name="America/New_York")
    assert company(api)["timezone_name"] == "America/New_York"

    # It is 03:00 in New York; Anna works 10:00-19:00 there now. The Berlin-morning visits
    # (04:00 and 08:00 New York time) keep their instants and no longer block her shift.
    slots = api.get(
        f"/v1/book_times/{SANDBOX_COMPANY_ID}/{ANNA}/2026-06-16", params=_services(HAIRCUT)
    ).json()["data"]
    assert slots[0]["datetime"] == "2026-06-16T10:00:00-04:00"
    assert [s["time"] for s in slots] == quarter_hours("10:00", "18:00")
    assert company(api, forBooking=1)["next_slot"] == "2026-06-16T09:00:00-04:00"  # Jonas

    created = book(api, appointment(ANNA, slots[0]["datetime"], HAIRCUT)).json()["data"][0]
    record = api.get(
        f"/v1/book_record/{SANDBOX_COMPANY_ID}/{created['record_id']}/{created['record_hash']}"
    ).json()
    assert record["datetime"] == "2026-06-16T10:00:00-0400"
    assert record["date"] == "2026-06-16 10:00:00"
    assert record["company"]["timezone"] == "-4"
    assert sandbox.records()[-1]["start"] == datetime(2026, 6, 16, 14, 0, tzinfo=UTC)

    moved = next(r for r in sandbox.records() if r["record_id"] == seeded["record_id"])
    assert moved["start"] == datetime(2026, 6, 16, 4, 0, tzinfo=ZoneInfo("America/New_York"))
    # The other location stays in Berlin.
    other = api.get(
        f"/v1/book_times/{SANDBOX_SMS_COMPANY_ID}/2101/2026-06-16", params=_services(11001)
    ).json()["data"]
    assert other[0]["datetime"].endswith("+02:00")


# -- refusals in the older message form and in Russian -----------------------------------------


def test_a_taken_time_in_the_message_form(sandbox: Sandbox, api: httpx.Client) -> None:
    taken = {"appointments": [appointment(ANNA, "2026-06-16T10:00:00+02:00", HAIRCUT, ref=7)]}
    sandbox.configure(SANDBOX_COMPANY_ID, error_form="message")
    response = api.post(f"/v1/book_check/{SANDBOX_COMPANY_ID}", json=taken)
    assert response.status_code == 422
    assert response.json() == {
        "success": False,
        "data": None,
        "meta": {
            "message": "Team Member Anna Weber(2001) cannot be booked on 16 June 2026 at 10:00. "
            "The selected time is already taken or is not working."
        },
    }
    sandbox.configure(SANDBOX_COMPANY_ID, error_language="ru")
    response = api.post(f"/v1/book_check/{SANDBOX_COMPANY_ID}", json=taken)
    assert response.json()["meta"] == {
        "message": "К сотруднику Anna Weber(2001) нельзя записаться на 16 июня 2026 в 10:00. "
        "Выбранное время уже занято или является нерабочим."
    }


def _refusal(api: httpx.Client, case: str) -> httpx.Response:
    """Provoke one business refusal; every case is refused for one reason only."""
    free = appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT)
    check = f"/v1/book_check/{SANDBOX_COMPANY_ID}"
    match case:
        case "431":
            return book(api, free, phone="12")
        case "432":
            clara = appointment(2101, "2026-06-16T14:00:00+02:00", 11001)
            return book(api, clara, company=SANDBOX_SMS_COMPANY_ID)
        case "433":
            return book(api, appointment(ANNA, "2026-06-16T10:00:00+02:00", HAIRCUT))
        case "435":
            return book(api, free, fullname="")
        case "436":
            only = appointment(0, "2026-06-16T10:00:00+02:00", COLOUR)
            return api.post(check, json={"appointments": [only]})
        case "437":
            both = [free, appointment(MIA, "2026-06-16T11:30:00+02:00", GEL, ref=2)]
            return api.post(check, json={"appointments": both})
        case "438":
            return book(api, appointment(ANNA, "2026-06-16T11:00:00+02:00", 99999))
        case "422":
            return api.post(check, json={"appointments": []})
        case "inner 422":
            return api.post(check, json={"appointments": [appointment(ANNA, free["datetime"])]})
    raise AssertionError(case)


REFUSALS = {
    "431": ("Invalid phone number format", "Неверный формат номера телефона"),
    "432": ("Wrong confirmation code", "Неверный код подтверждения"),
    "433": (
        "Team Member Anna Weber(2001) cannot be booked on 16 June 2026 at 10:00. "
        "The selected time is already taken or is not working.",
        "К сотруднику Anna Weber(2001) нельзя записаться на 16 июня 2026 в 10:00. "
        "Выбранное время уже занято или является нерабочим.",
    ),
    "435": ("Please enter your name", "Не указано имя"),
    "436": (
        "No team member is available on 16 June 2026 at 10:00.",
        "Нет свободных сотрудников на 16 июня 2026 в 10:00.",
    ),
    "437": (
        "The appointment overlaps appointment 1 in the same booking.",
        "Запись пересекается с записью 1 в этом же бронировании.",
    ),
    "438": (
        "There is no appointment for the specified service/promotion",
        "Нет записи на указанную услугу",
    ),
    "422": ("No services or promotions set", "Не указаны услуги или акции"),
    "inner 422": ("No services or promotions set", "Не указаны услуги или акции"),
}


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_every_refusal_in_the_message_form_carries_no_code(
    sandbox: Sandbox, api: httpx.Client, case: str, language: str
) -> None:
    for cid in (SANDBOX_COMPANY_ID, SANDBOX_SMS_COMPANY_ID):
        sandbox.configure(cid, error_form="message", error_language=language)
    response = _refusal(api, case)
    assert response.status_code == 422
    english, russian = REFUSALS[case]
    assert response.json() == {
        "success": False,
        "data": None,
        "meta": {"message": english if language == "en" else russian},
    }
    assert '"code"' not in response.text


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_the_codes_form_keeps_its_codes_in_russian(
    sandbox: Sandbox, api: httpx.Client, case: str
) -> None:
    english = _refusal(api, case).json()
    for cid in (SANDBOX_COMPANY_ID, SANDBOX_SMS_COMPANY_ID):
        sandbox.configure(cid, error_language="ru")
    russian = _refusal(api, case).json()
    assert russian["meta"]["message"] == "Произошла ошибка"
    assert english["meta"]["message"] == "An error has occurred"
    assert [e["code"] for e in russian["meta"]["errors"]] == [
        e["code"] for e in english["meta"]["errors"]
    ]
    assert [e.get("id") for e in russian["meta"]["errors"]] == [
        e.get("id") for e in english["meta"]["errors"]
    ]
    assert russian["meta"]["errors"][0]["message"] == REFUSALS[case][1]


def test_blacklist_stays_a_403_in_the_message_form(sandbox: Sandbox, api: httpx.Client) -> None:
    free = appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT)
    sandbox.configure(SANDBOX_COMPANY_ID, error_form="message")
    response = book(api, free, phone="+4915200000666")
    assert response.status_code == 403
    assert response.json() == {
        "success": False,
        "data": None,
        "meta": {"message": "You cannot book online. Please contact the salon."},
    }
    sandbox.configure(SANDBOX_COMPANY_ID, error_form="codes", error_language="ru")
    coded = book(api, free, phone="+4915200000666")
    assert coded.status_code == 403
    assert error_codes(coded) == [(434, None)]
    assert "онлайн" in coded.json()["meta"]["message"]


def test_user_auth_and_reschedule_refuse_in_the_message_form(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    sandbox.configure(SANDBOX_COMPANY_ID, error_form="message", error_language="ru")
    wrong = api.post(
        "/v1/user/auth",
        json={"phone": CLIENT_PHONE, "code": "0000", "company_id": SANDBOX_COMPANY_ID},
    )
    assert wrong.status_code == 422
    assert wrong.json()["meta"] == {"message": "Неверный код подтверждения"}
    # Without a location the default one speaks.
    assert api.post("/v1/user/auth", json={"phone": CLIENT_PHONE}).json()["meta"] == {
        "message": "Неверный код подтверждения"
    }

    created = book(api, appointment(ANNA, "2026-06-18T10:00:00+02:00", HAIRCUT)).json()["data"][0]
    token = sandbox.add_user_token(CLIENT_PHONE)
    taken = api.put(
        f"/v1/book_record/{SANDBOX_COMPANY_ID}/{created['record_id']}",
        json={"datetime": "2026-06-17T11:00:00+02:00"},
        headers={"Authorization": f"{PARTNER}, User {token}"},
    )
    assert taken.status_code == 422
    assert taken.json()["meta"] == {
        "message": "К сотруднику Anna Weber(2001) нельзя записаться на 17 июня 2026 в 11:00. "
        "Выбранное время уже занято или является нерабочим."
    }


# -- required email and comment, reminder presets ----------------------------------------------


@pytest.mark.parametrize("error_form", ["codes", "message"])
def test_a_required_email_is_asked_for_without_a_code(
    sandbox: Sandbox, api: httpx.Client, error_form: str
) -> None:
    free = appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT)
    sandbox.configure(SANDBOX_COMPANY_ID, booking_email_required=True, error_form=error_form)
    for email in (None, "", "  ", "eva", "eva@", "eva@example"):
        fields = {} if email is None else {"email": email}
        response = book(api, free, **fields)
        assert response.status_code == 422
        assert response.json() == {
            "success": False,
            "data": None,
            "meta": {"message": "Please enter your email"},
        }
    sandbox.configure(SANDBOX_COMPANY_ID, error_language="ru")
    assert book(api, free).json()["meta"] == {"message": "Укажите email"}
    assert book(api, free, email="eva@example.com").status_code == 201


@pytest.mark.parametrize("error_form", ["codes", "message"])
def test_a_required_comment_is_asked_for_without_a_code(
    sandbox: Sandbox, api: httpx.Client, error_form: str
) -> None:
    free = appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT)
    sandbox.configure(SANDBOX_COMPANY_ID, booking_comment_required=True, error_form=error_form)
    for comment in (None, "", " \n"):
        fields = {} if comment is None else {"comment": comment}
        response = book(api, free, **fields)
        assert response.status_code == 422
        assert response.json()["meta"] == {"message": "Please enter a comment"}
    sandbox.configure(SANDBOX_COMPANY_ID, error_language="ru")
    assert book(api, free).json()["meta"] == {"message": "Укажите комментарий"}
    assert book(api, free, comment="Fringe only").status_code == 201


def test_email_and_comment_are_checked_after_the_name_and_before_the_code(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    clara = appointment(2101, "2026-06-16T14:00:00+02:00", 11001)
    sandbox.configure(
        SANDBOX_SMS_COMPANY_ID, booking_email_required=True, booking_comment_required=True
    )
    nameless = book(api, clara, company=SANDBOX_SMS_COMPANY_ID, fullname="")
    assert error_codes(nameless) == [(435, None)]
    # No SMS code either, yet the email is what is asked for first, then the comment.
    no_email = book(api, clara, company=SANDBOX_SMS_COMPANY_ID)
    assert no_email.json()["meta"] == {"message": "Please enter your email"}
    no_comment = book(api, clara, company=SANDBOX_SMS_COMPANY_ID, email="eva@example.com")
    assert no_comment.json()["meta"] == {"message": "Please enter a comment"}
    no_code = book(
        api, clara, company=SANDBOX_SMS_COMPANY_ID, email="eva@example.com", comment="Hi"
    )
    assert error_codes(no_code) == [(432, None)]


def test_bookings_without_reminders_get_the_location_presets(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    def reminders(response: httpx.Response) -> tuple[int, int]:
        created = response.json()["data"][0]
        record = api.get(
            f"/v1/book_record/{SANDBOX_COMPANY_ID}/{created['record_id']}/{created['record_hash']}"
        ).json()
        return record["notify_by_sms"], record["notify_by_email"]

    assert reminders(book(api, appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT))) == (24, 0)
    sandbox.configure(SANDBOX_COMPANY_ID, default_notify_by_sms=12, default_notify_by_email=3)
    preset = book(api, appointment(ANNA, "2026-06-16T12:00:00+02:00", HAIRCUT))
    assert reminders(preset) == (12, 3)
    chosen = book(
        api,
        appointment(ANNA, "2026-06-16T16:00:00+02:00", HAIRCUT),
        notify_by_sms=0,
        notify_by_email=1,
    )
    assert reminders(chosen) == (0, 1)
    only_email = book(
        api, appointment(ANNA, "2026-06-16T17:00:00+02:00", HAIRCUT), notify_by_email=0
    )
    assert reminders(only_email) == (12, 0)


# -- privacy policy ----------------------------------------------------------------------------


def test_privacy_policy(clock: Clock) -> None:
    sandbox = Sandbox(clock, enforce_rate_limit=True)
    path = f"/v1/privacy_policy/{SANDBOX_COMPANY_ID}"
    with _client(sandbox) as api:
        none = api.get(path)
        assert none.status_code == 200
        assert none.json() == {"success": True, "data": None, "meta": []}
        policy = "<p>We keep your <b>phone</b> for bookings only.</p>"
        sandbox.configure(SANDBOX_COMPANY_ID, privacy_policy=policy)
        assert api.get(path).json() == {"success": True, "data": {"text": policy}, "meta": []}
        assert api.get(f"/v1/privacy_policy/{SANDBOX_SMS_COMPANY_ID}").json()["data"] is None
        assert api.get("/v1/privacy_policy/999").status_code == 404
        assert [api.get(path).status_code for _ in range(2)] == [200, 429]  # five a second
    clock.advance(seconds=1)
    with _client(sandbox, None) as anonymous:
        assert anonymous.get(path).status_code == 401


# -- a service withdrawn, a team member removed ------------------------------------------------


def test_a_withdrawn_service_cannot_be_booked_but_old_records_keep_it(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    colour_visit = next(r for r in sandbox.records() if r["service_ids"] == [COLOUR])
    sandbox.withdraw_service(COLOUR)
    sandbox.withdraw_service(COLOUR)  # twice is the same as once

    listed = api.get(f"/v1/book_services/{SANDBOX_COMPANY_ID}").json()["data"]["services"]
    assert COLOUR not in {s["id"] for s in listed}
    assert len(listed) == 12
    anna = api.get(f"/v1/book_services/{SANDBOX_COMPANY_ID}", params={"staff_id": ANNA})
    assert COLOUR not in {s["id"] for s in anna.json()["data"]["services"]}
    staff = api.get(f"/v1/book_staff/{SANDBOX_COMPANY_ID}", params=_services(COLOUR))
    assert staff.json() == {"success": True, "data": [], "meta": {"count": 0}}
    assert free_times(api, ANNA, "2026-06-17", COLOUR) == []
    assert free_times(api, 0, "2026-06-17", COLOUR) == []
    assert free_times(api, ANNA, "2026-06-17", HAIRCUT) != []
    dates = api.get(f"/v1/book_dates/{SANDBOX_COMPANY_ID}", params=_services(COLOUR))
    assert dates.json()["data"]["booking_dates"] == []

    colour = appointment(ANNA, "2026-06-17T11:00:00+02:00", COLOUR, ref=3)
    check = api.post(f"/v1/book_check/{SANDBOX_COMPANY_ID}", json={"appointments": [colour]})
    assert error_codes(check) == [(438, 3)]
    assert error_codes(book(api, colour)) == [(438, 3)]
    sandbox.configure(SANDBOX_COMPANY_ID, error_form="message")
    assert book(api, colour).json()["meta"] == {
        "message": "There is no appointment for the specified service/promotion"
    }

    token = sandbox.add_user_token(colour_visit["phone"])
    mine = api.get(
        f"/v1/user/records/{colour_visit['record_id']}/",
        headers={"Authorization": f"{PARTNER}, User {token}"},
    ).json()["data"]
    assert [s["title"] for s in mine[0]["services"]] == ["Full colour"]
    with pytest.raises(KeyError):
        sandbox.withdraw_service(424242)


def test_a_removed_team_member_leaves_the_lists_but_not_their_records(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    jonas_visit = next(r for r in sandbox.records() if r["staff_id"] == JONAS)
    sandbox.remove_staff(JONAS)

    staff = api.get(f"/v1/book_staff/{SANDBOX_COMPANY_ID}", params=_services(HAIRCUT)).json()
    assert [m["id"] for m in staff["data"]] == [str(ANNA)]
    all_staff = api.get(f"/v1/book_staff/{SANDBOX_COMPANY_ID}").json()["data"]
    assert str(JONAS) not in {m["id"] for m in all_staff}
    assert company(api)["active_staff_count"] == 4
    # Only Jonas was free at 09:30, so the union now starts with Anna at 11:00.
    assert free_times(api, 0, "2026-06-16", HAIRCUT)[0] == "11:00"
    assert company(api, forBooking=1)["next_slot"] == "2026-06-16T09:30:00+02:00"  # Mia

    gone = {"success": False, "data": None, "meta": []}
    for path, params in (
        (f"/v1/book_times/{SANDBOX_COMPANY_ID}/{JONAS}/2026-06-16", _services(HAIRCUT)),
        (f"/v1/book_staff_seances/{SANDBOX_COMPANY_ID}/{JONAS}", _services(HAIRCUT)),
        (f"/v1/book_dates/{SANDBOX_COMPANY_ID}", [("staff_id", JONAS)]),
    ):
        response = api.get(path, params=params)
        assert response.status_code == 404, path
        assert response.json() == gone

    named = appointment(JONAS, "2026-06-16T12:30:00+02:00", HAIRCUT, ref=4)
    check = api.post(f"/v1/book_check/{SANDBOX_COMPANY_ID}", json={"appointments": [named]})
    assert error_codes(check) == [(433, 4)]
    assert error_codes(book(api, named)) == [(433, 4)]
    anyone = book(api, appointment(0, "2026-06-16T09:30:00+02:00", HAIRCUT, ref=5))
    assert error_codes(anyone) == [(436, 5)]

    token = sandbox.add_user_token(jonas_visit["phone"])
    as_client = {"Authorization": f"{PARTNER}, User {token}"}
    mine = api.get(f"/v1/user/records/{jonas_visit['record_id']}/", headers=as_client)
    assert mine.json()["data"][0]["staff"]["name"] == "Jonas Richter"
    moved = api.put(
        f"/v1/book_record/{SANDBOX_COMPANY_ID}/{jonas_visit['record_id']}",
        json={"datetime": "2026-06-19T12:30:00+02:00"},
        headers=as_client,
    )
    assert error_codes(moved) == [(433, None)]
    assert api.delete(f"/v1/user/records/{jonas_visit['record_id']}/", headers=as_client).is_success
    with pytest.raises(KeyError):
        sandbox.remove_staff(9999)


# -- faults on demand --------------------------------------------------------------------------


def test_a_fault_answers_the_next_matching_request_once(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    path = f"/v1/company/{SANDBOX_COMPANY_ID}"
    sandbox.fault("GET", "company")
    failed = api.get(path)
    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/json"
    assert failed.json() == {"success": False, "data": None, "meta": {"message": "Server error"}}
    assert api.get(path).status_code == 200
    # Another method or route is not touched.
    sandbox.fault("POST", "company")
    assert api.get(path).status_code == 200


def test_fault_bodies_types_and_headers(sandbox: Sandbox, api: httpx.Client) -> None:
    path = f"/v1/book_services/{SANDBOX_COMPANY_ID}"
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    retry = "Wed, 25 Nov 2026 09:00:10 GMT"
    sandbox.fault("GET", "book_services", status=502, body=page)
    sandbox.fault("GET", "book_services", status=200, body=b'{"success": true, "data": {"serv')
    sandbox.fault("GET", "book_services", status=200, body=b"")
    sandbox.fault("GET", "book_services", status=429, headers={"Retry-After": retry})
    sandbox.fault(
        "GET", "book_services", status=200, body=[1, 2], content_type="text/plain; charset=utf-8"
    )
    sandbox.fault("GET", "book_services", status=404)
    sandbox.fault("GET", "book_services", status=201, body={"success": True})

    html = api.get(path)
    assert (html.status_code, html.text) == (502, page)
    assert html.headers["content-type"].startswith("text/html")
    truncated = api.get(path)
    assert truncated.status_code == 200
    assert truncated.content == b'{"success": true, "data": {"serv'
    with pytest.raises(ValueError):
        truncated.json()
    empty = api.get(path)
    assert (empty.status_code, empty.content) == (200, b"")
    limited = api.get(path)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == retry
    assert limited.json()["meta"] == {"message": "Too Many Requests"}
    plain = api.get(path)
    assert plain.headers["content-type"] == "text/plain; charset=utf-8"
    assert plain.json() == [1, 2]
    assert api.get(path).json() == {"success": False, "data": None, "meta": []}
    assert api.get(path).json() == {"success": True}
    assert api.get(path).json()["data"]["services"]


def test_carry_out_makes_the_write_and_loses_its_answer(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    before = len(sandbox.records())
    sandbox.fault(
        "POST", "book_record", status=504, body="<h1>Gateway Timeout</h1>", carry_out=True
    )
    lost = book(api, appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT))
    assert lost.status_code == 504
    assert len(sandbox.records()) == before + 1
    assert "11:00" not in free_times(api, ANNA, "2026-06-16", HAIRCUT)

    # Without carry_out nothing happens behind the failure.
    sandbox.fault("POST", "book_record", status=502)
    assert book(api, appointment(ANNA, "2026-06-16T12:00:00+02:00", HAIRCUT)).status_code == 502
    assert len(sandbox.records()) == before + 1

    # A carried-out move happens, whatever its lost answer says.
    created = book(api, appointment(ANNA, "2026-06-18T10:00:00+02:00", HAIRCUT)).json()["data"][0]
    token = sandbox.add_user_token(CLIENT_PHONE)
    sandbox.fault("PUT", "book_record", status=200, body=b'{"success":tr', carry_out=True)
    moved = api.put(
        f"/v1/book_record/{SANDBOX_COMPANY_ID}/{created['record_id']}",
        json={"datetime": "2026-06-18T15:00:00+02:00"},
        headers={"Authorization": f"{PARTNER}, User {token}"},
    )
    assert moved.content == b'{"success":tr'
    record = next(r for r in sandbox.records() if r["record_id"] == created["record_id"])
    assert record["start"] == datetime(2026, 6, 18, 15, 0, tzinfo=BERLIN)


def test_a_carried_out_sms_is_sent_though_its_answer_is_lost(clock: Clock) -> None:
    sent: list[str] = []
    sandbox = Sandbox(clock, on_sms=lambda _company, _phone, code: sent.append(code))
    sandbox.fault("POST", "book_code", status=500, carry_out=True)
    with _client(sandbox) as api:
        response = api.post(f"/v1/book_code/{SANDBOX_COMPANY_ID}", json={"phone": CLIENT_PHONE})
    assert response.status_code == 500
    assert sent == [sandbox.last_sms_code(SANDBOX_COMPANY_ID, CLIENT_PHONE)]


def test_faults_count_down_narrow_by_path_and_clear(sandbox: Sandbox, api: httpx.Client) -> None:
    created = book(api, appointment(ANNA, "2026-06-17T15:00:00+02:00", HAIRCUT)).json()["data"][0]
    records = f"/v1/user/records/{created['record_id']}/{created['record_hash']}"
    sandbox.fault("GET", "user", status=503, times=2, path_contains="/records/")
    assert api.post("/v1/user/auth", json={"phone": CLIENT_PHONE}).status_code == 422
    assert [api.get(records).status_code for _ in range(3)] == [503, 503, 201]

    sandbox.fault("GET", "book_times", status=500, times=None)
    day = f"/v1/book_times/{SANDBOX_COMPANY_ID}/{ANNA}/2026-06-16"
    assert {api.get(day).status_code for _ in range(7)} == {500}
    sandbox.clear_faults()
    assert api.get(day).status_code == 200


def test_faults_come_after_the_rate_limit_and_before_the_token(clock: Clock) -> None:
    sandbox = Sandbox(clock, enforce_rate_limit=True)
    with _client(sandbox) as api:
        for _ in range(5):
            assert api.get(f"/v1/book_services/{SANDBOX_COMPANY_ID}").status_code == 200
        sandbox.fault("GET", "company", status=500)
        # The limiter answers first and the fault is not used up by a refused request.
        assert api.get(f"/v1/company/{SANDBOX_COMPANY_ID}").status_code == 429
        clock.advance(seconds=1)
        with _client(sandbox, None) as anonymous:
            assert anonymous.get(f"/v1/company/{SANDBOX_COMPANY_ID}").status_code == 500
            assert anonymous.get(f"/v1/company/{SANDBOX_COMPANY_ID}").status_code == 401


def test_faults_never_touch_the_test_hooks(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.fault("GET", "__sandbox", times=None)
    sandbox.fault("GET", "records", times=None)
    assert api.get("/v1/__sandbox/records").status_code == 200
    assert api.get("/__sandbox/records").status_code == 200


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"status": 99}, ValueError),
        ({"status": True}, ValueError),
        ({"times": 0}, ValueError),
        ({"body": object()}, TypeError),
        ({"headers": {"Retry-After": 10}}, TypeError),
    ],
)
def test_fault_refuses_nonsense(
    sandbox: Sandbox, changes: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        sandbox.fault("GET", "company", **changes)
    with pytest.raises(ValueError):
        sandbox.fault("GET", "book_times/1001")


# -- switches over HTTP ------------------------------------------------------------------------


def test_hooks_switch_the_sandbox(sandbox: Sandbox, api: httpx.Client) -> None:
    configured = api.post(
        f"/__sandbox/locations/{SANDBOX_COMPANY_ID}",
        json={"company_shape": "documented", "timezone_form": "offset_int"},
    )
    assert configured.status_code == 200
    assert company(api)["timezone"] == 2
    assert "phone" not in company(api)

    assert api.post(f"/__sandbox/services/{COLOUR}/withdraw").status_code == 200
    colour = appointment(ANNA, "2026-06-17T11:00:00+02:00", COLOUR)
    assert error_codes(book(api, colour)) == [(438, 1)]
    assert api.post(f"/__sandbox/staff/{JONAS}/remove").status_code == 200
    assert api.get(f"/v1/book_staff_seances/{SANDBOX_COMPANY_ID}/{JONAS}").status_code == 404

    fault = {"method": "get", "route": "company", "status": 503, "body": "<p>down</p>"}
    assert api.post("/__sandbox/faults", json={**fault, "times": None}).status_code == 200
    down = api.get(f"/v1/company/{SANDBOX_COMPANY_ID}")
    assert (down.status_code, down.text) == (503, "<p>down</p>")
    assert api.get(f"/v1/company/{SANDBOX_COMPANY_ID}").status_code == 503
    assert api.delete("/__sandbox/faults").json() == {"cleared": 1}
    assert api.get(f"/v1/company/{SANDBOX_COMPANY_ID}").status_code == 200

    as_json = {"method": "POST", "route": "book_record", "status": 200, "body": {"data": []}}
    api.post("/__sandbox/faults", json={**as_json, "carry_out": True})
    lost = book(api, appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT))
    assert lost.json() == {"data": []}
    assert sandbox.records()[-1]["start"] == datetime(2026, 6, 16, 11, 0, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/__sandbox/locations/{SANDBOX_COMPANY_ID}", {"no_such_field": 1}),
        (f"/__sandbox/locations/{SANDBOX_COMPANY_ID}", {"error_form": "loud"}),
        (f"/__sandbox/locations/{SANDBOX_COMPANY_ID}", {"phone_confirmation": "yes"}),
        (f"/__sandbox/locations/{SANDBOX_COMPANY_ID}", ["error_form"]),
        (f"/__sandbox/locations/{SANDBOX_COMPANY_ID}", b"{not json"),
        ("/__sandbox/locations/999", {"title": "Nowhere"}),
        ("/__sandbox/locations/abc", {"title": "Nowhere"}),
        ("/__sandbox/services/424242/withdraw", None),
        ("/__sandbox/staff/abc/remove", None),
        ("/__sandbox/faults", {"route": "company"}),
        ("/__sandbox/faults", {"method": "GET", "route": "company", "status": "500"}),
        ("/__sandbox/faults", {"method": "GET", "route": "company", "times": 0}),
        ("/__sandbox/faults", {"method": "GET", "route": "company", "colour": "red"}),
    ],
)
def test_hooks_refuse_bad_input_with_a_400(
    sandbox: Sandbox, api: httpx.Client, path: str, body: Any
) -> None:
    before = company(api)
    if isinstance(body, bytes):
        response = api.post(path, content=body)
    else:
        response = api.post(path, json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert response.json()["error"]
    assert company(api) == before
    assert api.get(f"/v1/book_services/{SANDBOX_COMPANY_ID}").status_code == 200


def test_switches_over_http(clock: Clock) -> None:
    sandbox = Sandbox(clock)
    server = make_server(sandbox, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        base = f"http://{host!s}:{port}/api"
        with httpx.Client(base_url=base, headers={"Authorization": PARTNER}, timeout=5) as api:
            retry = "Wed, 25 Nov 2026 09:00:10 GMT"
            fault = {
                "method": "GET",
                "route": "book_times",
                "status": 503,
                "body": "<html>maintenance</html>",
                "headers": {"Retry-After": retry},
            }
            assert api.post("/__sandbox/faults", json=fault).status_code == 200
            day = f"/v1/book_times/{SANDBOX_COMPANY_ID}/{ANNA}/2026-06-16"
            down = api.get(day)
            assert down.status_code == 503
            assert down.headers["Retry-After"] == retry
            assert down.headers["content-type"].startswith("text/html")
            assert down.text == "<html>maintenance</html>"
            assert api.get(day).status_code == 200

            empty = {"method": "POST", "route": "book_record", "body": "", "carry_out": True}
            assert api.post("/__sandbox/faults", json={**empty, "status": 502}).status_code == 200
            lost = book(api, appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT))
            assert (lost.status_code, lost.content) == (502, b"")
            assert sandbox.records()[-1]["start"] == datetime(2026, 6, 16, 11, 0, tzinfo=BERLIN)

            switched = api.post(
                f"/__sandbox/locations/{SANDBOX_COMPANY_ID}",
                json={"error_form": "message", "privacy_policy": "<p>Ours</p>"},
            )
            assert switched.status_code == 200
            taken = book(api, appointment(ANNA, "2026-06-16T11:00:00+02:00", HAIRCUT))
            assert set(taken.json()["meta"]) == {"message"}
            policy = api.get(f"/v1/privacy_policy/{SANDBOX_COMPANY_ID}").json()
            assert policy["data"] == {"text": "<p>Ours</p>"}
            assert api.post("/__sandbox/locations/1001", content=b"[").status_code == 400
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_record_ids_are_never_given_twice_across_runs() -> None:
    """Altegio's ids are unique for good: a sandbox started later goes on past an earlier one's,
    so a bot's database that outlives the in-memory sandbox meets no reused id."""
    first = Sandbox(lambda: datetime(2026, 12, 3, 6, 0, tzinfo=UTC))
    later = Sandbox(lambda: datetime(2026, 12, 3, 6, 0, 10, tzinfo=UTC))
    earlier_ids = {row["record_id"] for row in first.records()}
    later_ids = {row["record_id"] for row in later.records()}
    assert earlier_ids and later_ids
    assert max(earlier_ids) < min(later_ids)


# -- a client's whole account: records the salon made, revoked tokens, webhooks ----------------

OTHER_PHONE = "+491709999999"


def _as_user(token: str) -> dict[str, str]:
    return {"Authorization": f"{PARTNER}, User {token}"}


def test_records_the_salon_made_are_listed_with_the_clients_online_ones(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    # The client verifies their phone once, through the SMS code, at the SMS location.
    api.post(f"/v1/book_code/{SANDBOX_SMS_COMPANY_ID}", json={"phone": CLIENT_PHONE})
    code = sandbox.last_sms_code(SANDBOX_SMS_COMPANY_ID, CLIENT_PHONE)
    auth = api.post(
        "/v1/user/auth",
        json={"phone": CLIENT_PHONE, "code": code, "company_id": SANDBOX_SMS_COMPANY_ID},
    )
    token = auth.json()["data"]["user_token"]
    online = book(api, appointment(ANNA, "2026-06-17T15:00:00+02:00", HAIRCUT)).json()["data"]
    by_phone = sandbox.salon_book(
        SANDBOX_COMPANY_ID,
        "+49 170 1234567",
        MENS_CUT,
        JONAS,
        datetime(2026, 6, 18, 10, 0, tzinfo=BERLIN),
        name="Eva Lorenz",
    )
    on_the_web = sandbox.salon_book(
        SANDBOX_COMPANY_ID,
        CLIENT_PHONE,
        GEL,
        MIA,
        datetime(2026, 6, 19, 12, 0, tzinfo=BERLIN),
        source="web",
    )
    came = sandbox.salon_book(
        SANDBOX_COMPANY_ID,
        CLIENT_PHONE,
        HAIRCUT,
        ANNA,
        datetime(2026, 5, 2, 10, 0, tzinfo=BERLIN),
        attendance=1,
    )
    missed = sandbox.salon_book(
        SANDBOX_COMPANY_ID, CLIENT_PHONE, HAIRCUT, ANNA, datetime(2026, 5, 20, 10, 0, tzinfo=BERLIN)
    )
    sandbox.mark_attendance(missed, -1)
    someone_else = sandbox.salon_book(
        SANDBOX_COMPANY_ID, OTHER_PHONE, HAIRCUT, ANNA, datetime(2026, 6, 18, 16, 0, tzinfo=BERLIN)
    )

    mine = api.get(f"/v1/user/records/{online[0]['record_id']}/", headers=_as_user(token))
    assert mine.status_code == 201
    assert mine.json()["success"] is True
    listed = {r["id"]: r for r in mine.json()["data"]}
    assert set(listed) >= {online[0]["record_id"], by_phone, on_the_web, came, missed}
    assert someone_else not in listed
    assert [listed[i]["online"] for i in (online[0]["record_id"], by_phone, on_the_web)] == [
        True,
        False,
        True,
    ]
    assert listed[came]["date"] == "2026-05-02 10:00:00"
    assert listed[came]["attendance"] == 1
    assert listed[missed]["attendance"] == -1
    assert listed[by_phone]["attendance"] == 0
    assert listed[by_phone]["services"][0]["id"] == MENS_CUT
    assert listed[by_phone]["staff"]["id"] == JONAS
    assert set(listed[by_phone]) == set(listed[online[0]["record_id"]])

    # The other client sees only their own.
    theirs = api.get("/v1/user/records/0/", headers=_as_user(sandbox.add_user_token(OTHER_PHONE)))
    assert [r["id"] for r in theirs.json()["data"]] == [someone_else]

    # The reference names attendance either way; the sandbox says either on demand.
    sandbox.attendance_key("visit_attendance")
    renamed = api.get("/v1/user/records/0/", headers=_as_user(token)).json()["data"]
    assert all("visit_attendance" in r and "attendance" not in r for r in renamed)


def test_salon_book_refuses_what_the_salon_does_not_have(sandbox: Sandbox) -> None:
    start = datetime(2026, 6, 18, 10, 0, tzinfo=BERLIN)
    with pytest.raises(KeyError):
        sandbox.salon_book(SANDBOX_COMPANY_ID, CLIENT_PHONE, 99999, ANNA, start)
    with pytest.raises(ValueError, match="source"):
        sandbox.salon_book(SANDBOX_COMPANY_ID, CLIENT_PHONE, HAIRCUT, ANNA, start, source="fax")
    with pytest.raises(ValueError, match="aware"):
        sandbox.salon_book(
            SANDBOX_COMPANY_ID, CLIENT_PHONE, HAIRCUT, ANNA, start.replace(tzinfo=None)
        )


@pytest.mark.parametrize(
    ("status", "message"), [(401, "Authentication needed."), (403, "Access denied.")]
)
def test_a_revoked_user_token_is_refused(
    sandbox: Sandbox, api: httpx.Client, status: int, message: str
) -> None:
    token = sandbox.add_user_token(CLIENT_PHONE)
    created = book(api, appointment(ANNA, "2026-06-17T15:00:00+02:00", HAIRCUT)).json()["data"][0]
    assert api.get("/v1/user/records/0/", headers=_as_user(token)).status_code == 201

    sandbox.revoke_user_token(token, status)

    refused = api.get(f"/v1/user/records/{created['record_id']}/", headers=_as_user(token))
    assert refused.status_code == status
    assert refused.json() == {"success": False, "data": None, "meta": {"message": message}}
    cancel = api.delete(f"/v1/user/records/{created['record_id']}/", headers=_as_user(token))
    assert cancel.status_code == status
    # The client logs in anew and gets a new token for the same account.
    fresh = sandbox.add_user_token(CLIENT_PHONE)
    assert fresh != token
    again = api.get("/v1/user/records/0/", headers=_as_user(fresh))
    assert [r["id"] for r in again.json()["data"]] == [created["record_id"]]


HOOK_URL = "https://bot.example/hooks/altegio?secret=s3"


def test_record_webhooks_for_create_move_and_delete(
    sandbox: Sandbox, api: httpx.Client, clock: Clock
) -> None:
    sandbox.hooks.subscribe(SANDBOX_COMPANY_ID, HOOK_URL)
    heard: list[Any] = []
    sandbox.hooks.on_delivery(heard.append)
    created = book(api, appointment(ANNA, "2026-06-17T15:00:00+02:00", HAIRCUT)).json()["data"][0]
    token = sandbox.add_user_token(CLIENT_PHONE)
    moved = api.put(
        f"/v1/book_record/{SANDBOX_COMPANY_ID}/{created['record_id']}",
        json={"datetime": "2026-06-18T11:00:00+02:00"},
        headers=_as_user(token),
    )
    assert moved.status_code == 200
    path = f"/v1/user/records/{created['record_id']}/{created['record_hash']}"
    assert api.delete(path).status_code == 200

    deliveries = sandbox.hooks.deliveries()
    assert heard == deliveries
    assert [d.url for d in deliveries] == [HOOK_URL] * 3
    bodies = [d.body for d in deliveries]
    assert [(b["resource"], b["resource_id"], b["status"]) for b in bodies] == [
        ("record", created["record_id"], "create"),
        ("record", created["record_id"], "update"),
        ("record", created["record_id"], "delete"),
    ]
    assert all(b["company_id"] == SANDBOX_COMPANY_ID for b in bodies)
    first = bodies[0]["data"]
    assert first["datetime"] == "2026-06-17T15:00:00+02:00"
    assert first["date"] == "2026-06-17 15:00:00"
    assert first["client"]["phone"] == CLIENT_PHONE
    assert first["staff_id"] == ANNA
    assert first["services"][0]["id"] == HAIRCUT
    assert {"visit_attendance", "attendance", "last_change_date", "master_request"} <= set(first)
    assert bodies[1]["data"]["date"] == "2026-06-18 11:00:00"
    assert bodies[2]["data"]["deleted"] is True
    assert sandbox.hooks.deliveries() == []

    # The salon's own changes are delivered too.
    record_id = sandbox.salon_book(
        SANDBOX_COMPANY_ID, CLIENT_PHONE, GEL, MIA, datetime(2026, 6, 19, 12, 0, tzinfo=BERLIN)
    )
    sandbox.salon_move(record_id, datetime(2026, 6, 19, 13, 0, tzinfo=BERLIN))
    sandbox.salon_cancel(record_id)
    salon_side = sandbox.hooks.deliveries()
    assert [d.body["status"] for d in salon_side] == ["create", "update", "delete"]
    assert salon_side[0].body["data"]["online"] is False


def test_webhooks_repeated_and_out_of_order_on_demand(sandbox: Sandbox) -> None:
    sandbox.hooks.subscribe(SANDBOX_COMPANY_ID, HOOK_URL)
    record_id = sandbox.salon_book(
        SANDBOX_COMPANY_ID, CLIENT_PHONE, GEL, MIA, datetime(2026, 6, 19, 12, 0, tzinfo=BERLIN)
    )
    sandbox.hooks.duplicate_next()
    sandbox.salon_move(record_id, datetime(2026, 6, 19, 13, 0, tzinfo=BERLIN))
    repeated = sandbox.hooks.deliveries()
    assert [d.body["status"] for d in repeated] == ["create", "update", "update"]
    assert repeated[1] == repeated[2]

    sandbox.hooks.delay_next()
    sandbox.salon_move(record_id, datetime(2026, 6, 19, 14, 0, tzinfo=BERLIN))
    assert sandbox.hooks.deliveries() == []
    sandbox.salon_move(record_id, datetime(2026, 6, 19, 15, 0, tzinfo=BERLIN))
    late = sandbox.hooks.deliveries()
    # The newer move arrives first, the older one after it.
    assert [d.body["data"]["date"] for d in late] == ["2026-06-19 15:00:00", "2026-06-19 14:00:00"]


def test_own_api_calls_reach_the_hooks_only_with_self_sending(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    sandbox.hooks.subscribe(SANDBOX_COMPANY_ID, HOOK_URL, self_sending=0)
    book(api, appointment(ANNA, "2026-06-17T15:00:00+02:00", HAIRCUT))
    assert sandbox.hooks.deliveries() == []
    # Another location's subscription hears nothing of this one.
    sandbox.hooks.subscribe(SANDBOX_SMS_COMPANY_ID, HOOK_URL)
    sandbox.salon_book(
        SANDBOX_COMPANY_ID, CLIENT_PHONE, GEL, MIA, datetime(2026, 6, 19, 12, 0, tzinfo=BERLIN)
    )
    assert [d.body["company_id"] for d in sandbox.hooks.deliveries()] == [SANDBOX_COMPANY_ID]


def test_hooks_settings_are_recorded(sandbox: Sandbox, api: httpx.Client) -> None:
    path = f"/v1/hooks_settings/{SANDBOX_COMPANY_ID}"
    settings = {"urls": [HOOK_URL, HOOK_URL], "active": 1, "record": 1, "self_sending": 1}
    assert api.post(path, json=settings).status_code == 401
    client_token = sandbox.add_user_token(CLIENT_PHONE)
    assert api.post(path, json=settings, headers=_as_user(client_token)).status_code == 403
    sandbox.add_admin_token("salon-admin-token")
    admin = _as_user("salon-admin-token")

    saved = api.post(path, json=settings, headers=admin)
    assert saved.status_code == 201
    assert saved.json()["data"]["urls"] == [HOOK_URL]
    assert saved.json()["data"]["record"] == 1
    assert saved.json()["data"]["client"] == 0
    read = api.get(path, headers=admin)
    assert read.status_code == 200
    assert read.json()["data"] == saved.json()["data"]
    assert sandbox.hooks.settings[SANDBOX_COMPANY_ID]["urls"] == [HOOK_URL]
    book(api, appointment(ANNA, "2026-06-17T15:00:00+02:00", HAIRCUT))
    assert [d.body["status"] for d in sandbox.hooks.deliveries()] == ["create"]

    plain = api.post(path, json={"urls": ["http://bot.example/h"], "record": 1}, headers=admin)
    assert plain.status_code == 422
    many = [f"https://bot.example/h{i}" for i in range(11)]
    assert api.post(path, json={"urls": many}, headers=admin).status_code == 422
    # A POST replaces the whole location's settings: a URL left out is gone.
    api.post(path, json={"urls": [], "record": 1}, headers=admin)
    book(api, appointment(ANNA, "2026-06-17T17:00:00+02:00", HAIRCUT))
    assert sandbox.hooks.deliveries() == []


def test_user_auth_bare_as_documented_on_demand(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.user_auth_form("bare")
    api.post(f"/v1/book_code/{SANDBOX_SMS_COMPANY_ID}", json={"phone": CLIENT_PHONE})
    code = sandbox.last_sms_code(SANDBOX_SMS_COMPANY_ID, CLIENT_PHONE)
    auth = api.post("/v1/user/auth", json={"phone": CLIENT_PHONE, "code": code})
    assert auth.status_code == 201
    assert set(auth.json()) == {"user_token"}
    token = auth.json()["user_token"]
    assert api.get("/v1/user/records/0/", headers=_as_user(token)).status_code == 201


def test_webhook_retries_and_a_wrong_summer_offset_on_demand(sandbox: Sandbox) -> None:
    sandbox.hooks.subscribe(SANDBOX_COMPANY_ID, HOOK_URL)
    answers = [503, 429, 200]
    calls: list[int] = []

    def receiver(delivery: Any) -> int:
        calls.append(delivery.body["resource_id"])
        return answers.pop(0)

    sandbox.hooks.on_delivery(receiver)
    start = datetime(2026, 6, 19, 12, 0, tzinfo=BERLIN)
    sandbox.salon_book(SANDBOX_COMPANY_ID, CLIENT_PHONE, GEL, MIA, start)
    assert len(calls) == 1  # no retries by default
    sandbox.hooks.retries = 2
    sandbox.hooks.dst_wrong_offset = True
    answers[:] = [503, 429, 200, 200]
    record_id = sandbox.salon_book(SANDBOX_COMPANY_ID, CLIENT_PHONE, GEL, MIA, start)
    assert calls[1:] == [record_id] * 3
    last = sandbox.hooks.deliveries()[-1].body["data"]
    assert last["datetime"] == "2026-06-19T12:00:00+01:00"
    assert last["date"] == "2026-06-19 12:00:00"
