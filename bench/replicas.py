"""`python -m bench --replicas`: the bot as a deployment runs it, all on this machine. Three
tenants in one tenants file; three `altegio-bot run` replicas in webhook mode sharing one
PostgreSQL (DATABASE_URL) behind a round-robin dispatcher; the sandbox over HTTP with Altegio's
limits; Telegram's Bot API over HTTP; hundreds of clients booking at once, one replica killed
with SIGKILL when half the clients are done; reminders set to fall due during the run. Then the
same load on one process with SQLite, to compare. Reported from what the outside world saw."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bench import replica_processes as procs
from bench import replica_report as report
from bench.dispatcher import RoundRobin, httpx_post
from bench.replica_clients import Tenancy, WebhookUser, journey
from bench.telegram_http import TelegramFront
from bot.reminder_times import parse_offsets
from bot.storage import Storage
from standins.postgres_cluster import ClusterUnavailable, running_cluster
from standins.telegram.bot_api import BotApiStub

SLOT_GRID = timedelta(minutes=15)  # the sandbox's times start on it
ZONES = {1001: "Europe/Berlin", 1002: "Europe/Berlin", 1004: "Europe/Riga"}
RESULTS = Path(__file__).with_name("results.json")


@dataclass(frozen=True)
class Run:
    """One simulation's shape."""

    clients: int
    replicas: int
    database: str  # "postgresql" or "sqlite"
    kill: bool
    latency: float
    seed: int
    silence: float
    reminder_lead: timedelta
    horizon: timedelta


@dataclass
class Client:
    user: WebhookUser
    booked: bool = False
    failure: str | None = None
    finished_at: float = 0.0
    booked_seen: datetime | None = None


async def simulate(run: Run, folder: Path, database_url: str | None) -> dict[str, Any]:
    sandbox, sandbox_url = procs.start_sandbox(run.latency)
    stubs = {
        bot.token: BotApiStub(token=bot.token, bot_id=int(bot.token.split(":")[0]))
        for bot in procs.BOTS
    }
    telegram = TelegramFront(stubs)
    replicas: list[procs.Replica] = []
    balancer_client = httpx.AsyncClient(
        timeout=httpx.Timeout(5.0), limits=httpx.Limits(max_connections=400)
    )
    try:
        telegram_port = await telegram.start("127.0.0.1", 0)
        # Reminders fall due at `first_due` and every 15 minutes after it: the appointments
        # booked before it each have one due then (those within the horizon).
        first_due = _whole_minute(datetime.now(UTC) + timedelta(seconds=20) + run.reminder_lead)
        offset_texts = report.offsets_due_at(first_due, SLOT_GRID, run.horizon)
        tenants = procs.write_tenants(folder, offset_texts)
        env = procs.replica_env(f"http://127.0.0.1:{telegram_port}", sandbox_url, tenants)
        replicas = procs.start_replicas(run.replicas, folder, env, database_url)
        await procs.wait_healthy(replicas)
        balancer = RoundRobin([r.url for r in replicas], httpx_post(balancer_client))
        started_log = len(await _sandbox_log(sandbox_url))
        clients, phase = await _book_all(
            run,
            telegram=telegram,
            stubs=stubs,
            balancer=balancer,
            sandbox_url=sandbox_url,
            replicas=replicas,
        )
        records = await _records(sandbox_url)
        reminders = await _await_reminders(
            clients, records, parse_offsets(",".join(offset_texts)), first_due, phase["done"]
        )
        log = await _sandbox_log(sandbox_url)
        report.write_traces(folder / "not-booked.txt", clients, balancer.deliveries)
    finally:
        procs.stop([r.process for r in replicas])
        await balancer_client.aclose()
        await telegram.stop()
        procs.stop([sandbox])
    return _summary(run, clients, phase, balancer, records, log, started_log, reminders)


def _whole_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


async def _sandbox_log(root: str) -> list[list[Any]]:
    async with httpx.AsyncClient(timeout=30.0) as client:
        entries: list[list[Any]] = (await client.get(f"{root}/__bench/log")).json()
    return entries


async def _records(root: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=30.0) as client:
        for bot in procs.BOTS:
            answer = await client.get(f"{root}/__sandbox/records?company_id={bot.company_id}")
            rows.extend(answer.json())
    return rows


async def _book_all(
    run: Run,
    *,
    telegram: TelegramFront,
    stubs: dict[str, BotApiStub],
    balancer: RoundRobin,
    sandbox_url: str,
    replicas: list[procs.Replica],
) -> tuple[list[Client], dict[str, Any]]:
    """Every client books at once; one replica is killed when half are done."""
    http = httpx.AsyncClient(timeout=httpx.Timeout(30.0))
    by_name = {bot.name: bot for bot in procs.BOTS}

    async def deliver(tenant: str, update: dict[str, Any]) -> int:
        # Telegram hands the update to the load balancer (in this process: a hop less to pay
        # for here), which posts it to a replica over HTTP.
        bot = by_name[tenant]
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": bot.secret,
        }
        status, _ = await balancer.forward(bot.path, json.dumps(update).encode(), headers)
        return status

    async def sms(company_id: int, phone: str) -> str | None:
        params: dict[str, str | int] = {"company_id": company_id, "phone": phone}
        answer = await http.get(f"{sandbox_url}/__sandbox/sms", params=params)
        code = answer.json().get("code")
        return str(code) if code else None

    clients = []
    for index in range(run.clients):
        bot = procs.BOTS[index % len(procs.BOTS)]

        def activity(chat_id: int, token: str = bot.token) -> Any:
            return telegram.activity(token, chat_id)

        tenancy = Tenancy(bot.name, bot.company_id, bot.token, stubs[bot.token], activity)
        user = WebhookUser(
            tenancy,
            deliver,
            silence=run.silence,
            user_id=800_000 + index,
            first_name=f"Client{index}",
            phone_number=f"+49151{index:08d}",
        )
        clients.append(Client(user))
    rng = random.Random(run.seed)
    seeds = [rng.random() for _ in clients]
    half = asyncio.Event()  # half the clients are done: one replica dies
    count = [0]

    async def one(client: Client, seed: float) -> None:
        try:
            client.booked = await journey(client.user, random.Random(seed), sms)
            if not client.booked:
                client.failure = "led elsewhere: " + (client.user.last.text or "")[:40]
        except AssertionError as exc:
            # "Client7 sees no button 'X'; visible: ...": said of no one, without the screen.
            said = str(exc).split("; visible")[0]
            client.failure = said.removeprefix(client.user.first_name).strip()
        client.finished_at = time.monotonic()
        if client.booked:
            client.booked_seen = datetime.now(UTC)
        count[0] += 1
        if count[0] * 2 >= run.clients:
            half.set()

    phase: dict[str, Any] = {"killed": None, "killed_at": None}

    async def killer() -> None:
        await half.wait()
        victim = replicas[1]
        phase["killed_at"] = time.monotonic()
        phase["killed"] = victim.index
        procs.kill(victim)

    started = time.monotonic()
    kill_task = asyncio.create_task(killer()) if run.kill and len(replicas) > 1 else None
    try:
        await asyncio.gather(*(one(c, s) for c, s in zip(clients, seeds, strict=True)))
    finally:
        if kill_task is not None and not kill_task.done():
            kill_task.cancel()
        await http.aclose()
    phase["seconds"] = time.monotonic() - started
    phase["done"] = datetime.now(UTC)
    return clients, phase


async def _await_reminders(
    clients: list[Client],
    records: list[dict[str, Any]],
    offsets: tuple[timedelta, ...],
    first_due: datetime,
    done: datetime,
) -> dict[str, Any]:
    """Wait for the reminders due by the time counted until (`report.counting_until`), and a
    little more for any sent twice; count them per booking."""
    until = report.counting_until(first_due, done, SLOT_GRID, timedelta(minutes=3))
    start_of = {
        "".join(ch for ch in str(row["phone"]) if ch.isdigit()): row
        for row in records
        if not row.get("deleted")
    }
    expected: list[tuple[int, int]] = []
    booked = [c for c in clients if c.booked and c.booked_seen is not None]
    for client in booked:
        row = start_of.get("".join(ch for ch in client.user.phone_number if ch.isdigit()))
        if row is None or client.user.committed_at is None or client.booked_seen is None:
            expected.append((0, 0))
            continue
        zone = ZoneInfo(ZONES[int(row["company_id"])])
        start = datetime.fromisoformat(str(row["start"]))
        between = (client.user.committed_at, client.booked_seen)
        expected.append(report.expected_reminders(start, offsets, zone, between, until))
    # Every reminder due by `until` is out well before the next due time, or never.
    give_up = until + SLOT_GRID - timedelta(seconds=30)
    settled_since: datetime | None = None
    while datetime.now(UTC) < give_up:
        now = datetime.now(UTC)
        got = [c.user.reminders for c in booked]
        complete = now > until and all(
            g >= least for (least, _), g in zip(expected, got, strict=True)
        )
        settled_since = (settled_since or now) if complete else None
        if settled_since is not None and now - settled_since > timedelta(seconds=30):
            break
        await asyncio.sleep(2.0)
    tally = report.reminder_tally(expected, [c.user.reminders for c in booked])
    return {
        **tally,
        "first_due": first_due.isoformat(),
        "counted_until": until.isoformat(),
        "every_min": int(SLOT_GRID.total_seconds() // 60),
    }


def _summary(  # noqa: PLR0917 - the run's parts, each named
    run: Run,
    clients: list[Client],
    phase: dict[str, Any],
    balancer: RoundRobin,
    records: list[dict[str, Any]],
    log: list[list[Any]],
    started_log: int,
    reminders: dict[str, Any],
) -> dict[str, Any]:
    booked = sum(c.booked for c in clients)
    arrivals = sorted(float(entry[0]) for entry in log)
    waits = [w for c in clients for w in c.user.waits]
    kill: dict[str, Any] | None = None
    if phase["killed"] is not None:
        conversations = [
            report.Conversation(c.user.chat_id, c.booked, c.finished_at) for c in clients
        ]
        kill = report.continued_after_kill(
            balancer.deliveries, conversations, phase["killed"], phase["killed_at"]
        )
    failures = Counter(c.failure for c in clients if c.failure)
    return {
        "replicas": run.replicas,
        "database": run.database,
        "tenants": len(procs.BOTS),
        "clients": run.clients,
        "latency_ms": run.latency * 1000,
        "bookings_made": booked,
        "journeys_not_booked": run.clients - booked,
        "why_not_booked": dict(failures.most_common(5)),
        "seconds": round(phase["seconds"], 1),
        "bookings_per_minute": round(booked / phase["seconds"] * 60, 1),
        "double_bookings": {
            "overlapping_records": len(report.overlapping(records)),
            "clients_booked_twice": len(
                report.booked_twice(records, [c.user.phone_number for c in clients])
            ),
        },
        "altegio_requests": len(log),
        "altegio_requests_at_start": started_log,
        "http_429": sum(1 for entry in log if entry[2] == 429),
        "peak_requests_1s": report.peaks(arrivals, 1.0),
        "peak_requests_60s": report.peaks(arrivals, 60.0),
        "killed_replica": kill,
        "updates_by_replica": dict(Counter(d.replica for d in balancer.deliveries)),
        "dispatcher_failovers": len(balancer.failures),
        "updates_resent_after_silence": sum(c.user.resent for c in clients),
        "updates_refused_by_every_replica": sum(c.user.undelivered for c in clients),
        "reply_s_p50": round(statistics.median(waits), 2) if waits else None,
        "reply_s_p95": round(sorted(waits)[int(0.95 * (len(waits) - 1))], 2) if waits else None,
        "reminders": reminders,
    }


@contextmanager
def _postgres() -> Iterator[str | None]:
    """A throw-away PostgreSQL database's URL; None (said) where it cannot be had."""
    cluster = running_cluster()
    try:
        started = next(cluster)
    except ClusterUnavailable as exc:
        print(f"no PostgreSQL: {exc}")
        yield None
        return
    try:
        yield started.create_database("bench")
    finally:
        cluster.close()


def shared_storage() -> bool:
    """Whether the bot can keep its state in PostgreSQL (DATABASE_URL), so that replicas can
    share it; without it, replicas cannot share one SQLite file (the second is refused)."""
    return hasattr(Storage, "open_url")


async def simulations(args: argparse.Namespace) -> dict[str, Any]:
    shape = {
        "clients": args.replica_clients,
        "latency": args.latency,
        "seed": args.seed,
        "silence": args.silence,
        "reminder_lead": timedelta(
            minutes=args.reminder_lead or max(2.0, args.replica_clients / 60)
        ),
        "horizon": timedelta(days=args.reminder_horizon),
    }
    runs: dict[str, Any] = {"command": "python -m bench --replicas " + _flags(args)}
    with _folder(args.replica_trace) as folder:
        if args.replica_count > 1 and not shared_storage():
            runs["replicated"] = {"skipped": "the bot has no PostgreSQL storage (DATABASE_URL)"}
        elif args.replica_count > 1:
            with _postgres() as url:
                if url is None:
                    runs["replicated"] = {"skipped": "PostgreSQL cannot be started here"}
                else:
                    (folder / "pg").mkdir()
                    run = Run(
                        replicas=args.replica_count, database="postgresql", kill=True, **shape
                    )
                    runs["replicated"] = await simulate(run, folder / "pg", url)
        if not args.no_sqlite:
            (folder / "sqlite").mkdir()
            run = Run(replicas=1, database="sqlite", kill=False, **shape)
            runs["one_sqlite_process"] = await simulate(run, folder / "sqlite", None)
    return runs


@contextmanager
def _folder(kept: Path | None) -> Iterator[Path]:
    """Where the runs keep their files: `kept` (left for reading), or a temporary folder."""
    if kept is not None:
        kept.mkdir(parents=True, exist_ok=True)
        yield kept
        return
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def _flags(args: argparse.Namespace) -> str:
    return (
        f"--replica-clients {args.replica_clients} --replica-count {args.replica_count} "
        f"--latency {args.latency} --seed {args.seed}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--replicas",
        action="store_true",
        help="only the replica simulation (PostgreSQL, replicas, a kill; then one SQLite process)",
    )
    parser.add_argument("--replica-clients", type=int, default=300)
    parser.add_argument("--replica-count", type=int, default=3, help="1: the SQLite run only")
    parser.add_argument("--no-sqlite", action="store_true", help="no SQLite comparison run")
    parser.add_argument(
        "--silence",
        type=float,
        default=120.0,
        help="seconds without a sign before a client acts again",
    )
    parser.add_argument(
        "--reminder-lead",
        type=float,
        default=None,
        help="minutes from the start to the first due reminder (default: a minute per 60 clients)",
    )
    parser.add_argument("--reminder-horizon", type=float, default=7.0, help="days of offsets")
    parser.add_argument("--replicas-json", type=Path, default=RESULTS)
    parser.add_argument(
        "--replica-trace",
        type=Path,
        default=None,
        help="a folder to keep the replicas' logs in, and the chats of clients not booked",
    )


def run_replicas(args: argparse.Namespace) -> None:
    runs = asyncio.run(simulations(args))
    print(report.table(runs))
    path: Path = args.replicas_json
    results = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    results["replicas"] = runs
    path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nJSON: {path} (key replicas)")
