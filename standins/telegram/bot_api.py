"""An in-process Telegram Bot API behind PTB's `BaseRequest` seam, strict where Telegram is strict.

This module is the seam and the bot-level methods (getMe, getUpdates, commands, the menu
button); what the bot does inside chats is `chat_methods`, the person on the other side is
`users.StubUser`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from telegram.request import BaseRequest, RequestData

from standins.telegram.api_rules import ApiError, Params, bad
from standins.telegram.chat_methods import ChatMethods, OpenQuery
from standins.telegram.transcript import CallbackAnswer, Change, JSONDict, StubChat, StubMessage

_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BotApiStub(BaseRequest):
    """Telegram's Bot API for one bot, in memory: give it to `ApplicationBuilder().request()`.

    It answers with Telegram's own JSON shapes and error descriptions, keeps every chat's
    transcript, and hands out queued updates through getUpdates without ever waiting.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        bot_id: int = 7000000001,
        bot_username: str = "altegio_demo_bot",
        bot_name: str = "Altegio Demo",
        token: str | None = None,
    ) -> None:
        self.clock = clock or _utc_now
        # The bot's token, when it matters: a request made with any other is refused as
        # Telegram refuses a well-formed token it does not know (401 Unauthorized). None
        # takes whatever token comes, as the offline stand-in of `chat` and most tests wants.
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.default_menu_button: JSONDict = {"type": "commands"}
        self._in_chats = ChatMethods(self.now, lambda: self.bot_user)
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._updates: list[JSONDict] = []
        self._allowed_updates: list[str] = []
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(4_300_000_000_000_000_001)
        # Chats whose next messages Telegram fails to take (a 502, as at an outage): how many.
        self._outages: dict[str, int] = {}
        self._methods: dict[str, Callable[[Params], Any]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            **self._in_chats.methods(),
            "close": lambda _: True,
            "logout": lambda _: True,
        }

    @property
    def chats(self) -> dict[int, StubChat]:
        return self._in_chats.chats

    @property
    def changes(self) -> list[Change]:
        """Everything the bot did that a user would notice, oldest first."""
        return self._in_chats.changes

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        return self._in_chats.callback_answers

    # BaseRequest

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to connect to."""

    async def shutdown(self) -> None:
        """Nothing to close; the transcript outlives the bot so tests can read it afterwards."""

    async def do_request(  # noqa: PLR0917 - the signature is BaseRequest's
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        # `<base><token>/<method>`; Telegram's method names are case-insensitive.
        root, _, name = url.rstrip("/").rpartition("/")
        if self.token is not None and not root.endswith(self.token):
            return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        handler = self._methods.get(name.lower())
        if handler is None:
            return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        params = Params.from_request(request_data)
        chat = params.text("chat_id") or ""
        if name.lower() == "sendmessage" and self._outages.get(chat, 0) > 0:
            self._outages[chat] -= 1
            return self._reply(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
        try:
            result = handler(params)
        except ApiError as exc:
            body = {"ok": False, "error_code": exc.code, "description": exc.description}
            return self._reply(exc.code, body)
        return self._reply(200, {"ok": True, "result": result})

    @staticmethod
    def _reply(status: int, body: JSONDict) -> tuple[int, bytes]:
        return status, json.dumps(body, ensure_ascii=False).encode()

    # for the user side and for tests

    @property
    def bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def fail_sends(self, chat_id: int, times: int = 1) -> None:
        """The next `times` messages to the chat fail as at a Telegram outage (502)."""
        self._outages[str(chat_id)] = times

    def now(self) -> int:
        """The current time as a Telegram date (never 0: PTB reads 0 as an inaccessible message)."""
        return max(int(self.clock().timestamp()), 1)

    def open_private_chat(self, chat_id: int, user: JSONDict) -> StubChat:
        """Make the chat known (the user has not written yet, so the bot may not write first)."""
        chat = self.chats.get(chat_id)
        if chat is None:
            info = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            info.update({key: user[key] for key in ("last_name", "username") if key in user})
            chat = self.chats[chat_id] = StubChat(chat_id, info)
        return chat

    def receive(self, chat_id: int, sender: JSONDict, **content: Any) -> StubMessage:
        """Record a message the user sends; from now on the bot may write to this chat."""
        chat = self.chats[chat_id]
        chat.started = True
        message = StubMessage(
            chat_id=chat_id,
            message_id=chat.next_message_id(),
            from_bot=False,
            date=self.now(),
            sender=sender,
            chat=chat.info,
            **content,
        )
        chat.messages.append(message)
        return message

    def open_callback_query(self, chat_id: int, user_id: int, message_id: int) -> str:
        """Register a button tap; its id is valid for exactly one answerCallbackQuery."""
        query_id = str(next(self._query_ids))
        self._in_chats.open_queries[query_id] = OpenQuery(chat_id, user_id, message_id)
        return query_id

    @property
    def unanswered_queries(self) -> list[str]:
        """Taps the bot never answered: the user's button is still spinning."""
        return list(self._in_chats.open_queries)

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def enqueue(self, update: JSONDict) -> int:
        """Queue an update for getUpdates (an update_id is assigned when missing)."""
        if "update_id" not in update:
            update = {"update_id": self.next_update_id(), **update}
        self._updates.append(update)
        return int(update["update_id"])

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    def transcript(self, chat_id: int) -> list[StubMessage]:
        return list(self.chats[chat_id].messages)

    def mark(self) -> int:
        """A bookmark for `changes_since`."""
        return len(self.changes)

    def changes_since(self, mark: int, chat_id: int | None = None) -> list[Change]:
        """What the bot did after `mark`, oldest first, optionally in one chat only."""
        return [c for c in self.changes[mark:] if chat_id is None or c.chat_id == chat_id]

    def commands(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """The (command, description) pairs set for exactly this scope and language."""
        stored = self._commands.get((self._scope_key(scope), language_code), [])
        return [(c["command"], c["description"]) for c in stored]

    def visible_commands(self, chat_id: int, language_code: str = "") -> list[tuple[str, str]]:
        """The menu a private chat's user sees, resolved through scopes as Telegram does."""
        scopes: list[JSONDict | None] = [
            {"type": "chat", "chat_id": chat_id},
            {"type": "all_private_chats"},
            None,
        ]
        for scope in scopes:
            for language in (language_code, ""):
                found = self.commands(scope, language)
                if found:
                    return found
        return []

    def menu_button(self, chat_id: int | None = None) -> JSONDict:
        chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is not None and chat.menu_button is not None:
            return chat.menu_button
        return self.default_menu_button

    # Bot API methods

    def _get_me(self, _: Params) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: Params) -> list[JSONDict]:
        offset = params.integer("offset", 0)
        limit = min(max(params.integer("limit", 100), 1), 100)
        allowed = params.json("allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        if offset > 0:
            # An offset confirms every update below it; Telegram forgets those for good.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        updates = self._updates[offset:] if offset < 0 else self._updates
        if self._allowed_updates:
            wanted = set(self._allowed_updates)
            updates = [u for u in updates if wanted & (set(u) - {"update_id"})]
        # Never waits: an empty answer comes back at once whatever `timeout` says.
        return [json.loads(json.dumps(update)) for update in updates[:limit]]

    def _delete_webhook(self, params: Params) -> bool:
        if params.boolean("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, _: Params) -> JSONDict:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    @staticmethod
    def _scope_key(scope: Any) -> str:
        scope = dict(scope) if isinstance(scope, dict) else {"type": "default"}
        if "chat_id" in scope:
            with contextlib.suppress(TypeError, ValueError):
                scope["chat_id"] = int(scope["chat_id"])
        return json.dumps(scope, sort_keys=True)

    def _commands_key(self, params: Params) -> tuple[str, str]:
        scope = params.json("scope", "bot command scope")
        return self._scope_key(scope), params.text("language_code") or ""

    def _set_my_commands(self, params: Params) -> bool:
        commands = params.json("commands", "commands")
        if not isinstance(commands, list):
            raise bad("can't parse commands JSON object")
        checked = []
        for command in commands:
            if not isinstance(command, dict) or not isinstance(command.get("command"), str):
                raise bad("can't parse BotCommand: Can't find field \"command\"")
            if not isinstance(command.get("description"), str):
                raise bad("can't parse BotCommand: Can't find field \"description\"")
            if not _COMMAND_NAME.match(command["command"]):
                raise bad("BOT_COMMAND_INVALID")
            if not command["description"].strip():
                raise bad("command description must be non-empty")
            checked.append({"command": command["command"], "description": command["description"]})
        key = self._commands_key(params)
        if checked:
            self._commands[key] = checked
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: Params) -> list[JSONDict]:
        return [dict(command) for command in self._commands.get(self._commands_key(params), [])]

    def _delete_my_commands(self, params: Params) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _set_chat_menu_button(self, params: Params) -> bool:
        button = params.json("menu_button", "menu button") or {"type": "default"}
        if "chat_id" not in params:
            self.default_menu_button = (
                button if button["type"] != "default" else {"type": "commands"}
            )
            return True
        chat = self._in_chats.known_chat(params)
        chat.menu_button = None if button["type"] == "default" else button
        return True

    def _get_chat_menu_button(self, params: Params) -> JSONDict:
        if "chat_id" not in params:
            return self.default_menu_button
        return self.menu_button(self._in_chats.known_chat(params).id)
