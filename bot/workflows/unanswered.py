"""Booking calls whose answer never came: looked at until their outcome is known, kept as it is,
and handed over to be told to the client (and, where it stays unknown, told to the salon).

Runs from the tick. What a look finds is `bot/attempts.py`'s; this settles it: a booking found
is stored with its reminders, a move's old appointment is cancelled once its new one is found,
and every outcome becomes `News` for `say` (the handler's) to put into words.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from bot import funnel, salon_view
from bot.altegio import errors
from bot.altegio.models import Company, Record, parse_datetime
from bot.services import Alerts, Services, keep
from bot.storage import Attempt, AttemptState, Contact, StorageUnavailable, StoredBooking
from bot.workflows.cancel import cancelled
from bot.workflows.evidence import (
    CHECK_EVERY,
    CHECK_FOR,
    KEEP_SETTLED,
    ORPHANED_AFTER,
    Finding,
    Verdict,
    attempt_location,
    look,
    visit_services,
)
from bot.workflows.sync import remember_booking

log = logging.getLogger(__name__)


class Became(StrEnum):
    """What the client hears of an unanswered booking call."""

    RESTARTED = "restarted"  # the bot restarted mid-call: being checked
    BOOKED = "booked"  # it went through after all
    NOT_BOOKED = "not_booked"  # it did not: Confirm again (choices kept)
    ABANDONED = "abandoned"  # it did not, and the client had left the booking
    UNKNOWN = "unknown"  # nobody can tell: the salon has been asked (`told`)
    MOVE_NOT_BOOKED = "move_not_booked"  # the old appointment stays
    MOVED = "moved"  # the new one found, the old one cancelled
    MOVE_LEFT_TWO = "move_left_two"  # the old one could not be cancelled (salon told)
    MOVE_UNKNOWN = "move_unknown"  # the old one stands; the new one unknown (salon told)


@dataclass(frozen=True, slots=True)
class News:
    became: Became
    attempt: Attempt
    language: str
    company: Company | None = None
    record: Record | None = None  # the booking found
    old_start: datetime | None = None  # a move's old appointment
    told: bool = False  # whether the salon's admin chat was told


Say = Callable[[News], Awaitable[None]]


async def resolve(services: Services, alerts: Alerts, say: Say) -> int:
    """Look at the attempts that are due; returns how many were settled."""
    storage = services.storage
    now = services.clock()
    try:
        if services.pending.retry():
            return 0  # the database is busy: what is known cannot be kept yet
        storage.forget_settled_attempts(now - KEEP_SETTLED)
        # A call still "sending" is an orphan when it began before this process did (the
        # bot was stopped or killed meanwhile), or long enough ago to have ended anyway.
        orphaned_before = now - ORPHANED_AFTER
        # Among replicas, a call is an orphan once begun before every live one started.
        replica = services.replica
        started = services.started_at if replica is None else replica.oldest_start()
        if started is not None:
            orphaned_before = max(orphaned_before, started)
        due = storage.attempts_due(now, orphaned_before)
    except StorageUnavailable as exc:
        log.warning("unanswered bookings wait for the database: %s", exc)
        return 0
    settled = 0
    for found in due:
        if found.flow in services.in_flight:
            continue  # its call is still on its way from this very process
        try:
            settled += await _resolve(services, alerts, say, found, now)
        except StorageUnavailable as exc:
            log.warning("unanswered bookings wait for the database: %s", exc)
            break
    return settled


def _language(services: Services, attempt: Attempt) -> str:
    return str(attempt.data.get("language") or services.catalogs.default)


async def _resolve(
    services: Services, alerts: Alerts, say: Say, found: Attempt, now: datetime
) -> int:
    """One look at one attempt (at the location it was made at); 1 when it is settled."""
    services = services.at(attempt_location(found.data))
    storage = services.storage
    attempt = found
    if found.state is AttemptState.SENDING:
        # Its process died (or the call hung) before the answer came.
        log.warning("booking %s was in flight when the bot stopped", found.flow)
        attempt = replace(found, state=AttemptState.CHECKING, deadline=now + CHECK_FOR)
        storage.check_attempt(attempt.flow, now, now + CHECK_FOR)
        await say(News(Became.RESTARTED, attempt, _language(services, attempt)))
    try:
        finding = await look(services.altegio, storage, attempt, now)
    except errors.AltegioError as exc:
        log.info("booking %s: cannot look now (%s)", attempt.flow, type(exc).__name__)
        late = attempt.deadline is None or now >= attempt.deadline
        finding = Finding(Verdict.UNKNOWN if late else Verdict.WAIT)
    if finding.verdict is Verdict.WAIT:
        assert attempt.deadline is not None
        storage.check_attempt(attempt.flow, now + CHECK_EVERY, attempt.deadline)
        return 0
    try:
        news = await _settle(services, alerts, attempt, finding, now)
    except errors.AltegioError as exc:
        # The location could not be read to settle it with: looked at again on a later tick.
        log.info("booking %s: cannot settle now (%s)", attempt.flow, type(exc).__name__)
        storage.check_attempt(attempt.flow, now + CHECK_EVERY, attempt.deadline or now)
        return 0
    await say(news)
    return 1


async def _settle(
    services: Services, alerts: Alerts, attempt: Attempt, finding: Finding, now: datetime
) -> News:
    storage = services.storage
    company = await services.altegio.company()
    flow = attempt.flow
    news = News(Became.UNKNOWN, attempt, _language(services, attempt), company)
    moved = attempt.data.get("move_of")
    if moved is not None:
        return await _settle_move(services, alerts, news, finding, old_id=int(moved), now=now)
    if finding.verdict is Verdict.BOOKED and finding.record is not None:
        record = finding.record
        await _keep_found(services, alerts, attempt, record, company=company)
        log.info("booking %s went through after all: record %s", flow, record.id)
        found = storage.booking(record.id)
        if found is not None:
            funnel.booked(services, flow)
            await alerts.salon_notice(salon_view.booked_notice(found, company.tz), company)
        return replace(news, became=Became.BOOKED, record=record)
    if finding.verdict is Verdict.NOT_BOOKED:
        log.info("booking %s did not go through", flow)
        storage.settle_attempt(flow, AttemptState.NOT_BOOKED)
        abandoned = bool(attempt.data.get("abandoned"))
        return replace(news, became=Became.ABANDONED if abandoned else Became.NOT_BOOKED)
    log.warning("booking %s: whether it was made stays unknown", flow)
    storage.settle_attempt(flow, AttemptState.UNKNOWN)
    told = await alerts.tell_admin(_for_salon(attempt, company), company)
    return replace(news, told=told)


async def _settle_move(
    services: Services,
    alerts: Alerts,
    news: News,
    finding: Finding,
    *,
    old_id: int,
    now: datetime,
) -> News:
    """A move whose new booking's answer was lost: exactly one appointment when it can be
    made so; the salon told when it cannot."""
    storage = services.storage
    attempt, company = news.attempt, news.company
    assert company is not None
    old = storage.booking(old_id)
    news = replace(news, old_start=old.start if old else None)
    if finding.verdict is Verdict.NOT_BOOKED:
        storage.settle_attempt(attempt.flow, AttemptState.NOT_BOOKED)
        return replace(news, became=Became.MOVE_NOT_BOOKED)
    if finding.verdict is Verdict.BOOKED and finding.record is not None and old is not None:
        record = finding.record
        await _keep_found(services, alerts, attempt, record, company=company)
        try:
            token = storage.user_token(old.user_id)
            await services.altegio.cancel_record(old.record_id, old.record_hash, token)
        except errors.AltegioError:
            told = await alerts.tell_admin(
                f"⚠️ A move through the bot left two appointments: records {old.record_id} and "
                f"{record.id} (client {old.fullname}, Telegram chat {old.chat_id}). Please "
                "cancel one with the client.",
                company,
            )
            return replace(news, became=Became.MOVE_LEFT_TWO, record=record, told=told)
        what = f"the cancel of record {old.record_id}"
        await keep(services, alerts, what, lambda: cancelled(storage, old))
        funnel.moved(services, attempt.flow)
        await alerts.salon_notice(salon_view.moved_notice(old, record.start, company.tz), company)
        return replace(news, became=Became.MOVED, record=record)
    storage.settle_attempt(attempt.flow, AttemptState.UNKNOWN)
    told = await alerts.tell_admin(
        f"⚠️ A move through the bot may have booked a second appointment (Altegio's answer was "
        f"lost): record {old_id} stands; the new time was {attempt.data.get('slot')} "
        f"(client {attempt.data.get('name') or ''}, Telegram chat {attempt.chat_id}). Please "
        "check and tell the client.",
        company,
    )
    return replace(news, became=Became.MOVE_UNKNOWN, told=told)


async def _keep_found(
    services: Services, alerts: Alerts, attempt: Attempt, record: Record, *, company: Company
) -> None:
    """A booking found after all: kept as one the bot made, with its reminders."""

    now = services.clock()

    def remember() -> None:
        _remember(services, attempt, record, company, now)

    await keep(services, alerts, f"booking {record.id}", remember)


def _remember(
    services: Services, attempt: Attempt, record: Record, company: Company, now: datetime
) -> None:
    data = attempt.data
    moved = services.storage.booking(int(data["move_of"])) if data.get("move_of") else None
    booking = StoredBooking(
        record_id=record.id,
        company_id=company.id,
        record_hash="",  # only the client's own list names it: read through their token
        chat_id=attempt.chat_id,
        user_id=attempt.user_id,
        service_ids=tuple(visit_services(data)),
        staff_id=record.staff_id or int(data.get("staff_id") or 0),
        start=record.start,
        length=record.length or int(data.get("slot_length") or 0),
        created_at=moved.created_at if moved is not None else attempt.started_at,
        phone=str(data.get("phone") or ""),
        fullname=str(data.get("name") or ""),
        title=record.title or str(data.get("title") or ""),
        staff_name=record.staff_name or str(data.get("staff_name") or ""),
        activity_id=int(data.get("activity_id") or 0),  # seats in a group class
    )
    contact = Contact(
        booking.fullname,
        booking.phone,
        str(data.get("email") or ""),
        str(data.get("consent") or ""),
    )
    remember_booking(
        services.storage,
        [booking],
        contact,
        language=_language(services, attempt),
        tz=company.tz,
        policy=services.reminder_policy,
        now=now,
    )
    services.storage.settle_attempt(attempt.flow, AttemptState.BOOKED)


def _for_salon(attempt: Attempt, company: Company) -> str:
    """The admin chat's note: enough to find the booking in Altegio, nothing more."""
    data = attempt.data
    start = parse_datetime(data.get("slot"), company.tz)
    when = start.astimezone(company.tz).strftime("%Y-%m-%d %H:%M") if start else data.get("slot")
    return (
        "⚠️ A booking through the bot may or may not have been made (Altegio's answer was lost "
        f"or unreadable): {data.get('title') or ''}, {when}, team member "
        f"{data.get('staff_name') or data.get('staff_id') or 'any'}, client "
        f"{data.get('name') or ''} (Telegram chat {attempt.chat_id}). Please check and confirm "
        "with the client."
    )
