"""A chain in one bot, as a client meets it: the locations to choose from (by name, or the
nearest first once they share where they are), the choice kept across a restart and changed with
📍, what they started going on at the location they chose, and links naming a location."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.chain import settle_home
from bot.settings import Settings, SettingsError
from bot.storage import Storage, StorageError
from standins.altegio.riga_seed import SANDBOX_CYRILLIC_COMPANY_ID as RIGA_ID
from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN, Sandbox
from tests.conftest import Bot, FakeClock
from tests.test_booking_flow import buttons, finish_contact
from tests.test_visits import plain

CHAIN = {"ALTEGIO_GROUP_ID": "100"}
RIGA_CENTRE = (56.9496, 24.1052)  # the old town, about 1 km from the Riga location

# Each test on a SQLite file and on PostgreSQL.
BOTH_ENGINES = True


async def chain_bot(make_bot: Callable[..., Any], **env: str) -> Bot:
    made: Bot = await make_bot(env={**CHAIN, **env})
    return made


def labels(user: Any) -> list[str]:
    return [button for row in user.last.message.buttons for button in row]


async def test_a_client_shares_where_they_are_and_books_at_the_nearest(
    make_bot: Callable[..., Any],
) -> None:
    bot = await chain_bot(make_bot)
    user = bot.user()
    await user.send("/start")
    shown = plain(user.last.text)
    assert "Which of our locations would you like to book at?" in shown, shown
    # By name, each with its address.
    assert labels(user)[:3] == ["Studio Aurora", "Studio Aurora Mitte", "Салон Аврора"]
    assert "Lindenstraße 21" in shown and "Brīvības iela 40" in shown, shown
    await user.tap("📍 Nearest to me")
    assert user.reply_keyboard == [["📍 Send my location"]], user.reply_keyboard
    await user.send_location(*RIGA_CENTRE)
    shown = plain(user.last.text)
    assert "Our locations, the nearest to you first:" in shown, shown
    nearest = labels(user)
    assert nearest[0].startswith("Салон Аврора · 1"), nearest  # about 1 km
    assert nearest[1].endswith(" km") and " 8" in nearest[1], nearest  # Berlin, ~840 km away
    await user.tap(nearest[0])
    menu = plain(user.last.text)
    assert "Салон Аврора" in menu and "📍 Brīvības iela 40" in menu, menu
    assert user.reply_keyboard is None  # the location button is taken away
    assert "📍 Another location" in labels(user)
    # Kept across a restart: the menu of Riga, not the list again.
    await bot.restart()
    user = bot.user()
    await user.send("/start")
    assert "Салон Аврора" in user.last.text and "Book an appointment" in labels(user)
    await user.tap("Book an appointment")
    services = plain(user.screen())
    assert "Волосы" in services or "Женская стрижка" in services, services
    assert bot.services is not None
    assert bot.services.storage.chosen_location(user.chat_id) == RIGA_ID
    # The point shared is not kept once the client has chosen.
    assert (
        bot.services.storage.all_data("chat_data", "chat_id").get(user.chat_id, {}).get("near")
        is None
    )


async def test_booking_before_choosing_asks_first_and_goes_on_there(
    make_bot: Callable[..., Any],
) -> None:
    bot = await chain_bot(make_bot)
    user = bot.user()
    await user.send("/book")
    assert "Which of our locations" in user.last.text
    assert "Cancel" in labels(user)
    await user.tap("Studio Aurora")
    assert "Hair" in user.screen() or "Women's haircut" in user.screen(), user.screen()
    # 📍 on the menu: the list with the choice marked; another one chosen.
    await user.send("/start")
    await user.tap("📍 Another location")
    assert "✓ Studio Aurora" in labels(user), labels(user)
    await user.tap("Салон Аврора")
    assert "Салон Аврора" in user.last.text
    await user.tap("Book an appointment")
    assert "Волосы" in user.screen() or "Женская стрижка" in user.screen(), user.screen()


async def test_what_the_client_typed_or_linked_goes_on_at_the_location_chosen(
    make_bot: Callable[..., Any],
) -> None:
    bot = await chain_bot(make_bot)
    user = bot.user()
    await user.send("manicure with Sofia tomorrow after 5")
    assert "Which of our locations" in user.last.text, user.screen()
    await user.tap("Studio Aurora")
    assert "Sofia Becker" in user.last.text, user.screen()
    # A link for a service, before another client has chosen: chosen first, then opened.
    other = bot.user(100002, first_name="Ben")
    await other.send("/start svc10006")
    assert "Which of our locations" in other.last.text
    await other.tap("Studio Aurora")
    assert "Classic manicure. Who would you like to see?" in other.screen(), other.screen()


async def test_a_link_naming_a_location_opens_it_and_keeps_it(
    make_bot: Callable[..., Any],
) -> None:
    bot = await chain_bot(make_bot)
    user = bot.user()
    await user.send(f"/start loc{RIGA_ID}-svc13001")
    assert "Женская стрижка" in user.screen(), user.screen()
    assert bot.services is not None
    assert bot.services.storage.chosen_location(user.chat_id) == RIGA_ID
    other = bot.user(100002, first_name="Ben")
    await other.send(f"/start loc{RIGA_ID}")
    assert "Салон Аврора" in other.last.text and "Book an appointment" in labels(other)
    # A location outside the chain (the yoga studio) is not opened.
    third = bot.user(100003, first_name="Cleo")
    await third.send("/start loc1003")
    shown = plain(third.last.text)
    assert "Sorry, that location is not in our list." in shown, shown
    assert "Which of our locations" in shown


async def test_one_location_bot_has_no_choice(bot: Bot) -> None:
    user = bot.user()
    await user.send("/start")
    assert "📍 Another location" not in labels(user)
    assert "Which of our locations" not in user.last.text
    await user.send_location(*RIGA_CENTRE)
    assert "I can book you an appointment" in user.last.text


def chain_settings(tmp_path: Path, group: str, **env: str) -> Settings:
    values = {
        "ALTEGIO_PARTNER_TOKEN": SANDBOX_PARTNER_TOKEN,
        "ALTEGIO_GROUP_ID": group,
        "BOT_DB_PATH": str(tmp_path / "chain.sqlite3"),
        **env,
    }
    return Settings.load(env=values, env_file=Path("/nonexistent"))


async def test_a_chain_without_a_location_named_starts_at_its_first(
    tmp_path: Path, sandbox: Sandbox, clock: FakeClock
) -> None:
    settings = chain_settings(tmp_path, "100")
    assert settings.altegio_company_id == 0 and settings.altegio_group_id == 100
    settled = await settle_home(settings, sandbox.transport())
    assert settled.altegio_company_id == 1001
    # Kept with the database: a later start while Altegio does not answer starts there too.
    storage = Storage.open(settings.db_path)
    storage.bind(settled.altegio_company_id, 100)
    storage.close()
    down = httpx.MockTransport(lambda request: httpx.Response(503, text="<html>down</html>"))
    again = await settle_home(settings, down, sleep=clock.sleep, monotonic=clock.monotonic)
    assert again.altegio_company_id == 1001
    # A chain Altegio does not know, and nothing kept: the bot does not start, and says why.
    with pytest.raises(SettingsError, match="ALTEGIO_GROUP_ID=999"):
        await settle_home(chain_settings(tmp_path / "x", "999"), sandbox.transport())
    with pytest.raises(SettingsError, match="ALTEGIO_GROUP_ID must be a positive"):
        chain_settings(tmp_path, "abc")


def test_a_database_belongs_to_its_location_or_its_chain(tmp_path: Path) -> None:
    path = tmp_path / "bound.sqlite3"
    storage = Storage.open(path)
    storage.bind(1001)
    storage.bind(1001, 100)  # a location's file may become its chain's
    storage.bind(1004, 100)  # the chain's first location may change
    assert storage.home() == 1004
    with pytest.raises(StorageError, match="chain 100"):
        storage.bind(1004)  # the chain's data, read as one location's
    with pytest.raises(StorageError, match="not of chain 200"):
        storage.bind(2001, 200)
    storage.close()


async def test_a_location_leaving_the_chain_or_forget_asks_again(
    make_bot: Callable[..., Any],
) -> None:
    bot = await chain_bot(make_bot)
    user = bot.user()
    await user.send(f"/start loc{RIGA_ID}")
    assert "Салон Аврора" in user.last.text
    # The salon takes Riga out of the chain: once the chain is read again, the client is
    # asked to choose among those left.
    bot.sandbox.configure(RIGA_ID, group_id=0)
    bot.clock.advance(minutes=6)
    await user.send("/start")
    assert "Which of our locations" in user.last.text, user.screen()
    assert labels(user)[:2] == ["Studio Aurora", "Studio Aurora Mitte"], labels(user)
    await user.tap("Studio Aurora Mitte")
    assert bot.services is not None
    assert bot.services.storage.chosen_location(user.chat_id) == 1002
    # /forget deletes the choice with everything else.
    await user.send("/forget")
    await user.tap(user.last.message.buttons[0][0])
    assert bot.services.storage.chosen_location(user.chat_id) is None
    await user.send("/start")
    assert "Which of our locations" in user.last.text


async def book_first_free(user: Any) -> None:
    """The first category, service and named team member, their first free day and time."""
    await user.tap_number(1)
    await user.tap_number(1)
    await user.tap_number(2)
    await user.tap(next(b for b in buttons(user) if b == "Choose a day"))
    await user.tap(next(b for b in buttons(user) if b.isdigit()))
    await user.tap_number(1)
    await finish_contact(user, "+49 151 23456789")
    await user.tap("✅ Confirm")


async def test_each_location_books_with_its_own_rules_and_catalogue(
    make_bot: Callable[..., Any],
) -> None:
    bot = await chain_bot(make_bot)
    user = bot.user()
    # Studio Aurora Mitte confirms phones with an SMS code; the booking is made there.
    await user.send("/start loc1002")
    await user.tap("Book an appointment")
    await book_first_free(user)
    assert "sent a code" in user.last.text, user.screen()
    code = bot.sandbox.last_sms_code(1002, "+4915123456789")
    assert code is not None
    await user.send(code)
    assert "You are booked" in user.last.text, user.screen()
    assert [r["phone"] for r in bot.sandbox.records(1002)].count("+4915123456789") == 1
    # The Riga location asks for no code, and books from its own (Cyrillic) catalogue.
    await user.send(f"/start loc{RIGA_ID}")
    await user.tap("Book an appointment")
    await book_first_free(user)
    assert "You are booked" in user.last.text, user.screen()
    riga = [r for r in bot.sandbox.records(RIGA_ID) if r["phone"] == "+4915123456789"]
    assert len(riga) == 1 and "Волосы" not in user.last.text
    assert bot.services is not None
    kept = {b.company_id for b in bot.services.storage.bookings_for_chat(user.chat_id)}
    assert kept == {1002, RIGA_ID}, kept
