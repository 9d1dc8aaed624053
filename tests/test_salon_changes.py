"""The salon's changes told at once: Altegio's record webhooks subscribed with the salon's admin
token, delivered (twice, late, out of order, across a restart) and told to the client as a
client would see them; the sandbox delivers, with an injected clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bot.cli import log_secrets
from bot.doctor import Mark
from bot.settings import Settings, SettingsError
from bot.storage import Contact
from bot.web import WebServer
from bot.workflows.hook_subscription import Subscription, subscribe
from bot.workflows.salon_changes import accept
from conversations import salon_news
from conversations.reminders import send_due
from standins.altegio.hooks import Delivery
from standins.altegio.sandbox import Sandbox
from standins.altegio.seed import SANDBOX_COMPANY_ID
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, FakeClock, Recording
from tests.test_appointments import FRIDAY_10, PHONE, active_records, book, plain
from tests.test_doctor import NO_ENV_FILE as NO_FILE
from tests.test_doctor import TOKEN, doctor
from tests.test_web import never

ADMIN_TOKEN = "salon-admin-user-token-7f3a"
OTHER_APP = "https://crm.example.com/altegio/hook"
HOOKS_ENV = {
    "WEBHOOK_URL": "https://bot.example.com/tg/5f0c2d9e7a",
    "WEBHOOK_SECRET": "s3cret_-token",
    "ALTEGIO_USER_TOKEN": ADMIN_TOKEN,
}
MOVED = "The salon has moved your appointment"
CANCELLED = "Your appointment was cancelled by the salon"

# Each test on a SQLite file and on PostgreSQL.
BOTH_ENGINES = True


def receive(bot: Bot, *, at_once: bool = False) -> None:
    """Altegio's deliveries reach the bot's address (others' URLs are not the bot's business):
    kept by the bot as its HTTP endpoint keeps them; `at_once` also follows them right away,
    as the endpoint does, while the change that caused them may still be under way."""

    def deliver(delivery: Delivery) -> int:
        services = bot.services
        if services is None or urlsplit(delivery.url).path != services.settings.altegio_hook_path:
            return 404
        status, new = accept(services, json.dumps(delivery.body).encode())
        follow = bot.app.follow_salon_changes if bot.app is not None else None
        if at_once and new and follow is not None:
            asyncio.get_running_loop().create_task(follow())
        return status

    bot.sandbox.hooks.on_delivery(deliver)


async def hooked(make_bot: Callable[..., Any], **options: Any) -> Bot:
    """A bot in webhook mode with the salon's admin token, subscribed."""
    bot: Bot = await make_bot(env=HOOKS_ENV, **options)
    wire = options.get("transport")
    if isinstance(wire, Recording):
        wire.bot = bot
    bot.sandbox.add_admin_token(ADMIN_TOKEN)
    receive(bot)
    assert bot.app is not None
    assert await salon_news.keep_subscribed(bot.app) is Subscription.LIVE
    return bot


class Yielding(Recording):
    """Altegio over a network: other tasks run while an answer is on its way back (here, the
    webhook the call caused, followed at once)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        for _ in range(20):
            await asyncio.sleep(0)
        return response


async def follow(bot: Bot) -> int:
    assert bot.app is not None and bot.app.follow_salon_changes is not None
    return await bot.app.follow_salon_changes()


def said(user: StubUser, words: str) -> int:
    return sum(words in t for t in user.bot_texts)


async def booked(bot: Bot) -> tuple[StubUser, int]:
    return await booked_for(bot, 100001)


async def booked_for(bot: Bot, user_id: int) -> tuple[StubUser, int]:
    """The client books Friday's first free time with Anna Weber."""
    user = bot.user(user_id)
    await book(user)
    record_id = active_records(bot)[-1]["record_id"]
    assert isinstance(record_id, int)
    return user, record_id


# --- subscribing -----------------------------------------------------------------------------


async def test_subscribing_keeps_other_apps_and_replaces_the_bots_older_address(
    make_bot: Callable[..., Any],
) -> None:
    wire = Recording()
    bot: Bot = await make_bot(env=HOOKS_ENV, transport=wire)
    wire.bot = bot
    assert bot.services is not None
    hooks = bot.sandbox.hooks
    bot.sandbox.add_admin_token(ADMIN_TOKEN)
    older = "https://bot.example.com/altegio/0123456789abcdef0123456789abcdef"
    hooks.subscribe(SANDBOX_COMPANY_ID, OTHER_APP, self_sending=1)
    hooks.settings[SANDBOX_COMPANY_ID].update(client=1, record=0, finances_operation=1)
    hooks.settings[SANDBOX_COMPANY_ID]["urls"].append(older)

    assert await subscribe(bot.services) is Subscription.LIVE
    now = hooks.settings[SANDBOX_COMPANY_ID]
    url = bot.services.settings.altegio_hook_url
    assert url is not None and url.startswith("https://bot.example.com/altegio/")
    assert HOOKS_ENV["WEBHOOK_SECRET"] not in url
    assert now["urls"] == [OTHER_APP, url]
    assert (now["record"], now["active"], now["client"], now["finances_operation"]) == (1, 1, 1, 1)
    assert now["self_sending"] == 1  # the other app's choice stays
    # Already subscribed: read, not written again.
    posts = sum(r.method == "POST" and "hooks_settings" in r.url.path for r in wire.seen)
    assert await subscribe(bot.services) is Subscription.LIVE
    assert sum(r.method == "POST" and "hooks_settings" in r.url.path for r in wire.seen) == posts
    # The address stays the same across a restart.
    await bot.restart()
    assert bot.services.settings.altegio_hook_url == url


async def test_a_refused_admin_token_leaves_the_bot_without_webhooks_and_the_salon_told_once(
    make_bot: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    bot: Bot = await make_bot(env={**HOOKS_ENV, "ADMIN_CHAT_ID": "777"})
    assert bot.app is not None and bot.services is not None
    admin = StubUser(bot.stub, bot.app, user_id=777, first_name="Salon")
    await admin.send("/admin")
    assert await salon_news.keep_subscribed(bot.app) is Subscription.REFUSED
    assert await salon_news.keep_subscribed(bot.app) is None  # not tried again
    assert not bot.services.hooks.live
    assert sum("ALTEGIO_USER_TOKEN" in t for t in admin.bot_texts) == 1
    assert ADMIN_TOKEN not in caplog.text and "not accepted" in caplog.text
    assert SANDBOX_COMPANY_ID not in bot.sandbox.hooks.settings
    # Without webhooks the salon's move is found at the reminder, as before.
    user, record_id = await booked(bot)
    bot.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(hours=5))
    bot.clock.advance(days=2, hours=2)
    await send_due(bot.app)
    assert said(user, MOVED) == 1


async def test_subscribing_is_tried_again_while_altegio_does_not_answer(
    make_bot: Callable[..., Any], clock: FakeClock
) -> None:
    bot: Bot = await make_bot(env=HOOKS_ENV)
    bot.sandbox.add_admin_token(ADMIN_TOKEN)
    assert bot.app is not None
    bot.sandbox.fault("GET", "hooks_settings", status=503, times=None)
    assert await salon_news.keep_subscribed(bot.app) is Subscription.UNAVAILABLE
    assert await salon_news.keep_subscribed(bot.app) is None  # not on every tick
    bot.sandbox.clear_faults()
    clock.advance(minutes=1, seconds=1)
    assert await salon_news.keep_subscribed(bot.app) is Subscription.LIVE
    settings = bot.sandbox.hooks.settings[SANDBOX_COMPANY_ID]
    # Nobody else's settings: records only, and the bot's own changes need not come back.
    assert (settings["record"], settings["client"], settings["self_sending"]) == (1, 0, 0)


async def test_ten_other_urls_leave_no_room_and_the_salon_is_told_once(
    make_bot: Callable[..., Any], clock: FakeClock
) -> None:
    bot: Bot = await make_bot(env={**HOOKS_ENV, "ADMIN_CHAT_ID": "777"})
    assert bot.app is not None
    bot.sandbox.add_admin_token(ADMIN_TOKEN)
    admin = StubUser(bot.stub, bot.app, user_id=777, first_name="Salon")
    await admin.send("/admin")
    bot.sandbox.hooks.subscribe(SANDBOX_COMPANY_ID, OTHER_APP)
    others = [f"https://app{i}.example.com/hook" for i in range(10)]
    bot.sandbox.hooks.settings[SANDBOX_COMPANY_ID]["urls"] = others
    assert await salon_news.keep_subscribed(bot.app) is Subscription.FULL
    clock.advance(minutes=5)
    assert await salon_news.keep_subscribed(bot.app) is Subscription.FULL
    assert bot.sandbox.hooks.settings[SANDBOX_COMPANY_ID]["urls"] == others
    assert sum("could not subscribe" in t for t in admin.bot_texts) == 1


async def test_polling_mode_subscribes_nothing(bot: Bot) -> None:
    assert bot.app is not None
    assert await salon_news.keep_subscribed(bot.app) is Subscription.OFF
    assert bot.sandbox.hooks.settings == {}


# --- what clients are told ---------------------------------------------------------------------


async def test_a_salon_move_delivered_twice_reaches_the_client_once(
    make_bot: Callable[..., Any],
) -> None:
    bot = await hooked(make_bot)
    user, record_id = await booked(bot)
    bot.sandbox.hooks.duplicate_next()
    bot.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(hours=5))
    assert await follow(bot) == 1
    assert await follow(bot) == 0
    assert said(user, MOVED) == 1
    text = plain(user.last.text)
    assert "Friday, November 27, 2026 at 3:00 PM" in text and "Women's haircut" in text
    assert [b for row in user.last.buttons for b in row] == [
        "Reschedule",
        "Cancel appointment",
        "Add to calendar",
        "Address",
        "My appointments",
    ]
    # The reminders follow the new time: the day-ahead one is due a day before 15:00.
    bot.clock.advance(days=2, hours=6, minutes=5)
    assert bot.app is not None
    await send_due(bot.app)
    assert "3:00 PM" in plain(user.last.text) and "Reminder" in user.last.text
    assert said(user, MOVED) == 1


async def test_another_team_member_is_told_and_attendance_alone_tells_nothing(
    make_bot: Callable[..., Any],
) -> None:
    bot = await hooked(make_bot)
    user, record_id = await booked(bot)
    start = active_records(bot)[0]["start"]
    assert isinstance(start, datetime)
    bot.sandbox.salon_move(record_id, start, staff_id=2002)  # the same time, someone else
    bot.sandbox.mark_attendance(record_id, 2)  # the visit confirmed: no news for the client
    assert await follow(bot) == 1
    assert said(user, "The salon has changed who will see you: Jonas Richter") == 1
    assert "Team member: Jonas Richter" in user.last.text
    assert len(user.bot_texts) == len(set(user.bot_texts))


async def test_a_client_who_blocked_the_bot_hears_nothing_and_the_inbox_moves_on(
    make_bot: Callable[..., Any],
) -> None:
    bot = await hooked(make_bot)
    user, record_id = await booked(bot)
    user.block()
    shown = len(user.bot_texts)
    bot.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(hours=5))
    assert await follow(bot) == 0
    assert bot.services is not None
    assert bot.services.storage.hook_events_waiting() == []
    kept = bot.services.storage.booking(record_id)
    assert kept is not None and kept.start == FRIDAY_10 + timedelta(hours=5)
    assert len(user.bot_texts) == shown


async def test_an_older_event_after_a_newer_one_changes_nothing(
    make_bot: Callable[..., Any], clock: FakeClock
) -> None:
    bot = await hooked(make_bot)
    user, record_id = await booked(bot)
    bot.sandbox.hooks.delay_next()  # the first move's event comes after the second's
    bot.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(hours=2))
    clock.advance(minutes=3)
    bot.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(hours=5))
    assert await follow(bot) == 1
    assert said(user, MOVED) == 1 and "3:00 PM" in plain(user.last.text)
    assert bot.services is not None
    kept = bot.services.storage.booking(record_id)
    assert kept is not None and kept.start == FRIDAY_10 + timedelta(hours=5)


async def test_a_salon_cancel_telegram_did_not_take_is_told_again(
    make_bot: Callable[..., Any],
) -> None:
    """Telegram failing the message (an outage) loses nothing: it is told again at later
    ticks, once; a change undone meanwhile is not told at all."""
    bot = await hooked(make_bot)
    user, record_id = await booked(bot)
    bot.stub.fail_sends(user.chat_id, times=2)
    bot.sandbox.salon_cancel(record_id)
    await follow(bot)
    assert said(user, CANCELLED) == 0
    bot.clock.advance(seconds=30)
    await follow(bot)  # not due yet
    bot.clock.advance(seconds=40)
    await follow(bot)  # due, and Telegram fails again
    assert said(user, CANCELLED) == 0
    bot.clock.advance(minutes=5)
    assert await follow(bot) == 1
    assert said(user, CANCELLED) == 1
    bot.clock.advance(hours=2)
    await follow(bot)
    assert said(user, CANCELLED) == 1


async def test_a_salon_cancel_is_told_once_and_its_reminders_go(
    make_bot: Callable[..., Any],
) -> None:
    bot = await hooked(make_bot)
    user, record_id = await booked(bot)
    bot.sandbox.hooks.duplicate_next()
    bot.sandbox.salon_cancel(record_id)
    await follow(bot)
    assert said(user, CANCELLED) == 1
    assert [b for row in user.last.buttons for b in row] == ["Book again"]
    bot.clock.advance(days=4)
    assert bot.app is not None
    assert await send_due(bot.app) == 0
    assert said(user, CANCELLED) == 1 and said(user, "Reminder") == 0
    # Book again, on the salon's cancel, opens the same service with the same team member.
    await user.tap("Book again")
    assert "not available" not in user.screen(), user.screen()
    assert "Free times on" in user.last.text or "earliest" in user.last.text, user.screen()


async def test_an_appointment_the_salon_makes_for_a_verified_phone_is_told_and_kept(
    make_bot: Callable[..., Any],
) -> None:
    bot = await hooked(make_bot)
    assert bot.services is not None
    verified, typed = bot.user(100001), bot.user(100002, first_name="Eve")
    await verified.send("/start")
    await typed.send("/start")
    token = bot.sandbox.add_user_token(PHONE)
    bot.services.storage.set_user_token(verified.user_id, token, PHONE)
    # Someone who merely typed the phone is no verified client of it.
    bot.services.storage.remember_contact(typed.user_id, Contact("Eve", PHONE), bot.clock.now())
    record_id = bot.sandbox.salon_book(
        SANDBOX_COMPANY_ID, PHONE, 10001, 2001, FRIDAY_10 + timedelta(hours=4), source="phone"
    )
    assert await follow(bot) == 1
    assert said(verified, "The salon has booked you in") == 1
    assert "Women's haircut" in verified.last.text and "2:00 PM" in plain(verified.last.text)
    assert said(typed, "booked you") == 0
    kept = bot.services.storage.booking(record_id)
    assert kept is not None and kept.chat_id == verified.chat_id
    # Its reminder comes, with no record read needed.
    bot.clock.advance(days=2, hours=5, minutes=5)
    assert bot.app is not None
    await send_due(bot.app)
    assert "Reminder" in verified.last.text


async def test_the_bots_own_move_and_cancel_are_not_told_back(
    make_bot: Callable[..., Any],
) -> None:
    # Updates go through the per-chat processor, as in production ("still working" never
    # shows: no real time passes).
    wire = Yielding()
    bot: Bot = await make_bot(env=HOOKS_ENV, slow_sleep=never, transport=wire)
    wire.bot = bot
    bot.sandbox.add_admin_token(ADMIN_TOKEN)
    # Another app asked for the events API calls cause, so the bot's own come back to it too,
    # and each is followed at once, while the bot's own call is still under way.
    bot.sandbox.hooks.subscribe(SANDBOX_COMPANY_ID, OTHER_APP, self_sending=1)
    receive(bot, at_once=True)
    assert bot.app is not None
    assert await salon_news.keep_subscribed(bot.app) is Subscription.LIVE
    user = bot.user(through_processor=True)
    await book(user)
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Reschedule")
    await user.send("Saturday")
    await user.tap_number(2)
    await user.tap("✅ Move it")
    assert "Your appointment is moved" in user.last.text
    await follow(bot)
    await user.send("/appointments")
    await user.tap_number(1)
    await user.tap("Cancel appointment")
    await user.tap("Yes, cancel it")
    await follow(bot)
    assert said(user, MOVED) == 0 and said(user, CANCELLED) == 0
    assert said(user, "booked you in") == 0
    assert bot.sandbox.hooks.deliveries()  # the events did come


async def test_an_event_kept_before_a_restart_is_told_after_it_once(
    make_bot: Callable[..., Any],
) -> None:
    bot = await hooked(make_bot)
    user, record_id = await booked(bot)
    bot.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(hours=5))  # kept, not yet followed
    await bot.restart(graceful=False)
    assert await follow(bot) == 1
    assert await follow(bot) == 0
    assert said(user, MOVED) == 1


async def test_a_reminder_with_live_webhooks_reads_nothing_from_altegio(
    make_bot: Callable[..., Any],
) -> None:
    wire = Recording()
    bot = await hooked(make_bot, transport=wire)
    user, record_id = await booked(bot)
    bot.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(hours=5))
    await follow(bot)
    seen = len(wire.seen)
    bot.clock.advance(days=2, hours=6, minutes=5)
    assert bot.app is not None and bot.services is not None
    assert await send_due(bot.app) == 1
    assert "Reminder" in user.last.text and "3:00 PM" in plain(user.last.text)
    assert wire.seen[seen:] == []
    metrics = bot.services.metrics.exposition().decode()
    assert 'bot_reminder_reads_total{source="webhooks"} 1.0' in metrics


# --- the endpoint ------------------------------------------------------------------------------


async def test_the_endpoint_refuses_what_is_not_altegios_and_any_other_path(
    make_bot: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    bot = await hooked(make_bot)
    assert bot.app is not None and bot.services is not None
    user, record_id = await booked(bot)
    path = bot.services.settings.altegio_hook_path
    assert path is not None
    server = WebServer(bot.app, hook_path=path)
    port = await server.start("127.0.0.1", 0)
    bot.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(hours=5))
    await follow(bot)  # told once already; the same event posted again is a repeat
    event = {
        "company_id": SANDBOX_COMPANY_ID,
        "resource": "record",
        "resource_id": record_id,
        "status": "update",
        "data": {"id": record_id, "phone": PHONE},
    }
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for body in (
                b"{not json",
                b"[1]",
                json.dumps({**event, "company_id": 999}).encode(),
                json.dumps({**event, "resource": "spaceship"}).encode(),
                json.dumps({**event, "status": "exploded"}).encode(),
                json.dumps({**event, "data": {"phone": PHONE}}).encode(),
            ):
                answer = await client.post(path, content=body)
                assert answer.status_code == 400, body
            elsewhere = await client.post("/altegio/" + "0" * 32, json=event)
            assert elsewhere.status_code == 404
            other = {**event, "resource": "client", "data": {"phone": PHONE}}
            assert (await client.post(path, json=other)).status_code == 200
            delivered = bot.sandbox.hooks.deliveries()[-1].body
            answer = await client.post(path, json=delivered)
            assert answer.status_code == 200
    finally:
        await server.stop()
    await follow(bot)
    assert said(user, MOVED) == 1
    assert "refused" in caplog.text and PHONE not in caplog.text and "spaceship" not in caplog.text
    assert path not in caplog.text


# --- as the real service may word and time them -------------------------------------------------


async def test_statuses_worded_otherwise_and_a_deletion_sent_as_an_update_are_understood(
    make_bot: Callable[..., Any],
) -> None:
    bot = await hooked(make_bot)
    hooks = bot.sandbox.hooks
    hooks.status_words = {"update": "record_updated", "create": "created"}
    hooks.delete_as_update = True
    user, record_id = await booked(bot)
    bot.sandbox.salon_move(record_id, FRIDAY_10 + timedelta(hours=5))
    await follow(bot)
    bot.clock.advance(minutes=1)
    bot.sandbox.salon_cancel(record_id)
    await follow(bot)
    assert said(user, MOVED) == 1 and said(user, CANCELLED) == 1
    assert [d.body["status"] for d in hooks.deliveries()][-2:] == ["record_updated"] * 2


async def test_a_bare_cancel_with_no_date_is_followed_once(
    make_bot: Callable[..., Any],
) -> None:
    bot = await hooked(make_bot)
    assert bot.services is not None
    user, record_id = await booked(bot)
    bot.sandbox.hooks.settings.clear()  # this one is posted by hand
    bot.sandbox.salon_cancel(record_id)
    bare = {
        "company_id": SANDBOX_COMPANY_ID,
        "resource": "record",
        "resource_id": record_id,
        "status": "cancel",
        "data": {"id": record_id},
    }
    for _ in range(2):
        assert accept(bot.services, json.dumps(bare).encode())[0] == 200
    await follow(bot)
    assert said(user, CANCELLED) == 1


async def test_a_summer_time_told_right_when_the_offset_comes_wrong(
    make_bot: Callable[..., Any],
) -> None:
    bot = await hooked(make_bot)
    bot.sandbox.hooks.dst_wrong_offset = True
    user, record_id = await booked(bot)
    summer = datetime(2027, 6, 15, 12, 0, tzinfo=BERLIN)
    bot.sandbox.salon_move(record_id, summer)
    await follow(bot)
    assert "June 15, 2027 at 12:00 PM" in plain(user.last.text)
    assert bot.services is not None
    kept = bot.services.storage.booking(record_id)
    assert kept is not None and kept.start == summer


async def test_reminders_read_altegio_until_an_event_shows_the_address_is_reached(
    make_bot: Callable[..., Any],
) -> None:
    wire = Recording()
    bot = await hooked(make_bot, transport=wire)
    assert bot.services is not None and bot.app is not None
    await booked(bot)
    assert bot.services.hooks.subscribed and not bot.services.hooks.live
    seen = len(wire.seen)
    bot.clock.advance(days=2, hours=1, minutes=5)  # the day-ahead reminder of Friday 10:00
    assert await send_due(bot.app) == 1
    assert any("book_record" in r.url.path for r in wire.seen[seen:])


def test_the_admin_token_is_checked_secret_and_the_address_derived(tmp_path: Path) -> None:
    env = {**HOOKS_ENV, "BOT_DB_PATH": str(tmp_path / "x.sqlite3")}
    with pytest.raises(SettingsError) as refused:
        Settings.load(env={**env, "ALTEGIO_USER_TOKEN": "abc def,ghi"}, env_file=NO_FILE)
    assert "abc" not in str(refused.value)
    settings = Settings.load(env=env, env_file=NO_FILE)
    again = Settings.load(env=env, env_file=NO_FILE)
    other = Settings.load(env={**env, "WEBHOOK_SECRET": "another"}, env_file=NO_FILE)
    assert settings.altegio_hook_url == again.altegio_hook_url != other.altegio_hook_url
    assert settings.altegio_hook_path is not None
    assert ADMIN_TOKEN in log_secrets(settings)
    assert settings.altegio_hook_path in log_secrets(settings)
    polling = Settings.load(env={"ALTEGIO_USER_TOKEN": ADMIN_TOKEN}, env_file=NO_FILE)
    assert polling.altegio_hook_url is None


@pytest.mark.parametrize("admin", [True, False])
def test_doctor_says_whether_altegio_holds_the_bots_address(
    admin: bool, sandbox: Sandbox, tmp_path: Path
) -> None:
    env = {**HOOKS_ENV, "BOT_DB_PATH": str(tmp_path / "x.sqlite3"), "TELEGRAM_BOT_TOKEN": TOKEN}
    if admin:
        sandbox.add_admin_token(ADMIN_TOKEN)
    checks = doctor(env, sandbox)
    line = checks["Altegio webhooks"]
    assert line.mark is (Mark.OK if admin else Mark.WARN)
    assert ("the bot subscribes" if admin else "not accepted") in line.found
    assert ADMIN_TOKEN not in line.found
    if admin:
        assert "https://bot.example.com/altegio/…" in line.found


async def test_after_a_restart_an_appointment_is_read_once_then_kept_by_webhooks(
    make_bot: Callable[..., Any],
) -> None:
    wire = Recording()
    bot = await hooked(make_bot, transport=wire)
    user, record_id = await booked(bot)
    await bot.restart()  # events of the downtime may have been lost
    bot.clock.advance(minutes=10)
    assert bot.app is not None
    assert await salon_news.keep_subscribed(bot.app) is Subscription.LIVE
    # Someone else's appointment, made at the salon: the webhooks reach the bot again.
    bot.sandbox.salon_book(
        SANDBOX_COMPANY_ID, "+4915200000999", 10001, 2002, FRIDAY_10, source="phone"
    )
    await follow(bot)

    def reads() -> int:
        return sum("book_record" in r.url.path or "user/records" in r.url.path for r in wire.seen)

    before = reads()
    bot.clock.advance(days=2, hours=1, minutes=5)  # the day-ahead reminder
    assert await send_due(bot.app) == 1
    assert reads() == before + 1 and "Reminder" in user.last.text
    bot.clock.advance(hours=22)  # two hours before: the webhooks keep it in step now
    assert await send_due(bot.app) == 1
    assert reads() == before + 1
    assert sum("Reminder" in t for t in user.bot_texts) == 2
    assert bot.services is not None and record_id in bot.services.hooks.known
