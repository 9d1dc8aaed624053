"""A consistent copy of the live database, taken with SQLite's online backup API.

The copy is taken through a read-only connection of its own, without the bot's lock: in WAL mode
a reader never blocks the bot's writes, so a backup is safe while the bot runs and writes.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from bot.storage.database import StorageError

# A write of the bot's that is committing when the copy starts is waited for, not failed on.
SOURCE_TIMEOUT = 5.0


def backup(source: Path, target: Path, force: bool = False) -> int:
    """Copy the database at `source` to `target` and return the copy's size in bytes.

    An existing `target` is refused unless `force`. The copy is written beside the target and
    renamed into place once checked, so a failed backup never leaves half a file at `target`.
    """
    if not source.is_file():
        raise StorageError(f"there is no database at {source} (BOT_DB_PATH): nothing to back up")
    if target.exists() and not force:
        raise StorageError(f"{target} already exists: choose another path, or add --force")
    if target.is_dir():
        raise StorageError(f"{target} is a directory: give the backup file's path")
    if not target.parent.is_dir():
        raise StorageError(f"cannot write the backup to {target}: no directory {target.parent}")
    try:
        if target.resolve() == source.resolve():
            raise StorageError(f"{target} is the live database itself: give another path")
        handle, partial = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=target.parent
        )
        os.close(handle)
    except OSError as exc:
        raise StorageError(f"cannot write the backup to {target}: {exc.strerror}") from exc
    try:
        _copy(source, Path(partial))
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot back up the database at {source}: {exc}") from exc
    except OSError as exc:
        raise StorageError(f"cannot write the backup to {target}: {exc.strerror}") from exc
    finally:
        Path(partial).unlink(missing_ok=True)
    return target.stat().st_size


def _copy(source: Path, target: Path) -> None:
    uri = f"{source.resolve().as_uri()}?mode=ro"
    with (
        closing(sqlite3.connect(uri, uri=True, timeout=SOURCE_TIMEOUT)) as live,
        closing(sqlite3.connect(str(target))) as copy,
    ):
        # All pages in one step, under one read transaction: the copy is the database as it was
        # at one moment, and the bot's commits meanwhile (to the WAL) neither wait nor restart it.
        live.backup(copy, pages=-1)
        # One self-contained file, with no -wal beside it; the bot turns WAL back on when it
        # opens a restored copy.
        copy.execute("PRAGMA journal_mode=DELETE")
        (verdict,) = copy.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"the copy failed its check: {verdict}")
