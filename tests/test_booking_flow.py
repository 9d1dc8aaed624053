"""Whole booking conversations, driven as a client would, against the sandbox location."""

from __future__ import annotations

from datetime import datetime

import httpx

from bot.keyboards import Callback
from standins.altegio.seed import SANDBOX_SMS_COMPANY_ID
from standins.telegram.transcript import StubChat
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, FakeClock

# Each test on a SQLite file and on PostgreSQL.
BOTH_ENGINES = True


def plain(text: str) -> str:
    """Babel separates "3:00 PM" with a narrow no-break space; compare as people read it."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def buttons(user: StubUser) -> list[str]:
    return [plain(label) for row in user.last.buttons for label in row]


async def choose_service(
    user: StubUser, category: str = "Hair", service: str = "Women's haircut"
) -> None:
    await user.send("/book")
    await user.tap(category)
    await user.tap(service)


async def finish_contact(user: StubUser, phone: str = "+49 151 23456789") -> None:
    await user.send(phone)
    await user.tap("Keep this name")
    await user.tap("Skip")


async def test_start_greets_with_the_salon_name(bot: Bot) -> None:
    user = bot.user()
    await user.send("/start")
    assert "Studio Aurora" in user.last.text
    assert buttons(user) == ["Book an appointment", "My appointments"]


async def test_books_a_named_team_member_by_buttons(bot: Bot) -> None:
    user = bot.user()
    await user.send("/start")
    await user.tap("Book an appointment")
    assert "Choose a category" in user.last.text
    await user.tap("Hair")
    assert "€40–€60" in user.last.text  # price range in the salon's currency
    await user.tap("Women's haircut")
    labels = buttons(user)
    assert labels[0] == "Any available team member"
    anna = next(label for label in labels if label.startswith("Anna Weber"))
    await user.tap(anna)
    assert "The earliest free times" in user.last.text
    await user.tap("Choose a day")
    # The calendar: only bookable days are buttons carrying a day callback.
    day_buttons = [b for b in buttons(user) if b.isdigit()]
    assert day_buttons, user.screen()
    await user.tap(day_buttons[0])
    assert "Free times on" in user.last.text
    first_time = buttons(user)[0]
    await user.tap(user.last.buttons[0][0])
    assert user.reply_keyboard is not None
    await finish_contact(user)
    summary = user.last.text
    assert "Please check your booking" in summary
    assert "Women's haircut" in summary and "Anna Weber" in summary
    assert "Duration: 1 hour" in summary and "€40–€60" in summary
    assert "Lindenstraße 21" in summary and "+49 1512 3456789" in summary
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text

    records = [r for r in bot.sandbox.records(1001) if r["phone"] == "+4915123456789"]
    assert len(records) == 1
    record = records[0]
    assert record["service_ids"] == [10001]
    assert record["staff_id"] == 2001
    assert record["fullname"] == "Anna Schmidt"
    assert record["master_requested"] is True
    assert record["start"].strftime("%-I:%M %p") == first_time
    assert bot.services is not None
    stored = bot.services.storage.bookings_for_chat(user.chat_id)
    assert [b.record_id for b in stored] == [record["record_id"]]
    assert stored[0].record_hash == record["hash"]


async def test_books_any_team_member_with_a_typed_day(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    await user.send("tomorrow after 3")
    assert "Wednesday, November 25, 2026" in user.last.text
    times = buttons(user)
    assert times[0] == "3:00 PM"  # "after 3" keeps only the afternoon
    await user.tap("3:00\u202fPM")
    await finish_contact(user)
    assert "any available team member" in user.last.text
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    record = next(r for r in bot.sandbox.records(1001) if r["phone"] == "+4915123456789")
    assert record["start"] == datetime(2026, 11, 25, 15, 0, tzinfo=BERLIN)
    assert record["master_requested"] is False
    assert record["staff_id"] in (2001, 2002)


async def test_sms_confirmation_location_asks_for_the_code(
    make_bot: object, clock: FakeClock
) -> None:
    bot: Bot = await make_bot(company_id=SANDBOX_SMS_COMPANY_ID)  # type: ignore[operator]
    user = bot.user()
    await user.send("/book")
    await user.tap_number(1)  # first category
    await user.tap_number(1)  # first service
    await user.tap_number(2)  # first named team member
    await user.tap("Choose a day")
    await user.tap(next(b for b in buttons(user) if b.isdigit()))
    await user.tap_number(1)
    await finish_contact(user)
    await user.tap("✅ Confirm")
    assert "sent a code" in user.last.text
    code = bot.sandbox.last_sms_code(SANDBOX_SMS_COMPANY_ID, "+4915123456789")
    assert code is not None
    wrong = "0000" if code != "0000" else "1111"
    await user.send(wrong)
    assert "not right" in user.last.text
    assert not bot.sandbox.records(SANDBOX_SMS_COMPANY_ID) or all(
        r["phone"] != "+4915123456789" for r in bot.sandbox.records(SANDBOX_SMS_COMPANY_ID)
    )
    await user.send(code)
    assert "You are booked" in user.last.text
    assert [r["phone"] for r in bot.sandbox.records(SANDBOX_SMS_COMPANY_ID)].count(
        "+4915123456789"
    ) == 1


async def test_shared_contact_and_remembered_details(bot: Bot) -> None:
    user = bot.user(phone_number="+4917612345678")
    await choose_service(user)
    await user.tap("Any available team member")
    await user.send("Friday")
    await user.tap_number(1)
    await user.tap("📱 Share my phone number")
    assert "+49 176 12345678" in " ".join(user.bot_texts)
    await user.tap("Keep this name")
    await user.tap("Skip")
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text

    await user.tap("Book another appointment")
    await user.tap("Nails")
    await user.tap("Classic manicure")
    await user.tap("Any available team member")
    await user.send("Friday")
    await user.tap_number(1)
    assert "Book as Anna Schmidt, +49 176 12345678?" in user.last.text
    await user.tap("Yes")
    await user.tap("Skip")
    assert "Phone: +49 176 12345678" in user.last.text


async def test_someone_elses_contact_and_bad_numbers_are_refused(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    await user.send("Friday")
    await user.tap_number(1)
    await user.share_contact("+4917699999999", user_id=555)
    assert "someone else's contact" in user.last.text
    await user.send("12345")
    assert "does not look like a phone number" in user.last.text
    await user.send("0151 23456789")  # national format, read in the salon's country
    assert "+49 1512 3456789" in " ".join(user.bot_texts[-2:])


async def test_a_day_without_free_times_offers_the_nearest(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    anna = next(b for b in buttons(user) if b.startswith("Anna Weber"))
    await user.tap(anna)
    await user.send("Sunday")  # Anna works Tuesday to Saturday
    assert "no free times on Sun, Nov 29" in user.last.text
    assert "nearest days" in user.last.text
    assert "Show the calendar" in buttons(user)
    await user.send("gibberish")
    assert "could not understand" in user.last.text
    await user.send("yesterday")
    assert "already passed" in user.last.text
    await user.tap_number(1)
    assert "Free times on" in user.last.text


async def test_calendar_month_navigation(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    await user.tap("Choose a day")
    assert "November 2026" in buttons(user)
    await user.tap("December 2026 ›")
    assert "December 2026" in buttons(user)
    await user.tap("‹ November 2026")
    assert "November 2026" in buttons(user)


async def test_back_returns_to_the_previous_step_and_cancel_leaves(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    await user.tap("« Back")
    assert "Choose a service" in user.last.text
    await user.tap("« Back")
    assert "Choose a category" in user.last.text
    message_id = user.last.message_id
    await user.tap("Hair")
    assert user.last.message_id == message_id  # menus are edited in place
    await user.tap("Cancel")
    assert "Booking cancelled" in user.last.text
    await user.send("/cancel")
    assert "nothing to cancel" in user.last.text


async def test_restart_mid_conversation_loses_nothing(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    await user.send("Friday")
    await bot.restart(graceful=False)
    user = bot.user()
    await user.tap_number(1)
    assert user.reply_keyboard is not None
    await bot.restart()
    user = bot.user()
    await finish_contact(user)
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    assert sum(r["phone"] == "+4915123456789" for r in bot.sandbox.records(1001)) == 1


async def test_old_and_forged_buttons_get_a_polite_answer(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    await user.send("Friday")
    await user.tap_number(1)
    await finish_contact(user)
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    await user.tap_data(Callback("abcdef", "confirm").encode())
    assert user.answers[-1] == "This button is no longer active."
    await user.tap_data("x" * 64)
    await user.tap_data("b1:-:svc:drop table")
    assert user.answers[-1] == "This button is no longer active."
    assert sum(r["phone"] == "+4915123456789" for r in bot.sandbox.records(1001)) == 1


async def test_a_forged_month_far_in_the_future_is_refused_politely(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    flow = bot.app.user_data[user.user_id].draft["flow"]  # type: ignore[union-attr]
    await user.tap_data(f"b1:{flow}:mon:999912")
    assert user.answers[-1] == "This button is no longer active."
    assert not any("went wrong" in t for t in user.bot_texts)


async def test_confirm_tapped_twice_books_once(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    await user.send("Friday")
    await user.tap_number(1)
    await finish_contact(user)
    summary_id = user.last.message_id
    await user.tap("✅ Confirm")
    await user.tap_data(
        next(b["callback_data"] for row in user.last.message.inline_keyboard for b in row),
        message_id=summary_id,
    )
    assert sum(r["phone"] == "+4915123456789" for r in bot.sandbox.records(1001)) == 1


async def test_slot_taken_before_confirming_offers_fresh_times(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    anna = next(b for b in buttons(user) if b.startswith("Anna Weber"))
    await user.tap(anna)
    await user.send("Friday")
    chosen = buttons(user)[0]
    await user.tap_number(1)
    await finish_contact(user)
    # Someone else books the same time through the salon's widget.
    rival = httpx.AsyncClient(
        transport=bot.sandbox.transport(), base_url="https://api.alteg.io/api/v1/"
    )
    found = await rival.get(
        "book_times/1001/2001/2026-11-27",
        params={"service_ids[]": "10001"},
        headers={"Authorization": "Bearer sandbox-partner-token"},
    )
    slot = found.json()["data"][0]["datetime"]
    answer = await rival.post(
        "book_record/1001",
        json={
            "phone": "+4917000000001",
            "fullname": "Rival",
            "appointments": [{"id": 1, "services": [10001], "staff_id": 2001, "datetime": slot}],
        },
        headers={"Authorization": "Bearer sandbox-partner-token"},
    )
    assert answer.status_code == 201
    await rival.aclose()
    await user.tap("✅ Confirm")
    assert "just been taken" in user.answers[-1]
    assert "Free times on" in user.last.text
    assert chosen not in buttons(user)
    assert all(r["phone"] != "+4915123456789" for r in bot.sandbox.records(1001))


async def test_text_where_a_button_is_expected_and_stickers(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    await user.send("hello?")
    # Text is read for what it asks for; this asks for nothing, so the buttons are pointed to.
    assert any(text.startswith("Please use the buttons below") for text in user.bot_texts)
    assert user.last.buttons[0][0] == "Any available team member"
    await user.send_sticker()
    assert user.last.buttons[0][0] == "Any available team member"


async def test_russian_client_sees_russian(bot: Bot) -> None:
    user = bot.user(language_code="ru")
    await user.send("/start")
    assert "Studio Aurora" in user.last.text
    assert "Hello" not in user.last.text
    await user.tap_number(1)
    await user.tap_number(1)
    await user.tap_number(1)
    await user.tap_number(1)  # any team member
    await user.send("в пятницу")
    assert "27 ноября" in user.last.text or "пятница" in user.last.text


async def test_altegio_down_then_back_retries_the_same_step(
    make_bot: object, sandbox: object
) -> None:
    failing = {"on": False}

    def handler(request: httpx.Request) -> httpx.Response:
        if failing["on"]:
            raise httpx.ConnectError("refused", request=request)
        return bot.sandbox.handle(request)

    bot: Bot = await make_bot(transport=httpx.MockTransport(handler))  # type: ignore[operator]
    user = bot.user()
    await choose_service(user)
    failing["on"] = True
    await user.tap("Any available team member")
    assert "not answering" in user.last.text
    assert "Try again" in buttons(user)
    failing["on"] = False
    await user.tap("Try again")
    assert "The earliest free times" in user.last.text


async def test_group_chats_are_told_to_write_privately(bot: Bot) -> None:
    bot.stub.chats[-100123] = StubChat(-100123, {"id": -100123, "type": "group", "title": "Fans"})
    user = bot.user(user_id=200002, chat_id=-100123)
    await user.send("/book")
    assert "private chat" in user.last.text


async def test_calendar_works_with_a_server_that_only_knows_date(make_bot: object) -> None:
    """Older servers ignore `date_from`/`date_to` and answer the month of `date` only."""

    def handler(request: httpx.Request) -> httpx.Response:
        if "/book_dates/" in request.url.path:
            params = [
                (k, v)
                for k, v in request.url.params.multi_items()
                if k not in ("date_from", "date_to")
            ]
            request = httpx.Request(
                request.method, request.url.copy_with(params=params), headers=request.headers
            )
        return bot.sandbox.handle(request)

    bot: Bot = await make_bot(transport=httpx.MockTransport(handler))  # type: ignore[operator]
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    await user.tap("Choose a day")
    await user.tap("December 2026 ›")
    december = [b for b in buttons(user) if b.isdigit()]
    assert len(december) > 15, user.screen()
    await user.send("15.12")
    assert "Tuesday, December 15, 2026" in user.last.text


async def test_a_long_day_of_times_comes_in_pages(bot: Bot) -> None:
    user = bot.user()
    await choose_service(user)
    anna = next(b for b in buttons(user) if b.startswith("Anna Weber"))
    await user.tap(anna)
    await user.send("Friday")
    first_page = [b for b in buttons(user) if ":" in b]
    assert len(first_page) == 16
    requests_before = bot.services.altegio.requests_sent if bot.services else 0
    await user.tap("›")
    second_page = [b for b in buttons(user) if ":" in b]
    assert second_page and not set(second_page) & set(first_page)
    assert bot.services is not None
    assert bot.services.altegio.requests_sent == requests_before  # paged from what was read
    await user.tap("‹")
    assert [b for b in buttons(user) if ":" in b] == first_page
    await user.tap("›")
    await user.tap_number(1)
    assert user.reply_keyboard is not None  # on to the phone number


async def test_a_time_another_client_is_booking_is_not_offered_meanwhile(
    bot: Bot, clock: FakeClock
) -> None:
    """Two clients booking at once: the time the first chose is not offered to the second
    while the first books it, and comes back if the first gives up or goes quiet."""
    first, second = bot.user(), bot.user(100002, first_name="Ben")
    for user in (first, second):
        await choose_service(user)
        await user.tap("Any available team member")
        await user.send("tomorrow after 3")
    assert buttons(first)[0] == "3:00 PM" and buttons(second)[0] == "3:00 PM"

    await first.tap("3:00\u202fPM")
    await second.tap("« Back")
    await second.send("tomorrow after 3")
    assert "3:00 PM" not in buttons(second)
    assert buttons(second)[0] == "3:15 PM"

    await first.send("/cancel")
    await second.tap("« Back")
    await second.send("tomorrow after 3")
    assert buttons(second)[0] == "3:00 PM"

    # A client who chose and then went quiet holds the time for five minutes only.
    await second.tap("3:00\u202fPM")
    await first.send("/book")
    await first.tap("Hair")
    await first.tap("Women's haircut")
    await first.tap("Any available team member")
    await first.send("tomorrow after 3")
    assert "3:00 PM" not in buttons(first)
    clock.advance(minutes=6)
    await first.tap("« Back")
    await first.send("tomorrow after 3")
    assert buttons(first)[0] == "3:00 PM"


async def test_a_crash_right_after_a_step_keeps_that_step(bot: Bot) -> None:
    """The process dies just after the client chose a time: the restarted bot knows the time
    (the client's draft is written with the conversation's state, after every update)."""
    user = bot.user()
    await choose_service(user)
    await user.tap("Any available team member")
    await user.send("Friday")
    chosen = buttons(user)[0]
    await bot.restart()  # the first update after a start: nothing marked yet
    user = bot.user()
    await user.tap_number(1)
    await bot.restart(graceful=False)
    user = bot.user()
    await finish_contact(user)
    assert chosen.replace("\u202f", " ") in plain(user.last.text)
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
