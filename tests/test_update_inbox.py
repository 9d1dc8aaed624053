"""Webhook updates kept until handled: one the bot answered 200 for and then died before
handling is handled after all (at the next start; with replicas, by another replica), once, and
never books twice; one whose chat moved on, or too old, is not."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import update_inbox
from bot.storage import Storage
from bot.web import SECRET_HEADER, WebServer
from standins.telegram.users import StubUser
from tests.conftest import Bot, postgres_only
from tests.test_never_two import Died
from tests.test_real_answers import buttons, live, to_summary
from tests.test_replicas_jobs import dies, replica_of, tick

BOTH_ENGINES = True
SECRET = "s3cret_-token"
PATH = "/tg/5f0c2d9e7a"
GONE = 424242


async def never(_seconds: float) -> None:
    await asyncio.Event().wait()


class Dies(httpx.AsyncBaseTransport):
    """The sandbox, where the process dies at one call of a route (of `method`), once armed:
    before the sandbox sees it, or after it carried it out (`after`)."""

    def __init__(self, ref: list[Bot], route: str, method: str, *, after: bool = False) -> None:
        self.ref, self.route, self.method, self.after = ref, route, method, after
        self.armed = False
        self.died = asyncio.Event()
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        hit = request.method == self.method and f"/v1/{self.route}/" in request.url.path
        self.calls += hit
        if not (self.armed and hit):
            return self.ref[0].sandbox.handle(request)
        self.armed = False
        if self.after:
            self.ref[0].sandbox.handle(request)
        self.died.set()
        raise Died


class Posted(StubUser):
    """A client whose updates reach the bot as Telegram's webhook posts do: answered 200 once
    noted, handled after."""

    client: httpx.AsyncClient

    async def _process(self, update: dict[str, Any]) -> None:
        answer = await self.client.post(PATH, json=update, headers={SECRET_HEADER: SECRET})
        assert answer.status_code == 200


@pytest.fixture
async def served() -> AsyncIterator[Callable[[Bot], Any]]:
    servers: list[WebServer] = []
    clients: list[httpx.AsyncClient] = []

    async def serve(bot: Bot) -> Posted:
        assert bot.app is not None
        server = WebServer(bot.app, path=PATH, secret=SECRET, tick_interval=10.0)
        port = await server.start("127.0.0.1", 0)
        servers.append(server)
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
        clients.append(client)
        user = Posted(bot.stub, bot.app, user_id=100001, first_name="Anna", last_name="Schmidt")
        user.client = client
        return user

    yield serve
    for client in clients:
        await client.aclose()
    for server in servers:
        await server.stop()


async def settle(done: Callable[[], bool]) -> None:
    for _ in range(20_000):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError("never happened")


async def to_day(user: StubUser) -> None:
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))


async def test_an_update_taken_and_never_handled_is_handled_at_the_next_start(
    make_bot: Callable[..., Any], served: Callable[[Bot], Any]
) -> None:
    ref: list[Bot] = []
    wire = Dies(ref, "book_times", "GET")
    bot: Bot = await make_bot(transport=wire, slow_sleep=never)
    ref.append(bot)
    await to_day(bot.user())
    user = await served(bot)
    wire.armed = True
    await user.send("Friday")  # answered 200; its free times never come: the process dies
    await wire.died.wait()
    await dies(bot)
    assert "Free times on" not in user.last.text

    await bot.start()
    assert bot.app is not None
    assert await update_inbox.take_back(bot.app, at_start=True) == 1
    await settle(lambda: "Free times on" in user.last.text)
    await settle(lambda: bot.app is not None and not bot.app.kept_updates)
    # Handled now: not again at the next start.
    assert await update_inbox.take_back(bot.app, at_start=True) == 0


async def test_a_confirm_taken_back_never_books_twice(
    make_bot: Callable[..., Any], served: Callable[[Bot], Any]
) -> None:
    """The booking went through at Altegio, and the process died before its answer was used:
    the Confirm handled again at the next start finds the call noted, and waits for its
    outcome instead of calling again."""
    ref: list[Bot] = []
    wire = Dies(ref, "book_record", "POST", after=True)
    bot: Bot = await make_bot(transport=wire, slow_sleep=never)
    ref.append(bot)
    await to_summary(bot.user())
    user = await served(bot)
    wire.armed = True
    await user.tap("✅ Confirm")
    await wire.died.wait()
    assert len(live(bot)) == 1  # booked at Altegio; the bot never heard
    await dies(bot)

    await bot.start()
    assert bot.app is not None
    assert await update_inbox.take_back(bot.app, at_start=True) == 1
    await settle(lambda: bot.app is not None and not bot.app.kept_updates)
    assert wire.calls == 1  # no second booking call
    assert len(live(bot)) == 1
    # The client hears of it as after any crash mid-booking (this location cannot tell it
    # the booking: the salon is asked), and nothing is booked again.
    await bot.settle()
    assert any("restarted while your booking was being made" in t for t in user.bot_texts)
    assert "cannot confirm your booking" in user.last.text
    assert wire.calls == 1
    assert len(live(bot)) == 1


async def test_an_update_whose_chat_moved_on_or_too_old_is_not_handled_late(
    make_bot: Callable[..., Any],
) -> None:
    bot: Bot = await make_bot(slow_sleep=never)
    assert bot.app is not None and bot.services is not None
    storage, now = bot.services.storage, bot.clock.now()
    user = bot.user()
    await to_day(user)

    def kept(update_id: int, text: str, chat: int = user.chat_id) -> None:
        body = json.dumps({**user.message_update(text), "update_id": update_id})
        # Taken by a process gone (with replicas, an id no live replica holds).
        assert storage.first_delivery(update_id, now, chat_id=chat, body=body, by=GONE)

    kept(9001, "Saturday")  # its chat moved on: a later update of the chat was handled
    assert storage.first_delivery(9002, now, chat_id=user.chat_id, body="{}", by=GONE)
    storage.update_handled(9002)
    kept(9003, "Monday", chat=555)  # another chat's, too long ago when looked at
    assert storage.first_delivery(9004, now) is True  # an id only: handled as it came
    assert storage.first_delivery(9004, now) is False
    bot.clock.advance(seconds=update_inbox.TAKE_BACK_WITHIN + 1)
    now = bot.clock.now()
    kept(9005, "Friday")  # recent, nothing of its chat after it
    assert await update_inbox.take_back(bot.app, at_start=True) == 1
    await settle(lambda: "Free times on Fri" in user.last.text)
    assert not any("Sat" in t or "Mon" in t for t in user.bot_texts if "Free times" in t)
    await settle(lambda: bot.app is not None and not bot.app.kept_updates)
    assert storage.unhandled_updates(bot.clock.now(), within=10**6) == []


def test_kept_updates_come_back_oldest_first_until_handled(tmp_path: Path) -> None:
    """(The storage of one process, looked at its start.) Two of one chat and one of another,
    unhandled: all three, oldest first, again at every start until handled."""
    storage = Storage.open(tmp_path / "kept.sqlite3")
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    for update_id, chat in ((12, 1), (11, 1), (13, 2)):
        storage.first_delivery(update_id, now, chat_id=chat, body=f'{{"n": {update_id}}}')
    found = storage.unhandled_updates(now, within=60)
    assert [u.update_id for u in found] == [11, 12, 13]
    assert found[0].body == '{"n": 11}'
    assert storage.unhandled_updates(now, within=60) == found
    for update in found:
        storage.update_handled(update.update_id)
    assert storage.unhandled_updates(now, within=60) == []
    storage.close()


@postgres_only
async def test_a_dead_replicas_update_is_handled_by_a_live_one(
    make_bot: Callable[..., Any], served: Callable[[Bot], Any], tmp_path: Path
) -> None:
    ref: list[Bot] = []
    wire = Dies(ref, "book_times", "GET")
    first: Bot = await make_bot(transport=wire, slow_sleep=never)
    ref.append(first)
    second = await replica_of(first, tmp_path, slow_sleep=never)
    try:
        await to_day(second.user(through_processor=True))
        user = await served(first)
        wire.armed = True
        await user.send("Friday")  # taken by the first replica, which dies handling it
        await wire.died.wait()
        await tick(second)
        assert "Free times on" not in user.last.text  # a live replica's is left to it
        await dies(first)
        await tick(second)
        await settle(lambda: "Free times on" in user.last.text)
        await tick(second)
        assert sum("Free times on" in t for t in user.bot_texts) == 1
    finally:
        await second.stop()
