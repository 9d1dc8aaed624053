"""Setting a bot up on PostgreSQL: the settings and their refusals, a tenant's schema, the
password kept out of every line, `doctor`'s database line, and moving a SQLite file's data over
with `altegio-bot copy-to-postgres`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.cli import log_secrets, main
from bot.doctor import Mark, check_database
from bot.logs import setup_logging
from bot.settings import Settings, SettingsError
from bot.storage import Storage, StorageError
from bot.storage.pg_copy import copy_to_postgres
from bot.tenants import TenantsError, read_tenants
from tests.conftest import Bot, FakeClock, sqlite_only
from tests.test_appointments import book

NO_FILE = Path("/nonexistent/.env")


def settings(**env: str) -> Settings:
    return Settings.load(env={"ALTEGIO_COMPANY_ID": "1001", **env}, env_file=NO_FILE)


def test_the_settings_and_their_refusals() -> None:
    chosen = settings(DATABASE_URL="postgresql://bot:pw@db:5432/salons", BOT_REPLICAS="3")
    assert chosen.database_url == "postgresql://bot:pw@db:5432/salons"
    assert (chosen.database_schema, chosen.altegio_egress, chosen.replicas) == (
        "altegio_bot",
        "default",
        3,
    )
    assert settings().database_url is None
    with pytest.raises(SettingsError) as refused:
        settings(DATABASE_URL="mysql://bot:pw@db/salons")
    assert "pw" not in str(refused.value) and "DATABASE_URL must be a PostgreSQL" in str(
        refused.value
    )
    with pytest.raises(SettingsError, match="DATABASE_SCHEMA must be"):
        settings(DATABASE_SCHEMA="Salon-1")
    with pytest.raises(SettingsError, match="BOT_REPLICAS must be"):
        settings(BOT_REPLICAS="0")
    with pytest.raises(SettingsError, match="ALTEGIO_EGRESS must"):
        settings(ALTEGIO_EGRESS="two words")


def test_the_password_never_reaches_a_log(capsys: pytest.CaptureFixture[str]) -> None:
    chosen = settings(DATABASE_URL="postgresql://bot:Sup3r-s3cret@db:5432/salons")
    setup_logging("INFO", log_secrets(chosen))
    logging.getLogger("bot.test").error("cannot reach %s", chosen.database_url)
    logging.getLogger("bot.test").error("password Sup3r-s3cret refused")
    said = capsys.readouterr().err
    assert "Sup3r-s3cret" not in said and "cannot reach" in said


def test_each_tenant_has_a_schema_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "tenants.toml"
    token = "123456:" + "A" * 30
    other = "654321:" + "B" * 30
    path.write_text(
        f'[[tenant]]\nname = "riga-chain"\ntelegram_token = "{token}"\ncompany_id = 1004\n'
        f'[[tenant]]\nname = "berlin"\ntelegram_token = "{other}"\ncompany_id = 1001\n'
    )
    env = {"DATABASE_URL": "postgresql://bot@db/salons"}
    tenants = read_tenants(path, env, NO_FILE)
    assert [t.settings.database_schema for t in tenants] == ["tenant_riga_chain", "tenant_berlin"]
    assert all(t.settings.database_url == env["DATABASE_URL"] for t in tenants)
    path.write_text(path.read_text().replace("company_id", 'database_schema = "x"\ncompany_id'))
    with pytest.raises(TenantsError, match="have the same database_schema"):
        read_tenants(path, env, NO_FILE)
    # Without DATABASE_URL the schema is not the tenants' database: their files are.
    assert len(read_tenants(path, {}, NO_FILE)) == 2


def test_doctor_reads_postgresql_and_leaves_it_alone(pg_dsn: str) -> None:
    (first,) = check_database(settings(DATABASE_URL=pg_dsn))
    assert first.mark is Mark.OK and "will be created at start" in first.found
    store = Storage.open_url(pg_dsn, "altegio_bot")
    store.bind(1001)
    store.close()
    (bound,) = check_database(settings(DATABASE_URL=pg_dsn))
    assert bound.mark is Mark.OK and "location 1001's" in bound.found
    (other,) = check_database(settings(DATABASE_URL=pg_dsn, ALTEGIO_COMPANY_ID="1002"))
    assert other.mark is Mark.FAIL and "DATABASE_SCHEMA of its own" in other.found
    (fresh,) = check_database(settings(DATABASE_URL=pg_dsn, DATABASE_SCHEMA="another"))
    assert fresh.mark is Mark.OK and "will be created" in fresh.found


def test_doctor_names_an_unreachable_database_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://bot:Sup3r-s3cret@/salons?host={tmp_path}&port=1"
    (found,) = check_database(settings(DATABASE_URL=url))
    assert found.mark is Mark.FAIL and "cannot be reached" in found.found
    assert "Sup3r-s3cret" not in found.found


@sqlite_only
async def test_a_salon_moves_its_sqlite_file_to_postgresql(
    make_bot: Callable[..., Any], clock: FakeClock, pg_dsn: str
) -> None:
    """Booked on SQLite; copied; the same bot on PostgreSQL knows the client, the booking and
    its reminders, and numbers what comes next after what was copied."""
    bot: Bot = await make_bot()
    user = bot.user()
    await book(user)
    with pytest.raises(StorageError, match="another bot process"):
        copy_to_postgres(bot.db_path, pg_dsn, "altegio_bot")  # the bot still runs
    await bot.stop()
    counts = copy_to_postgres(bot.db_path, pg_dsn, "altegio_bot")
    assert counts["bookings"] == 1 and counts["reminders"] >= 1 and counts["clients"] == 1
    with pytest.raises(StorageError, match="already holds a bot's data"):
        copy_to_postgres(bot.db_path, pg_dsn, "altegio_bot")
    bot.database_url, bot.schema = pg_dsn, "altegio_bot"
    await bot.start()
    user = bot.user()
    await user.send("/appointments")
    assert "Your upcoming appointments" in user.last.text
    assert bot.services is not None
    storage = bot.services.storage
    reminders = storage.sql.execute("SELECT max(id) FROM reminders").fetchone()[0]
    storage.replace_reminders(99, user.chat_id, [("before", 60, clock.now())])
    newest = storage.sql.execute("SELECT max(id) FROM reminders").fetchone()[0]
    assert newest > reminders


def test_the_copy_command_needs_database_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALTEGIO_COMPANY_ID", "1001")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["copy-to-postgres"]) == 2
    assert "DATABASE_URL is not set" in capsys.readouterr().err


def test_without_the_driver_the_bot_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A wheel installed without the postgres extra, given DATABASE_URL."""
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.delitem(sys.modules, "bot.storage.pg_engine", raising=False)
    monkeypatch.delitem(sys.modules, "bot.storage.pg_copy", raising=False)
    chosen = settings(DATABASE_URL="postgresql://bot@db/salons")
    (found,) = check_database(chosen)
    assert found.mark is Mark.FAIL and "altegio-bot[postgres]" in found.found
    with pytest.raises(StorageError, match=r"altegio-bot\[postgres\]"):
        Storage.open_url("postgresql://bot@db/salons", "altegio_bot")
