"""The replica simulation's other processes: the sandbox served over HTTP with Altegio's
limits (`bench.http_sandbox`), and the bot's replicas, each an `altegio-bot run` (`python -m
bot run`) on its own port, all reading one tenants file and one DATABASE_URL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN


@dataclass(frozen=True, slots=True)
class Bot:
    """One tenant of the simulation: its name, sandbox location and Telegram token."""

    name: str
    company_id: int
    token: str

    @property
    def path(self) -> str:
        return f"/tg/{self.name}"

    @property
    def secret(self) -> str:
        return f"bench-secret-{self.name}"


BOTS = (
    Bot("north", 1001, "7100000001:AAbenchNorthTokenForTheSimulation01"),
    Bot("south", 1002, "7100000002:AAbenchSouthTokenForTheSimulation02"),
    Bot("riga", 1004, "7100000004:AAbenchRigaTokenForTheSimulation004"),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sandbox(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The sandbox over HTTP in its own process; its root URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.http_sandbox", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, f"http://127.0.0.1:{int(process.stdout.readline())}"


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_tenants(folder: Path, offsets: list[str]) -> Path:
    """The tenants file: each bot its token, location, webhook and reminders (quiet hours off,
    so that reminders go out whenever they fall due); the partner token comes from the
    environment, shared."""
    tables = []
    for bot in BOTS:
        values: dict[str, object] = {
            "name": bot.name,
            "telegram_token": bot.token,
            "company_id": bot.company_id,
            "webhook_url": f"https://bench.invalid{bot.path}",
            "webhook_secret": bot.secret,
            "reminder_offsets": offsets,
            "quiet_hours": "off",
        }
        lines = [f"{key} = {_toml(value)}" for key, value in values.items()]
        tables.append("[[tenant]]\n" + "\n".join(lines) + "\n")
    path = folder / "tenants.toml"
    path.write_text("\n".join(tables), encoding="utf-8")
    return path


@dataclass
class Replica:
    index: int
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_replicas(
    count: int, folder: Path, env: dict[str, str], database_url: str | None
) -> list[Replica]:
    """`count` replicas of the bot, each on its own port; their output in folder/replica-N.log.
    They run in `folder`, so that no `.env` of the working directory is read."""
    replicas = []
    for index in range(count):
        port = free_port()
        # BOT_REPLICAS: each keeps to its share of the Altegio limit while PostgreSQL is away.
        own = {**env, "WEBHOOK_LISTEN": f"127.0.0.1:{port}", "BOT_REPLICAS": str(count)}
        if database_url:
            own["DATABASE_URL"] = database_url
        log = folder / f"replica-{index}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=folder,
                env=own,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        replicas.append(Replica(index, port, process, log))
    return replicas


def replica_env(telegram: str, sandbox: str, tenants: Path) -> dict[str, str]:
    """What every replica is given: the stand-ins' addresses, the shared partner token and
    the tenants file (nothing of this process's own bot settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ALTEGIO_"))}
    for name in ("BOT_DB_PATH", "DATABASE_URL", "DATABASE_SCHEMA", "BOT_DATA_DIR"):
        env.pop(name, None)
    env = {k: v for k, v in env.items() if not k.startswith("WEBHOOK_")}
    env.update(
        {
            "BOT_TENANTS_FILE": str(tenants),
            "ALTEGIO_BASE_URL": f"{sandbox}/api",
            "ALTEGIO_PARTNER_TOKEN": SANDBOX_PARTNER_TOKEN,
            "TELEGRAM_API_BASE_URL": f"{telegram}/bot",
            "TELEGRAM_API_BASE_FILE_URL": f"{telegram}/file/bot",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


async def wait_healthy(replicas: list[Replica], patience: float = 90.0) -> None:
    """Until every replica answers /healthz with 200; a replica that exits or stays unhealthy
    ends the simulation, with its log."""
    deadline = time.monotonic() + patience
    async with httpx.AsyncClient(timeout=2.0) as client:
        for replica in replicas:
            while True:
                if replica.process.poll() is not None:
                    raise RuntimeError(
                        f"replica {replica.index} exited:\n{replica.log.read_text()[-3000:]}"
                    )
                try:
                    answer = await client.get(f"{replica.url}/healthz")
                    if answer.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"replica {replica.index} not healthy:\n{replica.log.read_text()[-3000:]}"
                    )
                await asyncio.sleep(0.3)


def kill(replica: Replica) -> None:
    """As a host dies: no goodbye, nothing written."""
    os.kill(replica.process.pid, signal.SIGKILL)
    replica.process.wait()


def stop(processes: list[subprocess.Popen[Any]], grace: float = 20.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
