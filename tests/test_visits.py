"""Several services in one visit, driven as a client would, against the sandbox location."""

from __future__ import annotations

from datetime import datetime, timedelta

from conversations.reminders import send_due
from standins.altegio.seed import SANDBOX_SMS_COMPANY_ID
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, FakeClock

PHONE = "+4915123456789"
FRIDAY_10 = datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN)


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def buttons(user: StubUser) -> list[str]:
    return [plain(label) for row in user.last.buttons for label in row]


def active_records(bot: Bot, company_id: int = 1001) -> list[dict[str, object]]:
    return [r for r in bot.sandbox.records(company_id) if r["phone"] == PHONE and not r["deleted"]]


async def haircut_and_blow_dry(user: StubUser) -> None:
    """Women's haircut, then Blow-dry & styling added, up to the team step."""
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap("➕ Add another service")
    await user.tap("Blow-dry & styling")


async def book_visit(user: StubUser, staff: str = "Anna Weber", day: str = "Friday") -> str:
    """The two-service visit with `staff` at the first free time on `day`; the summary."""
    await haircut_and_blow_dry(user)
    await user.tap(next(b for b in buttons(user) if b.startswith(staff)))
    await user.send(day)
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    summary = plain(user.last.text)
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text, user.screen()
    return summary


async def test_two_services_booked_as_one_appointment_with_one_team_member(bot: Bot) -> None:
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap("➕ Add another service")
    assert "Your visit: Women's haircut — 1 hour–1 h 15 min, €40–€60" in plain(user.last.text)
    offered = buttons(user)
    # What someone does together with a haircut first; nails or massage only after it, with
    # another team member.
    assert "Blow-dry & styling" in offered and "Full colour" in offered
    assert "Classic manicure" not in offered and "Relaxing massage" not in offered
    assert "Classic manicure · after" in offered and "Relaxing massage · after" in offered
    assert "Women's haircut" not in offered
    await user.tap("« Back")  # back to the visit as it was
    assert "Who would you like to see?" in user.last.text
    await user.tap("➕ Add another service")
    await user.tap("Blow-dry & styling")
    text = plain(user.last.text)
    assert "Your visit: Women's haircut, Blow-dry & styling" in text
    assert "€70–€105" in text  # 40–60 and 30–45
    labels = buttons(user)
    # Nobody else does both: only Anna and Jonas are offered.
    assert any(b.startswith("Anna Weber") for b in labels)
    assert any(b.startswith("Jonas Richter") for b in labels)
    assert not any(b.startswith("Mia Hoffmann") for b in labels)
    assert "✖ Without Blow-dry & styling" in labels
    await user.tap(next(b for b in labels if b.startswith("Anna Weber")))
    await user.send("Friday")
    await user.tap_number(1)
    shown = plain("\n".join(user.bot_texts[-2:]))  # the phone step names the whole visit
    assert "Women's haircut, Blow-dry & styling with Anna Weber" in shown
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    summary = plain(user.last.text)
    assert "Services: Women's haircut, Blow-dry & styling" in summary
    assert "Duration: 1 h 45 min" in summary, summary  # 60 + 45 with Anna
    assert "Price: €70–€105" in summary
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    assert "Women's haircut, Blow-dry & styling" in user.last.text
    records = active_records(bot)
    assert len(records) == 1  # one appointment holding both services
    assert records[0]["service_ids"] == [10001, 10003]
    assert records[0]["staff_id"] == 2001
    assert records[0]["length"] == 105 * 60
    assert bot.services is not None
    stored = bot.services.storage.bookings_for_chat(user.chat_id)
    assert [b.service_ids for b in stored] == [(10001, 10003)]


async def test_a_service_taken_out_again_and_one_nobody_combines(bot: Bot) -> None:
    user = bot.user()
    await haircut_and_blow_dry(user)
    await user.tap("✖ Without Blow-dry & styling")
    text = plain(user.last.text)
    assert "Your visit" not in text and "Women's haircut" in text
    assert "✖ Without Blow-dry & styling" not in buttons(user)
    # Massage: only Lukas does it, and nothing else; with the rest of the team gone, nothing
    # can join it, not even after it.
    for member in (2001, 2002, 2003, 2004):
        bot.sandbox.remove_staff(member)
    assert bot.services is not None
    bot.services.altegio.forget_availability()
    bot.services.altegio.forget_catalogue()
    await user.send("/book")  # one category left: its services at once
    await user.tap("Relaxing massage")
    await user.tap("➕ Add another service")
    assert "Deep-tissue massage" in buttons(user)
    assert not any(b.endswith("· after") for b in buttons(user))
    await user.tap("Deep-tissue massage")
    await user.tap("➕ Add another service")
    assert "nothing else can be booked together with" in user.last.text
    assert any(b.startswith("Lukas Braun") for b in buttons(user))


async def test_the_whole_visit_in_the_list_calendar_and_one_reminder(
    bot: Bot, clock: FakeClock
) -> None:
    user = bot.user()
    await book_visit(user)
    await user.send("/appointments")
    assert "Women's haircut, Blow-dry & styling" in " ".join(buttons(user))
    await user.tap_number(1)
    assert "Women's haircut, Blow-dry & styling" in user.last.text
    await user.tap("Add to calendar")
    ics = user.documents[-1].content.decode()
    start = active_records(bot)[0]["start"]
    assert isinstance(start, datetime)
    end = start + timedelta(minutes=105)
    assert f"DTSTART;TZID=Europe/Berlin:{start:%Y%m%dT%H%M%S}" in ics
    assert f"DTEND;TZID=Europe/Berlin:{end:%Y%m%dT%H%M%S}" in ics
    assert "Women's haircut\\, Blow-dry & styling" in ics
    assert bot.app is not None
    clock.current = start - timedelta(hours=24)
    assert await send_due(bot.app) == 1
    assert "Women's haircut, Blow-dry & styling" in user.last.text
    assert await send_due(bot.app) == 0
    clock.current = start - timedelta(hours=2)
    assert await send_due(bot.app) == 1
    clock.current = start + timedelta(hours=3, minutes=44)  # two hours after the whole visit
    assert await send_due(bot.app) == 0
    clock.advance(minutes=1)
    assert await send_due(bot.app) == 1
    assert "Thank you for visiting" in user.last.text
    reminders = [t for t in user.bot_texts if "Reminder of your appointment" in t]
    assert len(reminders) == 2  # 24 h and 2 h before: one of each for the whole visit
    # Book again: the same visit, with the same team member, at their nearest free times.
    await user.tap("Book again")
    assert "Free times on" in user.last.text
    await user.tap_number(1)
    await user.tap("Yes")
    await user.tap("Skip")
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text, user.screen()
    assert [r["service_ids"] for r in active_records(bot)] == [[10001, 10003]] * 2


async def test_the_visit_moves_and_cancels_as_a_whole(bot: Bot) -> None:
    user = bot.user()
    await book_visit(user)
    old = active_records(bot)[0]
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Reschedule")
    await user.send("Saturday")
    await user.tap_number(1)
    assert "Women's haircut, Blow-dry & styling" in user.last.text
    await user.tap("✅ Move it")
    assert "Your appointment is moved" in user.last.text
    records = active_records(bot)
    assert len(records) == 1
    assert records[0]["service_ids"] == [10001, 10003] == old["service_ids"]
    assert records[0]["length"] == 105 * 60
    start = records[0]["start"]
    assert isinstance(start, datetime) and start.date().isoformat() == "2026-11-28"
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    assert "Your appointment is cancelled" in user.last.text
    assert active_records(bot) == []


async def test_a_visit_on_a_location_confirming_by_sms(make_bot: object) -> None:
    bot: Bot = await make_bot(company_id=SANDBOX_SMS_COMPANY_ID)  # type: ignore[operator]
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap("➕ Add another service")
    await user.tap("Blow-dry & styling")
    await user.tap_number(2)
    await user.tap("Choose a day")  # past the earliest free times, to the calendar
    await user.tap(next(b for b in buttons(user) if b.isdigit()))
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    await user.tap("✅ Confirm")
    code = bot.sandbox.last_sms_code(SANDBOX_SMS_COMPANY_ID, PHONE)
    assert code is not None
    await user.send(code)
    assert "You are booked" in user.last.text, user.screen()
    records = active_records(bot, SANDBOX_SMS_COMPANY_ID)
    assert [r["service_ids"] for r in records] == [[11001, 11003]]


async def test_altegio_refusing_the_visit_books_nothing_and_says_what_is_gone(bot: Bot) -> None:
    user = bot.user()
    await haircut_and_blow_dry(user)
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    await user.send("Friday")
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    bot.sandbox.withdraw_service(10003)  # the salon withdraws the added service meanwhile
    await user.tap("✅ Confirm")
    text = plain(user.last.text)
    assert "You are booked" not in text
    assert "Blow-dry & styling is no longer offered online" in text
    # The rest of the visit stays chosen: the team for the haircut alone.
    assert "Women's haircut" in text and "Your visit" not in text
    assert any(b.startswith("Anna Weber") for b in buttons(user))
    assert active_records(bot) == []
    assert bot.services is not None
    assert bot.services.storage.bookings_for_chat(user.chat_id) == []


async def test_a_visit_whose_time_went_meanwhile_is_offered_fresh_times(bot: Bot) -> None:
    user = bot.user()
    await haircut_and_blow_dry(user)
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    await user.send("Friday")
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    # Someone books Anna by phone for the second half of the visit.
    bot.sandbox.salon_book(1001, "+4915199999999", 10002, 2001, FRIDAY_10 + timedelta(hours=1))
    await user.tap("✅ Confirm")
    assert "You are booked" not in user.last.text
    assert active_records(bot) == []
    assert "Free times on" in user.last.text, user.screen()
    assert "10:00 AM" not in buttons(user) and "11:45 AM" in buttons(user)


async def test_a_visit_holds_four_services_at_most(bot: Bot) -> None:
    user = bot.user()
    await haircut_and_blow_dry(user)
    await user.tap("➕ Add another service")
    await user.tap("Full colour")
    await user.tap("➕ Add another service")
    await user.tap("Balayage")
    text = plain(user.last.text)
    assert "Women's haircut, Blow-dry & styling, Full colour, Balayage" in text
    assert "€305–€465" in text
    assert "➕ Add another service" not in buttons(user)
    # Only Anna does all four.
    assert [b for b in buttons(user) if not b.startswith(("Any", "✖", "«", "Cancel"))] == [
        next(b for b in buttons(user) if b.startswith("Anna Weber"))
    ]
