"""`doctor`'s database line with `DATABASE_URL`: PostgreSQL reached, the schema's tables this
bot's, read only (nothing is created or migrated, so a running bot is left alone); and what the
schema kept of the location, read at start when Altegio cannot name a chain's first location.

Never a word of the URL itself (it may hold a password): the host, database and schema only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.doctor_marks import Check, fail, ok, warn
from bot.settings import Settings
from bot.storage.pg_schema import MIGRATIONS

THING = "Database"
TIMEOUT = 5


def _where(settings: Settings) -> str:
    import psycopg  # noqa: PLC0415 (only with DATABASE_URL)
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    try:
        parts = conninfo_to_dict(settings.database_url or "")
    except psycopg.Error:
        parts = {}  # a URL psycopg cannot read: said when connecting
    host = str(parts.get("host") or urlsplit(settings.database_url or "").hostname or "localhost")
    port = parts.get("port")
    name = str(parts.get("dbname") or "(the user's database)")
    at = f"{host}:{port}" if port else host
    return f"PostgreSQL {name} at {at}, schema {settings.database_schema}"


def _meta(settings: Settings) -> tuple[int, dict[str, str], set[str]] | None:
    """(server version, the schema's `meta`, the migrations applied) or None: no schema yet."""
    import psycopg  # noqa: PLC0415 (only with DATABASE_URL)

    url = settings.database_url or ""
    with psycopg.connect(url, connect_timeout=TIMEOUT, autocommit=True) as conn:
        version = conn.info.server_version
        found = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name IN ('meta', 'schema_migrations')",
            (settings.database_schema,),
        ).fetchone()
        if not found or found[0] < 2:
            return None
        schema = settings.database_schema
        rows: Any = conn.execute(f'SELECT key, value FROM "{schema}".meta').fetchall()
        done = conn.execute(f'SELECT name FROM "{schema}".schema_migrations').fetchall()
    return version, {str(k): str(v) for k, v in rows}, {str(r[0]) for r in done}


def check_postgres(settings: Settings) -> Check:
    try:
        import psycopg  # noqa: PLC0415 (only with DATABASE_URL)
    except ImportError:
        return fail(
            THING,
            "DATABASE_URL is set but PostgreSQL's driver is not installed: install the bot "
            "with it, pip install 'altegio-bot[postgres]'",
        )

    where = _where(settings)
    try:
        found = _meta(settings)
    except psycopg.Error as exc:
        said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return fail(
            THING,
            f"{where} cannot be reached ({said}): check DATABASE_URL (host, port, user, "
            "password, database) and that PostgreSQL runs",
        )
    if found is None:
        return ok(THING, f"{where} reached; the bot's tables will be created at start")
    version, kept, done = found
    server = f"PostgreSQL {version // 10000}"
    chain, owner = kept.get("group_id"), kept.get("company_id")
    group, company = settings.altegio_group_id, settings.altegio_company_id
    if chain is not None and str(group) != chain:
        return fail(
            THING,
            f"{where} holds the data of the Altegio chain {chain}: set ALTEGIO_GROUP_ID={chain}, "
            "or give this bot a DATABASE_SCHEMA of its own",
        )
    if chain is None and group is None and owner not in (None, str(company)):
        return fail(
            THING,
            f"{where} holds the data of Altegio location {owner}, not of location {company}: "
            "give each location a DATABASE_SCHEMA of its own",
        )
    whose = (
        f"chain {chain}'s"
        if chain is not None
        else (f"location {owner}'s" if owner is not None else "nobody's yet")
    )
    newer = [name for name, _ in MIGRATIONS if name not in done]
    if newer:
        return warn(
            THING,
            f"{where} ({server}) is {whose}; this version adds {len(newer)} migration(s), "
            "applied at start",
        )
    return ok(THING, f"{where} ({server}) reached and {whose}")


def kept_home(settings: Settings) -> int | None:
    """The location the schema was last bound to (None: no schema, or out of reach)."""
    try:
        import psycopg  # noqa: PLC0415 (only with DATABASE_URL)
    except ImportError:
        return None  # the start says what is missing

    try:
        found = _meta(settings)
    except psycopg.Error:
        return None
    if found is None:
        return None
    owner = found[1].get("company_id", "")
    return int(owner) if owner.isdigit() and int(owner) else None
