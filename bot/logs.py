"""Logging set-up that keeps secrets out of every log line, whichever library wrote it.

Bot tokens, Altegio tokens, record hashes and phone numbers are masked in the formatted line,
tracebacks included, so a DEBUG log from PTB or httpx is as safe to share as our own INFO lines.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<!\d)\d{6,12}:[A-Za-z0-9_-]{30,}"), "<bot-token>"),
    (re.compile(r"(Bearer|User)\s+[^\s,\"']+"), r"\1 <secret>"),
    (re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])"), "<hash>"),
)
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d ().-]{7,20}\d(?![\w:])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    international = text.startswith("+") and 8 <= digits <= 15
    if _DATE.search(text) or not (international or 11 <= digits <= 15):
        return text
    # The first digits are kept: enough to tell numbers apart, not enough to call one.
    return text[:4] + "…"


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, "<secret>")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _PHONE.sub(_phone, text)


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Every request URL at INFO is noise; at DEBUG it is still redacted like the rest.
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
