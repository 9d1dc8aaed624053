"""A location's privacy policy as plain text, from an answer whose shape Altegio does not document:
the text itself, under one of several keys, nested, as a list, as HTML, or only a link."""

from __future__ import annotations

from collections.abc import Mapping
from html.parser import HTMLParser

from bot.altegio.models.lenient import Json, as_dict, as_list, as_str

_POLICY_KEYS = ("text", "privacy_policy", "policy", "content", "html", "body", "value", "title")
_POLICY_LINKS = ("url", "link", "href", "privacy_policy_url")


def policy_text(data: Json) -> str | None:
    """The policy's text from an answer of undocumented shape; None for "no own policy"."""
    if isinstance(data, str):
        return _plain(data) or None
    raw = as_dict(data)
    if not raw and isinstance(data, list):
        texts = [policy_text(item) for item in as_list(data)]
        joined = "\n\n".join(t for t in texts if t)
        return joined or None
    if raw.get("is_custom") in (False, 0, "0"):
        return None
    for key in _POLICY_KEYS[:-1]:
        value = raw.get(key)
        if isinstance(value, Mapping):
            nested = policy_text(value)
            if nested:
                return nested
        text = _plain(as_str(value))
        if text:
            return text
    for key in _POLICY_LINKS:
        link = as_str(raw.get(key))
        if link.startswith(("http://", "https://")):
            return link
    return None


class _Text(HTMLParser):
    """HTML to plain text: paragraphs and line breaks kept, links written out."""

    _BREAKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("• ")
        if tag == "a":
            self._href = dict(attrs).get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href.startswith(("http://", "https://")):
            self.parts.append(f" ({self._href})")
            self._href = ""
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _plain(text: str) -> str:
    if "<" in text and ">" in text:
        parser = _Text()
        parser.feed(text)
        parser.close()
        text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    paragraphs: list[str] = []
    for line in lines:
        if line or (paragraphs and paragraphs[-1]):
            paragraphs.append(line)
    return "\n".join(paragraphs).strip()
