"""The per-client guards and the Altegio circuit breaker, shared by every replica of one bot
through its PostgreSQL schema.

Behind a load balancer any replica may take any update: a guard kept in one process's memory
would see a third of a flood, let each replica text its own five codes an hour, hide a time only
from the clients of the replica that holds it, and keep calling Altegio from the replicas that
have not yet seen it fail. These variants keep the interface (and the rules) of the in-memory
ones (`bot/limits.py`, `bot.draft.Holds`, `bot/altegio/breaker.py`), which a bot on SQLite keeps
using as they are; the queries are `bot/storage/guard_rows.py`.

Time is the bot's injected clock, as Unix seconds: replicas may run on different hosts, whose
monotonic clocks never meet. When PostgreSQL does not answer, each guard does what is safest
for it (said at each), and none asks again for `RETRY` seconds: a try can wait for a connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from bot.altegio.breaker import Breaker
from bot.draft import HOLD
from bot.holds import Held, Holds, held_members
from bot.limits import CodeGuard, FloodGuard
from bot.storage import Storage, StorageUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds the guards keep to their fallbacks after PostgreSQL failed to answer.
RETRY = 5.0
# How often (seconds) a process deletes the rows that no longer guard anything.
TIDY = 60.0
# A code asked for while its count cannot be read waits this long (seconds).
CLOSED_WAIT = 30.0
# How stale (seconds) a replica's view of the shared breaker may be.
BREAKER_REFRESH = 1.0
CODE_WINDOW = 3600.0
# A flood bucket untouched this long is full again, and its row may go (20 tokens, 2 a second).
BUCKET_FULL = 20 / 2.0


class Reach:
    """The guards' one way to their tables: whether PostgreSQL answered lately, and the
    lapsed rows deleted now and then, by whichever replica comes first."""

    def __init__(self, storage: Storage, now: Callable[[], float]) -> None:
        self.storage = storage
        self._now = now
        self._down_until: float | None = None
        self._tidy_at = 0.0

    def ask(self, query: Callable[[], T]) -> T:
        """`query`'s answer; `StorageUnavailable` when it failed, or failed lately."""
        now = self._now()
        if self._down_until is not None and now < self._down_until:
            raise StorageUnavailable("the shared guards' database failed a moment ago")
        try:
            answer = query()
        except StorageUnavailable as exc:
            if self._down_until is None:
                log.warning("the shared guards' PostgreSQL failed: each replica alone (%s)", exc)
            self._down_until = now + RETRY
            raise
        if self._down_until is not None:
            self._down_until = None
            log.warning("the shared guards are kept in PostgreSQL again")
        if now >= self._tidy_at:
            self._tidy_at = now + TIDY
            with contextlib.suppress(StorageUnavailable):  # tried again at the next tidy
                self.storage.forget_lapsed_guards(
                    now, bucket_full=BUCKET_FULL, code_window=CODE_WINDOW
                )
        return answer


class SharedFloodGuard(FloodGuard):
    """`FloodGuard`'s bucket per client, kept in one row every replica takes tokens from."""

    def __init__(self, reach: Reach, clock: Callable[[], float]) -> None:
        super().__init__(clock)
        self._reach = reach

    def allow(self, client: int) -> tuple[bool, bool]:
        storage, now = self._reach.storage, self._clock()
        try:
            outcome = self._reach.ask(
                lambda: storage.take_token(client, now, self._burst, self._rate)
            )
        except StorageUnavailable:
            # Open across replicas: each slows a flood with its own bucket meanwhile. Shut,
            # it would turn every client of the bot away for a database hiccup.
            return super().allow(client)
        return outcome == 0, outcome == 1


class SharedCodeGuard(CodeGuard):
    """`CodeGuard`'s limits (one code a minute, five an hour, per phone and per client),
    counted for all replicas under row locks. The phone is kept as a digest: the table says
    how often, not to whom."""

    def __init__(self, reach: Reach, clock: Callable[[], float]) -> None:
        super().__init__(clock)
        self._reach = reach

    def wait(self, phone: str, client: int) -> float:
        return self._claim(phone, client, count=False)

    def allow(self, phone: str, client: int) -> float:
        wait = self._claim(phone, client, count=True)
        if wait > 0:
            self.refused += 1
        else:
            self.sent += 1
        return wait

    def _claim(self, phone: str, client: int, *, count: bool) -> float:
        storage, now = self._reach.storage, self._clock()
        digest = hashlib.sha256(phone.encode()).hexdigest()[:32]
        keys = (f"p:{digest}", f"c:{client}")

        def wait_for(sent: list[list[float]]) -> float:
            longest = 0.0
            for times in sent:
                if times:
                    longest = max(longest, times[-1] + self._spacing - now)
                if len(times) >= self._per_hour:
                    longest = max(longest, times[-self._per_hour] + CODE_WINDOW - now)
            wait = max(0.0, longest)
            return wait if wait > 0 or count else -1.0  # -1: free, but count nothing

        try:
            wait = self._reach.ask(lambda: storage.claim_code(keys, now, CODE_WINDOW, wait_for))
        except StorageUnavailable:
            # Shut: every text costs the salon money, and the count that keeps them few cannot
            # be read. The client is told to ask again shortly; the booking waits, nothing else.
            return CLOSED_WAIT
        return max(0.0, wait)


class SharedHolds(Holds):
    """`Holds` in a table: a time held on one replica is hidden from the clients of all."""

    def __init__(self, reach: Reach, ttl: float = HOLD.total_seconds()) -> None:
        super().__init__()
        self._reach = reach
        self._seconds = ttl

    # Open whenever PostgreSQL fails: a hold is a courtesy between clients, and Altegio's
    # answer to the booking decides who gets a time; a time shown that another client holds
    # costs one refused booking, never a double one.

    def keep(
        self,
        flow: str,
        staff_id: int | None,
        slot: str | None,
        now: datetime,
        length: int | None = None,
        *,
        members: frozenset[int] | None = None,
    ) -> None:
        storage = self._reach.storage
        with contextlib.suppress(StorageUnavailable):
            if staff_id is None or not slot:
                self._reach.ask(lambda: storage.release_time(flow))
            else:
                until = now.timestamp() + self._seconds
                kept = sorted(held_members(staff_id, members) or ())
                self._reach.ask(
                    lambda: storage.hold_time(flow, staff_id, slot, until, length or 0, kept)
                )

    def release(self, flow: str) -> None:
        storage = self._reach.storage
        with contextlib.suppress(StorageUnavailable):
            self._reach.ask(lambda: storage.release_time(flow))

    def spans_for_others(self, flow: str, staff_id: int, now: datetime) -> list[Held]:
        storage = self._reach.storage
        try:
            rows = self._reach.ask(lambda: storage.times_held(staff_id, flow, now.timestamp()))
        except StorageUnavailable:
            return []
        return [Held(slot, length, frozenset(members) or None) for slot, length, members in rows]


class SharedBreaker(Breaker):
    """`Breaker`'s rules with the failures in a row and the pause kept in one row per
    location: failures on any replica count together, and a pause one opens stops them all.

    It is asked on every Altegio call, so it costs a read at most every `refresh` seconds (a
    replica sees another's pause, or success, that much late) and a write on a failure and on
    the first success after failures. While PostgreSQL does not answer, the replica keeps its
    own count (`Breaker` itself): a local decision is as good as a breaker gets alone.
    """

    def __init__(
        self,
        reach: Reach,
        name: str,
        clock: Callable[[], float],
        *,
        threshold: int = 5,
        cooldown: float = 30.0,
        refresh: float = BREAKER_REFRESH,
    ) -> None:
        super().__init__(clock, threshold, cooldown)
        self._reach = reach
        self._name = name
        self._refresh = refresh
        self._shared = (0, 0.0)  # (failures in a row, paused until) as last read or written
        self._read_at: float | None = None

    def _state(self) -> tuple[int, float] | None:
        """The shared state, read again once `refresh` old; None: the local count decides."""
        now = self._monotonic()
        if self._read_at is None or not 0 <= now - self._read_at < self._refresh:
            storage = self._reach.storage
            try:
                self._shared = self._reach.ask(lambda: storage.breaker_state(self._name))
            except StorageUnavailable:
                return None
            self._read_at = now
        return self._shared

    @property
    def is_open(self) -> bool:
        state = self._state()
        if state is None:
            return super().is_open
        return self._monotonic() < state[1]

    @property
    def remaining(self) -> float:
        state = self._state()
        if state is None:
            return super().remaining
        return max(0.0, state[1] - self._monotonic())

    @property
    def failing(self) -> bool:
        state = self._state()
        if state is None:
            return super().failing
        return state[0] > 0 or self.is_open

    def failure(self) -> None:
        storage, now = self._reach.storage, self._monotonic()
        was_open = now < self._shared[1]
        try:
            self._shared = self._reach.ask(
                lambda: storage.breaker_failed(self._name, now, self._threshold, self._cooldown)
            )
        except StorageUnavailable:
            super().failure()
            return
        self._read_at = now
        if not was_open and now < self._shared[1]:
            log.warning("Altegio keeps failing: pausing calls for %.0f s", self._cooldown)

    def success(self) -> None:
        super().success()
        if self._read_at is not None and self._shared == (0, 0.0):
            return  # nothing to close, as last seen: no write on the common path
        storage = self._reach.storage
        try:
            self._reach.ask(lambda: storage.breaker_closed(self._name))
        except StorageUnavailable:
            return
        self._shared = (0, 0.0)
        self._read_at = self._monotonic()


class SharedGuards:
    """The shared guards of one bot (one storage), made once at start."""

    def __init__(self, storage: Storage, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._reach = Reach(storage, clock)
        self.flood = SharedFloodGuard(self._reach, clock)
        self.codes = SharedCodeGuard(self._reach, clock)
        self.holds = SharedHolds(self._reach)

    def breaker(self, company_id: int) -> Breaker:
        """The circuit breaker of the Altegio client of one location."""
        return SharedBreaker(self._reach, f"altegio:{company_id}", self._clock)
