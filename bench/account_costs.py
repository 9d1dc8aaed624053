"""What reminders and My appointments cost in Altegio requests, with and without the client's
user token (their confirmed phone) and the salon's record webhooks: one client with three
appointments booked in the bot and one the salon entered by phone, on the in-process sandbox.
With webhooks, the bot is in webhook mode with the salon's admin token, subscribed, and the
sandbox's deliveries reach its endpoint's code (`salon_changes.accept`) as they would over HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import BotApplication
from bot.limits import FloodGuard
from bot.workflows.hook_subscription import Subscription
from bot.workflows.salon_changes import accept
from conversations import salon_news
from conversations.reminders import send_due
from standins.altegio.hooks import Delivery
from standins.altegio.sandbox import Sandbox
from standins.telegram.bot_api import BotApiStub
from standins.telegram.users import StubUser

PHONE = "+4915199990000"
COMPANY_ID = 1001
HAIRCUT, ANNA = 10001, 2001
BERLIN = ZoneInfo("Europe/Berlin")
WORKDAYS = (1, 2, 3, 4, 5)  # Anna works Tuesday to Saturday

ADMIN_TOKEN = "bench-salon-admin-token"
HOOKS_ENV = {
    "WEBHOOK_URL": "https://bot.example.com/tg/bench",
    "WEBHOOK_SECRET": "bench-secret",
    "ALTEGIO_USER_TOKEN": ADMIN_TOKEN,
}

Start = Callable[[Path, Sandbox, BotApiStub, dict[str, str] | None], Awaitable[BotApplication]]
Stop = Callable[[BotApplication], Awaitable[None]]


class Client(StubUser):
    """A client whose updates go through the application's update processor, as polled ones do."""

    async def _process(self, update: dict[str, Any]) -> None:
        app = self.app
        assert isinstance(app, BotApplication)
        parsed = Update.de_json(update, app.bot)
        await app.update_processor.process_update(parsed, app.process_update(parsed))


def days_ahead(count: int, weekdays: tuple[int, ...] = WORKDAYS) -> list[date]:
    """`count` days from a week ahead on, of the given weekdays."""
    day = datetime.now(BERLIN).date() + timedelta(days=7)
    days: list[date] = []
    while len(days) < count:
        if day.weekday() in weekdays:
            days.append(day)
        day += timedelta(days=1)
    return days


def labels(user: StubUser) -> list[str]:
    return [label for row in user.last.buttons for label in row]


async def book_with_anna(
    user: StubUser,
    day: date,
    phone: str = PHONE,
    added: str | None = None,
    then: str | None = None,
) -> None:
    """Women's haircut (with `added`, a service more in the visit) with Anna on `day`; `then`:
    the team member of the visit's second part, when nobody does both."""
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    if added:
        await user.tap("➕ Add another service")
        await user.tap(added)
    await user.tap(next(b for b in labels(user) if b.startswith("Anna Weber")))
    if then:
        await user.tap(next(b for b in labels(user) if b.startswith(then)))
    await user.send(f"{day.day}.{day.month}.{day.year}")
    await user.tap_number(1)
    if "Yes" in labels(user):
        await user.tap("Yes")
    else:
        await user.send(phone)
        await user.tap("Keep this name")
    await user.tap("Skip")
    await user.tap("✅ Confirm")
    if "You are booked" not in user.last.text:
        raise RuntimeError(f"the benchmark's booking failed: {user.last.text}")


async def _confirm_phone(user: StubUser, sandbox: Sandbox) -> None:
    await user.send("/appointments")
    await user.tap(next(b for b in labels(user) if b.startswith("Show all my appointments")))
    await user.tap("Send the code")
    code = sandbox.last_sms_code(COMPANY_ID, PHONE)
    if code is None:
        raise RuntimeError("no code was texted")
    await user.send(code)


async def _subscribe(app: BotApplication, sandbox: Sandbox) -> None:
    """Subscribed as at start, with Altegio's deliveries taken as the endpoint takes them; one
    event heard (a seed appointment the salon moves) shows they reach the bot."""
    services = app.services
    sandbox.add_admin_token(ADMIN_TOKEN)
    pending: list[asyncio.Task[int]] = []

    def deliver(delivery: Delivery) -> int:
        if urlsplit(delivery.url).path != services.settings.altegio_hook_path:
            return 404
        status, new = accept(services, json.dumps(delivery.body).encode())
        if new and app.follow_salon_changes is not None:
            pending.append(asyncio.get_running_loop().create_task(app.follow_salon_changes()))
        return status

    sandbox.hooks.on_delivery(deliver)
    if await salon_news.keep_subscribed(app) is not Subscription.LIVE:
        raise RuntimeError("the benchmark's bot could not subscribe the webhooks")
    other = next(r for r in sandbox.records(COMPANY_ID) if not r["deleted"])
    sandbox.salon_move(int(other["record_id"]), other["start"] + timedelta(minutes=15))
    await asyncio.gather(*pending)


async def one_case(
    folder: Path, start: Start, stop: Stop, *, token: bool, webhooks: bool
) -> dict[str, Any]:
    sandbox = Sandbox()
    stub = BotApiStub()
    name = f"account-{int(token)}{int(webhooks)}.sqlite3"
    app = await start(folder / name, sandbox, stub, HOOKS_ENV if webhooks else None)
    if webhooks:
        await _subscribe(app, sandbox)
    # One client books three times in a second here: the flood guard would slow them down.
    object.__setattr__(app.services, "flood", FloodGuard(time.monotonic, burst=10**6))
    try:
        altegio = app.services.altegio
        user = Client(stub, app, user_id=700_001, first_name="Mia", phone_number=PHONE)
        days = days_ahead(4)
        for day in days[:3]:
            await book_with_anna(user, day)
        local = datetime(days[3].year, days[3].month, days[3].day, 15, tzinfo=BERLIN)
        sandbox.salon_book(COMPANY_ID, PHONE, HAIRCUT, ANNA, local, source="phone")
        if token:
            await _confirm_phone(user, sandbox)
        before = altegio.requests_sent
        await user.send("/appointments")
        listed = sum(1 for label in labels(user) if "·" in label)
        per_list = altegio.requests_sent - before
        # Every appointment's nearest reminder made due now; one tick sends them.
        storage = app.services.storage
        storage.db.execute(
            "UPDATE reminders SET due_at = ? WHERE kind = 'before' AND status = 'pending'",
            [int(datetime.now(BERLIN).timestamp()) - 1],
        )
        before = altegio.requests_sent
        sent = await send_due(app)
        per_reminder = (altegio.requests_sent - before) / sent if sent else None
    finally:
        await stop(app)
    return {
        "user_token": token,
        "webhooks": webhooks,
        "appointments_listed": listed,
        "requests_per_appointments": per_list,
        "reminders_sent": sent,
        "requests_per_reminder": round(per_reminder, 2) if per_reminder is not None else None,
    }


async def account_costs(folder: Path, start: Start, stop: Stop) -> list[dict[str, Any]]:
    return [
        await one_case(folder, start, stop, token=token, webhooks=webhooks)
        for webhooks in (False, True)
        for token in (False, True)
    ]
