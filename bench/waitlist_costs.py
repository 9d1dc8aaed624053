"""The waiting list's share of Altegio's rate limit: 1,000 wishes spread over the sandbox
salon's services, its team members (and "anyone") and the next four weeks, watched for an hour
of simulated time (the tick every ten seconds, an injected clock) on the in-process sandbox.

    python -m bench.waitlist_costs [--wishes 1000] [--minutes 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bot.app import build_services
from bot.settings import Settings
from bot.storage import Storage
from bot.waitlist_rules import READS_PER_MINUTE
from bot.workflows import waitlist
from standins.altegio.sandbox import Sandbox

BERLIN = ZoneInfo("Europe/Berlin")
LIMIT_PER_MINUTE = 200  # Altegio's, per IP
_TIMES = re.compile(r"/book_times/\d+/(\d+)/(\d{4}-\d{2}-\d{2})")


@dataclass
class _Clock:
    current: datetime = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.current.timestamp()

    async def sleep(self, seconds: float) -> None:
        self.current += timedelta(seconds=max(seconds, 0))


class _Counting(httpx.AsyncBaseTransport):
    """The sandbox, with each free-times read counted by the day it asks about."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.requests = 0
        self.days: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        await request.aread()
        if match := _TIMES.search(request.url.path):
            self.days[match[2]] += 1
        return self.sandbox.handle(request)


async def waitlist_costs(wishes: int = 1000, minutes: int = 60) -> dict[str, Any]:
    """Requests a minute the watcher uses with `wishes` wishes, against the limit of 200."""
    clock = _Clock()
    sandbox = Sandbox(clock.now)
    wire = _Counting(sandbox)
    settings = Settings.load(env={"ALTEGIO_COMPANY_ID": "1001"}, env_file=Path("/nonexistent"))
    services = build_services(
        settings,
        altegio_transport=wire,
        storage=Storage.open(None),
        clock=clock.now,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        jitter=lambda: 0.5,
    )
    altegio = services.altegio
    try:
        catalogue = await altegio.catalogue()
        choices: list[tuple[int, int]] = []
        for service in catalogue.services:
            members = [m.id for m in await altegio.staff([service.id]) if m.bookable]
            choices += [(service.id, staff) for staff in (0, *members)]
        today = clock.now().date()
        for n in range(wishes):
            service_id, staff_id = choices[n % len(choices)]
            first = today + timedelta(days=(n * 7) % 28)
            last = first + timedelta(days=(0, 2, 6)[n % 3])
            await waitlist.add(
                services,
                user_id=500_000 + n,
                chat_id=500_000 + n,
                language="en",
                service_ids=[service_id],
                staff_id=staff_id,
                first=first,
                last=last,
            )
        keys = len(services.storage.watched())
        before, start = wire.requests, clock.now()
        first_round_done: float | None = None
        per_minute: list[int] = []
        for tick in range(minutes * 6):
            clock.current += timedelta(seconds=10)
            at = wire.requests
            await waitlist.watch(services)
            if tick % 6 == 0:
                per_minute.append(0)
            per_minute[-1] += wire.requests - at
            unread = sum(1 for free, _, _ in services.storage.watched().values() if free is None)
            if first_round_done is None and unread == 0:
                first_round_done = (clock.now() - start).total_seconds() / 60
        used = wire.requests - before
        near = sum(n for day, n in wire.days.items() if _ahead(day, today) <= 1)
        later = sum(n for day, n in wire.days.items() if _ahead(day, today) > 1)
        watched = services.storage.watched()
        near_keys = sum(1 for k in watched if _ahead(k[-10:], today) <= 1)
        later_keys = [info for k, info in watched.items() if _ahead(k[-10:], today) > 1]
        later_read = sum(1 for free, _, _ in later_keys if free is not None)
    finally:
        await altegio.aclose()
        services.storage.close()
    rate = used / minutes
    return {
        "wishes": wishes,
        "watched_days": keys,  # distinct (services, team member, day): one read serves all
        "minutes": minutes,
        "requests": used,
        "requests_per_minute": round(rate, 2),
        "peak_requests_in_a_minute": max(per_minute, default=0),
        "share_of_limit": round(rate / LIMIT_PER_MINUTE, 4),
        "budget_per_minute": READS_PER_MINUTE,
        "minutes_until_every_day_read_once": round(first_round_done, 1)
        if first_round_done is not None
        else None,
        "days_today_and_tomorrow": near_keys,
        "reads_of_today_and_tomorrow": near,
        "minutes_between_reads_today_and_tomorrow": round(minutes * near_keys / near, 1)
        if near
        else None,
        "later_days": len(later_keys),
        "reads_of_later_days": later,
        "later_days_read_at_least_once": later_read,
        "skipped_for_clients": services.waitlist.skipped,
    }


def _ahead(day: str, today: date) -> int:
    return (date.fromisoformat(day) - today).days


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wishes", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=60)
    options = parser.parse_args()
    print(json.dumps(asyncio.run(waitlist_costs(options.wishes, options.minutes)), indent=2))


if __name__ == "__main__":
    main()
