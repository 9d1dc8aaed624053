"""Keeping the stored copy of an appointment in step with Altegio: reading it fresh (by its hash,
or from the client's own list), following what the salon changed, and planning its reminders.
Plain code: no Telegram here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.altegio import errors
from bot.altegio.client import AltegioClient
from bot.altegio.models import Record
from bot.records import Change, Fresh, ReminderPolicy
from bot.reminder_times import plan_after_visit, plan_reminders
from bot.services import Services
from bot.storage import Contact, Storage, StorageUnavailable, StoredBooking, phone_digits

log = logging.getLogger(__name__)


def schedule(
    storage: Storage,
    booking: StoredBooking,
    tz: ZoneInfo,
    policy: ReminderPolicy,
    now: datetime,
) -> None:
    """(Re)plan a booking's reminders and its after-visit thank-you from its current time.

    A visit of consecutive appointments is reminded once: its soonest standing part carries the
    reminders before the visit's start and the thank-you after its last part's end; the other
    parts carry none."""
    parts = [booking]
    if booking.visit_id:
        kept = {b.record_id: b for b in storage.visit_bookings(booking) if b.status == "active"}
        if booking.status == "active":
            kept[booking.record_id] = booking  # as the caller knows it, perhaps newer
        parts = sorted(kept.values(), key=lambda b: b.start) or [booking]
    lead = parts[0]
    planned: list[tuple[str, int, datetime]] = [
        ("before", int(p.offset.total_seconds() // 60), p.due)
        for p in plan_reminders(lead.start, policy.offsets, tz, policy.quiet, now)
    ]
    end = max(b.start + timedelta(seconds=b.length) for b in parts)
    planned.append(("after", 0, plan_after_visit(end, tz, policy.quiet)))
    for other in parts[1:]:
        storage.replace_reminders(other.record_id, other.chat_id, [])
    storage.replace_reminders(lead.record_id, lead.chat_id, planned)


@dataclass(frozen=True, slots=True)
class Read:
    """What Altegio said of one appointment: the record, or that it is proved gone, or that
    what the bot holds no longer opens it (`verify`: the client should confirm their phone)."""

    record: Record | None
    gone: bool = False
    verify: bool = False


async def read_record(
    altegio: AltegioClient,
    booking: StoredBooking,
    user_token: str | None,
    verified: str = "",
    listed: list[Record] | None = None,
) -> Read:
    """The appointment as Altegio has it: one request in the usual case.

    With the client's user token, their own list (`user/records`) has it, whatever hash is
    held; one of the verified phone (`verified`, digits) missing from that list is gone. Else
    it is read through its hash, and should Altegio refuse the hash (the reference warns it may
    work only right after booking), the client's list is asked by the same hash. A not-found is
    proof only where the token's list agrees; a hash refused with no token asks to `verify`.
    Raises `AuthError` when Altegio refuses the token, and outages as they come. `listed`: the
    token's list, read a moment ago for other appointments (not read again).
    """
    in_list = False
    if user_token:
        known = (booking.record_id, booking.record_hash) if booking.record_hash else None
        records = listed
        try:
            if records is None:
                records = await altegio.account_records(user_token, known)
        except errors.NotFound:
            records = None  # no listing path answered: the hash is what is left
        if records is not None:
            found = next((r for r in records if r.id == booking.record_id), None)
            if found is not None:
                return Read(found)
            ours = bool(verified) and phone_digits(booking.phone) == verified
            if not booking.record_hash:
                return Read(None, gone=ours)
            in_list = True
    if not booking.record_hash:
        return Read(None, verify=True)
    try:
        return Read(await altegio.record(booking.record_id, booking.record_hash))
    except (errors.Unavailable, errors.RateLimited):
        raise
    except errors.NotFound as exc:
        if in_list:
            return Read(None, gone=exc.from_altegio)
        first: errors.AltegioError = exc
    except errors.AltegioError as exc:
        if in_list:
            return Read(None)
        first = exc
    log.info("record %s: read failed (%s)", booking.record_id, type(first).__name__)
    try:
        records = await altegio.user_records(booking.record_id, booking.record_hash, None)
    except (errors.Unavailable, errors.RateLimited):
        raise
    except errors.AltegioError:
        refused = isinstance(first, errors.NotFound | errors.AuthError)
        if not refused:
            raise first from None
        return Read(None, verify=True)
    found = next((r for r in records if r.id == booking.record_id), None)
    return Read(found, verify=found is None)


async def refresh(
    services: Services, booking: StoredBooking, listed: list[Record] | None = None
) -> Fresh:
    """Read the appointment from Altegio and bring the stored copy and reminders in line.

    A record Altegio reports deleted, or proves gone, was cancelled by the salon; a new start
    time means the salon moved it, and the reminders follow. A read that fails is no such
    proof: the booking is then `UNCHECKED` and stays as it was stored. A user token Altegio
    refuses is dropped (the client is asked to verify again) and the hash read instead.
    """
    services = services.at(booking.company_id)  # read at the appointment's own location
    altegio, storage = services.altegio, services.storage
    token = storage.user_token(booking.user_id)
    verified = storage.verified_phone(booking.user_id) if token else ""
    try:
        try:
            read = await read_record(altegio, booking, token, verified, listed)
        except errors.AuthError:
            if token is None:
                raise
            token_refused(services, booking.user_id, token)
            read = await read_record(altegio, booking, None)
            read = replace(read, verify=True)
    except errors.AltegioError as exc:
        outage = isinstance(exc, errors.Unavailable | errors.RateLimited)
        return Fresh(booking, None, Change.UNCHECKED, outage=outage)
    fresh = await follow(services, booking, read.record, gone=read.gone)
    return replace(fresh, verify=read.verify) if read.verify else fresh


def token_refused(services: Services, user_id: int, token: str) -> None:
    """Altegio no longer accepts the client's user token: it is dropped, nothing else."""
    log.info("client %s: Altegio refused their user token; they will be asked to verify", user_id)
    _write_copy(services.storage.refuse_user_token, user_id, token, services.clock())


async def follow(
    services: Services, booking: StoredBooking, record: Record | None, *, gone: bool = False
) -> Fresh:
    """Bring the stored copy and its reminders in line with `record`, Altegio's word on it now
    (None with `gone`: proved gone; None alone: not known now)."""
    services = services.at(booking.company_id)  # the zone of the appointment's own location
    storage, policy, now = services.storage, services.reminder_policy, services.clock()
    altegio = services.altegio
    if gone or (record is not None and record.deleted):
        if booking.status == "active":
            _write_copy(storage.update_booking, booking.record_id, status="deleted")
            _write_copy(storage.drop_reminders, booking.record_id)
            if booking.visit_id:
                # The visit's other parts stand, and are reminded of without this one.
                await replan_visit(services, booking)
        return Fresh(replace(booking, status="deleted"), record, Change.DELETED)
    if record is None:
        return Fresh(booking, None, Change.UNCHECKED)
    known: dict[str, object] = {}
    if record.staff_id and record.staff_id != booking.staff_id:
        # "Any team member" bookings learn who was assigned; the salon may also reassign.
        known["staff_id"] = record.staff_id
    if record.staff_name and record.staff_name != booking.staff_name:
        known["staff_name"] = record.staff_name
    if record.title and record.title != booking.title:
        known["title"] = record.title
    if known:
        _write_copy(storage.update_booking, booking.record_id, **known)
        booking = replace(booking, **known)  # type: ignore[arg-type]
    if record.start != booking.start or (record.length and record.length != booking.length):
        moved = replace(booking, start=record.start, length=record.length or booking.length)
        company = await altegio.company()

        def move_copy() -> None:
            storage.update_booking(booking.record_id, start=moved.start, length=moved.length)
            schedule(storage, moved, company.tz, policy, now)

        _write_copy(move_copy)
        return Fresh(moved, record, Change.MOVED if record.start != booking.start else Change.SAME)
    return Fresh(booking, record, Change.SAME)


async def replan_visit(services: Services, gone: StoredBooking) -> None:
    """The reminders of a visit one part of which is gone (cancelled): planned anew for the
    parts that stand."""
    storage = services.storage
    standing = [
        b
        for b in storage.visit_bookings(gone)
        if b.status == "active" and b.record_id != gone.record_id
    ]
    if not standing:
        return
    try:
        company = await services.altegio.company()
    except errors.AltegioError:
        return  # the next read of the visit plans them
    policy, now = services.reminder_policy, services.clock()
    _write_copy(schedule, storage, standing[0], company.tz, policy, now)


def _write_copy(write: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """Bring the stored copy in line; a busy database only delays that to the next read, which
    finds the same difference again."""
    try:
        write(*args, **kwargs)
    except StorageUnavailable as exc:
        log.warning("the stored copy waits for the database: %s", exc)


def remember_booking(
    storage: Storage,
    bookings: list[StoredBooking],
    contact: Contact,
    *,
    language: str,
    tz: ZoneInfo,
    policy: ReminderPolicy,
    now: datetime,
) -> None:
    """Everything kept of a booking Altegio confirmed: its records with their reminders, the
    client's details for next time; each keeps the language it was made in. Safe to repeat."""
    if not bookings:
        return
    for booking in bookings:
        record_new(storage, replace(booking, language=language), tz, policy, now)
    storage.remember_contact(bookings[0].user_id, contact, now)


def adopt(
    services: Services,
    record: Record,
    *,
    user_id: int,
    chat_id: int,
    phone: str,
    fullname: str = "",
    language: str = "",
    tz: ZoneInfo,
) -> StoredBooking:
    """Keep an appointment the bot learnt of from the client's Altegio account (made by phone,
    on the salon's web page, or anywhere else), with its reminders, as if booked here; one
    already kept stays as it is (and with the chat that has it). Without a record hash: the
    client's user token reads and changes it."""
    storage = services.storage
    known = storage.booking(record.id)
    if known is not None:
        return known
    now = services.clock()
    booking = StoredBooking(
        record_id=record.id,
        company_id=services.altegio.company_id,
        record_hash="",
        chat_id=chat_id,
        user_id=user_id,
        service_ids=tuple(s.id for s in record.services),
        staff_id=record.staff_id or 0,
        start=record.start,
        length=record.length,
        created_at=now,
        phone=phone,
        fullname=fullname,
        status="deleted" if record.deleted else "active",
        title=record.title,
        staff_name=record.staff_name,
        language=language,
        activity_id=record.activity_id,  # a seat in a group class: cancelled, never moved
    )
    storage.record_booking(booking)
    if booking.status == "active" and record.start > now:
        schedule(storage, booking, tz, services.reminder_policy, now)
    return booking


def record_new(
    storage: Storage,
    booking: StoredBooking,
    tz: ZoneInfo,
    policy: ReminderPolicy,
    now: datetime,
) -> None:
    """Remember a booking Altegio just confirmed and plan its reminders."""
    storage.record_booking(booking)
    schedule(storage, booking, tz, policy, now)
