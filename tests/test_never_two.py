"""Never two appointments, never none, never a false word: the bot killed mid-booking, its
database held by another program, Altegio slow or half-answering, and moves that fail halfway;
each lived through as the client and the salon would."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import httpx
import pytest

from bot.limits import CodeGuard
from conversations.reminders import send_due
from standins.altegio.seed import SANDBOX_SMS_COMPANY_ID
from standins.telegram.users import StubUser
from tests.conftest import Bot, FakeClock, postgres_only, postgres_out_of_reach, sqlite_only
from tests.test_real_answers import PHONE, book, live, to_summary

ADMIN = 777


def with_admin(bot: Bot) -> StubUser:
    """The salon's admin chat, as `ADMIN_CHAT_ID` names it."""
    assert bot.services is not None and bot.app is not None
    object.__setattr__(bot.services.settings, "admin_chat_id", ADMIN)
    admin = StubUser(bot.stub, bot.app, user_id=ADMIN, first_name="Salon")
    return admin


@sqlite_only
async def test_a_database_held_by_another_program_never_undoes_a_booking(
    bot: Bot, clock: FakeClock
) -> None:
    admin = with_admin(bot)
    await admin.send("/help")
    user = bot.user()
    await to_summary(user)
    other = bot.user(100002, first_name="Ben")
    blocker = sqlite3.connect(bot.db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        await user.tap("✅ Confirm")
        assert "You are booked" in user.last.text, user.screen()
        assert len(live(bot)) == 1
        # Another client is served meanwhile, without an error.
        await other.send("/start")
        assert "Studio Aurora" in other.last.text
        assert not any("went wrong" in t for t in user.bot_texts + other.bot_texts)
        assert sum("cannot write its database" in t for t in admin.bot_texts) == 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert bot.app is not None and bot.services is not None
    clock.advance(seconds=10)
    await send_due(bot.app)  # the next tick writes what waited
    stored = bot.services.storage.bookings_for_chat(user.chat_id)
    assert [b.record_id for b in stored] == [live(bot)[0]["record_id"]]
    assert any("can write its database again" in t for t in admin.bot_texts)
    await user.send("/appointments")
    assert "Women's haircut" in " ".join(b for row in user.last.buttons for b in row)
    # Nothing of the conversation was lost either: a second booking goes as usual.
    clock.advance(minutes=5)
    await book(user, day="Saturday")
    assert len(live(bot)) == 2


async def test_conversation_state_written_while_the_database_is_busy_is_not_lost(
    bot: Bot, clock: FakeClock
) -> None:
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    blocker = sqlite3.connect(bot.db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        await user.tap("Women's haircut")
        assert "Who would you like to see?" in user.last.text
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # Someone else's next update writes what waited, before the bot is killed.
    await bot.user(100002, first_name="Ben").send("/start")
    await bot.restart(graceful=False)
    user = bot.user()
    await user.tap("Any available team member")
    assert "Choose a day" in [label for row in user.last.buttons for label in row]
    assert "Women's haircut" in user.last.text


class Died(BaseException):
    """The bot's process ends here (killed): nothing after this line of it runs."""


class Wire(httpx.AsyncBaseTransport):
    """The sandbox, where a booking call can be carried out and the process then killed, or
    answered only after a while (on the injected clock)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.die_after_booking = False
        self.booking_takes = 0.0
        self.gate: asyncio.Event | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        booking = request.method == "POST" and "/book_record/" in request.url.path
        if booking and self.gate is not None:
            await self.gate.wait()
        if booking and self.booking_takes:
            await self.bot.clock.sleep(self.booking_takes)
        response = self.bot.sandbox.handle(request)
        if booking and self.die_after_booking:
            self.die_after_booking = False
            raise Died
        return response


async def killed_mid_booking(make_bot: Any, **options: Any) -> tuple[Bot, StubUser, Wire]:
    bot: Bot = await make_bot(**options)
    wire = Wire(bot)
    bot.transport = wire
    await bot.restart()
    user = bot.user()
    return bot, user, wire


async def test_killed_while_booking_is_in_flight_never_books_twice(make_bot: Any) -> None:
    bot, user, wire = await killed_mid_booking(make_bot)
    await to_summary(user)
    summary = user.bot_messages[-1]
    confirm = next(b["callback_data"] for row in summary.inline_keyboard for b in row)
    wire.die_after_booking = True
    with pytest.raises(Died):
        await user.tap("✅ Confirm")
    await bot.restart(graceful=False)
    user = bot.user()
    # The client taps Confirm again on the same summary: no second booking.
    await user.tap_data(confirm, message_id=summary.message_id)
    assert "Still checking" in user.answers[-1]
    assert len(live(bot)) == 1
    await bot.settle()
    assert any("restarted while your booking was being made" in t for t in user.bot_texts)
    assert "cannot confirm your booking" in user.last.text
    await user.tap_data(confirm, message_id=summary.message_id)
    assert len(live(bot)) == 1


async def test_killed_mid_booking_at_an_sms_location_finds_the_booking(make_bot: Any) -> None:
    """Where the client confirmed their phone, their own list tells: the booking made before
    the crash becomes known, with its reminders."""
    bot, user, wire = await killed_mid_booking(make_bot, company_id=SANDBOX_SMS_COMPANY_ID)
    await to_summary(user, "Any available")
    await user.tap("✅ Confirm")
    code = bot.sandbox.last_sms_code(SANDBOX_SMS_COMPANY_ID, PHONE)
    assert code is not None
    wire.die_after_booking = True
    with pytest.raises(Died):
        await user.send(code)
    await bot.restart(graceful=False)
    user = bot.user()
    await bot.settle()
    assert "You are booked" in user.last.text
    made = live(bot, SANDBOX_SMS_COMPANY_ID)
    assert len(made) == 1
    assert bot.services is not None
    stored = bot.services.storage.bookings_for_chat(user.chat_id)
    assert [b.record_id for b in stored] == [made[0]["record_id"]]
    await user.send("/appointments")
    await user.tap_number(1)
    assert "could not be asked" not in user.last.text
    assert {"Reschedule", "Cancel appointment"} <= {b for row in user.last.buttons for b in row}


async def test_a_booking_that_takes_35_seconds_is_booked_not_declared_failed(
    make_bot: Any,
) -> None:
    bot, user, wire = await killed_mid_booking(make_bot)
    await to_summary(user)
    wire.booking_takes = 35
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    assert not any("did not go through" in t for t in user.bot_texts)
    assert len(live(bot)) == 1


async def reschedule_to_saturday(user: StubUser) -> None:
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Reschedule")
    await user.send("Saturday")
    await user.tap_number(1)
    await user.tap("✅ Move it")


async def test_a_move_whose_cancel_answer_is_lost_ends_moved_not_with_none(
    bot: Bot, clock: FakeClock
) -> None:
    user = bot.user()
    await book(user)
    old = live(bot)[0]
    # No user token: the move books the new time, then cancels the old; that cancel is carried
    # out, but its answer is a 504.
    bot.sandbox.fault(
        "DELETE", "user", status=504, body="<html>Gateway Time-out</html>", carry_out=True
    )
    clock.advance(minutes=1)
    await reschedule_to_saturday(user)
    assert "Done! Your appointment is moved" in user.last.text, user.screen()
    now_live = live(bot)
    assert len(now_live) == 1 and now_live[0]["record_id"] != old["record_id"]
    await user.send("/appointments")
    assert "Cancelled by the salon" not in user.last.text
    assert "Sat" in user.last.buttons[0][0]


async def test_a_move_whose_booking_answer_is_lost_tells_the_truth_and_the_salon(
    bot: Bot, clock: FakeClock
) -> None:
    admin = with_admin(bot)
    await admin.send("/help")
    user = bot.user()
    await book(user)
    bot.sandbox.fault(
        "POST", "book_record", status=504, body="<html>Gateway Time-out</html>", carry_out=True
    )
    clock.advance(minutes=1)
    await reschedule_to_saturday(user)
    assert "checking whether your new time was booked" in user.last.text
    await bot.settle()
    text = user.last.text
    assert "cannot tell whether your new time was booked" in text
    assert "stands" in text
    assert not any("Done!" in t for t in user.bot_texts)
    assert any("may have booked a second appointment" in t for t in admin.bot_texts)
    # The old appointment was left as it was: never none.
    assert any(r["start"].weekday() == 4 for r in live(bot))


async def test_a_move_whose_booking_never_landed_ends_with_the_old_one_only(
    bot: Bot, clock: FakeClock
) -> None:
    user = bot.user()
    await book(user)
    bot.sandbox.fault("POST", "book_record", status=504, body="<html>Gateway Time-out</html>")
    clock.advance(minutes=1)
    await reschedule_to_saturday(user)
    await bot.settle()
    assert "could not be moved right now. It stays as it was" in user.last.text
    assert len(live(bot)) == 1 and live(bot)[0]["start"].weekday() == 4


async def test_a_move_whose_answer_is_lost_is_read_back_from_the_record(
    bot: Bot, clock: FakeClock
) -> None:
    user = bot.user()
    await book(user)
    assert bot.services is not None
    token = bot.sandbox.add_user_token(PHONE)
    bot.services.storage.set_user_token(user.user_id, token)
    bot.sandbox.fault("PUT", "book_record", status=504, body="", carry_out=True)
    clock.advance(minutes=1)
    await reschedule_to_saturday(user)
    assert "Done! Your appointment is moved" in user.last.text
    assert len(live(bot)) == 1 and live(bot)[0]["start"].weekday() == 5


async def test_thirty_code_resends_send_one_text_and_say_when_the_next_may_come(
    make_bot: Any, clock: FakeClock
) -> None:
    texts: list[str] = []
    bot: Bot = await make_bot(company_id=SANDBOX_SMS_COMPANY_ID)
    bot.sandbox._on_sms = lambda company, phone, code: texts.append(code)
    user = bot.user()
    await to_summary(user, "Any available")
    await user.tap("✅ Confirm")
    assert len(texts) == 1
    for _ in range(30):
        clock.advance(seconds=0.6)
        await user.tap("Send the code again")
    assert len(texts) == 1  # thirty taps in eighteen seconds: no second text message
    assert "You can ask for a new code in" in user.answers[-1]
    assert "You can ask for a new code in" in user.last.text
    clock.advance(seconds=60)
    await user.tap("Send the code again")
    assert len(texts) == 2
    assert "A new code is on its way" in user.last.text
    await user.send(texts[-1])
    assert "You are booked" in user.last.text


def test_codes_are_limited_per_phone_and_per_client() -> None:
    now = [0.0]
    guard = CodeGuard(lambda: now[0])
    assert guard.allow("+491", 1) == 0
    assert guard.allow("+491", 2) == 60  # the same phone, another client: a minute apart
    assert guard.allow("+492", 1) == 60  # the same client, another phone: likewise
    for _ in range(4):
        now[0] += 61
        assert guard.allow("+491", 1) == 0
    now[0] += 61
    assert guard.allow("+491", 1) > 600  # five an hour, then the hour must pass
    assert guard.sent == 5 and guard.refused == 3


async def test_a_date_typed_at_a_month_first_salon_reads_month_first(bot: Bot) -> None:
    bot.sandbox.configure(1001, country="United States", timezone_name="America/New_York")
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap("Any available team member")
    await user.send("12/04/2026")
    assert "Friday, December 4, 2026" in user.last.text.replace("\u202f", " ")
    bot.sandbox.configure(1001, country="Germany", timezone_name="Europe/Berlin")


async def booking_behind_a_gate(make_bot: Any) -> tuple[Bot, StubUser, asyncio.Event]:
    """A bot whose booking calls wait until the gate opens, and a client whose updates go
    through the update processor (its "slow" comes at once: no real time passes in tests)."""

    async def at_once(_seconds: float) -> None:
        await asyncio.sleep(0)

    bot: Bot = await make_bot(slow_sleep=at_once)
    wire = Wire(bot)
    wire.gate = asyncio.Event()
    bot.transport = wire
    await bot.restart()
    assert bot.app is not None
    user = StubUser(bot.stub, bot.app, user_id=100001, first_name="Anna", through_processor=True)
    return bot, user, wire.gate


async def test_a_slow_booking_has_its_button_answered_at_once(make_bot: Any) -> None:
    """Telegram refuses an answer given more than some seconds after the tap: the button is
    answered while Altegio is still booking, and the outcome shows when it comes."""

    _bot, user, gate = await booking_behind_a_gate(make_bot)
    await to_summary(user)
    answered = len(user.callback_answers)
    tapped = asyncio.create_task(user.tap("✅ Confirm"))
    for _ in range(200):
        await asyncio.sleep(0)
        if len(user.callback_answers) > answered:
            break
    # Answered before the booking's answer came.
    assert [a.text for a in user.callback_answers[answered:]] == ["One moment…"]
    assert not tapped.done()
    gate.set()
    await tapped
    assert "You are booked" in user.last.text
    assert len(user.callback_answers) == answered + 1  # and not a second time


async def test_try_again_during_a_pause_altegio_asked_for_says_how_long(
    recorded: Any, clock: FakeClock
) -> None:
    bot, wire = recorded
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    # Asked of the first read of the day step (the earliest times); the calendar's read after
    # it is paused too.
    bot.sandbox.fault(
        "GET",
        "book_staff_seances",
        status=429,
        headers={"Retry-After": "60"},
        body={"success": False},
    )
    await user.tap("Any available team member")
    assert "Please try again in about 1 minute" in user.last.text
    sent = len(wire.seen)
    for _ in range(3):
        clock.advance(seconds=5)
        await user.tap("Try again")
        assert user.answers[-1] == "The salon's booking system is still not answering."
    assert len(wire.seen) == sent  # no request spent on a pause Altegio asked for
    assert "Please try again in about 45 seconds" in user.last.text
    clock.advance(seconds=50)
    await user.tap("Try again")
    assert "The earliest free times" in user.last.text


async def test_cancel_typed_while_the_booking_call_runs_is_answered_truthfully(
    make_bot: Any,
) -> None:
    bot, user, gate = await booking_behind_a_gate(make_bot)
    await to_summary(user)
    booking = asyncio.create_task(user.tap("✅ Confirm"))
    cancelling = asyncio.create_task(user.send("/cancel"))
    for _ in range(50):
        await asyncio.sleep(0)
    gate.set()
    await booking
    await cancelling
    assert any("You are booked" in t for t in user.bot_texts)
    assert "Nothing was booked" not in " ".join(user.bot_texts)
    assert "Your booking has just been made" in user.last.text
    assert len(live(bot)) == 1


@postgres_only
async def test_postgresql_out_of_reach_books_nothing_and_asks_to_try_again(
    bot: Bot, clock: FakeClock
) -> None:
    """PostgreSQL restarting while a client confirms: nothing is booked behind the client's
    back, they and others are asked politely to try again, the salon is told once; once it is
    back, the same Confirm books once."""
    admin = with_admin(bot)
    await admin.send("/help")
    user = bot.user()
    await to_summary(user)
    other = bot.user(100002, first_name="Ben")
    assert bot.services is not None
    with postgres_out_of_reach(bot.services.storage):
        await user.tap("✅ Confirm")
        assert "cannot reach my records just now" in user.last.text
        assert live(bot) == []
        await other.send("/start")
        # Even what would need no records: on PostgreSQL, replicas may share the bot, and no
        # update is handled on a conversation state that may be stale.
        assert "cannot reach my records just now" in other.last.text
        assert not any("went wrong" in t for t in user.bot_texts + other.bot_texts)
        assert sum("cannot reach its PostgreSQL database" in t for t in admin.bot_texts) == 1
    await user.tap("✅ Confirm")  # on the same summary, above the apology
    assert any("You are booked" in t for t in user.bot_texts), user.screen()
    assert len(live(bot)) == 1
    stored = bot.services.storage.bookings_for_chat(user.chat_id)
    assert [b.record_id for b in stored] == [live(bot)[0]["record_id"]]
    assert any("can write its database again" in t for t in admin.bot_texts)
