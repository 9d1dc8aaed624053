"""What the Bot API accepts from a bot and how Telegram words a refusal: limits, error
descriptions, request parameters as Telegram reads them, keyboards as it checks them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from telegram.request import RequestData

JSONDict = dict[str, Any]

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


class ApiError(Exception):
    def __init__(self, description: str, code: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.code = code


def bad(description: str) -> ApiError:
    return ApiError(f"Bad Request: {description}")


def forbidden(description: str) -> ApiError:
    return ApiError(f"Forbidden: {description}", 403)


class Params:
    """A request's form fields as Telegram receives them: strings, JSON inside for objects."""

    def __init__(self, values: Mapping[str, str], files: Mapping[str, tuple[str, bytes, str]]):
        self.values = values
        self.files = files

    @classmethod
    def from_request(cls, request_data: RequestData | None) -> Params:
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
            raise bad(missing)
        return value

    def integer(self, name: str, default: int) -> int:
        value = self.values.get(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise bad(f'field "{name}" must be of type Integer') from None

    def number(self, name: str) -> float:
        try:
            return float(self.required(name, f"{name} is empty"))
        except ValueError:
            raise bad(f'field "{name}" must be of type Number') from None

    def boolean(self, name: str) -> bool:
        return self.values.get(name, "false").lower() in ("true", "1")

    def json(self, name: str, what: str) -> Any:
        value = self.values.get(name)
        if value is None:
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad(f"can't parse {what} JSON object") from None


def check_inline_keyboard(rows: Any) -> list[list[JSONDict]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad('Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            data = button.get("callback_data")
            if data is not None and not isinstance(data, str):
                raise bad(
                    'can\'t parse inline keyboard button: Field "callback_data" must be of type '
                    "String"
                )
            if data is not None and len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
                raise bad("BUTTON_DATA_INVALID")
            # An empty callback_data is as good as none at all.
            if not any(button.get(kind) not in (None, "") for kind in _BUTTON_ACTIONS):
                raise bad(TEXT_BUTTONS)
    return rows


def check_reply_keyboard(rows: Any) -> list[list[JSONDict]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad('Field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
    checked: list[list[JSONDict]] = []
    for row in rows:
        buttons: list[JSONDict] = []
        for button in row:
            normalised = {"text": button} if isinstance(button, str) else button
            if not isinstance(normalised, dict) or not isinstance(normalised.get("text"), str):
                raise bad('can\'t parse keyboard button: Field "text" must be of type String')
            buttons.append(normalised)
        checked.append(buttons)
    return checked
