"""`altegio-bot doctor`: each outside thing the bot needs, checked in turn.

Plain functions returning a `Check` each (the CLI prints them). The outside worlds come through
seams: an httpx transport for Altegio and a PTB `BaseRequest` for Telegram. Nothing here takes
the bot's lock or writes the bot's database, so it runs beside a running bot; no secret is put
into a check's words.
"""

from __future__ import annotations

import enum
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from telegram import Bot, User, WebhookInfo
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import BaseRequest, HTTPXRequest

from bot.altegio import errors
from bot.altegio.client import AltegioClient
from bot.i18n import SHIPPED_LANGUAGES, CatalogError, Catalogs
from bot.settings import Settings, SettingsError
from bot.workflows import hook_subscription

# Below this much free space on the database's filesystem, a warning.
LOW_DISK_BYTES = 100 * 1024 * 1024


class Mark(enum.Enum):
    OK = "✓"
    FAIL = "✗"
    WARN = "!"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: the thing checked, and what was found or what is wrong (and the
    fix)."""

    mark: Mark
    thing: str
    found: str

    @property
    def passed(self) -> bool:
        """A warning passes: the bot works, something deserves a look."""
        return self.mark is not Mark.FAIL


def ok(thing: str, found: str) -> Check:
    return Check(Mark.OK, thing, found)


def fail(thing: str, found: str) -> Check:
    return Check(Mark.FAIL, thing, found)


def warn(thing: str, found: str) -> Check:
    return Check(Mark.WARN, thing, found)


def all_passed(checks: list[Check]) -> bool:
    return all(check.passed for check in checks)


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
    checks = [first, await check_telegram(settings, telegram_request)]
    if settings.webhook_url is not None:
        checks.append(await check_webhook(settings, settings.webhook_url, telegram_request))
    transport = altegio_transport(settings) if altegio_transport is not None else None
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


# --- Altegio ---------------------------------------------------------------------------------


async def check_altegio(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> list[Check]:
    """The partner token and the location (`company`), then what can be booked online."""
    thing = "Altegio location"
    client = AltegioClient(
        partner_token=settings.partner_token,
        company_id=settings.altegio_company_id,
        base_url=settings.altegio_base_url,
        transport=transport,
        timeout=httpx.Timeout(15.0),
        max_attempts=1,
    )
    company_id = settings.altegio_company_id
    try:
        try:
            company = await client.company()
        except errors.AltegioError as exc:
            return [fail(thing, _altegio_failure(settings, exc))]
        sms = "confirms bookings by SMS code" if company.phone_confirmation else "no SMS code"
        found = f"{company.title} (location {company_id}), timezone {company.timezone}, {sms}"
        if settings.sandbox:
            found += (
                "; ALTEGIO_PARTNER_TOKEN is not set, so this is the embedded sandbox location "
                "(nothing real is booked)"
            )
        checks = [ok(thing, found)]
        try:
            services = (await client.catalogue()).services
            staff = [m for m in await client.staff([]) if m.bookable]
        except errors.AltegioError as exc:
            return [*checks, fail("Online booking", _altegio_failure(settings, exc))]
        counts = f"{len(services)} services and {len(staff)} team members bookable online"
        if not services or not staff:
            checks.append(
                fail(
                    "Online booking",
                    f"{counts}: nothing can be booked; turn on online booking for services and "
                    "team members in Altegio",
                )
            )
        else:
            checks.append(ok("Online booking", counts))
        if settings.altegio_user_token:
            fine, found = await hook_subscription.status_line(client, settings)
            checks.append((ok if fine else warn)("Altegio webhooks", found))
        return checks
    finally:
        await client.aclose()


def _altegio_failure(settings: Settings, exc: errors.AltegioError) -> str:
    company_id = settings.altegio_company_id
    where = settings.altegio_base_url
    if isinstance(exc, errors.AuthError):
        status = "HTTP 403" if "403" in str(exc) else "HTTP 401"
        return (
            f"ALTEGIO_PARTNER_TOKEN is not accepted by Altegio for location {company_id} "
            f"({status}): copy the API key from your Altegio Marketplace developer account, "
            "and make sure the location has your application connected"
        )
    if isinstance(exc, errors.NotFound) and exc.from_altegio:
        sandbox = " (the sandbox has 1001, 1002, 1003 and 1004)" if settings.sandbox else ""
        return (
            f"Altegio knows no location {company_id}: set ALTEGIO_COMPANY_ID to the salon's "
            f"location id{sandbox}"
        )
    if isinstance(exc, errors.NotFound | errors.ForeignAnswer):
        return (
            f"something other than Altegio answered at {where}: check ALTEGIO_BASE_URL "
            "(https://api.alteg.io/api) and any proxy on the way"
        )
    if isinstance(exc, errors.RateLimited):
        return "Altegio asks to slow down just now: run doctor again in a minute"
    if isinstance(exc, errors.Unavailable):
        return (
            f"Altegio cannot be reached at {where}: check the network and ALTEGIO_BASE_URL, "
            "then run doctor again"
        )
    return f"Altegio answered unexpectedly ({type(exc).__name__}): check ALTEGIO_BASE_URL"


# --- the database ----------------------------------------------------------------------------


def check_database(settings: Settings, low_space: int = LOW_DISK_BYTES) -> list[Check]:
    """The folder is there (or can be made) and writable, the file opens read-only and is this
    location's, and there is room on the disk. The bot's lock is not taken."""
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
    if existing != folder:
        return ok(thing, f"{path} will be created at start (with its folder {folder})")
    if not path.exists():
        return ok(thing, f"{path} will be created at start; the folder is writable")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            owner = None
            if "meta" in tables:
                row = conn.execute("SELECT value FROM meta WHERE key = 'company_id'").fetchone()
                owner = row[0] if row else None
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return fail(
            thing,
            f"{path} cannot be opened ({exc}): it is not the bot's database, or it is damaged; "
            "point BOT_DB_PATH at another file, or restore it from a backup",
        )
    company_id = settings.altegio_company_id
    if owner is not None and owner != str(company_id):
        return fail(
            thing,
            f"{path} holds the data of Altegio location {owner}, not of location {company_id}: "
            "give each location a BOT_DB_PATH of its own",
        )
    whose = f"belongs to location {company_id}" if owner is not None else "belongs to none yet"
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
