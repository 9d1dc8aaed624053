"""Telegram's Bot API for several bots over HTTP, for the replica simulation: each bot's calls
(`/bot<token>/<method>`, as TELEGRAM_API_BASE_URL points here) are answered by that bot's
in-process stand-in, which keeps every chat's transcript; the simulated clients read their
replies there and wait on `Activity` for them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web
from telegram.request import RequestData

from bot.web import Listener
from standins.telegram.bot_api import BotApiStub

# What a change in a chat counts as: the bot said something (an answer to a tap is a toast at
# most; a chat action only says it is working).
SAID = frozenset({"sent", "edited", "deleted"})
QUEUE_NOTE = "⏳ "  # the note of a client waiting in line for Altegio's limit (`bot/queue_note.py`)


@dataclass
class Activity:
    """What the bot did in one chat, as counters a waiting client compares."""

    said: int = 0  # messages sent, edited or deleted
    answered: int = 0  # taps answered
    actions: int = 0  # typing and the like
    last_said: float = 0.0
    last_any: float = 0.0
    woken: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, kind: str, now: float) -> None:
        if kind in SAID:
            self.said += 1
            self.last_said = now
        elif kind == "answered":
            self.answered += 1
        else:
            self.actions += 1
        self.last_any = now
        self.woken.set()

    async def wait(self, seconds: float) -> None:
        """Until the bot does something in this chat, or `seconds` have passed."""
        self.woken.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.woken.wait(), seconds)


class _Form:
    """A request's form as the stand-in reads it (`Params.from_request` takes only these)."""

    def __init__(self, values: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> None:
        self.json_parameters = values
        self.multipart_data = files


class TelegramFront(Listener):
    """The Bot API of every bot in `stubs` (by token) on one port."""

    def __init__(self, stubs: Mapping[str, BotApiStub]) -> None:
        super().__init__()
        self.stubs = dict(stubs)
        self.webhooks: dict[str, str] = {}  # token: the URL the bot last set
        self.calls = 0
        self._activity: dict[tuple[str, int], Activity] = {}
        self.app.router.add_route("*", "/{path:.*}", self._handle)

    def activity(self, token: str, chat_id: int) -> Activity:
        key = (token, chat_id)
        found = self._activity.get(key)
        if found is None:
            found = self._activity[key] = Activity()
        return found

    async def answer(
        self, token: str, method: str, values: dict[str, str], files: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        """One Bot API call, as the HTTP handler makes it (tests call it directly)."""
        stub = self.stubs.get(token)
        if stub is None:
            return 401, b'{"ok":false,"error_code":401,"description":"Unauthorized"}'
        self.calls += 1
        if method.lower() == "setwebhook":
            # Telegram takes the address; the dispatcher, not Telegram, posts the updates here.
            self.webhooks[token] = values.get("url", "")
            return 200, b'{"ok":true,"result":true}'
        before = len(stub.changes)
        form = cast(RequestData, _Form(values, files or {}))
        answer = await stub.do_request(f"http://telegram/bot{token}/{method}", "POST", form)
        now = time.monotonic()
        for change in stub.changes[before:]:
            kind: str = change.kind
            if change.message is not None and change.message.body.startswith(QUEUE_NOTE):
                kind = "action"  # a note that they wait in line: like typing, not a screen
            self.activity(token, change.chat_id).note(kind, now)
        return answer

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        if not path.startswith("bot") or "/" not in path:
            return web.json_response({"ok": False, "error_code": 404}, status=404)
        token, _, method = path[3:].partition("/")
        values: dict[str, str] = dict(request.query)
        files: dict[str, tuple[str, bytes, str]] = {}
        if request.method == "POST":
            try:
                form = await request.post()
            except ConnectionResetError:
                # The bot gave up on the call (a typing notice cancelled as its update ended).
                return web.Response(status=499)
            for name, value in form.items():
                if isinstance(value, str):
                    values[name] = value
                elif isinstance(value, web.FileField):
                    files[name] = (value.filename, value.file.read(), value.content_type)
        status, body = await self.answer(token, method, values, files)
        return web.Response(status=status, body=body, content_type="application/json")
