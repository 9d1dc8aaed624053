"""The bot as users install it: a wheel built from the checkout, installed without `-e` into a
new virtual environment outside the checkout, speaks every shipped language.

The new environment borrows the already installed dependencies (a `.pth` line naming this
environment's site-packages) so the test needs no network; the bot itself, its catalogs and its
command come only from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from bot.i18n import SHIPPED_LANGUAGES, SOURCE_LANGUAGE

ROOT = Path(__file__).resolve().parent.parent
PIP = (sys.executable, "-m", "pip")
LEFT_OUT = (".venv", ".git", "build", "*.egg-info", "__pycache__", "*.sqlite3", ".*_cache")

# The greeting of /start in each shipped language, as the catalogs have it.
GREETING = {
    "en": "Book an appointment in a few taps, any time of day.",
    "ru": "Записаться можно в пару нажатий — в любое время суток.",
}

# What the installed bot is asked to do in each language: the first words a client sees.
PROBE = """
import asyncio, sys
import bot
from bot.app import OFFLINE_TOKEN, build_application, build_services
from bot.settings import Settings
from standins.altegio.sandbox import Sandbox
from standins.telegram.bot_api import BotApiStub
from standins.telegram.users import StubUser

async def main() -> None:
    print("from:", bot.__file__)
    settings = Settings.load()
    for language in sys.argv[1:]:
        stub = BotApiStub()
        services = build_services(settings, altegio_transport=Sandbox().transport())
        application = build_application(
            services, token=OFFLINE_TOKEN, request=stub, reminder_interval=None
        )
        await application.initialize()
        await application.start()
        user = StubUser(stub, application, user_id=1, first_name="A", language_code=language)
        await user.send("/start")
        print(language, "|", user.last.text.replace("\\n", " "), "|", *user.last.buttons[0])
        await application.stop()
        await application.shutdown()
        services.storage.close()

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel installed; returns its `bin` directory."""
    work = tmp_path_factory.mktemp("installed")
    # Built from a copy, so the build leaves nothing behind in the checkout.
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    built = subprocess.run(
        [
            *PIP,
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(work / "dist"),
            source,
        ],
        capture_output=True,
        text=True,
        cwd=work,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (work / "dist").glob("altegio_bot-*.whl")
    target = work / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "borrowed-dependencies.pth").write_text("\n".join(sorted(here)) + "\n")
    done = subprocess.run(
        [*PIP, "--python", python, "install", "-q", "--no-deps", "--no-index", wheel],
        capture_output=True,
        text=True,
        cwd=work,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target / "bin"


def _run(command: list[str], work: Path) -> subprocess.CompletedProcess[str]:
    """A command of the installed bot, run from `work`, with no setting of this checkout's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALTEGIO_", "BOT_"))}
    env.pop("PYTHONPATH", None)
    env["BOT_DB_PATH"] = str(work / "bot.sqlite3")
    return subprocess.run(
        command,
        input="/quit\n",
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_installed_command_greets_a_russian_client_in_russian(
    installed: Path, tmp_path: Path
) -> None:
    run = _run([str(installed / "altegio-bot"), "chat", "--language", "ru"], tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert GREETING["ru"] in run.stdout, run.stdout
    assert "Записаться" in run.stdout


def test_the_installed_bot_speaks_every_shipped_language(installed: Path, tmp_path: Path) -> None:
    run = _run([str(installed / "python"), "-c", PROBE, *SHIPPED_LANGUAGES], tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("from: " + str(installed.parent)), lines[0]
    greetings = dict(line.split(" | ", 1) for line in lines[1:])
    english = greetings[SOURCE_LANGUAGE]
    assert GREETING["en"] in english
    for language in SHIPPED_LANGUAGES:
        if language != SOURCE_LANGUAGE:
            assert greetings[language] != english, language
    assert GREETING["ru"] in greetings["ru"]


@pytest.mark.parametrize("damage", ["missing", "unreadable"])
def test_a_damaged_catalog_stops_the_bot_at_start(
    installed: Path, tmp_path: Path, damage: str
) -> None:
    site = next(installed.parent.glob("lib/python*/site-packages"))
    catalog = site / "bot" / "locales" / "de" / "LC_MESSAGES" / "messages.po"
    saved = catalog.read_bytes()
    if damage == "missing":
        catalog.unlink()
    else:
        catalog.write_bytes(b'msgid "x"\nmsgstr "\xff\xfe\n')
    try:
        run = _run([str(installed / "altegio-bot"), "chat"], tmp_path)
    finally:
        catalog.write_bytes(saved)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.startswith("altegio-bot: "), run.stderr
    assert "de" in run.stderr and "Traceback" not in run.stderr


def test_wheel_contents(installed: Path) -> None:
    wheel = next(installed.parent.parent.glob("dist/altegio_bot-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for language in SHIPPED_LANGUAGES:
        if language != SOURCE_LANGUAGE:
            assert f"bot/locales/{language}/LC_MESSAGES/messages.po" in names, language
