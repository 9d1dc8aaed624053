"""The salon's own view in its admin chats: codes, notices, /stats and the weekly digest, driven
through the Bot API stand-in with an injected clock."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from bot import salon_view
from bot.database_commands import admin_code
from bot.settings import Settings
from conversations.admin_chats import send_digests
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, FakeClock, sqlite_only
from tests.test_appointments import book

ADMIN = 777
OWNER_PHONE = "4915123456789"


async def with_admin(bot: Bot) -> StubUser:
    """The salon's admin chat, as `ADMIN_CHAT_ID` names it (opened by the salon: a bot cannot
    start a private chat)."""
    assert bot.services is not None and bot.app is not None
    object.__setattr__(bot.services.settings, "admin_chat_id", ADMIN)
    admin = StubUser(bot.stub, bot.app, user_id=ADMIN, first_name="Salon")
    await admin.send("/admin")
    assert "This chat is an admin chat" in admin.last.text
    return admin


def new_code(bot: Bot) -> str:
    assert bot.services is not None
    return salon_view.issue_code(bot.services.storage, bot.clock.now())


def notices(user: StubUser) -> list[str]:
    return [t for t in user.bot_texts if "through the bot:" in t]


async def test_a_code_authorizes_a_chat_once(bot: Bot, clock: FakeClock) -> None:
    code = new_code(bot)
    assert re.fullmatch(r"[A-Z2-9]{8}", code)
    owner = bot.user(200001, first_name="Owner")
    await owner.send(f"/admin {code.lower()}")
    assert "now an admin chat" in owner.last.text
    await owner.send("/notices off")
    assert owner.last.text == "Notices are off in this chat."
    # Spent: a second chat gets what any unknown command gets.
    other = bot.user(200002, first_name="Other")
    await other.send(f"/admin {code}")
    assert "Tap the button to start" in other.last.text
    await other.send("/stats")
    assert "Tap the button to start" in other.last.text and not other.photos
    # The owner can leave; the chat is then a client's again.
    await owner.send("/admin off")
    assert "no longer an admin chat" in owner.last.text
    await owner.send("/stats")
    assert "Tap the button to start" in owner.last.text and not owner.photos


@sqlite_only
async def test_admin_code_works_beside_the_running_bot(
    bot: Bot, capsys: pytest.CaptureFixture[str]
) -> None:
    """`altegio-bot admin-code` writes to the database the running bot holds locked."""
    env = {"BOT_DB_PATH": str(bot.db_path), "ALTEGIO_COMPANY_ID": str(bot.company_id)}
    assert admin_code(Settings.load(env=env, env_file=Path("/nonexistent"))) == 0
    printed = capsys.readouterr().out
    [code] = re.findall(r"^/admin ([A-Z2-9]{8})$", printed, re.MULTILINE)
    assert "24 h" in printed
    owner = bot.user(200001, first_name="Owner")
    await owner.send("/admin nope")
    assert "Tap the button to start" in owner.last.text
    await owner.send(f"/admin {code}")
    assert "now an admin chat" in owner.last.text
    assert bot.services is not None
    stored = bot.services.storage.sql.execute("SELECT code_hash FROM admin_codes").fetchall()
    assert code not in str(stored)


async def test_a_wrong_or_expired_code_changes_nothing_and_says_nothing_special(
    bot: Bot, clock: FakeClock
) -> None:
    code = new_code(bot)
    user = bot.user()
    await user.send("/admin WRONG123")
    unknown = user.last.text
    await user.send("/hello")
    assert user.last.text == unknown
    assert "code" not in unknown.lower() and "admin" not in unknown.lower()
    clock.advance(hours=24, seconds=1)
    await user.send(f"/admin {code}")
    assert user.last.text == unknown
    assert bot.services is not None
    assert not salon_view.is_admin(bot.services, user.chat_id)
    await user.send("/stats")
    assert user.last.text == unknown and not user.photos


async def test_notices_of_a_booking_a_move_and_a_cancel_mask_the_phone(bot: Bot) -> None:
    admin = await with_admin(bot)
    user = bot.user()
    await book(user)
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Reschedule")
    await user.send("Saturday")
    await user.tap_number(2)
    await user.tap("✅ Move it")
    assert "Your appointment is moved" in user.last.text
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    assert "Your appointment is cancelled" in user.last.text
    told = notices(admin)
    assert [t.split(" through")[0] for t in told] == ["🆕 Booked", "🔁 Moved", "❌ Cancelled"]
    assert "Women's haircut with Anna Weber, Fri 27 Nov 2026, 10:00" in told[0]
    assert "Fri 27 Nov 2026, 10:00 to Sat 28 Nov 2026" in told[1]
    assert "Sat 28 Nov 2026" in told[2]
    for text in told:
        assert "Client: Anna Schmidt, +49 151 ••• •• 89" in text
        assert OWNER_PHONE not in re.sub(r"\D", "", text)
        assert "23456789" not in text


async def test_notices_can_be_turned_off_per_chat(bot: Bot) -> None:
    admin = await with_admin(bot)
    second = bot.user(200001, first_name="Owner")
    await second.send(f"/admin {new_code(bot)}")
    await admin.send("/notices off")
    assert admin.last.text == "Notices are off in this chat."
    await book(bot.user())
    assert notices(admin) == []
    assert len(notices(second)) == 1
    await admin.send("/notices on")
    await book(bot.user(100002, first_name="Ben"), day="Saturday")
    assert len(notices(admin)) == 1 and len(notices(second)) == 2


async def test_stats_sends_a_chart_with_the_funnel(bot: Bot) -> None:
    admin = await with_admin(bot)
    await book(bot.user())
    # One client left at the team member, one after choosing a time.
    ben = bot.user(100002, first_name="Ben")
    await ben.send("/book")
    await ben.tap("Hair")
    await ben.tap("Women's haircut")
    cleo = bot.user(100003, first_name="Cleo")
    await cleo.send("/book")
    await cleo.tap("Hair")
    await cleo.tap("Women's haircut")
    await cleo.tap(next(b for row in cleo.last.buttons for b in row if b.startswith("Anna")))
    await cleo.send("Friday")
    await cleo.tap_number(1)
    await admin.send("/stats")
    [sent] = admin.photos
    assert sent.photo is not None and sent.photo.content is not None
    png = sent.photo.content
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (960, 480)
    sizes = sent.media["photo"]
    assert sizes[-1]["width"] == 960 and sizes[-1]["file_size"] == len(png)
    caption = sent.caption or ""
    assert "Bookings through the bot, 26 Oct – 24 Nov: 1" in caption
    assert "Started a booking: 3" in caption
    assert "Chose a time: 2" in caption
    assert "Booked: 1" in caption
    assert "Left at: phone 1, staff 1" in caption


async def test_the_weekly_digest_goes_once_on_monday_morning(bot: Bot, clock: FakeClock) -> None:
    admin = await with_admin(bot)
    await book(bot.user())  # Tuesday 24 November
    assert bot.app is not None
    # Sunday evening, then Monday before nine: not yet.
    clock.current = datetime(2026, 11, 29, 20, 0, tzinfo=BERLIN)
    assert await send_digests(bot.app) == 0
    clock.current = datetime(2026, 11, 30, 8, 59, tzinfo=BERLIN)
    assert await send_digests(bot.app) == 0
    clock.advance(minutes=1)
    assert await send_digests(bot.app) == 1
    assert await send_digests(bot.app) == 0
    await bot.restart()
    assert bot.app is not None
    admin = await with_admin(bot)
    clock.advance(hours=2)
    assert await send_digests(bot.app) == 0
    digests = [t for t in admin.bot_texts if t.startswith("📊")]
    assert len(digests) == 1
    assert "Last week through the bot (23 Nov – 29 Nov)" in digests[0]
    assert "Bookings: 1" in digests[0] and "Moves: 0" in digests[0]
    assert "Started a booking: 1" in digests[0]
    # The next Monday brings the next one.
    clock.advance(days=7)
    assert await send_digests(bot.app) == 1
    # A chat with notices off gets none.
    await admin.send("/notices off")
    clock.advance(days=7)
    assert await send_digests(bot.app) == 0
    assert len([t for t in admin.bot_texts if t.startswith("📊")]) == 2


async def test_a_digest_missed_on_monday_goes_out_late_but_not_days_later(
    bot: Bot, clock: FakeClock
) -> None:
    await with_admin(bot)
    assert bot.app is not None
    # The bot was down all Monday: the digest goes out on Tuesday morning.
    clock.current = datetime(2026, 12, 1, 8, 0, tzinfo=BERLIN)
    assert await send_digests(bot.app) == 1
    assert await send_digests(bot.app) == 0
    # Down from Monday to Thursday: that week's digest is left out rather than sent that late.
    clock.current = datetime(2026, 12, 10, 10, 0, tzinfo=BERLIN)
    assert await send_digests(bot.app) == 0


def test_a_masked_phone_never_shows_most_of_a_short_number() -> None:
    from bot.salon_view import masked_phone

    assert masked_phone("+4915123456789") == "+49 151 ••• •• 89"
    assert masked_phone("+12125550123") == "+1 212 ••• •• 23"
    assert masked_phone("+3726123456") == "+372 ••• •• 56"  # 7 national digits: country only
    assert masked_phone("not a phone") == "•••"
