"""The fault suite: Altegio failing in every documented way, races, repeats and odd input,
injected through the transport seams; asserted as the client and the salon would see them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.keyboards import Callback
from standins.altegio.seed import SANDBOX_SMS_COMPANY_ID
from standins.telegram.transcript import StubChat
from standins.telegram.users import StubUser
from tests.conftest import Bot, FakeClock

PHONE = "+4915123456789"

Fault = Callable[[httpx.Request], httpx.Response | None]


class Faulty:
    """The sandbox behind a switchboard of faults, chosen per endpoint."""

    def __init__(self) -> None:
        self.bot: Bot | None = None
        self.faults: dict[str, Fault] = {}
        self.seen: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert self.bot is not None
        route = request.url.path.split("/v1/")[-1].split("/")[0]
        self.seen.append(f"{request.method} {route}")
        fault = self.faults.get(route)
        if fault is not None:
            answer = fault(request)
            if answer is not None:
                return answer
        return self.bot.sandbox.handle(request)


@pytest.fixture
async def faulty(make_bot: Callable[..., Any]) -> Faulty:
    wire = Faulty()
    wire.bot = await make_bot(transport=httpx.MockTransport(wire.handler))
    return wire


def bot_of(wire: Faulty) -> Bot:
    assert wire.bot is not None
    return wire.bot


def buttons(user: StubUser) -> list[str]:
    return [label for row in user.last.buttons for label in row]


def records(wire: Faulty) -> list[dict[str, Any]]:
    return [r for r in bot_of(wire).sandbox.records(1001) if r["phone"] == PHONE]


async def to_summary(user: StubUser, staff: str = "Anna Weber") -> None:
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap(next(b for b in buttons(user) if b.startswith(staff)))
    await user.send("Friday")
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    assert "Please check your booking" in user.last.text


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("no answer", request=request)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


def status(code: int, headers: dict[str, str] | None = None) -> Fault:
    def answer(request: httpx.Request) -> httpx.Response:
        body = {"success": False, "data": None, "meta": {"message": "Server error"}}
        return httpx.Response(code, json=body, headers=headers)

    return answer


def taken(request: httpx.Request) -> httpx.Response:
    """Altegio's refusal of a time someone else has taken (422, code 433)."""
    meta = {"message": "taken", "errors": [{"code": 433, "message": "taken", "id": 1}]}
    return httpx.Response(422, json={"success": False, "data": None, "meta": meta})


def garbage(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b"<html>Bad gateway</html>")


def after_sending(fault: Fault, wire: Faulty) -> Fault:
    """The request reaches Altegio and is carried out, but its answer is lost."""

    def answer(request: httpx.Request) -> httpx.Response:
        bot_of(wire).sandbox.handle(request)
        return fault(request) or httpx.Response(500)

    return answer


@pytest.mark.parametrize(
    "fault", [timeout, refused, status(500), status(503), status(429), garbage], ids=str
)
async def test_reads_failing_keep_choices_and_offer_retry(faulty: Faulty, fault: Fault) -> None:
    user = bot_of(faulty).user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    faulty.faults["book_dates"] = fault
    faulty.faults["book_staff_seances"] = fault
    await user.tap("Any available team member")
    assert "not answering" in user.last.text
    assert "Try again" in buttons(user)
    del faulty.faults["book_dates"], faulty.faults["book_staff_seances"]
    await user.tap("Try again")
    assert "Choose a day" in buttons(user)  # the same step, with the choices kept
    assert "Women's haircut" in user.last.text


async def test_transient_failures_are_retried_unseen(faulty: Faulty) -> None:
    user = bot_of(faulty).user()
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response | None:
        calls["n"] += 1
        return status(503)(request) if calls["n"] < 3 else None

    faulty.faults["book_services"] = flaky
    await user.send("/book")
    assert "Choose a category" in user.last.text
    assert calls["n"] == 3


async def test_retry_after_is_honoured_on_the_injected_clock(
    faulty: Faulty, clock: FakeClock
) -> None:
    user = bot_of(faulty).user()
    calls = {"n": 0}

    def limited(request: httpx.Request) -> httpx.Response | None:
        calls["n"] += 1
        return status(429, {"Retry-After": "4"})(request) if calls["n"] == 1 else None

    faulty.faults["book_services"] = limited
    await user.send("/book")
    assert "Choose a category" in user.last.text
    assert 4.0 in clock.slept


async def test_book_record_timeout_after_sending_never_books_twice(faulty: Faulty) -> None:
    user = bot_of(faulty).user()
    await to_summary(user)
    faulty.faults["book_record"] = after_sending(timeout, faulty)
    await user.tap("✅ Confirm")
    assert "checking whether your booking went through" in user.last.text
    await user.tap("My appointments")
    await bot_of(faulty).settle()
    assert len(records(faulty)) == 1  # made once, never repeated blindly
    assert faulty.seen.count("POST book_record") == 1
    assert "cannot confirm your booking" in user.last.text
    assert "Please do not book again" in user.last.text


async def test_book_record_timeout_before_it_happened_lets_the_client_confirm_again(
    faulty: Faulty,
) -> None:
    user = bot_of(faulty).user()
    await to_summary(user)
    faulty.faults["book_record"] = timeout  # lost on the way: nothing was booked
    await user.tap("✅ Confirm")
    assert records(faulty) == []
    assert "checking whether your booking went through" in user.last.text
    # Never "not booked" while the write may still land: only once the time stayed free.
    await bot_of(faulty).settle()
    assert "did not go through" in user.last.text
    del faulty.faults["book_record"]
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    assert len(records(faulty)) == 1


async def test_book_record_5xx_is_an_unknown_outcome(faulty: Faulty) -> None:
    user = bot_of(faulty).user()
    await to_summary(user)
    faulty.faults["book_record"] = after_sending(status(502), faulty)
    await user.tap("✅ Confirm")
    assert len(records(faulty)) == 1
    assert faulty.seen.count("POST book_record") == 1
    assert "You are booked" not in user.last.text


async def test_circuit_breaker_stops_hammering_and_recovers(
    faulty: Faulty, clock: FakeClock
) -> None:
    user = bot_of(faulty).user()
    await user.send("/book")
    await user.tap("Hair")
    faulty.faults["book_staff"] = status(503)
    faulty.faults["company"] = status(503)
    await user.tap("Women's haircut")
    for _ in range(4):
        await user.tap("Try again")
    assert "not answering" in user.last.text
    sent = len(faulty.seen)
    await user.tap("Try again")
    assert "temporarily unavailable" in user.last.text
    assert "+493012345670" in user.last.text  # the salon's phone, from what was known
    assert len(faulty.seen) == sent  # the open circuit sends nothing
    faulty.faults.clear()
    clock.advance(seconds=31)
    await user.tap("Try again")
    assert "Who would you like to see?" in user.last.text  # recovered by itself


async def test_anyone_offered_when_the_chosen_member_has_nothing_left(faulty: Faulty) -> None:
    user = bot_of(faulty).user()
    await to_summary(user)

    def everything_taken_for_anna(request: httpx.Request) -> httpx.Response | None:
        if "/2001/" in request.url.path:
            return httpx.Response(200, json={"success": True, "data": [], "meta": []})
        return None

    faulty.faults["book_record"] = taken
    faulty.faults["book_times"] = everything_taken_for_anna
    await user.tap("✅ Confirm")
    assert "just been taken" in user.last.text
    assert "any available team member" in user.last.text
    assert buttons(user)[0][0].isdigit()


async def test_two_devices_tapping_confirm_book_once(bot: Bot) -> None:
    phone = bot.user()
    await to_summary(phone)
    summary = phone.last.message
    confirm = next(b["callback_data"] for row in summary.inline_keyboard for b in row)
    await phone.tap("✅ Confirm")
    # The same client's second device taps Confirm on the same summary afterwards.
    await phone.tap_data(confirm, message_id=summary.message_id)
    assert sum(r["phone"] == PHONE for r in bot.sandbox.records(1001)) == 1


async def test_confirm_tapped_twenty_times_books_once_and_answers_once(bot: Bot) -> None:
    user = bot.user()
    await to_summary(user)
    summary = user.last.message
    confirm = next(b["callback_data"] for row in summary.inline_keyboard for b in row)
    before = len(user.bot_messages)
    answers_before = len(user.callback_answers)
    for _ in range(20):
        await user.tap_data(confirm, message_id=summary.message_id)
    assert sum(r["phone"] == PHONE for r in bot.sandbox.records(1001)) == 1
    assert sum("You are booked" in t for t in user.bot_texts) == 1
    assert not any("expired" in t for t in user.bot_texts)
    assert len(user.bot_messages) - before <= 1  # the confirmation, edited in or sent
    assert len(user.callback_answers) - answers_before == 20  # every tap answered
    assert not any("no longer active" in a for a in user.answers)


@pytest.mark.parametrize(
    "action",
    ["sticker", "photo", "location", "long", "control", "edit", "button_data"],
)
async def test_odd_input_at_every_text_step_gets_an_answer(bot: Bot, action: str) -> None:
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap("Any available team member")  # the day step expects text or a tap
    before = len(user.bot_messages)
    if action == "sticker":
        await user.send_sticker()
    elif action == "photo":
        await user.send_photo()
    elif action == "location":
        await user.send_location(52.5, 13.4)
    elif action == "long":
        await user.send("x" * 4000)
    elif action == "control":
        await user.send("\x00\x07\x1b[31m")
    elif action == "edit":
        await user.send("tomorrow")
        await user.edit_last("Friday")
    elif action == "button_data":
        await user.tap_data(Callback("ffffff", "svc", "1").encode())
    assert len(user.bot_messages) > before or user.answers, action
    await user.send("Friday")
    assert "Free times on" in user.last.text


async def test_unexpected_errors_apologise_log_and_tell_the_salon(
    make_bot: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a bug")

    bot: Bot = await make_bot(transport=httpx.MockTransport(broken))
    assert bot.services is not None
    object.__setattr__(bot.services.settings, "admin_chat_id", 777)
    admin = StubUser(bot.stub, bot.app, user_id=777, first_name="Salon")  # type: ignore[arg-type]
    await admin.send("/help")
    user = bot.user()
    with caplog.at_level(logging.ERROR):
        await user.send("/book")
    assert "something went wrong" in user.last.text
    assert "Book an appointment" in buttons(user)
    assert any("RuntimeError" in t for t in admin.bot_texts)
    assert any(r.exc_info for r in caplog.records)


async def test_secrets_never_reach_the_log(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    from bot.logs import RedactingFormatter

    formatter = RedactingFormatter("%(name)s %(message)s", ["sandbox-partner-token"])
    with caplog.at_level(logging.DEBUG):
        user = bot.user()
        await to_summary(user)
        await user.tap("✅ Confirm")
        await user.send("/appointments")
        await user.tap_number(1)
    text = "\n".join(formatter.format(r) for r in caplog.records)
    record = bot.sandbox.records(1001)[-1]
    assert record["hash"] not in text
    assert PHONE not in text and "+49 1512 3456789" not in text
    assert "sandbox-partner-token" not in text


async def test_group_chats_and_channels_are_not_served(bot: Bot) -> None:
    bot.stub.chats[-100500] = StubChat(-100500, {"id": -100500, "type": "supergroup", "title": "x"})
    member = bot.user(user_id=200003, chat_id=-100500)
    await member.send("/book")
    assert "private chat" in member.last.text
    await member.send("hello everyone")
    assert len(member.bot_messages) == 1


async def test_a_flooding_client_is_slowed_alone(bot: Bot) -> None:
    flooder = bot.user()
    for _ in range(40):
        await flooder.send("spam")
    assert sum("very quickly" in t for t in flooder.bot_texts) == 1
    assert len(flooder.bot_messages) < 40
    other = bot.user(user_id=100009, first_name="Ola")
    await other.send("/start")
    assert "Studio Aurora" in other.last.text


async def test_forget_deletes_the_clients_data_after_confirming(bot: Bot) -> None:
    user = bot.user()
    await to_summary(user)
    await user.tap("✅ Confirm")
    assert bot.services is not None
    storage = bot.services.storage
    assert storage.contact(user.user_id) is not None
    await user.send("/forget")
    assert "Appointments you have already made stay with the salon" in user.last.text
    await user.tap("No, keep it")
    assert storage.contact(user.user_id) is not None
    await user.send("/forget")
    await user.tap("Yes, delete my data")
    assert "everything the bot kept about you is deleted" in user.last.text
    assert storage.contact(user.user_id) is None
    assert storage.bookings_for_chat(user.chat_id) == []
    assert user.user_id not in storage.all_data("user_data", "user_id")
    assert not any(user.user_id in key for key in storage.conversations("booking"))
    assert (
        len([r for r in bot.sandbox.records(1001) if r["phone"] == PHONE and not r["deleted"]]) == 1
    )
    await bot.restart()
    user = bot.user()
    await user.send("/appointments")
    assert "no upcoming appointments" in user.last.text


async def test_a_slow_altegio_finishing_after_the_timeout_is_not_booked_twice(
    faulty: Faulty,
) -> None:
    """Altegio carries the booking out only after the bot gave up waiting for the answer."""
    user = bot_of(faulty).user()
    await to_summary(user)
    pending: list[httpx.Request] = []

    def slow(request: httpx.Request) -> httpx.Response:
        pending.append(
            httpx.Request(
                request.method, request.url, headers=request.headers, content=request.content
            )
        )
        raise httpx.ReadTimeout("still working", request=request)

    looks = {"n": 0}

    def finishing_later(request: httpx.Request) -> httpx.Response | None:
        looks["n"] += 1
        if looks["n"] == 2 and pending:
            bot_of(faulty).sandbox.handle(pending.pop())
        return None

    faulty.faults["book_record"] = slow
    faulty.faults["book_times"] = finishing_later
    await user.tap("✅ Confirm")
    assert "did not go through" not in user.last.text
    await bot_of(faulty).settle()
    assert len(records(faulty)) == 1
    assert faulty.seen.count("POST book_record") == 1
    assert "cannot confirm your booking" in user.last.text
    assert not any("did not go through" in text for text in user.bot_texts)


async def test_confirm_tapped_again_while_a_lost_answer_is_checked_books_nothing_more(
    faulty: Faulty,
) -> None:
    user = bot_of(faulty).user()
    await to_summary(user)
    pending: list[httpx.Request] = []

    def slow(request: httpx.Request) -> httpx.Response:
        pending.append(
            httpx.Request(
                request.method, request.url, headers=request.headers, content=request.content
            )
        )
        raise httpx.ReadTimeout("still working", request=request)

    faulty.faults["book_record"] = slow
    summary = user.bot_messages[-1]
    confirm = next(b["callback_data"] for row in summary.inline_keyboard for b in row)
    await user.tap("✅ Confirm")
    bot_of(faulty).sandbox.handle(pending.pop())  # Altegio finishes the first attempt at last
    del faulty.faults["book_record"]
    await user.tap_data(confirm, message_id=summary.message_id)
    assert "Still checking" in user.answers[-1]
    await bot_of(faulty).settle()
    assert len(records(faulty)) == 1
    assert faulty.seen.count("POST book_record") == 1
    assert "cannot confirm your booking" in user.last.text


async def test_a_booking_costs_free_times_and_book_record_once_the_catalogue_is_read(
    faulty: Faulty,
) -> None:
    """The rate limit is spent on bookings: with the catalogue, team and days already read, a
    booking costs today's free times and the booking itself, with no dry run in between. The
    team member's earliest times offered first are not read again: the first booking took its
    time out of them (clients offered them within half a minute share one read)."""
    first = bot_of(faulty).user()
    await to_summary(first)
    await first.tap("✅ Confirm")
    assert "You are booked" in first.last.text
    faulty.seen.clear()
    second = bot_of(faulty).user(100002, first_name="Ben")
    await to_summary(second)
    await second.tap("✅ Confirm")
    assert "You are booked" in second.last.text
    assert faulty.seen == ["GET book_times", "POST book_record"]


async def test_a_time_taken_meanwhile_is_refused_by_the_booking_itself(faulty: Faulty) -> None:
    user = bot_of(faulty).user()
    await to_summary(user)
    faulty.faults["book_record"] = taken
    faulty.seen.clear()
    await user.tap("✅ Confirm")
    assert "just been taken" in user.answers[-1]
    assert "POST book_check" not in faulty.seen
    assert not records(faulty)


async def test_no_text_message_is_spent_on_a_time_taken_meanwhile(
    make_bot: Callable[..., Any],
) -> None:
    """On a location that confirms by SMS, the time is checked before a code is sent."""
    wire = Faulty()
    wire.bot = await make_bot(
        company_id=SANDBOX_SMS_COMPANY_ID, transport=httpx.MockTransport(wire.handler)
    )
    user = wire.bot.user()
    await to_summary(user, staff="Any available")
    wire.faults["book_check"] = taken
    wire.seen.clear()
    await user.tap("✅ Confirm")
    assert "just been taken" in user.answers[-1]
    assert "POST book_code" not in wire.seen
    assert wire.bot.sandbox.last_sms_code(SANDBOX_SMS_COMPANY_ID, PHONE) is None
