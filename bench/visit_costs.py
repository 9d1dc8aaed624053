"""What a visit of several services costs in Altegio requests, against a single service: one
client books a few visits with Anna on the in-process sandbox (Women's haircut, Women's haircut
with Blow-dry & styling added, and Women's haircut then Gel manicure with Mia: a visit in two
parts), the first with every cache cold, the others warm."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.account_costs import Client, book_with_anna, days_ahead
from bot.context import BotApplication
from bot.limits import FloodGuard
from standins.altegio.sandbox import Sandbox
from standins.telegram.bot_api import BotApiStub

PHONE = "+4915199990001"
BERLIN = ZoneInfo("Europe/Berlin")
WORKDAYS = (1, 2, 3, 4)  # Anna works Tuesday to Saturday; Fridays are busy in the seed

Start = Callable[[Path, Sandbox, BotApiStub, dict[str, str] | None], Awaitable[BotApplication]]
Stop = Callable[[BotApplication], Awaitable[None]]


async def one_case(
    folder: Path, start: Start, stop: Stop, added: str | None, visits: int
) -> dict[str, Any]:
    sandbox = Sandbox()
    stub = BotApiStub()
    name = f"visits-{(added or 'one').split()[0].lower()}.sqlite3"
    app = await start(folder / name, sandbox, stub, None)
    # One client books several times in a few seconds here: the flood guard would slow them.
    object.__setattr__(app.services, "flood", FloodGuard(time.monotonic, burst=10**6))
    counts = []
    try:
        altegio = app.services.altegio
        user = Client(stub, app, user_id=700_101, first_name="Lea", phone_number=PHONE)
        for day in days_ahead(visits, WORKDAYS):
            before = altegio.requests_sent
            then = "Mia Hoffmann" if added == PARTS else None  # nobody does both: Mia after
            await book_with_anna(user, day, PHONE, added, then)
            counts.append(altegio.requests_sent - before)
    finally:
        await stop(app)
    warm = counts[1:]
    return {
        "services": 2 if added else 1,
        "parts": 2 if added == PARTS else 1,
        "visits": visits,
        "requests_first": counts[0],
        "requests_per_visit_warm": round(sum(warm) / len(warm), 2) if warm else None,
        "requests_per_visit": round(sum(counts) / len(counts), 2),
    }


async def visit_costs(folder: Path, start: Start, stop: Stop) -> list[dict[str, Any]]:
    return [
        await one_case(folder, start, stop, added, visits=4)
        for added in (None, "Blow-dry & styling", PARTS)
    ]


PARTS = "Gel manicure · after"  # nobody does both: Anna, then Mia
