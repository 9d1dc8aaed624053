"""Conversation states and user, chat and bot data: what PTB's persistence keeps, as JSON rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from bot.storage.engine import Sql

_DATA_TABLES = {("user_data", "user_id"), ("chat_data", "chat_id")}


class StateRows:
    """The `conversations`, `user_data`, `chat_data` and `bot_data` tables."""

    sql: Sql

    def conversations(self, name: str) -> dict[tuple[int | str, ...], object]:
        rows = self.sql.execute("SELECT key, state FROM conversations WHERE name = ?", (name,))
        return {tuple(json.loads(key)): json.loads(state) for key, state in rows}

    def chat_state(
        self, names: Sequence[str], keys: Sequence[tuple[int | str, ...]], user_id: int | None
    ) -> tuple[dict[tuple[str, tuple[int | str, ...]], object], dict[str, Any] | None]:
        """One chat's conversation states (of the conversations `names`, at `keys`) and its
        user's data (None: none kept), as a replica taking the chat's turn reads them."""
        states: dict[tuple[str, tuple[int | str, ...]], object] = {}
        if names and keys:
            rows = self.sql.execute(
                "SELECT name, key, state FROM conversations "
                f"WHERE name IN ({', '.join('?' * len(names))}) "
                f"AND key IN ({', '.join('?' * len(keys))})",
                (*names, *(json.dumps(list(key)) for key in keys)),
            )
            states = {
                (name, tuple(json.loads(key))): json.loads(state) for name, key, state in rows
            }
        data: dict[str, Any] | None = None
        if user_id is not None:
            row = self.sql.execute(
                "SELECT data FROM user_data WHERE user_id = ?", (user_id,)
            ).fetchone()
            data = json.loads(row[0]) if row else None
        return states, data

    # The writes made on every update are plain statements: sqlite-utils' upsert looks the table
    # up first, which costs more than the write itself.
    def save_conversation(self, name: str, key: tuple[int | str, ...], state: object) -> None:
        with self.sql.transaction():
            self._put_conversation(name, key, state)

    def all_data(self, table: str, key: str) -> dict[int, dict[str, Any]]:
        _check(table, key)
        return {
            ident: json.loads(data)
            for ident, data in self.sql.execute(f"SELECT {key}, data FROM {table}")
        }

    def save_data(self, table: str, key: str, ident: int, data: dict[str, Any]) -> None:
        _check(table, key)
        with self.sql.transaction():
            self.sql.execute(
                f"INSERT INTO {table} ({key}, data) VALUES (?, ?) "
                f"ON CONFLICT ({key}) DO UPDATE SET data = excluded.data",
                (ident, json.dumps(data)),
            )

    def save_state(
        self,
        user_data: Iterable[tuple[int, dict[str, Any]]],
        dropped_users: Iterable[int],
        conversations: Iterable[tuple[str, tuple[int | str, ...], object]],
    ) -> None:
        """Users' data and conversation states, as one transaction (one commit per update)."""
        with self.sql.transaction():
            for ident, data in user_data:
                self.sql.execute(
                    "INSERT INTO user_data (user_id, data) VALUES (?, ?) "
                    "ON CONFLICT (user_id) DO UPDATE SET data = excluded.data",
                    (ident, json.dumps(data)),
                )
            for ident in dropped_users:
                self.sql.execute("DELETE FROM user_data WHERE user_id = ?", (ident,))
            for name, key, state in conversations:
                self._put_conversation(name, key, state)

    def _put_conversation(self, name: str, key: tuple[int | str, ...], state: object) -> None:
        encoded = json.dumps(list(key))
        if state is None:
            self.sql.execute(
                "DELETE FROM conversations WHERE name = ? AND key = ?", (name, encoded)
            )
        else:
            self.sql.execute(
                "INSERT INTO conversations (name, key, state) VALUES (?, ?, ?) "
                "ON CONFLICT (name, key) DO UPDATE SET state = excluded.state",
                (name, encoded, json.dumps(state)),
            )

    def drop_data(self, table: str, key: str, ident: int) -> None:
        _check(table, key)
        with self.sql.transaction():
            self.sql.execute(f"DELETE FROM {table} WHERE {key} = ?", (ident,))

    def bot_data(self) -> dict[str, Any]:
        row = self.sql.execute("SELECT data FROM bot_data WHERE id = 1").fetchone()
        data: dict[str, Any] = json.loads(row[0]) if row else {}
        return data

    def save_bot_data(self, data: dict[str, Any]) -> None:
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO bot_data (id, data) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (json.dumps(data),),
            )


def _check(table: str, key: str) -> None:
    if (table, key) not in _DATA_TABLES:
        raise ValueError(f"not a data table: {table}.{key}")
