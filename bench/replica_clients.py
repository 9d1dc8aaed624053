"""The replica simulation's clients: people in private chats with one of the bots, whose
updates go to the dispatcher as Telegram's webhook posts would, and who read the bot's replies
at the Bot API stand-in. Each books once: /start, a service, anyone, one of the nearest days, a
free time, contact details, Confirm (and the text-message code where the salon asks for one)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from bench.telegram_http import QUEUE_NOTE, Activity
from standins.telegram.bot_api import BotApiStub
from standins.telegram.transcript import JSONDict, StubMessage
from standins.telegram.users import AnyApplication, StubUser

# A reply is complete when the bot has said something and then nothing for QUIET seconds,
# with something to tap or type on the screen. An update after which the bot does nothing at
# all (no message, no answer, no typing) for `silence` seconds was lost: the client does it again,
# as a person taps again.
QUIET = 0.4
DAYS_LOOKED_AT = 3  # the client picks one of the nearest days offered
REMINDER = "⏰ Reminder of your"

Deliver = Callable[[str, JSONDict], Awaitable[int]]  # (tenant, update) -> status
SmsCode = Callable[[int, str], Awaitable[str | None]]  # (location, phone) -> code


@dataclass
class Tenancy:
    """What a client needs of its bot: its name, location and stand-in."""

    name: str
    company_id: int
    token: str
    stub: BotApiStub
    activity: Callable[[int], Activity]


class WebhookUser(StubUser):
    """A client whose updates go over HTTP through the dispatcher; each action waits for the
    bot's reply at the stand-in, and is done again when it was lost."""

    def __init__(
        self, tenancy: Tenancy, deliver: Deliver, *, silence: float, **details: Any
    ) -> None:
        super().__init__(tenancy.stub, cast(AnyApplication, None), **details)
        self.tenancy = tenancy
        self._deliver = deliver
        self.silence = silence
        self.activity = tenancy.activity(self.chat_id)
        self.resent = 0  # updates done again after silence
        self.undelivered = 0  # posts no replica took (tried again a second later)
        self.waits: list[float] = []
        self.committed_at: datetime | None = None  # the last Confirm (or code) sent

    async def _post(self, update: JSONDict) -> None:
        while await self._deliver(self.tenancy.name, update) >= 300:
            self.undelivered += 1
            await asyncio.sleep(1.0)  # Telegram sends a refused update again a little later

    @property
    def bot_messages(self) -> list[StubMessage]:
        """The bot's messages as a person reads the chat for their next step: a note that they
        wait in line for the salon's system (`bot/queue_note.py`) is a status, not a screen."""
        return [m for m in super().bot_messages if not m.body.startswith(QUEUE_NOTE)]

    def _actionable(self) -> bool:
        messages = self.bot_messages
        return bool(messages and messages[-1].inline_keyboard) or self.reply_keyboard is not None

    async def _process(self, update: JSONDict) -> None:
        act = self.activity
        said, answered = act.said, act.answered
        started = time.monotonic()
        await self._post(update)
        alive = time.monotonic()
        while True:
            now = time.monotonic()
            alive = max(alive, act.last_any)
            if act.said > said and now - act.last_said >= QUIET and self._actionable():
                break
            if now - alive >= self.silence:
                if act.said > said or act.answered > answered:
                    break  # it said what it had to say
                self.resent += 1
                update = self._again(update)
                await self._post(update)
                alive = time.monotonic()
                continue
            left = self.silence - (now - alive)
            if act.said > said:
                left = min(left, max(QUIET - (now - act.last_said), 0.05))
            await act.wait(left)
        self.waits.append(time.monotonic() - started)

    def _again(self, update: JSONDict) -> JSONDict:
        """The same action once more: a tap is a new query, a message comes again."""
        again = {key: value for key, value in update.items() if key != "update_id"}
        again["update_id"] = self.api.next_update_id()
        query = again.get("callback_query")
        if isinstance(query, dict):
            message_id = int(query["message"]["message_id"])
            fresh = self.api.open_callback_query(self.chat_id, self.user_id, message_id)
            again["callback_query"] = {**query, "id": fresh}
        return again

    @property
    def reminders(self) -> int:
        return sum(1 for text in self.bot_texts if text.startswith(REMINDER))


def labels(user: StubUser) -> list[str]:
    messages = user.bot_messages
    return [label for row in messages[-1].buttons for label in row] if messages else []


async def journey(user: WebhookUser, rng: random.Random, sms: SmsCode) -> bool:
    """Book one appointment at one of the nearest days; False when the bot led elsewhere."""
    await user.send("/start")
    if "Book an appointment" in labels(user):
        await user.tap("Book an appointment")
    categories = [label for label in labels(user) if label not in ("Cancel", "« Back")]
    await user.tap(rng.choice(categories))
    services = [label for label in labels(user) if label not in ("Cancel", "« Back")]
    services = [label for label in services if "/" not in label and label not in "‹›"]
    await user.tap(rng.choice(services))
    await user.tap("Any available team member")
    if "Choose a day" in labels(user):
        await user.tap("Choose a day")
    days = [label for label in labels(user) if label.isdigit()]
    if not days:
        following = [label for label in labels(user) if label.endswith(" ›")]
        if following:
            await user.tap(following[0])
            days = [label for label in labels(user) if label.isdigit()]
    if not days:
        return False
    await user.tap(rng.choice(days[:DAYS_LOOKED_AT]))
    return await _to_the_end(user, rng, sms)


async def _to_the_end(user: WebhookUser, rng: random.Random, sms: SmsCode) -> bool:
    """From a day chosen to the booking: a time, contact details, Confirm, the code if asked
    for, another time if taken meanwhile."""
    contact_given = False
    for _ in range(12):
        text = user.last.text or ""
        if "You are booked" in text:
            return True
        if "sent a code" in text:
            code = await sms(user.tenancy.company_id, user.phone_number)
            if code is None:
                return False
            user.committed_at = datetime.now(UTC)
            await user.send(code)
            continue
        choices = [
            label
            for label in labels(user)
            if ":" in label or (label[:1].isdigit() and " " in label)
        ]
        if "Free times" in text and choices:
            await user.tap(rng.choice(choices))
        elif "nearest days" in text or "no free times" in text.lower():
            options = [label for label in labels(user) if "," in label]
            if not options:
                return False
            await user.tap(rng.choice(options))
            continue
        if not contact_given and user.reply_keyboard:
            await user.tap("📱 Share my phone number")
            await user.tap("Keep this name")
            if "Skip" in labels(user):
                await user.tap("Skip")
            contact_given = True
        if "✅ Confirm" in labels(user):
            user.committed_at = datetime.now(UTC)
            await user.tap("✅ Confirm")
        elif "Try again" in labels(user):
            await user.tap("Try again")
    return "You are booked" in (user.last.text or "")
