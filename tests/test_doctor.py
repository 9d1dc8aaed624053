"""`altegio-bot doctor`: each outside thing checked, named when wrong, with its fix."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.doctor import Check, Mark, all_passed, check_database, diagnose
from bot.settings import Settings
from bot.storage import Storage
from standins.altegio.sandbox import Sandbox
from standins.altegio.server import make_server
from standins.telegram.bot_api import BotApiStub
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:the-bot-s-own-token-000000000000"
WRONG_TOKEN = "123456789:a-token-nobody-issued-00000000000"
NO_ENV_FILE = Path("/nonexistent/.env")


def doctor(
    env: dict[str, str], sandbox: Sandbox, stub: BotApiStub | None = None
) -> dict[str, Check]:
    checks = asyncio.run(
        diagnose(
            env,
            NO_ENV_FILE,
            telegram_request=stub or BotApiStub(token=TOKEN),
            altegio_transport=lambda _: sandbox.transport(),
        )
    )
    return {check.thing: check for check in checks}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_DB_PATH": str(tmp_path / "bot.sqlite3")}


def test_all_good_on_the_sandbox(env: dict[str, str], sandbox: Sandbox) -> None:
    checks = doctor(env, sandbox)

    assert list(checks) == [
        "Settings",
        "Telegram",
        "Altegio location",
        "Online booking",
        "Database",
        "Disk space",
        "Message overrides",
    ]
    assert all_passed(list(checks.values()))
    assert checks["Settings"].found == "read from the environment"
    assert {c.mark for c in checks.values()} == {Mark.OK}
    assert "@altegio_demo_bot (Altegio Demo)" in checks["Telegram"].found
    location = checks["Altegio location"].found
    assert "Studio Aurora (location 1001), timezone Europe/Berlin, no SMS code" in location
    assert "embedded sandbox location" in location
    assert checks["Online booking"].found == "13 services and 5 team members bookable online"
    assert "will be created at start" in checks["Database"].found


def test_the_sms_location_says_it_confirms_by_sms(env: dict[str, str], sandbox: Sandbox) -> None:
    checks = doctor({**env, "ALTEGIO_COMPANY_ID": "1002"}, sandbox)
    assert "confirms bookings by SMS code" in checks["Altegio location"].found


def test_a_wrong_telegram_token_is_named(env: dict[str, str], sandbox: Sandbox) -> None:
    checks = doctor({**env, "TELEGRAM_BOT_TOKEN": WRONG_TOKEN}, sandbox)

    telegram = checks["Telegram"]
    assert telegram.mark is Mark.FAIL
    assert telegram.found.startswith("TELEGRAM_BOT_TOKEN is not accepted by Telegram")
    assert "@BotFather" in telegram.found
    assert WRONG_TOKEN not in telegram.found
    assert not all_passed(list(checks.values()))
    assert checks["Altegio location"].passed  # the others are still checked


def test_no_telegram_token_is_named(tmp_path: Path, sandbox: Sandbox) -> None:
    checks = doctor({"BOT_DB_PATH": str(tmp_path / "bot.sqlite3")}, sandbox)
    assert checks["Telegram"].mark is Mark.FAIL
    assert checks["Telegram"].found.startswith("TELEGRAM_BOT_TOKEN is not set")


def test_a_wrong_partner_token_is_named(env: dict[str, str], sandbox: Sandbox) -> None:
    partner = "not-the-partner-token"
    checks = doctor(
        {**env, "ALTEGIO_PARTNER_TOKEN": partner, "ALTEGIO_COMPANY_ID": "1001"}, sandbox
    )

    location = checks["Altegio location"]
    assert location.mark is Mark.FAIL
    assert location.found.startswith("ALTEGIO_PARTNER_TOKEN is not accepted by Altegio")
    assert "HTTP 401" in location.found
    assert "Online booking" not in checks
    assert all(partner not in check.found for check in checks.values())
    assert not all_passed(list(checks.values()))


def test_a_real_partner_token_is_no_sandbox(env: dict[str, str], sandbox: Sandbox) -> None:
    checks = doctor(
        {**env, "ALTEGIO_PARTNER_TOKEN": "sandbox-partner-token", "ALTEGIO_COMPANY_ID": "1001"},
        sandbox,
    )
    assert checks["Altegio location"].mark is Mark.OK
    assert "sandbox" not in checks["Altegio location"].found


def test_a_wrong_location_is_named(env: dict[str, str], sandbox: Sandbox) -> None:
    checks = doctor({**env, "ALTEGIO_COMPANY_ID": "4242"}, sandbox)

    location = checks["Altegio location"]
    assert location.mark is Mark.FAIL
    assert location.found.startswith("Altegio knows no location 4242: set ALTEGIO_COMPANY_ID")
    assert not all_passed(list(checks.values()))


def test_a_bad_setting_is_a_failed_check_naming_the_variable(
    env: dict[str, str], sandbox: Sandbox
) -> None:
    checks = doctor({**env, "ALTEGIO_COMPANY_ID": "salon"}, sandbox)
    assert list(checks) == ["Settings"]
    assert checks["Settings"].mark is Mark.FAIL
    assert "ALTEGIO_COMPANY_ID must be a positive whole number" in checks["Settings"].found


def test_a_database_path_that_cannot_be_written_is_named(
    env: dict[str, str], sandbox: Sandbox, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    checks = doctor({**env, "BOT_DB_PATH": str(blocker / "bot.sqlite3")}, sandbox)

    database = checks["Database"]
    assert database.mark is Mark.FAIL
    assert "is not a folder: point BOT_DB_PATH" in database.found
    assert not all_passed(list(checks.values()))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_a_read_only_folder_is_named(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        settings = Settings.load({**env, "BOT_DB_PATH": str(folder / "bot.sqlite3")}, NO_ENV_FILE)
        (database,) = check_database(settings)
    finally:
        folder.chmod(0o700)
    assert database.mark is Mark.FAIL
    assert "is not writable" in database.found


def test_a_database_of_another_location_is_named(env: dict[str, str], sandbox: Sandbox) -> None:
    storage = Storage.open(Path(env["BOT_DB_PATH"]))
    storage.bind(1002)
    storage.close()

    database = doctor(env, sandbox)["Database"]
    assert database.mark is Mark.FAIL
    assert "holds the data of Altegio location 1002, not of location 1001" in database.found
    assert "BOT_DB_PATH of its own" in database.found


def test_the_database_is_checked_beside_a_running_bot(
    env: dict[str, str], sandbox: Sandbox
) -> None:
    running = Storage.open(Path(env["BOT_DB_PATH"]))  # holds the bot's lock
    running.bind(1001)
    try:
        database = doctor(env, sandbox)["Database"]
        assert database.mark is Mark.OK
        assert "opens and belongs to location 1001" in database.found
        running.bind(1001)  # the bot's file is as it was, still writable
    finally:
        running.close()


def test_a_file_that_is_no_database_is_named(env: dict[str, str], sandbox: Sandbox) -> None:
    Path(env["BOT_DB_PATH"]).write_bytes(b"not a database at all" * 100)
    database = doctor(env, sandbox)["Database"]
    assert database.mark is Mark.FAIL
    assert "cannot be opened" in database.found


def test_little_disk_space_is_a_warning(env: dict[str, str]) -> None:
    settings = Settings.load(env, NO_ENV_FILE)
    space = check_database(settings, low_space=1 << 60)[1]
    assert space.mark is Mark.WARN
    assert space.passed
    assert space.found.startswith("only ")


def test_the_salon_s_wording_is_checked(
    env: dict[str, str], sandbox: Sandbox, tmp_path: Path
) -> None:
    own = tmp_path / "wording"
    own.mkdir()
    header = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    (own / "de.po").write_text(header + 'msgid "Book"\nmsgstr "Termin buchen"\n')
    good = doctor({**env, "BOT_MESSAGES_DIR": str(own)}, sandbox)["Message overrides"]
    assert good.mark is Mark.OK
    assert good.found.endswith(": de load, placeholders match")

    (own / "en.po").write_text(
        header + 'msgid "Service: %(service)s"\nmsgstr "Treatment: %(treatment)s"\n'
    )
    bad = doctor({**env, "BOT_MESSAGES_DIR": str(own)}, sandbox)["Message overrides"]
    assert bad.mark is Mark.FAIL
    assert "en.po" in bad.found
    assert "'Service: %(service)s'" in bad.found


def test_the_webhook_address_is_checked(env: dict[str, str], sandbox: Sandbox) -> None:
    webhook = {"WEBHOOK_SECRET": "s3cret-path_1"}
    plain = doctor({**env, **webhook, "WEBHOOK_URL": "http://bot.example.com/hook"}, sandbox)
    assert plain["Settings"].mark is Mark.FAIL
    assert "WEBHOOK_URL" in plain["Settings"].found

    good = doctor({**env, **webhook, "WEBHOOK_URL": "https://bot.example.com/hook"}, sandbox)
    assert good["Webhook"].mark is Mark.OK
    assert good["Webhook"].found.endswith("the bot gives it to Telegram at start")

    url = f"https://bot.example.com/{TOKEN}"
    in_path = doctor({**env, **webhook, "WEBHOOK_URL": url}, sandbox)
    assert in_path["Webhook"].found.startswith("WEBHOOK_URL is https://bot.example.com/<token>;")
    assert "Webhook" not in doctor(env, sandbox)


# --- the command, end to end ------------------------------------------------------------------


class TelegramOverHttp:
    """The Bot API stand-in behind a real local HTTP server, for a doctor in another process."""

    def __init__(self, stub: BotApiStub) -> None:
        class Relay(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                status, body = asyncio.run(stub.do_request(f"http://local{self.path}", "POST"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
        self.url = f"http://127.0.0.1:{self.server.server_port}/bot"


@pytest.fixture
def served(clock: FakeClock) -> Iterator[tuple[str, str]]:
    """The Bot API stand-in and the sandbox location, each served over HTTP."""
    telegram = TelegramOverHttp(BotApiStub(token=TOKEN))
    altegio = make_server(Sandbox(clock.now), "127.0.0.1", 0)
    threads = [
        threading.Thread(target=server.serve_forever, daemon=True)
        for server in (telegram.server, altegio)
    ]
    for thread in threads:
        thread.start()
    try:
        yield telegram.url, f"http://127.0.0.1:{altegio.server_port}/api"
    finally:
        for server in (telegram.server, altegio):
            server.shutdown()
            server.server_close()


def run_doctor(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ALTEGIO_"))}
    keep.pop("WEBHOOK_URL", None)
    keep.pop("BOT_MESSAGES_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        cwd=tmp_path,
        env={**keep, "PYTHONPATH": str(ROOT), "BOT_DB_PATH": str(tmp_path / "db.sqlite3"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_end_to_end(served: tuple[str, str], tmp_path: Path) -> None:
    telegram_url, altegio_url = served
    env = {
        "TELEGRAM_API_BASE_URL": telegram_url,
        "ALTEGIO_BASE_URL": altegio_url,
        "ALTEGIO_PARTNER_TOKEN": "sandbox-partner-token",
        "ALTEGIO_COMPANY_ID": "1001",
    }
    good = run_doctor(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, **env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "✓ Telegram" in good.stdout
    assert "@altegio_demo_bot" in good.stdout
    assert "✓ Altegio location   Studio Aurora (location 1001)" in good.stdout
    assert "Everything the bot needs works." in good.stdout

    wrong = run_doctor(tmp_path, TELEGRAM_BOT_TOKEN=WRONG_TOKEN, **env)
    assert wrong.returncode == 1
    assert "✗ Telegram" in wrong.stdout
    assert "TELEGRAM_BOT_TOKEN is not accepted by Telegram" in wrong.stdout
    assert "✓ Altegio location" in wrong.stdout
    assert "Traceback" not in wrong.stdout + wrong.stderr
    for secret in (WRONG_TOKEN, "sandbox-partner-token"):
        assert secret not in wrong.stdout + wrong.stderr

    # Nothing listening there at all.
    unreachable = run_doctor(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        **{**env, "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"},
    )
    assert unreachable.returncode == 1
    assert "Telegram cannot be reached at http://127.0.0.1:9/bot" in unreachable.stdout
    assert "Traceback" not in unreachable.stdout + unreachable.stderr
