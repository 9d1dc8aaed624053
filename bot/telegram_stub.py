"""An in-process Telegram Bot API behind PTB's `BaseRequest` seam, strict where Telegram is strict,
and `StubUser`, the person on the other side of a private chat (tests and `altegio-bot chat`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.telegram_format import EntitiesError, format_text, u16

JSONDict = dict[str, Any]
AnyApplication = Application[Any, Any, Any, Any, Any, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
DELETE_WINDOW = timedelta(hours=48)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
TEXT_BUTTONS = (
    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
)

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BOT_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
# Telegram trims a message after parsing entities; only these count as blank for it.


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _ApiError(Exception):
    def __init__(self, description: str, code: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.code = code


def _bad(description: str) -> _ApiError:
    return _ApiError(f"Bad Request: {description}")


def _forbidden(description: str) -> _ApiError:
    return _ApiError(f"Forbidden: {description}", 403)


# --- what the stub remembers ---------------------------------------------------------------


@dataclass
class StubDocument:
    """A file the bot sent; `content` is None when it was sent by a URL the stub never fetched."""

    file_name: str
    mime_type: str
    content: bytes | None
    file_id: str
    file_unique_id: str

    def to_wire(self) -> JSONDict:
        data: JSONDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
        }
        if self.content is not None:
            data["file_size"] = len(self.content)
        return data


@dataclass
class StubMessage:
    """One message of a chat transcript, from either side, as the user sees it now."""

    chat_id: int
    message_id: int
    from_bot: bool
    date: int
    sender: JSONDict
    chat: JSONDict
    text: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSONDict] = field(default_factory=list)
    # As sent: an inline keyboard stays with the message (and edits replace it); a reply keyboard
    # or its removal acts on the chat and is kept here only as a record.
    reply_markup: JSONDict | None = None
    document: StubDocument | None = None
    contact: JSONDict | None = None
    location: JSONDict | None = None
    venue: JSONDict | None = None
    media: JSONDict = field(default_factory=dict)
    reply_to: StubMessage | None = None
    edit_date: int | None = None
    deleted: bool = False

    @property
    def edited(self) -> bool:
        return self.edit_date is not None

    @property
    def inline_markup(self) -> JSONDict | None:
        if self.reply_markup is not None and self.reply_markup.get("inline_keyboard"):
            return self.reply_markup
        return None

    @property
    def inline_keyboard(self) -> list[list[JSONDict]]:
        markup = self.inline_markup
        return list(markup["inline_keyboard"]) if markup is not None else []

    @property
    def buttons(self) -> list[list[str]]:
        """Labels of the inline keyboard, row by row."""
        return [[str(button["text"]) for button in row] for row in self.inline_keyboard]

    @property
    def body(self) -> str:
        """What the message shows apart from its buttons, in one or more plain lines."""
        parts: list[str] = []
        if self.document is not None:
            parts.append(f"📎 {self.document.file_name}")
        if self.venue is not None:
            parts.append(f"📍 {self.venue['title']}, {self.venue['address']}")
        elif self.location is not None:
            parts.append(f"📍 {self.location['latitude']}, {self.location['longitude']}")
        if self.contact is not None:
            parts.append(f"☎ {self.contact['first_name']} {self.contact['phone_number']}")
        if "sticker" in self.media:
            parts.append(f"[sticker {self.media['sticker'].get('emoji', '')}]")
        if "photo" in self.media:
            parts.append("[photo]")
        if self.text is not None:
            parts.append(self.text)
        if self.caption:
            parts.append(self.caption)
        return "\n".join(parts)

    def to_wire(self, *, nested: bool = False) -> JSONDict:
        """The Message object Telegram would return or put into an update."""
        data: JSONDict = {
            "message_id": self.message_id,
            "from": dict(self.sender),
            "chat": dict(self.chat),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.reply_to is not None and not nested:
            data["reply_to_message"] = self.reply_to.to_wire(nested=True)
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = [dict(entity) for entity in self.entities]
        if self.document is not None:
            data["document"] = self.document.to_wire()
        if self.caption is not None:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = [dict(entity) for entity in self.caption_entities]
        if self.contact is not None:
            data["contact"] = dict(self.contact)
        if self.location is not None:
            data["location"] = dict(self.location)
        if self.venue is not None:
            data["venue"] = {**self.venue, "location": dict(self.venue["location"])}
        data.update(json.loads(json.dumps(self.media)))
        markup = self.inline_markup
        if markup is not None:
            data["reply_markup"] = json.loads(json.dumps(markup))
        return data


@dataclass
class StubChat:
    """A private chat with everything that happened in it."""

    id: int
    info: JSONDict
    messages: list[StubMessage] = field(default_factory=list)
    reply_keyboard: JSONDict | None = None
    actions: list[str] = field(default_factory=list)
    menu_button: JSONDict | None = None
    started: bool = False
    blocked: bool = False
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def find(self, message_id: int) -> StubMessage | None:
        for message in self.messages:
            if message.message_id == message_id:
                return message
        return None

    @property
    def reply_keyboard_labels(self) -> list[list[str]] | None:
        if self.reply_keyboard is None:
            return None
        return [[str(button["text"]) for button in row] for row in self.reply_keyboard["keyboard"]]


@dataclass(frozen=True)
class CallbackAnswer:
    """How the bot answered a button tap: a toast (`text`), an alert, or silently."""

    query_id: str
    chat_id: int
    user_id: int
    message_id: int
    text: str
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class Change:
    """Something the bot did that the user would notice, in the order it happened."""

    kind: Literal["sent", "edited", "deleted", "answered", "action"]
    chat_id: int
    message: StubMessage | None = None
    answer: CallbackAnswer | None = None
    action: str | None = None


@dataclass(frozen=True)
class _OpenQuery:
    chat_id: int
    user_id: int
    message_id: int


# --- rendering ----------------------------------------------------------------------------


def render(message: StubMessage, reply_keyboard: list[list[str]] | None = None) -> str:
    """A message as the terminal shows it; inline buttons are numbered from 1 in reading order."""
    lines = [message.body] if message.body else []
    number = itertools.count(1)
    for row in message.inline_keyboard:
        cells = []
        for button in row:
            cell = f"[{next(number)}] {button['text']}"
            if "url" in button:
                cell += f" <{button['url']}>"
            cells.append(cell)
        lines.append("  ".join(cells))
    if reply_keyboard:
        lines.append("Keyboard:")
        lines.extend("  " + "  ".join(f"( {label} )" for label in row) for row in reply_keyboard)
    return "\n".join(lines)


@dataclass(frozen=True)
class Screen:
    """The newest bot message of a chat plus the reply keyboard under the input field."""

    message: StubMessage
    reply_keyboard: list[list[str]] | None

    @property
    def message_id(self) -> int:
        return self.message.message_id

    @property
    def text(self) -> str:
        if self.message.text is not None:
            return self.message.text
        return self.message.caption or ""

    @property
    def buttons(self) -> list[list[str]]:
        return self.message.buttons

    def label(self, number: int) -> str:
        """The label of inline button `number` (1-based, rows in reading order)."""
        labels = [label for row in self.buttons for label in row]
        if not 1 <= number <= len(labels):
            raise AssertionError(f"there is no button {number}; buttons: {labels}")
        return labels[number - 1]

    def render(self) -> str:
        return render(self.message, self.reply_keyboard)


# --- request parameters -----------------------------------------------------------------------


class _Params:
    """A request's form fields as Telegram receives them: strings, JSON inside for objects."""

    def __init__(self, values: Mapping[str, str], files: Mapping[str, tuple[str, bytes, str]]):
        self.values = values
        self.files = files

    @classmethod
    def from_request(cls, request_data: RequestData | None) -> _Params:
        if request_data is None:
            return cls({}, {})
        files: dict[str, tuple[str, bytes, str]] = {}
        for name, (file_name, content, mime_type) in request_data.multipart_data.items():
            data = content if isinstance(content, bytes) else content.read()
            files[name] = (file_name, data, mime_type)
        return cls(request_data.json_parameters, files)

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str) -> str | None:
        return self.values.get(name)

    def required(self, name: str, missing: str) -> str:
        value = self.values.get(name)
        if value is None:
            raise _bad(missing)
        return value

    def integer(self, name: str, default: int) -> int:
        value = self.values.get(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise _bad(f'field "{name}" must be of type Integer') from None

    def number(self, name: str) -> float:
        try:
            return float(self.required(name, f"{name} is empty"))
        except ValueError:
            raise _bad(f'field "{name}" must be of type Number') from None

    def boolean(self, name: str) -> bool:
        return self.values.get(name, "false").lower() in ("true", "1")

    def json(self, name: str, what: str) -> Any:
        value = self.values.get(name)
        if value is None:
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {what} JSON object") from None


def _check_inline_keyboard(rows: Any) -> list[list[JSONDict]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            data = button.get("callback_data")
            if data is not None and not isinstance(data, str):
                raise _bad(
                    'can\'t parse inline keyboard button: Field "callback_data" must be of type '
                    "String"
                )
            if data is not None and len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
                raise _bad("BUTTON_DATA_INVALID")
            # An empty callback_data is as good as none at all.
            if not any(button.get(kind) not in (None, "") for kind in _BUTTON_ACTIONS):
                raise _bad(TEXT_BUTTONS)
    return rows


def _check_reply_keyboard(rows: Any) -> list[list[JSONDict]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('Field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
    checked: list[list[JSONDict]] = []
    for row in rows:
        buttons: list[JSONDict] = []
        for button in row:
            normalised = {"text": button} if isinstance(button, str) else button
            if not isinstance(normalised, dict) or not isinstance(normalised.get("text"), str):
                raise _bad('can\'t parse keyboard button: Field "text" must be of type String')
            buttons.append(normalised)
        checked.append(buttons)
    return checked


# --- the server -------------------------------------------------------------------------------


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
    ) -> None:
        self.clock = clock or _utc_now
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.chats: dict[int, StubChat] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.changes: list[Change] = []
        self.default_menu_button: JSONDict = {"type": "commands"}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._updates: list[JSONDict] = []
        self._allowed_updates: list[str] = []
        self._open_queries: dict[str, _OpenQuery] = {}
        self._files: dict[str, StubDocument] = {}
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(4_300_000_000_000_000_001)
        self._file_numbers = itertools.count(1)
        self._methods: dict[str, Callable[[_Params], Any]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action,
            "senddocument": self._send_document,
            "sendlocation": self._send_location,
            "sendvenue": self._send_venue,
            "close": lambda _: True,
            "logout": lambda _: True,
        }

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
        # Telegram's method names are case-insensitive.
        handler = self._methods.get(url.rstrip("/").rsplit("/", 1)[-1].lower())
        if handler is None:
            return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        try:
            result = handler(_Params.from_request(request_data))
        except _ApiError as exc:
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
        self._open_queries[query_id] = _OpenQuery(chat_id, user_id, message_id)
        return query_id

    @property
    def unanswered_queries(self) -> list[str]:
        """Taps the bot never answered: the user's button is still spinning."""
        return list(self._open_queries)

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

    def _get_me(self, _: _Params) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: _Params) -> list[JSONDict]:
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

    def _delete_webhook(self, params: _Params) -> bool:
        if params.boolean("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, _: _Params) -> JSONDict:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    @staticmethod
    def _scope_key(scope: Any) -> str:
        scope = dict(scope) if isinstance(scope, dict) else {"type": "default"}
        if "chat_id" in scope:
            with contextlib.suppress(TypeError, ValueError):
                scope["chat_id"] = int(scope["chat_id"])
        return json.dumps(scope, sort_keys=True)

    def _commands_key(self, params: _Params) -> tuple[str, str]:
        scope = params.json("scope", "bot command scope")
        return self._scope_key(scope), params.text("language_code") or ""

    def _set_my_commands(self, params: _Params) -> bool:
        commands = params.json("commands", "commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        checked = []
        for command in commands:
            if not isinstance(command, dict) or not isinstance(command.get("command"), str):
                raise _bad("can't parse BotCommand: Can't find field \"command\"")
            if not isinstance(command.get("description"), str):
                raise _bad("can't parse BotCommand: Can't find field \"description\"")
            if not _COMMAND_NAME.match(command["command"]):
                raise _bad("BOT_COMMAND_INVALID")
            if not command["description"].strip():
                raise _bad("command description must be non-empty")
            checked.append({"command": command["command"], "description": command["description"]})
        key = self._commands_key(params)
        if checked:
            self._commands[key] = checked
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: _Params) -> list[JSONDict]:
        return [dict(command) for command in self._commands.get(self._commands_key(params), [])]

    def _delete_my_commands(self, params: _Params) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _set_chat_menu_button(self, params: _Params) -> bool:
        button = params.json("menu_button", "menu button") or {"type": "default"}
        if "chat_id" not in params:
            self.default_menu_button = (
                button if button["type"] != "default" else {"type": "commands"}
            )
            return True
        chat = self._known_chat(params)
        chat.menu_button = None if button["type"] == "default" else button
        return True

    def _get_chat_menu_button(self, params: _Params) -> JSONDict:
        if "chat_id" not in params:
            return self.default_menu_button
        return self.menu_button(self._known_chat(params).id)

    def _known_chat(self, params: _Params) -> StubChat:
        raw = params.required("chat_id", "chat_id is empty")
        try:
            chat = self.chats.get(int(raw))
        except ValueError:
            # Private chats cannot be addressed by @username.
            chat = None
        if chat is None:
            raise _bad("chat not found")
        return chat

    def _writable_chat(self, params: _Params) -> StubChat:
        chat = self._known_chat(params)
        if chat.blocked:
            raise _forbidden("bot was blocked by the user")
        if not chat.started:
            raise _forbidden("bot can't initiate conversation with a user")
        return chat

    def _text(
        self, params: _Params, name: str, entities_name: str, limit: int, too_long: str
    ) -> tuple[str, list[JSONDict]]:
        entities = params.json(entities_name, "entities")
        try:
            text, found = format_text(
                params.text(name) or "",
                params.text("parse_mode"),
                entities if isinstance(entities, list) else None,
            )
        except EntitiesError as exc:
            raise _bad(exc.description) from None
        if len(text) > limit:
            # Telegram's limit is in characters after entity parsing, not in bytes.
            raise _bad(too_long)
        return text, found

    def _message_text(self, params: _Params) -> tuple[str, list[JSONDict]]:
        text, entities = self._text(
            params, "text", "entities", MAX_TEXT_LENGTH, "message is too long"
        )
        if not text:
            raise _bad("message text is empty")
        return text, entities

    def _caption(self, params: _Params) -> tuple[str | None, list[JSONDict]]:
        if "caption" not in params:
            return None, []
        caption, entities = self._text(
            params, "caption", "caption_entities", MAX_CAPTION_LENGTH, "message caption is too long"
        )
        return caption or None, entities

    def _markup(self, params: _Params, *, inline_only: bool) -> JSONDict | None:
        if "reply_markup" not in params:
            return None
        markup = params.json("reply_markup", "reply keyboard markup")
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = _check_inline_keyboard(markup["inline_keyboard"])
            # An empty inline keyboard is no keyboard at all.
            return markup if any(rows) else None
        if inline_only:
            raise _bad("REPLY_MARKUP_INVALID")
        if "keyboard" in markup:
            return {**markup, "keyboard": _check_reply_keyboard(markup["keyboard"])}
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup
        raise _bad("can't parse reply keyboard markup JSON object")

    def _reply_target(self, chat: StubChat, params: _Params) -> StubMessage | None:
        reply = params.json("reply_parameters", "reply parameters")
        if not isinstance(reply, dict):
            return None
        target = chat.find(int(reply.get("message_id", 0)))
        if target is None or target.deleted:
            if reply.get("allow_sending_without_reply"):
                return None
            raise _bad("message to be replied not found")
        return target

    def _post(self, chat: StubChat, params: _Params, **content: Any) -> JSONDict:
        markup = self._markup(params, inline_only=False)
        reply_to = self._reply_target(chat, params)
        message = StubMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id(),
            from_bot=True,
            date=self.now(),
            sender=self.bot_user,
            chat=chat.info,
            reply_markup=markup,
            reply_to=reply_to,
            **content,
        )
        chat.messages.append(message)
        if markup is not None and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup is not None and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        self.changes.append(Change("sent", chat.id, message=message))
        return message.to_wire()

    def _send_message(self, params: _Params) -> JSONDict:
        chat = self._writable_chat(params)
        text, entities = self._message_text(params)
        return self._post(chat, params, text=text, entities=entities)

    def _send_document(self, params: _Params) -> JSONDict:
        chat = self._writable_chat(params)
        document = self._document(params)
        caption, caption_entities = self._caption(params)
        return self._post(
            chat, params, document=document, caption=caption, caption_entities=caption_entities
        )

    def _document(self, params: _Params) -> StubDocument:
        upload = params.files.get("document")
        reference = params.text("document")
        if upload is None and reference is not None and reference.startswith("attach://"):
            upload = params.files.get(reference.removeprefix("attach://"))
        if upload is not None:
            file_name, content, mime_type = upload
            if not content:
                raise _bad("file must be non-empty")
            number = next(self._file_numbers)
            document = StubDocument(
                file_name, mime_type, content, f"BQACAgIAAxkDAAI{number:08d}", f"AgAD{number:06d}"
            )
            self._files[document.file_id] = document
            return document
        if reference is None:
            raise _bad("there is no document in the request")
        if reference in self._files:
            return self._files[reference]
        if reference.startswith(("http://", "https://")):
            number = next(self._file_numbers)
            name = reference.rsplit("/", 1)[-1] or "file"
            return StubDocument(
                name,
                "application/octet-stream",
                None,
                f"BQACAgIAAxkDAAI{number:08d}",
                f"AgAD{number:06d}",
            )
        raise _bad("wrong file identifier/HTTP URL specified")

    def _location(self, params: _Params) -> JSONDict:
        latitude, longitude = params.number("latitude"), params.number("longitude")
        if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
            raise _bad("wrong location specified")
        return {"latitude": latitude, "longitude": longitude}

    def _send_location(self, params: _Params) -> JSONDict:
        chat = self._writable_chat(params)
        return self._post(chat, params, location=self._location(params))

    def _send_venue(self, params: _Params) -> JSONDict:
        chat = self._writable_chat(params)
        location = self._location(params)
        venue = {
            "location": location,
            "title": params.required("title", "title is empty"),
            "address": params.required("address", "address is empty"),
        }
        return self._post(chat, params, location=location, venue=venue)

    def _editable(self, params: _Params) -> StubMessage:
        if "inline_message_id" in params:
            raise _bad("message to edit not found")
        chat = self._writable_chat(params)
        message_id = params.integer("message_id", 0)
        if not message_id:
            raise _bad("message identifier is not specified")
        message = chat.find(message_id)
        if message is None or message.deleted or not message.from_bot:
            raise _bad("message to edit not found")
        return message

    def _edited(self, message: StubMessage) -> JSONDict:
        message.edit_date = self.now()
        self.changes.append(Change("edited", message.chat_id, message=message))
        return message.to_wire()

    def _edit_message_text(self, params: _Params) -> JSONDict:
        message = self._editable(params)
        if message.text is None:
            raise _bad("there is no text in the message to edit")
        text, entities = self._message_text(params)
        # Without reply_markup an edit drops the inline keyboard, as on Telegram.
        markup = self._markup(params, inline_only=True)
        if (text, entities, markup) == (message.text, message.entities, message.inline_markup):
            raise _bad(NOT_MODIFIED)
        message.text, message.entities, message.reply_markup = text, entities, markup
        return self._edited(message)

    def _edit_message_reply_markup(self, params: _Params) -> JSONDict:
        message = self._editable(params)
        markup = self._markup(params, inline_only=True)
        if markup == message.inline_markup:
            raise _bad(NOT_MODIFIED)
        message.reply_markup = markup
        return self._edited(message)

    def _delete_message(self, params: _Params) -> bool:
        chat = self._known_chat(params)
        message = chat.find(params.integer("message_id", 0))
        if message is None or message.deleted:
            raise _bad("message to delete not found")
        if self.now() - message.date >= DELETE_WINDOW.total_seconds():
            raise _bad("message can't be deleted for everyone")
        message.deleted = True
        self.changes.append(Change("deleted", chat.id, message=message))
        return True

    def _answer_callback_query(self, params: _Params) -> bool:
        query_id = params.required("callback_query_id", "query_id is empty")
        query = self._open_queries.get(query_id)
        if query is None:
            raise _bad(QUERY_TOO_OLD)
        text = params.text("text") or ""
        if len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        del self._open_queries[query_id]
        answer = CallbackAnswer(
            query_id=query_id,
            chat_id=query.chat_id,
            user_id=query.user_id,
            message_id=query.message_id,
            text=text,
            show_alert=params.boolean("show_alert"),
            url=params.text("url"),
        )
        self.callback_answers.append(answer)
        self.changes.append(Change("answered", query.chat_id, answer=answer))
        return True

    def _send_chat_action(self, params: _Params) -> bool:
        chat = self._writable_chat(params)
        action = params.text("action") or ""
        if action not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        chat.actions.append(action)
        self.changes.append(Change("action", chat.id, action=action))
        return True


# --- the user ---------------------------------------------------------------------------------


class StubUser:
    """A person in a private chat with the bot: sends, taps and reads what the bot shows."""

    def __init__(
        self,
        api: BotApiStub,
        app: AnyApplication,
        *,
        user_id: int = 100001,
        first_name: str = "Anna",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        chat_id: int | None = None,
        phone_number: str = "+12025550143",
        through_processor: bool = False,
    ) -> None:
        self.api = api
        self.app = app
        # Updates go through the application's update processor, as the real fetcher sends
        # them (per-chat order, slow notices), rather than straight to `process_update`.
        self.through_processor = through_processor
        self.user_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.chat_id = user_id if chat_id is None else chat_id
        self.phone_number = phone_number
        self.opened_urls: list[str] = []
        self.chat = api.open_private_chat(self.chat_id, self.as_user())

    def as_user(self) -> JSONDict:
        """This user as a Telegram User object."""
        user: JSONDict = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        optional = {
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
        }
        user.update({key: value for key, value in optional.items() if value is not None})
        return user

    # reading

    @property
    def transcript(self) -> list[StubMessage]:
        """Every message of the chat, both sides, deleted ones included (flagged)."""
        return list(self.chat.messages)

    @property
    def bot_messages(self) -> list[StubMessage]:
        """The bot's messages the user can still see, oldest first."""
        return [m for m in self.chat.messages if m.from_bot and not m.deleted]

    @property
    def bot_texts(self) -> list[str]:
        return [m.body for m in self.bot_messages]

    @property
    def last(self) -> Screen:
        """The newest visible bot message."""
        messages = self.bot_messages
        if not messages:
            raise AssertionError(f"the bot has shown {self.first_name} nothing yet")
        return Screen(messages[-1], self.chat.reply_keyboard_labels)

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        return self.chat.reply_keyboard_labels

    def screen(self) -> str:
        """The newest bot message, its numbered buttons and the reply keyboard, as text."""
        if not self.bot_messages:
            return "(no messages yet)"
        return self.last.render()

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        return [a for a in self.api.callback_answers if a.user_id == self.user_id]

    @property
    def answers(self) -> list[str]:
        """Toasts and alerts this user was shown (silent answers show nothing)."""
        return [a.text for a in self.callback_answers if a.text]

    @property
    def documents(self) -> list[StubDocument]:
        return [m.document for m in self.bot_messages if m.document is not None]

    @property
    def chat_actions(self) -> list[str]:
        return list(self.chat.actions)

    def mark(self) -> int:
        return self.api.mark()

    def changes_since(self, mark: int) -> list[Change]:
        return self.api.changes_since(mark, self.chat_id)

    # acting

    def block(self) -> None:
        self.chat.blocked = True

    def unblock(self) -> None:
        self.chat.blocked = False

    def message_update(self, text: str) -> JSONDict:
        """Record a text message and return its update, e.g. for `api.enqueue` (polling)."""
        message = self._say(text=text, entities=_command_entities(text))
        return {"update_id": self.api.next_update_id(), "message": message.to_wire()}

    async def send(self, text: str) -> None:
        """Type and send a text; a leading /command gets its bot_command entity."""
        await self._process(self.message_update(text))

    async def share_contact(
        self, phone: str, *, user_id: int | None = None, first_name: str | None = None
    ) -> None:
        """Share a contact: by default one's own, or someone else's when `user_id` differs."""
        own = user_id is None or user_id == self.user_id
        contact: JSONDict = {
            "phone_number": phone,
            "first_name": first_name or (self.first_name if own else "Contact"),
            "user_id": self.user_id if user_id is None else user_id,
        }
        if own and self.last_name:
            contact["last_name"] = self.last_name
        await self._send_content(contact=contact)

    async def send_sticker(self, emoji: str = "👍") -> None:
        sticker = {
            "file_id": "CAACAgIAAxkBAAIBc2ZzdHViX3N0aWNrZXI",
            "file_unique_id": "AgADstub",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        await self._send_content(media={"sticker": sticker})

    async def send_photo(self, caption: str | None = None) -> None:
        sizes = [
            {"file_id": f"AgACAgIAAxkBAAIBdGZzdHViX3Bob3Rv{side}", "file_unique_id": f"AQADs{side}"}
            | {"width": side, "height": side, "file_size": side * 40}
            for side in (90, 320, 800)
        ]
        await self._send_content(media={"photo": sizes}, caption=caption)

    async def send_location(self, latitude: float, longitude: float) -> None:
        await self._send_content(location={"latitude": latitude, "longitude": longitude})

    async def edit_last(self, text: str) -> None:
        """Edit the user's own newest text message (an edited_message update)."""
        for message in reversed(self.chat.messages):
            if not message.from_bot and not message.deleted and message.text is not None:
                message.text, message.entities = text, _command_entities(text)
                message.edit_date = self.api.now()
                update = {
                    "update_id": self.api.next_update_id(),
                    "edited_message": message.to_wire(),
                }
                await self._process(update)
                return
        raise AssertionError(f"{self.first_name} has sent no text to edit")

    async def tap(self, label: str) -> None:
        """Tap the button labelled exactly `label`: on the newest bot message showing it, else on
        the reply keyboard."""
        for message in reversed(self.bot_messages):
            for row in message.inline_keyboard:
                for button in row:
                    if button["text"] == label:
                        await self._press(message, button)
                        return
        for row in self.chat.reply_keyboard["keyboard"] if self.chat.reply_keyboard else []:
            for button in row:
                if button["text"] == label:
                    await self._press_reply(button)
                    return
        raise AssertionError(
            f"{self.first_name} sees no button {label!r}; visible: {self._visible_labels()}"
        )

    async def tap_number(self, number: int) -> None:
        """Tap inline button `number` (as numbered by `screen()`) of the newest keyboard."""
        for message in reversed(self.bot_messages):
            buttons = [button for row in message.inline_keyboard for button in row]
            if buttons:
                if not 1 <= number <= len(buttons):
                    raise AssertionError(f"there is no button {number}; visible: {message.buttons}")
                await self._press(message, buttons[number - 1])
                return
        raise AssertionError(f"{self.first_name} sees no inline buttons")

    async def tap_data(self, data: str, message_id: int | None = None) -> None:
        """Send a callback with arbitrary `data`, as a stale or forged button would."""
        if message_id is None:
            message = self.last.message
        else:
            found = self.chat.find(message_id)
            if found is None or found.deleted or not found.from_bot:
                raise AssertionError(f"no visible bot message {message_id} in this chat")
            message = found
        await self._callback(message, data)

    # plumbing

    def _visible_labels(self) -> JSONDict:
        inline = next((m.buttons for m in reversed(self.bot_messages) if m.buttons), [])
        return {"inline": inline, "keyboard": self.chat.reply_keyboard_labels}

    def _say(self, **content: Any) -> StubMessage:
        return self.api.receive(self.chat_id, self.as_user(), **content)

    async def _send_content(self, **content: Any) -> None:
        message = self._say(**content)
        await self._process({"update_id": self.api.next_update_id(), "message": message.to_wire()})

    async def _press(self, message: StubMessage, button: JSONDict) -> None:
        if "callback_data" in button:
            await self._callback(message, str(button["callback_data"]))
        elif "url" in button:
            self.opened_urls.append(str(button["url"]))
        else:
            kinds = sorted(set(button) - {"text"})
            raise AssertionError(f"button {button['text']!r} ({kinds}) cannot be pressed here")

    async def _press_reply(self, button: JSONDict) -> None:
        if button.get("request_contact"):
            await self.share_contact(self.phone_number)
        elif button.get("request_location"):
            raise AssertionError("this button asks for a location: use send_location(lat, lon)")
        else:
            await self.send(str(button["text"]))

    async def _callback(self, message: StubMessage, data: str) -> None:
        query_id = self.api.open_callback_query(self.chat_id, self.user_id, message.message_id)
        query = {
            "id": query_id,
            "from": self.as_user(),
            "message": message.to_wire(),
            "chat_instance": str(-8_000_000_000_000_000_000 + self.chat_id),
            "data": data,
        }
        await self._process({"update_id": self.api.next_update_id(), "callback_query": query})

    async def _process(self, update: JSONDict) -> None:
        parsed = Update.de_json(update, self.app.bot)
        if self.through_processor:
            processor = self.app.update_processor
            await processor.process_update(parsed, self.app.process_update(parsed))
        else:
            await self.app.process_update(parsed)


def _command_entities(text: str) -> list[JSONDict]:
    return [
        {
            "type": "bot_command",
            "offset": u16(text[: match.start()]),
            "length": u16(match.group()),
        }
        for match in _BOT_COMMAND.finditer(text)
    ]
