"""The salon's changes told at once: Altegio's record webhooks (reference §12) received, kept in
the inbox before they are answered, and followed one at a time.

A delivery may come twice, late, or before an older one (§12.3), and carries no signature: the
secret is the path it is posted to. So each event is kept once under its key
(`company_id:resource:resource_id:status:last_change_date`); one older than the newest change
already followed of its record changes nothing; what it says is compared with the stored copy,
and one that claims a change is checked by reading the record once (the event is a hint), so
only a real change is told, once. The bot's own changes come back as events too
(`self_sending`): an event about a chat's appointment is followed in that chat's turn, after
whatever the client is doing there has been stored, so it repeats what the bot knows and tells
nothing. Plain code: `tell` (the handler's) puts the news into words.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot import leases
from bot.altegio import errors
from bot.altegio.models import Company, Record
from bot.altegio.models.lenient import as_dict, as_str
from bot.records import Change, Fresh
from bot.services import Services
from bot.storage import HookEvent, StorageUnavailable, StoredBooking
from bot.workflows import hook_subscription, sync, visit_records, waitlist
from bot.workflows.hook_events import BadEvent, read_event, sender
from bot.workflows.remind import Delivery

log = logging.getLogger(__name__)

# Processed events are kept this long, so a repeat that late is still known as one.
KEEP_EVENTS = timedelta(days=3)


class Told(StrEnum):
    MOVED = "moved"  # the salon moved it: the new time, with the usual actions
    CANCELLED = "cancelled"  # the salon cancelled it: offer to book again
    BOOKED = "booked"  # the salon made it for the client's verified phone
    STAFF = "staff"  # the salon gave it to another team member


@dataclass(frozen=True, slots=True)
class News:
    """What one of the salon's changes tells one client."""

    told: Told
    chat_id: int
    language: str
    fresh: Fresh
    company: Company
    # A visit of consecutive appointments: its parts that stand now (the changed one among
    # them unless cancelled), soonest first; () for an appointment of its own.
    parts: tuple[Fresh, ...] = ()


Tell = Callable[[News], Awaitable[Delivery]]
# A chat's turn: held while the chat's own update is handled, so an event is followed only
# after what the client did there was stored.
Turn = Callable[[int], AbstractAsyncContextManager[None]]


def accept(services: Services, raw: bytes) -> tuple[int, bool]:
    """Take one delivery: the HTTP status to answer with, and whether it brought a new event
    to follow. The event is written before the answer, so a restart loses none."""
    try:
        company_id, event = read_event(raw, lambda sent: hook_subscription.ours(services, sent))
    except BadEvent as exc:
        # The body is never logged: it is not Altegio's, or it carries a client's details.
        log.warning("altegio webhook: a body refused (%s)", exc)
        services.metrics.webhook("refused")
        return 400, False
    services.hooks.heard(company_id, services.clock())  # the location reaches the bot
    if event is None:
        services.metrics.webhook("ignored")
        return 200, False
    try:
        new = services.storage.keep_hook_event(event, services.clock())
    except StorageUnavailable as exc:
        log.warning("altegio webhook: not kept, the database is busy (%s)", exc)
        services.metrics.webhook("failed")
        return 503, False  # Altegio may send it again
    services.metrics.webhook("accepted" if new else "repeated")
    return 200, new


async def process(services: Services, tell: Tell, turn: Turn, limit: int = 100) -> int:
    """Follow the events waiting in the inbox, in the order received; returns how many
    clients were told. Safe to run at any time: one run at a time follows each event once."""
    async with services.hooks.lock:
        with leases.held(services.replica, leases.INBOX) as ours:
            # Among replicas, the one holding the inbox follows what any of them received.
            return await _process(services, tell, turn, limit) if ours else 0


async def _process(services: Services, tell: Tell, turn: Turn, limit: int) -> int:
    told = 0
    storage = services.storage
    try:
        storage.forget_hook_events(services.clock() - KEEP_EVENTS)
        events = storage.hook_events_waiting(limit)
    except StorageUnavailable as exc:
        log.warning("altegio webhooks wait for the database: %s", exc)
        return 0
    told += await _retell(services, tell)
    for event in events:
        try:
            # Followed at the location that sent it (a chain's own), or not at all.
            where = await hook_subscription.location(services, sender(event))
            if where is not None:
                await waitlist.note_event(where, event)  # a freed time read at once
                free_times_changed(where, event)
            news = await _follow(where, event, turn) if where is not None else None
        except (errors.Unavailable, errors.RateLimited) as exc:
            # Not even the location's zone could be read: the rest waits for the tick.
            log.warning("altegio webhooks wait: Altegio %s", type(exc).__name__)
            break
        except StorageUnavailable as exc:
            log.warning("altegio webhooks wait for the database: %s", exc)
            break
        if news is not None:
            delivery = await tell(news)
            if delivery is Delivery.BLOCKED:
                log.info("chat %s blocked the bot; the salon's change not told", news.chat_id)
            elif delivery is Delivery.FAILED:
                log.warning("the salon's change not told to chat %s yet", news.chat_id)
                _again(services, news, tries=0)
            told += delivery is Delivery.DELIVERED
        storage.finish_hook_event(event.key)
    return told


def free_times_changed(services: Services, event: HookEvent) -> None:
    """The free times shared in a rush of the day a record is now on, and of the day a move
    took it from, are read afresh (`bot/altegio/shared_times.py`); the bot's own booking coming
    back as an event changes nothing, its time was taken out of them as it was booked."""
    try:
        kept = services.storage.booking(event.record_id)
    except StorageUnavailable:
        kept = None
    if event.status == "create" and kept is not None:
        return
    shared = services.altegio.shared_times
    data = as_dict(event.body.get("data"))
    # The record's `date` is the salon's own wall time, which the webhook's offsets are not.
    text = as_str(data.get("date")) or as_str(data.get("datetime"))
    try:
        day: date | None = date.fromisoformat(text[:10])
    except ValueError:
        day = None
    company = services.altegio.company_copy()
    before = kept.start.astimezone(company.tz).date() if kept and company else None
    if day is None or (kept is not None and before is None):
        shared.forget()
        return
    for changed in {day, before} - {None}:
        shared.forget(changed)


# A salon's change Telegram did not take is told again after these waits, then given up (the
# client's list and reminder still say how the appointment stands).
RETELL_AFTER = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)


@dataclass(frozen=True, slots=True)
class Retell:
    news: News
    tries: int  # failed tells after the first
    due: datetime


def _again(services: Services, news: News, *, tries: int) -> None:
    """Keep `news` to tell again (in memory: a restart tells the appointment's state at its
    reminder). A newer change of the same appointment replaces it."""
    record_id = news.fresh.booking.record_id
    kept = [r for r in services.hooks.retell if r.news.fresh.booking.record_id != record_id]
    if tries < len(RETELL_AFTER):
        kept.append(Retell(news, tries, services.clock() + RETELL_AFTER[tries]))
    else:
        log.warning("the salon's change not told to chat %s; given up", news.chat_id)
    services.hooks.retell = kept


async def _retell(services: Services, tell: Tell) -> int:
    """Tell again what Telegram did not take, while it is still how the appointment stands."""
    now = services.clock()
    due = [r for r in services.hooks.retell if isinstance(r, Retell) and r.due <= now]
    told = 0
    for item in due:
        services.hooks.retell = [r for r in services.hooks.retell if r is not item]
        if not _still_true(services, item.news):
            continue
        delivery = await tell(item.news)
        if delivery is Delivery.FAILED:
            _again(services, item.news, tries=item.tries + 1)
        told += delivery is Delivery.DELIVERED
    return told


def _still_true(services: Services, news: News) -> bool:
    """Whether the kept copy still says what the news says (a later change is told by itself)."""
    kept = services.storage.booking(news.fresh.booking.record_id)
    if kept is None:
        return False
    if news.told is Told.CANCELLED:
        return kept.status != "active"
    return kept.status == "active" and kept.start == news.fresh.booking.start


async def _follow(services: Services, event: HookEvent, turn: Turn) -> News | None:
    storage = services.storage
    if event.changed_at and event.changed_at < storage.hook_mark(event.record_id):
        log.info("record %s: an older event after a newer one, left alone", event.record_id)
        return None
    company = await services.altegio.company()
    data = as_dict(event.body.get("data"))
    booking = storage.booking(event.record_id)
    try:
        record = Record.from_wire(data, company.tz)
    except errors.UnexpectedResponse:
        if event.status != "delete" or booking is None:
            log.warning("record %s: an event without a usable date, left alone", event.record_id)
            return None
        record = _as_kept(booking)  # a deletion needs no date to be followed
    if event.status == "delete":
        record = replace(record, deleted=True)
    if booking is not None:
        async with turn(booking.chat_id):
            news = await _known(services, record, company)
    else:
        news = await _new(services, record, data, company, turn)
    if event.changed_at:
        storage.mark_hook(record.id, event.changed_at)
    services.hooks.known.add(record.id)
    return news


async def _known(services: Services, record: Record, company: Company) -> News | None:
    """An appointment the bot keeps: its copy and reminders follow the record; the client
    hears of a move, a cancel or another team member, once."""
    storage = services.storage
    booking = storage.booking(record.id)  # read again: the chat's turn may have changed it
    if booking is None or booking.status != "active":
        return None  # cancelled through the bot, or already told
    now = services.clock()
    if _claims_change(booking, record):
        # A hint, not the truth (§12.3): an event held up on the way may be older than a
        # change the bot made itself. Altegio's own word, read once, decides; only when it
        # cannot be read does the event's stand.
        fresh = await sync.refresh(services, booking)
        if fresh.change is Change.UNCHECKED:
            fresh = await sync.follow(services, booking, record)
    else:
        fresh = await sync.follow(services, booking, record)
    if record.attendance == -1 and fresh.change is Change.SAME:
        storage.drop_reminders(record.id)  # a no-show gets no thank-you
    if fresh.change is Change.DELETED:
        told = Told.CANCELLED
    elif fresh.change is Change.MOVED:
        told = Told.MOVED
    elif _new_member(booking, fresh.booking):
        told = Told.STAFF
    else:
        return None  # the same appointment (attendance, a comment, the bot's own change)
    if max(booking.start, fresh.booking.start) <= now:
        return None  # a past visit: nothing worth a message
    language = _language(services, booking)
    return News(told, booking.chat_id, language, fresh, company, _visit(services, fresh))


def _visit(services: Services, fresh: Fresh) -> tuple[Fresh, ...]:
    """The parts of the changed appointment's visit that stand, as kept now (the changed one as
    just read); () for an appointment of its own, or when no other part stands."""
    if not fresh.booking.visit_id:
        return ()
    parts = [
        fresh if b.record_id == fresh.booking.record_id else Fresh(b, None, Change.SAME)
        for b in visit_records.standing_parts(services.storage, fresh.booking)
    ]
    others = [f for f in parts if f.booking.record_id != fresh.booking.record_id]
    return tuple(sorted(parts, key=lambda f: f.booking.start)) if others else ()


def _as_kept(booking: StoredBooking) -> Record:
    return Record(
        id=booking.record_id,
        start=booking.start,
        length=booking.length,
        deleted=False,
        staff_id=booking.staff_id or None,
        staff_name=booking.staff_name,
    )


def _claims_change(booking: StoredBooking, record: Record) -> bool:
    """Whether the event says the appointment is not as the bot keeps it (cancelled, moved,
    another length or team member)."""
    return (
        record.deleted
        or record.start != booking.start
        or bool(record.length and record.length != booking.length)
        or bool(booking.staff_id and record.staff_id and record.staff_id != booking.staff_id)
    )


def _new_member(before: StoredBooking, after: StoredBooking) -> bool:
    # "Any team member" bookings learn who was assigned: that is no change to tell.
    return bool(before.staff_id and after.staff_id != before.staff_id)


async def _new(
    services: Services, record: Record, data: dict[str, Any], company: Company, turn: Turn
) -> News | None:
    """A record the bot does not keep: the salon's, for the phone a verified client holds, is
    kept and told to that client. Anyone else's phone is none of the bot's business."""
    storage = services.storage
    if record.deleted or record.start <= services.clock():
        return None
    client = as_dict(data.get("client"))
    phone = as_str(client.get("phone"))
    users = storage.verified_clients(phone)
    if not users or _own_booking(services, as_str(data.get("api_id"))):
        return None
    user_id = users[0]
    async with turn(user_id):
        # The client's own booking through the bot is kept by its own flow, under its flow id.
        if storage.booking(record.id) is not None or _own_booking(
            services, as_str(data.get("api_id"))
        ):
            return None
        contact = storage.contact(user_id)
        language = storage.language(user_id) or ""
        booking = sync.adopt(
            services,
            record,
            user_id=user_id,
            chat_id=user_id,
            phone=phone,
            fullname=contact.name if contact else as_str(client.get("name")),
            language=language,
            tz=company.tz,
        )
    log.info("record %s: made by the salon for a verified client, kept", record.id)
    fresh = Fresh(booking, record, Change.SAME)
    return News(Told.BOOKED, user_id, _language(services, booking), fresh, company)


def _own_booking(services: Services, api_id: str) -> bool:
    """Whether a record was booked by this bot (its `api_id` is a booking flow in flight)."""
    return bool(api_id) and (
        api_id in services.in_flight or services.storage.attempt(api_id) is not None
    )


def _language(services: Services, booking: StoredBooking) -> str:
    chosen = services.storage.language(booking.chat_id)
    return chosen or booking.language or services.catalogs.default
