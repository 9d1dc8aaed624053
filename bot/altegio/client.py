"""The Altegio online-booking client: `AltegioClient`, one method per endpoint, one `_request`.

It knows nothing of Telegram. Reads are retried within bounds and cached where the data rarely
changes; writes are never repeated once they may have reached Altegio.

The class is put together from parts, one module each, read best from the wire up:
`transport` (`_request`: limiter, retries, breaker, envelopes and errors), `location_calls`
(the location, shared by the others), `catalogue_calls` (services, team, days, free times),
`booking_calls` (code, check, booking, move), `record_calls` (existing appointments, user
tokens), `hook_calls` (the location's webhook settings) and `activity_calls` (group classes).
Here they meet, with every setting and its default.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from bot.altegio.activity_calls import ActivityCalls
from bot.altegio.booking_calls import BookingCalls
from bot.altegio.breaker import Breaker
from bot.altegio.cache import TtlCache
from bot.altegio.catalogue_calls import CatalogueCalls
from bot.altegio.hook_calls import HookCalls
from bot.altegio.limiter import Limiter, Sleep
from bot.altegio.models.company import Facts
from bot.altegio.own_bookings import OwnBookings
from bot.altegio.record_calls import RecordCalls
from bot.altegio.shared_times import SharedTimes
from bot.altegio.team_days import TeamDays
from bot.altegio.transport import DEFAULT_BASE_URL


def utc_now() -> datetime:
    return datetime.now(UTC)


class AltegioClient(BookingCalls, RecordCalls, CatalogueCalls, HookCalls, ActivityCalls):
    """Typed access to one Altegio location through the public online-booking API."""

    def __init__(
        self,
        *,
        partner_token: str,
        company_id: int,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        limiter: Limiter | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = utc_now,
        jitter: Callable[[], float] = random.random,
        max_attempts: int = 3,
        retry_after_cap: float = 10.0,
        catalogue_ttl: float = 300.0,
        availability_ttl: float = 180.0,
        nearest_ttl: float = 30.0,
        shared_times_ttl: float = 20.0,
        durations_ttl: float = 1800.0,
        withdrawn_ttl: float = 3600.0,
        facts: Facts | None = None,
        on_facts: Callable[[Facts], None] | None = None,
        breaker: Breaker | None = None,
    ) -> None:
        super().__init__(
            partner_token=partner_token,
            company_id=company_id,
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            limiter=limiter,
            sleep=sleep,
            monotonic=monotonic,
            clock=clock,
            jitter=jitter,
            max_attempts=max_attempts,
            retry_after_cap=retry_after_cap,
            breaker=breaker,
        )
        self._cache = TtlCache(monotonic)
        # The location (`LocationCalls`).
        self._catalogue_ttl = catalogue_ttl
        self._facts = facts or Facts()
        self._on_facts = on_facts
        self._merged = (None, None, None)
        # What can be booked (`CatalogueCalls`).
        self._availability_ttl = availability_ttl
        self._nearest_ttl = nearest_ttl
        # Free times shared while clients queue for the rate limit (`shared_times.py`).
        self.shared_times = SharedTimes(
            monotonic,
            shared_times_ttl,
            OwnBookings(clock),
            members=self._members,
            team_days=TeamDays(monotonic, availability_ttl),
        )
        self._durations_ttl = durations_ttl
        self._withdrawn_ttl = withdrawn_ttl
        self._withdrawn = {}
        self._staff_names = {}
        # Existing appointments (`RecordCalls`).
        self._list_form = None
