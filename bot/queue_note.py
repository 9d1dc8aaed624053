"""What a client sees while their update waits in the line for Altegio's rate limit: a second
after it joined the line, a short note that the salon is busy, their number in the line and a
rough wait, updated in place as the line moves, and gone once their screen has come (the update
handled). Nothing runs for an update that never waits in the line.

The place is the update's own (`bot/altegio/queue_place.py`); only an update whose requests
are in the line gets a note, so a slow Altegio alone still shows the typing indicator only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from telegram import Bot, Update
from telegram.error import TelegramError

from bot.altegio.queue_place import Place
from bot.i18n import Translator
from bot.services import Services
from bot.storage import StorageUnavailable
from bot.updates import Queued

log = logging.getLogger(__name__)

AFTER = 1.0  # seconds an update waits before its note comes
# Seconds between two looks at the line. Every note is a message sent, edited and deleted, and
# Telegram's own limits (about 30 a second for the whole bot, which python-telegram-bot's
# limiter keeps to) are shared with the screens themselves: in a rush of hundreds, notes edited
# every few seconds would hold the screens back. So a note is edited at most this often, and
# only when what it says has changed (the wait is said in rough steps).
EVERY = 10.0


def queue_note(services: Services, sleep: Callable[[float], Awaitable[None]]) -> Queued:
    """The update processor's `on_queued`: the note around an update's handling."""

    @contextlib.asynccontextmanager
    async def around(update: Update, place: Place) -> AsyncIterator[None]:
        chat = update.effective_chat
        if chat is None or chat.type != "private":
            yield
            return
        note = _Note(update.get_bot(), chat.id, lambda: _translator(services, update))
        follow: list[asyncio.Future[None]] = []  # begun once the update waits in the line

        def begin() -> None:
            follow.append(asyncio.ensure_future(note.follow(place, sleep)))

        place.on_first_wait = begin
        try:
            yield
        finally:
            place.on_first_wait = None
            for task in follow:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await note.remove()

    return around


class _Note:
    def __init__(self, bot: Bot, chat_id: int, translator: Callable[[], Translator]) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._translator = translator
        self._t: Translator | None = None
        self._message_id: int | None = None
        self._text = ""

    async def follow(self, place: Place, sleep: Callable[[float], Awaitable[None]]) -> None:
        """From the update's first wait in the line: a second later the note, then a look
        every `EVERY` seconds."""
        await sleep(AFTER)
        while True:
            if place.waiting:
                await self._say(place)
            await sleep(EVERY)

    async def _say(self, place: Place) -> None:
        if self._t is None:
            self._t = self._translator()
        seconds = rough(place.seconds)
        text = self._t.ngettext(
            "⏳ Many clients are booking right now. You are number %(number)s in line; your "
            "answer comes in about %(seconds)s second.",
            "⏳ Many clients are booking right now. You are number %(number)s in line; your "
            "answer comes in about %(seconds)s seconds.",
            seconds,
            number=place.number,
            seconds=seconds,
        )
        if text == self._text:
            return
        try:
            if self._message_id is None:
                message = await self._bot.send_message(self._chat_id, text)
                self._message_id = message.message_id
            else:
                await self._bot.edit_message_text(text, self._chat_id, self._message_id)
        except TelegramError as exc:
            log.info("the line's note not shown: %s", exc)
            return
        self._text = text

    async def remove(self) -> None:
        """The client's screen has come: the note goes."""
        if self._message_id is None:
            return
        message_id, self._message_id = self._message_id, None
        with contextlib.suppress(TelegramError):
            await self._bot.delete_message(self._chat_id, message_id)


def rough(seconds: int) -> int:
    """A wait as a note says it: to 5 seconds up to half a minute, to 10 up to two minutes,
    to the half minute beyond."""
    step = 5 if seconds <= 30 else 10 if seconds <= 120 else 30
    return max(step, -(-seconds // step) * step)


def _translator(services: Services, update: Update) -> Translator:
    """The client's language: the one chosen in the bot, else their Telegram app's."""
    catalogs = services.catalogs
    chat = update.effective_chat
    try:
        chosen = services.storage.language(chat.id) if chat else None
    except StorageUnavailable:
        chosen = None
    if chosen not in catalogs.languages:
        user = update.effective_user
        chosen = catalogs.pick(user.language_code if user else None)
    return catalogs.translator(chosen)
