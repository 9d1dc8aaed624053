"""The booking funnel: how far clients of the bot get. A draft's milestones are recorded once
each (`started` when a booking begins, `chose_time` once a time is chosen, `booked`), and the
`started` row follows the step the client is on, so a draft never booked tells where the client
left. Moves and cancels through the bot are recorded too, for the weekly digest.

Counting is best effort: a database too busy to take a milestone loses it, never the booking.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from bot.draft import Draft
from bot.services import Services
from bot.storage import StorageUnavailable

log = logging.getLogger(__name__)

STARTED = "started"
CHOSE_TIME = "chose_time"
BOOKED = "booked"
MOVED = "moved"
CANCELLED = "cancelled"


def _write(services: Services, flow: str, step: str, *events: str) -> None:
    try:
        services.storage.funnel_event(flow, events, step, int(services.clock().timestamp()))
    except StorageUnavailable as exc:
        log.warning("funnel events %s not recorded: %s", events, exc)


def reached(services: Services, draft: Draft, step: str) -> None:
    """The client of a new booking is shown `step`: the draft has started, and has a time
    once one is chosen. Moves of an appointment are not part of the funnel."""
    if draft.reschedule:
        return
    _write(services, draft.flow, step, STARTED, *((CHOSE_TIME,) if draft.slot else ()))


def booked(services: Services, flow: str) -> None:
    _write(services, flow, "booked", BOOKED)


def moved(services: Services, flow: str) -> None:
    _write(services, flow, "moved", MOVED)


def cancelled(services: Services, record_id: int) -> None:
    _write(services, f"cancel-{record_id}", "cancelled", CANCELLED)


@dataclass(frozen=True, slots=True)
class Funnel:
    """Drafts started in a period, how many chose a time and booked, and where the others
    stopped (the step they were on when they left); moves and cancels made in it."""

    started: int = 0
    chose_time: int = 0
    booked: int = 0
    stopped: dict[str, int] = field(default_factory=dict)
    moved: int = 0
    cancelled: int = 0

    def lines(self) -> list[str]:
        """The funnel in plain English, for the salon's admin chats."""
        out = [
            f"Started a booking: {self.started}",
            f"Chose a time: {self.chose_time}",
            f"Booked: {self.booked}",
        ]
        if self.stopped:
            where = ", ".join(
                f"{step} {count}"
                for step, count in sorted(self.stopped.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            out.append(f"Left at: {where}")
        return out


def count(services: Services, since: datetime, until: datetime) -> Funnel:
    """The funnel of drafts started, and moves and cancels made, in [since, until)."""
    rows = services.storage.funnel_rows(int(since.timestamp()), int(until.timestamp()))
    events: dict[str, set[str]] = {}
    steps: dict[str, str] = {}
    for flow, event, step, _ in rows:
        events.setdefault(flow, set()).add(event)
        if event == STARTED:
            steps[flow] = step
    stopped: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for flow, seen in events.items():
        totals.update(seen)
        if STARTED in seen and BOOKED not in seen:
            stopped[steps[flow]] += 1
    return Funnel(
        started=totals[STARTED],
        chose_time=sum(1 for seen in events.values() if STARTED in seen and CHOSE_TIME in seen),
        booked=sum(1 for seen in events.values() if STARTED in seen and BOOKED in seen),
        stopped=dict(stopped),
        moved=totals[MOVED],
        cancelled=totals[CANCELLED],
    )
