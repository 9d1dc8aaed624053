"""The tenants file (`BOT_TENANTS_FILE`): many bots, each its own salon, in one deployment.

A TOML file of `[[tenant]]` tables. Each tenant's `Settings` are the environment's, overlaid
with the tenant's values under the same variable names and read by `Settings.load`, so every
value is checked as it is for one bot, with the same words, said of the tenant and its key. A
Telegram token is never repeated in an error.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.settings import Settings, SettingsError, read_env_file

# A tenant's keys and the variables they stand for (what is not given comes from the
# environment). WEBHOOK_LISTEN, the log and the API roots belong to the process, not a tenant.
KEYS: dict[str, str] = {
    "telegram_token": "TELEGRAM_BOT_TOKEN",
    "company_id": "ALTEGIO_COMPANY_ID",
    "group_id": "ALTEGIO_GROUP_ID",
    "partner_token": "ALTEGIO_PARTNER_TOKEN",
    "user_token": "ALTEGIO_USER_TOKEN",
    "default_language": "BOT_DEFAULT_LANGUAGE",
    "messages_dir": "BOT_MESSAGES_DIR",
    "reminder_offsets": "REMINDER_OFFSETS",
    "quiet_hours": "QUIET_HOURS",
    "admin_chat_id": "ADMIN_CHAT_ID",
    "notify_by_sms": "ALTEGIO_NOTIFY_BY_SMS",
    "notify_by_email": "ALTEGIO_NOTIFY_BY_EMAIL",
    "db_path": "BOT_DB_PATH",
    "webhook_url": "WEBHOOK_URL",
    "webhook_secret": "WEBHOOK_SECRET",
    "database_url": "DATABASE_URL",
    "database_schema": "DATABASE_SCHEMA",
}
_NO_FILE = Path("/nonexistent/.env")  # the `.env` file is read once, into the base
_TELEGRAM_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{20,}")
_NAME = re.compile(r"^[a-z0-9-]{1,40}$")
# Never taken from the environment: a bot is its own token, location and database.
_OWN = (
    "TELEGRAM_BOT_TOKEN",
    "ALTEGIO_COMPANY_ID",
    "ALTEGIO_GROUP_ID",
    "BOT_DB_PATH",
    "DATABASE_SCHEMA",
)


class TenantsError(SettingsError):
    """The tenants file cannot be read, or a tenant in it is wrong; the message says which."""


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    settings: Settings


def read_tenants(
    path: Path,
    env: Mapping[str, str] | None = None,
    env_file: Path | None = None,
    data_dir: Path | None = None,
) -> list[Tenant]:
    """Every tenant of the file at `path`, its settings checked; refused as a whole when any
    is wrong or two of them would share a bot, a database or a webhook path."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TenantsError(f"BOT_TENANTS_FILE cannot be read: {path} ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        # The parser's words name a line and column, never a value.
        raise TenantsError(f"BOT_TENANTS_FILE {path} is not valid TOML: {exc}") from None
    extra = sorted(set(document) - {"tenant"})
    if extra:
        raise TenantsError(
            f"BOT_TENANTS_FILE {path}: unknown table or key {extra[0]!r} (only [[tenant]] tables)"
        )
    tables = document.get("tenant")
    if not isinstance(tables, list) or not tables:
        raise TenantsError(f"BOT_TENANTS_FILE {path} lists no tenant: add [[tenant]] tables")
    # The environment as `Settings.load` reads it: the `.env` file, then the variables.
    dotenv = env_file if env_file is not None else Path(".env")
    base = read_env_file(dotenv) if dotenv.is_file() else {}
    base.update(os.environ if env is None else env)
    base.pop("BOT_TENANTS_FILE", None)
    folder = data_dir or path.parent
    try:
        tenants = [_tenant(table, n, base, folder) for n, table in enumerate(tables, 1)]
        _refuse_shared(tenants)
    except TenantsError as exc:
        # A token put under another key would be repeated by the check of that key.
        raise TenantsError(_masked(str(exc), tables)) from None
    return tenants


def _masked(message: str, tables: list[object]) -> str:
    secret = [
        str(value)
        for table in tables
        if isinstance(table, dict)
        for key, value in table.items()
        if key.endswith(("token", "secret")) and len(str(value)) >= 8  # not a word's letters
    ]
    for value in sorted(secret, key=len, reverse=True):
        message = message.replace(value, "…")
    return _TELEGRAM_TOKEN.sub("…", message)


def _tenant(table: object, number: int, base: Mapping[str, str], folder: Path) -> Tenant:
    if not isinstance(table, dict):
        raise TenantsError(f"tenant {number} is not a table")
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise TenantsError(
            f"tenant {number}: name must be 1 to 40 of a-z, 0-9 and -, not {name!r}"
            if isinstance(name, str)
            else f"tenant {number}: name is required (a-z, 0-9 and -)"
        )
    where = f"tenant {name!r}"
    unknown = sorted(set(table) - set(KEYS) - {"name"})
    if unknown:
        raise TenantsError(f"{where}: unknown key {unknown[0]!r} (known: name, {', '.join(KEYS)})")
    if "telegram_token" not in table:
        raise TenantsError(f"{where}: telegram_token is required (each bot its own)")
    values = {k: v for k, v in base.items() if k not in _OWN}
    for key, value in table.items():
        if key != "name":
            values[KEYS[key]] = _text(where, key, value)
    if "database_schema" not in table:
        # With PostgreSQL, each tenant's tables in a schema of its own.
        values["DATABASE_SCHEMA"] = "tenant_" + name.replace("-", "_")
    if "db_path" not in table:
        values["BOT_DB_PATH"] = str(folder / f"{name}.sqlite3")
    elif not Path(values["BOT_DB_PATH"]).is_absolute():
        values["BOT_DB_PATH"] = str(folder / values["BOT_DB_PATH"])
    try:
        settings = Settings.load(values, _NO_FILE)
    except SettingsError as exc:
        raise TenantsError(f"{where}: {in_keys(str(exc))}") from None
    return Tenant(name, settings)


def _text(where: str, key: str, value: object) -> str:
    """A TOML value as the variable's text: numbers as digits, a list of offsets joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if (
        key == "reminder_offsets"
        and isinstance(value, list)
        and all(isinstance(v, str) for v in value)
    ):
        return ",".join(value)
    shown = "a secret" if key.endswith("token") else type(value).__name__
    raise TenantsError(f"{where}: {key} must be text or a whole number, not {shown}")


def in_keys(message: str) -> str:
    """`Settings.load`'s words, with the tenants file's keys for the variables' names."""
    for key, name in sorted(KEYS.items(), key=lambda item: -len(item[1])):
        message = re.sub(rf"\b{name}\b", key, message)
    return message


def _refuse_shared(tenants: Sequence[Tenant]) -> None:
    """Two tenants may share a partner token, never a bot, a database or a webhook path."""
    seen: dict[tuple[str, object], int] = {}
    for number, tenant in enumerate(tenants):
        s = tenant.settings
        own: list[tuple[str, object]] = [
            ("name", tenant.name),
            ("telegram_token", s.telegram_bot_token),
            ("db_path", s.db_path.resolve())
            if s.database_url is None
            else ("database_schema", (s.database_url, s.database_schema)),
        ]
        if s.webhook_url:
            own.append(("webhook path", urlsplit(s.webhook_url).path or "/"))
        if s.webhook_url and s.altegio_user_token:
            own.append(("webhook_secret (the Altegio webhooks' path)", s.altegio_hook_path))
        for what, value in own:
            other = seen.setdefault((what, value), number)
            if other != number:
                raise TenantsError(
                    f"tenants {tenants[other].name!r} and {tenant.name!r} (numbers {other + 1} "
                    f"and {number + 1}) have the same {what}: each bot needs its own"
                )


def pick(tenants: Sequence[Tenant], name: str | None) -> Tenant:
    """The tenant a one-bot command (`chat`, `links`, `admin-code`, `backup`) works on."""
    names = ", ".join(t.name for t in tenants)
    if name is None:
        if len(tenants) == 1:
            return tenants[0]
        raise TenantsError(
            f"BOT_TENANTS_FILE lists {len(tenants)} bots: choose one with --tenant NAME ({names})"
        )
    for tenant in tenants:
        if tenant.name == name:
            return tenant
    raise TenantsError(f"no tenant named {name!r} in BOT_TENANTS_FILE (there are: {names})")


def secrets(tenants: Sequence[Tenant]) -> list[str]:
    """What no log line may show, of every tenant."""
    values = []
    for tenant in tenants:
        s = tenant.settings
        for value in (
            s.telegram_bot_token,
            s.altegio_partner_token,
            s.webhook_secret,
            s.altegio_user_token,
            s.altegio_hook_path,
            *s.database_secrets,
        ):
            if value:
                values.append(value)
    return values
