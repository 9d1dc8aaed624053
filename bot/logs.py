"""Logging set-up that keeps secrets out of every log line, whichever library wrote it.

Bot tokens, Altegio tokens, record hashes and phone numbers are masked in the formatted line,
tracebacks included, so a DEBUG log from PTB or httpx is as safe to share as our own INFO lines.
Lines are plain text, or one JSON object each (`LOG_FORMAT=json`), masked the same way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from pythonjsonlogger.core import LogData
from pythonjsonlogger.json import JsonEncoder, JsonFormatter

LOG_FORMATS = ("plain", "json")

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


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per line: time (ISO 8601 with the offset), level, logger, message, and
    exception (the traceback) when there is one; every string in it masked like a plain line."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
                "stack_info": "stack",
            },
        )
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)
        self._encoder = JsonEncoder()

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC).astimezone()
        return moment.isoformat(timespec="milliseconds")

    def process_log_record(self, log_data: LogData) -> LogData:
        # Each value is masked, not the serialised line, so that a replacement can never cut
        # through JSON's escapes; extras passed by any library are masked too.
        return {key: self._masked(value) for key, value in log_data.items()}

    def _masked(self, value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, self._secrets)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, dict):
            return {str(key): self._masked(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._masked(item) for item in value]
        return self._masked(self._encoder.default(value))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, "<secret>")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _PHONE.sub(_phone, text)


def setup_logging(
    level: str, secrets: Iterable[str] = (), log_format: str = "plain", stream: TextIO | None = None
) -> None:
    handler = logging.StreamHandler(stream)
    formatter: logging.Formatter = (
        RedactingJsonFormatter(secrets)
        if log_format == "json"
        else RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Every request URL at INFO is noise; at DEBUG it is still redacted like the rest.
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
