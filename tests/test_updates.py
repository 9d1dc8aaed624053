"""The update processor: one update at a time per chat, chats in parallel, and a typing
indicator for an update that takes a while; the flood guard."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update, User

from bot.limits import FloodGuard
from bot.updates import PerChatUpdateProcessor


def update(chat_id: int, update_id: int = 1) -> Update:
    user = User(chat_id, "Anna", False)
    chat = Chat(chat_id, "private")
    message = Message(update_id, datetime(2026, 11, 24, tzinfo=UTC), chat, from_user=user, text="x")
    return Update(update_id, message=message)


async def yield_once(_seconds: float) -> None:
    await asyncio.sleep(0)


async def test_one_chat_in_order_many_chats_at_once() -> None:
    processor = PerChatUpdateProcessor(16)
    events: list[str] = []
    gate = asyncio.Event()

    async def work(name: str, wait: bool) -> None:
        events.append(f"{name} start")
        if wait:
            await gate.wait()
        events.append(f"{name} end")

    first = asyncio.create_task(processor.process_update(update(1, 1), work("a1", True)))
    second = asyncio.create_task(processor.process_update(update(1, 2), work("a2", False)))
    other = asyncio.create_task(processor.process_update(update(2, 3), work("b", False)))
    for _ in range(10):
        await asyncio.sleep(0)  # let every task run as far as it can, without real time passing
    assert events == ["a1 start", "b start", "b end"]  # chat 2 did not wait for chat 1
    gate.set()
    await asyncio.gather(first, second, other)
    assert events[-3:] == ["a1 end", "a2 start", "a2 end"]


async def test_a_slow_update_shows_typing_and_a_quick_one_does_not() -> None:
    shown: list[int] = []

    async def typing(u: Update) -> None:
        assert u.effective_chat is not None
        shown.append(u.effective_chat.id)

    processor = PerChatUpdateProcessor(16, on_slow=typing, sleep=yield_once)

    async def quick() -> None:
        return None

    await processor.process_update(update(1), quick())
    assert shown == []
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()

    task = asyncio.create_task(processor.process_update(update(2), slow()))
    for _ in range(5):
        await asyncio.sleep(0)
    assert 2 in shown
    gate.set()
    await task


def test_flood_guard_slows_one_client_alone() -> None:
    now = [0.0]
    guard = FloodGuard(lambda: now[0], burst=5, rate=1.0)
    results = [guard.allow(1) for _ in range(7)]
    assert [r[0] for r in results] == [True] * 5 + [False, False]
    assert [r[1] for r in results] == [False] * 5 + [True, False]  # told once
    assert guard.allow(2) == (True, False)  # someone else is untouched
    now[0] = 2.0
    assert guard.allow(1)[0]
