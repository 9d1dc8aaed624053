"""An appointment kept at another location of the same partner (a chain's, once the bot serves
one) is read, reminded of and cancelled at its own location, in its own timezone, through a
client of its own behind the same rate limit."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.storage import StoredBooking
from bot.workflows.sync import record_new
from standins.altegio.riga_seed import SANDBOX_CYRILLIC_COMPANY_ID as RIGA_ID
from tests.conftest import Bot
from tests.test_appointments import tick_through
from tests.test_visits import PHONE, plain

RIGA = ZoneInfo("Europe/Riga")


def kept_in_riga(bot: Bot, chat_id: int, user_id: int) -> int:
    """A haircut at the Riga location on Monday 30 November at 10:00 Riga time, kept by the
    bot of the Berlin location as its client's."""
    start = datetime(2026, 11, 30, 10, 0, tzinfo=RIGA)
    record_id = bot.sandbox.salon_book(RIGA_ID, PHONE, 13001, 2301, start, name="Anna Schmidt")
    row = next(r for r in bot.sandbox.records(RIGA_ID) if r["record_id"] == record_id)
    assert bot.services is not None
    services = bot.services
    booking = StoredBooking(
        record_id=record_id,
        company_id=RIGA_ID,
        record_hash=str(row["hash"]),
        chat_id=chat_id,
        user_id=user_id,
        service_ids=(13001,),
        staff_id=2301,
        start=start,
        length=3600,
        created_at=services.clock(),
        phone=PHONE,
        fullname="Anna Schmidt",
        title="Женская стрижка",
        staff_name="Анна Петрова",
        language="en",
    )
    record_new(services.storage, booking, RIGA, services.reminder_policy, services.clock())
    return record_id


async def test_an_appointment_at_another_location_is_read_reminded_and_cancelled_there(
    bot: Bot,
) -> None:
    user = bot.user()
    await user.send("/start")
    record_id = kept_in_riga(bot, user.chat_id, user.user_id)
    await user.send("/appointments")
    shown = plain(user.screen())  # in Riga's time, read at Riga
    assert "Mon, Nov 30 · 10:00 AM · Женская стрижка" in shown and "could not" not in shown, shown
    # The reminder a day before, at 10:00 Riga time (9:00 in Berlin), read at Riga.
    bot.clock.current = datetime(2026, 11, 29, 9, 0, tzinfo=RIGA)
    await tick_through(bot, days=0.25)
    reminders = [plain(t) for t in user.bot_texts if "Reminder" in t]
    assert reminders and "10:00" in reminders[-1], reminders
    await user.send("/appointments")
    await user.tap_number(1)
    card = plain(user.last.text)
    assert "Brīvības iela 40" in card and "10:00" in card, card  # its own address and time
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    assert "Your appointment is cancelled" in user.last.text, user.screen()
    row = next(r for r in bot.sandbox.records(RIGA_ID) if r["record_id"] == record_id)
    assert row["deleted"]
    assert bot.services is not None and bot.services.locations is not None
    assert bot.services.at(RIGA_ID).altegio.limiter is bot.services.altegio.limiter
