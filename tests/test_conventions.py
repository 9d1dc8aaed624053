"""Checks that keep the codebase in the shape it promises: imports, lint, types, catalogs, CI."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import SHIPPED_LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*sorted((ROOT / "bot").rglob("*.py")), *sorted((ROOT / "conversations").rglob("*.py"))]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_import_direction(path: Path) -> None:
    names = imports(path)
    relative = path.relative_to(ROOT).as_posix()
    if relative.startswith("bot/altegio/"):
        assert not any(n == "telegram" or n.startswith("telegram.") for n in names), relative
        assert not any(n.startswith("conversations") for n in names), relative
    if relative.startswith("bot/") and relative != "bot/app.py":
        assert not any(n.startswith("conversations") for n in names), relative


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
