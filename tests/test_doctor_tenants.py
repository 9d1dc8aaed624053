"""`altegio-bot doctor` over a tenants file: each tenant's checks under its name, the exit
status 0 only when every tenant's pass, a broken tenant not hiding the others."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.doctor_marks import Mark, all_passed
from bot.tenant_commands import diagnose
from standins.altegio.sandbox import Sandbox
from standins.telegram.bot_api import BotApiStub
from tests.test_doctor import TOKEN, WRONG_TOKEN, run_doctor, served  # noqa: F401

NO_ENV_FILE = Path("/nonexistent/.env")


def tenants_file(tmp_path: Path, second_token: str, second_company: int) -> Path:
    path = tmp_path / "tenants.toml"
    path.write_text(
        f"""
[[tenant]]
name = "aurora"
telegram_token = "{TOKEN}"
company_id = 1001

[[tenant]]
name = "mitte"
telegram_token = "{second_token}"
company_id = {second_company}
""",
        encoding="utf-8",
    )
    return path


def test_each_tenant_is_checked_under_its_name(tmp_path: Path, sandbox: Sandbox) -> None:
    other = "987654:another-bot-s-token-0000000000"
    env = {"BOT_TENANTS_FILE": str(tenants_file(tmp_path, other, 999))}
    report = asyncio.run(
        diagnose(
            env,
            NO_ENV_FILE,
            telegram_request=BotApiStub(),
            altegio_transport=lambda _: sandbox.transport(),
        )
    )
    names = [name for name, _ in report]
    assert names == [None, "aurora", "mitte"]
    first, aurora, mitte = (checks for _, checks in report)
    assert [c.thing for c in first] == ["Settings", "Tenants file"]
    assert "2 bots: aurora, mitte" in first[1].found
    assert all_passed(aurora)
    assert not all_passed(mitte)
    failed = [c for c in mitte if c.mark is Mark.FAIL]
    assert [c.thing for c in failed] == ["Altegio location"], failed
    assert (tmp_path / "aurora.sqlite3").exists() is False  # doctor writes no database


def test_a_tenants_file_that_cannot_be_read_is_one_failed_line(tmp_path: Path) -> None:
    path = tmp_path / "tenants.toml"
    path.write_text(f'[[tenant]]\nname = "a"\ntelegram_token = "{TOKEN}"\nlogo = 1\n')
    report = asyncio.run(diagnose({"BOT_TENANTS_FILE": str(path)}, NO_ENV_FILE))
    (_, checks), *rest = report
    assert rest == [] and checks[1].mark is Mark.FAIL
    assert "tenant 'a': unknown key 'logo'" in checks[1].found
    assert TOKEN not in checks[1].found


def test_the_command_reports_every_tenant(
    served: tuple[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    telegram_url, altegio_url = served
    env = {
        "TELEGRAM_API_BASE_URL": telegram_url,
        "ALTEGIO_BASE_URL": altegio_url,
        "ALTEGIO_PARTNER_TOKEN": "sandbox-partner-token",
    }
    broken = run_doctor(
        tmp_path, BOT_TENANTS_FILE=str(tenants_file(tmp_path, WRONG_TOKEN, 1002)), **env
    )
    out = broken.stdout
    assert broken.returncode == 1, out + broken.stderr
    aurora, mitte = out.split("\naurora\n")[1].split("\nmitte\n")
    assert "✓ Telegram" in aurora and "✓ Altegio location" in aurora
    assert "✗ Telegram" in mitte and "telegram_token is not accepted" in mitte
    assert "✓ Altegio location" in mitte  # checked all the same
    assert "before every bot can run" in out
    for secret in (TOKEN, WRONG_TOKEN, "sandbox-partner-token"):
        assert secret not in out + broken.stderr
    good = run_doctor(tmp_path, BOT_TENANTS_FILE=str(tenants_file(tmp_path, TOKEN, 1002)), **env)
    # The same token twice is refused before anything is asked of Telegram.
    assert good.returncode == 1 and "the same telegram_token" in good.stdout
