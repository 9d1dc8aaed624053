"""`StubUser`, the person on the other side of a private chat with the bot: the language the
tests and `altegio-bot chat` speak (send, tap, read the screen) on top of the Bot API stand-in.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Update
from telegram.ext import Application

from standins.telegram.bot_api import BotApiStub
from standins.telegram.text_entities import u16
from standins.telegram.transcript import (
    CallbackAnswer,
    Change,
    JSONDict,
    Screen,
    StubDocument,
    StubMessage,
)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

_BOT_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")


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
    def photos(self) -> list[StubMessage]:
        """The bot's messages carrying a photo it uploaded."""
        return [m for m in self.bot_messages if m.photo is not None]

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
