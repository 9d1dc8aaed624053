"""PTB's `BasePersistence` over `Storage`: conversation states and user/chat data as JSON rows."""

from __future__ import annotations

from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.storage import Storage

Data = dict[str, Any]


class SqlitePersistence(BasePersistence[Data, Data, Data]):
    """Writes through to SQLite; PTB calls the `update_*` methods on every flush."""

    def __init__(self, storage: Storage, update_interval: float = 5.0) -> None:
        super().__init__(
            # Only user data is used (the booking draft, the chosen language); storing the rest
            # would write rows on every flush for nothing.
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.storage = storage

    async def get_user_data(self) -> dict[int, Data]:
        return self.storage.all_data("user_data", "user_id")

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

    async def update_user_data(self, user_id: int, data: Data) -> None:
        self.storage.save_data("user_data", "user_id", user_id, data)

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

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Data) -> None:
        return None

    async def flush(self) -> None:
        return None
