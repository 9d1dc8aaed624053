"""The tenants file: read into each tenant's checked settings, and refused, with the tenant and
key named and no token repeated, whenever a tenant is wrong or two would share a bot."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.tenants import TenantsError, pick, read_tenants

TOKEN_A = "111111:tenant-a-token-aaaaaaaaaaaaaaaa"
TOKEN_B = "222222:tenant-b-token-bbbbbbbbbbbbbbbb"
NO_ENV_FILE = Path("/nonexistent/.env")

TWO = f"""
[[tenant]]
name = "aurora"
telegram_token = "{TOKEN_A}"
company_id = 1001
admin_chat_id = -100123
reminder_offsets = ["24h", "30m"]

[[tenant]]
name = "chain-100"
telegram_token = "{TOKEN_B}"
group_id = 100
default_language = "de"
quiet_hours = "off"
db_path = "chain.sqlite3"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tenants.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(TenantsError) as caught:
        read_tenants(write(tmp_path, text), env or {}, NO_ENV_FILE)
    message = str(caught.value)
    for token in (TOKEN_A, TOKEN_B, "partner-secret-1"):
        assert token not in message
    return message


def test_each_tenant_gets_its_own_settings_over_the_environment(tmp_path: Path) -> None:
    env = {"REMINDER_OFFSETS": "2h", "BOT_DEFAULT_LANGUAGE": "ru", "ALTEGIO_COMPANY_ID": "1002"}
    a, b = read_tenants(write(tmp_path, TWO), env, NO_ENV_FILE)
    assert (a.name, b.name) == ("aurora", "chain-100")
    assert a.settings.telegram_bot_token == TOKEN_A
    assert (a.settings.altegio_company_id, a.settings.altegio_group_id) == (1001, None)
    assert a.settings.admin_chat_id == -100123
    assert [o.total_seconds() for o in a.settings.reminder_offsets] == [86400, 1800]
    assert a.settings.default_language == "ru"  # from the environment
    assert a.settings.db_path == tmp_path / "aurora.sqlite3"  # beside the file
    # The environment's location is not the chain's: each tenant names its own.
    assert (b.settings.altegio_group_id, b.settings.altegio_company_id) == (100, 1001)
    assert b.settings.default_language == "de" and b.settings.quiet_hours is None
    assert [o.total_seconds() for o in b.settings.reminder_offsets] == [7200]
    assert b.settings.db_path == tmp_path / "chain.sqlite3"
    assert a.settings.sandbox and b.settings.sandbox


def test_partner_tokens_are_shared_unless_a_tenant_has_its_own(tmp_path: Path) -> None:
    text = TWO.replace('db_path = "chain.sqlite3"', 'partner_token = "partner-secret-2"')
    env = {"ALTEGIO_PARTNER_TOKEN": "partner-secret-1"}
    a, b = read_tenants(write(tmp_path, text), env, NO_ENV_FILE)
    assert a.settings.altegio_partner_token == "partner-secret-1"
    assert b.settings.altegio_partner_token == "partner-secret-2"


def test_databases_go_to_the_data_dir_when_set(tmp_path: Path) -> None:
    a, b = read_tenants(write(tmp_path, TWO), {}, NO_ENV_FILE, data_dir=tmp_path / "data")
    assert a.settings.db_path == tmp_path / "data" / "aurora.sqlite3"
    assert b.settings.db_path == tmp_path / "data" / "chain.sqlite3"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("company_id = 1001", 'company_id = "x"'), "tenant 'aurora': company_id must be a "),
        (("company_id = 1001", "company_id = 1001\ncolour = 1"), "unknown key 'colour'"),
        (('default_language = "de"', 'default_language = "fr"'), "default_language must be"),
        (('quiet_hours = "off"', 'quiet_hours = "late"'), "tenant 'chain-100': quiet_hours:"),
        (("admin_chat_id = -100123", 'admin_chat_id = "me"'), "admin_chat_id must be a chat"),
        (('"24h", "30m"', '"soon"'), "tenant 'aurora': reminder_offsets:"),
        (('name = "chain-100"', 'name = "aurora"'), "'aurora' and 'aurora'"),
        (('name = "chain-100"', 'name = "Chain 100"'), "name must be 1 to 40 of a-z"),
        ((f'"{TOKEN_B}"', f'"{TOKEN_A}"'), "the same telegram_token"),
        ((f'"{TOKEN_B}"', '"not-a-token"'), "telegram_token does not look like a bot token"),
        (('db_path = "chain.sqlite3"', 'db_path = "aurora.sqlite3"'), "the same db_path"),
        ((f'telegram_token = "{TOKEN_B}"\n', ""), "telegram_token is required"),
        (("[[tenant]]", "[[tenants]]"), "unknown table or key 'tenants'"),
        (("[[tenant]]", "x = 1\n[[tenant]]"), "unknown table or key 'x'"),
        (("company_id = 1001", "company_id = 1001 1001"), "is not valid TOML"),
        (("company_id = 1001", "company_id = true"), "company_id must be text or a whole"),
    ],
)
def test_a_wrong_file_is_refused_naming_tenant_and_key(
    tmp_path: Path, change: tuple[str, str], words: str
) -> None:
    assert change[0] in TWO
    message = refused(tmp_path, TWO.replace(change[0], change[1], 1))
    assert words in message, message


def test_a_file_without_tenants_is_refused(tmp_path: Path) -> None:
    assert "lists no tenant" in refused(tmp_path, "# nobody yet\n")
    with pytest.raises(TenantsError, match="cannot be read"):
        read_tenants(tmp_path / "missing.toml", {}, NO_ENV_FILE)


def test_a_token_in_the_wrong_place_is_not_repeated(tmp_path: Path) -> None:
    message = refused(tmp_path, TWO.replace("company_id = 1001", f'company_id = "{TOKEN_B}"'))
    assert "company_id must be a positive whole number" in message
    assert TOKEN_B not in message


def test_two_webhooks_on_one_path_are_refused(tmp_path: Path) -> None:
    hooks = '\nwebhook_url = "https://bots.example/tg/same"\nwebhook_secret = "s-{}"\n'
    text = TWO.replace("reminder_offsets", hooks.format("a") + "reminder_offsets")
    text = text.replace("quiet_hours", hooks.format("b") + "quiet_hours")
    assert "the same webhook path" in refused(tmp_path, text)
    # The same secret with user tokens: Altegio's webhooks would share their derived path.
    text = text.replace('/tg/same"\nwebhook_secret = "s-b"', '/tg/other"\nwebhook_secret = "s-a"')
    read_tenants(write(tmp_path, text), {}, NO_ENV_FILE)
    message = refused(tmp_path, text, {"ALTEGIO_USER_TOKEN": "user-token-1"})
    assert "the same webhook_secret" in message


def test_a_one_bot_command_asks_which_tenant(tmp_path: Path) -> None:
    tenants = read_tenants(write(tmp_path, TWO), {}, NO_ENV_FILE)
    with pytest.raises(TenantsError, match=r"--tenant NAME \(aurora, chain-100\)"):
        pick(tenants, None)
    with pytest.raises(TenantsError, match="no tenant named 'x'"):
        pick(tenants, "x")
    assert pick(tenants, "chain-100").settings.altegio_group_id == 100
    assert pick(tenants[:1], None).name == "aurora"


def test_the_commands_take_tenant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TENANTS_FILE", str(write(tmp_path, TWO)))
    assert main(["admin-code"]) == 2
    assert "choose one with --tenant NAME" in capsys.readouterr().err
    assert main(["admin-code", "--tenant", "chain-100"]) == 0
    assert "/admin " in capsys.readouterr().out
    assert (tmp_path / "chain.sqlite3").is_file()
    assert not (tmp_path / "aurora.sqlite3").exists()
    assert main(["backup", "--tenant", "chain-100", str(tmp_path / "copy.sqlite3")]) == 0
    assert "chain.sqlite3" in capsys.readouterr().out
    monkeypatch.delenv("BOT_TENANTS_FILE")
    assert main(["admin-code", "--tenant", "aurora"]) == 2
    assert "--tenant needs BOT_TENANTS_FILE" in capsys.readouterr().err
