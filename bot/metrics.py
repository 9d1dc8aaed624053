"""What the bot counts, in Prometheus' terms, and the heartbeat of its reminder tick.

Plain code, no Telegram: every metric lives in a registry the `Metrics` object owns (never the
process-wide default), so two bots in one process, as in the tests, count apart. No label ever
carries client data: endpoints are route names (`book_record`), outcomes are fixed words.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

# Booking outcomes, as the booking workflow returns them (`Booked`, `NotBooked`, `Checking`).
BOOKED, REFUSED, UNCERTAIN = "booked", "refused", "uncertain"


class Metrics:
    """The bot's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter("bot_updates_handled", "Telegram updates handled.", registry=r)
        self.update_seconds = Histogram(
            "bot_update_handling_seconds", "Time to handle one update.", registry=r
        )
        self.altegio_requests = Counter(
            "bot_altegio_requests",
            "Altegio requests by endpoint (route name) and outcome.",
            ["endpoint", "outcome"],
            registry=r,
        )
        self.limiter_queue = Gauge(
            "bot_altegio_limiter_queue", "Altegio calls waiting for the rate limiter.", registry=r
        )
        self.limiter_wait = Histogram(
            "bot_altegio_limiter_wait_seconds",
            "Time an Altegio call waited for the rate limiter.",
            buckets=(0.005, 0.05, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=r,
        )
        self.bookings = Counter(
            "bot_bookings",
            "Bookings by outcome (booked, refused, uncertain).",
            ["outcome"],
            registry=r,
        )
        self.reminders = Counter(
            "bot_reminders",
            "Reminders by outcome (sent, skipped, failed).",
            ["outcome"],
            registry=r,
        )
        self.webhooks = Counter(
            "bot_altegio_webhooks",
            "Altegio webhook deliveries by outcome (accepted, repeated, ignored, refused, failed).",
            ["outcome"],
            registry=r,
        )
        self.reminder_reads = Counter(
            "bot_reminder_reads",
            "Appointments checked before a reminder, by source (altegio, webhooks: the stored "
            "copy webhooks keep fresh).",
            ["source"],
            registry=r,
        )
        self.shared_times = Counter(
            "bot_altegio_shared_times",
            "Free times served from a copy shared with other clients while clients queued for "
            "the rate limit, each a request saved.",
            registry=r,
        )
        self.known_taken = Counter(
            "bot_altegio_known_taken",
            "Bookings of a time the bot's own bookings had just filled, refused without a "
            "request to Altegio.",
            registry=r,
        )
        self.stale_shared_refusals = Counter(
            "bot_altegio_stale_shared_refusals",
            "Bookings Altegio refused as taken whose time the client was shown from a shared "
            "copy of the free times (an upper bound of the refusals sharing caused).",
            registry=r,
        )
        self.breaker_open = Gauge(
            "bot_altegio_breaker_open",
            "1 while calls to Altegio are paused (the breaker).",
            registry=r,
        )

    def watch(self, *, queue: Callable[[], float], breaker_open: Callable[[], bool]) -> None:
        """Read the limiter's queue and the breaker's state whenever metrics are scraped."""
        self.limiter_queue.set_function(queue)
        self.breaker_open.set_function(lambda: 1.0 if breaker_open() else 0.0)

    def altegio_request(self, endpoint: str, outcome: str) -> None:
        self.altegio_requests.labels(endpoint=endpoint, outcome=outcome).inc()

    def shared_copy(self, event: str) -> None:
        """A shared copy of free times used (`used`), a booking refused whose time came from
        one (`stale`), or one refused without a request (`known`): see
        `bot/altegio/shared_times.py`."""
        counters = {"stale": self.stale_shared_refusals, "known": self.known_taken}
        counters.get(event, self.shared_times).inc()

    def booking(self, outcome: str) -> None:
        self.bookings.labels(outcome=outcome).inc()

    def reminder(self, outcome: str) -> None:
        self.reminders.labels(outcome=outcome).inc()

    def webhook(self, outcome: str) -> None:
        self.webhooks.labels(outcome=outcome).inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)


class Heartbeat:
    """When the reminder tick last ran and an update was last taken up, by the injected clock."""

    def __init__(self) -> None:
        self.last_tick: datetime | None = None
        self.last_update: datetime | None = None
        # When the tick under way began (None: none is): a tick waiting on a slow Altegio or
        # its rate limit is alive, not stalled.
        self.tick_since: datetime | None = None

    def tick(self, now: datetime) -> None:
        self.last_tick = now
        self.tick_since = now

    def tick_done(self, now: datetime) -> None:
        self.last_tick = now
        self.tick_since = None

    def update(self, now: datetime) -> None:
        self.last_update = now
