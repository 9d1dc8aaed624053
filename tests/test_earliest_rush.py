"""Many clients taking the earliest times at the same moment: each is offered times no other
client of the bot is being offered or is booking (from the days after the nearest once it is
used up), so they book without refusing each other; what the bot books leaves the times kept
for the earliest offer without a read; a time Altegio refuses re-reads only its team member's."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from bot.altegio.booking_calls import Appointment, NewBooking
from bot.altegio.client import AltegioClient
from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN, Sandbox
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, FakeClock, Recording
from tests.test_booking_flow import buttons, choose_service, finish_contact, plain
from tests.test_earliest import (
    ANNA,
    HAIRCUT,
    JONAS,
    NAMES,
    earliest_buttons,
    seances_requests,
)

LUKAS = 2005
MASSAGE = 10012  # an hour, with Lukas alone
BLOW_DRY = 10003
HOUR = timedelta(hours=1)


def offered_at(user: StubUser) -> list[tuple[datetime, str]]:
    """The earliest times offered to the client, and who each is with ("" when named)."""
    found = []
    for label in earliest_buttons(user):
        when, _, who = plain(label).partition(" · ")
        start = datetime.strptime(f"2026 {when} +0100", "%Y %a, %b %d, %I:%M %p %z")
        found.append((start.astimezone(BERLIN), who))
    return found


def posts(wire: Recording, path: str) -> int:
    return sum(r.method == "POST" and f"/{path}/" in r.url.path for r in wire.seen)


def gets(wire: Recording, path: str) -> int:
    return sum(r.method == "GET" and f"/{path}/" in r.url.path for r in wire.seen)


@pytest.mark.parametrize("form", ["full", "no_datetime", "date_only"])
async def test_clients_at_once_with_one_team_member_are_offered_apart_and_all_book(
    recorded: tuple[Bot, Recording], form: str
) -> None:
    """The days after the nearest are read from the nearest-slots call looking from the next
    day on, or, where the server does not take a day to look from, from the days and times."""
    bot, wire = recorded
    first = nearest_times(bot.sandbox, LUKAS, MASSAGE)[0]
    bot.sandbox.configure(1001, seances_form=form)
    clients = [bot.user(100001 + i, first_name=f"Client{i}") for i in range(8)]
    for user in clients:
        await choose_service(user, "Massage", "Relaxing massage")
        await user.tap(next(b for b in buttons(user) if b.startswith("Lukas Braun")))
    offers = [offered_at(user) for user in clients]
    assert all(len(times) == 4 for times in offers)
    # No time offered to one overlaps a time offered to another: an hour apart at least.
    for i, mine in enumerate(offers):
        for theirs in offers[i + 1 :]:
            assert all(abs(a - b) >= HOUR for a, _ in mine for b, _ in theirs)
    # The first clients have the nearest day; the later ones the days after it, read for them.
    assert offers[0][0][0] == first
    assert offers[-1][0][0].date() > first.date()
    for user in clients:
        await user.tap(earliest_buttons(user)[0])
        await finish_contact(user, f"+49 151 2345{6700 + user.user_id % 100}")
        await user.tap("✅ Confirm")
        assert "You are booked" in user.last.text, user.screen()
    assert posts(wire, "book_record") == len(clients)  # not one refused
    booked = {r["start"] for r in bot.sandbox.records(1001) if r["staff_id"] == LUKAS}
    assert {times[0][0] for times in offers} <= booked


def nearest_times(sandbox: Sandbox, staff_id: int, service_id: int) -> list[datetime]:
    """What Altegio itself says are the team member's nearest free times for the service."""
    with httpx.Client(
        transport=sandbox.transport(),
        base_url="https://api.alteg.io/api",
        headers={"Authorization": f"Bearer {SANDBOX_PARTNER_TOKEN}"},
    ) as api:
        data = api.get(
            f"/v1/book_staff_seances/1001/{staff_id}", params={"service_ids[]": service_id}
        ).json()["data"]
    return [datetime.fromisoformat(s["datetime"]) for s in data["seances"]]


async def test_clients_at_once_with_anyone_are_offered_apart_and_all_book(
    recorded: tuple[Bot, Recording],
) -> None:
    bot, wire = recorded
    clients = [bot.user(100001 + i, first_name=f"Client{i}") for i in range(6)]
    for user in clients:
        await choose_service(user)
        await user.tap("Any available team member")
    offers = [offered_at(user) for user in clients]
    assert all(len(times) == 4 for times in offers)
    length = {NAMES[ANNA]: HOUR, NAMES[JONAS]: timedelta(minutes=75)}
    for i, mine in enumerate(offers):
        for theirs in offers[i + 1 :]:
            for a, who in mine:
                for b, other in theirs:
                    if who == other:  # with the same team member: no overlap either way
                        assert a + length[who] <= b or b + length[who] <= a
    before = seances_requests(wire)
    for number, user in enumerate(clients):
        await user.tap(earliest_buttons(user)[-1])
        await finish_contact(user, f"+49 151 2345{6700 + number}")
        await user.tap("✅ Confirm")
        assert "You are booked" in user.last.text, user.screen()
    assert posts(wire, "book_record") == len(clients)
    assert seances_requests(wire) == before  # what was booked left the kept times unread


async def test_times_offered_and_not_taken_are_offered_again(bot: Bot) -> None:
    """At once when the client chooses a day instead, after a minute when they just leave."""
    first, second, third, fourth = (bot.user(100001 + i, first_name=f"C{i}") for i in range(4))
    await choose_service(first)
    await first.tap("Any available team member")
    earliest = earliest_buttons(first)
    await choose_service(second)
    await second.tap("Any available team member")
    later = earliest_buttons(second)
    assert not set(later) & set(earliest)
    await first.tap("Choose a day")
    await choose_service(third)
    await third.tap("Any available team member")
    assert earliest_buttons(third) == earliest
    # The second and third clients leave their times on screen: kept from others a minute.
    await choose_service(fourth)
    await fourth.tap("Any available team member")
    assert not set(earliest_buttons(fourth)) & {*earliest, *later}
    bot.clock.advance(minutes=1, seconds=1)
    await fourth.tap("« Back")
    await fourth.tap("Any available team member")
    assert earliest_buttons(fourth) == earliest


async def test_the_time_taken_keeps_its_hold_and_the_rest_of_the_offer_goes_to_others(
    bot: Bot,
) -> None:
    first, second = bot.user(100001), bot.user(100002, first_name="Ben")
    await choose_service(first)
    await first.tap("Any available team member")
    mine = offered_at(first)
    taken = mine[-1]
    await first.tap(earliest_buttons(first)[-1])
    await choose_service(second)
    await second.tap("Any available team member")
    theirs = offered_at(second)
    assert taken not in theirs
    # What the first client did not take, and that does not overlap what they took, is free.
    length = {NAMES[ANNA]: HOUR, NAMES[JONAS]: timedelta(minutes=75)}
    apart = [
        (start, who)
        for start, who in mine
        if who != taken[1] or start + length[who] <= taken[0] or taken[0] + length[who] <= start
    ]
    assert apart and set(apart) <= set(theirs)


async def test_a_time_taken_meanwhile_reads_again_only_that_team_members_times(
    recorded: tuple[Bot, Recording],
) -> None:
    bot, wire = recorded
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    first, (start, _) = earliest_buttons(user)[0], offered_at(user)[0]
    who = next(i for i, name in NAMES.items() if name == first.split(" · ")[1])
    await user.tap(first)
    await finish_contact(user)
    bot.sandbox.salon_book(1001, "+491709999999", HAIRCUT, who, start)
    team, seances = gets(wire, "book_staff"), seances_requests(wire)
    await user.tap("✅ Confirm")
    assert "just been taken" in user.last.text
    assert first not in earliest_buttons(user)
    assert gets(wire, "book_staff") == team  # the team is not read again
    assert seances_requests(wire) == seances + 1  # only the refused team member's times


async def test_a_booking_takes_its_time_out_of_the_kept_nearest_times_without_a_read(
    clock: FakeClock, sandbox: Sandbox
) -> None:
    seen: list[str] = []

    class Counting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request.url.path)
            await request.aread()
            return sandbox.handle(request)

    client = AltegioClient(
        partner_token=SANDBOX_PARTNER_TOKEN,
        company_id=1001,
        transport=Counting(),
        monotonic=clock.monotonic,
        clock=clock.now,
    )
    haircut = await client.nearest(ANNA, [HAIRCUT])
    blow_dry = await client.nearest(ANNA, [BLOW_DRY])
    booked = haircut.slots[1]
    assert booked.length == 3600
    request = NewBooking(
        phone="+4915123456789",
        fullname="Anna Schmidt",
        appointments=(Appointment(1, (HAIRCUT,), ANNA, booked.raw),),
    )
    await client.book(request)
    reads = len(seen)
    end = booked.start + HOUR
    for before, service in ((haircut, HAIRCUT), (blow_dry, BLOW_DRY)):
        after = await client.nearest(ANNA, [service])
        kept = [
            s
            for s in before.slots
            if s.start + timedelta(seconds=s.length or 0) <= booked.start or s.start >= end
        ]
        assert list(after.slots) == kept
        assert len(kept) < len(before.slots)
    assert len(seen) == reads  # no read
    await client.aclose()
