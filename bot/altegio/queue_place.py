"""Where a client's update stands in the line for Altegio's rate limit, for the note the client
sees while it waits (`bot/queue_note.py`).

The update processor gives each update a `Place` (`CURRENT`, a context variable: the update's
handlers, and the requests they make, run in its context); the line (`turns.Turns`) notes in it
how many callers were ahead when one of its requests joined, and counts those let through
since. Rough by design: a booking that arrives later goes ahead of reads, and tenants take
turns, so the place shown may go down by more than one at a time, or stay a moment longer.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

# Requests a second Altegio's minute limit lets through when the line is long (200 in 60 s).
PACE = 200 / 60.5


class Line(Protocol):
    @property
    def taken(self) -> int:
        """Callers let through so far."""
        ...


class Place:
    """One update's place: waiting while any of its requests is in the line."""

    __slots__ = ("_ahead", "_line", "_requests", "_taken_at", "on_first_wait")

    def __init__(self) -> None:
        self._requests = 0
        self._line: Line | None = None
        self._ahead = 0
        self._taken_at = 0
        # Told once, when a request of the update first joins the line (most never do).
        self.on_first_wait: Callable[[], None] | None = None

    def join(self, line: Line, ahead: int) -> None:
        """A request of the update joins `line` with `ahead` callers before it."""
        if self._requests == 0:
            self._line, self._ahead, self._taken_at = line, ahead, line.taken
        self._requests += 1
        told, self.on_first_wait = self.on_first_wait, None
        if told is not None:
            told()

    def leave(self) -> None:
        """A request of the update was let through (or gave up)."""
        self._requests = max(0, self._requests - 1)

    @property
    def waiting(self) -> bool:
        return self._requests > 0

    @property
    def number(self) -> int:
        """Its number in the line now (1: next)."""
        if self._line is None:
            return 1
        return max(1, self._ahead - (self._line.taken - self._taken_at) + 1)

    @property
    def seconds(self) -> int:
        """A rough wait, in whole seconds (at least one)."""
        return max(1, math.ceil(self.number / PACE))


CURRENT: ContextVar[Place | None] = ContextVar("altegio_queue_place", default=None)


def detached(work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """`work` in a task of its own that no update waits for (a refresh in the background): its
    requests in the line are nobody's, so no client is shown a note for them."""
    context = contextvars.copy_context()
    context.run(CURRENT.set, None)
    return asyncio.get_running_loop().create_task(work, context=context)
