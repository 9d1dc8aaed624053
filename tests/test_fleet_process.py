"""`altegio-bot run` with a tenants file, as a real process: one tenant by webhook, one by long
polling, one HTTP server for both, and SIGTERM stopping both gracefully."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.test_web_process import CHAT, Running, running, stopped  # noqa: F401

TOKEN_A = "111111:tenant-a-process-token-000000"
TOKEN_B = "222222:tenant-b-process-token-000000"


def tenants(cwd: Path) -> Path:
    path = cwd / "tenants.toml"
    path.write_text(
        f"""
[[tenant]]
name = "aurora"
telegram_token = "{TOKEN_A}"
company_id = 1001
webhook_url = "https://bots.example.com/tg/aurora-1b2c"
webhook_secret = "aurora-secret"

[[tenant]]
name = "chain"
telegram_token = "{TOKEN_B}"
group_id = 100
""",
        encoding="utf-8",
    )
    return path


async def test_run_serves_every_tenant_and_stops_them_all(
    running: Running,  # noqa: F811
) -> None:
    env = running.env
    for name in ("TELEGRAM_BOT_TOKEN", "WEBHOOK_URL", "WEBHOOK_SECRET", "BOT_DB_PATH"):
        env.pop(name)
    env["BOT_TENANTS_FILE"] = str(tenants(running.cwd))
    process = await running.start()
    try:
        async with asyncio.timeout(60):
            while {"setWebhook", "getUpdates"} - {m for m, _ in running.api.calls}:
                running.api.ready.clear()  # set again by the next of either
                await running.api.ready.wait()
        base = f"http://127.0.0.1:{running.bot_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 1_790_000_000,
                    "chat": CHAT,
                    "from": {"id": CHAT["id"], "is_bot": False, "first_name": "Anna"},
                    "text": "/start",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                },
            }
            headers = {"X-Telegram-Bot-Api-Secret-Token": "aurora-secret"}
            taken = await client.post("/tg/aurora-1b2c", json=update, headers=headers)
            assert taken.status_code == 200
            await asyncio.wait_for(running.api.sent.wait(), 60)
            health = await client.get("/healthz")
            assert set(health.json()["tenants"]) == {"aurora", "chain"}
            metrics = (await client.get("/metrics")).text
            assert 'tenant="aurora"' in metrics and 'tenant="chain"' in metrics
    finally:
        output = await stopped(process)
    assert process.returncode == 0, output
    assert output.count("stopped; conversations written") == 2, output
    assert (running.cwd / "aurora.sqlite3").is_file() and (running.cwd / "chain.sqlite3").is_file()
    for secret in (TOKEN_A, TOKEN_B, "aurora-secret"):
        assert secret not in output
    webhook = next(params for method, params in running.api.calls if method == "setWebhook")
    assert webhook["url"] == "https://bots.example.com/tg/aurora-1b2c"
