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
from bot.waitlist_rules import READS_PER_MINUTE, is_month_key
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
        self.months = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        await request.aread()
        if match := _TIMES.search(request.url.path):
            self.days[match[2]] += 1
        self.months += "/book_dates/" in request.url.path
        return self.sandbox.handle(request)


async def waitlist_costs(wishes: int = 1000, minutes: int = 60) -> dict[str, Any]:
    """Requests a minute the watcher uses with `wishes` wishes, against the limit of 200: when
    every day wished for is full (as when clients ask to wait), and when every one has free
    times (the most the watcher ever reads: the budget binds)."""
    return {
        "wishes": wishes,
        "minutes": minutes,
        "limit_per_minute": LIMIT_PER_MINUTE,
        "budget_per_minute": READS_PER_MINUTE,
        "all_days_full": await _scenario(wishes, minutes, full=True),
        "every_day_has_free_times": await _scenario(wishes, minutes, full=False),
    }


async def _scenario(wishes: int, minutes: int, *, full: bool) -> dict[str, Any]:
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
        if full:  # Altegio: nothing free on any day
            empty: dict[str, list[str]] = {"booking_dates": [], "booking_days": []}
            sandbox.fault(
                "GET", "book_dates", status=200, body={"success": True, "data": empty}, times=None
            )
        before, start, months_before = wire.requests, clock.now(), wire.months
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
        watched = {k: v for k, v in services.storage.watched().items() if not is_month_key(k)}
        keys = len(watched)
        near_keys = sum(1 for k in watched if _ahead(k[-10:], today) <= 1)
        later_keys = [info for k, info in watched.items() if _ahead(k[-10:], today) > 1]
        later_read = sum(1 for free, _, _ in later_keys if free is not None)
        months = wire.months - months_before
    finally:
        await altegio.aclose()
        services.storage.close()
    rate = used / minutes
    return {
        "watched_days": keys,  # distinct (services, team member, day): one read serves all
        "requests": used,
        "book_dates_reads": months,
        "book_times_reads": near + later,
        "requests_per_minute": round(rate, 2),
        "peak_requests_in_a_minute": max(per_minute, default=0),
        "share_of_limit": round(rate / LIMIT_PER_MINUTE, 4),
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
        "later_days_with_times_known": later_read,
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
