"""Moving a bot from its SQLite file to PostgreSQL (`altegio-bot copy-to-postgres`): every row of
every table, as it is, into the schema `DATABASE_URL` and `DATABASE_SCHEMA` name.

The file is opened with the bot's own lock, so the copy is refused while the bot runs (stop it,
copy, set DATABASE_URL, start it). The schema must hold no data yet: a copy never mixes with
another bot's rows nor doubles its own. It is one transaction: all of it arrives, or none.
The tables and columns are the same on both engines (tests/test_storage_engines.py), so the
rows go across column by column, in the order they were written.
"""

from __future__ import annotations

from pathlib import Path

from bot.storage.database import Storage, StorageError, StorageUnavailable

# Tables whose ids PostgreSQL numbers itself: the next id follows the copied ones.
_NUMBERED = ("reminders", "wishes", "wish_offers")


def copy_to_postgres(path: Path, url: str, schema: str) -> dict[str, int]:
    """Copy the file at `path` into the schema; how many rows each table brought."""
    if not path.is_file():
        raise StorageError(f"there is no database at {path} (BOT_DB_PATH): nothing to copy")
    source = Storage.open(path)
    try:
        target = Storage.open_url(url, schema)
        try:
            return _copy(source, target, schema)
        finally:
            target.close()
    finally:
        source.close()


def _copy(source: Storage, target: Storage, schema: str) -> dict[str, int]:
    tables = [
        str(row[0])
        for row in source.sql.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
        if not str(row[0]).startswith(("_", "sqlite_"))
    ]
    busy = [t for t in tables if target.sql.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]
    if busy:
        raise StorageError(
            f"the PostgreSQL schema {schema} already holds a bot's data (in {busy[0]}): copy "
            "into an empty schema (another DATABASE_SCHEMA), or drop that one first"
        )
    counts: dict[str, int] = {}
    try:
        with target.sql.transaction():
            for table in tables:
                cursor = source.db.conn.execute(f"SELECT * FROM {table} ORDER BY rowid")
                columns = [c[0] for c in cursor.description]
                rows = cursor.fetchall()
                if rows:
                    places = ", ".join("?" for _ in columns)
                    target.sql.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({places})", rows
                    )
                counts[table] = len(rows)
            for table in _NUMBERED:
                target.sql.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
    except StorageUnavailable as exc:
        raise StorageError(f"the copy into PostgreSQL failed, nothing was kept: {exc}") from exc
    return counts
