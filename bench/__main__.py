"""`python -m bench`: N clients booking at once through the real Application, against the sandbox
location served over HTTP with a latency per request and Altegio's limits enforced; then the bot's
own cost per update against a bare python-telegram-bot, memory per conversation, reminders at
scale, and the Altegio requests of My appointments and of a reminder with and without the client's
user token and the salon's webhooks. Prints a table and writes JSON."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from telegram import (
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    TelegramObject,
    Update,
)
from telegram.ext import ApplicationBuilder, CallbackContext, MessageHandler, TypeHandler, filters
from telegram.request import BaseRequest, RequestData

from bench.account_costs import account_costs
from bench.replica_report import peaks
from bench.replicas import add_arguments, run_replicas
from bench.visit_costs import visit_costs
from bench.waitlist_costs import waitlist_costs
from bot.altegio.limiter import RateLimiter
from bot.app import OFFLINE_TOKEN, build_application, build_services
from bot.context import BotApplication
from bot.services import Services
from bot.settings import Settings
from bot.storage import Storage
from conversations.reminders import send_due
from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN, Sandbox
from standins.telegram.bot_api import BotApiStub
from standins.telegram.users import StubUser

SERVICE_CATEGORY = "Hair"
SERVICE = "Women's haircut"


def _application(services: Services, stub: BotApiStub) -> BotApplication:
    """The bot as it runs, on the in-process Bot API stand-in: no reminder job (the benchmark
    ticks itself) and no Telegram send limiter (the stand-in is not Telegram)."""
    return build_application(
        services,
        token=OFFLINE_TOKEN,
        request=stub,
        reminder_interval=None,
        telegram_rate_limit=False,
    )


class TimedStub(BotApiStub):
    """The Bot API stand-in, keeping count of its own CPU: that work is Telegram's, not the
    bot's, so it is left out of the CPU per update (for the bare baselines as well). With
    `calls` set, it also keeps every call and Telegram's answer to it."""

    spent = 0.0
    calls: list[Call] | None = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        started = time.process_time()
        try:
            answer = await super().do_request(url, method, request_data, *args, **kwargs)
            if self.calls is not None:
                parameters = dict(request_data.parameters) if request_data else {}
                self.calls.append(Call(url.rsplit("/", 1)[-1], parameters, *answer))
            return answer
        finally:
            self.spent += time.process_time() - started


@dataclass
class Call:
    """One Bot API call as the bot made it, and Telegram's answer."""

    method: str
    parameters: dict[str, Any]
    status: int
    body: bytes


class Replay(BaseRequest):
    """Telegram's recorded answers, handed back in order, whatever is asked (their cost is
    Telegram's and left out, as with the stand-in)."""

    def __init__(self, answers: list[tuple[int, bytes]]) -> None:
        self.answers = answers
        self.spent = 0.0

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(  # noqa: PLR0917 - the signature is BaseRequest's
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        started = time.process_time()
        if url.endswith("/getMe"):
            answer = (200, json.dumps({"ok": True, "result": BotApiStub().bot_user}).encode())
        else:
            answer = self.answers.pop(0)
        self.spent += time.process_time() - started
        return answer


class BenchUser(StubUser):
    """A client whose updates go through the application's update processor, as polled ones do,
    and who times each action from sending to the bot's answer."""

    def __init__(self, api: BotApiStub, app: BotApplication, **details: Any) -> None:
        super().__init__(api, app, **details)
        self.latencies: list[float] = []
        # (reply time, Altegio requests the bot made meanwhile): with arrivals spread out so
        # that actions rarely overlap, the reply time beyond its Altegio calls is the bot's own.
        self.timed: list[tuple[float, int]] = []
        self.took_earliest = False  # took one of the earliest times offered, not a day

    async def _process(self, update: dict[str, Any]) -> None:
        app = self.app
        assert isinstance(app, BotApplication)
        parsed = Update.de_json(update, app.bot)
        sent_before = app.services.altegio.requests_sent
        started = time.perf_counter()
        await app.update_processor.process_update(parsed, app.process_update(parsed))
        elapsed = time.perf_counter() - started
        self.latencies.append(elapsed)
        self.timed.append((elapsed, app.services.altegio.requests_sent - sent_before))


def labels(user: StubUser) -> list[str]:
    return [label for row in user.last.buttons for label in row]


def earliest_offered(user: StubUser) -> list[str]:
    return [label for label in labels(user) if " · " in label]


RUSH_DAYS = 3  # a promotion's clients mostly want the nearest few days
RUSH_SHARE = 0.8  # and this many of them do


async def journey(
    user: BenchUser,
    rng: random.Random,
    earliest: bool = False,
    rush: bool = False,
    offer: bool = False,
) -> bool:
    """Book what a salon's clients book: a service of any category with anyone, on one of the
    coming days at a free time; choose again when the time is taken meanwhile. `earliest`: take
    one of the earliest times offered first instead of choosing a day; `rush`: most take one of
    the nearest `RUSH_DAYS` days offered (a promotion: "the new month's schedule is open");
    `offer`: those also all book the first service of the first category (one service on offer)."""
    # An offer's rush: those wanting the nearest days want the one service offered, too.
    promoted = offer and rng.random() < RUSH_SHARE
    await user.send("/book")
    categories = [label for label in labels(user) if label not in ("Cancel", "« Back")]
    await user.tap(categories[0] if promoted else rng.choice(categories))
    services = [label for label in labels(user) if label not in ("Cancel", "« Back")]
    services = [label for label in services if "/" not in label and label not in "‹›"]
    await user.tap(services[0] if promoted else rng.choice(services))
    await user.tap("Any available team member")
    if earliest and earliest_offered(user):
        await user.tap(rng.choice(earliest_offered(user)))
        user.took_earliest = True
        return await _to_the_end(user, rng)
    if "Choose a day" in labels(user):
        await user.tap("Choose a day")
    if promoted or (rush and not offer and rng.random() < RUSH_SHARE):
        days = [label for label in labels(user) if label.isdigit()][:RUSH_DAYS]
        if days:
            await user.tap(rng.choice(days))
            return await _to_the_end(user, rng)
    # Most look a little further ahead than this month, some up to the calendar's horizon.
    for _ in range(rng.choice((0, 1, 1, 2))):
        following = [label for label in labels(user) if label.endswith(" ›")]
        if not following:
            break
        await user.tap(following[0])
    days = [label for label in labels(user) if label.isdigit()]
    if not days:
        return False
    await user.tap(rng.choice(days))
    return await _to_the_end(user, rng)


async def _to_the_end(user: BenchUser, rng: random.Random) -> bool:
    """From a time chosen to the booking: contact details, Confirm, another time if taken."""
    contact_given = False
    for _ in range(10):
        text = user.last.text
        if "You are booked" in text:
            return True
        choices = [
            label
            for label in labels(user)
            if ":" in label or (label[:1].isdigit() and " " in label)
        ]
        if "Free times" in text and choices:
            await user.tap(rng.choice(choices))
        elif "earliest free times" in text and earliest_offered(user):
            await user.tap(rng.choice(earliest_offered(user)))
        elif "nearest days" in text or "no free times" in text.lower():
            options = [label for label in labels(user) if "," in label]
            if not options:
                return False
            await user.tap(rng.choice(options))
            continue
        if not contact_given and user.reply_keyboard:
            await user.tap("📱 Share my phone number")
            await user.tap("Keep this name")
            await user.tap("Skip")
            contact_given = True
        if "✅ Confirm" in labels(user):
            await user.tap("✅ Confirm")
        elif "Try again" in labels(user):
            await user.tap("Try again")
    return "You are booked" in user.last.text


IDLE_SECONDS = 5.0


async def idle_cpu(seconds: float) -> float:
    """CPU seconds per second the process is charged while the bot waits for nothing."""
    started = time.process_time()
    await asyncio.sleep(seconds)
    return (time.process_time() - started) / seconds


def start_server(latency: float) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.http_sandbox", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, port


async def _server_log(port: int) -> list[list[Any]]:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port}/__bench/log")
    entries: list[list[Any]] = answer.json()
    return entries


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def arrive(
    delay: float, user: BenchUser, rng: random.Random, *, earliest: bool, rush: bool, offer: bool
) -> bool:
    await asyncio.sleep(delay)
    return await journey(user, rng, earliest, rush, offer)


async def bookings(  # noqa: PLR0917 - a run's settings, all named at the call
    clients: int,
    latency: float,
    folder: Path,
    seed: int,
    spread: float = 0.0,
    earliest: bool = False,
    rush: bool = False,
    offer: bool = False,
) -> dict[str, Any]:
    """`spread`: clients arrive evenly over that many seconds instead of all at once;
    `earliest`: they take one of the earliest times offered instead of choosing a day;
    `rush`: most want the same few nearest days, as a promotion brings; `offer`: and the same
    one service."""
    server, port = start_server(latency)
    try:
        env = {
            "ALTEGIO_BASE_URL": f"http://127.0.0.1:{port}/api",
            "ALTEGIO_PARTNER_TOKEN": SANDBOX_PARTNER_TOKEN,
            "ALTEGIO_COMPANY_ID": "1001",
            "BOT_DB_PATH": str(
                folder / f"bookings-{clients}-{spread:g}-{earliest:d}-{rush:d}.sqlite3"
            ),
        }
        settings = Settings.load(env=env, env_file=folder / "none")
        services = build_services(settings)
        stub = TimedStub()
        app = _application(services, stub)
        await app.initialize()
        await app.start()
        users = []
        for index in range(clients):
            user = BenchUser(
                stub,
                app,
                user_id=500_000 + index,
                first_name=f"Client{index}",
                phone_number=f"+49151{index:08d}",
            )
            users.append(user)
        rng = random.Random(seed)
        seeds = [rng.random() for _ in users]
        # One client first, unmeasured: imports, locale data and caches warm up once per process.
        warm = BenchUser(
            stub, app, user_id=499_999, first_name="Warm", phone_number="+4915199999999"
        )
        await journey(warm, random.Random(seed))
        skip = len(await _server_log(port))
        idle = await idle_cpu(IDLE_SECONDS)
        cpu_before = time.process_time()
        wall_before = time.perf_counter()
        telegram_before = stub.spent
        done = await asyncio.gather(
            *(
                arrive(
                    spread * index / clients,
                    u,
                    random.Random(s),
                    earliest=earliest,
                    rush=rush,
                    offer=offer,
                )
                for index, (u, s) in enumerate(zip(users, seeds, strict=True))
            )
        )
        wall = time.perf_counter() - wall_before
        cpu = time.process_time() - cpu_before - (stub.spent - telegram_before)
        await _stop(app)
        log = (await _server_log(port))[skip:]
    finally:
        server.terminate()
        server.wait()
    arrivals = sorted(entry[0] for entry in log)
    completed = sum(done)
    updates = sum(len(u.latencies) for u in users)
    latencies = [value for u in users for value in u.latencies]
    by_route = Counter(entry[1] for entry in log)
    beyond = [elapsed - calls * latency for u in users for elapsed, calls in u.timed]
    return {
        "clients": clients,
        "arrivals_over_s": spread,
        "earliest": earliest,
        "rush": rush,
        "offer": offer,
        "latency_ms": latency * 1000,
        "bookings_completed": completed,
        "seconds": round(wall, 2),
        "bookings_per_minute": round(completed / wall * 60, 1) if wall else 0.0,
        "altegio_requests": len(log),
        "requests_per_booking": round(len(log) / completed, 2) if completed else None,
        "requests_by_endpoint": dict(by_route.most_common()),
        # Booking attempts Altegio refused (a time taken meanwhile, mostly by another client).
        "bookings_refused": sum(
            1 for e in log if e[1] == "POST book_record" and 400 <= e[2] < 500 and e[2] != 429
        ),
        "took_earliest": sum(u.took_earliest for u in users),
        # Free times served from a copy shared while clients queued for the rate limit, and
        # booking attempts refused as taken whose time a client was shown from one.
        "shared_times_used": services.altegio.shared_times.used,
        "stale_shared_refusals": services.altegio.shared_times.stale_refusals,
        # Bookings of a time the bot's own bookings had filled, refused without a request.
        "known_taken": services.altegio.shared_times.known_taken,
        # The different free times read (team member, day, services): however well reads are
        # shared, each costs one at least.
        "distinct_times_read": len({e[3] for e in log if e[1] == "GET book_times"}),
        "peak_requests_1s": peaks(arrivals, 1.0),
        "peak_requests_60s": peaks(arrivals, 60.0),
        "http_429": sum(1 for entry in log if entry[2] == 429),
        "updates": updates,
        "reply_ms_p50": round(percentile(latencies, 0.5) * 1000, 1),
        "reply_ms_p95": round(percentile(latencies, 0.95) * 1000, 1),
        "reply_ms_p99": round(percentile(latencies, 0.99) * 1000, 1),
        "reply_beyond_altegio_ms_p95": round(percentile(beyond, 0.95) * 1000, 1),
        # The process's CPU when idle is charged per second, not per update (on this machine
        # a sleeping Python process is charged a few ms a second): it is left out, measured
        # just before the run, and shown.
        "cpu_ms_per_update": round((cpu - idle * wall) / updates * 1000, 3) if updates else None,
        "cpu_ms_per_update_with_idle": round(cpu / updates * 1000, 3) if updates else None,
        "idle_cpu_ms_per_s": round(idle * 1000, 2),
    }


async def baseline(updates: int) -> float:
    """CPU per update of a bare python-telegram-bot application echoing through the same stub."""
    stub = TimedStub()
    app = ApplicationBuilder().token(OFFLINE_TOKEN).request(stub).get_updates_request(stub).build()

    async def echo(update: Update, _context: Any) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    user = StubUser(stub, app, user_id=1)
    cpu_before = time.process_time()
    telegram_before = stub.spent
    for index in range(updates):
        await user.send(f"hello {index}")
    cpu = time.process_time() - cpu_before - (stub.spent - telegram_before)
    await app.stop()
    await app.shutdown()
    return cpu / updates * 1000


@dataclass
class Traffic:
    """Each update a client sent and the Bot API calls the bot made while handling it."""

    updates: list[tuple[dict[str, Any], list[Call]]] = field(default_factory=list)
    bot_cpu: float = 0.0


class TimedSandbox(Sandbox):
    """The in-process sandbox, keeping count of its own CPU (Altegio's work, not the bot's)."""

    spent = 0.0

    def handle(self, request: httpx.Request) -> httpx.Response:
        started = time.process_time()
        try:
            return super().handle(request)
        finally:
            self.spent += time.process_time() - started


class RecordingUser(BenchUser):
    """A client whose every update is kept with the calls it caused (one client at a time)."""

    traffic: Traffic
    stub: TimedStub

    async def _process(self, update: dict[str, Any]) -> None:
        calls: list[Call] = []
        self.stub.calls = calls
        await super()._process(update)
        self.stub.calls = None
        self.traffic.updates.append((update, calls))


async def _in_process_bot(
    db_path: Path, sandbox: Sandbox, stub: BotApiStub, env: dict[str, str] | None = None
) -> BotApplication:
    """The bot started on the in-process sandbox, unpaced: for measuring CPU and memory, not
    the rate limit. `env`: settings besides the database's."""
    settings = Settings.load(
        env={"BOT_DB_PATH": str(db_path), **(env or {})}, env_file=db_path.parent / "none"
    )
    services = build_services(
        settings, altegio_transport=sandbox.transport(), limiter=RateLimiter(((10**9, 1.0),))
    )
    app = _application(services, stub)
    await app.initialize()
    await app.start()
    return app


async def _stop(app: BotApplication) -> None:
    await app.stop()
    await app.shutdown()
    app.services.storage.close()


async def capture_traffic(clients: int, folder: Path, seed: int) -> Traffic:
    """Clients booking one after another on the in-process sandbox (unpaced: this is about
    CPU), with the bot's CPU per update measured and its Telegram traffic kept for `replay`."""
    sandbox = TimedSandbox()
    stub = TimedStub()
    app = await _in_process_bot(folder / "traffic.sqlite3", sandbox, stub)
    warm = BenchUser(stub, app, user_id=1, first_name="Warm", phone_number="+4915100000001")
    await journey(warm, random.Random(seed))
    traffic = Traffic()
    rng = random.Random(seed)
    cpu_before, telegram_before, altegio_before = time.process_time(), stub.spent, sandbox.spent
    for index in range(clients):
        user = RecordingUser(stub, app, user_id=600_000 + index, phone_number=f"+49152{index:08d}")
        user.traffic, user.stub = traffic, stub
        await journey(user, random.Random(rng.random()))
    cpu = time.process_time() - cpu_before
    cpu -= (stub.spent - telegram_before) + (sandbox.spent - altegio_before)
    traffic.bot_cpu = cpu
    await _stop(app)
    return traffic


def _arguments(call: Call, bot: Any) -> dict[str, Any]:
    """A recorded call's parameters as PTB's own method takes them (objects rebuilt)."""
    kinds: dict[str, type[TelegramObject]] = {
        "inline_keyboard": InlineKeyboardMarkup,
        "keyboard": ReplyKeyboardMarkup,
        "remove_keyboard": ReplyKeyboardRemove,
    }
    arguments = {}
    for name, value in call.parameters.items():
        if name == "reply_markup":
            kind = next(kind for key, kind in kinds.items() if key in value)
            arguments[name] = kind.de_json(value, bot)
        elif name == "link_preview_options":
            arguments[name] = LinkPreviewOptions.de_json(value, bot)
        else:
            arguments[name] = value
    return arguments


def _snake(method: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in method)


async def replay(traffic: Traffic) -> float:
    """CPU per update of a bare python-telegram-bot application that receives the same updates
    and makes the same Bot API calls through PTB's own methods, with no logic of its own:
    the floor PTB sets for this traffic."""
    answers = [(c.status, c.body) for _, calls in traffic.updates for c in calls]
    expected = len(answers)
    request = Replay(answers)
    app = ApplicationBuilder().token(OFFLINE_TOKEN).request(request).get_updates_request(request)
    bare = app.build()
    await bare.initialize()
    # The calls' arguments are made beforehand: a bot builds its own, that is not PTB's cost.
    plans = [
        (update, [(_snake(c.method), _arguments(c, bare.bot)) for c in calls])
        for update, calls in traffic.updates
    ]
    queue: list[list[tuple[str, dict[str, Any]]]] = []

    made = [0]

    async def same_calls(_update: Update, context: CallbackContext[Any, Any, Any, Any]) -> None:
        for method, arguments in queue.pop(0):
            await getattr(context.bot, method)(**arguments)
            made[0] += 1

    bare.add_handler(TypeHandler(Update, same_calls))
    await bare.start()
    cpu_before, telegram_before = time.process_time(), request.spent
    for update, calls in plans:
        queue.append(calls)
        await bare.process_update(Update.de_json(update, bare.bot))
    cpu = time.process_time() - cpu_before - (request.spent - telegram_before)
    await bare.stop()
    await bare.shutdown()
    if made[0] != expected or answers:
        raise RuntimeError(f"the replay made {made[0]} of {expected} calls")
    return cpu / len(plans) * 1000


async def memory_per_conversation(count: int, folder: Path) -> float:
    """Bytes the bot holds per conversation in progress (the Bot API stand-in's own transcript
    is Telegram's side and is left out)."""
    stub = BotApiStub()
    app = await _in_process_bot(folder / "memory.sqlite3", Sandbox(), stub)
    warm = StubUser(stub, app, user_id=1)
    await warm.send("/book")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for index in range(count):
        user = StubUser(stub, app, user_id=10_000 + index)
        await user.send("/book")
        await user.tap(SERVICE_CATEGORY)
        await user.tap(SERVICE)
        await user.tap("Any available team member")
    for chat in stub.chats.values():
        chat.messages.clear()
    stub.changes.clear()
    stub.callback_answers.clear()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    await _stop(app)
    return (after - before) / count


async def reminders_at_scale(stored: int, due: int, folder: Path) -> dict[str, float]:
    now = datetime.now(UTC)
    path = folder / "reminders.sqlite3"
    storage = Storage.open(path)
    rows = [
        {
            "record_id": 1 + index % 50_000,
            "chat_id": 1 + index % 50_000,
            "kind": "before",
            "offset_minutes": 120,
            "due_at": int((now + timedelta(days=1 + index % 60)).timestamp()),
            "status": "pending",
            "claimed_at": None,
        }
        for index in range(stored)
    ]
    storage.db.table("reminders").insert_all(rows, batch_size=5000)
    storage.close()

    sandbox = Sandbox()
    settings = Settings.load(env={"BOT_DB_PATH": str(path)}, env_file=folder / "none")
    started = time.perf_counter()
    services = build_services(settings, altegio_transport=sandbox.transport())
    app = _application(services, BotApiStub())
    await app.initialize()
    await app.start()
    startup = time.perf_counter() - started

    ticks = []
    for _ in range(20):
        tick_start = time.perf_counter()
        await send_due(app)
        ticks.append(time.perf_counter() - tick_start)
    idle_tick = statistics.median(ticks)

    # 1,000 reminders due now, for bookings the bot no longer holds as active (a worst case for
    # the bot's own work per reminder: claim, look up, decide, finish), measured bot-side.
    stamp = int(now.timestamp()) - 1
    services.storage.db.execute(
        "UPDATE reminders SET due_at = ? WHERE id IN (SELECT id FROM reminders LIMIT ?)",
        [stamp, due],
    )
    busy_start = time.perf_counter()
    handled = 0
    while handled < due:
        claimed = await _tick_all(app, limit=100)
        if not claimed:
            break
        handled += claimed
    busy = time.perf_counter() - busy_start
    await _stop(app)
    return {
        "reminders_stored": stored,
        "startup_s": round(startup, 3),
        "tick_none_due_ms": round(idle_tick * 1000, 3),
        "tick_1000_due_ms": round(busy * 1000, 1),
    }


async def _tick_all(app: BotApplication, limit: int) -> int:
    storage = app.services.storage
    before = storage.db.execute(
        "SELECT count(*) FROM reminders WHERE status = 'pending'"
    ).fetchone()
    await send_due(app, limit=limit)
    after = storage.db.execute("SELECT count(*) FROM reminders WHERE status = 'pending'").fetchone()
    return int(before[0] - after[0])


def table(results: dict[str, Any]) -> str:
    lines = []
    for run in results["bookings"]:
        arrivals = (
            f" arriving over {run['arrivals_over_s']:.0f} s" if run["arrivals_over_s"] else ""
        )
        if run.get("earliest"):
            arrivals += " taking the earliest times"
        if run.get("rush"):
            arrivals += f" in a rush ({RUSH_SHARE:.0%} on the nearest {RUSH_DAYS} days"
            arrivals += ", one service)" if run.get("offer") else ")"
        lines.append(
            f"{run['clients']:>5} clients{arrivals}: {run['bookings_completed']} booked in "
            f"{run['seconds']} s = {run['bookings_per_minute']}/min; Altegio requests "
            f"{run['altegio_requests']} ({run['requests_per_booking']}/booking), peak "
            f"{run['peak_requests_1s']}/s {run['peak_requests_60s']}/min, 429s {run['http_429']}; "
            f"reply p50/p95/p99 {run['reply_ms_p50']}/{run['reply_ms_p95']}/"
            f"{run['reply_ms_p99']} ms (p95 beyond Altegio's own time "
            f"{run['reply_beyond_altegio_ms_p95']} ms); CPU {run['cpu_ms_per_update']} ms/update "
            f"({run['cpu_ms_per_update_with_idle']} with the idle process's "
            f"{run['idle_cpu_ms_per_s']} ms/s)"
        )
        lines.append(f"        by endpoint: {run['requests_by_endpoint']}")
        lines.append(
            f"        booking attempts refused: {run['bookings_refused']}"
            + (f"; took an earliest time: {run['took_earliest']}" if run.get("earliest") else "")
            + f"; shared free times used {run.get('shared_times_used', 0)}, refusals of a "
            f"shared time {run.get('stale_shared_refusals', 0)}, refused without a request "
            f"{run.get('known_taken', 0)}; different free times read "
            f"{run.get('distinct_times_read', 0)}"
        )
    if "cost" not in results:
        return "\n".join(lines)
    cost = results["cost"]
    lines.append(
        f"CPU per update: bot {cost['bot_cpu_ms_per_update']} ms, bare PTB echo "
        f"{cost['baseline_cpu_ms_per_update']} ms, ratio {cost['ratio']}"
    )
    same = cost["same_traffic"]
    lines.append(
        f"CPU per update, one client at a time ({same['updates']} updates): bot "
        f"{same['bot_cpu_ms_per_update']} ms; bare PTB making the same calls "
        f"{same['bare_ptb_same_calls_ms_per_update']} ms (ratio {same['ratio_to_same_calls']}); "
        f"ratio to the echo {same['ratio_to_echo']}"
    )
    lines.append(
        f"Memory: {results['memory']['bytes_per_conversation']:.0f} bytes per conversation in "
        f"progress; peak RSS {results['memory']['peak_rss_mb']} MB"
    )
    rem = results["reminders"]
    lines.append(
        f"Reminders: {rem['reminders_stored']} stored; start-up {rem['startup_s']} s; tick with "
        f"none due {rem['tick_none_due_ms']} ms; with 1000 due {rem['tick_1000_due_ms']} ms"
    )
    for case in results["account"]:
        lines.append(
            f"Account: token {'yes' if case['user_token'] else 'no'}, webhooks "
            f"{'yes' if case['webhooks'] else 'no'}: /appointments "
            f"{case['requests_per_appointments']} requests for {case['appointments_listed']} "
            f"listed; {case['requests_per_reminder']} requests per reminder "
            f"({case['reminders_sent']} sent)"
        )
    for case in results.get("visits", []):
        lines.append(
            f"Visits of {case['services']} service(s) in {case.get('parts', 1)} part(s), "
            f"{case['visits']} booked: "
            f"{case['requests_first']} requests the first (cold), "
            f"{case['requests_per_visit_warm']} each after"
        )
    waiting = results.get("waitlist")
    if waiting:
        for name in ("all_days_full", "every_day_has_free_times"):
            case = waiting[name]
            lines.append(
                f"Waiting list, {waiting['wishes']} wishes, {name.replace('_', ' ')}: "
                f"{case['requests_per_minute']} requests a minute "
                f"({case['share_of_limit'] * 100:.1f} % of {waiting['limit_per_minute']})"
            )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        runs = [
            await bookings(clients, args.latency, folder, args.seed) for clients in args.clients
        ]
        # The same, with arrivals spread so that the limit does not bind: latency is the bot's.
        if args.spread_clients:
            runs.append(
                await bookings(args.spread_clients, args.latency, folder, args.seed, args.spread)
            )
        # The same many at once, each taking one of the earliest times offered first.
        if args.earliest_clients:
            runs.append(
                await bookings(
                    args.earliest_clients, args.latency, folder, args.seed, earliest=True
                )
            )
        # A promotion's rush: many at once, most wanting the same nearest days.
        if args.rush_clients:
            runs.append(
                await bookings(
                    args.rush_clients,
                    args.latency,
                    folder,
                    args.seed,
                    rush=True,
                    offer=args.rush_offer,
                )
            )
        if args.bookings_only:
            return {"command": "python -m bench " + " ".join(sys.argv[1:]), "bookings": runs}
        main_run = next((r for r in runs if r["clients"] == 100), runs[0])
        bare = await baseline(max(200, main_run["updates"]))
        traffic = await capture_traffic(args.traffic_clients, folder, args.seed)
        same = await replay(traffic)
        per_conversation = await memory_per_conversation(args.conversations, folder)
        reminders = await reminders_at_scale(args.reminders, 1000, folder)
        account = await account_costs(folder, _in_process_bot, _stop)
        visits = await visit_costs(folder, _in_process_bot, _stop)
        waiting = await waitlist_costs()
    bot_alone = traffic.bot_cpu / len(traffic.updates) * 1000
    return {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": _cpus(),
        },
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "bookings": runs,
        "cost": {
            "bot_cpu_ms_per_update": main_run["cpu_ms_per_update"],
            "baseline_cpu_ms_per_update": round(bare, 3),
            "ratio": round(main_run["cpu_ms_per_update"] / bare, 2) if bare else None,
            # One client at a time on the in-process sandbox (its CPU left out), and a bare
            # PTB application receiving the same updates and making the same calls.
            "same_traffic": {
                "updates": len(traffic.updates),
                "bot_cpu_ms_per_update": round(bot_alone, 3),
                "bare_ptb_same_calls_ms_per_update": round(same, 3),
                "ratio_to_same_calls": round(bot_alone / same, 2) if same else None,
                "ratio_to_echo": round(bot_alone / bare, 2) if bare else None,
            },
        },
        "memory": {
            "bytes_per_conversation": round(per_conversation),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
        "reminders": reminders,
        "account": account,
        "visits": visits,
        "waitlist": waiting,
    }


def _cpus() -> int:
    return os.cpu_count() or 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--clients",
        type=int,
        nargs="*",
        default=[10, 100],
        help="client counts (e.g. 10 100 1000; none: only the runs below)",
    )
    parser.add_argument("--latency", type=float, default=0.1, help="Altegio latency, seconds")
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument(
        "--spread-clients", type=int, default=20, help="clients arriving spread (0: no such run)"
    )
    parser.add_argument("--spread", type=float, default=60.0, help="seconds their arrivals span")
    parser.add_argument(
        "--earliest-clients",
        type=int,
        default=100,
        help="clients at once taking the earliest times offered (0: no such run)",
    )
    parser.add_argument(
        "--rush-clients",
        type=int,
        default=200,
        help="clients at once in a promotion's rush, most on the nearest days (0: no such run)",
    )
    parser.add_argument(
        "--rush-offer",
        action="store_true",
        help="the rush's clients on the nearest days all want one service (an offer's rush)",
    )
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument(
        "--traffic-clients", type=int, default=50, help="clients for the same-traffic baseline"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--bookings-only",
        action="store_true",
        help="only the booking runs: no CPU baselines, memory, reminders or account costs",
    )
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    add_arguments(parser)
    args = parser.parse_args()
    if args.replicas:
        run_replicas(args)
        return
    results = asyncio.run(main_async(args))
    args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(table(results))
    print(f"\nJSON: {args.json}")


if __name__ == "__main__":
    main()
