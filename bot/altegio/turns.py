"""The line of callers waiting for the Altegio limit: by priority, then tenant by tenant in turn.

Within a priority each tenant (one bot of a deployment serving several salons) has its own line,
first come first served, and the tenants with callers waiting take turns: one caller of each,
round and round. A tenant new to the round joins it just before the tenant served last (which
has just had its turn): a tenant with hundreds queued therefore delays another's caller by at
most one turn (one caller of each other tenant waiting), never by its whole queue. With one
tenant this is the plain order of asking.

Every step is O(1) in the callers waiting (amortised: a caller who gave up is dropped when the
line reaches it); O(tenants) where a tenant joins the round, or a caller is taken out of turn
(`take` of one not at the round's head: the shared limit's database chooses the tenant).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

from bot.altegio.queue_place import CURRENT, Place

T = TypeVar("T")

_WAITING, _TAKEN, _GONE = 0, 1, 2


class Waiter(Generic[T]):
    """One caller in line; `future` is answered with its place."""

    __slots__ = ("future", "place", "priority", "state", "tenant")

    def __init__(self, priority: int, tenant: Hashable, future: asyncio.Future[T]) -> None:
        self.priority = priority
        self.tenant = tenant
        self.future = future
        self.state = _WAITING
        self.place: Place | None = None  # the update it is for (`queue_place`), if any


class Turns(Generic[T]):
    """Callers waiting, by priority (lowest first), tenants in turn within one."""

    def __init__(self) -> None:
        self._rounds: dict[int, deque[Hashable]] = {}  # tenants with a line, in turn
        self._lines: dict[tuple[int, Hashable], deque[Waiter[T]]] = {}
        self._by_tenant: dict[Hashable, int] = {}
        self._by_priority: dict[int, int] = {}
        self._served: dict[int, Hashable] = {}  # the tenant served last, by priority
        self.taken = 0  # callers let through so far (the updates' places count from it)

    def __len__(self) -> int:
        return sum(self._by_priority.values())

    def waiting(self, tenant: Hashable | None = None, priority: int | None = None) -> int:
        """Callers still waiting: all of them, or one tenant's, or one priority's."""
        if tenant is not None:
            return self._by_tenant.get(tenant, 0)
        if priority is not None:
            return self._by_priority.get(priority, 0)
        return len(self)

    def add(self, priority: int, tenant: Hashable, future: asyncio.Future[T]) -> Waiter[T]:
        waiter = Waiter(priority, tenant, future)
        line = self._lines.get((priority, tenant))
        if line is None:
            line = self._lines[priority, tenant] = deque()
            round_ = self._rounds.setdefault(priority, deque())
            if round_ and round_[-1] == self._served.get(priority):
                round_.insert(len(round_) - 1, tenant)
            else:
                round_.append(tenant)
        place = CURRENT.get()
        if place is not None:
            ahead = sum(n for p, n in self._by_priority.items() if p <= priority)
            place.join(self, ahead)
            waiter.place = place
        line.append(waiter)
        self._count(waiter, 1)
        return waiter

    def first(self) -> Waiter[T] | None:
        """Whose turn it is: the most urgent priority waiting, its round's head tenant, that
        tenant's first caller."""
        for priority in sorted(self._rounds):
            head = self._head(priority)
            if head is not None:
                return head
        return None

    def heads(self, priority: int) -> Iterator[Waiter[T]]:
        """The first caller of each tenant waiting at `priority`, in turn."""
        for tenant in list(self._rounds.get(priority, ())):
            line = self._live(priority, tenant)
            if line:
                yield line[0]

    def first_of(self, priority: int, tenant: Hashable) -> Waiter[T] | None:
        """`tenant`'s first caller waiting at `priority`, if any."""
        if (priority, tenant) not in self._lines:
            return None
        line = self._live(priority, tenant)
        return line[0] if line else None

    def take(self, waiter: Waiter[T]) -> None:
        """`waiter`, first of its tenant's line, is let through: its tenant's turn goes to the
        end of the round."""
        line = self._lines[waiter.priority, waiter.tenant]
        assert line[0] is waiter
        line.popleft()
        self._count(waiter, -1)
        waiter.state = _TAKEN
        self.taken += 1
        if waiter.place is not None:
            waiter.place.leave()
        self._served[waiter.priority] = waiter.tenant
        round_ = self._rounds[waiter.priority]
        if round_[0] == waiter.tenant:
            round_.rotate(-1)
        else:
            round_.remove(waiter.tenant)
            round_.append(waiter.tenant)

    def drop(self, waiter: Waiter[T]) -> None:
        """The caller gave up waiting (it leaves the line when the line reaches it)."""
        if waiter.state == _WAITING:
            waiter.state = _GONE
            self._count(waiter, -1)
            if waiter.place is not None:
                waiter.place.leave()

    def drain(self) -> list[Waiter[T]]:
        """Everyone still waiting, in turn; the line is left empty."""
        left: list[Waiter[T]] = []
        while (waiter := self.first()) is not None:
            self.take(waiter)
            left.append(waiter)
        return left

    def _head(self, priority: int) -> Waiter[T] | None:
        round_ = self._rounds[priority]
        while round_:
            line = self._live(priority, round_[0])
            if line:
                return line[0]
            del self._lines[priority, round_.popleft()]
        del self._rounds[priority]
        return None

    def _live(self, priority: int, tenant: Hashable) -> deque[Waiter[T]]:
        line = self._lines[priority, tenant]
        while line and (line[0].state != _WAITING or line[0].future.done()):
            self.drop(line.popleft())
        return line

    def _count(self, waiter: Waiter[T], step: int) -> None:
        _step(self._by_tenant, waiter.tenant, step)
        _step(self._by_priority, waiter.priority, step)


K = TypeVar("K", bound=Hashable)


def _step(counts: dict[K, int], key: K, step: int) -> None:
    left = counts.get(key, 0) + step
    if left:
        counts[key] = left
    else:
        del counts[key]
