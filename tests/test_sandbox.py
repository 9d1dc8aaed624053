"""The sandbox location answers in Altegio's wire format and keeps a consistent salon diary."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.altegio.sandbox import (
    CLIENT_IP_EXTENSION,
    SANDBOX_COMPANY_ID,
    SANDBOX_PARTNER_TOKEN,
    SANDBOX_SMS_COMPANY_ID,
    Sandbox,
    make_server,
)

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
