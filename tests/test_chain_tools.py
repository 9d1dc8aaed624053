"""The operator's commands with a chain (`ALTEGIO_GROUP_ID`): `altegio-bot doctor` reads the
chain's locations and checks each one's online booking, and says whose the database is;
`altegio-bot links` gives each location's links under its title."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import links
from bot.doctor import Mark, all_passed
from bot.link_sheet import link_sheet, qr_files, render
from bot.settings import Settings
from bot.storage import Storage
from standins.altegio.sandbox import Sandbox
from standins.telegram.bot_api import BotApiStub
from tests.conftest import FakeClock
from tests.test_doctor import NO_ENV_FILE, TOKEN, doctor
from tests.test_salon_changes import ADMIN_TOKEN, HOOKS_ENV

CHAIN = {"ALTEGIO_GROUP_ID": "100"}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_DB_PATH": str(tmp_path / "bot.sqlite3"), **CHAIN}


# --- doctor ----------------------------------------------------------------------------------


def test_doctor_reads_the_chain_and_checks_each_location(
    env: dict[str, str], sandbox: Sandbox
) -> None:
    checks = doctor(env, sandbox)
    assert list(checks) == [
        "Settings",
        "Telegram",
        "Altegio chain",
        "Altegio location",
        "Online booking",
        "Database",
        "Disk space",
        "Message overrides",
    ]
    assert all_passed(list(checks.values()))
    chain = checks["Altegio chain"].found
    assert chain.startswith("chain 100, 3 locations: Studio Aurora (1001, Europe/Berlin); ")
    assert "(1002, Europe/Berlin)" in chain and "Салон Аврора (1004, Europe/Riga)" in chain
    assert "embedded sandbox chain" in chain
    location = checks["Altegio location"].found
    assert location.startswith("Studio Aurora (location 1001), timezone Europe/Berlin")
    booking = checks["Online booking"].found
    assert "Studio Aurora (1001): 13 services and 5 team members" in booking
    assert "Салон Аврора (1004): 5 services and 2 team members" in booking
    assert "1003" not in booking  # the yoga studio is not the chain's
    assert "will be created at start for chain 100" in checks["Database"].found


def test_doctor_with_a_partner_token_and_no_location_starts_at_the_chains_first(
    env: dict[str, str], sandbox: Sandbox
) -> None:
    checks = doctor({**env, "ALTEGIO_PARTNER_TOKEN": "sandbox-partner-token"}, sandbox)
    assert all_passed(list(checks.values()))
    assert "sandbox" not in checks["Altegio chain"].found
    assert checks["Altegio location"].found.startswith("Studio Aurora (location 1001)")


def test_doctor_names_an_unknown_chain_with_the_fix(env: dict[str, str], sandbox: Sandbox) -> None:
    checks = doctor({**env, "ALTEGIO_GROUP_ID": "7"}, sandbox)
    line = checks["Altegio chain"]
    assert line.mark is Mark.FAIL
    assert "Altegio lists no location of chain 7 (the sandbox's chain is 100)" in line.found
    assert "ALTEGIO_GROUP_ID" in line.found
    assert "Online booking" not in checks
    assert not all_passed(list(checks.values()))


def test_doctor_names_a_chain_that_cannot_be_read(env: dict[str, str], sandbox: Sandbox) -> None:
    sandbox.fault("GET", "companies", status=503)
    line = doctor(env, sandbox)["Altegio chain"]
    assert line.mark is Mark.FAIL and "Altegio cannot be reached" in line.found


def test_doctor_names_the_location_whose_online_booking_fails(
    env: dict[str, str], sandbox: Sandbox
) -> None:
    sandbox.fault("GET", "book_staff", status=403, path_contains="/1004")
    checks = doctor(env, sandbox)
    line = checks["Online booking"]
    assert line.mark is Mark.FAIL
    assert "location 1004: ALTEGIO_PARTNER_TOKEN is not accepted by Altegio for location 1004" in (
        line.found
    )
    assert "1001" not in line.found
    assert checks["Altegio chain"].mark is Mark.OK


def test_doctor_says_the_database_is_the_chains(env: dict[str, str], sandbox: Sandbox) -> None:
    path = Path(env["BOT_DB_PATH"])
    storage = Storage.open(path)
    storage.bind(1001)
    storage.close()
    database = doctor(env, sandbox)["Database"]
    assert database.mark is Mark.OK
    assert "holds location 1001's data, which becomes chain 100's at start" in database.found
    storage = Storage.open(path)
    storage.bind(1001, 100)
    storage.close()
    database = doctor(env, sandbox)["Database"]
    assert database.mark is Mark.OK and "opens and belongs to chain 100" in database.found
    # Another chain's file, and a chain's file for a bot of one location, are refused.
    other = doctor({**env, "ALTEGIO_GROUP_ID": "7"}, sandbox)["Database"]
    assert other.mark is Mark.FAIL and "chain 100, not of chain 7" in other.found
    alone = dict(env)
    del alone["ALTEGIO_GROUP_ID"]
    single = doctor(alone, sandbox)["Database"]
    assert single.mark is Mark.FAIL and "set ALTEGIO_GROUP_ID=100" in single.found


def test_doctor_checks_each_locations_webhooks(
    env: dict[str, str], sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.hooks.grant(ADMIN_TOKEN, 1001, 1002)
    line = doctor({**env, **HOOKS_ENV}, sandbox)["Altegio webhooks"]
    assert line.mark is Mark.WARN
    assert "Studio Aurora (1001): the bot subscribes" in line.found
    assert "Салон Аврора (1004): ALTEGIO_USER_TOKEN is not accepted" in line.found
    assert ADMIN_TOKEN not in line.found


# --- links -----------------------------------------------------------------------------------


async def test_links_give_each_location_of_the_chain(tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_DB_PATH": str(tmp_path / "bot.sqlite3"), **CHAIN}
    settings = Settings.load(env=env, env_file=NO_ENV_FILE)
    sheet = await link_sheet(
        settings,
        telegram_request=BotApiStub(token=TOKEN),
        altegio_transport=Sandbox(FakeClock().now).transport(),
    )
    base = "https://t.me/altegio_demo_bot?start="
    at = {(e.target.location_id, e.kind, e.title): e.url for e in sheet.entries}
    assert at[(1001, "location", "Studio Aurora")] == base + "loc1001"
    assert at[(1001, "service", "Classic manicure")] == base + "loc1001-svc10006"
    assert at[(1004, "location", "Салон Аврора")] == base + "loc1004"
    assert at[(1004, "category", "Волосы")] == base + "loc1004-cat801"
    assert at[(1004, "team member", "София Иванова")] == base + "loc1004-stf2302"
    assert {e.target.location_id for e in sheet.entries} == {1001, 1002, 1004}
    shown = render(sheet)
    assert shown.index("Studio Aurora (location 1001):") < shown.index("loc1001-svc10006")
    riga = shown.index("Салон Аврора (location 1004):")
    assert shown.index(base + "loc1002") < riga < shown.index(base + "loc1004-cat801")
    written = qr_files(sheet, tmp_path / "qr")
    assert len(set(written)) == len(sheet.entries) == len(list((tmp_path / "qr").iterdir()))
    assert (tmp_path / "qr" / "loc1004-svc13004-pedikyur.png").exists()


def test_links_without_a_chain_are_as_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"BOT_DB_PATH": str(tmp_path / "bot.sqlite3")}
    assert links(Settings.load(env=env, env_file=NO_ENV_FILE), None) == 0
    out = capsys.readouterr().out
    assert "loc" not in out and "(location" not in out
    assert "https://t.me/your_bot?start=svc10006" in out
