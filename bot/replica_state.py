"""With replicas, a chat's conversation and its user's data read from the database each time
the chat's turn is taken, so an update arriving at any replica goes on from where another left.

PTB keeps both in memory: a `ConversationHandler` reads its conversations from the persistence
once, at start, and so does the `Application` its users' data. Under the chat's turn (no other
replica handles the chat meanwhile), before any handler runs, the chat's rows replace what this
process holds for it, without counting as changes; the update's own write at its end
(`BotApplication.update_persistence`, one transaction) then writes what it changed. A change
this process could not write yet (the database was out of reach) is newer than the row: it is
kept, and written with this update's.

A user's data is written only while this process holds their chat's turn (`users_in_turn`).
PTB marks it as changed again once the update's task is over, after the turn wrote it; written
later (PTB's periodic write, or at another chat's turn) that copy would undo what another
replica wrote since, and the next turn here would take the mark for a change not yet written
and keep this process's stale copy over the stored one.

PTB's private names read here are those of `bot/persistence.py` (see its docstring):
`Application._conversation_handler_conversations` (each a `TrackingDict`, whose
`update_no_track` and `data` set and remove an entry without counting it as written) and
`Application._user_ids_to_be_updated_in_persistence` and `_user_ids_to_be_deleted_in_persistence`;
`tests/test_ptb_private_names.py`
checks them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import fields

from telegram import Update

from bot.context import BotApplication
from bot.user_state import UserData

ConversationKey = tuple[int | str, ...]


def turn_ender(application: BotApplication) -> Callable[[Update], Awaitable[None]]:
    """What the update processor calls as the chat's turn ends: what the update changed is
    written (its user's data only: see `BotApplication.update_persistence`), and the user's
    data is not written by this process again until its next turn here."""

    async def end(update: Update) -> None:
        try:
            await application.update_persistence()
        finally:
            if update.effective_user is not None:
                application.users_in_turn.discard(update.effective_user.id)

    return end


def refresher(application: BotApplication) -> Callable[[Update], None]:
    """What the update processor calls in a chat's turn, before the update is handled."""

    def refresh(update: Update) -> None:
        chat = update.effective_chat.id if update.effective_chat else None
        user = update.effective_user.id if update.effective_user else None
        conversations = application._conversation_handler_conversations
        keys = _keys(chat, user)
        stored, data = application.services.storage.chat_state(list(conversations), keys, user)
        for name, states in conversations.items():
            unwritten = states.pop_accessed_keys()
            for key in unwritten:
                states.mark_as_accessed(key)
            for key in keys:
                if key in unwritten:
                    continue
                if (name, key) in stored:
                    states.update_no_track({key: stored[name, key]})
                else:
                    states.data.pop(key, None)  # ended at another replica
        unwritten_users = (
            application.unwritten_users | application._user_ids_to_be_deleted_in_persistence
        )
        if user is not None:
            if user not in unwritten_users:
                _replace(application.user_data[user], UserData.from_json(data))
            application.users_in_turn.add(user)

    return refresh


def _keys(chat: int | None, user: int | None) -> list[ConversationKey]:
    """Every key a conversation of this chat and user may have (per chat and user, per chat,
    per user: the bot's conversations are not per message)."""
    keys: list[ConversationKey] = []
    if chat is not None and user is not None:
        keys.append((chat, user))
    if chat is not None:
        keys.append((chat,))
    if user is not None and user != chat:
        keys.append((user,))
    return keys


def _replace(held: UserData, stored: UserData) -> None:
    """The user's data as stored, in the object PTB holds (handlers may hold it too)."""
    for field in fields(UserData):
        setattr(held, field.name, getattr(stored, field.name))
