"""The commands that work on a bot's database beside (or instead of) the running bot: `backup`
(a SQLite file's online copy), `admin-code` (a one-time code kept hashed) and `copy-to-postgres`
(a SQLite file moved into PostgreSQL)."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from sqlite_utils import Database

from bot.app import utc_now
from bot.salon_view import CODE_LIFETIME, issue_code
from bot.settings import Settings, SettingsError
from bot.storage import Storage, StorageError
from bot.storage.backup import backup


def backup_database(settings: Settings, target: Path, force: bool) -> int:
    """A consistent copy of the live database, safe while the bot runs."""
    if settings.database_url:
        print(
            "altegio-bot: with DATABASE_URL the data is in PostgreSQL: back it up with "
            f"PostgreSQL's own tools, e.g. pg_dump --schema={settings.database_schema} "
            "(safe while the bot runs)",
            file=sys.stderr,
        )
        return 2
    size = backup(settings.db_path, target, force=force)
    print(f"Backed up {settings.db_path} to {target.resolve()} ({_size(size)}).")
    return 0


def copy_to_postgres(settings: Settings) -> int:
    """Every row of the SQLite file into the PostgreSQL schema, with the bot stopped."""
    from bot.storage.pg_copy import copy_to_postgres as copy  # noqa: PLC0415 (psycopg)

    if not settings.database_url:
        raise SettingsError("DATABASE_URL is not set: set it to the PostgreSQL to copy into")
    counts = copy(settings.db_path, settings.database_url, settings.database_schema)
    print(
        f"Copied {settings.db_path} into PostgreSQL schema {settings.database_schema}: "
        f"{_count(sum(counts.values()), 'row')} ({_count(counts.get('bookings', 0), 'booking')}, "
        f"{_count(counts.get('clients', 0), 'client')}). Start the bot with DATABASE_URL set; "
        "keep the file as a backup until it runs."
    )
    return 0


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def _size(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}, {size:,} bytes"
    return f"{size:,} bytes"


def admin_code(settings: Settings) -> int:
    """Print a one-time code that makes the chat it is sent from (`/admin <code>`) an admin
    chat. The database is opened beside a running bot, without its lock."""
    try:
        if settings.database_url:
            storage = Storage.open_url(settings.database_url, settings.database_schema)
        else:
            settings.db_path.parent.mkdir(parents=True, exist_ok=True)
            storage = Storage(Database(sqlite3.connect(str(settings.db_path), timeout=5.0)))
        try:
            code = issue_code(storage, utc_now())
        finally:
            storage.close()
    except (sqlite3.Error, StorageError, OSError) as exc:
        where = (
            f"PostgreSQL schema {settings.database_schema}"
            if settings.database_url
            else str(settings.db_path)
        )
        print(f"altegio-bot: cannot write the database at {where}: {exc}", file=sys.stderr)
        return 2
    hours = int(CODE_LIFETIME.total_seconds() // 3600)
    print(f"Send this to the bot in the chat to make an admin chat (once, within {hours} h):")
    print(f"/admin {code}")
    return 0
