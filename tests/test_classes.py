"""Group classes, driven as a client would: a studio's week, seats booked, a full class, a class
filling meanwhile, the class in My appointments with its reminder and cancel."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from bot.keyboards import Callback
from conversations.reminders import send_due
from standins.altegio.activity_seed import SANDBOX_STUDIO_ID
from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, FakeClock

PHONE = "+4915123456789"
# The clock starts on Tuesday, November 24 2026 at 09:00 in Berlin.
WED_18 = datetime(2026, 11, 25, 18, 0, tzinfo=BERLIN)


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def buttons(user: StubUser) -> list[str]:
    return [plain(label) for row in user.last.buttons for label in row]


def tap_label(user: StubUser, start: str) -> str:
    """The label of the button whose text starts with `start` (spaces as typed)."""
    labels = [label for row in user.last.buttons for label in row]
    return next(b for b in labels if plain(b).startswith(start))


async def studio(make_bot: object) -> Bot:
    bot: Bot = await make_bot(company_id=SANDBOX_STUDIO_ID)  # type: ignore[operator]
    return bot


def events(bot: Bot, first: str, till: str) -> list[dict[str, object]]:
    client = httpx.Client(
        transport=bot.sandbox.transport(),
        base_url="http://sandbox/api/v1/",
        headers={"Authorization": f"Bearer {SANDBOX_PARTNER_TOKEN}"},
    )
    found = client.get(f"activity/{SANDBOX_STUDIO_ID}/search", params={"from": first, "till": till})
    data: list[dict[str, object]] = found.json()["data"]
    return data


def another_client_books(bot: Bot, event_id: object, seats: int) -> httpx.Response:
    client = httpx.Client(
        transport=bot.sandbox.transport(),
        base_url="http://sandbox/api/v1/",
        headers={"Authorization": f"Bearer {SANDBOX_PARTNER_TOKEN}"},
    )
    body = {"fullname": "Other", "phone": "+4915199999999", "clients_count": seats}
    return client.post(f"activity/{SANDBOX_STUDIO_ID}/{event_id}/book", json=body)


def plain_buttons(user: StubUser) -> list[str]:
    return [plain(label) for row in user.last.buttons for label in row]


async def open_classes(user: StubUser) -> None:
    await user.send("/start")
    await user.tap("Group classes")


async def test_seats_in_a_class(make_bot: object) -> None:
    bot = await studio(make_bot)
    user = bot.user()
    await open_classes(user)
    text = plain(user.last.text)
    assert "Group classes at Aurora Flow Studio" in text, user.screen()
    assert "Vinyasa Flow" in text and "Mira Hoffmann" in text and "seats left" in text
    await user.tap(tap_label(user, "Wed, Nov 25 6:00 PM"))
    text = plain(user.last.text)
    assert "Instructor: Mira Hoffmann" in text and "Seats left:" in text and "€18" in text, text
    before = next(e for e in events(bot, "2026-11-25", "2026-11-25"))
    await user.tap("2")
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    text = plain(user.last.text)
    assert "Class: Vinyasa Flow" in text and "Seats: 2" in text and "€36" in text, text
    # Change offers the class itself (its day and seats), not a service or a team member.
    await user.tap("✏️ Change")
    assert plain_buttons(user) == ["Class and seats", "Name and phone", "« Back", "Cancel"]
    await user.tap("Class and seats")
    assert "How many seats would you like?" in user.last.text, user.screen()
    await user.tap("3")
    text = plain(user.last.text)
    assert "Class: Vinyasa Flow" in text and "Seats: 3" in text, user.screen()
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text, user.screen()
    assert "Seats: 3" in user.last.text, user.screen()
    after = next(e for e in events(bot, "2026-11-25", "2026-11-25"))
    assert after["records_count"] == before["records_count"] + 3  # type: ignore[operator]


async def test_a_full_class_offers_the_next_ones(make_bot: object) -> None:
    bot = await studio(make_bot)
    user = bot.user()
    await open_classes(user)
    await user.tap(tap_label(user, "Sat, Nov 28 10:00 AM · Yin Yoga (full)"))
    text = plain(user.last.text)
    assert "This class is full." in text and "The next ones with seats free:" in text, text
    await user.tap(tap_label(user, "Sat, Dec 5 10:00 AM · Yin Yoga"))
    assert "How many seats would you like?" in user.last.text


@pytest.mark.parametrize(
    ("code", "error_form", "language"),
    [(422, "codes", "en"), (9999, "codes", "en"), (433, "codes", "ru"), (0, "message", "ru")],
    ids=["422", "unknown-code", "433-ru", "sentence-only-ru"],
)
async def test_a_class_filling_meanwhile_is_like_a_taken_time(
    make_bot: object, code: int, error_form: str, language: str
) -> None:
    """However Altegio words its refusal of a full event, the event read again tells."""
    bot = await studio(make_bot)
    bot.sandbox.configure(
        SANDBOX_STUDIO_ID,
        activity_full_code=code,
        error_form=error_form,
        error_language=language,
    )
    user = bot.user()
    await open_classes(user)
    await user.tap(tap_label(user, "Thu, Nov 26 7:00 PM"))
    await user.tap("1")
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    event = events(bot, "2026-11-26", "2026-11-26")[0]
    free = int(event["capacity"]) - int(event["records_count"])  # type: ignore[call-overload]
    assert another_client_books(bot, event["id"], free).status_code == 200
    await user.tap("✅ Confirm")
    text = plain(user.last.text)
    assert "Sorry, this class has just filled up." in text, user.screen()
    assert "The next ones with seats free:" in text
    assert not [r for r in bot.sandbox.records(SANDBOX_STUDIO_ID) if r["phone"] == PHONE]


async def test_a_class_refused_with_only_a_message(make_bot: object) -> None:
    bot = await studio(make_bot)
    bot.sandbox.configure(SANDBOX_STUDIO_ID, activity_full_code=0, activity_form="yc")
    user = bot.user()
    await open_classes(user)
    await user.tap(tap_label(user, "Thu, Nov 26 7:00 PM"))
    await user.tap("2")
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    event = events(bot, "2026-11-26", "2026-11-26")[0]
    free = int(event["capacity"]) - int(event["records_count"])  # type: ignore[call-overload]
    assert another_client_books(bot, event["id"], free - 1).status_code == 200
    await user.tap("✅ Confirm")
    text = plain(user.last.text)
    assert "Only 1 seats are left now." in text, user.screen()
    await user.tap("1")
    assert "Seats: 1" in plain(user.last.text)
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text, user.screen()


async def test_a_class_in_my_appointments_with_reminder_and_cancel(
    make_bot: object, clock: FakeClock
) -> None:
    bot = await studio(make_bot)
    user = bot.user()
    await open_classes(user)
    await user.tap(tap_label(user, "Wed, Nov 25 6:00 PM"))
    await user.tap("1")
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    await user.tap("✅ Confirm")
    await user.send("/appointments")
    await user.tap_number(1)
    assert "Vinyasa Flow" in user.last.text and "Mira Hoffmann" in user.last.text
    assert "Reschedule" not in buttons(user) and "Add to calendar" in buttons(user)
    clock.current = WED_18 - timedelta(hours=24)
    assert bot.app is not None
    assert await send_due(bot.app) == 1
    assert "Reminder of your appointment" in user.last.text and "Vinyasa Flow" in user.last.text
    assert "Reschedule" not in buttons(user) and "Cancel appointment" in buttons(user)
    event = events(bot, "2026-11-25", "2026-11-25")[0]
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    assert "Your appointment is cancelled" in user.last.text
    mine = [r for r in bot.sandbox.records(SANDBOX_STUDIO_ID) if r["phone"] == PHONE]
    assert mine and all(r["deleted"] for r in mine)
    # The seat is free again.
    freed = events(bot, "2026-11-25", "2026-11-25")[0]
    assert freed["records_count"] == int(event["records_count"]) - 1  # type: ignore[call-overload]


async def test_after_a_class_book_again_offers_its_coming_ones(
    make_bot: object, clock: FakeClock
) -> None:
    bot = await studio(make_bot)
    user = bot.user()
    await to_class_summary(user, "Thu, Nov 26 7:00 PM")
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    clock.current = datetime(2026, 11, 26, 23, 0, tzinfo=BERLIN)
    assert bot.app is not None
    await send_due(bot.app)
    clock.current = datetime(2026, 11, 27, 9, 0, tzinfo=BERLIN)
    await send_due(bot.app)
    assert "Thank you for visiting" in user.last.text, user.screen()
    await user.tap("Book again")
    text = plain(user.last.text)
    assert "Showing: Mat Pilates" in text and "Sat, Nov 28" in text and "Vinyasa" not in text


async def test_a_location_without_classes_shows_no_entry(bot: Bot) -> None:
    user = bot.user()
    await user.send("/start")
    assert "Group classes" not in buttons(user)
    assert "Book an appointment" in buttons(user)


async def test_filter_by_instructor(make_bot: object) -> None:
    bot = await studio(make_bot)
    user = bot.user()
    await open_classes(user)
    await user.tap("By instructor")
    await user.tap("Jonas Richter")
    text = plain(user.last.text)
    assert "Showing: Jonas Richter" in text and "Vinyasa" not in text and "Mat Pilates" in text
    await user.tap("All classes")
    assert "Vinyasa Flow" in plain(user.last.text)
    await user.tap("Next week ›")
    text = plain(user.last.text)
    assert "Mon, Nov 30" in text and "Tue, Nov 24" not in text
    await user.tap("‹ Earlier")
    assert "Tue, Nov 24" in plain(user.last.text)
    assert Callback  # the codec is what the buttons speak


async def to_class_summary(user: StubUser, label: str = "Wed, Nov 25 6:00 PM") -> None:
    await open_classes(user)
    await user.tap(tap_label(user, label))
    await user.tap("1")
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    assert "Class: " in user.last.text, user.screen()


async def test_a_class_where_the_studio_confirms_by_text_message(make_bot: object) -> None:
    bot = await studio(make_bot)
    bot.sandbox.configure(SANDBOX_STUDIO_ID, phone_confirmation=True)
    user = bot.user()
    await to_class_summary(user)
    await user.tap("✅ Confirm")
    assert "We have sent a code" in user.last.text, user.screen()
    code = bot.sandbox.last_sms_code(SANDBOX_STUDIO_ID, PHONE)
    assert code is not None
    await user.send(code)
    assert "You are booked" in user.last.text, user.screen()
    # The code linked the client's account: the class is in their own list too.
    await user.send("/appointments")
    assert any("Vinyasa Flow" in label for label in buttons(user)), user.screen()


async def test_a_lost_answer_is_found_in_the_clients_list_and_kept_as_a_class(
    make_bot: object,
) -> None:
    bot = await studio(make_bot)
    bot.sandbox.configure(SANDBOX_STUDIO_ID, phone_confirmation=True)
    user = bot.user()
    await to_class_summary(user)
    await user.tap("✅ Confirm")
    code = bot.sandbox.last_sms_code(SANDBOX_STUDIO_ID, PHONE)
    assert code is not None
    bot.sandbox.fault("POST", "activity", status=504, body="<html>Gateway</html>", carry_out=True)
    await user.send(code)
    assert "checking whether your booking went through" in user.last.text, user.screen()
    await bot.settle()
    mine = [r for r in bot.sandbox.records(SANDBOX_STUDIO_ID) if r["phone"] == PHONE]
    assert len(mine) == 1 and mine[0]["activity_id"]
    assert bot.services is not None
    kept = bot.services.storage.booking(int(mine[0]["record_id"]))  # type: ignore[call-overload]
    assert kept is not None and kept.activity_id == mine[0]["activity_id"]
    await user.send("/appointments")
    await user.tap_number(1)
    assert "Vinyasa Flow" in user.last.text and "Reschedule" not in buttons(user)


async def test_what_a_class_booking_costs_in_requests(make_bot: object) -> None:
    """Cold: the location and its range of events at /start, the week, the class read afresh,
    the privacy policy before the summary, the book call: six requests in all."""
    from tests.conftest import Recording

    wire = Recording()
    wire.bot = await make_bot(transport=wire, company_id=SANDBOX_STUDIO_ID)  # type: ignore[operator]
    user = wire.bot.user()

    def spent() -> list[str]:
        paths = [r.url.path.split("/v1/")[1] for r in wire.seen]
        wire.seen.clear()
        return [
            p.split("/")[0] + ("/" + p.split("/")[-1] if p.startswith("activity") else "")
            for p in paths
        ]

    await user.send("/start")
    assert sorted(spent()) == ["activity/search_dates_range", "company"]
    await user.tap("Group classes")
    assert spent() == ["activity/search"]
    await user.tap(tap_label(user, "Wed, Nov 25 6:00 PM"))
    assert spent() == ["activity/search"]  # its day afresh, for its seats
    await user.tap("1")
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    assert spent() == ["privacy_policy"]
    await user.tap("✅ Confirm")
    assert spent() == ["activity/book"]
    assert "You are booked" in user.last.text


async def test_a_busy_week_is_shown_by_day(
    make_bot: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A week with more classes than buttons fit: a button per day, then that day's classes."""
    from conversations import classes

    monkeypatch.setattr(classes, "MAX_BUTTONS", 2)  # the studio's demo weeks are short
    bot = await studio(make_bot)
    user = bot.user()
    await open_classes(user)
    assert buttons(user)[:2] == ["Tue, Nov 24", "Wed, Nov 25"], user.screen()
    await user.tap("Wed, Nov 25")
    text = plain(user.last.text)
    assert "Wednesday, November 25" in text and "Vinyasa Flow" in text and "Pilates" not in text
    await user.tap(tap_label(user, "Wed, Nov 25 6:00 PM"))
    assert "How many seats would you like?" in user.last.text
    await user.tap("« All classes")
    assert "Group classes at" in user.last.text
