"""A visit booked as consecutive appointments with different team members, after it is booked:
listed and shown as one visit, cancelled whole (or in part when Altegio refuses a part), one
calendar event, one reminder and one thank-you, the salon cancelling or moving one part, the
salon's notices; with and without the client's Altegio user token. Driven as a client would
against the sandbox location."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, Recording
from tests.test_appointments import tick_through
from tests.test_salon_changes import follow, hooked
from tests.test_salon_view import notices, with_admin
from tests.test_visit_parts import haircut_then_manicure
from tests.test_visits import PHONE, active_records, buttons, plain

HAIRCUT = "Women's haircut with Anna Weber"
MANICURE = "Gel manicure with Mia Hoffmann"


async def book_visit(user: StubUser) -> None:
    """Women's haircut with Anna, then Gel manicure with Mia, at Friday's first free time."""
    await haircut_then_manicure(user)
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    await user.tap(next(b for b in buttons(user) if b.startswith("Mia Hoffmann")))
    await user.send("Friday")
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text, user.screen()


def parts(bot: Bot) -> list[dict[str, Any]]:
    """The visit's records as the salon has them, soonest first."""
    return sorted(active_records(bot), key=lambda r: r["start"])


def start_of(record: dict[str, Any]) -> datetime:
    start = record["start"]
    assert isinstance(start, datetime)
    return start


def at(start: datetime) -> str:
    """A time as the bot writes it in English ("10:00 AM")."""
    return start.astimezone(BERLIN).strftime("%-I:%M %p")


def entries(user: StubUser) -> list[str]:
    """The list's entries, as labelled (a narrow space in the time)."""
    return [b for row in user.last.buttons for b in row if "·" in b and "Past" not in b]


async def open_visit(user: StubUser) -> str:
    await user.send("/appointments")
    found = [b for b in entries(user) if "Women's haircut" in b or "Gel manicure" in b]
    assert len(found) == 1, user.screen()  # one entry for the whole visit
    await user.tap(found[0])
    return plain(user.last.text)


async def test_the_visit_is_one_entry_and_its_screen_shows_each_part(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    haircut, manicure = parts(bot)
    await user.send("/appointments")
    text = plain(user.last.text)
    assert (
        f"Women's haircut with Anna Weber at {at(start_of(haircut))}, then Gel manicure with "
        f"Mia Hoffmann at {at(start_of(manicure))}"
    ) in text, text
    listed = entries(user)
    assert len(listed) == 1 and "Women's haircut, Gel manicure" in listed[0]
    screen = await open_visit(user)
    assert f"{at(start_of(haircut))} {HAIRCUT}" in screen, screen
    assert f"{at(start_of(manicure))} {MANICURE}" in screen
    assert "Friday, November 27, 2026" in screen
    labels = buttons(user)
    assert "Cancel appointment" in labels and "Add to calendar" in labels


async def test_cancel_cancels_every_part_and_no_reminder_follows(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    await open_visit(user)
    await user.tap("Cancel appointment")
    assert "Cancel this visit? Each of its appointments is cancelled." in user.last.text
    assert HAIRCUT in plain(user.last.text) and MANICURE in plain(user.last.text)
    await user.tap("Yes, cancel it")
    text = plain(user.last.text)
    assert "Your visit is cancelled" in text and HAIRCUT in text and MANICURE in text
    assert active_records(bot) == []
    await user.send("/appointments")
    assert "no upcoming appointments" in user.last.text
    await tick_through(bot, days=4)
    assert not any("Reminder" in t or "Thank you for visiting" in t for t in user.bot_texts)


async def test_a_part_altegio_refuses_stands_and_is_said_so_and_cancel_again_takes_the_rest(
    bot: Bot,
) -> None:
    user = bot.user()
    await book_visit(user)
    haircut, manicure = parts(bot)
    await open_visit(user)
    await user.tap("Cancel appointment")
    # Altegio refuses the manicure (a rule of the salon's the bot was not told, say).
    bot.sandbox.fault("DELETE", "user", status=422, path_contains=f"/{manicure['record_id']}/")
    await user.tap("Yes, cancel it")
    text = plain(user.last.text)
    assert "Only part of your visit is cancelled." in text, text
    assert "Your visit is cancelled" not in text
    cancelled, standing = text.split("Still booked:")
    assert HAIRCUT in cancelled and MANICURE not in cancelled
    assert MANICURE in standing and HAIRCUT not in standing
    assert "did not accept cancelling it online" in standing
    assert [r["record_id"] for r in active_records(bot)] == [manicure["record_id"]]
    # The list shows what stands; the reminder follows it.
    await user.send("/appointments")
    assert "Gel manicure" in " ".join(buttons(user))
    assert "Women's haircut" not in " ".join(buttons(user))
    await user.send("/appointments")
    await user.tap(next(b for b in entries(user) if "Gel manicure" in b))
    await user.tap("Cancel appointment")
    assert "Cancel this appointment?" in user.last.text
    await user.tap("Yes, cancel it")
    assert "Your appointment is cancelled" in user.last.text
    assert active_records(bot) == []
    assert haircut["record_id"] != manicure["record_id"]


async def test_cancel_the_rest_after_an_outage_cancels_only_what_stands(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    _haircut, manicure = parts(bot)
    await open_visit(user)
    await user.tap("Cancel appointment")
    bot.sandbox.fault(
        "DELETE", "user", status=503, times=None, path_contains=f"/{manicure['record_id']}/"
    )
    await user.tap("Yes, cancel it")
    text = plain(user.last.text)
    assert "Only part of your visit is cancelled." in text, text
    assert "did not answer about the rest" in text
    assert [r["record_id"] for r in active_records(bot)] == [manicure["record_id"]]
    bot.sandbox.clear_faults()
    await user.tap("Cancel the rest")
    text = plain(user.last.text)
    assert "Your appointment is cancelled" in text and "Gel manicure" in text, text
    assert active_records(bot) == []


async def test_the_salons_rule_for_any_part_leaves_the_whole_visit(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    haircut, _ = parts(bot)
    bot.clock.current = start_of(haircut) - timedelta(hours=1)  # within the two hours' notice
    await open_visit(user)
    await user.tap("Cancel appointment")
    assert "2 hours before the visit" in user.last.text
    assert len(active_records(bot)) == 2


async def test_the_calendar_file_is_one_event_naming_every_part(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    haircut, manicure = parts(bot)
    await open_visit(user)
    await user.tap("Add to calendar")
    text = user.documents[-1].content.decode()
    unfolded = text.replace("\r\n ", "")
    assert unfolded.count("BEGIN:VEVENT") == 1
    first = start_of(haircut).astimezone(BERLIN)
    end = (start_of(manicure) + timedelta(seconds=int(manicure["length"]))).astimezone(BERLIN)
    assert f"DTSTART;TZID=Europe/Berlin:{first:%Y%m%dT%H%M%S}" in unfolded
    assert f"DTEND;TZID=Europe/Berlin:{end:%Y%m%dT%H%M%S}" in unfolded
    summary = re.search(r"SUMMARY:(.*)", unfolded)
    assert summary and "Women's haircut\\, Gel manicure" in summary.group(1)
    assert HAIRCUT in unfolded.replace("\\,", ",") and MANICURE in unfolded


async def test_one_reminder_per_visit_naming_every_part_and_one_thank_you(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    haircut, manicure = parts(bot)
    await tick_through(bot, days=4, step_hours=0.5)
    reminders = [plain(t) for t in user.bot_texts if "Reminder" in t]
    assert len(reminders) == 2, reminders  # 24 hours and 2 hours before, once each
    for text in reminders:
        assert "Reminder of your visit" in text
        assert f"{at(start_of(haircut))} {HAIRCUT}" in text
        assert f"{at(start_of(manicure))} {MANICURE}" in text
    assert sum("Thank you for visiting" in t for t in user.bot_texts) == 1
    # Book again starts the whole visit again: nobody does all of it, so parts again.
    await user.tap("Book again")
    text = plain(user.last.text)
    assert "Nobody does all of it" in text, user.screen()
    assert "Who would you like for Women's haircut?" in text


async def test_the_salon_cancelling_one_part_leaves_the_rest_reminded_and_listed(
    bot: Bot,
) -> None:
    user = bot.user()
    await book_visit(user)
    haircut, manicure = parts(bot)
    bot.sandbox.salon_cancel(haircut["record_id"])
    bot.clock.current = start_of(haircut) - timedelta(hours=25)
    await tick_through(bot, days=2, step_hours=0.5)
    told = [plain(t) for t in user.bot_texts if "part of your visit" in t]
    assert len(told) == 1, user.bot_texts[-3:]
    assert "The salon has cancelled part of your visit: Women's haircut" in told[0]
    assert "The rest of your visit stands:" in told[0] and MANICURE in told[0]
    reminders = [plain(t) for t in user.bot_texts if "Reminder" in t]
    assert all("Gel manicure" in t and "Women's haircut" not in t for t in reminders)
    assert len(reminders) == 2  # the manicure's own day ahead and two hours ahead
    assert [r["record_id"] for r in active_records(bot)] == [manicure["record_id"]]


async def test_a_part_the_salon_cancels_shows_in_the_list_the_rest_stays(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    _haircut, manicure = parts(bot)
    bot.sandbox.salon_cancel(manicure["record_id"])
    await user.send("/appointments")
    text = plain(user.last.text)
    assert "Cancelled by the salon: Gel manicure" in text
    listed = entries(user)
    assert len(listed) == 1 and "Women's haircut" in listed[0]
    await user.tap(listed[0])
    assert "Gel manicure" not in user.last.text and "Anna Weber" in user.last.text


async def test_with_a_user_token_the_visit_is_one_entry_and_is_cancelled_by_the_token(
    bot: Bot,
) -> None:
    user = bot.user()
    await book_visit(user)
    assert bot.services is not None
    token = bot.sandbox.add_user_token(PHONE)
    bot.services.storage.set_user_token(user.user_id, token, PHONE)
    # An appointment the bot never knew, made by phone: an entry of its own.
    _haircut, manicure = parts(bot)
    bot.sandbox.salon_book(
        1001, PHONE, 10001, 2002, start_of(manicure) + timedelta(days=1), source="phone"
    )
    await user.send("/appointments")
    text = plain(user.last.text)
    assert "Your upcoming appointments at" in text
    listed = entries(user)
    assert len(listed) == 2, listed
    assert "Women's haircut, Gel manicure" in listed[0]
    await user.tap(listed[0])
    screen = plain(user.last.text)
    assert HAIRCUT in screen and MANICURE in screen
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    assert "Your visit is cancelled" in plain(user.last.text), user.screen()
    assert len(active_records(bot)) == 1  # the one made by phone stands


async def test_the_salon_hears_of_the_visit_and_its_cancel_once_each(bot: Bot) -> None:
    user = bot.user()
    admin = await with_admin(bot)
    await book_visit(user)
    told = notices(admin)
    assert len(told) == 1, told
    assert "Booked through the bot: a visit of 2 appointments" in told[0]
    assert "Women's haircut with Anna Weber" in told[0] and MANICURE in told[0]
    await open_visit(user)
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    told = notices(admin)
    assert len(told) == 2 and "Cancelled through the bot: a visit of 2" in told[1]
    assert HAIRCUT in told[1] and MANICURE in told[1]
    assert "+49 151 ••• •• 89" in told[1]


async def test_past_visits_show_the_visit_once_with_book_again(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    bot.clock.advance(days=5)
    await user.send("/appointments")
    await user.tap("Past visits")
    text = plain(user.last.text)
    assert text.count("Women's haircut") == 1 and "Gel manicure" in text, text
    again = [b for b in buttons(user) if b.startswith("Book again")]
    assert len(again) == 1
    await user.tap(again[0])
    assert "Nobody does all of it" in plain(user.last.text), user.screen()


async def test_the_salon_cancelling_one_part_by_webhook_is_told_as_that_part(
    make_bot: Callable[..., Any],
) -> None:
    bot = await hooked(make_bot)
    user = bot.user()
    await book_visit(user)
    haircut, manicure = parts(bot)
    later = start_of(manicure) + timedelta(hours=2)
    bot.sandbox.salon_move(manicure["record_id"], later, staff_id=2003)
    await follow(bot)
    text = plain(user.last.text)
    assert "The salon has moved part of your visit: Gel manicure, now Friday" in text, text
    assert f"{at(later)} {MANICURE}" in text and f"{at(start_of(haircut))} {HAIRCUT}" in text
    bot.sandbox.salon_cancel(manicure["record_id"])
    await follow(bot)
    text = plain(user.last.text)
    assert "The salon has cancelled part of your visit: Gel manicure" in text, text
    assert "The rest of your visit stands:" in text and HAIRCUT in text
    assert "Cancel appointment" in buttons(user)
    await user.send("/appointments")
    listed = entries(user)
    assert len(listed) == 1 and "Women's haircut" in listed[0]


async def test_a_later_part_the_salon_cancelled_is_named_at_the_visits_reminder(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    haircut, manicure = parts(bot)
    bot.sandbox.salon_cancel(manicure["record_id"])
    await tick_through(bot, days=4)
    reminders = [plain(t) for t in user.bot_texts if "Reminder" in t]
    assert len(reminders) == 2, reminders
    assert "Reminder of your visit" in reminders[0] and "Anna Weber" in reminders[0]
    assert "Cancelled by the salon: Gel manicure" in reminders[0]
    assert "Gel manicure" not in reminders[1]  # told once; the visit is the haircut now
    assert sum("Thank you for visiting" in t for t in user.bot_texts) == 1
    assert [r["record_id"] for r in active_records(bot)] == [haircut["record_id"]]


async def test_a_later_part_the_salon_moved_is_named_at_the_visits_reminder(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    haircut, manicure = parts(bot)
    later = start_of(manicure) + timedelta(hours=1)
    bot.sandbox.salon_move(manicure["record_id"], later)
    await tick_through(bot, days=3)
    reminder = next(plain(t) for t in user.bot_texts if "Reminder" in t)
    assert "Reminder of your visit" in reminder
    assert f"Moved by the salon: Gel manicure, now Friday, November 27, 2026 at {at(later)}" in (
        reminder
    )
    assert (
        f"{at(later)} {MANICURE}" in reminder and f"{at(start_of(haircut))} {HAIRCUT}" in reminder
    )


async def test_what_a_visit_in_parts_costs_in_altegio_requests(
    recorded: tuple[Bot, Recording],
) -> None:
    bot, wire = recorded
    user = bot.user()
    await book_visit(user)

    def since(n: int) -> list[str]:
        return [f"{r.method} {r.url.path.split('/v1/')[1].split('/')[0]}" for r in wire.seen[n:]]

    n = len(wire.seen)
    await user.send("/appointments")
    assert since(n) == ["GET book_record"] * 2  # each part through its own hash
    assert bot.services is not None
    token = bot.sandbox.add_user_token(PHONE)
    bot.services.storage.set_user_token(user.user_id, token, PHONE)
    n = len(wire.seen)
    await user.send("/appointments")
    assert since(n) == ["GET user"]  # the client's own list, once for every part
    n = len(wire.seen)
    await user.tap(entries(user)[0])
    await user.tap("Cancel appointment")
    assert since(n) == ["GET user"] * 2
    n = len(wire.seen)
    await user.tap("Yes, cancel it")
    assert since(n) == ["GET user", "DELETE user", "DELETE user"]


async def test_a_visit_the_salon_cancelled_whole_is_told_once_naming_every_part(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    haircut, manicure = parts(bot)
    bot.sandbox.salon_cancel(haircut["record_id"])
    bot.sandbox.salon_cancel(manicure["record_id"])
    await tick_through(bot, days=4)
    told = [plain(t) for t in user.bot_texts if "cancelled by the salon" in t.lower()]
    assert len(told) == 1, told
    assert "Women's haircut" in told[0] and "Cancelled by the salon: Gel manicure" in told[0]
    assert not any("Reminder" in t or "Thank you for visiting" in t for t in user.bot_texts)


async def test_a_part_whose_hash_is_refused_asks_for_the_phone_and_stands(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    _, manicure = parts(bot)
    await open_visit(user)
    await user.tap("Cancel appointment")
    bot.sandbox.fault("DELETE", "user", status=403, path_contains=f"/{manicure['record_id']}/")
    await user.tap("Yes, cancel it")
    text = plain(user.last.text)
    assert "Only part of your visit is cancelled." in text
    assert "please confirm your phone number first" in text
    assert "Confirm my phone number" in buttons(user) and "Cancel the rest" in buttons(user)
    assert [r["record_id"] for r in active_records(bot)] == [manicure["record_id"]]
