"""The bot's HTTP side, in its own process: Telegram's webhook, Altegio's record webhooks,
`/healthz` and `/metrics`, and running until a stop signal, then stopping gracefully.

One aiohttp server on `WEBHOOK_LISTEN` serves them all. In webhook mode Telegram posts updates
to the path of `WEBHOOK_URL` with the secret in `X-Telegram-Bot-Api-Secret-Token`; they go on
the application's update queue, so the per-chat order (`bot/updates.py`) holds as in polling.
With `ALTEGIO_USER_TOKEN`, Altegio posts the location's record events to a secret path of its
own (`Settings.altegio_hook_path`); any other path is a 404.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from telegram import Update

from bot import update_inbox
from bot.context import BotApplication
from bot.storage import StorageUnavailable
from bot.workflows import salon_changes

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.Response]]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# How long a stop waits for the updates under way (and the tick) before giving up on them.
STOP_GRACE = 10.0
# The reminder tick is stale after this many of its intervals without running.
STALE_TICKS = 6
# Updates waiting this long with none taken up mean processing has stalled.
STALLED_AFTER = timedelta(seconds=60)
# A tick under way (waiting on a slow Altegio or its rate limit) counts as alive this long.
TICK_HUNG_AFTER = timedelta(minutes=10)


def webhook_path(url: str) -> str:
    """Where Telegram's updates arrive: the path of `WEBHOOK_URL` (give it a random one)."""
    return urlsplit(url).path or "/"


def health(
    application: BotApplication, tick_interval: float | None, *, polling: bool = False
) -> tuple[bool, dict[str, object]]:
    """Whether the bot can serve, and the JSON that says so: the database writable, updates
    being taken up, the reminder tick recent. Altegio down is said, but is no failure of
    the bot's own."""
    services = application.services
    now = services.clock()
    reasons: list[str] = []
    try:
        services.storage.check_writable()
    except StorageUnavailable:
        reasons.append("database: cannot be written")
    if not application.running:
        reasons.append("updates: not running")
    else:
        since = services.heartbeat.last_update or services.started_at
        if application.update_queue.qsize() > 0 and (since is None or now - since > STALLED_AFTER):
            reasons.append("updates: waiting and none taken up")
    if application.updater is not None and not application.updater.running and polling:
        reasons.append("updates: polling stopped")
    if tick_interval is not None:
        heartbeat = services.heartbeat
        last = heartbeat.last_tick or services.started_at
        running = heartbeat.tick_since is not None and now - heartbeat.tick_since < TICK_HUNG_AFTER
        stale = last is None or (now - last).total_seconds() > STALE_TICKS * tick_interval
        if stale and not running:
            reasons.append("reminders: tick not run recently")
    altegio = "unavailable" if services.altegio.breaker.failing else "ok"
    body: dict[str, object] = {"status": "unhealthy" if reasons else "ok", "altegio": altegio}
    if reasons:
        body["reasons"] = reasons
    return not reasons, body


class Listener:
    """An aiohttp application listening on a port: started, and stopped. The one bot's server
    and the server of many bots (`bot/fleet.py`) are each one."""

    def __init__(self) -> None:
        self.app = web.Application()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        """Listen on `host:port` (0: any free port); the port listened on."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else port
        return self.port

    async def stop(self) -> None:
        """Stop listening: no update is taken from now on."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class WebServer(Listener):
    """The HTTP server: the webhook (when `secret` is given), `/healthz` and `/metrics`."""

    def __init__(
        self,
        application: BotApplication,
        *,
        path: str | None = None,
        secret: str | None = None,
        tick_interval: float | None = 10.0,
        polling: bool = False,
        hook_path: str | None = None,
    ) -> None:
        super().__init__()
        self.application = application
        self._polling = polling  # updates come by long polling: /healthz sees it stop
        self._secret = secret
        self._tick_interval = tick_interval
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/metrics", self._metrics)
        self.routes: list[tuple[str, Handler]] = []  # the bot's own: a shared server adds them
        if path is not None:
            self.routes.append((path, self._webhook))
        if hook_path is not None:
            self.routes.append((hook_path, self._altegio))
        for route, handler in self.routes:
            self.app.router.add_post(route, handler)

    async def _webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if self._secret is None or not hmac.compare_digest(given.encode(), self._secret.encode()):
            # Logged without the update's content or the header's value.
            log.warning(
                "webhook: update refused, %s secret token, from %s",
                "wrong" if given else "no",
                request.remote,
            )
            return web.json_response({"ok": False}, status=403)
        if not self.application.running:
            return web.json_response({"ok": False}, status=503)  # Telegram sends it again
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise ValueError("an update is a JSON object")
            update = Update.de_json(data, self.application.bot)
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError, KeyError, ValueError):
            log.warning("webhook: an update that could not be read was refused")
            return web.json_response({"ok": False}, status=400)
        if update_inbox.keep(self.application, update, json.dumps(data)):
            await self.application.update_queue.put(update)
        else:
            log.info("webhook: update %s taken before, not handled again", update.update_id)
        return web.json_response({"ok": True})

    async def _altegio(self, request: web.Request) -> web.Response:
        """Altegio's record events: kept before the answer (a restart loses none), followed
        right after it; the answer comes at once, well within Altegio's 10 to 15 seconds."""
        raw = await request.read()
        status, new = salon_changes.accept(self.application.services, raw)
        follow = self.application.follow_salon_changes
        if new and follow is not None and self.application.running:
            self.application.create_task(follow())
        return web.json_response({"success": status < 300}, status=status)

    async def _healthz(self, request: web.Request) -> web.Response:
        healthy, body = health(self.application, self._tick_interval, polling=self._polling)
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        text = self.application.services.metrics.exposition()
        return web.Response(body=text, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def serve(
    application: BotApplication,
    stop: asyncio.Event,
    *,
    tick_interval: float | None = 10.0,
    grace: float = STOP_GRACE,
) -> None:
    """Run the bot until `stop` is set (SIGTERM, SIGINT), then stop gracefully: by webhook
    when `WEBHOOK_URL` is set, else by long polling, with the HTTP server beside either."""
    settings = application.services.settings
    await start_bot(application)
    url = settings.webhook_url
    server = bot_server(application, tick_interval)
    host, port = settings.webhook_listen
    try:
        try:
            await server.start(host, port)
            log.info("serving /healthz and /metrics on %s:%s", host, server.port)
        except OSError as exc:
            if url:
                raise
            log.warning(
                "/healthz and /metrics not served: cannot listen on %s:%s (%s)", host, port, exc
            )
        await take_updates(application)
        await update_inbox.take_back(application, at_start=True)
        await stop.wait()
    finally:
        # Also when the start failed half way (a port taken, Telegram refusing the webhook).
        await stop_gracefully(application, server, grace)


async def start_bot(application: BotApplication) -> None:
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()


def bot_server(application: BotApplication, tick_interval: float | None) -> WebServer:
    """The bot's HTTP side as its settings want it (not yet listening)."""
    settings = application.services.settings
    url = settings.webhook_url
    return WebServer(
        application,
        path=webhook_path(url) if url else None,
        secret=settings.webhook_secret,
        tick_interval=tick_interval,
        polling=not url and application.updater is not None,
        hook_path=settings.altegio_hook_path if settings.altegio_user_token else None,
    )


async def take_updates(application: BotApplication) -> None:
    """Updates start coming: Telegram is given the webhook, or long polling starts."""
    settings = application.services.settings
    url = settings.webhook_url
    if url:
        await application.bot.set_webhook(
            url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        )
        log.info("webhook mode: Telegram posts updates to the path of WEBHOOK_URL")
    elif application.updater is not None:
        await application.updater.start_polling(
            allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
        )


async def stop_gracefully(
    application: BotApplication, server: WebServer | None, grace: float = STOP_GRACE
) -> None:
    """What a stop signal runs: take no more updates, let those under way (and queued) finish
    within `grace` seconds, write the conversations' state and shut down."""
    log.info("stopping: finishing the updates under way (at most %.0f s)", grace)
    if server is not None:
        await server.stop()
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        # PTB's stop waits for the queue, every update task (each through the per-chat
        # processor), the tick and the persistence loop; past the grace they are left behind
        # (and cancelled as the process ends): a booking call cut short is looked into after
        # the restart, as after a crash.
        stopping = asyncio.create_task(application.stop())
        done, _ = await asyncio.wait({stopping}, timeout=grace)
        if not done:
            log.warning("updates still under way after %.0f s were given up", grace)
    if application.post_stop is not None:
        await application.post_stop(application)
    await application.shutdown()  # writes what changed and flushes the persistence
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
    log.info("stopped; conversations written")
