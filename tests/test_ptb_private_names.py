"""The private names of python-telegram-bot the bot relies on (see `bot/persistence.py`): each
is checked here on a real application, so that a PTB release that renames or retypes one fails
with a message naming it, not with a conversation quietly never saved."""

from __future__ import annotations

import ast
import asyncio
import importlib
import typing
from pathlib import Path
from typing import Any

import pytest

from bot import persistence
from tests.conftest import Bot

WHY = "bot/persistence.py relies on it (see its docstring)"
ROOT = Path(__file__).resolve().parent.parent
# What bot/persistence.py reads, and nothing else anywhere: each is checked below.
PRIVATE_MODULES = {"telegram.ext._handlers.conversationhandler", "telegram.ext._utils.trackingdict"}
PRIVATE_ATTRIBUTES = {
    "_user_ids_to_be_updated_in_persistence",
    "_user_ids_to_be_deleted_in_persistence",
    "_conversation_handler_conversations",
}


def private(owner: object, name: str, kind: type | None = None) -> Any:
    """`owner.name`, failing loudly when PTB no longer has it, or has it as another type."""
    label = f"{getattr(owner, '__name__', type(owner).__name__)}.{name}"
    assert hasattr(owner, name), f"python-telegram-bot has no {label} any more: {WHY}"
    value = getattr(owner, name)
    if kind is not None:
        assert isinstance(value, kind), (
            f"python-telegram-bot's {label} is a {type(value).__name__} now, not a "
            f"{kind.__name__}: {WHY}"
        )
    return value


def ptb_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.fail(f"python-telegram-bot has no module {name} any more ({exc}): {WHY}")


def test_the_private_modules_still_hold_what_is_imported_from_them() -> None:
    handlers = ptb_module("telegram.ext._handlers.conversationhandler")
    tracking = ptb_module("telegram.ext._utils.trackingdict")
    assert private(handlers, "PendingState") is persistence.PendingState
    assert private(tracking, "TrackingDict") is persistence.TrackingDict
    for method in ("done", "resolve"):
        assert callable(private(handlers.PendingState, method)), method
    fields = handlers.PendingState.__dataclass_fields__
    assert {"old_state", "task"} <= set(fields), (
        f"python-telegram-bot's PendingState has the fields {sorted(fields)} now: {WHY}"
    )
    private(tracking.TrackingDict, "DELETED", object)
    for method in ("pop_accessed_write_items", "mark_as_accessed"):
        assert callable(private(tracking.TrackingDict, method)), method


def test_the_local_type_aliases_are_ptbs() -> None:
    types = ptb_module("telegram.ext._utils.types")
    for name in ("ConversationKey", "ConversationDict", "CDCData"):
        ours, theirs = getattr(persistence, name), private(types, name)
        assert (typing.get_origin(ours), typing.get_args(ours)) == (
            typing.get_origin(theirs),
            typing.get_args(theirs),
        ), f"python-telegram-bot's {name} is {theirs} now; bot/persistence.py spells it {ours}"


async def test_a_running_application_keeps_the_bookkeeping_that_is_read(bot: Bot) -> None:
    app = bot.app
    assert app is not None
    updated = "_user_ids_to_be_updated_in_persistence"
    deleted = "_user_ids_to_be_deleted_in_persistence"
    private(app, updated, set)
    private(app, deleted, set)
    conversations = private(app, "_conversation_handler_conversations", dict)
    assert conversations, f"Application._conversation_handler_conversations is empty: {WHY}"
    for name, states in conversations.items():
        assert isinstance(states, persistence.TrackingDict), (
            f"Application._conversation_handler_conversations[{name!r}] is a "
            f"{type(states).__name__} now, not a TrackingDict: {WHY}"
        )
    # What PTB's public methods note is found where it is read.
    app.mark_data_for_update_persistence(user_ids=41)
    app.drop_user_data(42)
    assert 41 in private(app, updated, set), (
        f"mark_data_for_update_persistence no longer notes into Application.{updated}: {WHY}"
    )
    assert 42 in private(app, deleted, set), (
        f"drop_user_data no longer notes into Application.{deleted}: {WHY}"
    )


async def test_what_an_update_changed_is_in_the_database_after_it(bot: Bot) -> None:
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    assert bot.app is not None and bot.services is not None
    storage = bot.services.storage
    saved = {
        name: storage.conversations(name) for name in bot.app._conversation_handler_conversations
    }
    assert any(user.user_id in key for states in saved.values() for key in states), (
        f"no conversation state was written after an update ({saved}): PTB's "
        f"Application._conversation_handler_conversations or TrackingDict changed: {WHY}"
    )
    assert user.user_id in storage.all_data("user_data", "user_id"), (
        "the user's data was not written after an update: PTB's "
        f"Application._user_ids_to_be_updated_in_persistence changed: {WHY}"
    )


async def test_a_step_still_running_keeps_its_old_state_until_it_ends(bot: Bot) -> None:
    app = bot.app
    assert app is not None and bot.services is not None
    storage = bot.services.storage
    name, states = next(iter(app._conversation_handler_conversations.items()))
    key = (7, 7)
    gate = asyncio.Event()

    async def step() -> str:
        await gate.wait()
        return "NEW"

    task = asyncio.create_task(step())
    states[key] = persistence.PendingState(task=task, old_state="OLD")
    await app.update_persistence()
    assert storage.conversations(name).get(key) == "OLD", (
        f"a PendingState still running was not written as its old_state: {WHY}"
    )
    gate.set()
    await task
    await app.update_persistence()
    assert storage.conversations(name).get(key) == "NEW", (
        f"a PendingState that ended was not resolved on the next write (mark_as_accessed, "
        f"done, resolve): {WHY}"
    )
    del states[key]
    await app.update_persistence()
    assert key not in storage.conversations(name), (
        f"an ended conversation (TrackingDict.DELETED) was not deleted: {WHY}"
    )


def _private_uses(path: Path) -> set[str]:
    """Private telegram modules imported, and private attributes of other objects than
    `self`/`cls` reached into."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        modules = []
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        for module in modules:
            parts = module.split(".")
            if parts[0] == "telegram" and any(part.startswith("_") for part in parts):
                found.add(module)
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            found.add(node.attr)
    return found


# bot/replica_state.py reads some of the same (see its docstring).
REPLICA_ATTRIBUTES = {
    "_user_ids_to_be_updated_in_persistence",
    "_user_ids_to_be_deleted_in_persistence",
    "_conversation_handler_conversations",
}


def test_what_replicas_read_and_set_without_a_write_is_still_there() -> None:
    tracking = ptb_module("telegram.ext._utils.trackingdict")
    states = tracking.TrackingDict()
    states[(1, 1)] = "OLD"
    states.pop_accessed_keys()
    for method in ("update_no_track", "pop_accessed_keys", "mark_as_accessed"):
        assert callable(private(tracking.TrackingDict, method)), method
    states.update_no_track({(1, 1): "NEW", (2, 2): "NEW"})
    states.data.pop((2, 2))
    assert dict(states) == {(1, 1): "NEW"} and not states.pop_accessed_keys(), (
        "TrackingDict.update_no_track or .data now count as written: bot/replica_state.py "
        "relies on them not to (see its docstring)"
    )


def test_no_other_private_name_is_used() -> None:
    sources = [*(ROOT / "bot").rglob("*.py"), *(ROOT / "conversations").rglob("*.py")]
    for path in sorted(sources):
        relative = path.relative_to(ROOT).as_posix()
        allowed = {
            "bot/persistence.py": PRIVATE_MODULES | PRIVATE_ATTRIBUTES,
            "bot/replica_state.py": REPLICA_ATTRIBUTES,
        }.get(relative, set())
        unexpected = _private_uses(path) - allowed
        assert not unexpected, (
            f"{relative} uses the private names {sorted(unexpected)}: python-telegram-bot's "
            "public API only, or say why in bot/persistence.py and check the name here "
            "(our own private names are not to be reached into from outside either)"
        )
