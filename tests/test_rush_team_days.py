"""Who "any available team member" can be, learnt in a rush: each member's working days are read
once, and on a day only one of those offering the services works, a time held (or booked) with
anyone is that member's, so the times overlapping it are hidden from everyone with anyone as
with the member; on a day several work, one held leaves the others free."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest

from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot
from tests.test_booking_flow import buttons, finish_contact, plain
from tests.test_own_bookings import book_requests
from tests.test_rush_shared_times import (
    Gate,
    at_day_step,
    in_rush,
    rush,
    tap_time,
    times_shown,
)
from tests.test_waiting_list import fill

ANYONE = "Any available team member"
SATURDAY = "2026-11-28"  # Anna alone of the two who cut hair
WEDNESDAY = "2026-11-25"  # Anna and Jonas
JUST_CHOSEN = "another client has just chosen that time"


@pytest.fixture
async def gated(make_bot: Callable[..., Any]) -> tuple[Bot, Gate]:
    gate = Gate()
    gate.bot = await make_bot(transport=gate)
    return gate.bot, gate


def at(day: str, label: str) -> datetime:
    return datetime.strptime(f"{day} {label}", "%Y-%m-%d %I:%M %p").replace(tzinfo=BERLIN)


def overlaps(day: str, label: str, held: str, minutes: int = 60) -> bool:
    start, other = at(day, label), at(day, held)
    return abs((start - other).total_seconds()) < minutes * 60


def days_read(gate: Gate) -> list[str | None]:
    """The team members whose working days were read (`book_dates` with no services)."""
    return sorted(
        str(r.url.params.get("staff_id"))
        for r in gate.seen
        if "/book_dates/" in r.url.path and "service_ids[]" not in r.url.params
    )


async def shown(bot: Bot, gate: Gate, count: int, day: str) -> list[StubUser]:
    users = [await at_day_step(bot, 100001 + i, staff=ANYONE) for i in range(count)]
    typed = f"{int(day[8:])}.{int(day[5:7])}"
    async with rush(bot, gate) as actions:
        in_rush(actions, *(user.send(typed) for user in users))
    return users


async def test_on_a_day_one_member_works_a_time_held_with_anyone_is_theirs(
    gated: tuple[Bot, Gate],
) -> None:
    bot, gate = gated
    first, second, third, fourth = await shown(bot, gate, 4, SATURDAY)
    assert days_read(gate) == ["2001", "2002"]  # once each, for the four clients
    offered = times_shown(first)
    assert offered == times_shown(second)
    chosen, later = offered[0], offered[2]  # 30 minutes later: the hour overlaps
    assert overlaps(SATURDAY, later, chosen)
    await tap_time(first, chosen)
    await tap_time(second, later)
    text = plain(second.last.text)
    assert JUST_CHOSEN in text
    left = times_shown(second)
    assert left and not any(overlaps(SATURDAY, label, chosen) for label in left)
    # The third client's next list, in the rush, leaves them out too, with no read of days.
    async with rush(bot, gate) as actions:
        in_rush(actions, third.send(f"{int(SATURDAY[8:])}.11"))
    assert not any(overlaps(SATURDAY, label, chosen) for label in times_shown(third))
    assert days_read(gate) == ["2001", "2002"]
    # Booked: the bot's note of it is Anna's, so a time overlapping it, chosen from a list
    # shown before, is refused without asking Altegio.
    await finish_contact(first)
    await first.tap("✅ Confirm")
    assert "You are booked" in first.last.text
    await refused_without_a_request(bot, gate, fourth, later)


async def refused_without_a_request(bot: Bot, gate: Gate, user: StubUser, label: str) -> None:
    """The client books `label`, which the bot's own bookings surely filled: told it has just
    been taken, with no `book_record` sent."""
    await tap_time(user, label)
    await finish_contact(user, phone="+49 151 23456780")
    sent = book_requests(gate)
    await user.tap("✅ Confirm")
    assert "just been taken" in plain(user.last.text)
    assert book_requests(gate) == sent
    assert bot.services is not None
    assert bot.services.altegio.shared_times.known_taken == 1


async def test_on_a_day_two_work_one_time_held_with_anyone_leaves_the_other(
    gated: tuple[Bot, Gate],
) -> None:
    bot, gate = gated
    first, second = await shown(bot, gate, 2, WEDNESDAY)
    offered = times_shown(first)
    # Both have 1:00 PM and 1:15 PM free: with one held, the other may see to the second.
    chosen, later = "1:00 PM", "1:15 PM"
    assert {chosen, later} <= set(offered) and overlaps(WEDNESDAY, later, chosen)
    await tap_time(first, chosen)
    await tap_time(second, later)
    assert JUST_CHOSEN not in plain(second.last.text)


async def test_outside_a_rush_nobodys_working_days_are_read(gated: tuple[Bot, Gate]) -> None:
    bot, gate = gated
    user = await at_day_step(bot, 100001, staff=ANYONE)
    await user.send("28.11")
    assert times_shown(user)
    assert days_read(gate) == []


async def hold_whole_day(bot: Bot, day: date) -> None:
    """Other clients of the bot hold every one of Anna's free times on `day`."""
    assert bot.services is not None
    for n, slot in enumerate(await bot.services.altegio.times(2001, day, [10001])):
        bot.services.holds.keep(f"other{day}{n}", 2001, slot.raw, bot.clock.now(), 3600)


async def test_a_day_held_whole_by_other_clients_is_said_so_and_not_offered_again(
    bot: Bot,
) -> None:
    user = await at_day_step(bot, 100001)
    saturday, tuesday = date(2026, 11, 28), date(2026, 12, 1)
    await hold_whole_day(bot, saturday)
    await user.send("28.11")
    text = plain(user.last.text)
    assert "Every free time on Sat, Nov 28 is being booked by other clients right now" in text
    days = [b for b in buttons(user) if ", " in b and b[:3] in ("Tue", "Wed", "Thu", "Fri")]
    assert "Tue, Dec 1" in days and "Sat, Nov 28" not in buttons(user)
    # A nearest day found held whole too: neither is offered again to this client.
    await hold_whole_day(bot, tuesday)
    await user.tap("Tue, Dec 1")
    assert "being booked by other clients" in plain(user.last.text)
    assert not {"Sat, Nov 28", "Tue, Dec 1"} & set(buttons(user))
    assert any(", " in b for b in buttons(user))


async def test_a_day_found_full_is_not_offered_to_the_next_client(bot: Bot) -> None:
    first, second = await at_day_step(bot, 100001), await at_day_step(bot, 100002)
    # Both were shown Anna's days; the salon then books Friday whole by phone.
    fill(bot.sandbox, date(2026, 11, 27))
    await first.send("27.11")
    assert "There are no free times on Fri, Nov 27 any more" in plain(first.last.text)
    assert bot.services is not None
    sent = bot.services.altegio.requests_sent
    await second.send("27.11")  # told at once, from the days kept: no read of the day
    assert "There are no free times on Fri, Nov 27." in plain(second.last.text)
    assert bot.services.altegio.requests_sent == sent
