"""One frozen `Settings` object, read from the environment and an optional `.env` file."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bot.altegio.transport import DEFAULT_BASE_URL
from bot.i18n import SHIPPED_LANGUAGES, normalize_language
from bot.reminder_times import QuietHours, parse_offsets, parse_quiet_hours

_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")


DEFAULT_QUIET_HOURS = QuietHours(time(22), time(8))

# Without a partner token the bot talks to the sandbox location, which only the CLI loads (from
# `standins`); its public location id and partner token are plain defaults here. A test checks
# that they are the sandbox's own.
SANDBOX_COMPANY_ID = 1001
SANDBOX_PARTNER_TOKEN = "sandbox-partner-token"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    telegram_bot_token: str | None
    telegram_api_base_url: str
    telegram_api_base_file_url: str
    altegio_base_url: str
    altegio_partner_token: str | None  # None: the embedded sandbox location serves every call
    # The location clients book at; with a chain, the one a client who has not chosen yet is
    # treated as at (0 until the chain is read at start: `bot/chain.settle_home`).
    altegio_company_id: int
    db_path: Path
    default_language: str
    log_level: str = "INFO"
    log_format: str = "plain"  # or "json": one JSON object per line
    reminder_offsets: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
    quiet_hours: QuietHours | None = DEFAULT_QUIET_HOURS
    admin_chat_id: int | None = None
    messages_dir: Path | None = None
    # Altegio's own SMS and e-mail reminders for bookings made here, in hours before the visit;
    # None leaves them as the salon set them up in Altegio, 0 switches them off.
    notify_by_sms: int | None = None
    notify_by_email: int | None = None
    # Webhook mode (None: long polling), where the HTTP server listens (webhook, /healthz,
    # /metrics), and the secret Telegram sends back with every update.
    webhook_url: str | None = None
    webhook_listen: tuple[str, int] = ("0.0.0.0", 8080)
    webhook_secret: str | None = None
    # An Altegio user token with the location's settings rights: the bot subscribes to the
    # location's record webhooks with it (in webhook mode). Never logged or shown.
    altegio_user_token: str | None = None
    # A chain (Altegio's group of locations): clients choose one of its locations.
    altegio_group_id: int | None = None
    # Many bots in one process (`bot/tenants.py`), and where their databases go by default.
    tenants_file: Path | None = None
    data_dir: Path | None = None
    # PostgreSQL instead of the SQLite file (None: SQLite at db_path), the schema this bot's
    # tables live in, the address (egress) whose Altegio budget the processes sharing the
    # database draw from, and how many processes share it (each keeps to 1/N of it while
    # PostgreSQL is out of reach). The URL may hold a password: never logged or shown.
    database_url: str | None = None
    database_schema: str = "altegio_bot"
    altegio_egress: str = "default"
    replicas: int = 2

    @property
    def altegio_hook_path(self) -> str | None:
        """Where Altegio posts record events on the bot's own HTTP server: a path derived from
        WEBHOOK_SECRET, so it stays the same across restarts and nobody can guess it."""
        if not self.webhook_url or not self.webhook_secret:
            return None
        digest = hmac.new(self.webhook_secret.encode(), b"altegio-webhooks", hashlib.sha256)
        return "/altegio/" + digest.hexdigest()[:32]

    @property
    def altegio_hook_url(self) -> str | None:
        """The public https:// address given to Altegio: WEBHOOK_URL's origin and the path
        above (None in polling mode: Altegio could not reach the bot)."""
        path = self.altegio_hook_path
        if path is None or self.webhook_url is None:
            return None
        parts = urlsplit(self.webhook_url)
        return f"{parts.scheme}://{parts.netloc}{path}"

    @property
    def database_secrets(self) -> tuple[str, ...]:
        """What of DATABASE_URL no log line may show: the password, and the address whole."""
        if not self.database_url:
            return ()
        password = urlsplit(self.database_url).password
        return (self.database_url, password) if password else (self.database_url,)

    @property
    def sandbox(self) -> bool:
        """No partner token configured: the embedded demo location serves every call."""
        return self.altegio_partner_token is None

    @property
    def partner_token(self) -> str:
        return self.altegio_partner_token or SANDBOX_PARTNER_TOKEN

    def require_telegram_token(self) -> str:
        if not self.telegram_bot_token:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is not set: ask @BotFather for a token and put it in the "
                "environment or in .env (or try the bot with `altegio-bot chat`, which needs none)"
            )
        return self.telegram_bot_token

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
        """Read settings; variables in the environment win over those in the `.env` file."""
        values: dict[str, str] = {}
        path = env_file if env_file is not None else Path(".env")
        if path.is_file():
            values.update(read_env_file(path))
        values.update(os.environ if env is None else env)

        def get(name: str, default: str = "") -> str:
            return values.get(name, "").strip() or default

        token = get("TELEGRAM_BOT_TOKEN") or None
        if token is not None and not _TOKEN.match(token):
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (expected 123456:ABC-...)"
            )
        partner = get("ALTEGIO_PARTNER_TOKEN")
        company_text = get("ALTEGIO_COMPANY_ID")
        group_text = get("ALTEGIO_GROUP_ID")
        group_id = None
        if group_text:
            if not group_text.isdigit() or int(group_text) <= 0:
                raise SettingsError(
                    f"ALTEGIO_GROUP_ID must be a positive whole number, not {group_text!r}"
                )
            group_id = int(group_text)
        tenants_file = get("BOT_TENANTS_FILE")
        # With a tenants file, each tenant names its own location.
        if partner and not company_text and group_id is None and not tenants_file:
            raise SettingsError(
                "ALTEGIO_COMPANY_ID (or ALTEGIO_GROUP_ID for a chain) is required when "
                "ALTEGIO_PARTNER_TOKEN is set"
            )
        # A chain without a location named: its first location, read at start.
        company_id = 0 if partner and not company_text else SANDBOX_COMPANY_ID
        if company_text:
            if not company_text.isdigit() or int(company_text) <= 0:
                raise SettingsError(
                    f"ALTEGIO_COMPANY_ID must be a positive whole number, not {company_text!r}"
                )
            company_id = int(company_text)
        raw_language = get("BOT_DEFAULT_LANGUAGE", "en")
        language = normalize_language(raw_language)
        if language is None:
            raise SettingsError(
                f"BOT_DEFAULT_LANGUAGE must be one of {', '.join(SHIPPED_LANGUAGES)}, "
                f"not {raw_language!r}"
            )
        messages_dir = get("BOT_MESSAGES_DIR")
        if messages_dir and not Path(messages_dir).is_dir():
            raise SettingsError(f"BOT_MESSAGES_DIR is not a directory: {messages_dir!r}")
        base_urls = {}
        for name, default in (
            ("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot"),
            ("TELEGRAM_API_BASE_FILE_URL", "https://api.telegram.org/file/bot"),
            ("ALTEGIO_BASE_URL", DEFAULT_BASE_URL),
        ):
            url = get(name, default)
            if not url.startswith(("http://", "https://")):
                raise SettingsError(f"{name} must start with http:// or https://, not {url!r}")
            base_urls[name] = url
        level = get("LOG_LEVEL", "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
        log_format = get("LOG_FORMAT", "plain").lower()
        if log_format not in ("plain", "json"):
            raise SettingsError(f"LOG_FORMAT must be plain or json, not {log_format!r}")
        try:
            offsets = parse_offsets(get("REMINDER_OFFSETS", "24h,2h"))
        except ValueError as exc:
            raise SettingsError(f"REMINDER_OFFSETS: {exc}") from exc
        try:
            quiet = parse_quiet_hours(values.get("QUIET_HOURS", "22:00-08:00").strip())
        except ValueError as exc:
            raise SettingsError(f"QUIET_HOURS: {exc}") from exc
        notify = {
            name: _notify_hours(name, get(name))
            for name in ("ALTEGIO_NOTIFY_BY_SMS", "ALTEGIO_NOTIFY_BY_EMAIL")
        }
        admin_text = get("ADMIN_CHAT_ID")
        admin: int | None = None
        if admin_text:
            try:
                admin = int(admin_text)
            except ValueError:
                raise SettingsError(
                    f"ADMIN_CHAT_ID must be a chat id such as 123456789, not {admin_text!r}"
                ) from None
        webhook = _webhook(get("WEBHOOK_URL"), get("WEBHOOK_LISTEN", "0.0.0.0:8080"), get)
        user_token = get("ALTEGIO_USER_TOKEN") or None
        if user_token is not None and not _USER_TOKEN.match(user_token):
            # The value itself is not repeated: it is a secret.
            raise SettingsError(
                "ALTEGIO_USER_TOKEN must be the token alone, without spaces or commas"
            )
        if tenants_file and not Path(tenants_file).is_file():
            raise SettingsError(f"BOT_TENANTS_FILE is not a file: {tenants_file!r}")
        data_dir = get("BOT_DATA_DIR")
        database = _database(get)
        return cls(
            database_url=database[0],
            database_schema=database[1],
            altegio_egress=database[2],
            replicas=database[3],
            tenants_file=Path(tenants_file) if tenants_file else None,
            data_dir=Path(data_dir) if data_dir else None,
            altegio_user_token=user_token,
            webhook_url=webhook[0],
            webhook_listen=webhook[1],
            webhook_secret=webhook[2],
            telegram_bot_token=token,
            telegram_api_base_url=base_urls["TELEGRAM_API_BASE_URL"],
            telegram_api_base_file_url=base_urls["TELEGRAM_API_BASE_FILE_URL"],
            altegio_base_url=base_urls["ALTEGIO_BASE_URL"],
            altegio_partner_token=partner or None,
            altegio_company_id=company_id,
            altegio_group_id=group_id,
            db_path=Path(get("BOT_DB_PATH", "altegio-bot.sqlite3")),
            default_language=language,
            log_level=level,
            log_format=log_format,
            reminder_offsets=offsets,
            quiet_hours=quiet,
            admin_chat_id=admin,
            messages_dir=Path(messages_dir) if messages_dir else None,
            notify_by_sms=notify["ALTEGIO_NOTIFY_BY_SMS"],
            notify_by_email=notify["ALTEGIO_NOTIFY_BY_EMAIL"],
        )


_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_EGRESS = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def _database(get: Callable[[str, str], str]) -> tuple[str | None, str, str, int]:
    """`DATABASE_URL` (postgresql://), `DATABASE_SCHEMA`, `ALTEGIO_EGRESS` and `BOT_REPLICAS`."""
    url = get("DATABASE_URL", "") or None
    if url is not None and urlsplit(url).scheme not in ("postgresql", "postgres"):
        # The value is not repeated: it may hold a password.
        raise SettingsError(
            "DATABASE_URL must be a PostgreSQL address such as "
            "postgresql://user:password@host:5432/dbname (or leave it unset for SQLite)"
        )
    schema = get("DATABASE_SCHEMA", "altegio_bot")
    if not _SCHEMA.match(schema):
        raise SettingsError(
            f"DATABASE_SCHEMA must be 1 to 63 of a-z, 0-9 and _ (not starting with a digit), "
            f"not {schema!r}"
        )
    egress = get("ALTEGIO_EGRESS", "default")
    if not _EGRESS.match(egress):
        raise SettingsError(
            f"ALTEGIO_EGRESS must name the address Altegio sees (letters, digits, . : _ -), "
            f"not {egress!r}"
        )
    replicas = get("BOT_REPLICAS", "2")
    if not replicas.isdigit() or not 1 <= int(replicas) <= 100:
        raise SettingsError(f"BOT_REPLICAS must be a whole number from 1 to 100, not {replicas!r}")
    return url, schema, egress, int(replicas)


_USER_TOKEN = re.compile(r"^[^\s,\"']{6,512}$")


def _webhook(
    url: str, listen: str, get: Callable[[str], str]
) -> tuple[str | None, tuple[str, int], str | None]:
    """`WEBHOOK_URL` (https), `WEBHOOK_LISTEN` (host:port) and `WEBHOOK_SECRET` checked."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(
            f"WEBHOOK_LISTEN must be host:port such as 0.0.0.0:8080, not {listen!r}"
        )
    secret = get("WEBHOOK_SECRET") or None
    if secret is not None and not _SECRET.match(secret):
        raise SettingsError(
            "WEBHOOK_SECRET may hold only letters A-Z and a-z, digits, _ and -, 1 to 256 of them"
        )
    if not url:
        return None, (host.strip("[]"), int(port)), secret
    if not url.startswith("https://") or len(url) <= len("https://"):
        raise SettingsError(f"WEBHOOK_URL must be an https:// address, not {url!r}")
    if urlsplit(url).path in ("/healthz", "/metrics"):
        raise SettingsError("WEBHOOK_URL's path must not be /healthz or /metrics")
    if secret is None:
        raise SettingsError(
            "WEBHOOK_SECRET is required with WEBHOOK_URL: Telegram sends it back with every "
            "update, so nobody else can post updates to the bot"
        )
    return url, (host.strip("[]"), int(port)), secret


def _notify_hours(name: str, text: str) -> int | None:
    """`salon` (or nothing): as the salon set it up in Altegio; `off`: none; or hours before."""
    value = text.strip().lower().removesuffix("h")
    if value in ("", "salon"):
        return None
    if value in ("off", "0", "none", "no"):
        return 0
    if value.isdigit() and 1 <= int(value) <= 720:
        return int(value)
    raise SettingsError(
        f"{name} must be salon (leave the salon's own reminders as set up in Altegio), off, or "
        f"the hours before the visit such as 24, not {text!r}"
    )


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=value` lines; `#` comments, blank lines, `export` and surrounding quotes allowed."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text or text.startswith("#") or "=" not in text:
            continue
        key, _, value = text.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[key.strip()] = value
    return values
