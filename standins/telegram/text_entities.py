"""Plain text with entities as Telegram builds it from formatted text: offsets in UTF-16 units,
refusals in Telegram's words, and the small print its parsers share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JSONDict = dict[str, Any]

TRIM = " \t\r\n"


def u16(text: str) -> int:
    """Length in UTF-16 code units, Telegram's unit for entity offsets."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Open:
    """An entity whose end has not been seen yet."""

    kind: str
    argument: str
    offset: int  # in UTF-16 units of the output, where the entity starts
    part: int  # index into the output parts, to read the entity's text back
    byte: int  # in UTF-8 bytes of the input, for error messages


class Formatted:
    """Plain text being built with entities, offsets counted the way Telegram counts them."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0
        self.entities: list[JSONDict] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.offset += u16(text)

    def text(self) -> str:
        return "".join(self.parts)

    def close(self, kind: str, start: int, **extra: str) -> None:
        if self.offset > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.offset - start, **extra}
            )

    def result(self) -> tuple[str, list[JSONDict]]:
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return self.text(), entities


class EntitiesError(ValueError):
    """Telegram would refuse the text; the message is Telegram's own description."""

    @property
    def description(self) -> str:
        return str(self.args[0])


def entities_error(reason: str) -> EntitiesError:
    return EntitiesError(f"can't parse entities: {reason}")


def byte_offset(text: str, position: int) -> int:
    return len(text[:position].encode())


def char_at(text: str, position: int) -> str:
    """The character at `position`, or NUL past the end (as in the C string Telegram reads)."""
    return text[position] if position < len(text) else "\0"


SPACE = " \t\r\n\v\0"
"""White space as Telegram's parsers see it."""
