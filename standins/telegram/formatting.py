"""Telegram's text formatting as the Bot API applies it: HTML, MarkdownV2 and legacy Markdown
parsed into plain text and entities, with Telegram's own refusals (used by the Bot API stand-in).
"""

from __future__ import annotations

from collections.abc import Callable

from standins.telegram.html_parse import parse_html
from standins.telegram.markdown_parse import parse_markdown, parse_markdown_v2
from standins.telegram.text_entities import TRIM, EntitiesError, JSONDict, u16

_PARSERS: dict[str, Callable[[str], tuple[str, list[JSONDict]]]] = {
    "html": parse_html,
    "markdownv2": parse_markdown_v2,
    "markdown": parse_markdown,
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
