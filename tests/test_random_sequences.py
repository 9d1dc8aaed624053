"""Random sequences of what clients do — taps, texts, odd messages, Altegio outages, time passing,
restarts — and the promises that must hold after any of them: no unhandled error, and every
booking the bot confirmed exists exactly once in Altegio, known to the bot."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.reminders import send_due
from standins.altegio.sandbox import Sandbox
from standins.telegram.bot_api import BotApiStub
from tests.conftest import Bot, FakeClock

PHONE = "+4915123456789"
TEXTS = [
    "/book",
    "/start",
    "/cancel",
    "/appointments",
    "/settings",
    "Friday",
    "tomorrow after 3",
    "25.12",
    "+49 151 23456789",
    "0151 23456789",
    "Anna Schmidt",
    "1234",
    "hello",
    "",
    "x" * 300,
]
ODD = ["sticker", "photo", "location", "own contact", "foreign contact", "forged", "edit"]


def _step(roll: int, value: int) -> tuple[str, Any]:
    """Mostly a client making progress, now and then anything else."""
    if roll < 12:
        return ("journey", value)  # a whole booking, as far as it goes
    if roll < 84:
        return ("ahead", value)
    if roll < 89:
        return ("tap", value)
    if roll < 92:
        return ("text", TEXTS[value % len(TEXTS)])
    if roll < 95:
        return ("odd", ODD[value % len(ODD)])
    if roll < 97:
        return ("blip", value)  # Altegio refuses connections for this one action
    if roll < 98:
        return ("later", 1 + value % 30)
    return ("restart", value % 2 == 0)


actions = st.lists(
    st.builds(_step, st.integers(0, 99), st.integers(0, 99)), min_size=10, max_size=80
)

SKIP = {"« Back", "Cancel", " ", "·", "‹", "›"}


async def ahead(user: Any, pick: int) -> None:
    """What a client who wants an appointment taps next (with some variety)."""
    labels = [label for row in user.last.buttons for label in row] if user.bot_messages else []
    keyboard = [label for row in user.reply_keyboard or [] for label in row]
    for wanted in ("✅ Confirm", "✅ Move it", "Keep this name", "Skip", "Yes"):
        if wanted in labels:
            await user.tap(wanted)
            return
    if keyboard:
        await user.tap(keyboard[0])  # share my phone number
        return
    days = [label for label in labels if label.isdigit()]
    if days:
        await user.tap(days[pick % len(days)])
        return
    useful = [label for label in labels if label not in SKIP and "/" not in label]
    if useful:
        await user.tap(useful[pick % min(len(useful), 2)])
    else:
        await user.send("/book")


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def play(steps: list[tuple[str, Any]], folder: Path) -> None:
    clock = FakeClock()
    sandbox = Sandbox(clock.now)
    down = {"on": False}

    def handler(request: httpx.Request) -> httpx.Response:
        if down["on"]:
            raise httpx.ConnectError("refused", request=request)
        return sandbox.handle(request)

    bot = Bot(clock, sandbox, folder / "bot.sqlite3", BotApiStub(clock=clock.now))
    bot.transport = httpx.MockTransport(handler)
    errors = Errors()
    logging.getLogger().addHandler(errors)
    try:
        await bot.start()
        user = bot.user(phone_number=PHONE)
        await user.send("/start")
        for kind, value in steps:
            await act(bot, kind, value, down)
            user = bot.user(phone_number=PHONE)
        down["on"] = False
        check(bot, errors)
    finally:
        logging.getLogger().removeHandler(errors)
        await bot.stop()


async def act(bot: Bot, kind: str, value: Any, down: dict[str, bool]) -> None:
    user = bot.user(phone_number=PHONE)
    if kind == "ahead":
        await ahead(user, value)
    elif kind == "journey":
        for _ in range(16):
            await ahead(bot.user(phone_number=PHONE), value)
            if "You are booked" in bot.user(phone_number=PHONE).last.text:
                break
    elif kind == "tap":
        labels = [label for row in user.last.buttons for label in row] if user.bot_messages else []
        keyboard = [label for row in user.reply_keyboard or [] for label in row]
        choices = labels + keyboard
        if choices:
            await user.tap(choices[value % len(choices)])
        else:
            await user.send("/book")
    elif kind == "text":
        if value:
            await user.send(value)
    elif kind == "odd":
        if value == "sticker":
            await user.send_sticker()
        elif value == "photo":
            await user.send_photo()
        elif value == "location":
            await user.send_location(52.5, 13.4)
        elif value == "own contact":
            await user.share_contact(PHONE)
        elif value == "foreign contact":
            await user.share_contact("+4917699999999", user_id=555)
        elif value == "forged":
            await user.tap_data("b1:abcdef:confirm")
        elif value == "edit":
            await user.send("tomorrow")
            await user.edit_last("Friday")
    elif kind == "blip":
        down["on"] = True
        try:
            await ahead(user, value)
        finally:
            down["on"] = False
    elif kind == "later":
        bot.clock.advance(hours=value)
        assert bot.app is not None
        await send_due(bot.app)
    elif kind == "restart":
        await bot.restart(graceful=value)


def check(bot: Bot, errors: Errors) -> None:
    assert [r.getMessage() for r in errors.records] == []
    user = bot.user(phone_number=PHONE)
    texts = user.bot_texts
    made = [r for r in bot.sandbox.records(1001) if r["phone"] == PHONE]
    confirmed = sum("You are booked" in t for t in texts)
    moved = sum("Your appointment is moved" in t for t in texts)
    # Every appointment Altegio holds for this client was confirmed to them, and only once.
    assert len(made) == confirmed + moved, (len(made), confirmed, moved)
    active = [r for r in made if not r["deleted"]]
    assert len({r["start"] for r in active}) == len(active)
    assert bot.services is not None
    known = {b.record_id for b in bot.services.storage.bookings_for_chat(user.chat_id)}
    assert {r["record_id"] for r in made} <= known


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(actions)
def test_random_sequences_keep_every_promise(steps: list[tuple[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(play(steps, Path(folder)))
