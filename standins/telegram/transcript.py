"""What the Bot API stand-in remembers of each chat, and how a message looks to the user."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Literal

JSONDict = dict[str, Any]


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
    photo: StubDocument | None = None  # a photo the bot uploaded, as it was sent
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
