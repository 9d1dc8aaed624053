"""What the real Altegio can answer and the bot must not be misled by, and a salon that changes
its settings while the bot runs: each case given by the sandbox on demand and lived through as a
client (and the salon) would."""

from __future__ import annotations

from datetime import UTC, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from conversations.reminders import send_due
from standins.altegio.seed import SANDBOX_COMPANY_ID, SANDBOX_SMS_COMPANY_ID
from standins.telegram.users import StubUser
from tests.conftest import Bot, FakeClock, Recording

PHONE = "+4915123456789"
HAIRCUT = 10001

HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def buttons(user: StubUser) -> list[str]:
    return [plain(label) for row in user.last.buttons for label in row]


def mine(bot: Bot, company_id: int = SANDBOX_COMPANY_ID) -> list[dict[str, Any]]:
    return [r for r in bot.sandbox.records(company_id) if r["phone"] == PHONE]


def live(bot: Bot, company_id: int = SANDBOX_COMPANY_ID) -> list[dict[str, Any]]:
    return [r for r in mine(bot, company_id) if not r["deleted"]]


async def to_time(user: StubUser, staff: str = "Anna Weber", day: str = "Friday") -> None:
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap(next(b for b in buttons(user) if b.startswith(staff)))
    await user.send(day)
    assert "Free times on" in user.last.text, user.screen()


async def to_summary(user: StubUser, staff: str = "Anna Weber", day: str = "Friday") -> None:
    await to_time(user, staff, day)
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    assert "Please check your booking" in user.last.text, user.screen()


async def book(user: StubUser, staff: str = "Anna Weber", day: str = "Friday") -> None:
    await to_summary(user, staff, day)
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text, user.screen()


def requests_to(seen: list[httpx.Request], route: str, method: str = "GET") -> int:
    return sum(1 for r in seen if r.method == method and f"/v1/{route}" in r.url.path)


# --- an unreadable success from book_record -----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [HTML, b'{"success": true, "data": [{"id": 1, "record_id": 41', b""],
    ids=["html", "truncated", "empty"],
)
@pytest.mark.parametrize("staff", ["Anna Weber", "Any available"])
async def test_an_unreadable_201_books_once_and_is_never_offered_again(
    recorded: tuple[Bot, Recording], body: str | bytes, staff: str
) -> None:
    bot, wire = recorded
    user = bot.user()
    await to_summary(user, staff)
    bot.sandbox.fault("POST", "book_record", status=201, body=body, carry_out=True)
    await user.tap("✅ Confirm")
    assert "checking whether your booking went through" in user.last.text
    await bot.settle()
    assert len(live(bot)) == 1
    text = user.last.text
    assert "cannot confirm it here" in text and "Please do not book again" in text
    assert "✅ Confirm" not in buttons(user)
    assert "not answering" not in text
    await user.tap("My appointments")  # nothing to confirm twice anywhere
    assert requests_to(wire.seen, "book_record", "POST") == 1
    assert len(live(bot)) == 1


# --- a record read that fails is not a cancellation ---------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, HTML),
        (404, {"success": False, "data": None, "meta": []}),
        (403, {"success": False, "data": None, "meta": {"message": "Access denied."}}),
        (502, HTML),
    ],
    ids=["proxy-404", "altegio-404", "403", "502"],
)
async def test_a_failing_record_read_keeps_the_booking_and_its_actions(
    bot: Bot, status: int, body: Any
) -> None:
    user = bot.user()
    await book(user)
    # Neither the record nor the client's list can be read through its hash any more.
    bot.sandbox.fault("GET", "book_record", status=status, body=body, times=None)
    bot.sandbox.fault("GET", "user", status=status, body=body, times=None)
    await user.send("/appointments")
    assert "Cancelled" not in user.last.text
    assert "Your upcoming appointments" in user.last.text
    await user.tap_number(1)
    text = user.last.text
    assert "Women's haircut" in text and "Anna Weber" in text
    if status == 502 or isinstance(body, str):
        assert "could not be asked about it just now" in text
    else:
        # Altegio itself refused the hash: confirming the phone is what reads it again.
        assert "please confirm your phone number" in text
        assert "Confirm my phone number" in buttons(user)
    assert {"Reschedule", "Cancel appointment", "Add to calendar"} <= set(buttons(user))
    assert bot.services is not None
    assert bot.services.storage.bookings_for_chat(user.chat_id)[0].status == "active"
    # The client can still act on it: Altegio itself decides.
    bot.sandbox.clear_faults()
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    assert "Your appointment is cancelled" in user.last.text
    assert live(bot) == []


async def test_a_json_not_found_confirmed_by_the_clients_own_list_is_a_cancellation(
    bot: Bot,
) -> None:
    user = bot.user()
    await book(user)
    assert bot.services is not None
    token = bot.sandbox.add_user_token(PHONE)
    bot.services.storage.set_user_token(user.user_id, token)
    bot.sandbox.fault("GET", "book_record", status=404, body={"success": False, "data": None})
    empty = {"success": True, "data": [], "meta": []}
    bot.sandbox.fault("GET", "user", status=201, body=empty)
    await user.send("/appointments")
    assert "Cancelled by the salon: Women's haircut" in user.last.text


async def test_a_hash_that_stops_working_is_read_through_the_clients_token(bot: Bot) -> None:
    user = bot.user()
    await book(user)
    assert bot.services is not None
    token = bot.sandbox.add_user_token(PHONE)
    bot.services.storage.set_user_token(user.user_id, token)
    bot.sandbox.fault("GET", "book_record", status=404, body={"success": False}, times=None)
    record_id = live(bot)[0]["record_id"]
    bot.sandbox.salon_move(record_id, live(bot)[0]["start"] + timedelta(hours=2))
    await user.send("/appointments")
    assert "Moved by the salon" in user.last.text
    await user.tap_number(1)
    assert "could not be asked" not in user.last.text


async def test_a_reminder_goes_out_with_what_is_known_when_the_record_cannot_be_read(
    recorded: tuple[Bot, Recording], clock: FakeClock
) -> None:
    bot, wire = recorded
    user = bot.user()
    await book(user)
    start = live(bot)[0]["start"]
    bot.sandbox.fault("GET", "book_record", status=403, body={"success": False}, times=None)
    bot.sandbox.fault("GET", "user", status=403, body={"success": False}, times=None)
    wire.seen.clear()
    assert bot.app is not None
    clock.current = start - timedelta(hours=24, minutes=1)
    # Ticks every 10 seconds for an hour and a half: far fewer reads than ticks.
    for _ in range(540):
        clock.advance(seconds=10)
        await send_due(bot.app)
    reminders = [t for t in user.bot_texts if "Reminder of your appointment" in t]
    assert len(reminders) == 1
    assert "Women's haircut" in reminders[0] and "Anna Weber" in reminders[0]
    assert "could not be asked about it just now" in reminders[0]
    reads = requests_to(wire.seen, "book_record")
    assert 2 <= reads <= 8, reads
    # After the visit, no more reads for it at all.
    clock.current = start + timedelta(days=2)
    wire.seen.clear()
    for _ in range(60):
        clock.advance(minutes=10)
        await send_due(bot.app)
    assert requests_to(wire.seen, "book_record") <= 7
    assert not any("Thank you for visiting" in t for t in user.bot_texts)
    clock.advance(days=1)
    wire.seen.clear()
    for _ in range(30):
        clock.advance(minutes=10)
        await send_due(bot.app)
    assert requests_to(wire.seen, "book_record") == 0


async def test_one_failing_record_does_not_hide_the_others(bot: Bot) -> None:
    user = bot.user()
    await book(user)
    await book(user, day="Saturday")
    first = live(bot)[0]["record_id"]
    bot.sandbox.fault(
        "GET", "book_record", status=500, body=HTML, times=None, path_contains=f"/{first}/"
    )
    await user.send("/appointments")
    assert "Your upcoming appointments" in user.last.text
    assert "Some could not be checked" in user.last.text
    assert len([b for b in buttons(user) if "Women's haircut" in b]) == 2


# --- refusals without a code --------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_a_taken_time_refused_in_words_only_goes_back_to_fresh_times(
    bot: Bot, language: str
) -> None:
    bot.sandbox.configure(SANDBOX_COMPANY_ID, error_form="message", error_language=language)
    user = bot.user()
    await to_summary(user)
    # Someone outside the bot (the salon's phone, its web page) takes the chosen time meanwhile.
    assert bot.app is not None
    slot = bot.app.user_data[user.user_id].draft["slot"]
    taken = _api(bot).post(
        f"book_record/{SANDBOX_COMPANY_ID}",
        json={
            "phone": "+4915200000555",
            "fullname": "Walk-in",
            "appointments": [{"id": 1, "services": [HAIRCUT], "staff_id": 2001, "datetime": slot}],
        },
    )
    assert taken.status_code == 201
    await user.tap("✅ Confirm")
    assert "just been taken" in user.answers[-1]
    assert "Free times on" in user.last.text
    assert live(bot) == []
    await user.tap_number(1)
    # The contact details were kept: straight back to the summary.
    assert "Please check your booking" in user.last.text
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text


async def test_a_refusal_nobody_can_read_keeps_the_choices(bot: Bot) -> None:
    user = bot.user()
    await to_summary(user)
    body = {"success": False, "data": None, "meta": {"message": "Ошибка 0x1F"}}
    bot.sandbox.fault("POST", "book_record", status=422, body=body)
    await user.tap("✅ Confirm")
    assert "did not accept this booking at that time" in user.last.text
    assert "Free times on" in user.last.text
    await user.tap_number(2)
    assert "Please check your booking" in user.last.text
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text


# --- a reschedule answered without its record -----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", {"success": True, "data": None, "meta": []}, {"success": True, "data": {"id": 0}}, HTML],
    ids=["empty", "null", "id-only", "html"],
)
async def test_a_move_answered_without_its_record_is_reported_as_moved(bot: Bot, body: Any) -> None:
    user = bot.user()
    await book(user)
    assert bot.services is not None
    token = bot.sandbox.add_user_token(PHONE)
    bot.services.storage.set_user_token(user.user_id, token)
    before = live(bot)[0]
    bot.sandbox.fault("PUT", "book_record", status=200, body=body, carry_out=True)
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Reschedule")
    await user.send("Saturday")
    await user.tap_number(1)
    await user.tap("✅ Move it")
    assert "Done! Your appointment is moved" in user.last.text, user.screen()
    after = live(bot)
    assert len(after) == 1 and after[0]["record_id"] == before["record_id"]
    assert after[0]["start"] != before["start"]
    stored = bot.services.storage.booking(before["record_id"])
    assert stored is not None and stored.start == after[0]["start"]


# --- the location as Altegio documents it ---------------------------------------------------


async def test_the_documented_location_books_and_cancels_without_inventing_anything(
    bot: Bot, clock: FakeClock
) -> None:
    bot.sandbox.configure(SANDBOX_COMPANY_ID, company_shape="documented")
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    # No currency is documented: prices stay plain numbers rather than a guessed currency.
    assert "Women's haircut" in user.last.text
    await user.send("/book")
    await book(user, day="today")
    await user.send("/appointments")
    await user.tap_number(1)
    start = live(bot)[0]["start"]
    clock.current = start - timedelta(hours=1)  # inside the salon's two hours
    await user.tap("Cancel appointment")
    text = user.last.text
    # The record carries the salon's rule and phone: those, not invented ones, are told.
    assert "2 hours before the visit" in text
    assert "+493012345670" in text.replace(" ", "")
    assert len(live(bot)) == 1


class Reticent(httpx.AsyncBaseTransport):
    """A location that tells its rules and phone nowhere: `GET company` as documented, and
    records without their `company` block."""

    def __init__(self) -> None:
        self.bot: Bot | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.bot is not None
        await request.aread()
        response = self.bot.sandbox.handle(request)
        path = request.url.path
        if request.method != "GET" or not ("/book_record/" in path or "/user/records" in path):
            return response
        body = response.json()
        items = body.get("data") if isinstance(body, dict) and "success" in body else body
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, dict):
                item.pop("company", None)
        return httpx.Response(response.status_code, json=body)


async def test_a_rule_altegio_keeps_to_itself_is_reported_as_its_own(
    make_bot: Any, clock: FakeClock
) -> None:
    wire = Reticent()
    bot: Bot = await make_bot(transport=wire)
    wire.bot = bot
    bot.sandbox.configure(SANDBOX_COMPANY_ID, company_shape="documented")
    user = bot.user()
    await book(user, day="today")
    record = live(bot)[0]
    await user.send("/appointments")
    await user.tap_number(1)
    clock.current = record["start"] - timedelta(hours=1)
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    text = user.last.text
    assert "did not accept cancelling it online" in text
    # No rule, no hours and no phone number nobody told.
    assert "hour" not in text and "call the salon" not in text
    assert len(live(bot)) == 1


def _api(bot: Bot) -> httpx.Client:
    """Altegio reached directly, as the salon's other channels reach it."""
    return httpx.Client(
        transport=bot.sandbox.transport(),
        base_url="http://sandbox/api/v1/",
        headers={"Authorization": "Bearer sandbox-partner-token"},
    )


def _record_view(bot: Bot, record: dict[str, Any]) -> dict[str, Any]:
    answer = _api(bot).get(
        f"book_record/{SANDBOX_COMPANY_ID}/{record['record_id']}/{record['hash']}"
    )
    view: dict[str, Any] = answer.json()
    return view


async def test_sentences_leave_out_a_phone_nobody_told(bot: Bot) -> None:
    bot.sandbox.configure(SANDBOX_COMPANY_ID, company_shape="documented")
    for service in range(10001, 10014):
        bot.sandbox.withdraw_service(service)
    user = bot.user()
    await user.send("/book")
    text = user.last.text
    assert "no services open right now" in text
    assert "call" not in text and not text.rstrip().endswith(":")


# --- timezones and Retry-After ----------------------------------------------------------------


@pytest.mark.parametrize("form", ["offset", "offset_int"])
async def test_a_timezone_given_only_as_an_offset_keeps_the_times_right(
    bot: Bot, form: str
) -> None:
    bot.sandbox.configure(SANDBOX_COMPANY_ID, timezone_form=form)
    user = bot.user()
    await to_time(user)
    first = plain(user.last.buttons[0][0])
    assert first == "10:00 AM", user.screen()  # Anna starts at ten, Berlin time (UTC+1)
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    assert "at 10:00 AM" in plain(user.last.text)
    await user.tap("✅ Confirm")
    assert "at 10:00 AM" in plain(user.last.text)
    assert live(bot)[0]["start"].hour == 10


async def test_retry_after_given_as_a_date_is_waited_for(bot: Bot, clock: FakeClock) -> None:
    header = format_datetime((clock.now() + timedelta(seconds=6)).astimezone(UTC), usegmt=True)
    bot.sandbox.fault("GET", "book_services", status=429, headers={"Retry-After": header})
    user = bot.user()
    await user.send("/book")
    assert "Choose a category" in user.last.text
    assert 6.0 in clock.slept


# --- the salon's own reminders --------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "expected"), [(None, (24, 0)), ("off", (0, 0)), ("3", (3, 0))])
async def test_the_salons_own_reminders_stay_as_it_set_them(
    make_bot: Any, setting: str | None, expected: tuple[int, int]
) -> None:
    env = {} if setting is None else {"ALTEGIO_NOTIFY_BY_SMS": setting}
    bot: Bot = await make_bot(env=env)
    await book(bot.user())
    record = live(bot)[0]
    assert (record["notify_by_sms"], record["notify_by_email"]) == expected


# --- details the location asks for ------------------------------------------------------------


async def test_a_required_email_is_asked_for_and_checked(bot: Bot) -> None:
    bot.sandbox.configure(SANDBOX_COMPANY_ID, booking_email_required=True)
    user = bot.user()
    await to_time(user)
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    assert "e-mail address" in user.last.text
    await user.send("anna at example")
    assert "does not look like an e-mail address" in user.last.text
    await user.send(" Anna.Schmidt@Example.DE ")
    await user.tap("Skip")
    assert "E-mail: Anna.Schmidt@example.de" in user.last.text
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    assert live(bot)[0]["email"] == "Anna.Schmidt@example.de"
    # Remembered for the next booking.
    await to_time(user)
    await user.tap_number(1)
    await user.tap("Yes")
    await user.tap("Skip")
    assert "E-mail: Anna.Schmidt@example.de" in user.last.text


async def test_an_email_altegio_asks_for_unannounced_is_asked_then_booked(bot: Bot) -> None:
    bot.sandbox.configure(
        SANDBOX_COMPANY_ID, booking_email_required=True, company_shape="documented"
    )
    user = bot.user()
    await to_summary(user)
    await user.tap("✅ Confirm")
    assert "needs an e-mail address" in user.last.text
    await user.send("anna@example.com")
    assert "Please check your booking" in user.last.text
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text


async def test_a_required_comment_is_asked_for(bot: Bot) -> None:
    bot.sandbox.configure(
        SANDBOX_COMPANY_ID,
        booking_comment_required=True,
        booking_comment_input_name="Hair length",
    )
    user = bot.user()
    await to_time(user)
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    assert "Please add: Hair length" in user.last.text
    assert "Skip" not in buttons(user)
    await user.send("   ")
    assert "Please type a comment" in user.last.text
    await user.send("Shoulder length")
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    assert live(bot)[0]["comment"] == "Shoulder length"


async def test_the_salons_privacy_policy_is_accepted_before_booking(
    bot: Bot, clock: FakeClock
) -> None:
    policy = (
        "<p>We keep your <b>name</b> and phone to run your booking.</p><p>Ask us to delete.</p>"
    )
    bot.sandbox.configure(SANDBOX_COMPANY_ID, privacy_policy=policy)
    user = bot.user()
    await to_time(user)
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    text = user.last.text
    assert "privacy policy" in text and "We keep your name and phone" in text
    assert "<b>" not in text
    assert "✅ Confirm" not in buttons(user)
    await user.tap("« Back")
    assert "Anything the salon should know" in user.last.text
    await user.tap("Skip")
    await user.tap("I accept")
    assert "Please check your booking" in user.last.text
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    # Accepted once: the next booking goes straight on, until the policy changes.
    clock.advance(minutes=5)
    await to_time(user)
    await user.tap_number(1)
    await user.tap("Yes")
    await user.tap("Skip")
    assert "Please check your booking" in user.last.text
    bot.sandbox.configure(SANDBOX_COMPANY_ID, privacy_policy=policy + "<p>New clause.</p>")
    clock.advance(minutes=6)  # the bot's copy of the policy is older than five minutes now
    await user.tap("✏️ Change")
    await user.tap("Day and time")
    await user.send("Saturday")
    await user.tap_number(1)
    assert "New clause" in user.last.text


# --- a salon changing its settings while the bot runs ------------------------------------------


async def test_sms_confirmation_switched_on_while_running_books_with_a_code(bot: Bot) -> None:
    user = bot.user()
    await to_summary(user)  # the location's settings are cached now: no SMS
    bot.sandbox.configure(SANDBOX_COMPANY_ID, phone_confirmation=True)
    await user.tap("✅ Confirm")
    assert "We have sent a code" in user.last.text
    assert "not right" not in user.last.text
    code = bot.sandbox.last_sms_code(SANDBOX_COMPANY_ID, PHONE)
    assert code is not None
    await user.send(code)
    assert "You are booked" in user.last.text
    assert len(live(bot)) == 1


async def test_sms_confirmation_switched_off_sends_no_paid_text(make_bot: Any) -> None:
    bot: Bot = await make_bot(company_id=SANDBOX_SMS_COMPANY_ID)
    user = bot.user()
    await to_summary(user, "Any available")
    bot.sandbox.configure(SANDBOX_SMS_COMPANY_ID, phone_confirmation=False)
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    assert bot.sandbox.last_sms_code(SANDBOX_SMS_COMPANY_ID, PHONE) is None


async def test_a_withdrawn_service_is_refused_clearly_and_not_offered_again(bot: Bot) -> None:
    user = bot.user()
    await to_summary(user)
    bot.sandbox.withdraw_service(HAIRCUT)
    await user.tap("✅ Confirm")
    text = user.last.text
    assert "Women's haircut is no longer offered online" in text
    assert "Women's haircut" not in buttons(user)
    assert live(bot) == []
    await user.send("/book")
    await user.tap("Hair")
    assert "Women's haircut" not in user.last.text
    assert "Women's haircut" not in buttons(user)


async def test_a_withdrawn_service_stays_away_even_where_a_list_still_shows_it(
    bot: Bot,
) -> None:
    user = bot.user()
    await to_summary(user)
    # Altegio refuses it, yet its service list (an older copy) still has it.
    refusal = {
        "success": False,
        "data": None,
        "meta": {"message": "x", "errors": [{"code": 438, "message": "No such service"}]},
    }
    bot.sandbox.fault("POST", "book_record", status=422, body=refusal)
    await user.tap("✅ Confirm")
    await user.send("/book")
    await user.tap("Hair")
    assert "Women's haircut" not in buttons(user)


async def test_a_service_refused_while_choosing_a_time_is_told_and_left_out(bot: Bot) -> None:
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    refusal = {
        "success": False,
        "data": None,
        "meta": {"message": "There is no appointment for the specified service/promotion"},
    }
    bot.sandbox.fault("GET", "book_times", status=422, body=refusal)
    await user.send("Friday")
    assert "Women's haircut is no longer offered online" in user.last.text
    assert "Choose a service" in user.last.text
    assert "Women's haircut" not in buttons(user)


async def test_a_removed_team_member_is_told_and_not_offered_again(bot: Bot) -> None:
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    bot.sandbox.remove_staff(2001)
    await user.send("Friday")
    text = user.last.text
    assert "Anna Weber no longer takes online bookings" in text
    assert "Who would you like to see?" in text
    assert not any(b.startswith("Anna Weber") for b in buttons(user))


async def test_a_cancellation_rule_changed_during_the_day_is_followed(bot: Bot) -> None:
    user = bot.user()
    await book(user)
    await user.send("/appointments")
    await user.tap_number(1)
    bot.sandbox.configure(SANDBOX_COMPANY_ID, allow_delete_record=False)
    await user.tap("Cancel appointment")
    assert "does not accept cancellations online" in user.last.text
    assert len(live(bot)) == 1


# --- small things clients notice ---------------------------------------------------------------


async def test_the_service_list_shows_durations_and_prices(bot: Bot) -> None:
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    text = plain(user.last.text)
    assert "Women's haircut — 1 hour–1 h 15 min, €40–€60" in text, text
    assert "Men's haircut — 30 min, €28" in text


async def test_any_team_member_bookings_say_who(bot: Bot) -> None:
    user = bot.user()
    await book(user, staff="Any available")
    who = live(bot)[0]
    names = {2001: "Anna Weber", 2002: "Jonas Richter"}
    assert f"with {names[who['staff_id']]}" in user.last.text
    await user.send("/appointments")
    await user.tap_number(1)
    assert names[who["staff_id"]] in user.last.text


async def test_a_move_stops_when_its_team_member_has_gone(bot: Bot) -> None:
    user = bot.user()
    await book(user)
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Reschedule")
    bot.sandbox.remove_staff(2001)
    await user.send("Saturday")
    text = user.last.text
    assert "Anna Weber no longer takes online bookings" in text
    assert "Your appointment stays as it was" in text
    assert len(live(bot)) == 1


async def test_a_cancel_answered_unreadably_is_checked_on_the_record(bot: Bot) -> None:
    user = bot.user()
    await book(user)
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Cancel appointment")
    bot.sandbox.fault("DELETE", "user", status=200, body=HTML, carry_out=True)
    await user.tap("Yes, cancel it")
    assert "Your appointment is cancelled" in user.last.text
    assert live(bot) == []
