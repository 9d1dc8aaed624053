"""The circuit breaker: while Altegio keeps failing, calls fail at once instead of waiting."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.altegio import errors

# The client's parts log under the one name the client always had, so log lines read as before.
log = logging.getLogger("bot.altegio.client")


class Breaker:
    """Stops calling Altegio while it keeps failing, and lets one call through now and then.

    After `threshold` calls in a row end in an outage (after their own retries), every call
    fails at once for `cooldown` seconds; then calls go through again, and the first failure
    opens it anew while the first success closes it.
    """

    def __init__(
        self, monotonic: Callable[[], float], threshold: int = 5, cooldown: float = 30.0
    ) -> None:
        self._monotonic = monotonic
        self._threshold = threshold
        self._cooldown = cooldown
        self._failures = 0
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return self._monotonic() < self._open_until

    @property
    def remaining(self) -> float:
        """Seconds until calls go through again (0 when they do)."""
        return max(0.0, self._open_until - self._monotonic())

    @property
    def failing(self) -> bool:
        """The last call ended in an outage (or calls are paused)."""
        return self._failures > 0 or self.is_open

    def check(self) -> None:
        if self.is_open:
            raise errors.CircuitOpen("Altegio keeps failing; not calling it for a while")

    def success(self) -> None:
        self._failures = 0
        self._open_until = 0.0

    def failure(self) -> None:
        self._failures += 1
        if self._failures >= self._threshold:
            if not self.is_open:
                log.warning("Altegio keeps failing: pausing calls for %.0f s", self._cooldown)
            self._open_until = self._monotonic() + self._cooldown
            self._failures = self._threshold - 1  # after the pause, one failure reopens it
