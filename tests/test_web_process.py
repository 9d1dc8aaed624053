"""`altegio-bot run` as a real process, against a small Bot API stand-in over HTTP: in webhook
mode it registers its webhook, answers an update posted with the secret, serves /healthz and
/metrics, and on SIGTERM finishes what it took, writes its state and exits cleanly; a restart
carries the conversation on. In polling mode /healthz is served as well."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

TOKEN = "123456789:process-test-token-0000000000"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Salon", "username": "s_bot"}
ANNA = {"id": 4242, "is_bot": False, "first_name": "Anna", "language_code": "en"}
CHAT = {"id": 4242, "type": "private", "first_name": "Anna"}
SECRET = "process-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotApi:
    """Just the Bot API methods `run` calls, answered over HTTP."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent = asyncio.Event()
        self.ready = asyncio.Event()  # the webhook set, or polling begun
        self.messages = 0
        self.screens: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(await request.post())
        self.calls.append((method, params))
        result: Any = True
        if method == "getMe":
            result = BOT_USER
        elif method in ("setWebhook", "getUpdates"):
            self.ready.set()
            result = [] if method == "getUpdates" else True
        elif method.startswith(("send", "edit")) and method != "sendChatAction":
            self.sent.set()
            self.messages += 1
            result = {
                "message_id": int(params.get("message_id", self.messages)),
                "date": 1_790_000_000,
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
            if "reply_markup" in params:
                self.screens.append((result, json.loads(str(params["reply_markup"]))))
                self.changed.set()
        return web.json_response({"ok": True, "result": result})

    def button(self, label: str) -> tuple[dict[str, Any], str]:
        """The latest message with a button so labelled, and the button's data."""
        for message, markup in reversed(self.screens):
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if label in button["text"]:
                        return message, str(button["callback_data"])
        raise AssertionError(f"no button {label!r}")


@dataclass
class Running:
    """The Bot API stand-in served, and how to start the bot as a process against it."""

    api: BotApi
    env: dict[str, str]
    bot_port: int
    cwd: Path

    async def start(self) -> asyncio.subprocess.Process:
        """`altegio-bot run`, once it has registered its webhook or begun to poll."""
        self.api.ready.clear()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await asyncio.wait_for(self.api.ready.wait(), 60)
        except TimeoutError:
            process.kill()
            raise
        return process

    async def screen_with(self, label: str) -> tuple[dict[str, Any], str]:
        """Wait (for the bot process, at most a minute) until a screen shows `label`."""
        async with asyncio.timeout(60):
            while True:
                try:
                    return self.api.button(label)
                except AssertionError:
                    self.api.changed.clear()
                    await self.api.changed.wait()


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    api = BotApi()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", api.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    api_port, bot_port = free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", api_port).start()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{api_port}/bot",
        "BOT_DB_PATH": str(tmp_path / "bot.sqlite3"),
        "WEBHOOK_URL": "https://bot.example.com/tg/abc123",
        "WEBHOOK_LISTEN": f"127.0.0.1:{bot_port}",
        "WEBHOOK_SECRET": SECRET,
        "ALTEGIO_PARTNER_TOKEN": "",
        "ALTEGIO_COMPANY_ID": "",
    }
    yield Running(api, env, bot_port, tmp_path)
    await runner.cleanup()


async def stopped(process: asyncio.subprocess.Process) -> str:
    """SIGTERM, and the process's output once it has exited."""
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return output.decode()


async def test_run_in_webhook_mode_answers_and_stops_on_sigterm(running: Running) -> None:
    api, tmp_path, bot_port = running.api, running.cwd, running.bot_port
    process = await running.start()
    try:
        registered = dict(api.calls)["setWebhook"]
        assert registered["url"] == "https://bot.example.com/tg/abc123"
        assert registered["secret_token"] == SECRET
        assert registered["drop_pending_updates"] in ("False", "false")
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1_790_000_000,
                "chat": {"id": 4242, "type": "private", "first_name": "Anna"},
                "from": {"id": 4242, "is_bot": False, "first_name": "Anna", "language_code": "en"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bot_port}") as client:
            refused = await client.post("/tg/abc123", json=update)
            assert refused.status_code == 403
            taken = await client.post(
                "/tg/abc123",
                content=json.dumps(update),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            assert taken.status_code == 200
            await asyncio.wait_for(api.sent.wait(), 60)
            assert (await client.get("/healthz")).status_code == 200
            assert "bot_updates_handled_total 1.0" in (await client.get("/metrics")).text
    finally:
        log = await stopped(process)
    assert process.returncode == 0, log
    assert "stopped; conversations written" in log
    assert SECRET not in log and TOKEN.split(":")[1] not in log
    # The chat's state reached the file, and the lock was let go.
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM chats").fetchone() is not None


def text_update(update_id: int, text: str) -> dict[str, Any]:
    entities = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1000 + update_id,
            "date": 1_790_000_000,
            "chat": CHAT,
            "from": ANNA,
            "text": text,
            **({"entities": entities} if text.startswith("/") else {}),
        },
    }


def tap_update(update_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
    query = {
        "id": str(update_id),
        "from": ANNA,
        "message": message,
        "chat_instance": "1",
        "data": data,
    }
    return {"update_id": update_id, "callback_query": query}


async def test_sigterm_mid_booking_then_a_restart_resumes_the_conversation(
    running: Running,
) -> None:
    """A tap is taken by the webhook and SIGTERM follows at once: the stopping bot still
    handles it and writes the conversation; the restarted bot carries on from that step."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    async def post(client: httpx.AsyncClient, update: dict[str, Any]) -> None:
        answer = await client.post("/tg/abc123", content=json.dumps(update), headers=headers)
        assert answer.status_code == 200

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.bot_port}") as client:
        first = await running.start()
        try:
            await post(client, text_update(1, "/book"))
            message, hair = await running.screen_with("Hair")
            await post(client, tap_update(2, message, hair))
        finally:
            log = await stopped(first)  # SIGTERM with the tap just taken, maybe under way
        assert first.returncode == 0, log
        # The stopping bot handled the tap: the services of the category are shown.
        message, haircut = await running.screen_with("Women's haircut")
        second = await running.start()
        try:
            await post(client, tap_update(3, message, haircut))
            await running.screen_with("Any available team member")
        finally:
            log = await stopped(second)
        assert second.returncode == 0, log


async def test_polling_mode_serves_healthz_too_and_stops_on_sigterm(running: Running) -> None:
    del running.env["WEBHOOK_URL"], running.env["WEBHOOK_SECRET"]
    process = await running.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.bot_port}") as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.post("/tg/abc123", json={})).status_code in (404, 405)
    finally:
        log = await stopped(process)
    assert process.returncode == 0, log
    methods = {method for method, _ in running.api.calls}
    assert "deleteWebhook" in methods and "setWebhook" not in methods


async def test_run_with_an_admin_token_takes_altegio_events_on_their_secret_path(
    running: Running,
) -> None:
    from bot.settings import Settings

    admin_token = "process-admin-user-token"
    running.env["ALTEGIO_USER_TOKEN"] = admin_token
    path = Settings.load(env=running.env, env_file=Path("/nonexistent")).altegio_hook_path
    assert path is not None and path.startswith("/altegio/")
    event = {
        "company_id": 1001,
        "resource": "record",
        "resource_id": 77,
        "status": "update",
        "data": {"id": 77, "last_change_date": "2026-11-24T09:00:00+0100"},
    }
    process = await running.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.bot_port}") as client:
            assert (await client.post(path, json=event)).status_code == 200
            assert (await client.post(path, content=b"<html>")).status_code == 400
            assert (await client.post("/altegio/" + "0" * 32, json=event)).status_code == 404
    finally:
        log = await stopped(process)
    assert process.returncode == 0, log
    assert admin_token not in log and path.removeprefix("/altegio/") not in log
    assert "altegio webhook: a body refused (not JSON)" in log
    # The event was kept before it was answered.
    with sqlite3.connect(running.cwd / "bot.sqlite3") as db:
        keys = [row[0] for row in db.execute("SELECT key FROM hook_inbox")]
    assert keys == ["1001:record:77:update:2026-11-24T09:00:00+0100"]
