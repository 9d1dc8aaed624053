"""PTB's `BasePersistence` over `Storage`: conversation states and user/chat data as JSON rows.

All of it is PTB's public API but `SqlitePersistence.write_pending` (why it exists: see there).
It must know what changed since the last write, which PTB tells through no public API, so it
reads these private names of PTB 22, as `Application.update_persistence` itself does:

- `Application._user_ids_to_be_updated_in_persistence` and `_user_ids_to_be_deleted_in_persistence`:
  the users whose data changed, or was dropped, since the last write;
- `Application._conversation_handler_conversations`: each persistent conversation's states, a
  `TrackingDict` (`telegram.ext._utils.trackingdict`) whose `pop_accessed_write_items` says which
  keys changed, with `DELETED` for a conversation that ended, and whose `mark_as_accessed` keeps a
  key for the next write;
- `PendingState` (`telegram.ext._handlers.conversationhandler`): the state of a non-blocking step
  still running (`done`, `resolve`, `old_state`).

A PTB release that renames or retypes any of them fails `tests/test_ptb_private_names.py`,
naming the one that changed.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from telegram.ext import Application, BasePersistence, PersistenceInput

try:
    from telegram.ext._handlers.conversationhandler import PendingState
    from telegram.ext._utils.trackingdict import TrackingDict
except ImportError as exc:  # a python-telegram-bot release this bot was not made for
    raise ImportError(
        f"python-telegram-bot moved a private name bot/persistence.py relies on ({exc}); "
        "see that module's docstring and tests/test_ptb_private_names.py"
    ) from exc

from bot.storage import Storage, StorageUnavailable
from bot.user_state import UserData

# PTB's own aliases (in the private `telegram.ext._utils.types`), spelled out here; mypy checks
# them against `BasePersistence`'s signatures, the test against PTB's definitions.
ConversationKey = tuple[int | str, ...]
ConversationDict = MutableMapping[ConversationKey, object]
CDCData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]

Data = dict[str, Any]


class SqlitePersistence(BasePersistence[UserData, Data, Data]):
    """Writes through to SQLite; PTB calls the `update_*` methods on every flush."""

    def __init__(self, storage: Storage, update_interval: float = 5.0) -> None:
        super().__init__(
            # Only user data is used (`UserData`: the booking draft); storing the rest
            # would write rows on every flush for nothing.
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.storage = storage

    async def get_user_data(self) -> dict[int, UserData]:
        rows = self.storage.all_data("user_data", "user_id")
        return {user_id: UserData.from_json(data) for user_id, data in rows.items()}

    async def get_chat_data(self) -> dict[int, Data]:
        return self.storage.all_data("chat_data", "chat_id")

    async def get_bot_data(self) -> Data:
        return self.storage.bot_data()

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        return self.storage.conversations(name)

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        self.storage.save_conversation(name, key, new_state)

    async def update_user_data(self, user_id: int, data: UserData) -> None:
        self.storage.save_data("user_data", "user_id", user_id, data.as_json())

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        self.storage.save_data("chat_data", "chat_id", chat_id, data)

    async def update_bot_data(self, data: Data) -> None:
        self.storage.save_bot_data(data)

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        self.storage.drop_data("chat_data", "chat_id", chat_id)

    async def drop_user_data(self, user_id: int) -> None:
        self.storage.drop_data("user_data", "user_id", user_id)

    async def refresh_user_data(self, user_id: int, user_data: UserData) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Data) -> None:
        return None

    async def flush(self) -> None:
        return None

    def write_pending(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        only_users: set[int] | None = None,
    ) -> None:
        """What PTB's `Application.update_persistence` would hand over, written here and now.

        PTB deep-copies each entry and writes it from a task of its own, for persistences that
        write later or elsewhere. This one serializes on the spot and runs after every update,
        where the copies and the tasks cost more than the writes; here the same changes go in
        one transaction, with no await in between, so no other update can interleave.
        (PTB's bookkeeping is read as PTB 22 keeps it, see the module docstring; only user data
        is stored, see above.)
        """
        updated = application._user_ids_to_be_updated_in_persistence
        deleted = application._user_ids_to_be_deleted_in_persistence
        application._user_ids_to_be_updated_in_persistence = set()
        application._user_ids_to_be_deleted_in_persistence = set()
        updated -= deleted
        if only_users is not None:
            # Replicas: a user's data is written only in their chat's turn. PTB marks a user
            # again once their update's task is over (after the turn wrote it): written later,
            # outside the turn, that copy could undo what another replica has written since.
            updated &= only_users
        states = []
        for name, conversations in application._conversation_handler_conversations.items():
            for key, new_state in conversations.pop_accessed_write_items():
                state: object = new_state
                if isinstance(new_state, PendingState):
                    # A non-blocking step still running: keep its old state for now and look
                    # again on the next write, as PTB does.
                    if new_state.done():
                        state = new_state.resolve()
                    else:
                        state = new_state.old_state
                        conversations.mark_as_accessed(key)
                states.append((name, key, None if state is TrackingDict.DELETED else state))
        try:
            self.storage.save_state(
                ((user_id, application.user_data[user_id].as_json()) for user_id in updated),
                deleted,
                states,
            )
        except StorageUnavailable:
            # The file is busy (another program holds it): what changed stays pending and goes
            # out with the next write, nothing is lost.
            application.mark_data_for_update_persistence(user_ids=updated)
            # A drop has no public way to be marked again: `Application.drop_user_data` would
            # also throw away what a later handler of the update put in the user's data anew.
            application._user_ids_to_be_deleted_in_persistence |= deleted
            conversations_by_name = application._conversation_handler_conversations
            for name, key, _state in states:
                conversations_by_name[name].mark_as_accessed(key)
            raise
