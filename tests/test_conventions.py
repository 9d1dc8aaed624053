"""Checks that keep the codebase in the shape it promises: imports, lint, types, catalogs, CI."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import SHIPPED_LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "conversations", "standins")
SOURCES = [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]


def imported(path: Path) -> list[tuple[str, bool]]:
    """Every module `path` imports, and whether the import sits inside a function."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, in_function) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, in_function))
        inside = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def imports(path: Path) -> set[str]:
    return {name for name, _ in imported(path)}


def _of(package: str, names: set[str]) -> list[str]:
    return sorted(n for n in names if n == package or n.startswith(package + "."))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_import_direction(path: Path) -> None:
    names = imports(path)
    relative = path.relative_to(ROOT).as_posix()
    if relative.startswith("bot/altegio/"):
        assert not any(n == "telegram" or n.startswith("telegram.") for n in names), relative
        assert not any(n.startswith("conversations") for n in names), relative
    if relative.startswith("bot/") and relative != "bot/app.py":
        assert not any(n.startswith("conversations") for n in names), relative
    if relative.startswith(("bot/", "conversations/")):
        # The core never imports a stand-in; only the CLI's commands do, inside themselves.
        lazy_ok = relative == "bot/cli.py"
        eager = {n for n, in_function in imported(path) if not (lazy_ok and in_function)}
        assert _of("standins", eager) == [], relative
    if relative.startswith("standins/"):
        # Stand-ins stand in for the outside worlds: they know nothing of the bot.
        assert _of("conversations", names) == [], relative
        assert _of("bot", names) == [], relative


# The core: plain code that owns the business and the outside worlds, with no Telegram in it.
CORE = (
    "bot/workflows/",
    "bot/storage/",
    "bot/altegio/",
    "bot/services.py",
    "bot/account.py",
    "bot/draft.py",
    "bot/records.py",
    "bot/reminder_times.py",
    "bot/user_state.py",
    "bot/calendar_file.py",
    "bot/limits.py",
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_knows_no_telegram(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    if relative.startswith(CORE):
        assert _of("telegram", imports(path)) == [], relative


def test_the_core_loads_no_telegram_even_indirectly() -> None:
    """Importing every core module, in a fresh interpreter, loads nothing of Telegram."""
    modules = sorted(
        p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
        for p in SOURCES
        if p.relative_to(ROOT).as_posix().startswith(CORE)
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'telegram'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout


# What a handler may read from storage; every write goes through the core's workflows.
STORAGE_READS = {
    "attempt",
    "booking",
    "bookings_for_chat",
    "contact",
    "language",
    "reminders_enabled",
    "upcoming_bookings",
    "user_token",
    "visit_bookings",
}


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if p.relative_to(ROOT).as_posix().startswith("conversations/")],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_handlers_never_write_storage(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        named = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if named == "storage":
            assert node.func.attr in STORAGE_READS, f"{path.name}:{node.lineno} writes storage"


def test_no_two_modules_share_a_name() -> None:
    """A name says which side a module is on: never two modules with the same one."""
    seen: dict[str, str] = {}
    for path in [*SOURCES, *sorted((ROOT / "bench").glob("*.py"))]:
        if path.name in ("__init__.py", "__main__.py"):
            continue
        relative = path.relative_to(ROOT).as_posix()
        assert path.stem not in seen, f"{relative} and {seen.get(path.stem)}"
        seen[path.stem] = relative


def test_no_product_module_is_long() -> None:
    """About 400 lines at most: a module longer than that holds more than one idea."""
    for path in SOURCES:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 420, f"{path.relative_to(ROOT)}: {lines} lines"


def test_the_cores_sandbox_defaults_are_the_sandboxs_own() -> None:
    from bot import settings
    from standins.altegio import sandbox, seed

    assert settings.SANDBOX_COMPANY_ID == seed.SANDBOX_COMPANY_ID
    assert settings.SANDBOX_PARTNER_TOKEN == sandbox.SANDBOX_PARTNER_TOKEN


# `altegio-bot run` up to, not including, polling Telegram: which stand-ins did it load?
RUN_BUILD = """
import sys
from bot.cli import build_for_run
from bot.settings import Settings
services, application = build_for_run(Settings.load())
services.storage.close()
print(sorted(n for n in sys.modules if n == "standins" or n.startswith("standins.")))
"""


@pytest.mark.parametrize(
    ("partner", "loads"), [("x", False), (None, True)], ids=["partner-token", "sandbox"]
)
def test_run_loads_stand_ins_only_without_a_partner_token(
    tmp_path: Path, partner: str | None, loads: bool
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALTEGIO_", "BOT_"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35,
        "BOT_DB_PATH": str(tmp_path / "bot.sqlite3"),
    }
    if partner is not None:
        env |= {"ALTEGIO_PARTNER_TOKEN": partner, "ALTEGIO_COMPANY_ID": "1"}
    result = subprocess.run(
        [sys.executable, "-c", RUN_BUILD],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert ("standins.altegio.sandbox" in loaded) is loads, loaded
    if not loads:
        assert loaded == []


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_lint() -> None:
    result = run("ruff", "check", "bot", "conversations", "standins", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run("ruff", "format", "--check", "bot", "conversations", "standins", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = run("mypy", "--strict", "bot", "conversations", "standins", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def _source_messages() -> set[str]:
    found: set[str] = set()
    method_map = [("bot/**.py", "python"), ("conversations/**.py", "python")]
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalog(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        return read_po(handle)


def test_template_is_up_to_date() -> None:
    template = _catalog(ROOT / "bot" / "locales" / "messages.pot")
    in_template = {m.id[0] if isinstance(m.id, tuple) else m.id for m in template if m.id}
    in_code = _source_messages()
    assert in_code - in_template == set(), "run pybabel extract (see README)"
    assert in_template - in_code == set(), "run pybabel extract (see README)"


@pytest.mark.parametrize("language", [lang for lang in SHIPPED_LANGUAGES if lang != "en"])
def test_catalog_is_complete_and_consistent(language: str) -> None:
    template = _catalog(ROOT / "bot" / "locales" / "messages.pot")
    catalog = _catalog(ROOT / "bot" / "locales" / language / "LC_MESSAGES" / "messages.po")
    ids = {m.id for m in catalog if m.id}
    missing = [m.id for m in template if m.id and m.id not in ids]
    assert missing == [], f"{language}: not in the catalog, run pybabel update"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"{language}: fuzzy: {message.id!r}"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: untranslated: {message.id!r}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert problems == [], problems
    # Placeholders must match exactly, not only in count: a renamed one breaks at run time.
    for message in catalog:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(re.findall(r"%\((\w+)\)s", "".join(source)))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            got = set(re.findall(r"%\((\w+)\)s", text))
            assert got <= wanted | {"n"} and wanted - {"n"} <= got, (message.id, text)


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    commands = [line.strip() for line in readme[:6] if line.startswith("    ")]
    assert len(commands) == 2, "the README starts with the run and the test command"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci.splitlines()


def test_env_example_lists_every_setting() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    settings = (ROOT / "bot" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'"([A-Z]+_[A-Z_]+)"', settings))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in names:
        assert f"{name}=" in example, name
        assert f"`{name}`" in readme, name
