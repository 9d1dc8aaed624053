"""A chain's bot names each appointment's location wherever an appointment is told: reminders
(each in its own location's timezone), My appointments, the card, the confirmation, the
salon's cancel, and the admin chats' notices and counts. A single location's bot reads as it
always did."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.storage import StoredBooking
from bot.workflows.sync import record_new
from conversations.admin_chats import send_digests
from standins.altegio.riga_seed import SANDBOX_CYRILLIC_COMPANY_ID as RIGA_ID
from standins.altegio.seed import SANDBOX_CHAIN_ID
from standins.altegio.seed import SANDBOX_COMPANY_ID as BERLIN_ID
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot
from tests.test_appointments import book, tick
from tests.test_salon_view import notices, with_admin
from tests.test_visits import PHONE, plain

RIGA = ZoneInfo("Europe/Riga")
UTC = ZoneInfo("UTC")
# Thursday 26 November at 10:00, each in its own location's time: 08:00 and 09:00 UTC.
RIGA_10 = datetime(2026, 11, 26, 10, 0, tzinfo=RIGA)
BERLIN_10 = datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)
RIGA_LINE = "Location: Салон Аврора, Brīvības iela 40, Rīga"
BERLIN_LINE = "Location: Studio Aurora, Lindenstraße 21, Berlin"


@pytest.fixture
async def chain_bot(make_bot: Callable[..., Any]) -> Bot:
    made: Bot = await make_bot(env={"ALTEGIO_GROUP_ID": str(SANDBOX_CHAIN_ID)})
    return made


def kept(bot: Bot, user: StubUser, company_id: int, start: datetime) -> int:
    """A haircut the salon entered for the client's phone at `company_id`, kept by the bot as
    the client's (as one booked through the bot is), with its reminders planned."""
    riga = company_id == RIGA_ID
    service, staff = (13001, 2301) if riga else (10001, 2001)
    record_id = bot.sandbox.salon_book(company_id, PHONE, service, staff, start, name="Anna")
    row = next(r for r in bot.sandbox.records(company_id) if r["record_id"] == record_id)
    assert bot.services is not None
    services = bot.services
    booking = StoredBooking(
        record_id=record_id,
        company_id=company_id,
        record_hash=str(row["hash"]),
        chat_id=user.chat_id,
        user_id=user.user_id,
        service_ids=(service,),
        staff_id=staff,
        start=start,
        length=3600,
        created_at=services.clock(),
        phone=PHONE,
        fullname="Anna Schmidt",
        title="Женская стрижка" if riga else "Women's haircut",
        staff_name="Анна Петрова" if riga else "Anna Weber",
        language="en",
    )
    tz = RIGA if riga else BERLIN
    record_new(services.storage, booking, tz, services.reminder_policy, services.clock())
    return record_id


def reminders(user: StubUser) -> list[str]:
    return [plain(t) for t in user.bot_texts if "Reminder" in t]


async def reminded_at(bot: Bot, user: StubUser, instant: datetime) -> str:
    """The one reminder that goes out at `instant`, and not a minute before."""
    before = len(reminders(user))
    bot.clock.current = instant - timedelta(minutes=1)
    await tick(bot)
    assert len(reminders(user)) == before, reminders(user)[before:]
    bot.clock.current = instant
    await tick(bot)
    told = reminders(user)[before:]
    assert len(told) == 1, told
    return told[0]


async def test_reminders_in_two_timezones_name_their_locations(chain_bot: Bot) -> None:
    bot = chain_bot
    user = bot.user()
    assert bot.services is not None
    bot.services.storage.choose_location(user.chat_id, RIGA_ID)
    await user.send("/start")
    kept(bot, user, RIGA_ID, RIGA_10)
    kept(bot, user, BERLIN_ID, BERLIN_10)
    # A day before, then two hours before: each at 10:00 and 08:00 in its own location's time.
    when = "Thursday, November 26, 2026 at 10:00 AM"
    riga = await reminded_at(bot, user, datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    assert "Женская стрижка" in riga and when in riga and RIGA_LINE in riga, riga
    assert "Address:" not in riga and "Berlin" not in riga
    berlin = await reminded_at(bot, user, datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    assert "Women's haircut" in berlin and when in berlin and BERLIN_LINE in berlin, berlin
    riga = await reminded_at(bot, user, datetime(2026, 11, 26, 6, 0, tzinfo=UTC))
    assert RIGA_LINE in riga and when in riga, riga
    berlin = await reminded_at(bot, user, datetime(2026, 11, 26, 7, 0, tzinfo=UTC))
    assert BERLIN_LINE in berlin and when in berlin, berlin


async def test_my_appointments_lists_each_with_its_location_and_local_time(
    chain_bot: Bot,
) -> None:
    bot = chain_bot
    user = bot.user()
    assert bot.services is not None
    bot.services.storage.choose_location(user.chat_id, BERLIN_ID)
    await user.send("/start")
    kept(bot, user, RIGA_ID, RIGA_10)
    kept(bot, user, BERLIN_ID, BERLIN_10 + timedelta(hours=2))
    await user.send("/appointments")
    labels = [plain(b) for row in user.last.buttons for b in row]
    assert "Thu, Nov 26 · 10:00 AM · Салон Аврора · Женская стрижка" in labels, labels
    assert "Thu, Nov 26 · 12:00 PM · Studio Aurora · Women's haircut" in labels, labels
    # The card: the location's title and address, the time in its own zone.
    await user.tap_number(1)
    card = plain(user.last.text)
    assert RIGA_LINE in card and "at 10:00 AM" in card, card
    await user.tap("Address")
    venue = user.last.message.venue
    assert venue is not None and venue["title"] == "Салон Аврора", user.last
    assert venue["address"] == "Brīvības iela 40, Rīga"


async def test_the_salons_cancel_names_the_location(chain_bot: Bot) -> None:
    bot = chain_bot
    user = bot.user()
    await user.send("/start")
    record_id = kept(bot, user, RIGA_ID, RIGA_10)
    bot.sandbox.salon_cancel(record_id)
    bot.clock.current = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    await tick(bot)
    told = plain(user.bot_texts[-1])
    assert "cancelled by the salon: Женская стрижка" in told and RIGA_LINE in told, told


async def test_admin_notices_and_counts_name_the_location(chain_bot: Bot) -> None:
    bot = chain_bot
    admin = await with_admin(bot)
    user = bot.user()
    assert bot.services is not None
    bot.services.storage.choose_location(user.chat_id, BERLIN_ID)
    await book(user)  # at the location the client chose
    confirmation = plain(user.last.text)
    assert BERLIN_LINE in confirmation, confirmation
    kept(bot, user, RIGA_ID, RIGA_10)
    await user.send("/appointments")
    riga = next(
        label
        for row in user.last.buttons
        for label in row
        if "Салон Аврора" in label  # the one kept in Riga
    )
    await user.tap(riga)
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    assert "Your appointment is cancelled" in user.last.text, user.screen()
    booked, cancelled = notices(admin)
    assert booked.startswith("🆕 Booked") and "Location: Studio Aurora (1001)" in booked, booked
    assert cancelled.startswith("❌ Cancelled") and "Location: Салон Аврора (1004)" in cancelled
    assert "Thu 26 Nov 2026, 10:00" in cancelled  # in Riga's time
    await admin.send("/stats")
    caption = admin.photos[-1].caption or ""
    assert "Bookings through the bot, 26 Oct – 24 Nov: 2" in caption, caption
    assert "  Studio Aurora (1001): 1" in caption and "  Салон Аврора (1004): 1" in caption
    assert "  Studio Aurora Mitte (1002): 0" in caption, caption
    # The weekly digest on Monday morning counts them per location too.
    assert bot.app is not None
    bot.clock.current = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
    assert await send_digests(bot.app) == 1
    digest = admin.bot_texts[-1]
    assert "Bookings: 2\n  Studio Aurora (1001): 1\n  Studio Aurora Mitte (1002): 0\n" in digest
    assert "  Салон Аврора (1004): 1" in digest, digest


async def test_a_single_location_reads_as_before(bot: Bot) -> None:
    admin = await with_admin(bot)
    user = bot.user()
    await book(user)
    assert "Location" not in admin.bot_texts[-1] and "Location" not in user.last.text
    assert "Address: Studio Aurora, Lindenstraße 21, Berlin" in plain(user.last.text)
    kept(bot, user, BERLIN_ID, BERLIN_10)
    text = await reminded_at(bot, user, datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    assert "Address: Studio Aurora, Lindenstraße 21, Berlin" in text and "Location" not in text
    await admin.send("/stats")
    assert "(1001)" not in (admin.photos[-1].caption or "")


async def book_in_riga(user: StubUser) -> None:
    """Женская стрижка with Анна Петрова at the first free time on Thursday, at the Riga
    location the client chose, up to the summary."""
    await user.send("/book")
    await user.tap("Волосы")
    await user.tap("Женская стрижка")
    await user.tap(next(b for row in user.last.buttons for b in row if b.startswith("Анна")))
    await user.send("Thursday")
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    assert RIGA_LINE in plain(user.last.text), user.screen()


async def test_a_booking_at_another_location_whose_answer_is_lost_is_settled_there(
    chain_bot: Bot,
) -> None:
    bot = chain_bot
    admin = await with_admin(bot)
    user = bot.user()
    assert bot.services is not None
    bot.services.storage.choose_location(user.chat_id, RIGA_ID)
    await book_in_riga(user)
    bot.sandbox.fault("POST", "book_record", status=504, body="", carry_out=True)
    await user.tap("✅ Confirm")
    assert "has not answered yet" in user.last.text, user.screen()
    await bot.settle(minutes=30)
    # Looked into at Riga: its time, its name, its phone.
    [note] = [t for t in admin.bot_texts if t.startswith("⚠️")]
    assert "Женская стрижка, 2026-11-26 10:00" in note, note
    assert note.endswith("Location: Салон Аврора (1004)"), note
    assert "+493012345680" in user.bot_texts[-1], user.bot_texts[-1]


async def test_a_move_names_the_location(chain_bot: Bot) -> None:
    bot = chain_bot
    admin = await with_admin(bot)
    user = bot.user()
    assert bot.services is not None
    bot.services.storage.choose_location(user.chat_id, RIGA_ID)
    await user.send("/start")
    kept(bot, user, RIGA_ID, RIGA_10)
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Reschedule")
    await user.send("Friday")
    await user.tap_number(1)
    await user.tap("✅ Move it")
    done = plain(user.last.text)
    assert "Your appointment is moved" in done and "Friday, November 27, 2026 at 10:00 AM" in done
    assert RIGA_LINE in done, done
    [moved] = notices(admin)
    assert "from Thu 26 Nov 2026, 10:00 to Fri 27 Nov 2026, 10:00" in moved, moved
    assert moved.endswith("Location: Салон Аврора (1004)"), moved


async def test_a_move_at_another_location_than_the_one_chosen_is_made_there(
    chain_bot: Bot,
) -> None:
    bot = chain_bot
    user = bot.user()
    assert bot.services is not None
    bot.services.storage.choose_location(user.chat_id, BERLIN_ID)
    await user.send("/start")
    record_id = kept(bot, user, RIGA_ID, RIGA_10)
    await user.send("/appointments")
    await user.tap_number(1)  # the Riga appointment
    await user.tap("Reschedule")
    await user.send("Friday")
    shown = plain(user.screen())
    assert "no longer" not in shown and "10:00 AM" in shown, shown  # Riga's own times
    await user.tap_number(1)
    await user.tap("✅ Move it")
    done = plain(user.last.text)
    assert "Your appointment is moved" in done and RIGA_LINE in done, done
    # Made at Riga (the old record moved, or booked anew and the old one cancelled).
    standing = [r for r in bot.sandbox.records(RIGA_ID) if r["phone"] == PHONE and not r["deleted"]]
    assert [str(r["start"])[:16] for r in standing] == ["2026-11-27 10:00"], standing
    assert not any(r["phone"] == PHONE for r in bot.sandbox.records(BERLIN_ID))
    assert record_id
    # The client is at Riga from then on: where their appointment is.
    assert bot.services.storage.chosen_location(user.chat_id) == RIGA_ID
