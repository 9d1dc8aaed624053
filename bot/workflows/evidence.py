"""Booking calls whose answer never came (lost, unreadable, or cut off by a crash): finding out,
within a bounded time, what Altegio made of them. Plain code: no Telegram here.

Altegio gives a partner no lookup of a booking by phone, so the evidence is what can be read:
the client's own list of appointments where a user token is held (exact), or else the free
times: a time still free means nothing was booked at it yet; a time gone since means the call
most likely landed. "Not booked" is concluded only once the time has stayed free until the
deadline, so a slow write is never declared failed while it may still land.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.altegio import errors
from bot.altegio.client import AltegioClient
from bot.altegio.models import Record, Slot, parse_datetime
from bot.storage import Attempt, Storage

log = logging.getLogger(__name__)

# Looks at an unanswered booking: every CHECK_EVERY, for CHECK_FOR after the answer was lost.
CHECK_EVERY = timedelta(seconds=15)
CHECK_FOR = timedelta(minutes=2)
# A call still "sending" this long after it started belongs to a process that has died (a
# booking call gives up after well under a minute).
ORPHANED_AFTER = timedelta(seconds=90)
# Settled attempts are kept this long, for the buttons of their booking.
KEEP_SETTLED = timedelta(days=1)


class Verdict(StrEnum):
    WAIT = "wait"  # nothing certain yet: look again
    BOOKED = "booked"  # found among the client's appointments
    NOT_BOOKED = "not_booked"  # the time stayed free until the deadline
    UNKNOWN = "unknown"  # the time went (most likely to this call), or nothing could tell


@dataclass(frozen=True, slots=True)
class Finding:
    verdict: Verdict
    record: Record | None = None


def attempt_data(
    *,
    company_id: int,
    service_id: int,
    service_ids: Sequence[int] = (),
    staff_id: int,
    slot: str,
    slot_length: int | None,
    phone: str,
    name: str,
    code: str | None,
    language: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    """What a booking call asks for, and where (the location it is made at: a chain's may be
    any of its locations), as its attempt keeps it (JSON)."""
    return {
        "company_id": company_id,
        "service_id": service_id,
        "service_ids": list(service_ids) or [service_id],  # the visit's services
        "staff_id": staff_id,
        "slot": slot,
        "slot_length": slot_length,
        "phone": phone,
        "name": name,
        "code": code,
        "language": language,
        **details,
    }


async def look(
    altegio: AltegioClient, storage: Storage, attempt: Attempt, now: datetime
) -> Finding:
    """One look at what became of an attempt; `WAIT` until its deadline has something else."""
    data = attempt.data
    final = attempt.deadline is None or now >= attempt.deadline
    company = await altegio.company()
    start = parse_datetime(data.get("slot"), company.tz)
    if start is None:
        return Finding(Verdict.UNKNOWN)
    listed = await _own_list(altegio, storage, attempt)
    if listed is not None:
        known = {b.record_id for b in storage.bookings_for_chat(attempt.chat_id)}
        found = next((r for r in listed if _is_it(r, data, start) and r.id not in known), None)
        if found is not None:
            return Finding(Verdict.BOOKED, found)
        return Finding(Verdict.NOT_BOOKED if final else Verdict.WAIT)
    staff_id = int(data.get("staff_id") or 0)
    service_ids = visit_services(data)
    day = start.astimezone(company.tz).date()
    altegio.forget_availability()
    try:
        free = _offered(await altegio.times(staff_id, day, service_ids), data["slot"], start)
    except errors.AltegioError as exc:
        log.info("attempt %s: times not readable (%s)", attempt.flow, type(exc).__name__)
        return Finding(Verdict.UNKNOWN if final else Verdict.WAIT)
    if not free:
        return Finding(Verdict.UNKNOWN)
    if not final:
        return Finding(Verdict.WAIT)
    if staff_id:
        return Finding(Verdict.NOT_BOOKED)
    # "Any team member": the time is still someone's, which says nothing of whether one of the
    # others got the booking, unless every one who does the service is still free then.
    return Finding(await _everyone_free(altegio, day, service_ids, data["slot"], start))


async def _own_list(
    altegio: AltegioClient, storage: Storage, attempt: Attempt
) -> list[Record] | None:
    """The client's own appointments, where a user token is held or the attempt's SMS code
    gets one; None when they cannot be read."""
    token = storage.user_token(attempt.user_id)
    data = attempt.data
    if token is None and data.get("code") and data.get("phone"):
        try:
            token = await altegio.user_auth(str(data["phone"]), str(data["code"]))
        except errors.AltegioError:
            token = None
        else:
            storage.set_user_token(attempt.user_id, token, str(data["phone"]))
    if token is None:
        return None
    try:
        return await altegio.account_records(token)
    except errors.AltegioError as exc:
        log.info("attempt %s: the client's list not readable (%s)", attempt.flow, exc)
        return None


def _is_it(record: Record, data: dict[str, Any], start: datetime) -> bool:
    staff_id = int(data.get("staff_id") or 0)
    service_id = int(data.get("service_id") or 0)
    return (
        not record.deleted
        and record.start == start
        and (not staff_id or record.staff_id == staff_id)
        and (not record.services or any(s.id == service_id for s in record.services))
    )


def visit_services(data: dict[str, Any]) -> list[int]:
    """The services an attempt books (attempts noted before visits had several: the one)."""
    listed = data.get("service_ids")
    if isinstance(listed, list) and listed:
        return [int(s) for s in listed]
    return [int(data.get("service_id") or 0)]


def attempt_location(data: dict[str, Any]) -> int:
    """The location an attempt was made at; 0 (the bot's own) for one noted before a chain's
    locations were kept."""
    return int(data.get("company_id") or 0)


def _offered(slots: list[Slot], raw: str, start: datetime) -> bool:
    return any(s.raw == raw or s.start == start for s in slots)


async def _everyone_free(
    altegio: AltegioClient, day: date, service_ids: list[int], raw: str, start: datetime
) -> Verdict:
    try:
        members = [m for m in await altegio.staff(service_ids) if m.bookable]
        for member in members:
            if not _offered(await altegio.times(member.id, day, service_ids), raw, start):
                return Verdict.UNKNOWN
    except errors.AltegioError:
        return Verdict.UNKNOWN
    return Verdict.NOT_BOOKED if members else Verdict.UNKNOWN
