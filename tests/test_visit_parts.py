"""A visit nobody does whole, booked as consecutive appointments with different team members,
driven as a client would against the sandbox location."""

from __future__ import annotations

import re
from datetime import datetime

from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot
from tests.test_visits import PHONE, active_records, buttons, plain


async def haircut_then_manicure(user: StubUser) -> None:
    """Women's haircut (Anna, Jonas) with Gel manicure (Mia) added: nobody does both."""
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap("➕ Add another service")
    await user.tap("Gel manicure · after")


async def test_two_services_booked_as_consecutive_appointments_with_two_team_members(
    bot: Bot,
) -> None:
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap("➕ Add another service")
    text = plain(user.last.text)
    assert "With another team member, right after:" in text
    assert "Gel manicure · after" in buttons(user)
    await user.tap("Gel manicure · after")
    text = plain(user.last.text)
    assert "Nobody does all of it, so it is booked as appointments one after another" in text
    assert "Who would you like for Women's haircut?" in text
    labels = buttons(user)
    assert any(b.startswith("Anna Weber") for b in labels)
    assert not any(b.startswith("Mia Hoffmann") for b in labels)
    await user.tap(next(b for b in labels if b.startswith("Anna Weber")))
    text = plain(user.last.text)
    assert "1. Women's haircut with Anna Weber" in text
    assert "Who would you like for Gel manicure?" in text
    await user.tap(next(b for b in buttons(user) if b.startswith("Mia Hoffmann")))
    # The earliest day on which the parts follow each other, first; the calendar on request.
    text = plain(user.last.text)
    assert "for the whole visit" in text and "Choose a day" in buttons(user), user.screen()
    await user.tap("Choose a day")
    assert "Choose a day, or type one" in user.last.text, user.screen()
    await user.send("Friday")
    text = plain(user.last.text)
    assert "Free times on Friday" in text and "for the whole visit" in text, user.screen()
    await user.tap_number(1)
    text = plain("\n".join(user.bot_texts[-2:]))  # the phone step names the whole visit
    assert "Women's haircut with Anna Weber" in text and "Gel manicure with Mia Hoffmann" in text
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    summary = plain(user.last.text)
    assert "One appointment after another:" in summary, summary
    assert "Women's haircut with Anna Weber" in summary
    assert "Gel manicure with Mia Hoffmann" in summary
    await user.tap("✅ Confirm")
    text = plain(user.last.text)
    assert "You are booked" in text, user.screen()
    assert "Women's haircut with Anna Weber" in text and "Gel manicure with Mia Hoffmann" in text
    records = sorted(active_records(bot), key=lambda r: r["start"])
    assert [r["service_ids"] for r in records] == [[10001], [10007]]
    assert [r["staff_id"] for r in records] == [2001, 2003]
    first, second = records[0]["start"], records[1]["start"]
    assert isinstance(first, datetime) and isinstance(second, datetime)
    gap = second.timestamp() - first.timestamp() - int(str(records[0]["length"]))
    assert 0 <= gap <= 15 * 60
    assert bot.services is not None
    stored = bot.services.storage.bookings_for_chat(user.chat_id)
    assert len(stored) == 2
    assert {b.visit_id for b in stored} == {stored[0].record_id}
    assert stored[0].start.tzinfo is not None and stored[0].start.astimezone(BERLIN).hour >= 9
    assert PHONE


async def book_parts(user: StubUser, day: str = "Friday") -> None:
    """Women's haircut with Anna, then Gel manicure with Mia, at the first time on `day`."""
    await haircut_then_manicure(user)
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    await user.tap(next(b for b in buttons(user) if b.startswith("Mia Hoffmann")))
    await user.send(day)
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text, user.screen()


async def test_a_visit_in_parts_moves_as_a_whole(bot: Bot) -> None:
    user = bot.user()
    await book_parts(user)
    old = {r["record_id"] for r in active_records(bot)}
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Reschedule")
    await user.send("Tuesday")
    assert "for the whole visit" in plain(user.last.text), user.screen()
    await user.tap_number(1)
    text = plain(user.last.text)
    assert "Women's haircut with Anna Weber" in text and "Gel manicure with Mia Hoffmann" in text
    await user.tap("✅ Move it")
    assert "Your appointment is moved" in user.last.text, user.screen()
    records = sorted(active_records(bot), key=lambda r: r["start"])
    assert len(records) == 2 and not old & {r["record_id"] for r in records}
    assert [r["staff_id"] for r in records] == [2001, 2003]
    starts = [r["start"] for r in records]
    assert all(isinstance(s, datetime) and s.date().isoformat() == "2026-12-01" for s in starts)
    assert bot.services is not None
    stored = [
        b for b in bot.services.storage.bookings_for_chat(user.chat_id) if b.status == "active"
    ]
    assert len(stored) == 2 and {b.visit_id for b in stored} == {min(b.record_id for b in stored)}


async def test_a_part_taken_meanwhile_moves_nothing(bot: Bot) -> None:
    """With the client's Altegio token each part is moved in turn; the second part's time taken
    meanwhile moves the first back, and the client chooses again."""
    user = bot.user()
    await book_parts(user)
    assert bot.services is not None
    token = bot.sandbox.add_user_token(PHONE)
    bot.services.storage.set_user_token(user.user_id, token)
    before = {r["record_id"]: r["start"] for r in active_records(bot)}
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Reschedule")
    await user.send("Tuesday")
    await user.tap_number(1)
    found = re.search(r"(\d+):(\d\d) (AM|PM) Gel manicure with Mia", plain(user.last.text))
    assert found, user.screen()
    hour = int(found[1]) % 12 + (12 if found[3] == "PM" else 0)
    taken_at = datetime(2026, 12, 1, hour, int(found[2]), tzinfo=BERLIN)
    bot.sandbox.salon_book(1001, "+4915199999999", 10007, 2003, taken_at)
    await user.tap("✅ Move it")
    assert "has just been taken" in plain(user.screen()), user.screen()
    after = {r["record_id"]: r["start"] for r in active_records(bot) if r["phone"] == PHONE}
    assert after == before  # the first part went back to its time
    stored = bot.services.storage.bookings_for_chat(user.chat_id)
    assert {b.record_id: b.start for b in stored} == before


async def test_a_visit_no_day_fits_is_said_so_with_the_services_to_take_out(bot: Bot) -> None:
    user = bot.user()
    await haircut_then_manicure(user)
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    # Altegio finds no day for one of the parts in the coming weeks.
    empty = {"booking_days": {}, "booking_dates": [], "working_days": {}, "working_dates": []}
    bot.sandbox.fault(
        "GET", "book_dates", status=200, body={"success": True, "data": empty, "meta": []}
    )
    await user.tap(next(b for b in buttons(user) if b.startswith("Mia Hoffmann")))
    text = plain(user.last.text)
    assert "No day in the coming weeks has free times for these appointments one after" in text
    assert "+49" in text or "call" in text.lower()  # the salon's phone, to arrange it
    assert active_records(bot) == []
    await user.tap("« Back")  # who does each part, again
    assert "Who would you like for Women's haircut?" in plain(user.last.text)
    await user.tap("✖ Without Gel manicure")
    text = plain(user.last.text)
    assert "Nobody does all of it" not in text and "Who would you like to see?" in text


async def test_a_visit_in_parts_whose_answer_was_lost_is_never_claimed(bot: Bot) -> None:
    """Altegio booked the visit but its answer never came: the client is not told it is booked
    (nor that it is not) from what cannot be read, and the salon is asked to check."""
    user = bot.user()
    await haircut_then_manicure(user)
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    await user.tap(next(b for b in buttons(user) if b.startswith("Mia Hoffmann")))
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    bot.sandbox.fault(
        "POST", "book_record", status=504, body="<html>Gateway Time-out</html>", carry_out=True
    )
    await user.tap("✅ Confirm")
    assert "You are booked" not in user.last.text
    await bot.settle()
    assert len(active_records(bot)) == 2  # Altegio has them
    assert not any("You are booked" in t for t in user.bot_texts)
    assert not any("was not booked" in t for t in user.bot_texts), user.bot_texts[-3:]
    assert "cannot confirm your booking" in user.last.text


async def test_a_visit_in_parts_with_anyone_for_each_part(bot: Bot) -> None:
    user = bot.user()
    await haircut_then_manicure(user)
    await user.tap("Any available team member")
    await user.tap("Any available team member")
    await user.send("Friday")
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    summary = plain(user.last.text)
    assert "Women's haircut with any available team member" in summary, summary
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text, user.screen()
    records = sorted(active_records(bot), key=lambda r: r["start"])
    assert [r["service_ids"] for r in records] == [[10001], [10007]]
    assert records[0]["staff_id"] in (2001, 2002) and records[1]["staff_id"] == 2003
