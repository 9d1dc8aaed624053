"""Running the bot in production: JSON logs that keep secrets out."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.logs import RedactingJsonFormatter, setup_logging
from bot.settings import Settings, SettingsError
from tests.conftest import Bot
from tests.test_faults import to_summary

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
PARTNER_TOKEN = "partner-7f3k2m9q4x"
RECORD_HASH = "0123456789abcdef0123456789abcdef"
PHONES = ("+4915123456789", "+49 151 23456789")
SECRETS = (BOT_TOKEN, PARTNER_TOKEN, RECORD_HASH, *PHONES)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """`setup_logging` and the CLI set up the root logger; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "apscheduler")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, noisy_level in noisy.items():
        logging.getLogger(name).setLevel(noisy_level)


def log_secrets() -> None:
    """Secrets in a message, in an extra field, and in an exception's message and traceback."""
    logging.getLogger("bot").info(
        "token %s partner %s record %s phone %s",
        BOT_TOKEN,
        PARTNER_TOKEN,
        RECORD_HASH,
        PHONES[0],
        extra={"client": {"phone": PHONES[1]}},
    )
    logging.getLogger("telegram.ext.Application").warning("sent to %s", PHONES[1])
    try:
        raise RuntimeError(f"Bearer {PARTNER_TOKEN} for {RECORD_HASH} at {PHONES[0]} {BOT_TOKEN}")
    except RuntimeError:
        logging.getLogger("bot.workflows.book").exception("booking failed for %s", PHONES[0])


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_json_logs_are_one_masked_object_a_line(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("INFO", ["", PARTNER_TOKEN], "json", stream=out)
    log_secrets()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    entries = [json.loads(line) for line in lines]
    for line, entry in zip(lines, entries, strict=True):
        assert_no_secret(line)
        assert_no_secret(json.dumps(entry, ensure_ascii=False))
        moment = datetime.fromisoformat(entry["time"])
        assert moment.utcoffset() is not None
        assert {"time", "level", "logger", "message"} <= entry.keys()
    info, warning, error = entries
    assert (info["level"], info["logger"]) == ("INFO", "bot")
    assert info["message"] == "token <bot-token> partner <secret> record <hash> phone +491…"
    assert info["client"] == {"phone": "+49 …"}
    assert "exception" not in info
    assert (warning["level"], warning["logger"]) == ("WARNING", "telegram.ext.Application")
    assert (error["level"], error["logger"]) == ("ERROR", "bot.workflows.book")
    assert error["message"] == "booking failed for +491…"
    assert error["exception"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: Bearer <secret> for <hash> at +491… <bot-token>" in error["exception"]


def test_plain_logs_stay_the_default(restore_logging: None, tmp_path: Path) -> None:
    settings = Settings.load(env={}, env_file=tmp_path / "missing")
    assert settings.log_format == "plain"
    assert Settings.load(env={"LOG_FORMAT": "JSON"}, env_file=tmp_path / "x").log_format == "json"
    out = io.StringIO()
    setup_logging("INFO", [PARTNER_TOKEN], settings.log_format, stream=out)
    log_secrets()
    text = out.getvalue()
    assert_no_secret(text)
    first = text.splitlines()[0]
    assert " INFO bot: token <bot-token> partner <secret> record <hash> phone +491…" in first
    with pytest.raises(json.JSONDecodeError):
        json.loads(first)


def test_a_bad_log_format_stops_the_bot_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        Settings.load(env={"LOG_FORMAT": "xml"}, env_file=tmp_path / "missing")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOG_FORMAT", "xml")
    assert main(["run"]) == 2
    assert "LOG_FORMAT must be plain or json, not 'xml'" in capsys.readouterr().err


async def test_a_booking_logged_as_json_at_debug_keeps_its_secrets(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    formatter = RedactingJsonFormatter(["sandbox-partner-token"])
    with caplog.at_level(logging.DEBUG):
        user = bot.user()
        await to_summary(user)
        await user.tap("✅ Confirm")
        await user.send("/appointments")
        await user.tap_number(1)
    lines = [formatter.format(record) for record in caplog.records]
    assert len(lines) > 10
    record = bot.sandbox.records(1001)[-1]
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= entry.keys()
        for secret in (record["hash"], *PHONES, "sandbox-partner-token"):
            assert secret not in line
