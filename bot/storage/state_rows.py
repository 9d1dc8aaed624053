"""Conversation states and user, chat and bot data: what PTB's persistence keeps, as JSON rows."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

_DATA_TABLES = {("user_data", "user_id"), ("chat_data", "chat_id")}


class StateRows:
    """The `conversations`, `user_data`, `chat_data` and `bot_data` tables."""

    db: Database

    def conversations(self, name: str) -> dict[tuple[int | str, ...], object]:
        rows = self.db.table("conversations").rows_where("name = ?", [name])
        return {tuple(json.loads(r["key"])): json.loads(r["state"]) for r in rows}

    # The writes made on every update are plain statements: sqlite-utils' upsert looks the table
    # up first, which costs more than the write itself.
    def save_conversation(self, name: str, key: tuple[int | str, ...], state: object) -> None:
        with self.db.conn:
            self._put_conversation(name, key, state)

    def all_data(self, table: str, key: str) -> dict[int, dict[str, Any]]:
        return {r[key]: json.loads(r["data"]) for r in self.db.table(table).rows}

    def save_data(self, table: str, key: str, ident: int, data: dict[str, Any]) -> None:
        if (table, key) not in _DATA_TABLES:
            raise ValueError(f"not a data table: {table}.{key}")
        with self.db.conn:
            self.db.conn.execute(
                f"INSERT OR REPLACE INTO {table} ({key}, data) VALUES (?, ?)",
                (ident, json.dumps(data)),
            )

    def save_state(
        self,
        user_data: Iterable[tuple[int, dict[str, Any]]],
        dropped_users: Iterable[int],
        conversations: Iterable[tuple[str, tuple[int | str, ...], object]],
    ) -> None:
        """Users' data and conversation states, as one transaction (one commit per update)."""
        conn = self.db.conn
        with conn:
            for ident, data in user_data:
                conn.execute(
                    "INSERT OR REPLACE INTO user_data (user_id, data) VALUES (?, ?)",
                    (ident, json.dumps(data)),
                )
            for ident in dropped_users:
                conn.execute("DELETE FROM user_data WHERE user_id = ?", (ident,))
            for name, key, state in conversations:
                self._put_conversation(name, key, state)

    def _put_conversation(self, name: str, key: tuple[int | str, ...], state: object) -> None:
        encoded = json.dumps(list(key))
        if state is None:
            self.db.conn.execute(
                "DELETE FROM conversations WHERE name = ? AND key = ?", (name, encoded)
            )
        else:
            self.db.conn.execute(
                "INSERT OR REPLACE INTO conversations (name, key, state) VALUES (?, ?, ?)",
                (name, encoded, json.dumps(state)),
            )

    def drop_data(self, table: str, key: str, ident: int) -> None:
        self.db.table(table).delete_where(f"{key} = ?", [ident])

    def bot_data(self) -> dict[str, Any]:
        try:
            row = self.db.table("bot_data").get(1)
        except NotFoundError:
            return {}
        data: dict[str, Any] = json.loads(row["data"])
        return data

    def save_bot_data(self, data: dict[str, Any]) -> None:
        self.db.table("bot_data").upsert({"id": 1, "data": json.dumps(data)}, pk="id")
