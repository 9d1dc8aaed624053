"""A chain's past visits: each dated in its own location's timezone (its time shown) and named
by its location's title; Book again books at that location. A single location's bot lists
them as it always did (tests/test_account.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.storage import StoredBooking
from standins.altegio.riga_seed import SANDBOX_CYRILLIC_COMPANY_ID as RIGA_ID
from standins.altegio.seed import SANDBOX_CHAIN_ID
from standins.altegio.seed import SANDBOX_COMPANY_ID as BERLIN_ID
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot
from tests.test_account import confirm_phone
from tests.test_visits import PHONE

RIGA = ZoneInfo("Europe/Riga")
RIGA_VISIT = datetime(2026, 11, 17, 10, 0, tzinfo=RIGA)  # 08:00 UTC, 09:00 in Berlin
BERLIN_VISIT = datetime(2026, 11, 16, 15, 30, tzinfo=BERLIN)


@pytest.fixture
async def chain_bot(make_bot: Callable[..., Any]) -> Bot:
    made: Bot = await make_bot(env={"ALTEGIO_GROUP_ID": str(SANDBOX_CHAIN_ID)})
    return made


def visited(bot: Bot, user: StubUser, record_id: int, company_id: int, start: datetime) -> None:
    """A haircut the client had at `company_id`, kept by the bot."""
    riga = company_id == RIGA_ID
    assert bot.services is not None
    bot.services.storage.record_booking(
        StoredBooking(
            record_id=record_id,
            company_id=company_id,
            record_hash="h",
            chat_id=user.chat_id,
            user_id=user.user_id,
            service_ids=(13001,) if riga else (10001,),
            staff_id=2301 if riga else 2001,
            start=start,
            length=3600,
            created_at=start,
            phone=PHONE,
            fullname="Anna Schmidt",
            title="Женская стрижка" if riga else "Women's haircut",
            staff_name="Анна Петрова" if riga else "Anna Weber",
            language="en",
        )
    )


def buttons(user: StubUser) -> list[str]:
    return [b for row in user.last.buttons for b in row]


async def test_past_visits_in_a_chain_are_dated_and_named_at_their_own_location(
    chain_bot: Bot,
) -> None:
    bot = chain_bot
    user = bot.user()
    assert bot.services is not None
    bot.services.storage.choose_location(user.chat_id, BERLIN_ID)
    visited(bot, user, 9901, RIGA_ID, RIGA_VISIT)
    visited(bot, user, 9902, BERLIN_ID, BERLIN_VISIT)
    await user.send("/appointments")
    await user.tap("Past visits")
    text = user.last.text
    assert "Your past visits:" in text
    # Riga's 10:00 (09:00 in Berlin, the location chosen), Berlin's 15:30: each at its own.
    assert "• Tue, Nov 17 · 10:00\u202fAM · Женская стрижка · Анна Петрова (Салон Аврора)" in text
    assert "• Mon, Nov 16 · 3:30\u202fPM · Women's haircut · Anna Weber (Studio Aurora)" in text
    again = [b for b in buttons(user) if b.startswith("Book again")]
    assert again == [
        "Book again: Женская стрижка · Анна Петрова · Салон Аврора",
        "Book again: Women's haircut · Anna Weber · Studio Aurora",
    ]
    await user.tap(again[0])
    # Riga's times with Anna Petrova: the client is at Riga now.
    assert "with Анна Петрова" in user.last.text, user.last.text
    assert bot.services.storage.chosen_location(user.chat_id) == RIGA_ID


async def test_with_the_clients_list_a_visit_kept_at_another_location_is_still_listed(
    chain_bot: Bot,
) -> None:
    bot = chain_bot
    user = bot.user()
    assert bot.services is not None
    bot.services.storage.choose_location(user.chat_id, BERLIN_ID)
    bot.sandbox.salon_book(BERLIN_ID, PHONE, 10001, 2001, BERLIN_VISIT, attendance=1)
    visited(bot, user, 9901, RIGA_ID, RIGA_VISIT)
    await user.send("/appointments")
    await confirm_phone(bot, user, remembered=False)
    await user.tap("Past visits")
    text = user.last.text
    # Berlin's from the client's list there; Riga's as the bot keeps it, at Riga's time.
    assert "• Tue, Nov 17 · 10:00\u202fAM · Женская стрижка · Анна Петрова (Салон Аврора)" in text
    assert "• Mon, Nov 16 · 3:30\u202fPM · Women's haircut · Anna Weber (Studio Aurora)" in text
    assert "Booked by phone" not in text


async def test_a_single_locations_past_visits_read_as_before(bot: Bot) -> None:
    user = bot.user()
    visited(bot, user, 9902, BERLIN_ID, BERLIN_VISIT)
    await user.send("/appointments")
    await user.tap("Past visits")
    assert "\n• Mon, Nov 16 · Women's haircut · Anna Weber\n" in user.last.text
    assert buttons(user)[0] == "Book again: Women's haircut · Anna Weber"
