"""The earliest free times offered first, driven as a client would: with anyone (each with who
it is with), with a named team member, a day chosen instead, a time taken meanwhile, nothing free,
and Altegio's nearest-slots call failing or answering in its other documented forms."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN, Sandbox
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, Recording
from tests.test_booking_flow import buttons, choose_service, finish_contact, plain

ANNA, JONAS = 2001, 2002
HAIRCUT = 10001
NAMES = {ANNA: "Anna Weber", JONAS: "Jonas Richter"}


def earliest_buttons(user: StubUser) -> list[str]:
    """The earliest times offered, as the buttons are labelled (to tap them)."""
    labels = [label for row in user.last.buttons for label in row]
    return [b for b in labels if b[:1].isalpha() and "," in b and ":" in b]


def nearest(sandbox: Sandbox, staff_id: int) -> list[datetime]:
    """What Altegio itself says are the team member's nearest free times."""
    with httpx.Client(
        transport=sandbox.transport(),
        base_url="https://api.alteg.io/api",
        headers={"Authorization": f"Bearer {SANDBOX_PARTNER_TOKEN}"},
    ) as api:
        data = api.get(
            f"/v1/book_staff_seances/1001/{staff_id}", params={"service_ids[]": HAIRCUT}
        ).json()["data"]
    return [datetime.fromisoformat(s["datetime"]) for s in data["seances"]]


def seances_requests(wire: Recording) -> int:
    return sum("/book_staff_seances/" in r.url.path for r in wire.seen)


async def test_anyone_offers_the_earliest_times_across_the_team_and_one_tap_books_it(
    recorded: tuple[Bot, Recording],
) -> None:
    bot, wire = recorded
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    assert "The earliest free times" in user.last.text, user.screen()
    offered = earliest_buttons(user)
    assert len(offered) == 4
    assert all(" · " in label for label in offered)  # each with who it is with
    assert "Choose a day" in buttons(user)
    # The earliest across the team: Anna's and Jonas's nearest times merged, soonest first.
    team = sorted({*nearest(bot.sandbox, ANNA), *nearest(bot.sandbox, JONAS)})
    first = team[0]
    assert plain(offered[0]).startswith(f"Tue, Nov 24, {first:%-I:%M %p} · ")
    who = offered[0].split(" · ")[1]
    assert who in NAMES.values()
    staff_id = next(i for i, name in NAMES.items() if name == who)
    # Asked per team member, never more than the few with the earliest days.
    assert seances_requests(wire) <= 2
    await user.tap(offered[0])
    await finish_contact(user)
    assert "Please check your booking" in user.last.text
    assert who in user.last.text
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    [record] = [r for r in bot.sandbox.records(1001) if r["phone"] == "+4915123456789"]
    assert record["staff_id"] == staff_id
    assert record["start"] == first.astimezone(BERLIN)
    assert record["master_requested"]  # booked with who it was offered with


async def test_a_second_client_within_half_a_minute_shares_the_read(
    recorded: tuple[Bot, Recording],
) -> None:
    """From the same read, and offered other times than the first client, who may be about to
    take one of theirs (`tests/test_earliest_rush.py`)."""
    bot, wire = recorded
    await choose_service(first := bot.user())
    await first.tap("Any available team member")
    spent = seances_requests(wire)
    await choose_service(second := bot.user(100002, first_name="Ben"))
    await second.tap("Any available team member")
    assert len(earliest_buttons(second)) == 4
    assert not set(earliest_buttons(second)) & set(earliest_buttons(first))
    assert seances_requests(wire) == spent


async def test_a_named_team_member_offers_their_own_earliest_times(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    assert "The earliest free times" in user.last.text
    offered = earliest_buttons(user)
    assert offered and not any(" · " in label for label in offered)
    assert "11:00 AM" in plain(offered[0])
    assert nearest(bot.sandbox, ANNA)[0].strftime("%H:%M") == "11:00"
    await user.tap(offered[0])
    await finish_contact(user)
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    [record] = bot.sandbox.records(1001)[-1:]
    assert record["staff_id"] == ANNA


async def test_choose_a_day_still_shows_the_calendar_and_its_times(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    await user.tap("Choose a day")
    assert "Choose a day, or type one" in user.last.text
    days = [b for b in buttons(user) if b.isdigit()]
    await user.tap(days[-1])
    assert "Free times on" in user.last.text
    # Back from the times is the calendar the client came from, not the earliest times.
    await user.tap("« Back")
    assert "Choose a day, or type one" in user.last.text
    await user.send("Friday")
    assert "Free times on Friday" in user.last.text


async def test_back_from_the_phone_brings_the_earliest_times_with_anyone_again(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    offered = earliest_buttons(user)
    await user.tap(offered[1])
    await user.tap("« Back")
    assert "The earliest free times" in user.last.text
    assert "any available team member" in user.last.text
    assert earliest_buttons(user) == offered


async def test_a_time_taken_meanwhile_brings_the_earliest_times_again_without_it(
    bot: Bot,
) -> None:
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    first = earliest_buttons(user)[0]
    who = next(i for i, name in NAMES.items() if name == first.split(" · ")[1])
    start = next(s for s in nearest(bot.sandbox, who))
    await user.tap(first)
    await finish_contact(user)
    bot.sandbox.salon_book(1001, "+491709999999", HAIRCUT, who, start)
    await user.tap("✅ Confirm")
    assert "just been taken" in user.last.text
    assert "The earliest free times" in user.last.text
    assert first not in earliest_buttons(user)
    await user.tap(earliest_buttons(user)[0])
    assert "Please check your booking" in user.last.text  # the contact details stand
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text


async def test_nothing_free_at_all_says_so(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    for staff_id in NAMES:
        bot.sandbox.remove_staff(staff_id)
    await user.tap("Any available team member")
    assert "There are no free days in the coming weeks" in user.last.text
    assert not earliest_buttons(user)


async def test_the_nearest_slots_call_failing_leaves_the_calendar(bot: Bot) -> None:
    bot.sandbox.fault("GET", "book_staff_seances", status=500, times=None)
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    assert "Choose a day, or type one" in user.last.text
    await user.send("Friday")
    await user.tap_number(1)
    await finish_contact(user)
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text


@pytest.mark.parametrize("form", ["date_only", "no_datetime"])
async def test_the_nearest_slots_call_in_its_other_forms(bot: Bot, form: str) -> None:
    """A day named with no times (its times are read), or `datetime` not understood."""
    bot.sandbox.configure(1001, seances_form=form)
    user = bot.user()
    await choose_service(user)
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    assert "The earliest free times" in user.last.text
    assert "11:00 AM" in plain(earliest_buttons(user)[0])


def test_sandbox_gives_the_nearest_slots_in_the_documented_forms(sandbox: Sandbox) -> None:
    with httpx.Client(
        transport=sandbox.transport(),
        base_url="https://api.alteg.io/api",
        headers={"Authorization": f"Bearer {SANDBOX_PARTNER_TOKEN}"},
    ) as api:

        def ask(**params: str) -> object:
            query = {"service_ids[]": str(HAIRCUT), **params}
            return api.get(f"/v1/book_staff_seances/1001/{ANNA}", params=query).json()["data"]

        later = "2026-12-01T09:00"
        full = ask()
        assert isinstance(full, dict) and full["seances"]
        assert ask(datetime=later)["seance_date"] >= "2026-12-01"  # type: ignore[index]
        sandbox.configure(1001, seances_form="no_datetime")
        assert ask(datetime=later) == full
        sandbox.configure(1001, seances_form="date_only")
        assert ask() == {"seance_date": full["seance_date"], "seances": []}


async def test_a_client_booking_again_is_not_offered_a_time_they_are_booked_at(bot: Bot) -> None:
    """The earliest time with one team member is often the earliest with another."""
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    first = earliest_buttons(user)[0]
    await user.tap(first)
    await finish_contact(user)
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    await choose_service(user, "Nails", "Gel manicure")
    await user.tap("Any available team member")
    when = plain(first).split(" · ")[0]
    assert not any(plain(label).startswith(when) for label in earliest_buttons(user))
