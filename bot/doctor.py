"""`altegio-bot doctor`: each outside thing the bot needs, checked in turn.

Plain functions returning a `Check` each (the CLI prints them). The outside worlds come through
seams: an httpx transport for Altegio and a PTB `BaseRequest` for Telegram. Nothing here takes
the bot's lock or writes the bot's database, so it runs beside a running bot; no secret is put
into a check's words.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from telegram import Bot, User, WebhookInfo
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import BaseRequest, HTTPXRequest

from bot.doctor_altegio import check_altegio, check_chain
from bot.doctor_marks import Check, Mark, all_passed, fail, ok, warn
from bot.doctor_postgres import check_postgres
from bot.i18n import SHIPPED_LANGUAGES, CatalogError, Catalogs
from bot.settings import Settings, SettingsError

__all__ = ["Check", "Mark", "all_passed", "check_altegio", "check_database", "diagnose"]

# Below this much free space on the database's filesystem, a warning.
LOW_DISK_BYTES = 100 * 1024 * 1024


def check_settings(
    env: Mapping[str, str] | None = None, env_file: Path | None = None
) -> tuple[Settings | None, Check]:
    try:
        settings = Settings.load(env, env_file)
    except SettingsError as exc:
        return None, fail("Settings", f"{exc}")
    except (OSError, ValueError) as exc:  # a .env that cannot be read
        return None, fail("Settings", f".env cannot be read ({exc}): fix or remove it")
    path = env_file if env_file is not None else Path(".env")
    where = f"the environment and {path}" if path.is_file() else "the environment"
    return settings, ok("Settings", f"read from {where}")


async def diagnose(
    env: Mapping[str, str] | None = None,
    env_file: Path | None = None,
    *,
    telegram_request: BaseRequest | None = None,
    altegio_transport: Callable[[Settings], httpx.AsyncBaseTransport | None] | None = None,
) -> list[Check]:
    """Every check, in order; a bad setting ends the list, as the rest needs the settings.

    `altegio_transport` gives the transport for the settings read (None: the network). With no
    partner token it must give the sandbox location's: the caller loads it, as the core never
    imports a stand-in."""
    settings, first = check_settings(env, env_file)
    if settings is None:
        return [first]
    return [first, *await check_bot(settings, telegram_request, altegio_transport)]


async def check_bot(
    settings: Settings,
    telegram_request: BaseRequest | None = None,
    altegio_transport: Callable[[Settings], httpx.AsyncBaseTransport | None] | None = None,
) -> list[Check]:
    """What one bot needs, its settings read: Telegram, Altegio, its database, its wording
    (for one bot, or each tenant of `BOT_TENANTS_FILE`)."""
    checks = [await check_telegram(settings, telegram_request)]
    if settings.webhook_url is not None:
        checks.append(await check_webhook(settings, settings.webhook_url, telegram_request))
    transport = altegio_transport(settings) if altegio_transport is not None else None
    if settings.altegio_group_id is not None:
        found, settings = await check_chain(settings, transport)  # the home location known
        checks.extend(found)
    else:
        checks.extend(await check_altegio(settings, transport))
    checks.extend(check_database(settings))
    checks.append(check_messages(settings))
    return checks


# --- Telegram --------------------------------------------------------------------------------


def _bot(settings: Settings, token: str, request: BaseRequest) -> Bot:
    return Bot(
        token,
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_api_base_file_url,
        request=request,
        get_updates_request=request,
    )


async def _ask_telegram(
    settings: Settings, token: str, request: BaseRequest | None, method: str
) -> Any:
    """One Bot API call, without `Bot.initialize` (which words a refusal with the token in)."""
    own = request is None
    used = HTTPXRequest(connect_timeout=10.0, read_timeout=15.0) if request is None else request
    bot = _bot(settings, token, used)
    try:
        await used.initialize()
        return await getattr(bot, method)()
    finally:
        if own:
            await used.shutdown()


def _telegram_failure(settings: Settings, exc: TelegramError) -> str:
    where = settings.telegram_api_base_url
    if isinstance(exc, InvalidToken) and "not found" in str(exc).lower():
        return (
            f"{where} answered Not Found: TELEGRAM_API_BASE_URL should be the Bot API root "
            "(https://api.telegram.org/bot, or your own Bot API server's …/bot)"
        )
    if isinstance(exc, InvalidToken):
        return (
            "TELEGRAM_BOT_TOKEN is not accepted by Telegram (Unauthorized): copy the bot's "
            "current token from @BotFather (/mybots → the bot → API Token); a revoked token "
            "stops working at once"
        )
    if isinstance(exc, NetworkError):
        return (
            f"Telegram cannot be reached at {where}: check the network, a proxy or firewall, "
            "and TELEGRAM_API_BASE_URL"
        )
    return f"Telegram refused getMe ({type(exc).__name__}): check TELEGRAM_API_BASE_URL"


async def check_telegram(settings: Settings, request: BaseRequest | None = None) -> Check:
    """The token, through getMe at the configured Bot API root."""
    thing = "Telegram"
    token = settings.telegram_bot_token
    if not token:
        return fail(
            thing,
            "TELEGRAM_BOT_TOKEN is not set: ask @BotFather for a token and put it in the "
            "environment or in .env",
        )
    try:
        me: User = await _ask_telegram(settings, token, request, "get_me")
    except TelegramError as exc:
        return fail(thing, _telegram_failure(settings, exc))
    return ok(thing, f"the token is accepted: @{me.username} ({me.first_name})")


# Until `Settings` carries the webhook settings, WEBHOOK_URL is read here from the same places
# (the environment over `.env`).
async def check_webhook(settings: Settings, url: str, request: BaseRequest | None = None) -> Check:
    """WEBHOOK_URL is an https:// address; where Telegram holds another, say so."""
    thing = "Webhook"
    token = settings.telegram_bot_token
    shown = url.replace(token, "<token>") if token else url  # a token in the path stays unsaid
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return fail(
            thing,
            f"WEBHOOK_URL must be an https:// address Telegram can reach, not {shown!r}",
        )
    if not token:
        return ok(thing, f"WEBHOOK_URL is {shown}")
    try:
        info: WebhookInfo = await _ask_telegram(settings, token, request, "get_webhook_info")
    except TelegramError:
        return warn(thing, f"WEBHOOK_URL is {shown}; Telegram's own setting could not be read")
    if info.url == url:
        found = f"WEBHOOK_URL is {shown}, as Telegram has it"
        if info.last_error_message:
            return warn(
                thing, f"{found}; Telegram's last delivery failed: {info.last_error_message}"
            )
        return ok(thing, found)
    if not info.url:
        return ok(thing, f"WEBHOOK_URL is {shown}; the bot gives it to Telegram at start")
    held = info.url.replace(token, "<token>")
    return warn(
        thing, f"WEBHOOK_URL is {shown}; Telegram has {held} until the bot sets it at start"
    )


# --- the database ----------------------------------------------------------------------------


def check_database(settings: Settings, low_space: int = LOW_DISK_BYTES) -> list[Check]:
    """The folder is there (or can be made) and writable, the file opens read-only and is this
    location's, and there is room on the disk. The bot's lock is not taken. With DATABASE_URL,
    PostgreSQL reached and its schema this location's (`bot/doctor_postgres.py`)."""
    if settings.database_url:
        return [check_postgres(settings)]
    path = settings.db_path
    thing = "Database"
    folder = path.parent if str(path.parent) else Path(".")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return [
            fail(
                thing,
                f"BOT_DB_PATH {path}: {existing} is not a folder: point BOT_DB_PATH into a "
                "folder the bot may write",
            )
        ]
    problem = _unwritable(existing)
    if problem is not None:
        return [
            fail(
                thing,
                f"BOT_DB_PATH {path}: the folder {existing} is not writable ({problem}): give "
                "the bot's user write access to it, or point BOT_DB_PATH elsewhere",
            )
        ]
    checks = [_database_file(settings, path, folder, existing)]
    checks.append(_free_space(existing, low_space))
    return checks


def _unwritable(folder: Path) -> str | None:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".altegio-bot-doctor-"):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def _database_file(settings: Settings, path: Path, folder: Path, existing: Path) -> Check:
    thing = "Database"
    group = settings.altegio_group_id
    whose = f" for chain {group}" if group is not None else ""
    if existing != folder:
        return ok(thing, f"{path} will be created at start{whose} (with its folder {folder})")
    if not path.exists():
        return ok(thing, f"{path} will be created at start{whose}; the folder is writable")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            kept: dict[str, str] = {}
            if "meta" in tables:
                kept = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            owner = kept.get("company_id")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return fail(
            thing,
            f"{path} cannot be opened ({exc}): it is not the bot's database, or it is damaged; "
            "point BOT_DB_PATH at another file, or restore it from a backup",
        )
    company_id = settings.altegio_company_id
    if settings.altegio_group_id is not None or kept.get("group_id") is not None:
        return _chain_file(settings, path, kept)
    if owner is not None and owner != str(company_id):
        return fail(
            thing,
            f"{path} holds the data of Altegio location {owner}, not of location {company_id}: "
            "give each location a BOT_DB_PATH of its own",
        )
    whose = f"belongs to location {company_id}" if owner is not None else "belongs to none yet"
    return ok(thing, f"{path} opens and {whose}; the folder is writable")


def _chain_file(settings: Settings, path: Path, kept: dict[str, str]) -> Check:
    """A chain's file (`ALTEGIO_GROUP_ID`, or a file a chain's bot has bound): the start's
    own rule (`Storage.bind`) said before the start."""
    thing = "Database"
    group, chain, owner = settings.altegio_group_id, kept.get("group_id"), kept.get("company_id")
    if group is None:
        return fail(
            thing,
            f"{path} holds the data of the Altegio chain {chain}: set ALTEGIO_GROUP_ID={chain}, "
            f"or give location {settings.altegio_company_id} a BOT_DB_PATH of its own",
        )
    if chain is not None and chain != str(group):
        return fail(
            thing,
            f"{path} holds the data of the Altegio chain {chain}, not of chain {group}: give "
            "each chain a BOT_DB_PATH of its own",
        )
    if chain is not None:
        whose = f"belongs to chain {group}"
    elif owner is not None:
        whose = f"holds location {owner}'s data, which becomes chain {group}'s at start"
    else:
        whose = f"belongs to none yet (chain {group}'s from the start)"
    return ok(thing, f"{path} opens and {whose}; the folder is writable")


def _free_space(folder: Path, low_space: int) -> Check:
    free = shutil.disk_usage(folder).free
    amount = f"{free / 1024 / 1024:,.0f} MB free where the database lives"
    if free < low_space:
        return warn("Disk space", f"only {amount}: free some space, or SQLite writes will fail")
    return ok("Disk space", amount)


# --- the salon's wording ---------------------------------------------------------------------


def check_messages(settings: Settings) -> Check:
    """The salon's own `.po` files (BOT_MESSAGES_DIR) load and their placeholders match."""
    thing = "Message overrides"
    folder = settings.messages_dir
    if folder is None:
        return ok(thing, "none (BOT_MESSAGES_DIR is not set): the shipped wording is used")
    try:
        Catalogs(SHIPPED_LANGUAGES, settings.default_language, overrides=folder)
    except CatalogError as exc:
        return fail(thing, f"{exc}: fix that message, or remove it from the file")
    found = [
        language
        for language in SHIPPED_LANGUAGES
        if (folder / f"{language}.po").is_file()
        or (folder / language / "LC_MESSAGES" / "messages.po").is_file()
    ]
    if not found:
        return warn(
            thing,
            f"{folder} has no <language>.po or <language>/LC_MESSAGES/messages.po for "
            f"{', '.join(SHIPPED_LANGUAGES)}: nothing is changed",
        )
    return ok(thing, f"{folder}: {', '.join(found)} load, placeholders match")
