"""Telegram's MarkdownV2 and legacy Markdown parse modes."""

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
    char, after = text[i], char_at(text, i + 1)
    return {
        "bold": char == "*",
        "italic": char == "_" and after != "_",
        "underline": char == "_" and after == "_",
        "strikethrough": char == "~",
        "spoiler": char == "|" and after == "|",
        "code": char == "`",
        "pre": char == "`" and after == "`" and char_at(text, i + 2) == "`",
        "text_link": char == "]",
        "custom_emoji": char == "]",
    }[kind]


def parse_markdown_v2(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's MarkdownV2: every reserved character outside an entity must be escaped."""
    out = Formatted()
    stack: list[Open] = []
    quote_start: int | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and 0 < ord(char_at(text, i + 1)) <= 126:
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
        if char == "\n" and quote_start is not None and char_at(text, i + 1) != ">":
            out.close("blockquote", quote_start)
            quote_start = None
        reserved = "`" if top in ("code", "pre") else _MD2_RESERVED
        if char not in reserved:
            out.add(char)
            i += 1
            continue
        at = byte_offset(text, i)
        if top is None or not _md2_closes(top, text, i):
            argument = ""
            if char == "_" and char_at(text, i + 1) == "_":
                kind = "underline"
                i += 1
            elif char == "_":
                kind = "italic"
            elif char == "*":
                kind = "bold"
            elif char == "~":
                kind = "strikethrough"
            elif char == "|" and char_at(text, i + 1) == "|":
                kind = "spoiler"
                i += 1
            elif char == "[":
                kind = "text_link"
            elif char == "!" and char_at(text, i + 1) == "[":
                kind = "custom_emoji"
                i += 1
            elif char == "`" and text[i + 1 : i + 3] == "``":
                kind = "pre"
                i += 3
                language_end = i
                while char_at(text, language_end) not in SPACE + "`":
                    language_end += 1
                if language_end != i and char_at(text, language_end) not in "`\0":
                    argument = text[i:language_end]
                    i = language_end
                if char_at(text, i) in "\r\n":
                    i += 2 if char_at(text, i + 1) in "\r\n" and text[i] != text[i + 1] else 1
                i -= 1
            elif char == "`":
                kind = "code"
            else:
                raise entities_error(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
            stack.append(Open(kind, argument, out.offset, len(out.parts), at))
            i += 1
            continue
        opened = stack.pop()
        extra: dict[str, str] = {}
        if opened.kind in ("text_link", "custom_emoji"):
            if char_at(text, i + 1) == "(":
                i += 2
                url_begin = i
                chars: list[str] = []
                while i < len(text) and text[i] != ")":
                    if text[i] == "\\" and 0 < ord(char_at(text, i + 1)) <= 126:
                        chars.append(text[i + 1])
                        i += 2
                        continue
                    chars.append(text[i])
                    i += 1
                if char_at(text, i) != ")":
                    raise entities_error(
                        f"Can't find end of a URL at byte offset {byte_offset(text, url_begin)}"
                    )
                url = "".join(chars)
            else:
                url = "".join(out.parts[opened.part :])
            if opened.kind == "custom_emoji":
                if not url.startswith("tg://emoji?id="):
                    raise entities_error("Custom emoji entity must contain a tg://emoji URL")
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
        raise entities_error(
            f"Can't find end of {_MD2_NAMES[stack[-1].kind]} entity at byte offset {stack[-1].byte}"
        )
    if quote_start is not None:
        out.close("blockquote", quote_start)
    return out.result()


def parse_markdown(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url)."""
    out = Formatted()
    kinds = {"*": "bold", "_": "italic"}
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and char_at(text, i + 1) in "_*`[":
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
            while char_at(text, language_end) not in SPACE + "`":
                language_end += 1
            if language_end != i and char_at(text, language_end) not in "`\0":
                language = text[i:language_end]
                i = language_end
            if char_at(text, i) == "\n":
                i += 1
        start, position = out.offset, len(out.parts)
        while i < len(text) and (text[i] != end_char or (is_pre and text[i + 1 : i + 3] != "``")):
            out.add(text[i])
            i += 1
        if i >= len(text):
            raise entities_error(
                f"Can't find end of the entity starting at byte offset {byte_offset(text, begin)}"
            )
        if char == "[":
            if char_at(text, i + 1) == "(":
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
