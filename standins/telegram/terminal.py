"""The conversation in a terminal (`altegio-bot chat`): a typed line becomes a tap or a message,
and what the bot did is printed as the user would see it."""

from __future__ import annotations

from collections.abc import Sequence

from standins.telegram.transcript import Change, StubMessage, render
from standins.telegram.users import StubUser


async def act(user: StubUser, line: str) -> None:
    """A button's number or a reply keyboard label taps it; anything else is sent as text."""
    keyboard = [label for row in user.reply_keyboard or [] for label in row]
    buttons = [label for row in user.last.buttons for label in row] if user.bot_messages else []
    if line.isdigit() and 1 <= int(line) <= len(buttons):
        await user.tap(buttons[int(line) - 1])
    elif line in keyboard:
        await user.tap(line)
    else:
        await user.send(line)


def print_changes(changes: Sequence[Change], user: StubUser) -> None:
    """Each message the bot sent or edited, once, as it looks now; then its button answers."""
    shown: dict[int, tuple[bool, StubMessage]] = {}
    notes: list[str] = []
    for change in changes:
        message = change.message
        if change.kind in ("sent", "edited") and message is not None:
            edited = change.kind == "edited" and message.message_id not in shown
            shown.pop(message.message_id, None)
            shown[message.message_id] = (edited, message)
        elif change.kind == "answered" and change.answer is not None and change.answer.text:
            notes.append(change.answer.text)
    for edited, message in shown.values():
        if message.deleted:
            continue
        keyboard = user.reply_keyboard if message.message_id == user.last.message_id else None
        print(("(updated) " if edited else "") + render(message, keyboard) + "\n")
    for note in notes:
        print(f"  ({note})\n")
