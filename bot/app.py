"""The composition root: builds the PTB `Application` from `Settings` and the services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from telegram import BotCommand, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import update_inbox
from bot.altegio.client import AltegioClient
from bot.altegio.models import Facts
from bot.altegio.shared_limiter import SharedLimiter, make_limiter
from bot.chat_locks import PgChatLocks
from bot.context import BotApplication, Context
from bot.holds import Holds
from bot.i18n import SHIPPED_LANGUAGES, Catalogs
from bot.limits import CodeGuard, FloodGuard
from bot.metrics import Metrics
from bot.persistence import SqlitePersistence
from bot.queue_note import queue_note
from bot.replica_state import refresher, turn_ender
from bot.services import Locations, Services
from bot.settings import Settings
from bot.shared_guards import SharedGuards
from bot.storage import Storage, StorageUnavailable
from bot.updates import PerChatUpdateProcessor
from bot.user_state import UserData
from conversations import (
    admin_chats,
    appointments,
    booking,
    fallbacks,
    guards,
    language,
    listing,
    locations,
    privacy,
    reminders,
    salon_news,
    waiting_list,
)

log = logging.getLogger(__name__)

# PTB insists on a token even when every request goes to an in-process stand-in.
OFFLINE_TOKEN = "123456789:offline-stand-in-token-0000000000"


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_services(
    settings: Settings,
    *,
    altegio_transport: httpx.AsyncBaseTransport | None = None,
    storage: Storage | None = None,
    clock: Callable[[], datetime] = utc_now,
    **client_options: object,
) -> Services:
    """The outside worlds the handlers use. With no partner token, Altegio is the sandbox
    location: the caller passes its transport (the CLI loads it; the core never does)."""
    transport = altegio_transport
    if transport is None and settings.sandbox:
        raise ValueError(
            "ALTEGIO_PARTNER_TOKEN is not set: pass the sandbox location's transport "
            "(standins.altegio.sandbox.Sandbox().transport())"
        )
    if storage is None:
        storage = (
            Storage.open_url(settings.database_url, settings.database_schema)
            if settings.database_url
            else Storage.open(settings.db_path)
        )
    company_id = settings.altegio_company_id
    if not company_id:
        raise ValueError("a chain's first location is read at start: bot.chain.settle_home")
    storage.bind(company_id, settings.altegio_group_id)

    client_options.setdefault("clock", clock)
    if settings.database_url and "limiter" not in client_options:
        # Every process with this database shares the address's Altegio budget.
        client_options["limiter"] = make_limiter(
            settings.database_url, egress=settings.altegio_egress, replicas=settings.replicas
        )
    metrics = Metrics()
    # Replicas of one bot share its PostgreSQL schema, and so their guards; one process on
    # SQLite keeps them in memory, at no cost per update.
    guards = SharedGuards(storage, lambda: clock().timestamp()) if _shared(storage) else None

    def client_at(location: int, **shared: object) -> AltegioClient:
        def keep_facts(facts: Facts) -> None:
            storage.save_location_facts(location, facts.as_json())

        if guards is not None:
            shared = {"breaker": guards.breaker(location), **shared}
        client = AltegioClient(
            partner_token=settings.partner_token,
            company_id=location,
            base_url=settings.altegio_base_url,
            transport=transport,
            # What records told about the location (phone, rules, currency) survives a restart.
            facts=Facts.from_wire(storage.location_facts(location)),
            on_facts=keep_facts,
            **{**client_options, **shared},  # type: ignore[arg-type]
        )
        client.on_request = metrics.altegio_request
        client.shared_times.on_event = metrics.shared_copy
        return client

    altegio = client_at(company_id)
    # Another location's client (an appointment kept there) shares the address's rate limit.
    locations = Locations(altegio, lambda other: client_at(other, limiter=altegio.limiter))
    altegio.limiter.on_wait = metrics.limiter_wait.observe
    metrics.watch(
        queue=lambda: altegio.limiter.waiting, breaker_open=lambda: altegio.breaker.is_open
    )
    replica = None
    if storage.sql.dialect == "postgres":
        # Replicas of the bot share its background work, each piece done once.
        from bot.leases import Replica  # noqa: PLC0415 (psycopg only with DATABASE_URL)
        from bot.storage.pg_engine import PgSql  # noqa: PLC0415

        if isinstance(storage.sql, PgSql):
            replica = Replica(storage.sql.url, storage.sql.schema, started_at=clock())
            replica.alive()  # known to the others as alive from now on
    return Services(
        replica=replica,
        metrics=metrics,
        settings=settings,
        altegio=altegio,
        storage=storage,
        catalogs=Catalogs(
            SHIPPED_LANGUAGES, settings.default_language, overrides=settings.messages_dir
        ),
        clock=clock,
        flood=guards.flood if guards else FloodGuard(lambda: clock().timestamp()),
        codes=guards.codes if guards else CodeGuard(lambda: clock().timestamp()),
        holds=guards.holds if guards else Holds(),
        started_at=clock(),
        locations=locations,
    )


def _chat_turns(storage: Storage) -> PgChatLocks | None:
    """The chats' turns across the processes sharing this bot's PostgreSQL schema; None for a
    SQLite file (one process only)."""
    if not _shared(storage):
        return None
    from bot.storage.pg_engine import PgSql  # noqa: PLC0415 (psycopg only with DATABASE_URL)

    sql = storage.sql
    return PgChatLocks(sql.url, sql.schema) if isinstance(sql, PgSql) else None


def _shared(storage: Storage) -> bool:
    """Whether other processes may serve this bot: its storage is PostgreSQL (DATABASE_URL;
    a test's replicas are handed theirs open)."""
    return storage.sql.dialect == "postgres"


# Updates handled at once, across chats. At a busy moment most of them only wait their turn for
# Altegio's rate limit (cheap: a task each); a low cap would hold a client ready to confirm
# behind hundreds still waiting for their free times, while the limiter would let the booking
# through first.
MAX_CONCURRENT_UPDATES = 4096


def build_application(
    services: Services,
    *,
    token: str | None = None,
    request: BaseRequest | None = None,
    persistence_interval: float = 5.0,
    reminder_interval: float | None = 10.0,
    telegram_rate_limit: bool = True,
    slow_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> BotApplication:
    """`reminder_interval=None` leaves reminders to whoever calls `send_due` (the tests);
    `telegram_rate_limit=False` drops PTB's limiter, which waits in real time; `slow_sleep`
    is how the update processor waits before it tells a client their update is slow."""
    settings = services.settings
    # Replicas of this bot may share its database: a chat's turn is taken across them, and its
    # state read afresh in it (see bot/chat_locks.py, bot/replica_state.py).
    shared = _chat_turns(services.storage)
    processor = PerChatUpdateProcessor(
        MAX_CONCURRENT_UPDATES,
        on_slow=_when_slow(services),
        sleep=slow_sleep,
        on_start=lambda: services.heartbeat.update(services.clock()),
        on_done=_count_update(services),
        shared=shared,
    )
    builder = (
        ApplicationBuilder()
        .application_class(BotApplication, kwargs={"services": services})
        .token(token or settings.require_telegram_token())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_file_url)
        .context_types(ContextTypes(context=Context, user_data=UserData))
        .persistence(SqlitePersistence(services.storage, update_interval=persistence_interval))
        .concurrent_updates(processor)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if telegram_rate_limit:
        # Telegram's own send limits (30 messages a second, 20 a minute per group), retried
        # once after a flood wait.
        # (The builder's generic type was fixed by the calls above; the limiter changes only
        # ExtBot's rate-limit argument type, which nothing here uses.)
        builder = builder.rate_limiter(AIORateLimiter(max_retries=1))  # type: ignore[arg-type]
    application = builder.build()
    if not isinstance(application, BotApplication):
        raise TypeError("ApplicationBuilder did not build a BotApplication")
    add_handlers(application, write_each_update=shared is None)
    if shared is not None:
        processor.on_turn = refresher(application)
        application.replicated = True
        processor.on_turn_end = turn_ender(application)
        processor.on_declined = _when_declined(application)
    processor.on_handled = lambda update: update_inbox.handled(application, update)
    processor.on_queued = queue_note(services, slow_sleep)
    application.follow_salon_changes = lambda: salon_news.process(application)
    if reminder_interval is not None and application.job_queue is not None:
        application.job_queue.run_repeating(
            reminders.tick, interval=reminder_interval, first=1.0, name="reminders"
        )
    return application


def add_handlers(application: BotApplication, *, write_each_update: bool = True) -> None:
    """`write_each_update=False`: the update processor writes each update's changes itself,
    once the update is handled (replicas, see `build_application`)."""
    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, guards.hold_floods), group=-3)
    # The salon's admin chats, which may be groups: before the private-chats-only guard.
    application.add_handler(
        CommandHandler(
            admin_chats.COMMANDS, admin_chats.command, filters=filters.UpdateType.MESSAGE
        ),
        group=-2,
    )
    application.add_handler(TypeHandler(Update, guards.private_only), group=-2)
    application.add_handler(
        MessageHandler(filters.UpdateType.EDITED_MESSAGE, guards.edited_message), group=-1
    )
    application.add_handler(booking.build(application.user_data))
    application.add_handler(CommandHandler("start", fallbacks.start, filters=private))
    application.add_handler(CommandHandler("help", fallbacks.help_command, filters=private))
    application.add_handler(
        CommandHandler("appointments", listing.list_appointments, filters=private)
    )
    application.add_handler(
        CommandHandler("settings", appointments.settings_command, filters=private)
    )
    application.add_handler(
        CallbackQueryHandler(appointments.on_button, pattern=appointments.APPOINTMENT_ACTIONS)
    )
    application.add_handler(CommandHandler("forget", privacy.ask_forget, filters=private))
    application.add_handler(CommandHandler("language", language.ask_language, filters=private))
    application.add_handler(
        CallbackQueryHandler(language.on_button, pattern=language.LANGUAGE_ACTIONS)
    )
    application.add_handler(CallbackQueryHandler(privacy.on_button, pattern=privacy.FORGET_ACTIONS))
    application.add_handler(CommandHandler("waitlist", waiting_list.my_waitlist, filters=private))
    application.add_handler(
        CallbackQueryHandler(waiting_list.on_button, pattern=waiting_list.WAITLIST_ACTIONS)
    )
    application.add_handler(
        CallbackQueryHandler(locations.on_button, pattern=locations.LOCATION_ACTIONS)
    )
    application.add_handler(MessageHandler(private & filters.LOCATION, locations.on_shared))
    application.add_handler(CommandHandler("cancel", fallbacks.nothing_to_cancel, filters=private))
    application.add_handler(CallbackQueryHandler(fallbacks.stale_button))
    application.add_handler(MessageHandler(private, fallbacks.outside_conversation))
    # Conversation state reaches SQLite after every update, not only on the periodic flush,
    # so a crash or restart mid-booking loses nothing.
    if write_each_update:
        application.add_handler(TypeHandler(Update, _flush), group=100)
    application.add_error_handler(guards.on_error)


def _when_slow(services: Services) -> Callable[[Update], Awaitable[None]]:
    """What a client sees while their update waits (Altegio slow, or its rate limit): the
    button they tapped answered at once, as Telegram wants it within seconds, then typing."""

    async def notice(update: Update) -> None:
        query = update.callback_query
        if query is not None and services.answered.add(query.id):
            user = update.effective_user
            t = services.catalogs.translator(
                services.catalogs.pick(user.language_code if user else None)
            )
            with contextlib.suppress(TelegramError):
                await query.answer(t.gettext("One moment…"))
        chat = update.effective_chat
        if chat is not None and chat.type == "private":
            await update.get_bot().send_chat_action(chat.id, ChatAction.TYPING)

    return notice


def _when_declined(
    application: BotApplication,
) -> Callable[[Update, Exception], Awaitable[None]]:
    """An update not handled because its chat's turn or state could not be had: the database
    out of reach is answered as when a handler finds it so (`guards.on_error`), and the salon
    hears once; anything else as any error of the bot's. The button is answered either way."""
    services = application.services

    async def decline(update: Update, error: Exception) -> None:
        user = update.effective_user
        t = services.catalogs.translator(
            services.catalogs.pick(user.language_code if user else None)
        )
        if isinstance(error, StorageUnavailable):
            await application.storage_trouble(str(error))
            text = t.gettext(
                "Sorry, I cannot reach my records just now. Please try again in a minute."
            )
        else:
            text = t.gettext(
                "Sorry, something went wrong on our side. Your booking details are kept; "
                "please try again, or start over."
            )
        query = update.callback_query
        if query is not None and services.answered.add(query.id):
            with contextlib.suppress(TelegramError):
                await query.answer()
        chat = update.effective_chat
        if chat is not None and chat.type == "private":
            with contextlib.suppress(TelegramError):
                await update.get_bot().send_message(chat.id, text)

    return decline


def _count_update(services: Services) -> Callable[[float], None]:
    def count(seconds: float) -> None:
        services.metrics.updates.inc()
        services.metrics.update_seconds.observe(seconds)

    return count


async def _flush(update: Update, context: Context) -> None:
    # python-telegram-bot marks the client's data as changed only once every handler group
    # has run, after this one: marked here, it is written with this update's conversation
    # state, not one update late (a crash right after a step keeps that step).
    if update.effective_user is not None:
        context.application.mark_data_for_update_persistence(user_ids=update.effective_user.id)
    await context.application.update_persistence()


def _services(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    if not isinstance(application, BotApplication):
        raise TypeError("the application was not built by build_application")
    return application.services


async def _post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register the commands in every shipped language (and the default for all others)."""
    if isinstance(application, BotApplication):
        salon_news.announce(application)
    catalogs = _services(application).catalogs
    for code in (None, *catalogs.languages):
        t = catalogs.translator(code or catalogs.default)
        commands = [
            BotCommand("book", t.gettext("Book an appointment")),
            BotCommand("appointments", t.gettext("My appointments")),
            BotCommand("settings", t.gettext("Reminders on or off")),
            BotCommand("waitlist", t.gettext("My waiting list")),
            BotCommand("language", t.gettext("Change the language")),
            BotCommand("forget", t.gettext("Delete my data")),
            BotCommand("cancel", t.gettext("Stop the current booking")),
            BotCommand("help", t.gettext("What this bot can do")),
        ]
        try:
            # Telegram takes two-letter codes: pt_BR is registered for every Portuguese client.
            telegram_code = code.split("_")[0] if code else None
            await application.bot.set_my_commands(commands, language_code=telegram_code)
        except TelegramError as exc:
            log.warning("could not register the bot's commands: %s", exc)
            return


async def _post_shutdown(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services = _services(application)
    await (services.locations.aclose() if services.locations else services.altegio.aclose())
    if isinstance(services.altegio.limiter, SharedLimiter):
        await services.altegio.limiter.aclose()
    if services.replica is not None:
        services.replica.close()
