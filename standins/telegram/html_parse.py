"""Telegram's HTML parse mode: the tags it knows, strict about everything else."""

from __future__ import annotations

from standins.telegram.text_entities import (
    SPACE,
    Formatted,
    JSONDict,
    Open,
    byte_offset,
    char_at,
    entities_error,
)

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
    if char_at(text, end) == "#":
        end += 1
        value = 0
        hexadecimal = char_at(text, end) == "x"
        if hexadecimal:
            end += 1
        digits = _HEX_DIGITS if hexadecimal else _DIGITS
        while char_at(text, end) in digits:
            value = value * (16 if hexadecimal else 10) + int(text[end], 16)
            end += 1
            if value >= 0x10FFFF:
                return None, position
        if value == 0 or end - position >= 10 or 0xD800 <= value <= 0xDFFF:
            return None, position
        decoded = chr(value)
    else:
        while char_at(text, end).isascii() and char_at(text, end).isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[position + 1 : end])
        if named is None:
            return None, position
        decoded = named
    if char_at(text, end) == ";":
        end += 1
    return decoded, end


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's HTML mode: the tags it knows, strict about everything else."""
    out = Formatted()
    stack: list[Open] = []
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
        at = byte_offset(text, begin)
        i += 1
        if char_at(text, i) != "/":
            while char_at(text, i) not in SPACE and char_at(text, i) != ">":
                i += 1
            if i >= len(text):
                raise entities_error(f"Unclosed start tag at byte offset {at}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise entities_error(f'Unsupported start tag "{tag}" at byte offset {at}')
            argument, i = _html_attributes(text, i, tag, at)
            if tag == "span" and argument != "spoiler":
                raise entities_error(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
            stack.append(Open(tag, argument, out.offset, len(out.parts), at))
            i += 1
            continue
        if not stack:
            raise entities_error(f"Unexpected end tag at byte offset {at}")
        while char_at(text, i) not in SPACE and char_at(text, i) != ">":
            i += 1
        end_tag = text[begin + 2 : i]
        while i < len(text) and text[i] in SPACE:
            i += 1
        if char_at(text, i) != ">":
            raise entities_error(f"Unclosed end tag at byte offset {at}")
        opened = stack.pop()
        if end_tag and end_tag.lower() != opened.kind:
            raise entities_error(
                f'Unmatched end tag at byte offset {at}, expected "</{opened.kind}>", '
                f'found "</{end_tag}>"'
            )
        _close_html_tag(out, opened)
        i += 1
    if stack:
        raise entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].kind}"')
    return out.result()


def _html_attributes(text: str, i: int, tag: str, at: int) -> tuple[str, int]:
    """Read a start tag's attributes up to its `>`; return the one that matters and the `>`."""
    argument = ""
    while char_at(text, i) != ">":
        while i < len(text) and text[i] in SPACE:
            i += 1
        if char_at(text, i) == ">":
            break
        name_begin = i
        while char_at(text, i) not in SPACE and char_at(text, i) not in "=>":
            i += 1
        name = text[name_begin:i]
        if not name:
            raise entities_error(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
        while i < len(text) and text[i] in SPACE:
            i += 1
        if char_at(text, i) != "=":
            if tag == "blockquote" and name == "expandable":
                argument = "1"
                continue
            raise entities_error(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {at}'
            )
        i += 1
        while i < len(text) and text[i] in SPACE:
            i += 1
        if i >= len(text):
            raise entities_error(f'Unclosed start tag "{tag}" at byte offset {at}')
        if text[i] not in "'\"":
            token_begin = i
            while char_at(text, i).isascii() and (char_at(text, i).isalnum() or text[i] in ".-"):
                i += 1
            value = text[token_begin:i].lower()
            if char_at(text, i) not in SPACE and char_at(text, i) != ">":
                raise entities_error(
                    f"Unexpected end of name token at byte offset {byte_offset(text, token_begin)}"
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
            if char_at(text, i) == quote:
                i += 1
            value = "".join(chars)
        if i >= len(text):
            raise entities_error(f"Unclosed start tag at byte offset {at}")
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


def _close_html_tag(out: Formatted, opened: Open) -> None:
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
