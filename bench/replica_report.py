"""What the replica simulation reports, counted from what the outside world saw: the sandbox's
requests and records, the dispatcher's deliveries and the clients' chats. Plain functions over
plain data, so that the counting is tested on small inputs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.dispatcher import Delivery
from bot.reminder_times import plan_reminders


def peaks(arrivals: Sequence[float], window: float) -> int:
    """The most arrivals (sorted, in seconds) within any `window` seconds."""
    best, start = 0, 0
    for end, moment in enumerate(arrivals):
        while moment - arrivals[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def overlapping(records: Iterable[dict[str, Any]]) -> list[tuple[int, int]]:
    """Pairs of record ids of one team member whose times overlap (cancelled ones left out;
    a seat in a group class is not a team member's time of its own)."""
    by_member: dict[tuple[int, int], list[tuple[datetime, datetime, int]]] = defaultdict(list)
    for row in records:
        if row.get("deleted") or row.get("activity_id"):
            continue
        start = datetime.fromisoformat(str(row["start"]))
        end = start + timedelta(seconds=int(row["length"]))
        by_member[(int(row["company_id"]), int(row["staff_id"]))].append(
            (start, end, int(row["record_id"]))
        )
    pairs = []
    for times in by_member.values():
        times.sort()
        latest_end, latest_id = None, 0
        for start, end, record_id in times:
            if latest_end is not None and start < latest_end:
                pairs.append((latest_id, record_id))
            if latest_end is None or end > latest_end:
                latest_end, latest_id = end, record_id
    return pairs


def booked_twice(records: Iterable[dict[str, Any]], phones: Iterable[str]) -> dict[str, int]:
    """Clients (by phone) holding more than one record, each having booked once."""
    wanted = {_digits(phone) for phone in phones}
    count: dict[str, int] = defaultdict(int)
    for row in records:
        phone = _digits(str(row.get("phone", "")))
        if phone in wanted and not row.get("deleted"):
            count[phone] += 1
    return {phone: n for phone, n in count.items() if n > 1}


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


@dataclass(frozen=True, slots=True)
class Conversation:
    """One client's chat as the report needs it."""

    chat_id: int
    booked: bool
    finished_at: float  # monotonic, when the journey ended


def continued_after_kill(
    deliveries: Sequence[Delivery],
    conversations: Sequence[Conversation],
    killed: int,
    killed_at: float,
) -> dict[str, int]:
    """Conversations under way when replica `killed` died that had had an update on it: how
    many, how many sent further updates that another replica took, and how many of those went
    on to a booking (the conversation carried on, not begun again), and how many of them all
    were booked in the end (also those whose last update on the killed replica was handled
    by another, taken back from the database, with no further update of their own)."""
    on_killed = {d.chat_id for d in deliveries if d.replica == killed and d.at <= killed_at}
    elsewhere_after = {d.chat_id for d in deliveries if d.replica != killed and d.at > killed_at}
    affected = [c for c in conversations if c.chat_id in on_killed and c.finished_at > killed_at]
    moved = [c for c in affected if c.chat_id in elsewhere_after]
    return {
        "under_way_with_an_update_on_the_killed_replica": len(affected),
        "further_updates_on_another_replica": len(moved),
        "continued_and_booked": sum(c.booked for c in moved),
        "booked_in_the_end": sum(c.booked for c in affected),
    }


def expected_reminders(
    start: datetime,
    offsets: Sequence[timedelta],
    zone: ZoneInfo,
    booked_between: tuple[datetime, datetime],
    until: datetime,
) -> tuple[int, int]:
    """How many reminders of an appointment at `start` fall due by `until`, planned when it was
    booked (some time between the two instants given, quiet hours off): the least and the most
    (they differ only when a due time fell while the booking was being made)."""
    early, late = booked_between
    most = [p for p in plan_reminders(start, offsets, zone, None, early) if p.due <= until]
    least = [p for p in plan_reminders(start, offsets, zone, None, late) if p.due <= until]
    return len(least), len(most)


def reminder_tally(expected: Sequence[tuple[int, int]], received: Sequence[int]) -> dict[str, int]:
    """Per booking, the reminders expected (least, most) against those received."""
    pairs = list(zip(expected, received, strict=True))
    return {
        "bookings_with_a_reminder_due": sum(1 for (least, _), _ in pairs if least > 0),
        "reminders_expected": sum(least for (least, _), _ in pairs),
        "reminders_received": sum(received),
        "sent_twice": sum(max(0, got - most) for (_, most), got in pairs),
        "lost": sum(max(0, least - got) for (least, _), got in pairs),
    }


def counting_until(
    first_due: datetime, done: datetime, period: timedelta, margin: timedelta
) -> datetime:
    """The due time whose reminders (and all before it) are counted: the first, or the last
    one passed when the bookings were done, unless the next is less than `margin` away (its
    reminders could not be told from late ones: that next one then). No reminder of a later due
    time can come before the next is due, so counting ends there."""
    if done <= first_due:
        return first_due
    until = first_due + ((done - first_due) // period) * period
    return until + period if until + period - done < margin else until


def offsets_due_at(first_due: datetime, period: timedelta, horizon: timedelta) -> list[str]:
    """REMINDER_OFFSETS under which every appointment starting on the `period` grid (the
    sandbox's times start on a 15-minute grid) has a reminder due at `first_due`, and at each
    `period` after it: `c + k * period` minutes, `c` putting the grid on `first_due`."""
    step = int(period.total_seconds()) // 60
    shift = (-int(first_due.timestamp()) // 60) % step
    count = int(horizon / period)
    return [f"{shift + k * step}m" for k in range(count + 1) if shift + k * step > 0]


def table(runs: dict[str, Any]) -> str:
    lines = []
    for key in ("replicated", "one_sqlite_process"):
        run = runs.get(key)
        if run is None:
            continue
        if "skipped" in run:
            lines.append(f"{key}: skipped ({run['skipped']})")
            continue
        doubles = run["double_bookings"]
        rem = run["reminders"]
        lines += [
            f"{run['replicas']} replica(s), {run['database']}, {run['tenants']} tenants, "
            f"{run['clients']} clients at once:",
            f"  bookings made {run['bookings_made']} in {run['seconds']} s = "
            f"{run['bookings_per_minute']}/min; not booked {run['journeys_not_booked']} "
            f"{run['why_not_booked'] or ''}",
            f"  double bookings: overlapping records {doubles['overlapping_records']}, clients "
            f"booked twice {doubles['clients_booked_twice']}",
            f"  Altegio: {run['altegio_requests']} requests, 429s {run['http_429']}, peak "
            f"{run['peak_requests_1s']}/s {run['peak_requests_60s']}/min",
            f"  updates by replica {run['updates_by_replica']}; dispatcher failovers "
            f"{run['dispatcher_failovers']}; resent after silence "
            f"{run['updates_resent_after_silence']}; reply p50/p95 {run['reply_s_p50']}/"
            f"{run['reply_s_p95']} s",
        ]
        if run["killed_replica"] is not None:
            kill = run["killed_replica"]
            lines.append(
                "  killed replica: conversations under way with an update on it "
                f"{kill['under_way_with_an_update_on_the_killed_replica']}; further "
                f"updates taken by another {kill['further_updates_on_another_replica']}, of "
                f"which went on to a booking {kill['continued_and_booked']}; booked in the "
                f"end {kill.get('booked_in_the_end', '?')}"
            )
        lines.append(
            f"  reminders: bookings with one due {rem['bookings_with_a_reminder_due']}, "
            f"expected {rem['reminders_expected']}, received {rem['reminders_received']}, "
            f"sent twice {rem['sent_twice']}, lost {rem['lost']}"
        )
    return "\n".join(lines)


def write_traces(path: Path, clients: Sequence[Any], deliveries: Sequence[Delivery]) -> None:
    """Each client not booked: why, its chat as it saw it, and which replica took each of its
    updates (seconds from its first), for reading after a run."""
    by_chat: dict[int | None, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_chat[delivery.chat_id].append(delivery)
    lines: list[str] = []
    for client in clients:
        if client.booked:
            continue
        user = client.user
        lines.append(f"=== chat {user.chat_id}: {client.failure}")
        for message in user.transcript:
            side = "bot" if message.from_bot else "user"
            body = (message.text or message.caption or "").replace("\n", " ⏎ ")[:110]
            if message.contact:
                body = f"[contact {message.contact.get('phone_number')}]"
            flags = " (edited)" if message.edit_date else ""
            flags += " (deleted)" if message.deleted else ""
            keys = message.reply_markup.get("inline_keyboard") if message.reply_markup else None
            labels = [b.get("text") for row in keys or [] for b in row][:8]
            lines.append(f"  {message.message_id:>4} {side}{flags}: {body} {labels or ''}")
        chat_deliveries = by_chat.get(user.chat_id, [])
        first = chat_deliveries[0].at if chat_deliveries else 0.0
        taken = ", ".join(f"r{d.replica}@{d.at - first:.1f}" for d in chat_deliveries)
        lines.append(f"  updates: {taken}")
        lines.append(f"  resent after silence: {user.resent}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
