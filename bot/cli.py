"""`altegio-bot run | chat | sandbox | doctor | backup | admin-code | links`: the bot on
Telegram, in a terminal, the demo location, a check of what the bot needs, a copy of its
database, a code that makes a chat an admin chat, or the links that open a service or a team
member in the bot."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from bot.app import OFFLINE_TOKEN, build_application, build_services, utc_now
from bot.chain import settle_home
from bot.context import BotApplication
from bot.database_commands import admin_code, backup_database, copy_to_postgres
from bot.i18n import CatalogError
from bot.logs import setup_logging
from bot.services import Services
from bot.settings import Settings, SettingsError
from bot.storage import StorageError
from bot.tenants import pick
from bot.tenants import secrets as tenant_secrets

# The stand-ins (`standins`: the sandbox location, the in-process Bot API) are imported inside
# the commands that use them, so `run` with a partner token never loads them.

log = logging.getLogger("bot")


def sandbox_notice(settings: Settings) -> str:
    from standins.altegio.seed import SANDBOX_SMS_COMPANY_ID

    if settings.altegio_group_id is not None:
        return (
            "ALTEGIO_PARTNER_TOKEN is not set: using the embedded sandbox chain "
            f"{settings.altegio_group_id} (clients choose a location; 100 has 1001, 1002 and "
            "1004). Nothing is booked in a real salon. Set ALTEGIO_PARTNER_TOKEN and "
            "ALTEGIO_GROUP_ID to use your Altegio chain."
        )
    kind = "with" if settings.altegio_company_id == SANDBOX_SMS_COMPANY_ID else "without"
    return (
        "ALTEGIO_PARTNER_TOKEN is not set: using the embedded sandbox location "
        f"{settings.altegio_company_id} ({kind} SMS confirmation). Nothing is booked in a real "
        "salon. Set ALTEGIO_PARTNER_TOKEN and ALTEGIO_COMPANY_ID to use your Altegio location."
    )


def sandbox_transport(
    on_sms: Callable[[int, str, str], None] | None = None,
) -> httpx.AsyncBaseTransport:
    """The sandbox location, in process."""
    from standins.altegio.sandbox import Sandbox

    return Sandbox(utc_now, on_sms=on_sms).transport()


def build_for_run(settings: Settings) -> tuple[Services, BotApplication]:
    """What `run` polls with, built but not started; the sandbox location is loaded only when
    no partner token is set."""
    token = settings.require_telegram_token()
    transport = sandbox_transport() if settings.sandbox else None
    services = build_services(settings, altegio_transport=transport)
    return services, build_application(services, token=token)


def run(settings: Settings) -> int:
    """The Telegram bot: long polling, or Telegram's webhook when `WEBHOOK_URL` is set; with
    `/healthz` and `/metrics` on `WEBHOOK_LISTEN` either way."""
    services, application = build_for_run(settings)
    if settings.sandbox:
        log.warning(sandbox_notice(settings))
    log.info(
        "starting: Altegio location %s%s, database %s",
        settings.altegio_company_id,
        f" of chain {settings.altegio_group_id}" if settings.altegio_group_id else "",
        settings.db_path,
    )
    from bot.web import serve

    async def until_stopped() -> None:
        # SIGTERM and SIGINT stop taking updates, finish those under way and write the state.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve(application, stop)

    try:
        asyncio.run(until_stopped())
    finally:
        services.storage.close()
    return 0


async def chat(settings: Settings, language: str | None) -> int:
    """The same conversation in the terminal, through the in-process Bot API stand-in."""
    from standins.telegram.bot_api import BotApiStub
    from standins.telegram.terminal import act, print_changes
    from standins.telegram.users import StubUser

    stub = BotApiStub()
    transport = sandbox_transport(on_sms=_print_sms) if settings.sandbox else None
    services = build_services(settings, altegio_transport=transport)
    application = build_application(services, token=OFFLINE_TOKEN, request=stub)
    if settings.sandbox:
        print(sandbox_notice(settings), "\n")
    print("Type a message, or a button's number to tap it. /quit leaves.\n")
    name = os.environ.get("USER", "").capitalize() or "Guest"
    user = StubUser(
        stub,
        application,
        user_id=424242,
        first_name=name,
        language_code=language or settings.default_language,
        phone_number="+4915123456789",
    )
    await application.initialize()
    await application.start()
    try:
        mark = stub.mark()
        await user.send("/start")
        print_changes(stub.changes_since(mark, user.chat_id), user)
        while True:
            try:
                line = (await asyncio.to_thread(input, "> ")).strip()
            except (EOFError, KeyboardInterrupt):
                break
            if line in ("/quit", "/exit"):
                break
            if not line:
                continue
            mark = stub.mark()
            await act(user, line)
            print_changes(stub.changes_since(mark, user.chat_id), user)
    finally:
        await application.stop()
        await application.shutdown()
        services.storage.close()
    return 0


def _print_sms(company_id: int, phone: str, code: str) -> None:
    print(f"\n  [SMS to {phone}: your confirmation code is {code}]\n")


def serve_sandbox(host: str, port: int) -> int:
    from standins.altegio.sandbox import Sandbox
    from standins.altegio.seed import SANDBOX_COMPANY_ID, SANDBOX_SMS_COMPANY_ID
    from standins.altegio.server import make_server

    server = make_server(Sandbox(utc_now), host, port)
    print(
        f"Sandbox Altegio API on http://{host}:{server.server_port}/api "
        f"(locations {SANDBOX_COMPANY_ID} and {SANDBOX_SMS_COMPANY_ID}, "
        "partner token sandbox-partner-token). Ctrl+C stops it."
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _sandbox_for_all() -> Callable[[Settings], httpx.AsyncBaseTransport | None]:
    """One sandbox for every tenant without a partner token, as one Altegio serves them all."""
    shared: list[httpx.AsyncBaseTransport] = []

    def transport(settings: Settings) -> httpx.AsyncBaseTransport | None:
        if not settings.sandbox:
            return None
        if not shared:
            shared.append(sandbox_transport())
        return shared[0]

    return transport


def log_secrets(settings: Settings) -> list[str]:
    """What no log line may show: the tokens, the webhook secret and the secret path Altegio
    posts to."""
    values = (
        settings.telegram_bot_token,
        settings.altegio_partner_token,
        settings.webhook_secret,
        settings.altegio_user_token,
        settings.altegio_hook_path,
        *settings.database_secrets,
    )
    return [v for v in values if v]


def doctor() -> int:
    """Each outside thing the bot needs, checked in turn: one line each, exit status 0 when
    everything needed works (warnings allowed)."""
    from bot import tenant_commands
    from bot.doctor import Check, Mark, all_passed, diagnose

    tenants_file = None
    secrets: list[str] = []
    try:
        settings = Settings.load()
        secrets = log_secrets(settings)
        tenants_file = settings.tenants_file
        if tenants_file is not None:
            secrets += tenant_secrets(tenant_commands.load(settings))
    except (OSError, ValueError):
        pass  # doctor reports the setting itself
    setup_logging("ERROR", secrets)

    def transport(settings: Settings) -> httpx.AsyncBaseTransport | None:
        return sandbox_transport() if settings.sandbox else None

    report: list[tuple[str | None, list[Check]]]
    if tenants_file is None:
        report = [(None, asyncio.run(diagnose(altegio_transport=transport)))]
    else:
        report = asyncio.run(tenant_commands.diagnose(altegio_transport=transport))
    checks = [check for _, section in report for check in section]
    width = max(len(check.thing) for check in checks)
    for name, section in report:
        if name is not None:
            print(f"\n{name}")
        for check in section:
            print(f"{check.mark.value} {check.thing.ljust(width)}  {check.found}")
    failed = sum(check.mark is Mark.FAIL for check in checks)
    bots = "every bot" if tenants_file is not None else "the bot"
    if all_passed(checks):
        print(f"\nEverything {bots} needs works.")
        return 0
    print(f"\n{failed} to fix (marked ✗) before {bots} can run.")
    return 1


def links(settings: Settings, qr: Path | None) -> int:
    """The deep link of every bookable category, service and team member, with QR codes."""
    from bot.altegio import errors
    from bot.link_sheet import link_sheet, qr_files, render

    transport = sandbox_transport() if settings.sandbox else None
    try:
        sheet = asyncio.run(link_sheet(settings, altegio_transport=transport))
    except errors.AltegioError as exc:
        print(f"altegio-bot: Altegio did not list what is bookable ({exc})", file=sys.stderr)
        return 1
    print(render(sheet))
    if qr is not None:
        written = qr_files(sheet, qr)
        print(f"\n{len(written)} QR codes written to {qr.resolve()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="altegio-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the Telegram bot (long polling or webhook)")
    chat_parser = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat_parser.add_argument("--language", help="the client's language code, e.g. ru")
    admin_parser = commands.add_parser(
        "admin-code", help="print a one-time code that makes a chat an admin chat"
    )
    serve = commands.add_parser("sandbox", help="serve the sandbox location over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8099)
    commands.add_parser("doctor", help="check the settings, Telegram, Altegio and the database")
    copy = commands.add_parser(
        "backup", help="copy the database (BOT_DB_PATH) to PATH, safe while the bot runs"
    )
    copy.add_argument("path", type=Path, help="where the copy goes")
    copy.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    link_parser = commands.add_parser(
        "links", help="print the link that opens each bookable service and team member"
    )
    link_parser.add_argument("--qr", type=Path, metavar="DIR", help="write a QR code PNG of each")
    move = commands.add_parser(
        "copy-to-postgres", help="copy the SQLite database (BOT_DB_PATH) into DATABASE_URL"
    )
    for one_bot in (chat_parser, admin_parser, copy, link_parser, move):
        one_bot.add_argument(
            "--tenant", metavar="NAME", help="the bot of BOT_TENANTS_FILE to work on"
        )
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return doctor()
    try:
        settings = Settings.load()
        secrets = log_secrets(settings)
        tenants = None
        if settings.tenants_file is not None:
            from bot import tenant_commands

            tenants = tenant_commands.load(settings)
            secrets += tenant_secrets(tenants)
        level = settings.log_level if args.command != "chat" else "WARNING"
        setup_logging(level, secrets, settings.log_format)
        if tenants is not None and args.command == "run":
            return tenant_commands.run(settings, tenants, _sandbox_for_all())
        if getattr(args, "tenant", None) is not None and tenants is None:
            raise SettingsError("--tenant needs BOT_TENANTS_FILE: set it to the tenants file")
        if tenants is not None and args.command != "sandbox":
            settings = pick(tenants, args.tenant).settings
        if args.command in ("run", "chat", "links"):
            # A chain named without a location: its first location, read now.
            settings = asyncio.run(settle_home(settings))
        if args.command == "run":
            return run(settings)
        if args.command == "admin-code":
            return admin_code(settings)
        if args.command == "copy-to-postgres":
            return copy_to_postgres(settings)
        if args.command == "chat":
            return asyncio.run(chat(settings, args.language))
        if args.command == "backup":
            return backup_database(settings, args.path, args.force)
        if args.command == "links":
            return links(settings, args.qr)
        return serve_sandbox(args.host, args.port)
    except (SettingsError, StorageError, CatalogError) as exc:
        print(f"altegio-bot: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
