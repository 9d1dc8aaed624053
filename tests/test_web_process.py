"""`altegio-bot run` as a real process in webhook mode, against a small Bot API stand-in over
HTTP: it registers its webhook, answers an update posted with the secret, serves /healthz, and
on SIGTERM stops and exits cleanly with its state written."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

TOKEN = "123456789:process-test-token-0000000000"
SECRET = "process-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotApi:
    """Just the Bot API methods `run` calls in webhook mode, answered over HTTP."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent = asyncio.Event()
        self.webhook = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(await request.post())
        self.calls.append((method, params))
        result: Any = True
        if method == "getMe":
            result = {"id": 123456789, "is_bot": True, "first_name": "Salon", "username": "s_bot"}
        elif method == "setWebhook":
            self.webhook.set()
        elif method == "sendMessage":
            self.sent.set()
            result = {
                "message_id": 1,
                "date": 1_790_000_000,
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params.get("text", ""),
            }
        return web.json_response({"ok": True, "result": result})


async def test_run_in_webhook_mode_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
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
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await asyncio.wait_for(api.webhook.wait(), 60)
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
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await runner.cleanup()
    log = output.decode()
    assert process.returncode == 0, log
    assert "stopped; conversations written" in log
    assert SECRET not in log and TOKEN.split(":")[1] not in log
    # The chat's state reached the file, and the lock was let go.
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM chats").fetchone() is not None
