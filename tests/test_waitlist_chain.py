"""The waiting list in a chain (`ALTEGIO_GROUP_ID`), driven as clients and the salon would: a
wish kept with the location it was made at, its days read there and in its timezone, a freed
time offered with the location named and booked there even when the client has chosen another
location since; the same day at two locations read apart, within the one budget; a webhook's
cancel at a location marking that location's day; a wish made before chains read as the home
location's; and a bot of one location saying what it always said."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bot.storage import Wish
from bot.waitlist_rules import BURST, READS_PER_MINUTE, key_location, watch_key, watch_location
from bot.workflows import waitlist
from bot.workflows.hook_events import read_event
from standins.altegio.riga_seed import SANDBOX_CYRILLIC_COMPANY_ID as RIGA_ID
from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN, Sandbox
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, FakeClock, Recording
from tests.test_appointments import buttons, plain
from tests.test_booking_flow import finish_contact
from tests.test_waiting_list import ANNA, FRIDAY, HAIRCUT, WISH, fill, offers, tick, wait_for_friday

RIGA = ZoneInfo("Europe/Riga")
HAIRCUT_RIGA, ANNA_RIGA = 13001, 2301  # Женская стрижка with Анна Петрова
BERLIN_ID = 1001
CHAIN = {"ALTEGIO_GROUP_ID": "100"}
RIGA_PHONE = "+37120000000"


def riga_free(sandbox: Sandbox, day: date = FRIDAY) -> list[datetime]:
    """What Altegio says is free at Riga for a women's haircut with Анна that day."""
    with httpx.Client(
        transport=sandbox.transport(),
        base_url="https://api.alteg.io/api",
        headers={"Authorization": f"Bearer {SANDBOX_PARTNER_TOKEN}"},
    ) as api:
        data = api.get(
            f"/v1/book_times/{RIGA_ID}/{ANNA_RIGA}/{day.isoformat()}",
            params={"service_ids[]": HAIRCUT_RIGA},
        ).json()["data"]
    return [datetime.fromisoformat(s["datetime"]) for s in data]


def fill_riga(sandbox: Sandbox) -> list[int]:
    """The Riga salon books the whole Friday by phone; returns the records it made."""
    made = []
    while times := riga_free(sandbox):
        made.append(sandbox.salon_book(RIGA_ID, RIGA_PHONE, HAIRCUT_RIGA, ANNA_RIGA, times[0]))
    return made


def at(bot: Bot, user: StubUser, company_id: int) -> None:
    """The client has chosen this location of the chain (as the chooser keeps it)."""
    assert bot.services is not None
    bot.services.storage.choose_location(user.chat_id, company_id)


async def wait_at_riga(user: StubUser) -> None:
    """At Riga, Friday is full for Женская стрижка with Анна: the client asks to be told."""
    await user.send("/book")
    await user.tap("Волосы")
    await user.tap("Женская стрижка")
    await user.tap(next(b for b in buttons(user) if b.startswith("Анна Петрова")))
    await user.send("Friday")
    assert "There are no free times on Fri, Nov 27" in user.last.text, user.screen()
    await user.tap(WISH)
    await user.tap("Only Fri, Nov 27")
    assert "you are on the waiting list" in user.last.text, user.screen()


def riga_record_of(bot: Bot, phone_digits: str) -> dict[str, Any]:
    rows = [
        r
        for r in bot.sandbox.records(RIGA_ID)
        if phone_digits in "".join(ch for ch in str(r.get("phone", "")) if ch.isdigit())
        and not r.get("deleted")
    ]
    assert len(rows) == 1, rows
    return rows[0]


async def test_a_freed_time_at_riga_is_offered_there_and_booked_there(
    make_bot: Callable[..., Any], clock: FakeClock
) -> None:
    bot: Bot = await make_bot(env=CHAIN)
    assert bot.services is not None
    made = fill_riga(bot.sandbox)
    first, second = bot.user(100001), bot.user(100002, first_name="Ben")
    for user in (first, second):
        at(bot, user, RIGA_ID)
        await wait_at_riga(user)
    await first.send("/waitlist")
    assert "1. Женская стрижка with Анна Петрова, Fri, Nov 27, at Салон Аврора" in first.last.text
    await tick(bot)  # the first read: nothing free, as both saw
    # Meanwhile the first client chooses Berlin and books a haircut there (the contact kept).
    at(bot, first, BERLIN_ID)
    await first.send("/book")
    await first.tap("Hair")
    await first.tap("Women's haircut")
    await first.tap(next(b for b in buttons(first) if b.startswith("Anna Weber")))
    await first.send("Saturday")
    await first.tap_number(1)
    await finish_contact(first)
    await first.tap("✅ Confirm")
    assert "Studio Aurora" in first.last.text and "You are booked" in first.last.text
    # The Riga salon cancels its 10:00 (Riga time; 9:00 in Berlin).
    freed = riga_free(bot.sandbox)
    bot.sandbox.salon_cancel(made[0])
    start = riga_free(bot.sandbox)[0]
    assert freed == [] and start.astimezone(RIGA).hour == 10
    clock.advance(minutes=30)
    await tick(bot)
    assert len(offers(first)) == 1 and offers(second) == []
    offer = plain(offers(first)[0])
    assert "A time has freed up at Салон Аврора, Brīvības iela 40" in offer, offer
    assert "Женская стрижка with Анна Петрова" in offer
    assert "Friday, November 27, 2026 at 10:00 AM" in offer and "9:00 AM" not in offer
    # Book it: at Riga, though Berlin is chosen; the client is told their location changed.
    await first.tap("Book it")
    summary = plain(first.last.text)
    assert summary.startswith("📍 This time is at Салон Аврора, Brīvības iela 40"), summary
    assert "switched your location" in summary
    assert "When: Friday, November 27, 2026 at 10:00 AM" in summary
    assert "Location: Салон Аврора, Brīvības iela 40" in summary
    await first.tap("✅ Confirm")
    assert "You are booked" in first.last.text, first.screen()
    assert "10:00 AM" in plain(first.last.text) and "Салон Аврора" in first.last.text
    record = riga_record_of(bot, "4915123456789")
    assert record["staff_id"] == ANNA_RIGA
    assert record["start"] == start
    assert bot.services.storage.chosen_location(first.chat_id) == RIGA_ID
    kept = [b for b in bot.services.storage.bookings_for_chat(first.chat_id) if b.company_id]
    assert {b.company_id for b in kept} == {BERLIN_ID, RIGA_ID}
    # Booked: the wish is done; the second in line still waits.
    await first.send("/waitlist")
    assert "waiting list is empty" in first.last.text
    await second.send("/waitlist")
    assert "Салон Аврора" in second.last.text


async def test_taking_it_with_no_contact_says_where_before_the_phone(
    make_bot: Callable[..., Any], clock: FakeClock
) -> None:
    bot: Bot = await make_bot(env=CHAIN)
    assert bot.services is not None
    made = fill_riga(bot.sandbox)
    user = bot.user()
    at(bot, user, RIGA_ID)
    await wait_at_riga(user)
    await tick(bot)
    at(bot, user, BERLIN_ID)
    bot.sandbox.salon_cancel(made[2])
    clock.advance(minutes=30)
    await tick(bot)
    assert len(offers(user)) == 1
    await user.tap("Book it")
    said = [plain(t) for t in user.bot_texts]
    assert any(t.startswith("📍 This time is at Салон Аврора") for t in said), said
    assert "Your phone number, please" in user.last.text
    await finish_contact(user, "+49 151 55555555")
    summary = plain(user.last.text)
    assert "Location: Салон Аврора" in summary and "12:00 PM" in summary, summary
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text, user.screen()
    riga_record_of(bot, "4915155555555")


async def test_the_same_day_at_two_locations_is_read_at_each_within_one_budget(
    make_bot: Callable[..., Any], clock: FakeClock
) -> None:
    wire = Recording()
    bot: Bot = await make_bot(env=CHAIN, transport=wire)
    wire.bot = bot
    assert bot.services is not None
    services = bot.services
    for place, service, staff in ((BERLIN_ID, HAIRCUT, ANNA), (RIGA_ID, HAIRCUT_RIGA, ANNA_RIGA)):
        await waitlist.add(
            services.at(place),
            user_id=300000 + place,
            chat_id=300000 + place,
            language="en",
            service_ids=[service],
            staff_id=staff,
            first=FRIDAY,
            last=FRIDAY,
        )
    wishes = services.storage.all_wishes()
    assert [w.company_id for w in wishes] == [BERLIN_ID, RIGA_ID]
    before = len(wire.seen)
    for _ in range(2):  # the spare room of a second runs out: the rest at the next tick
        await tick(bot)
        clock.advance(seconds=10)
    months = [r.url.path for r in wire.seen[before:] if "/book_dates/" in r.url.path]
    assert sorted(p.split("/")[4] for p in months) == ["1001", "1004"], months
    keys = set(services.storage.watched())
    assert watch_key([HAIRCUT], ANNA, FRIDAY) in keys  # the home location's, as before chains
    assert watch_key([HAIRCUT_RIGA], ANNA_RIGA, FRIDAY, RIGA_ID) in keys
    # The same services, team member and day at two locations are two reads, never one.
    same = [watch_key([HAIRCUT], 0, FRIDAY, watch_location(c, BERLIN_ID)) for c in (0, 1001, 1004)]
    assert same[0] == same[1] != same[2] and [key_location(k) for k in same] == [0, 0, 1004]
    # Many wishes at both locations: one budget for them all.
    for n in range(20):
        first = date(2026, 11, 24) + timedelta(days=n)
        place, service = (BERLIN_ID, HAIRCUT + n % 3) if n % 2 else (RIGA_ID, 13001 + n % 3)
        await waitlist.add(
            services.at(place),
            user_id=310000 + n,
            chat_id=310000 + n,
            language="en",
            service_ids=[service],
            staff_id=0,
            first=first,
            last=first + timedelta(days=13),
        )
    clock.advance(minutes=2)
    await tick(bot)  # the burst refilled
    before, reads_before = len(wire.seen), services.waitlist.reads
    for _ in range(6 * 5):  # five minutes of ticks
        clock.advance(seconds=10)
        await tick(bot)
    reads = [
        r.url.path
        for r in wire.seen[before:]
        if "/book_times/" in r.url.path or "/book_dates/" in r.url.path
    ]
    assert len(reads) == services.waitlist.reads - reads_before
    assert READS_PER_MINUTE * 5 - BURST <= len(reads) <= READS_PER_MINUTE * 5 + BURST
    assert {p.split("/")[4] for p in reads} == {"1001", "1004"}


async def test_a_webhook_cancel_at_riga_has_rigas_day_read_at_once(
    make_bot: Callable[..., Any], clock: FakeClock
) -> None:
    bot: Bot = await make_bot(env=CHAIN)
    assert bot.services is not None
    services = bot.services
    made = fill_riga(bot.sandbox)
    fill(bot.sandbox)  # Berlin's Friday too
    riga, berlin = bot.user(100001), bot.user(100002, first_name="Ben")
    at(bot, riga, RIGA_ID)
    await wait_at_riga(riga)
    at(bot, berlin, BERLIN_ID)
    await wait_for_friday(berlin)
    await tick(bot)
    clock.advance(minutes=1)  # neither day is due for half an hour
    await tick(bot)
    bot.sandbox.hooks.subscribe(RIGA_ID, "https://bot.example/altegio/x")
    bot.sandbox.salon_cancel(made[1])
    body = bot.sandbox.hooks.deliveries()[-1].body
    sender, event = read_event(json.dumps(body).encode(), lambda sent: sent == RIGA_ID)
    assert sender == RIGA_ID and event is not None and event.status == "delete"
    await waitlist.note_event(services, event)
    riga_key = watch_key([HAIRCUT_RIGA], ANNA_RIGA, FRIDAY, RIGA_ID)
    berlin_key = watch_key([HAIRCUT], ANNA, FRIDAY)
    watched = services.storage.watched()
    assert watched[riga_key][2] == 0 and watched[berlin_key][2] > 0  # only Riga's day is due
    clock.advance(seconds=10)
    await tick(bot)
    assert len(offers(riga)) == 1 and offers(berlin) == []
    assert "11:00 AM" in plain(offers(riga)[0])


async def test_a_wish_made_before_chains_is_the_home_locations(
    make_bot: Callable[..., Any], clock: FakeClock
) -> None:
    bot: Bot = await make_bot(env=CHAIN)
    assert bot.services is not None
    storage = bot.services.storage
    booked = fill(bot.sandbox)
    user = bot.user()
    await user.send("/start")
    at(bot, user, RIGA_ID)
    now = int(clock.now().timestamp())
    ends = int(datetime(2026, 11, 28, tzinfo=BERLIN).timestamp())
    storage.add_wish(
        Wish(0, user.user_id, user.chat_id, "en", (HAIRCUT,), ANNA, FRIDAY, FRIDAY, now, ends)
    )
    old_key = f"{HAIRCUT}:{ANNA}:{FRIDAY.isoformat()}"  # as kept before chains
    storage.know_free(old_key, [], now, 0)
    await user.send("/waitlist")
    assert "1. Women's haircut with Anna Weber, Fri, Nov 27, at Studio Aurora" in user.last.text
    await tick(bot)
    assert old_key in storage.watched()
    bot.sandbox.salon_cancel(booked[0])
    clock.advance(minutes=30)
    await tick(bot)
    assert len(offers(user)) == 1
    assert "A time has freed up at Studio Aurora, " in plain(offers(user)[0])
    await user.tap("Book it")
    await finish_contact(user)
    assert "Location: Studio Aurora, " in plain(user.last.text), user.screen()
    assert storage.chosen_location(user.chat_id) == BERLIN_ID


async def test_one_location_says_what_it_always_said(bot: Bot, clock: FakeClock) -> None:
    booked = fill(bot.sandbox)
    user = bot.user()
    await wait_for_friday(user)
    await user.send("/waitlist")
    assert (
        plain(user.last.text).splitlines()[1] == "1. Women's haircut with Anna Weber, Fri, Nov 27"
    )
    await tick(bot)
    bot.sandbox.salon_cancel(booked[0])
    clock.advance(minutes=30)
    await tick(bot)
    assert plain(offers(user)[0]).startswith("🔔 A time has freed up: Women's haircut with Anna")
    assert bot.services is not None
    assert [w.company_id for w in bot.services.storage.all_wishes()] == [BERLIN_ID]
    assert set(bot.services.storage.watched()) == {
        watch_key([HAIRCUT], ANNA, FRIDAY),
        f"{HAIRCUT}:{ANNA}:2026-11",
    }
    await user.tap("Book it")
    await finish_contact(user)
    assert "📍" not in user.last.text and "switched" not in user.last.text


async def test_no_thanks_at_riga_passes_it_to_the_next_there(
    make_bot: Callable[..., Any], clock: FakeClock
) -> None:
    bot: Bot = await make_bot(env=CHAIN)
    made = fill_riga(bot.sandbox)
    first, second = bot.user(100001), bot.user(100002, first_name="Ben")
    for user in (first, second):
        at(bot, user, RIGA_ID)
        await wait_at_riga(user)
    await tick(bot)
    at(bot, first, BERLIN_ID)  # the first has chosen Berlin since
    bot.sandbox.salon_cancel(made[3])
    clock.advance(minutes=30)
    await tick(bot)
    await first.tap("No thanks")
    assert "goes to the next in line" in first.last.text
    assert len(offers(second)) == 1
    offer = plain(offers(second)[0])
    assert "at Салон Аврора" in offer and "at 1:00 PM" in offer, offer
