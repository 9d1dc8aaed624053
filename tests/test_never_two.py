"""Never two appointments, never none, never a false word: the bot killed mid-booking, its
database held by another program, Altegio slow or half-answering, and moves that fail halfway;
each lived through as the client and the salon would."""

from __future__ import annotations

import sqlite3

from bot.telegram_stub import StubUser
from conversations.reminders import send_due
from tests.conftest import Bot, FakeClock
from tests.test_real_answers import book, live, to_summary

ADMIN = 777


def with_admin(bot: Bot) -> StubUser:
    """The salon's admin chat, as `ADMIN_CHAT_ID` names it."""
    assert bot.services is not None and bot.app is not None
    object.__setattr__(bot.services.settings, "admin_chat_id", ADMIN)
    admin = StubUser(bot.stub, bot.app, user_id=ADMIN, first_name="Salon")
    return admin


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
    assert "Choose a day" in user.last.text
    assert "Women's haircut" in user.last.text
