"""Replicas of one bot on one PostgreSQL database, each taking any update of any chat: a chat's
updates one at a time across them, and its conversation going on at whichever replica gets the
next tap."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Chat, Message, Update, User

from bot.chat_locks import ChatTurnUnavailable, PgChatLocks, lock_key
from bot.updates import PerChatUpdateProcessor
from standins.telegram.bot_api import BotApiStub
from standins.telegram.users import StubUser
from tests.conftest import Bot, FakeClock, Sandbox

SCHEMA = "altegio_bot"
PHONE = "+4915123456789"


@pytest.fixture
async def replicas(
    pg_dsn: str, clock: FakeClock, sandbox: Sandbox, tmp_path: Path
) -> AsyncIterator[Callable[[], Awaitable[Bot]]]:
    """Replicas of one bot: one database and schema, one Telegram, one Altegio; each its own
    process's parts (services, Application, update processor, chat locks)."""
    stub = BotApiStub(clock=clock.now)
    made: list[Bot] = []

    async def start(**options: Any) -> Bot:
        replica = Bot(
            clock,
            sandbox,
            tmp_path / f"unused{len(made)}.sqlite3",
            stub,
            database_url=pg_dsn,
            schema=SCHEMA,
            env={"DATABASE_URL": pg_dsn, "DATABASE_SCHEMA": SCHEMA, **options.pop("env", {})},
            # The Altegio limit as one process keeps it, on the fake clock (its sharing
            # through the database is tested on its own).
            altegio_options={"limiter": None},
            slow_sleep=never,
            **options,
        )
        await replica.start()
        made.append(replica)
        return replica

    yield start
    for replica in made:
        await replica.stop()


async def never(_seconds: float) -> None:
    await asyncio.Event().wait()  # no typing indicator: the fake clock would spin on it


def client(replica: Bot) -> StubUser:
    assert replica.app is not None
    return StubUser(
        replica.stub, replica.app, user_id=100001, first_name="Anna", through_processor=True
    )


def at(user: StubUser, replica: Bot) -> StubUser:
    """The same client, their next update reaching `replica` (the load balancer's choice)."""
    assert replica.app is not None
    routed = copy.copy(user)
    routed.app = replica.app
    return routed


async def to_summary(user: StubUser, one: Bot, other: Bot) -> None:
    """The booking flow up to the summary, each step at the other replica than the one before."""
    await at(user, one).send("/book")
    await at(user, other).tap("Hair")
    await at(user, one).tap("Women's haircut")
    await at(user, other).tap("Any available team member")
    await at(user, one).send("Friday")
    await at(user, other).tap_number(1)
    await at(user, one).send("+49 151 23456789")
    await at(user, other).tap("Keep this name")
    await at(user, one).tap("Skip")
    assert "Please check your booking" in user.last.text, user.screen()


def confirm_data(user: StubUser) -> str:
    return next(
        str(button["callback_data"])
        for row in user.last.message.inline_keyboard
        for button in row
        if button["text"] == "✅ Confirm"
    )


def booked(replica: Bot) -> int:
    return sum(r["phone"] == PHONE for r in replica.sandbox.records(1001))


async def test_a_booking_goes_on_step_by_step_at_alternating_replicas(replicas: Any) -> None:
    a, b = await replicas(), await replicas()
    user = client(a)
    await to_summary(user, a, b)
    await at(user, b).tap("✅ Confirm")
    assert "You are booked" in user.last.text
    assert booked(a) == 1
    assert not any("went wrong" in text for text in user.bot_texts)


class Delivered(StubUser):
    """A client whose updates reach a replica as the webhook hands them over: on its update
    queue, each handled by PTB in a task of its own (which marks the user's data as changed
    once more when it ends, after the chat's turn wrote it)."""

    async def _process(self, update: dict[str, Any]) -> None:
        app = self.app
        await app.update_queue.put(Update.de_json(update, app.bot))
        await app.update_queue.join()
        for _ in range(20):
            await asyncio.sleep(0)  # the task's own end


async def test_a_booking_delivered_by_webhook_goes_on_at_alternating_replicas(
    replicas: Any,
) -> None:
    """The phone given at one replica is known at the other: a replica writes a client's data
    only in their chat's turn, never a copy of its own later (it once did, when PTB marked it
    again after the turn, and the other replica then asked for the phone again)."""
    a, b = await replicas(), await replicas()
    assert a.app is not None and b.app is not None and b.services is not None
    user = Delivered(a.stub, a.app, user_id=100001, first_name="Anna")
    await to_summary(user, a, b)
    await at(user, b).tap("✅ Confirm")
    assert "You are booked" in user.last.text, user.screen()
    assert booked(a) == 1
    # Nothing of the client's written later by either replica undoes the other's.
    for replica in (a, b):
        assert replica.app is not None
        await replica.app.update_persistence()
    stored = b.services.storage.chat_state([], [], 100001)[1]
    assert stored is not None and stored.get("draft") is None


async def test_two_confirm_taps_at_two_replicas_at_once_book_once(replicas: Any) -> None:
    a, b = await replicas(), await replicas()
    user = client(a)
    await to_summary(user, b, a)
    summary = user.last.message
    confirm = confirm_data(user)
    await asyncio.gather(
        at(user, a).tap_data(confirm, summary.message_id),
        at(user, b).tap_data(confirm, summary.message_id),
    )
    assert booked(a) == 1
    assert sum("You are booked" in text for text in user.bot_texts) == 1
    assert not any("went wrong" in text for text in user.bot_texts)
    assert not user.api.unanswered_queries


class Gate(httpx.AsyncBaseTransport):
    """The sandbox, with booking calls held until the gate opens."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.open = asyncio.Event()
        self.reached = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        if request.method == "POST" and "book_record" in request.url.path:
            self.reached.set()
            await self.open.wait()
        return self.sandbox.handle(request)


async def test_a_tap_at_one_replica_waits_for_the_chats_update_under_way_at_another(
    replicas: Any, sandbox: Sandbox
) -> None:
    gate = Gate(sandbox)
    a, b = await replicas(transport=gate), await replicas()
    user = client(a)
    await to_summary(user, b, a)
    summary = user.last.message
    confirm = confirm_data(user)
    first = asyncio.create_task(at(user, a).tap_data(confirm, summary.message_id))
    await asyncio.wait_for(gate.reached.wait(), 10)  # A is booking, at Altegio
    # The client taps Confirm again; the load balancer sends it to B.
    second = asyncio.create_task(at(user, b).tap_data(confirm, summary.message_id))
    await asyncio.sleep(0.1)  # time enough for B to go ahead, were it not to wait
    assert not second.done()
    assert len(user.api.unanswered_queries) == 2  # B has not even answered its tap
    gate.open.set()
    await asyncio.wait_for(asyncio.gather(first, second), 10)
    assert "You are booked" in user.last.text
    assert not user.api.unanswered_queries
    assert booked(a) == 1


async def test_a_replica_killed_mid_conversation_and_another_goes_on(replicas: Any) -> None:
    a, b = await replicas(), await replicas()
    user = client(a)
    await at(user, a).send("/book")
    await at(user, a).tap("Hair")
    await at(user, a).tap("Women's haircut")
    await a.stop(graceful=False)  # a crash: nothing written at a stop, its connections gone
    await at(user, b).tap("Any available team member")
    assert "The earliest free times" in user.last.text, user.screen()
    await at(user, b).send("Friday")
    await at(user, b).tap_number(1)
    await at(user, b).send("+49 151 23456789")
    await at(user, b).tap("Keep this name")
    await at(user, b).tap("Skip")
    await at(user, b).tap("✅ Confirm")
    assert "You are booked" in user.last.text
    assert booked(b) == 1


async def test_a_booking_cancelled_at_one_replica_is_over_at_the_other(replicas: Any) -> None:
    a, b = await replicas(), await replicas()
    user = client(a)
    await at(user, a).send("/book")
    await at(user, a).tap("Hair")
    await at(user, b).send("/cancel")
    shown = len(user.bot_messages)
    await at(user, a).tap("Women's haircut")  # on the menu replica A showed before
    # Replica A does not go on with the booking B ended: the old button is answered quietly.
    assert user.callback_answers[-1].text == ""
    assert len(user.bot_messages) == shown
    assert not user.api.unanswered_queries
    assert a.app is not None
    assert a.app.user_data[user.user_id].draft is None


async def test_what_the_client_typed_goes_on_at_a_location_chosen_at_another_replica(
    replicas: Any,
) -> None:
    a, b = (
        await replicas(env={"ALTEGIO_GROUP_ID": "100"}),
        await replicas(env={"ALTEGIO_GROUP_ID": "100"}),
    )
    user = client(a)
    await at(user, a).send("manicure with Sofia tomorrow after 5")
    assert "Which of our locations" in user.last.text, user.screen()
    await at(user, b).tap("Studio Aurora")
    assert "Sofia Becker" in user.last.text, user.screen()


# --- the turns themselves -------------------------------------------------------------------


def update(chat_id: int, update_id: int = 1) -> Update:
    user = User(chat_id, "Anna", False)
    chat = Chat(chat_id, "private")
    message = Message(update_id, datetime(2026, 11, 24, tzinfo=UTC), chat, from_user=user, text="x")
    return Update(update_id, message=message)


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for what PostgreSQL does at its own pace (a lock granted): at most 10 s."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"not within 10 s: {what}")


@pytest.fixture
async def processors(pg_dsn: str) -> AsyncIterator[tuple[PerChatUpdateProcessor, ...]]:
    made = [PerChatUpdateProcessor(64, shared=PgChatLocks(pg_dsn, SCHEMA)) for _ in range(2)]
    yield tuple(made)
    for processor in made:
        await processor.shutdown()


async def test_one_chat_at_two_replicas_in_turn_other_chats_at_once(
    processors: tuple[PerChatUpdateProcessor, ...],
) -> None:
    a, b = processors
    events: list[str] = []
    gate = asyncio.Event()

    async def work(name: str, wait: bool = False) -> None:
        events.append(f"{name} start")
        if wait:
            await gate.wait()
        events.append(f"{name} end")

    first = asyncio.create_task(a.process_update(update(1, 1), work("a1", wait=True)))
    await until(lambda: "a1 start" in events, "the first update started")
    second = asyncio.create_task(b.process_update(update(1, 2), work("b1")))
    other = asyncio.create_task(b.process_update(update(2, 3), work("b2")))
    await until(lambda: "b2 end" in events, "another chat's update, at the other replica")
    await asyncio.sleep(0.05)
    assert "b1 start" not in events  # the chat's next update waits for the first
    gate.set()
    await asyncio.wait_for(asyncio.gather(first, second, other), 10)
    assert events.index("a1 end") < events.index("b1 start")


async def test_the_turn_is_let_go_when_its_holders_connection_dies(
    pg_dsn: str, processors: tuple[PerChatUpdateProcessor, ...]
) -> None:
    import psycopg

    a, b = processors
    held, gate = asyncio.Event(), asyncio.Event()

    async def hold_forever() -> None:
        async with a.turn(1):
            held.set()
            await gate.wait()

    holder = asyncio.create_task(hold_forever())
    await asyncio.wait_for(held.wait(), 10)
    ran: list[str] = []

    async def work() -> None:
        ran.append("b1")

    waiting = asyncio.create_task(b.process_update(update(1, 2), work()))
    await asyncio.sleep(0.05)
    assert ran == []
    # Replica A's host dies: PostgreSQL ends its connection, and the lock goes with it.
    space, chat = lock_key(SCHEMA, 1)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' "
            "AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2",
            (space & 0xFFFFFFFF, chat & 0xFFFFFFFF),
        )
    await asyncio.wait_for(waiting, 10)
    assert ran == ["b1"]
    gate.set()
    await asyncio.wait_for(holder, 10)  # A lets go of a lock it no longer has: no error


async def test_a_database_out_of_reach_declines_the_update_at_once(tmp_path: Path) -> None:
    declined: list[int] = []

    async def decline(u: Update, _error: Exception) -> None:
        assert u.effective_chat is not None
        declined.append(u.effective_chat.id)

    locks = PgChatLocks(f"postgresql:///nobody?host={tmp_path}&connect_timeout=1", SCHEMA)
    processor = PerChatUpdateProcessor(16, shared=locks)
    processor.on_declined = decline
    ran: list[int] = []

    async def work() -> None:
        ran.append(1)

    await processor.process_update(update(5), work())
    await processor.process_update(update(5, 2), work())  # said once, then not asked again
    assert ran == [] and declined == [5, 5]
    with pytest.raises(ChatTurnUnavailable):
        async with processor.turn(5):
            pass  # the salon's change to an appointment: waits for the next tick
    await processor.shutdown()
