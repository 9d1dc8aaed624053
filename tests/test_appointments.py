"""My appointments and reminders, driven as a client (and a salon) would, with an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.keyboards import Callback
from conversations.reminders import send_due
from standins.altegio.seed import SANDBOX_SMS_COMPANY_ID
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, FakeClock

PHONE = "+4915123456789"
FRIDAY_10 = datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN)

# Each test on a SQLite file and on PostgreSQL.
BOTH_ENGINES = True


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def buttons(user: StubUser) -> list[str]:
    return [plain(label) for row in user.last.buttons for label in row]


async def book(user: StubUser, day: str = "Friday", staff: str = "Anna Weber") -> None:
    """Women's haircut with `staff` at the first free time on `day`."""
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap(next(b for b in buttons(user) if b.startswith(staff)))
    await user.send(day)
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text, user.screen()


def active_records(bot: Bot, company_id: int = 1001) -> list[dict[str, object]]:
    return [r for r in bot.sandbox.records(company_id) if r["phone"] == PHONE and not r["deleted"]]


async def tick(bot: Bot) -> int:
    assert bot.app is not None
    return await send_due(bot.app)


async def test_list_and_cancel(bot: Bot) -> None:
    user = bot.user()
    await book(user)
    await user.send("/appointments")
    assert "Your upcoming appointments" in user.last.text
    await user.tap_number(1)
    assert "Women's haircut" in user.last.text and "Anna Weber" in user.last.text
    assert "Friday, November 27, 2026" in plain(user.last.text)
    await user.tap("Cancel appointment")
    assert "Cancel this appointment?" in user.last.text
    await user.tap("No, keep it")
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    assert "Your appointment is cancelled" in user.last.text
    assert active_records(bot) == []
    await user.send("/appointments")
    assert "no upcoming appointments" in user.last.text
    await tick_through(bot, days=4)
    assert not any("Reminder" in text for text in user.bot_texts)


async def tick_through(bot: Bot, days: float, step_hours: float = 1) -> None:
    end = bot.clock.current + timedelta(days=days)
    while bot.clock.current < end:
        bot.clock.advance(hours=step_hours)
        await tick(bot)


async def test_cancelling_too_close_to_the_visit_is_refused(bot: Bot, clock: FakeClock) -> None:
    user = bot.user()
    await book(user, day="today")
    await user.send("/appointments")
    await user.tap_number(1)
    start = active_records(bot)[0]["start"]
    assert isinstance(start, datetime)
    clock.current = start - timedelta(hours=1)  # closer than the salon's two hours' notice
    await user.tap("Cancel appointment")
    assert "2 hours before the visit" in user.last.text
    assert "+49 30 12345670" in user.last.text or "+493012345670" in user.last.text
    assert len(active_records(bot)) == 1


async def test_another_chats_appointment_is_refused(bot: Bot) -> None:
    owner = bot.user()
    await book(owner)
    record_id = active_records(bot)[0]["record_id"]
    intruder = bot.user(user_id=300003, first_name="Eve")
    await intruder.send("/start")
    for action in ("apt", "cnl", "cnlok", "ics", "addr", "resc"):
        await intruder.tap_data(Callback("-", action, str(record_id)).encode())
        assert intruder.answers[-1] == "This appointment is not available."
    assert len(active_records(bot)) == 1
    assert intruder.documents == []


async def test_calendar_file_and_address(bot: Bot) -> None:
    user = bot.user()
    await book(user)
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Add to calendar")
    document = user.documents[-1]
    assert document.file_name.endswith(".ics")
    text = document.content.decode()
    assert "TZID=Europe/Berlin" in text
    start = active_records(bot)[0]["start"]
    assert isinstance(start, datetime)
    assert f"DTSTART;TZID=Europe/Berlin:{start:%Y%m%dT%H%M%S}" in text
    assert "BEGIN:VTIMEZONE" in text
    await user.tap("Address")
    venue = user.transcript[-1]
    assert venue.venue is not None and "Lindenstraße 21" in str(venue.venue)


async def test_salon_changes_show_in_the_list(bot: Bot) -> None:
    user = bot.user()
    await book(user)
    record_id = active_records(bot)[0]["record_id"]
    assert isinstance(record_id, int)
    bot.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(hours=5))
    await user.send("/appointments")
    assert "3:00 PM" in plain(" ".join(buttons(user)))
    assert "Moved by the salon: Women's haircut, now Friday" in user.last.text
    bot.sandbox.salon_cancel(record_id)
    await user.send("/appointments")
    assert "Cancelled by the salon" in user.last.text


async def test_reschedule_without_a_user_token_books_new_then_cancels_old(bot: Bot) -> None:
    user = bot.user()
    await book(user)
    old = active_records(bot)[0]
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Reschedule")
    assert "The earliest free times" in user.last.text  # Anna's, the move keeps her
    await user.send("Saturday")
    await user.tap_number(2)
    assert "Move your appointment?" in user.last.text
    await user.tap("✅ Move it")
    assert "Your appointment is moved" in user.last.text
    records = active_records(bot)
    assert len(records) == 1
    assert records[0]["record_id"] != old["record_id"]
    assert records[0]["service_ids"] == old["service_ids"]
    assert records[0]["staff_id"] == old["staff_id"]
    start = records[0]["start"]
    assert isinstance(start, datetime) and start.date().isoformat() == "2026-11-28"
    assert bot.services is not None
    assert [
        b.record_id for b in bot.services.storage.upcoming_bookings(user.chat_id, bot.clock.now())
    ] == [records[0]["record_id"]]


async def test_reschedule_with_sms_gets_a_user_token_and_moves_the_same_record(
    make_bot: object,
) -> None:
    bot: Bot = await make_bot(company_id=SANDBOX_SMS_COMPANY_ID)  # type: ignore[operator]
    user = bot.user()
    await user.send("/book")
    await user.tap_number(1)
    await user.tap_number(1)
    await user.tap_number(2)
    await user.send("Friday")
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    await user.tap("✅ Confirm")
    await user.send(str(bot.sandbox.last_sms_code(SANDBOX_SMS_COMPANY_ID, PHONE)))
    assert "You are booked" in user.last.text
    old = active_records(bot, SANDBOX_SMS_COMPANY_ID)[0]
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Reschedule")
    await user.send("Friday")
    await user.tap_number(3)
    await user.tap("✅ Move it")
    # The booking's code linked the client's account: the move needs no second code.
    assert "Your appointment is moved" in user.last.text
    records = active_records(bot, SANDBOX_SMS_COMPANY_ID)
    assert [r["record_id"] for r in records] == [old["record_id"]]
    assert records[0]["start"] != old["start"]
    # Altegio stops accepting the token: the next move asks for the phone again, once.
    token = bot.services.storage.user_token(user.user_id)
    assert token is not None
    bot.sandbox.revoke_user_token(token)
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Reschedule")
    await user.send("Friday")
    await user.tap_number(5)
    await user.tap("✅ Move it")
    assert "confirm your phone number" in user.last.text
    await user.send(str(bot.sandbox.last_sms_code(SANDBOX_SMS_COMPANY_ID, PHONE)))
    assert "Your appointment is moved" in user.last.text
    moved = active_records(bot, SANDBOX_SMS_COMPANY_ID)
    assert [r["record_id"] for r in moved] == [old["record_id"]]
    assert moved[0]["start"] != records[0]["start"]
    assert bot.services.storage.user_token(user.user_id) not in (None, token)


async def test_reminders_arrive_once_at_the_right_time(bot: Bot, clock: FakeClock) -> None:
    user = bot.user()
    await book(user)  # Tuesday 09:00: Friday 10:00 with Anna
    start = active_records(bot)[0]["start"]
    assert start == FRIDAY_10
    clock.current = FRIDAY_10 - timedelta(hours=24, minutes=1)
    assert await tick(bot) == 0
    clock.advance(minutes=1)
    assert await tick(bot) == 1
    assert "Reminder of your appointment" in user.last.text
    assert buttons(user)[:3] == ["👍 I'll come", "Reschedule", "Cancel appointment"]
    assert await tick(bot) == 0
    await bot.restart(graceful=False)
    user = bot.user()
    assert await tick(bot) == 0
    clock.current = FRIDAY_10 - timedelta(hours=2)
    assert await tick(bot) == 1
    await user.tap("👍 I'll come")
    assert user.answers[-1] == "Thank you! See you soon."
    clock.current = FRIDAY_10 + timedelta(hours=3)
    assert await tick(bot) == 1
    assert "Thank you for visiting" in user.last.text
    await user.tap("Book again")
    # Straight to the nearest free times of the same team member.
    assert "Free times on" in user.last.text and "Anna Weber" in user.last.text
    reminders = [t for t in user.bot_texts if "Reminder of your appointment" in t]
    assert len(reminders) == 2


async def test_catch_up_after_downtime_sends_one_and_drops_the_past(
    bot: Bot, clock: FakeClock
) -> None:
    user = bot.user()
    await book(user)
    clock.current = FRIDAY_10 - timedelta(hours=1)  # both reminders came due while down
    assert await tick(bot) == 1
    assert sum("Reminder of your appointment" in t for t in user.bot_texts) == 1
    other = bot.user(user_id=100002, first_name="Ben")
    await book(other, day="Saturday")
    clock.current = datetime(2026, 11, 29, 12, 0, tzinfo=BERLIN)  # long after Saturday's visit
    await tick(bot)
    assert not any("Reminder" in t for t in other.bot_texts[-2:])


async def test_salon_cancel_and_move_are_told_instead_of_reminding(
    bot: Bot, clock: FakeClock
) -> None:
    user = bot.user()
    await book(user)
    record_id = active_records(bot)[0]["record_id"]
    assert isinstance(record_id, int)
    bot.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(days=1))
    clock.current = FRIDAY_10 - timedelta(hours=24)
    await tick(bot)
    assert "moved your appointment" in user.last.text
    assert "Saturday, November 28, 2026" in plain(user.last.text)
    clock.current = FRIDAY_10 + timedelta(hours=1)  # the new reminders follow the new time
    assert await tick(bot) == 1
    assert "Reminder of your appointment" in user.last.text
    bot.sandbox.salon_cancel(record_id)
    clock.current = FRIDAY_10 + timedelta(hours=22)
    await tick(bot)
    assert "cancelled by the salon" in user.last.text
    clock.current = FRIDAY_10 + timedelta(days=3)
    assert await tick(bot) == 0


async def test_reminders_can_be_turned_off(bot: Bot, clock: FakeClock) -> None:
    user = bot.user()
    await book(user)
    await user.send("/settings")
    assert "Reminders before your appointments are on." in user.last.text
    await user.tap("Turn reminders off")
    assert "are off" in user.last.text
    clock.current = FRIDAY_10 - timedelta(hours=1)
    assert await tick(bot) == 0
