"""With "any available team member" in a rush, on a day several of those offering the services
work and other clients want, each one's free times are read instead of anyone's: each time then
knows who it is free with, so a time only one member has free is held, noted when booked and
taken out of the copies as theirs, and the others' times stay offered. The booking still goes
to Altegio with anyone."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from bot.altegio.models import Slot
from bot.altegio.models.free_times import shortest_of
from bot.altegio.own_bookings import OwnBookings
from bot.altegio.shared_times import SharedTimes
from bot.draft import Draft
from bot.visit_times import merged
from bot.workflows.book import appointments
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, FakeClock
from tests.test_booking_flow import finish_contact, plain
from tests.test_rush_shared_times import Gate, in_rush, rush, tap_time, times_shown
from tests.test_rush_team_days import (
    JUST_CHOSEN,
    SATURDAY,
    WEDNESDAY,
    refused_without_a_request,
    shown,
)

ANNA, JONAS, HAIRCUT = 2001, 2002, 10001
# On Wednesday Jonas alone has 9:30 and 10:15 free (Anna starts at 10, and has 10:00 only
# before 1 PM); a haircut with him takes 75 minutes, with her an hour.
JONAS_ONLY, OVERLAPPING, BOTH = "9:30 AM", "10:15 AM", "10:00 AM"


@pytest.fixture
async def gated(make_bot: Callable[..., Any]) -> tuple[Bot, Gate]:
    gate = Gate()
    gate.bot = await make_bot(transport=gate)
    return gate.bot, gate


def times_read_for(gate: Gate, day: str) -> list[str]:
    """Whose free times of `day` were read (team member ids, 0 for anyone)."""
    return [
        r.url.path.split("/")[-2]
        for r in gate.seen
        if r.method == "GET" and "/book_times/" in r.url.path and r.url.path.endswith(day)
    ]


async def wanted(bot: Bot, gate: Gate, count: int, day: str) -> list[StubUser]:
    """Clients shown `day` in a rush after another client asked for it first (who was shown
    anyone's times, read once: nobody else wanted the day yet)."""
    return (await shown(bot, gate, count + 1, day))[1:]


def booked_staff(gate: Gate) -> list[int]:
    return [
        appointment["staff_id"]
        for r in gate.seen
        if r.method == "POST" and "/book_record/" in r.url.path
        for appointment in json.loads(r.content)["appointments"]
    ]


async def test_each_members_times_are_read_on_a_day_several_work(gated: tuple[Bot, Gate]) -> None:
    bot, gate = gated
    alone, first, second = await shown(bot, gate, 3, WEDNESDAY)
    # The first to ask, anyone's times; for those wanting the day after, each member's, once.
    assert times_read_for(gate, WEDNESDAY) == ["0", str(ANNA), str(JONAS)]
    offered = times_shown(first)
    assert offered == times_shown(second) == times_shown(alone)
    # Everyone's times, each once: Jonas's from 9:30, Anna's 10:00 among them.
    assert offered[:4] == [JONAS_ONLY, "9:45 AM", BOTH, OVERLAPPING]
    # On Saturday only Anna works: anyone's, however many want it.
    await shown(bot, gate, 2, SATURDAY)
    assert times_read_for(gate, SATURDAY) == ["0"]


async def test_a_time_only_one_member_has_free_is_held_as_theirs(gated: tuple[Bot, Gate]) -> None:
    bot, gate = gated
    first, second, third = await wanted(bot, gate, 3, WEDNESDAY)
    await tap_time(first, JONAS_ONLY)
    # 10:15 is Jonas's alone, and his 9:30 visit lasts till 10:45: refused at the tap.
    await tap_time(second, OVERLAPPING)
    assert JUST_CHOSEN in plain(second.last.text)
    # 10:00 is Anna's too: still offered, and taken.
    assert BOTH in times_shown(second)
    await tap_time(third, BOTH)
    assert JUST_CHOSEN not in plain(third.last.text)


async def test_a_booking_of_a_time_one_member_had_free_is_noted_as_theirs(
    gated: tuple[Bot, Gate],
) -> None:
    bot, gate = gated
    first, second, third = await wanted(bot, gate, 3, WEDNESDAY)
    await tap_time(first, JONAS_ONLY)
    await finish_contact(first)
    await first.tap("✅ Confirm")
    assert "You are booked" in first.last.text
    assert booked_staff(gate) == [0]  # booked with anyone: the salon's Altegio picks Jonas
    # A time of Jonas's alone, overlapping it, chosen from the list shown before the booking,
    # is refused with no request: the bot knows its booking filled it.
    await refused_without_a_request(bot, gate, second, OVERLAPPING)
    # The next list in the rush, from the shared copies with no read, has lost Jonas's times
    # the booking filled, and kept 10:00, which Anna has free.
    read = len(times_read_for(gate, WEDNESDAY))
    async with rush(bot, gate) as actions:
        in_rush(actions, third.send("25.11"))
    left = times_shown(third)
    assert BOTH in left and JONAS_ONLY not in left and OVERLAPPING not in left
    assert len(times_read_for(gate, WEDNESDAY)) == read


async def test_a_refusal_of_a_time_one_member_had_free_keeps_the_others_copies(
    clock: FakeClock,
) -> None:
    shared = SharedTimes(clock.monotonic, 20.0, OwnBookings(clock.now))
    start = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
    anna, jonas = [Slot(start, start.isoformat(), 3600)], [Slot(start, start.isoformat(), 4500)]
    day = start.date()

    async def read(member: int, slots: list[Slot]) -> None:
        async def load() -> list[Slot]:
            return slots

        await shared.read((member, day, (HAIRCUT,)), load, queued=True)

    await read(ANNA, anna)
    await read(JONAS, jonas)
    shared.refused([(0, start.isoformat(), (HAIRCUT,), frozenset({JONAS}))])

    async def gone() -> list[Slot]:
        return []

    kept = await shared.read((ANNA, day, (HAIRCUT,)), gone, queued=True)
    assert kept == anna  # Anna's copy stays: the refusal was of Jonas's time
    assert await shared.read((JONAS, day, (HAIRCUT,)), gone, queued=True) == []


def test_merged_times_know_who_each_is_free_with() -> None:
    start = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
    later = datetime(2026, 11, 25, 13, 0, tzinfo=BERLIN)
    slots = merged(
        {
            ANNA: [Slot(start, start.isoformat(), 3600), Slot(later, later.isoformat(), 3600)],
            JONAS: [Slot(start, start.isoformat(), 4500)],
        }
    )
    assert [s.free_with for s in slots] == [((ANNA, 3600), (JONAS, 4500)), ((ANNA, 3600),)]
    assert slots[0].members == {ANNA, JONAS} and slots[0].length == 4500
    assert shortest_of(slots[0].free_with) == 3600
    assert Slot(start, start.isoformat(), 3600).members is None


def test_who_a_chosen_time_is_free_with_belongs_to_that_time() -> None:
    draft = Draft(staff_id=0, slot="2026-11-25T09:30:00+01:00")
    draft.slot_with = [draft.slot, [[JONAS, 4500]]]
    kept = Draft.from_json(json.loads(json.dumps(draft.as_json())))
    assert kept is not None and kept.slot_free_with == ((JONAS, 4500),)
    # Another time chosen since (an earliest one, from the waiting list): not known for it.
    kept.slot = "2026-11-25T10:00:00+01:00"
    assert kept.slot_free_with == ()
    # A state written otherwise reads as not known.
    kept.slot_with = ["2026-11-25T10:00:00+01:00", "Jonas"]
    assert kept.slot_free_with == ()


async def test_a_member_gone_meanwhile_leaves_the_others_times(gated: tuple[Bot, Gate]) -> None:
    bot, gate = gated
    await shown(bot, gate, 1, WEDNESDAY)  # the team and its days learnt
    bot.sandbox.remove_staff(JONAS)  # he left the salon since
    (user,) = await wanted(bot, gate, 1, "2026-11-26")
    offered = times_shown(user)
    assert offered and offered[0] == BOTH  # Anna's, from 10:00: none of his
    assert times_read_for(gate, "2026-11-26") == ["0", str(ANNA), str(JONAS)]
    assert "no longer" not in plain(user.last.text)


def test_a_day_is_contended_while_another_client_asked_for_it_within_the_window(
    clock: FakeClock,
) -> None:
    shared = SharedTimes(clock.monotonic, 20.0, OwnBookings(clock.now))
    key = (0, datetime(2026, 11, 25, tzinfo=BERLIN).date(), (HAIRCUT,))
    assert not shared.contended(key)  # the first to ask
    clock.advance(seconds=19)
    assert shared.contended(key)
    assert not shared.contended((0, key[1], (HAIRCUT, 10002)))  # other services: another list
    clock.advance(seconds=21)
    assert not shared.contended(key)  # nobody asked within the window


def test_only_a_booking_with_anyone_carries_who_its_time_was_free_with() -> None:
    slot = "2026-11-25T10:00:00+01:00"
    draft = Draft(service_id=HAIRCUT, staff_id=0, slot=slot, slot_length=4500)
    draft.slot_with = [slot, [[ANNA, 3600], [JONAS, 4500]]]
    (anyone,) = appointments(draft)
    # The note of the booking counts the shortest visit it can be: an hour, with Anna.
    assert anyone.members == {ANNA, JONAS} and anyone.length == 3600 and anyone.staff_id == 0
    # The same time then taken with Anna (an earliest time offered): hers alone, as chosen.
    draft.staff_id = ANNA
    (hers,) = appointments(draft)
    assert hers.members is None and hers.length == 4500
