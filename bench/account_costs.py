"""What reminders and My appointments cost in Altegio requests, with and without the client's
user token (their confirmed phone) and the salon's record webhooks: one client with three
appointments booked in the bot and one the salon entered by phone, on the in-process sandbox."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import BotApplication
from bot.limits import FloodGuard
from conversations.reminders import send_due
from standins.altegio.sandbox import Sandbox
from standins.telegram.bot_api import BotApiStub
from standins.telegram.users import StubUser

PHONE = "+4915199990000"
COMPANY_ID = 1001
HAIRCUT, ANNA = 10001, 2001
BERLIN = ZoneInfo("Europe/Berlin")
WORKDAYS = (1, 2, 3, 4, 5)  # Anna works Tuesday to Saturday

Start = Callable[[Path, Sandbox, BotApiStub], Awaitable[BotApplication]]
Stop = Callable[[BotApplication], Awaitable[None]]


class Client(StubUser):
    """A client whose updates go through the application's update processor, as polled ones do."""

    async def _process(self, update: dict[str, Any]) -> None:
        app = self.app
        assert isinstance(app, BotApplication)
        parsed = Update.de_json(update, app.bot)
        await app.update_processor.process_update(parsed, app.process_update(parsed))


def _days(count: int) -> list[date]:
    day = datetime.now(BERLIN).date() + timedelta(days=7)
    days: list[date] = []
    while len(days) < count:
        if day.weekday() in WORKDAYS:
            days.append(day)
        day += timedelta(days=1)
    return days


def _labels(user: StubUser) -> list[str]:
    return [label for row in user.last.buttons for label in row]


async def _book(user: StubUser, day: date) -> None:
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap(next(b for b in _labels(user) if b.startswith("Anna Weber")))
    await user.send(f"{day.day}.{day.month}.{day.year}")
    await user.tap_number(1)
    if "Yes" in _labels(user):
        await user.tap("Yes")
    else:
        await user.send(PHONE)
        await user.tap("Keep this name")
    await user.tap("Skip")
    await user.tap("✅ Confirm")
    if "You are booked" not in user.last.text:
        raise RuntimeError(f"the benchmark's booking failed: {user.last.text}")


async def _confirm_phone(user: StubUser, sandbox: Sandbox) -> None:
    await user.send("/appointments")
    await user.tap(next(b for b in _labels(user) if b.startswith("Show all my appointments")))
    await user.tap("Send the code")
    code = sandbox.last_sms_code(COMPANY_ID, PHONE)
    if code is None:
        raise RuntimeError("no code was texted")
    await user.send(code)


async def one_case(
    folder: Path, start: Start, stop: Stop, *, token: bool, webhooks: bool
) -> dict[str, Any]:
    sandbox = Sandbox()
    stub = BotApiStub()
    name = f"account-{int(token)}{int(webhooks)}.sqlite3"
    app = await start(folder / name, sandbox, stub)
    # One client books three times in a second here: the flood guard would slow them down.
    object.__setattr__(app.services, "flood", FloodGuard(time.monotonic, burst=10**6))
    try:
        altegio = app.services.altegio
        user = Client(stub, app, user_id=700_001, first_name="Mia", phone_number=PHONE)
        days = _days(4)
        for day in days[:3]:
            await _book(user, day)
        local = datetime(days[3].year, days[3].month, days[3].day, 15, tzinfo=BERLIN)
        sandbox.salon_book(COMPANY_ID, PHONE, HAIRCUT, ANNA, local, source="phone")
        if token:
            await _confirm_phone(user, sandbox)
        before = altegio.requests_sent
        await user.send("/appointments")
        listed = sum(1 for label in _labels(user) if "·" in label)
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
        await one_case(folder, start, stop, token=token, webhooks=False) for token in (False, True)
    ]
