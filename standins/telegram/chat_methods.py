"""The Bot API methods a bot uses inside chats: sending, editing and deleting messages, answering
button taps, chat actions. They keep every chat's transcript and each change a user would notice.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from standins.telegram.api_rules import (
    CHAT_ACTIONS,
    DELETE_WINDOW,
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    Params,
    bad,
    check_inline_keyboard,
    check_reply_keyboard,
    forbidden,
)
from standins.telegram.formatting import format_text
from standins.telegram.text_entities import EntitiesError
from standins.telegram.transcript import (
    CallbackAnswer,
    Change,
    JSONDict,
    StubChat,
    StubDocument,
    StubMessage,
)


@dataclass(frozen=True)
class OpenQuery:
    """A button tap the bot has not answered yet."""

    chat_id: int
    user_id: int
    message_id: int


class ChatMethods:
    """The chats of one bot and the methods that act in them; `now` is the current Telegram
    date, `sender` the bot as a Telegram user."""

    def __init__(self, now: Callable[[], int], sender: Callable[[], JSONDict]) -> None:
        self.now = now
        self.sender = sender
        self.chats: dict[int, StubChat] = {}
        self.changes: list[Change] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.open_queries: dict[str, OpenQuery] = {}
        self._files: dict[str, StubDocument] = {}
        self._file_numbers = itertools.count(1)

    def methods(self) -> dict[str, Callable[[Params], Any]]:
        """These methods by their lower-case Bot API names."""
        return {
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendlocation": self._send_location,
            "sendvenue": self._send_venue,
        }

    def known_chat(self, params: Params) -> StubChat:
        raw = params.required("chat_id", "chat_id is empty")
        try:
            chat = self.chats.get(int(raw))
        except ValueError:
            # Private chats cannot be addressed by @username.
            chat = None
        if chat is None:
            raise bad("chat not found")
        return chat

    def _writable_chat(self, params: Params) -> StubChat:
        chat = self.known_chat(params)
        if chat.blocked:
            raise forbidden("bot was blocked by the user")
        if not chat.started:
            raise forbidden("bot can't initiate conversation with a user")
        return chat

    def _text(
        self, params: Params, name: str, entities_name: str, limit: int, too_long: str
    ) -> tuple[str, list[JSONDict]]:
        entities = params.json(entities_name, "entities")
        try:
            text, found = format_text(
                params.text(name) or "",
                params.text("parse_mode"),
                entities if isinstance(entities, list) else None,
            )
        except EntitiesError as exc:
            raise bad(exc.description) from None
        if len(text) > limit:
            # Telegram's limit is in characters after entity parsing, not in bytes.
            raise bad(too_long)
        return text, found

    def _message_text(self, params: Params) -> tuple[str, list[JSONDict]]:
        text, entities = self._text(
            params, "text", "entities", MAX_TEXT_LENGTH, "message is too long"
        )
        if not text:
            raise bad("message text is empty")
        return text, entities

    def _caption(self, params: Params) -> tuple[str | None, list[JSONDict]]:
        if "caption" not in params:
            return None, []
        caption, entities = self._text(
            params, "caption", "caption_entities", MAX_CAPTION_LENGTH, "message caption is too long"
        )
        return caption or None, entities

    def _markup(self, params: Params, *, inline_only: bool) -> JSONDict | None:
        if "reply_markup" not in params:
            return None
        markup = params.json("reply_markup", "reply keyboard markup")
        if not isinstance(markup, dict):
            raise bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = check_inline_keyboard(markup["inline_keyboard"])
            # An empty inline keyboard is no keyboard at all.
            return markup if any(rows) else None
        if inline_only:
            raise bad("REPLY_MARKUP_INVALID")
        if "keyboard" in markup:
            return {**markup, "keyboard": check_reply_keyboard(markup["keyboard"])}
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup
        raise bad("can't parse reply keyboard markup JSON object")

    def _reply_target(self, chat: StubChat, params: Params) -> StubMessage | None:
        reply = params.json("reply_parameters", "reply parameters")
        if not isinstance(reply, dict):
            return None
        target = chat.find(int(reply.get("message_id", 0)))
        if target is None or target.deleted:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad("message to be replied not found")
        return target

    def _post(self, chat: StubChat, params: Params, **content: Any) -> JSONDict:
        markup = self._markup(params, inline_only=False)
        reply_to = self._reply_target(chat, params)
        message = StubMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id(),
            from_bot=True,
            date=self.now(),
            sender=self.sender(),
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

    def _send_message(self, params: Params) -> JSONDict:
        chat = self._writable_chat(params)
        text, entities = self._message_text(params)
        return self._post(chat, params, text=text, entities=entities)

    def _send_document(self, params: Params) -> JSONDict:
        chat = self._writable_chat(params)
        document = self._document(params)
        caption, caption_entities = self._caption(params)
        return self._post(
            chat, params, document=document, caption=caption, caption_entities=caption_entities
        )

    def _document(self, params: Params) -> StubDocument:
        upload = params.files.get("document")
        reference = params.text("document")
        if upload is None and reference is not None and reference.startswith("attach://"):
            upload = params.files.get(reference.removeprefix("attach://"))
        if upload is not None:
            file_name, content, mime_type = upload
            if not content:
                raise bad("file must be non-empty")
            number = next(self._file_numbers)
            document = StubDocument(
                file_name, mime_type, content, f"BQACAgIAAxkDAAI{number:08d}", f"AgAD{number:06d}"
            )
            self._files[document.file_id] = document
            return document
        if reference is None:
            raise bad("there is no document in the request")
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
        raise bad("wrong file identifier/HTTP URL specified")

    def _send_photo(self, params: Params) -> JSONDict:
        """A photo uploaded as a file (multipart): Telegram answers with the sizes it keeps,
        thumbnails first, the largest no wider or taller than 1280 pixels."""
        chat = self._writable_chat(params)
        upload = params.files.get("photo")
        reference = params.text("photo")
        if upload is None and reference is not None and reference.startswith("attach://"):
            upload = params.files.get(reference.removeprefix("attach://"))
        if upload is None:
            raise bad("there is no photo in the request")
        file_name, content, mime_type = upload
        dimensions = image_size(content)
        if dimensions is None:
            raise bad("IMAGE_PROCESS_FAILED")
        number = next(self._file_numbers)
        photo = StubDocument(
            file_name, mime_type, content, f"AgACAgIAAxkDAAI{number:08d}", f"AQAD{number:06d}"
        )
        self._files[photo.file_id] = photo
        caption, caption_entities = self._caption(params)
        return self._post(
            chat,
            params,
            media={"photo": photo_sizes(photo, *dimensions)},
            photo=photo,
            caption=caption,
            caption_entities=caption_entities,
        )

    def _location(self, params: Params) -> JSONDict:
        latitude, longitude = params.number("latitude"), params.number("longitude")
        if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
            raise bad("wrong location specified")
        return {"latitude": latitude, "longitude": longitude}

    def _send_location(self, params: Params) -> JSONDict:
        chat = self._writable_chat(params)
        return self._post(chat, params, location=self._location(params))

    def _send_venue(self, params: Params) -> JSONDict:
        chat = self._writable_chat(params)
        location = self._location(params)
        venue = {
            "location": location,
            "title": params.required("title", "title is empty"),
            "address": params.required("address", "address is empty"),
        }
        return self._post(chat, params, location=location, venue=venue)

    def _editable(self, params: Params) -> StubMessage:
        if "inline_message_id" in params:
            raise bad("message to edit not found")
        chat = self._writable_chat(params)
        message_id = params.integer("message_id", 0)
        if not message_id:
            raise bad("message identifier is not specified")
        message = chat.find(message_id)
        if message is None or message.deleted or not message.from_bot:
            raise bad("message to edit not found")
        return message

    def _edited(self, message: StubMessage) -> JSONDict:
        message.edit_date = self.now()
        self.changes.append(Change("edited", message.chat_id, message=message))
        return message.to_wire()

    def _edit_message_text(self, params: Params) -> JSONDict:
        message = self._editable(params)
        if message.text is None:
            raise bad("there is no text in the message to edit")
        text, entities = self._message_text(params)
        # Without reply_markup an edit drops the inline keyboard, as on Telegram.
        markup = self._markup(params, inline_only=True)
        if (text, entities, markup) == (message.text, message.entities, message.inline_markup):
            raise bad(NOT_MODIFIED)
        message.text, message.entities, message.reply_markup = text, entities, markup
        return self._edited(message)

    def _edit_message_reply_markup(self, params: Params) -> JSONDict:
        message = self._editable(params)
        markup = self._markup(params, inline_only=True)
        if markup == message.inline_markup:
            raise bad(NOT_MODIFIED)
        message.reply_markup = markup
        return self._edited(message)

    def _delete_message(self, params: Params) -> bool:
        chat = self.known_chat(params)
        message = chat.find(params.integer("message_id", 0))
        if message is None or message.deleted:
            raise bad("message to delete not found")
        if self.now() - message.date >= DELETE_WINDOW.total_seconds():
            raise bad("message can't be deleted for everyone")
        message.deleted = True
        self.changes.append(Change("deleted", chat.id, message=message))
        return True

    def _answer_callback_query(self, params: Params) -> bool:
        query_id = params.required("callback_query_id", "query_id is empty")
        query = self.open_queries.get(query_id)
        if query is None:
            raise bad(QUERY_TOO_OLD)
        text = params.text("text") or ""
        if len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad("MESSAGE_TOO_LONG")
        del self.open_queries[query_id]
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

    def _send_chat_action(self, params: Params) -> bool:
        chat = self._writable_chat(params)
        action = params.text("action") or ""
        if action not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        chat.actions.append(action)
        self.changes.append(Change("action", chat.id, action=action))
        return True


def image_size(content: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG, from its header; None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    if content.startswith(b"\xff\xd8"):
        at = 2
        while at + 9 < len(content) and content[at] == 0xFF:
            marker, length = content[at + 1], int.from_bytes(content[at + 2 : at + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                height = int.from_bytes(content[at + 5 : at + 7], "big")
                return int.from_bytes(content[at + 7 : at + 9], "big"), height
            at += 2 + length
    return None


def photo_sizes(photo: StubDocument, width: int, height: int) -> list[JSONDict]:
    """The sizes Telegram keeps of a photo: 90, 320 and 800 pixel thumbnails where the photo is
    larger, and the photo itself scaled to at most 1280 pixels (its size in bytes only where
    it was kept as sent)."""
    sizes: list[JSONDict] = []
    for number, side in enumerate((90, 320, 800, 1280)):
        largest = max(width, height)
        last = largest <= side or side == 1280
        scale = min(1.0, side / largest)
        size: JSONDict = {
            "file_id": f"{photo.file_id}{number}",
            "file_unique_id": f"{photo.file_unique_id}{number}",
            "width": max(1, round(width * scale)),
            "height": max(1, round(height * scale)),
        }
        if last and scale == 1.0 and photo.content is not None:
            size["file_size"] = len(photo.content)
        sizes.append(size)
        if last:
            break
    return sizes
