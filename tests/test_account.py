"""The client's whole Altegio account, as a client sees it: confirming the phone once, every
appointment however it was made, past visits with Book again, a token Altegio stops accepting,
a hash that stops working, and /forget."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.keyboards import NO_FLOW, Callback, decode
from conversations.reminders import send_due
from standins.altegio.seed import SANDBOX_COMPANY_ID, SANDBOX_SMS_COMPANY_ID
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, FakeClock, Recording
from tests.test_appointments import PHONE, book, buttons

SHOW_ALL = "Show all my appointments at Studio Aurora"
THURSDAY_14 = datetime(2026, 11, 26, 14, 0, tzinfo=BERLIN)
LAST_MONTH = datetime(2026, 10, 27, 11, 0, tzinfo=BERLIN)

# Each test on a SQLite file and on PostgreSQL.
BOTH_ENGINES = True


def appointment_buttons(user: StubUser) -> list[str]:
    """The list's buttons that open one appointment."""
    message = user.last.message
    return [
        b["text"]
        for row in message.inline_keyboard
        for b in row
        if (cb := decode(b.get("callback_data"))) is not None and cb.action == "apt"
    ]


def salon_booked(bot: Bot, start: datetime = THURSDAY_14, **extra: object) -> int:
    """An appointment the salon entered by phone for the client's number."""
    return bot.sandbox.salon_book(SANDBOX_COMPANY_ID, PHONE, 10001, 2001, start, **extra)


async def confirm_phone(bot: Bot, user: StubUser, *, remembered: bool) -> None:
    await user.tap(SHOW_ALL)
    if remembered:
        assert "Send the code to +49 1512 3456789?" in user.last.text
        await user.tap("Send the code")
    else:
        await user.send("+49 151 23456789")
    assert "We have sent a text message with a code" in user.last.text
    code = bot.sandbox.last_sms_code(SANDBOX_COMPANY_ID, PHONE)
    assert code is not None
    await user.send(code)


async def test_verify_once_see_the_salons_phone_booking_and_cancel_it(bot: Bot) -> None:
    user = bot.user()
    await book(user)  # Friday 10:00 with Anna, here
    by_phone = salon_booked(bot, source="phone")
    await user.send("/appointments")
    assert len(appointment_buttons(user)) == 1
    assert "Booked by phone or on the salon's website?" in user.last.text
    await user.tap(SHOW_ALL)
    await user.tap("Send the code")
    await user.send("000000")
    assert "That code is not right" in user.last.text
    code = bot.sandbox.last_sms_code(SANDBOX_COMPANY_ID, PHONE)
    assert code is not None
    await user.send(code)
    assert any("your phone number is confirmed" in m.text for m in user.bot_messages[-2:])
    assert "Your upcoming appointments at Studio Aurora" in user.last.text
    assert SHOW_ALL not in buttons(user)
    assert len(appointment_buttons(user)) == 2
    # The old list's button, tapped again, sends no second code.
    codes_before = bot.sandbox.last_sms_code(SANDBOX_COMPANY_ID, PHONE)
    await user.tap_data(Callback(NO_FLOW, "acct").encode())
    assert "Your upcoming appointments at Studio Aurora" in user.last.text
    assert bot.sandbox.last_sms_code(SANDBOX_COMPANY_ID, PHONE) == codes_before
    # Thursday's (by phone) comes first: open it, cancel it.
    await user.tap(appointment_buttons(user)[0])
    text = user.last.text
    assert "Women's haircut" in text and "Anna Weber" in text and "Thursday" in text
    assert {"Reschedule", "Cancel appointment", "Add to calendar", "Address"} <= set(buttons(user))
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    assert "Your appointment is cancelled" in user.last.text
    gone = [r for r in bot.sandbox.records(SANDBOX_COMPANY_ID) if r["record_id"] == by_phone]
    assert gone and gone[0]["deleted"]
    await user.send("/appointments")
    assert len(appointment_buttons(user)) == 1


async def test_a_new_client_sees_the_salons_booking_after_verifying_once(bot: Bot) -> None:
    user = bot.user()
    record_id = salon_booked(bot, source="web")
    await user.send("/appointments")
    assert "You have no upcoming appointments booked here." in user.last.text
    await confirm_phone(bot, user, remembered=False)
    assert "Your upcoming appointments at Studio Aurora" in user.last.text
    assert len(appointment_buttons(user)) == 1
    assert bot.services is not None
    kept = bot.services.storage.booking(record_id)
    assert kept is not None and kept.record_hash == "" and kept.chat_id == user.chat_id
    # Its reminders are planned like those of a booking made here.
    assert bot.services.storage.sql.execute(
        "SELECT COUNT(*) FROM reminders WHERE record_id = ?", [record_id]
    ).fetchone()[0]
    # Moved from the list, with the token alone.
    await user.tap(appointment_buttons(user)[0])
    await user.tap("Reschedule")
    await user.send("Friday")
    await user.tap_number(2)
    await user.tap("✅ Move it")
    assert "Your appointment is moved" in user.last.text
    moved = [r for r in bot.sandbox.records(SANDBOX_COMPANY_ID) if r["record_id"] == record_id]
    assert moved[0]["start"].date() == THURSDAY_14.date() + timedelta(days=1)


async def test_one_request_lists_everything_once_verified(
    recorded: tuple[Bot, Recording],
) -> None:
    bot, wire = recorded
    user = bot.user()
    await book(user)
    await book(user, day="Saturday")
    salon_booked(bot)
    await user.send("/appointments")
    await confirm_phone(bot, user, remembered=True)
    wire.seen.clear()
    await user.send("/appointments")
    assert len(appointment_buttons(user)) == 3
    assert [r.url.path for r in wire.seen] == ["/api/v1/user/records"]


@pytest.mark.parametrize("form", ["ids", "bare"])
async def test_the_whole_list_is_found_whichever_path_altegio_lists_it_at(
    bot: Bot, form: str
) -> None:
    bot.sandbox.listing_form(form)
    user = bot.user()
    await book(user)
    salon_booked(bot)
    await user.send("/appointments")
    await confirm_phone(bot, user, remembered=True)
    assert len(appointment_buttons(user)) == 2
    await user.send("/appointments")
    assert len(appointment_buttons(user)) == 2


async def test_past_visits_and_book_again_at_the_nearest_free_time(
    bot: Bot, clock: FakeClock
) -> None:
    user = bot.user()
    past = salon_booked(bot, start=LAST_MONTH, attendance=1)
    salon_booked(bot, start=LAST_MONTH - timedelta(days=30), attendance=-1)
    await user.send("/appointments")
    await user.tap("Past visits")
    assert "There are no past visits to show yet." in user.last.text
    assert SHOW_ALL in buttons(user)
    await confirm_phone(bot, user, remembered=False)
    await user.tap("Past visits")
    text = user.last.text
    assert "Your past visits:" in text
    assert "Women's haircut · Anna Weber" in text and "(missed)" in text
    again = [b for b in buttons(user) if b.startswith("Book again")]
    assert again == ["Book again: Women's haircut · Anna Weber"]
    await user.tap(again[0])
    # Straight to Anna's nearest free times (today, Tuesday, from 10:00).
    assert "Free times on Tuesday, November 24, 2026 with Anna Weber" in user.last.text
    await user.tap_number(1)
    await user.tap("Yes")
    await user.tap("Skip")
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    assert bot.services is not None
    assert bot.services.storage.booking(past) is not None


async def test_a_token_altegio_no_longer_accepts_asks_to_verify_again(bot: Bot) -> None:
    user = bot.user()
    await book(user)
    salon_booked(bot)
    await user.send("/appointments")
    await confirm_phone(bot, user, remembered=True)
    assert len(appointment_buttons(user)) == 2
    assert bot.services is not None
    token = bot.services.storage.user_token(user.user_id)
    assert token is not None
    bot.sandbox.revoke_user_token(token, status=403)
    await user.send("/appointments")
    # Nothing is lost: both are still listed, and the client is asked to confirm again.
    assert len(appointment_buttons(user)) == 2
    assert "confirm your phone number again" in user.last.text
    assert bot.services.storage.user_token(user.user_id) is None
    await user.tap("Confirm my phone number")
    await user.tap("Send the code")
    await user.send(str(bot.sandbox.last_sms_code(SANDBOX_COMPANY_ID, PHONE)))
    assert "Your upcoming appointments at Studio Aurora" in user.last.text
    assert "again" not in user.last.text
    assert bot.services.storage.user_token(user.user_id) not in (None, token)


async def test_a_hash_that_stops_working_asks_to_verify_rather_than_guess(bot: Bot) -> None:
    user = bot.user()
    await book(user)
    refused = {"success": False, "data": None, "meta": {"message": "Access denied."}}
    bot.sandbox.fault("GET", "book_record", status=403, body=refused, times=None)
    bot.sandbox.fault("GET", "user", status=403, body=refused, times=None)
    bot.sandbox.fault("DELETE", "user", status=403, body=refused, times=None)
    await user.send("/appointments")
    assert len(appointment_buttons(user)) == 1
    assert "confirm your phone number again" in user.last.text
    await user.tap(appointment_buttons(user)[0])
    assert "please confirm your phone number" in user.last.text
    assert "could not be asked" not in user.last.text
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    assert "confirm your phone number" in user.last.text
    assert "refused" not in user.last.text.lower()
    assert "Confirm my phone number" in buttons(user)
    bot.sandbox.clear_faults()
    await user.tap("Confirm my phone number")
    await user.tap("Send the code")
    await user.send(str(bot.sandbox.last_sms_code(SANDBOX_COMPANY_ID, PHONE)))
    await user.tap(appointment_buttons(user)[0])
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    assert "Your appointment is cancelled" in user.last.text


async def test_forget_removes_the_token_and_it_never_reaches_a_log(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = bot.user()
    salon_booked(bot)
    await user.send("/appointments")
    await confirm_phone(bot, user, remembered=False)
    assert bot.services is not None
    token = bot.services.storage.user_token(user.user_id)
    assert token is not None
    await user.send("/forget")
    await user.tap("Yes, delete my data")
    assert bot.services.storage.user_token(user.user_id) is None
    assert token not in caplog.text
    await user.send("/appointments")
    assert SHOW_ALL in buttons(user)


async def test_a_listing_path_a_server_does_not_serve_is_passed_over(bot: Bot) -> None:
    user = bot.user()
    salon_booked(bot)
    await user.send("/appointments")
    # The bare path answered by the web server's own page, not Altegio's JSON.
    page = "<html><body><h1>404 Not Found</h1></body></html>"
    bot.sandbox.fault("GET", "user", status=404, body=page, content_type="text/html")
    await confirm_phone(bot, user, remembered=False)
    assert "Your upcoming appointments at Studio Aurora" in user.last.text
    assert len(appointment_buttons(user)) == 1


async def test_a_booking_confirmed_by_sms_links_the_account_on_the_way(
    make_bot: Callable[..., Any],
) -> None:
    bot: Bot = await make_bot(company_id=SANDBOX_SMS_COMPANY_ID)
    start = datetime(2026, 11, 28, 15, 0, tzinfo=BERLIN)
    bot.sandbox.salon_book(SANDBOX_SMS_COMPANY_ID, PHONE, 11001, 2101, start, source="phone")
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
    await user.send("/appointments")
    assert "Your upcoming appointments at Studio Aurora Mitte" in user.last.text
    assert len(appointment_buttons(user)) == 2
    assert not any(b.startswith("Show all my appointments") for b in buttons(user))


async def test_a_reminder_costs_one_request_with_or_without_a_token(
    recorded: tuple[Bot, Recording], clock: FakeClock
) -> None:
    bot, wire = recorded
    user = bot.user()
    await book(user)  # Friday 10:00
    salon_booked(bot)  # Thursday 14:00, by phone
    await user.send("/appointments")
    await confirm_phone(bot, user, remembered=True)
    assert bot.app is not None
    # A day and more later: every cached read has expired.
    clock.current = THURSDAY_14 - timedelta(hours=24)
    wire.seen.clear()
    assert await send_due(bot.app) == 1
    assert [r.url.path for r in wire.seen] == ["/api/v1/user/records"]
    assert "Reminder of your appointment" in user.last.text


async def test_a_code_altegio_will_not_send_says_so_and_offers_another_number(bot: Bot) -> None:
    user = bot.user()
    await user.send("/appointments")
    refused = {"success": False, "data": None, "meta": {"message": "SMS are not available"}}
    bot.sandbox.fault("POST", "book_code", status=422, body=refused)
    await user.tap(SHOW_ALL)
    await user.send("+49 151 23456789")
    assert "could not send a code to +49 1512 3456789" in user.last.text
    assert "not answering" not in user.last.text
    await user.tap("Use another number")
    await user.send("+49 151 23456780")
    assert "We have sent a text message with a code" in user.last.text
