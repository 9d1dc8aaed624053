"""A chain's background work: each of its locations subscribed to the bot's one webhook address,
an event from any of them followed at that location (one from outside the chain refused), the
stored copy trusted only where a location's webhooks are live, and a booking call whose answer
was lost at a chain's location looked into at that location."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bot.web import WebServer
from bot.workflows.evidence import attempt_location
from bot.workflows.hook_subscription import Subscription
from bot.workflows.salon_changes import accept
from conversations import salon_news
from conversations.reminders import send_due
from standins.altegio.hooks import Delivery
from standins.altegio.riga_seed import SANDBOX_CYRILLIC_COMPANY_ID as RIGA_ID
from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN, Sandbox
from standins.altegio.seed import SANDBOX_COMPANY_ID as KREUZBERG
from standins.altegio.seed import SANDBOX_SMS_COMPANY_ID as MITTE
from standins.telegram.users import StubUser
from tests.conftest import Bot, Recording
from tests.test_appointments import active_records, book, plain
from tests.test_locations import RIGA, kept_in_riga
from tests.test_salon_changes import ADMIN_TOKEN, CANCELLED, HOOKS_ENV, MOVED, follow
from tests.test_visits import PHONE, buttons

YOGA = 1003  # the sandbox's studio outside the chain
CHAIN_ENV = {**HOOKS_ENV, "ALTEGIO_GROUP_ID": "100"}


def receive(bot: Bot) -> list[tuple[int, int]]:
    """Altegio's deliveries to the bot's address, as its HTTP endpoint takes them: (the
    location that sent each, the status the bot answered)."""
    answered: list[tuple[int, int]] = []

    def deliver(delivery: Delivery) -> int:
        services = bot.services
        if services is None or urlsplit(delivery.url).path != services.settings.altegio_hook_path:
            return 404
        status, _ = accept(services, json.dumps(delivery.body).encode())
        answered.append((int(delivery.body["company_id"]), status))
        return status

    bot.sandbox.hooks.on_delivery(deliver)
    return answered


async def chain_bot(make_bot: Callable[..., Any], **options: Any) -> Bot:
    bot: Bot = await make_bot(env=CHAIN_ENV, **options)
    wire = options.get("transport")
    if isinstance(wire, Recording):
        wire.bot = bot
    return bot


def urls(bot: Bot, company_id: int) -> list[str]:
    settings = bot.sandbox.hooks.settings.get(company_id)
    return list(settings["urls"]) if settings else []


# --- subscribing ---------------------------------------------------------------------------


async def test_each_location_of_the_chain_is_subscribed_to_the_one_address(
    make_bot: Callable[..., Any],
) -> None:
    wire = Recording()
    bot = await chain_bot(make_bot, transport=wire)
    assert bot.app is not None and bot.services is not None
    bot.sandbox.add_admin_token(ADMIN_TOKEN)
    assert await salon_news.keep_subscribed(bot.app) is Subscription.LIVE
    url = bot.services.settings.altegio_hook_url
    assert url is not None
    for company_id in (KREUZBERG, MITTE, RIGA_ID):
        assert urls(bot, company_id) == [url], company_id
    assert urls(bot, YOGA) == []  # not the chain's
    assert await salon_news.keep_subscribed(bot.app) is None  # not due again yet
    # Six hours on, each is looked at again: read, not written again.
    posts = sum(r.method == "POST" for r in wire.seen if "hooks_settings" in r.url.path)
    bot.clock.advance(hours=6, minutes=1)
    assert await salon_news.keep_subscribed(bot.app) is Subscription.LIVE
    reads = [r.url.path for r in wire.seen if "hooks_settings" in r.url.path][-3:]
    assert sorted(p.rsplit("/", 1)[-1] for p in reads) == ["1001", "1002", "1004"]
    assert sum(r.method == "POST" for r in wire.seen if "hooks_settings" in r.url.path) == posts


async def test_a_chain_without_webhooks_asks_altegio_nothing_for_them(
    make_bot: Callable[..., Any],
) -> None:
    wire = Recording()
    bot: Bot = await make_bot(env={"ALTEGIO_GROUP_ID": "100"}, transport=wire)
    wire.bot = bot
    assert bot.app is not None
    seen = len(wire.seen)
    assert await salon_news.keep_subscribed(bot.app) is Subscription.OFF
    assert await salon_news.keep_subscribed(bot.app) is None
    assert len(wire.seen) == seen


async def test_a_location_that_refuses_the_token_stops_none_of_the_others_and_is_said_once(
    make_bot: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    bot = await chain_bot(make_bot, transport=Recording())
    assert bot.app is not None and bot.services is not None
    object.__setattr__(bot.services.settings, "admin_chat_id", 777)
    admin = StubUser(bot.stub, bot.app, user_id=777, first_name="Salon")
    await admin.send("/admin")
    bot.sandbox.hooks.grant(ADMIN_TOKEN, KREUZBERG, MITTE)  # no rights at Riga
    assert await salon_news.keep_subscribed(bot.app) is Subscription.REFUSED
    assert urls(bot, KREUZBERG) and urls(bot, MITTE) and not urls(bot, RIGA_ID)
    hooks = bot.services.hooks
    assert hooks.site(KREUZBERG).subscribed and hooks.site(MITTE).subscribed
    assert not hooks.site(RIGA_ID).subscribed
    bot.clock.advance(hours=7)
    assert await salon_news.keep_subscribed(bot.app) is Subscription.LIVE  # Riga not again
    told = [t for t in admin.bot_texts if "ALTEGIO_USER_TOKEN" in t]
    assert len(told) == 1 and "Салон Аврора (1004)" in told[0], told
    assert "Studio Aurora (1001)" not in told[0]
    assert ADMIN_TOKEN not in caplog.text and "1004" in caplog.text


async def test_one_location_refusing_is_said_as_before_without_a_chain(
    make_bot: Callable[..., Any],
) -> None:
    bot: Bot = await make_bot(env=HOOKS_ENV)
    assert bot.app is not None
    object.__setattr__(bot.app.services.settings, "admin_chat_id", 777)
    admin = StubUser(bot.stub, bot.app, user_id=777, first_name="Salon")
    await admin.send("/admin")
    bot.sandbox.hooks.grant(ADMIN_TOKEN, MITTE)
    assert await salon_news.keep_subscribed(bot.app) is Subscription.REFUSED
    told = [t for t in admin.bot_texts if "ALTEGIO_USER_TOKEN" in t]
    assert len(told) == 1 and "for the location's webhook settings" in told[0]
    assert "(1001)" not in told[0]


# --- events from the chain's locations -------------------------------------------------------


async def test_an_event_from_riga_reaches_the_client_whose_booking_is_at_riga(
    make_bot: Callable[..., Any],
) -> None:
    bot = await chain_bot(make_bot)
    assert bot.app is not None and bot.services is not None
    bot.sandbox.add_admin_token(ADMIN_TOKEN)
    answered = receive(bot)
    assert await salon_news.keep_subscribed(bot.app) is Subscription.LIVE
    user = bot.user()
    await user.send("/start")
    record_id = kept_in_riga(bot, user.chat_id, user.user_id)
    moved_to = datetime(2026, 11, 30, 15, 0, tzinfo=RIGA)
    bot.sandbox.salon_move(record_id, moved_to)
    assert answered == [(RIGA_ID, 200)] * 2  # the salon's booking, then its move
    assert await follow(bot) == 1
    told = plain(user.last.text)
    assert MOVED in told and "3:00 PM" in told, told  # in Riga's time
    kept = bot.services.storage.booking(record_id)
    assert kept is not None and kept.start == moved_to and kept.company_id == RIGA_ID
    assert bot.services.hooks.site(RIGA_ID).heard_since is not None
    assert bot.services.hooks.site(KREUZBERG).heard_since is None

    # A studio outside the chain posting to the bot's address is refused, as ever.
    url = bot.services.settings.altegio_hook_url
    assert url is not None
    bot.sandbox.hooks.subscribe(YOGA, url)
    start = datetime(2026, 11, 27, 18, 0, tzinfo=RIGA)
    bot.sandbox.salon_book(YOGA, "+4915200000777", 12001, 2201, start, source="phone")
    assert answered[-1] == (YOGA, 400)

    # After a restart, an event from Riga before the chain is read again is followed too.
    await bot.restart()
    assert bot.services is not None and bot.services.hooks.chain is None
    bot.clock.advance(minutes=1)  # a later change: another event, not a repeat
    bot.sandbox.salon_move(record_id, moved_to + timedelta(hours=1))
    assert answered[-1] == (RIGA_ID, 200)
    assert await follow(bot) == 1
    assert "4:00 PM" in plain(bot.user().last.text)


async def test_a_cancel_at_riga_posted_to_the_bots_address_is_told(
    make_bot: Callable[..., Any],
) -> None:
    bot = await chain_bot(make_bot)
    assert bot.app is not None and bot.services is not None
    bot.sandbox.add_admin_token(ADMIN_TOKEN)
    assert await salon_news.keep_subscribed(bot.app) is Subscription.LIVE
    user = bot.user()
    await user.send("/start")
    record_id = kept_in_riga(bot, user.chat_id, user.user_id)
    bot.sandbox.salon_cancel(record_id)
    posted = bot.sandbox.hooks.deliveries()[-1].body  # as Altegio posts it, from Riga
    path = bot.services.settings.altegio_hook_path
    assert path is not None
    server = WebServer(bot.app, hook_path=path)
    port = await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.post(path, json=posted)).status_code == 200
            yoga = {**posted, "company_id": YOGA}
            assert (await client.post(path, json=yoga)).status_code == 400
    finally:
        await server.stop()
    await follow(bot)
    assert sum(CANCELLED in t for t in user.bot_texts) == 1, user.screen()
    kept = bot.services.storage.booking(record_id)
    assert kept is not None and kept.status != "active"


async def test_an_event_of_a_location_that_is_not_the_chains_is_left_alone_once_read(
    make_bot: Callable[..., Any],
) -> None:
    bot = await chain_bot(make_bot)
    assert bot.services is not None
    services = bot.services
    body = {
        "company_id": YOGA,
        "resource": "record",
        "resource_id": 5,
        "status": "delete",
        "data": {"id": 5, "deleted": True},
    }
    # Before the chain is read, it is kept; once read, it is not followed.
    assert accept(services, json.dumps(body).encode()) == (200, True)
    assert await follow(bot) == 0
    assert services.hooks.chain == (KREUZBERG, MITTE, RIGA_ID)
    assert services.storage.hook_events_waiting(10) == []
    # From then on, refused at the door.
    body["resource_id"] = body["data"]["id"] = 6  # type: ignore[index]
    assert accept(services, json.dumps(body).encode())[0] == 400


async def test_the_stored_copy_is_trusted_only_where_the_webhooks_are_live(
    make_bot: Callable[..., Any],
) -> None:
    wire = Recording()
    bot = await chain_bot(make_bot, transport=wire)
    assert bot.app is not None and bot.services is not None
    bot.sandbox.hooks.grant(ADMIN_TOKEN, KREUZBERG, MITTE)  # Riga refuses: no webhooks there
    receive(bot)
    await salon_news.keep_subscribed(bot.app)
    user = bot.user()
    bot.services.storage.choose_location(user.chat_id, KREUZBERG)
    await book(user)  # at Berlin, Friday 10:00
    # Someone else's appointment, made at the salon in Berlin: Berlin's webhooks are heard.
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=RIGA)
    bot.sandbox.salon_book(KREUZBERG, "+4915200000999", 10001, 2002, friday, source="phone")
    await follow(bot)
    assert bot.services.hooks.live_at(KREUZBERG) and not bot.services.hooks.live_at(RIGA_ID)
    riga = bot.user(100002, first_name="Ilze")
    await riga.send("/start")
    kept_in_riga(bot, riga.chat_id, riga.user_id)  # Monday 10:00 Riga time

    def reads(company_id: int) -> int:
        return sum(f"book_record/{company_id}/" in r.url.path for r in wire.seen)

    berlin_before, riga_before = reads(KREUZBERG), reads(RIGA_ID)
    bot.clock.advance(days=2, hours=1, minutes=5)  # Friday's day-ahead reminder
    assert await send_due(bot.app) == 1
    assert reads(KREUZBERG) == berlin_before  # the stored copy: Berlin's webhooks are live
    bot.clock.current = datetime(2026, 11, 29, 10, 5, tzinfo=RIGA)  # Monday's, at Riga
    assert await send_due(bot.app) >= 1
    assert reads(RIGA_ID) == riga_before + 1  # read: nothing comes by webhook from Riga
    assert any("Reminder" in t for t in riga.bot_texts)


# --- a lost answer at a chain's location -----------------------------------------------------


async def riga_summary(bot: Bot, user: StubUser) -> None:
    """The client at Riga (chosen), at the summary of Monday's first free haircut."""
    assert bot.services is not None
    await user.send("/start")
    bot.services.storage.choose_location(user.chat_id, RIGA_ID)
    await user.send("/book")
    await user.tap("Волосы")
    await user.tap(next(b for b in buttons(user) if b.startswith("Женская стрижка")))
    await user.tap(next(b for b in buttons(user) if b.startswith("Анна Петрова")))
    await user.send("Monday")
    assert "Free times on" in user.last.text, user.screen()
    await user.tap_number(1)
    await user.send("+49 151 23456789")
    await user.tap("Keep this name")
    await user.tap("Skip")
    assert "Please check your booking" in user.last.text, user.screen()


async def test_a_lost_booking_answer_at_riga_is_found_at_riga(
    make_bot: Callable[..., Any],
) -> None:
    bot = await chain_bot(make_bot)
    assert bot.services is not None
    user = bot.user()
    await riga_summary(bot, user)
    token = bot.sandbox.add_user_token(PHONE)
    bot.services.storage.set_user_token(user.user_id, token)
    bot.sandbox.fault(
        "POST", "book_record", status=504, body="<html>Gateway Time-out</html>", carry_out=True
    )
    await user.tap("✅ Confirm")
    assert "checking whether your booking went through" in user.last.text, user.screen()
    await bot.settle()
    assert "You are booked" in user.last.text, user.screen()
    assert "10:00 AM" in plain(user.last.text)  # Riga's first free time, in Riga's time
    made = active_records(bot, RIGA_ID)
    assert len(made) == 1 and active_records(bot, KREUZBERG) == []
    kept = bot.services.storage.booking(int(str(made[0]["record_id"])))
    assert kept is not None and kept.company_id == RIGA_ID


async def test_a_lost_booking_answer_at_riga_whose_time_stays_free_is_not_booked(
    make_bot: Callable[..., Any],
) -> None:
    bot = await chain_bot(make_bot)
    assert bot.services is not None
    user = bot.user()
    await riga_summary(bot, user)
    bot.sandbox.fault("POST", "book_record", status=504, body="<html>Gateway Time-out</html>")
    await user.tap("✅ Confirm")
    later = bot.clock.now() + timedelta(hours=1)
    attempts = bot.services.storage.attempts_due(later, bot.clock.now())
    assert [attempt_location(a.data) for a in attempts] == [RIGA_ID]
    await bot.settle()
    # Riga's free times said so (Berlin knows no Анна Петрова: there it would stay unknown).
    assert "did not go through" in user.last.text, user.screen()
    assert active_records(bot, RIGA_ID) == []


def test_an_attempt_noted_before_the_chain_is_the_home_locations() -> None:
    assert attempt_location({"slot": "2026-11-27T10:00:00+01:00"}) == 0
    assert attempt_location({"company_id": RIGA_ID}) == RIGA_ID


# --- the sandbox: each location's own settings and events -----------------------------------


def test_the_sandbox_keeps_hooks_settings_and_events_per_location(sandbox: Sandbox) -> None:
    sandbox.hooks.grant("riga-admin", RIGA_ID)  # rights at Riga only
    headers = {"Authorization": f"Bearer {SANDBOX_PARTNER_TOKEN}, User riga-admin"}
    body = {"urls": ["https://bot.example.com/altegio/x"], "record": 1, "active": 1}
    with httpx.Client(
        transport=sandbox.transport(), base_url="https://api.alteg.io/api/v1", headers=headers
    ) as api:
        assert api.post(f"hooks_settings/{RIGA_ID}", json=body).status_code == 201
        assert api.post(f"hooks_settings/{KREUZBERG}", json=body).status_code == 403
        assert api.get(f"hooks_settings/{KREUZBERG}").status_code == 403
        assert api.get(f"hooks_settings/{RIGA_ID}").json()["data"]["urls"] == body["urls"]
    sandbox.hooks.subscribe(KREUZBERG, "https://crm.example.com/berlin")
    start = datetime(2026, 11, 30, 12, 0, tzinfo=RIGA)
    sandbox.salon_book(RIGA_ID, PHONE, 13001, 2301, start, name="Anna Schmidt")
    sandbox.salon_book(MITTE, PHONE, 11001, 2101, start, name="Anna Schmidt")  # none there
    sent = sandbox.hooks.deliveries()
    assert [(d.url, d.body["company_id"]) for d in sent] == [(body["urls"][0], RIGA_ID)]
    assert sent[0].body["data"]["company_id"] == RIGA_ID
