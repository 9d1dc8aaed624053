"""Running the bot in production: JSON logs that keep secrets out, and online backups."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.logs import RedactingJsonFormatter, setup_logging
from bot.settings import Settings, SettingsError
from bot.storage import Storage, StorageError
from bot.storage.backup import backup
from tests.conftest import Bot, sqlite_only
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


# Backups


def chat_bookings(path: Path, chat_ids: list[int]) -> dict[int, list[int]]:
    """Restore the copy the way the bot opens its file, and read its bookings back."""
    storage = Storage.open(path)
    try:
        return {
            chat_id: [b.record_id for b in storage.bookings_for_chat(chat_id)]
            for chat_id in chat_ids
        }
    finally:
        storage.close()


def restore(copy: Path, db_path: Path) -> None:
    """As the README says: with the bot stopped, the copy replaces the file and its -wal/-shm."""
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    copy.replace(db_path)


def partial_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".partial")]


async def book(bot: Bot, user_id: int) -> None:
    user = bot.user(user_id=user_id)
    await to_summary(user)
    await user.tap("✅ Confirm")
    assert "booked" in user.last.text.lower()


@sqlite_only
async def test_a_backup_taken_while_the_bot_books_restores_its_bookings(
    make_bot: Callable[..., Any], tmp_path: Path
) -> None:
    bot: Bot = await make_bot()
    assert bot.services is not None
    users = [100001, 100002, 100003, 100004]
    await book(bot, users[0])
    # Between two writes.
    between = tmp_path / "between.sqlite3"
    assert backup(bot.db_path, between) > 0
    # While the bot writes: the copy is taken in a thread as the next bookings are stored.
    during = tmp_path / "during.sqlite3"

    async def two_more() -> None:
        # One after the other: both would take the first time offered.
        await book(bot, users[1])
        await book(bot, users[2])

    size, _ = await asyncio.gather(asyncio.to_thread(backup, bot.db_path, during), two_more())
    assert size == during.stat().st_size
    # The running bot was not disturbed: it keeps its file, and keeps booking.
    await book(bot, users[3])
    with pytest.raises(StorageError, match="another bot process"):
        Storage.open(bot.db_path)
    live = {
        chat: [b.record_id for b in bot.services.storage.bookings_for_chat(chat)] for chat in users
    }
    assert all(len(ids) == 1 for ids in live.values())

    assert chat_bookings(between, users) == {users[0]: live[users[0]], **{u: [] for u in users[1:]}}
    copied = chat_bookings(during, users)
    assert copied[users[0]] == live[users[0]] and copied[users[3]] == []
    assert all(ids in ([], live[chat]) for chat, ids in copied.items())

    # A restore: stop the bot, put the copy in place of the file and its -wal/-shm, start it.
    await bot.stop()
    restore(between, bot.db_path)
    await bot.start()
    first = bot.user(user_id=users[0])
    await first.send("/appointments")
    assert "Women's haircut" in first.screen()
    assert chat_bookings_live(bot, users) == {
        users[0]: live[users[0]],
        **{u: [] for u in users[1:]},
    }


def chat_bookings_live(bot: Bot, chat_ids: list[int]) -> dict[int, list[int]]:
    assert bot.services is not None
    storage = bot.services.storage
    return {chat: [b.record_id for b in storage.bookings_for_chat(chat)] for chat in chat_ids}


@sqlite_only
async def test_a_backup_does_not_wait_for_a_write_in_progress(bot: Bot, tmp_path: Path) -> None:
    """A transaction of the bot's still open: the copy is taken at once, without it."""
    assert bot.services is not None
    conn = bot.services.storage.db.conn
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO meta (key, value) VALUES ('in-flight', 'x')")
    copy = tmp_path / "copy.sqlite3"
    backup(bot.db_path, copy)
    conn.execute("COMMIT")
    with sqlite3.connect(copy) as restored:
        keys = {key for (key,) in restored.execute("SELECT key FROM meta")}
        assert "in-flight" not in keys
        assert restored.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    restored.close()
    assert conn.execute("SELECT value FROM meta WHERE key = 'in-flight'").fetchone() == ("x",)


@sqlite_only
async def test_the_backup_command(
    bot: Bot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_DB_PATH", str(bot.db_path))
    await book(bot, 100001)
    target = tmp_path / "backups" / "altegio-bot.sqlite3"
    target.parent.mkdir()
    assert main(["backup", str(target)]) == 0
    said = capsys.readouterr().out
    assert f"to {target}" in said and f"{target.stat().st_size:,} bytes" in said
    assert len(chat_bookings(target, [100001])[100001]) == 1

    # An existing file is kept unless --force.
    target.write_bytes(b"yesterday's")
    assert main(["backup", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert target.read_bytes() == b"yesterday's"
    assert main(["backup", str(target), "--force"]) == 0
    assert len(chat_bookings(target, [100001])[100001]) == 1

    # Nowhere to write: a clear message, and nothing left behind.
    assert main(["backup", str(tmp_path / "nowhere" / "copy.sqlite3")]) == 2
    assert "cannot write the backup" in capsys.readouterr().err
    assert main(["backup", str(bot.db_path), "--force"]) == 2
    assert "live database itself" in capsys.readouterr().err
    assert not partial_files(tmp_path)

    # No database to copy.
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "missing.sqlite3"))
    assert main(["backup", str(tmp_path / "other.sqlite3")]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "other.sqlite3").exists()
    assert not (tmp_path / "missing.sqlite3").exists()
