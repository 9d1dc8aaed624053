"""The Altegio client's group-event calls against the sandbox in each form the reference lists
(Altegio's and YCLIENTS' event shapes, `search_dates`' undocumented bodies), and against a
server that only knows the older single filters."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from bot.altegio.activity_calls import SeatBooking
from bot.altegio.client import AltegioClient
from bot.altegio.models.activities import event_days
from standins.altegio.activity_seed import SANDBOX_STUDIO_ID
from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN, Sandbox
from standins.altegio.seed import SANDBOX_COMPANY_ID
from tests.conftest import FakeClock

TUESDAY = date(2026, 11, 24)


def client_of(
    sandbox: Sandbox, clock: FakeClock, company_id: int = SANDBOX_STUDIO_ID, **kw: object
) -> AltegioClient:
    transport = kw.pop("transport", None) or sandbox.transport()
    return AltegioClient(
        partner_token=SANDBOX_PARTNER_TOKEN,
        company_id=company_id,
        transport=transport,  # type: ignore[arg-type]
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        clock=clock.now,
        jitter=lambda: 0.5,
    )


@pytest.mark.parametrize("form", ["alt", "yc"])
@pytest.mark.parametrize("dates_form", ["strings", "objects", "keyed"])
async def test_every_form_reads_the_same_and_a_seat_is_booked(
    sandbox: Sandbox, clock: FakeClock, form: str, dates_form: str
) -> None:
    sandbox.configure(SANDBOX_STUDIO_ID, activity_form=form, activity_dates_form=dates_form)
    client = client_of(sandbox, clock)
    first, last = await client.event_range()
    assert first is not None and last is not None and first <= TUESDAY < last
    week = await client.activities(TUESDAY, TUESDAY + timedelta(days=6))
    assert [(a.title, a.start.hour) for a in week[:2]] == [
        ("Mat Pilates", 19),
        ("Vinyasa Flow", 18),
    ]
    assert all(a.start.tzinfo is not None and a.capacity > 0 for a in week)
    assert str(week[0].start.utcoffset()) == "1:00:00"  # local time in Berlin, whichever form
    days = await client.event_dates(TUESDAY, TUESDAY + timedelta(days=6))
    assert days[0] == TUESDAY and date(2026, 11, 27) not in days
    facets = await client.class_facets()
    assert dict(facets["staff"]) == {2201: "Mira Hoffmann", 2202: "Jonas Richter"}
    assert {title for _, title in facets["service"]} == {"Vinyasa Flow", "Mat Pilates", "Yin Yoga"}
    event = week[1]
    made = await client.book_activity(event.id, SeatBooking("+4915123456789", "Lea", seats=1))
    assert made.record_id and made.record_hash
    again = await client.activity(event.id, event.start.date())
    assert again is not None and again.free == event.free - 1
    record = await client.record(made.record_id, made.record_hash)
    assert record.activity_id == event.id and record.start == event.start
    await client.aclose()


async def test_a_server_with_only_the_older_filters_is_filtered_here(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    def older(request: httpx.Request) -> httpx.Response:
        kept = [(k, v) for k, v in request.url.params.multi_items() if not k.endswith("[]")]
        return sandbox.handle(
            httpx.Request(
                request.method, request.url.copy_with(params=kept), headers=request.headers
            )
        )

    client = client_of(sandbox, clock, transport=httpx.MockTransport(older))
    pilates = await client.activities(TUESDAY, TUESDAY + timedelta(days=13), service_id=12102)
    assert pilates and all(a.title == "Mat Pilates" for a in pilates)
    mira = await client.activities(TUESDAY, TUESDAY + timedelta(days=13), staff_id=2201)
    assert mira and all(a.staff_name == "Mira Hoffmann" for a in mira)
    await client.aclose()


async def test_a_location_without_events(sandbox: Sandbox, clock: FakeClock) -> None:
    client = client_of(sandbox, clock, SANDBOX_COMPANY_ID)
    assert await client.event_range() == (None, None)
    assert await client.activities(TUESDAY, TUESDAY + timedelta(days=6)) == []
    await client.aclose()


def test_search_dates_in_any_form() -> None:
    expected = [date(2026, 12, 1), date(2026, 12, 3)]
    assert event_days(["2026-12-01", "2026-12-03"], 2026) == expected
    assert event_days([{"date": "2026-12-03"}, {"date": "2026-12-01 00:00:00"}], 2026) == expected
    assert event_days({"dates": ["2026-12-03", "2026-12-01"]}, 2026) == expected
    assert event_days({"12": [1, "3"]}, 2026) == expected
    assert event_days([1796083200, 1796256000], 2026) == expected
    assert event_days([], 2026) == [] and event_days(None, 2026) == []
