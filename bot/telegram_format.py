"""Telegram's text formatting as the Bot API applies it: HTML, MarkdownV2 and legacy Markdown
parsed into plain text and entities, with Telegram's own refusals (used by the Bot API stand-in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

JSONDict = dict[str, Any]

TRIM = " \t\r\n"


def u16(text: str) -> int:
    """Length in UTF-16 code units, Telegram's unit for entity offsets."""
    return len(text.encode("utf-16-le")) // 2


# --- Telegram's text formatting -------------------------------------------------------------


@dataclass
class _Open:
    """An entity whose end has not been seen yet."""

    kind: str
    argument: str
    offset: int  # in UTF-16 units of the output, where the entity starts
    part: int  # index into the output parts, to read the entity's text back
    byte: int  # in UTF-8 bytes of the input, for error messages


class _Formatted:
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


def _entities_error(reason: str) -> EntitiesError:
    return EntitiesError(f"can't parse entities: {reason}")


def _byte_offset(text: str, position: int) -> int:
    return len(text[:position].encode())


def _char(text: str, position: int) -> str:
    """The character at `position`, or NUL past the end (as in the C string Telegram reads)."""
    return text[position] if position < len(text) else "\0"


_HTML_SPACE = " \t\r\n\v\0"
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_KINDS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_DIGITS = "0123456789"
_HEX_DIGITS = "0123456789abcdefABCDEF"


def _html_entity(text: str, position: int) -> tuple[str | None, int]:
    """Decode `&...;` at `position` as Telegram does (the `;` is optional, unknown names stay)."""
    end = position + 1
    if _char(text, end) == "#":
        end += 1
        value = 0
        hexadecimal = _char(text, end) == "x"
        if hexadecimal:
            end += 1
        digits = _HEX_DIGITS if hexadecimal else _DIGITS
        while _char(text, end) in digits:
            value = value * (16 if hexadecimal else 10) + int(text[end], 16)
            end += 1
            if value >= 0x10FFFF:
                return None, position
        if value == 0 or end - position >= 10 or 0xD800 <= value <= 0xDFFF:
            return None, position
        decoded = chr(value)
    else:
        while _char(text, end).isascii() and _char(text, end).isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[position + 1 : end])
        if named is None:
            return None, position
        decoded = named
    if _char(text, end) == ";":
        end += 1
    return decoded, end


def _parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's HTML mode: the tags it knows, strict about everything else."""
    out = _Formatted()
    stack: list[_Open] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            decoded, after = _html_entity(text, i)
            if decoded is not None:
                out.add(decoded)
                i = after
                continue
        if char != "<":
            out.add(char)
            i += 1
            continue
        begin = i
        at = _byte_offset(text, begin)
        i += 1
        if _char(text, i) != "/":
            while _char(text, i) not in _HTML_SPACE and _char(text, i) != ">":
                i += 1
            if i >= len(text):
                raise _entities_error(f"Unclosed start tag at byte offset {at}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise _entities_error(f'Unsupported start tag "{tag}" at byte offset {at}')
            argument, i = _html_attributes(text, i, tag, at)
            if tag == "span" and argument != "spoiler":
                raise _entities_error(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {at}'
                )
            stack.append(_Open(tag, argument, out.offset, len(out.parts), at))
            i += 1
            continue
        if not stack:
            raise _entities_error(f"Unexpected end tag at byte offset {at}")
        while _char(text, i) not in _HTML_SPACE and _char(text, i) != ">":
            i += 1
        end_tag = text[begin + 2 : i]
        while i < len(text) and text[i] in _HTML_SPACE:
            i += 1
        if _char(text, i) != ">":
            raise _entities_error(f"Unclosed end tag at byte offset {at}")
        opened = stack.pop()
        if end_tag and end_tag.lower() != opened.kind:
            raise _entities_error(
                f'Unmatched end tag at byte offset {at}, expected "</{opened.kind}>", '
                f'found "</{end_tag}>"'
            )
        _close_html_tag(out, opened)
        i += 1
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].kind}"')
    return out.result()


def _html_attributes(text: str, i: int, tag: str, at: int) -> tuple[str, int]:
    """Read a start tag's attributes up to its `>`; return the one that matters and the `>`."""
    argument = ""
    while _char(text, i) != ">":
        while i < len(text) and text[i] in _HTML_SPACE:
            i += 1
        if _char(text, i) == ">":
            break
        name_begin = i
        while _char(text, i) not in _HTML_SPACE and _char(text, i) not in "=>":
            i += 1
        name = text[name_begin:i]
        if not name:
            raise _entities_error(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
        while i < len(text) and text[i] in _HTML_SPACE:
            i += 1
        if _char(text, i) != "=":
            if tag == "blockquote" and name == "expandable":
                argument = "1"
                continue
            raise _entities_error(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {at}'
            )
        i += 1
        while i < len(text) and text[i] in _HTML_SPACE:
            i += 1
        if i >= len(text):
            raise _entities_error(f'Unclosed start tag "{tag}" at byte offset {at}')
        if text[i] not in "'\"":
            token_begin = i
            while _char(text, i).isascii() and (_char(text, i).isalnum() or text[i] in ".-"):
                i += 1
            value = text[token_begin:i].lower()
            if _char(text, i) not in _HTML_SPACE and _char(text, i) != ">":
                raise _entities_error(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                )
        else:
            quote = text[i]
            i += 1
            chars: list[str] = []
            while i < len(text) and text[i] != quote:
                if text[i] == "&":
                    decoded, after = _html_entity(text, i)
                    if decoded is not None:
                        chars.append(decoded)
                        i = after
                        continue
                chars.append(text[i])
                i += 1
            if _char(text, i) == quote:
                i += 1
            value = "".join(chars)
        if i >= len(text):
            raise _entities_error(f"Unclosed start tag at byte offset {at}")
        if tag == "a" and name == "href":
            argument = value
        elif tag == "code" and name == "class" and value.startswith("language-"):
            argument = value.removeprefix("language-")
        elif tag == "span" and name == "class" and value.startswith("tg-"):
            argument = value.removeprefix("tg-")
        elif tag == "tg-emoji" and name == "emoji-id":
            argument = value
        elif tag == "blockquote" and name == "expandable":
            argument = "1"
    return argument, i


def _close_html_tag(out: _Formatted, opened: _Open) -> None:
    tag, start = opened.kind, opened.offset
    if tag == "a":
        url = opened.argument or "".join(out.parts[opened.part :])
        if url:
            out.close("text_link", start, url=url)
    elif tag == "tg-emoji":
        out.close("custom_emoji", start, custom_emoji_id=opened.argument)
    elif tag == "blockquote":
        out.close("expandable_blockquote" if opened.argument else "blockquote", start)
    elif tag == "pre":
        inner = out.entities[-1] if out.entities else None
        if (
            inner is not None
            and inner["type"] == "code"
            and inner["offset"] == start
            and inner["offset"] + inner["length"] == out.offset
            and "language" in inner
        ):
            out.entities.pop()
            out.close("pre", start, language=str(inner["language"]))
        else:
            out.close("pre", start)
    elif tag == "code" and opened.argument:
        out.close("code", start, language=opened.argument)
    else:
        out.close(_HTML_KINDS[tag], start)


_MD2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MD2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _md2_closes(kind: str, text: str, i: int) -> bool:
    char, after = text[i], _char(text, i + 1)
    return {
        "bold": char == "*",
        "italic": char == "_" and after != "_",
        "underline": char == "_" and after == "_",
        "strikethrough": char == "~",
        "spoiler": char == "|" and after == "|",
        "code": char == "`",
        "pre": char == "`" and after == "`" and _char(text, i + 2) == "`",
        "text_link": char == "]",
        "custom_emoji": char == "]",
    }[kind]


def _parse_markdown_v2(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's MarkdownV2: every reserved character outside an entity must be escaped."""
    out = _Formatted()
    stack: list[_Open] = []
    quote_start: int | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and 0 < ord(_char(text, i + 1)) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        top = stack[-1].kind if stack else None
        line_start = i == 0 or text[i - 1] == "\n"
        if char == ">" and line_start and top is None:
            # A quoted line; consecutive quoted lines make one blockquote.
            if quote_start is None:
                quote_start = out.offset
            i += 1
            continue
        if char == "\n" and quote_start is not None and _char(text, i + 1) != ">":
            out.close("blockquote", quote_start)
            quote_start = None
        reserved = "`" if top in ("code", "pre") else _MD2_RESERVED
        if char not in reserved:
            out.add(char)
            i += 1
            continue
        at = _byte_offset(text, i)
        if top is None or not _md2_closes(top, text, i):
            argument = ""
            if char == "_" and _char(text, i + 1) == "_":
                kind = "underline"
                i += 1
            elif char == "_":
                kind = "italic"
            elif char == "*":
                kind = "bold"
            elif char == "~":
                kind = "strikethrough"
            elif char == "|" and _char(text, i + 1) == "|":
                kind = "spoiler"
                i += 1
            elif char == "[":
                kind = "text_link"
            elif char == "!" and _char(text, i + 1) == "[":
                kind = "custom_emoji"
                i += 1
            elif char == "`" and text[i + 1 : i + 3] == "``":
                kind = "pre"
                i += 3
                language_end = i
                while _char(text, language_end) not in _HTML_SPACE + "`":
                    language_end += 1
                if language_end != i and _char(text, language_end) not in "`\0":
                    argument = text[i:language_end]
                    i = language_end
                if _char(text, i) in "\r\n":
                    i += 2 if _char(text, i + 1) in "\r\n" and text[i] != text[i + 1] else 1
                i -= 1
            elif char == "`":
                kind = "code"
            else:
                raise _entities_error(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
            stack.append(_Open(kind, argument, out.offset, len(out.parts), at))
            i += 1
            continue
        opened = stack.pop()
        extra: dict[str, str] = {}
        if opened.kind in ("text_link", "custom_emoji"):
            if _char(text, i + 1) == "(":
                i += 2
                url_begin = i
                chars: list[str] = []
                while i < len(text) and text[i] != ")":
                    if text[i] == "\\" and 0 < ord(_char(text, i + 1)) <= 126:
                        chars.append(text[i + 1])
                        i += 2
                        continue
                    chars.append(text[i])
                    i += 1
                if _char(text, i) != ")":
                    raise _entities_error(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, url_begin)}"
                    )
                url = "".join(chars)
            else:
                url = "".join(out.parts[opened.part :])
            if opened.kind == "custom_emoji":
                if not url.startswith("tg://emoji?id="):
                    raise _entities_error("Custom emoji entity must contain a tg://emoji URL")
                extra["custom_emoji_id"] = url.removeprefix("tg://emoji?id=")
            else:
                extra["url"] = url
        elif opened.kind in ("underline", "spoiler"):
            i += 1
        elif opened.kind == "pre":
            i += 2
            if opened.argument:
                extra["language"] = opened.argument
        out.close(opened.kind, opened.offset, **extra)
        i += 1
    if stack:
        raise _entities_error(
            f"Can't find end of {_MD2_NAMES[stack[-1].kind]} entity at byte offset {stack[-1].byte}"
        )
    if quote_start is not None:
        out.close("blockquote", quote_start)
    return out.result()


def _parse_markdown(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url)."""
    out = _Formatted()
    kinds = {"*": "bold", "_": "italic"}
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and _char(text, i + 1) in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        begin = i
        end_char = "]" if char == "[" else char
        is_pre = char == "`" and text[i + 1 : i + 3] == "``"
        i += 3 if is_pre else 1
        language = ""
        if is_pre:
            language_end = i
            while _char(text, language_end) not in _HTML_SPACE + "`":
                language_end += 1
            if language_end != i and _char(text, language_end) not in "`\0":
                language = text[i:language_end]
                i = language_end
            if _char(text, i) == "\n":
                i += 1
        start, position = out.offset, len(out.parts)
        while i < len(text) and (text[i] != end_char or (is_pre and text[i + 1 : i + 3] != "``")):
            out.add(text[i])
            i += 1
        if i >= len(text):
            raise _entities_error(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        if char == "[":
            if _char(text, i + 1) == "(":
                url_end = text.find(")", i + 2)
                url = text[i + 2 : url_end if url_end >= 0 else len(text)]
                i = url_end if url_end >= 0 else len(text)
            else:
                url = "".join(out.parts[position:])
            out.close("text_link", start, url=url)
        elif char == "`":
            if is_pre:
                out.close("pre", start, **({"language": language} if language else {}))
                i += 2
            else:
                out.close("code", start)
        else:
            out.close(kinds[char], start)
        i += 1
    return out.result()


_PARSERS: dict[str, Callable[[str], tuple[str, list[JSONDict]]]] = {
    "html": _parse_html,
    "markdownv2": _parse_markdown_v2,
    "markdown": _parse_markdown,
}


def parse_formatted(text: str, parse_mode: str | None) -> tuple[str, list[JSONDict]]:
    """The text and entities Telegram makes of `text` in `parse_mode`, trimmed like Telegram.

    Raises ValueError with Telegram's description when Telegram would refuse it.
    """
    return format_text(text, parse_mode, None)


def format_text(
    text: str, parse_mode: str | None, entities: list[JSONDict] | None
) -> tuple[str, list[JSONDict]]:
    """Plain text and entities from `text` with `parse_mode` or explicit `entities`, trimmed as
    Telegram trims; raises `EntitiesError` where Telegram answers "can't parse entities"."""
    if entities is not None:
        plain, found = text, entities
    elif parse_mode:
        parser = _PARSERS.get(parse_mode.lower())
        if parser is None:
            raise EntitiesError("unsupported parse_mode")
        plain, found = parser(text)
    else:
        plain, found = text, []
    stripped = plain.lstrip(TRIM)
    cut = u16(plain) - u16(stripped)
    body = stripped.rstrip(TRIM)
    length = u16(body)
    kept = []
    for entity in found:
        start = max(int(entity["offset"]) - cut, 0)
        end = min(int(entity["offset"]) + int(entity["length"]) - cut, length)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return body, kept
