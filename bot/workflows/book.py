"""Booking: from a confirmed draft to an Altegio appointment, kept with its reminders.

`book` owns every outside call of a booking: the call is noted before it leaves (so a lost
answer is looked into, never repeated), the new record is read back where it tells who "any
team member" is, and the booking, the client's details and the reminder plan are stored. It
returns what became of it; the handler only puts that into words. Plain code: no Telegram here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import funnel, salon_view
from bot.altegio import errors
from bot.altegio.booking_calls import Appointment, NewBooking
from bot.altegio.models import Company, CreatedRecord, Record, Service, Staff, parse_datetime
from bot.altegio.models.free_times import members_of, shortest_of
from bot.draft import Draft
from bot.metrics import BOOKED, REFUSED, UNCERTAIN
from bot.services import Alerts, Services, keep
from bot.storage import Contact, StorageUnavailable, StoredBooking
from bot.workflows import cabinet, visit_records
from bot.workflows.evidence import CHECK_EVERY, CHECK_FOR, attempt_data
from bot.workflows.sync import remember_booking

log = logging.getLogger(__name__)

# Refusals whose meaning the booking conversation acts on; any other is a refusal nobody named.
NAMED_REFUSALS = (
    errors.SlotTaken,
    errors.NoStaffAvailable,
    errors.ServiceUnavailable,
    errors.InvalidPhone,
    errors.NameRequired,
    errors.EmailRequired,
    errors.CommentRequired,
    errors.WrongCode,
    errors.Blacklisted,
)


@dataclass(frozen=True, slots=True)
class Who:
    """Whose booking it is: the chat and user it was made from, and their language."""

    chat_id: int
    user_id: int
    language: str


@dataclass(frozen=True, slots=True)
class Booked:
    record_id: int
    start: datetime
    staff_name: str  # the team member's; "" when Altegio assigned someone it did not name
    title: str
    company: Company
    # A visit in parts: each appointment's services, team member ("" when not named) and start.
    parts: tuple[tuple[str, str, datetime], ...] = ()


@dataclass(frozen=True, slots=True)
class Checking:
    """The answer was lost or unreadable: the booking may have landed and is being looked into
    (`bot/workflows/unanswered.py`), never called again meanwhile."""


@dataclass(frozen=True, slots=True)
class NotBooked:
    """Altegio said no, or the call never reached it: nothing was booked."""

    reason: errors.AltegioError


@dataclass(frozen=True, slots=True)
class CodeSent:
    pass


@dataclass(frozen=True, slots=True)
class CodeWait:
    """A code went to this number a moment ago (and still works): no second text yet."""

    wait: float


def appointments(draft: Draft) -> tuple[Appointment, ...]:
    """The draft as Altegio's `appointments[]`. A visit of several services with one team member
    is one appointment (Altegio keeps it as one record holding them all); a visit in parts is one
    appointment per part, each at its own time, in one request."""
    assert draft.service_id is not None and draft.staff_id is not None and draft.slot
    if not draft.parts:
        # With anyone, read member by member, the time knows who Altegio may give it to, and
        # the shortest the visit can be with them: what the bot then surely knows it fills.
        free_with = draft.slot_free_with if draft.staff_id == 0 else ()
        length = shortest_of(free_with) or draft.slot_length
        return (
            Appointment(
                1,
                tuple(draft.service_ids),
                draft.staff_id,
                draft.slot,
                length,
                members=members_of(free_with),
            ),
        )
    times = [(draft.slot, draft.slot_length), *((str(raw), n) for raw, n in draft.later)]
    assert len(times) == len(draft.parts) == len(draft.part_staff)
    return tuple(
        Appointment(number, tuple(part), member, raw, int(length or 0) or None)
        for number, (part, member, (raw, length)) in enumerate(
            zip(draft.parts, draft.part_staff, times, strict=True), start=1
        )
    )


async def needs_code(services: Services) -> bool:
    """Whether the location confirms bookings by text message; a text costs the salon money,
    so a copy of the settings that may be minutes old never decides to send one."""
    altegio = services.altegio
    company = await altegio.company()
    if company.phone_confirmation:
        company = await altegio.company(fresh=True)
    return company.phone_confirmation


async def text_code(
    services: Services, draft: Draft, user_id: int
) -> CodeSent | CodeWait | NotBooked:
    """Text the client a code, once the time is known to be free: a location without codes
    needs no such dry run, as book_record itself refuses a taken time in the same words."""
    assert draft.phone and draft.name
    altegio = services.altegio
    try:
        await altegio.check(list(appointments(draft)))
        wait = services.codes.allow(draft.phone, user_id)
        if wait:
            return CodeWait(wait)
        await altegio.send_code(draft.phone, draft.name)
    except errors.AltegioError as exc:
        if isinstance(exc, errors.Rejected):
            learn_from_refusal(services, exc)
        return NotBooked(exc)
    return CodeSent()


async def resend_code(
    services: Services, phone: str, name: str, user_id: int
) -> CodeSent | CodeWait:
    """ "Send the code again": within the limits on texts to a phone and from a client."""
    wait = services.codes.allow(phone, user_id)
    if wait:
        return CodeWait(wait)
    await services.altegio.send_code(phone, name)
    return CodeSent()


def learn_from_refusal(services: Services, exc: errors.Rejected) -> None:
    """What a refusal says about the copies kept of the salon: free times are read afresh, and
    settings that did not foresee it (a required e-mail or comment, an unnamed reason) too.
    A time found taken concerns only its team member, whose times the Altegio client has
    already dropped: the team and everyone else's times stay, so a rush of clients refused
    one after another does not read them all again each time."""
    altegio = services.altegio
    if isinstance(exc, errors.SlotTaken | errors.NoStaffAvailable):
        return
    altegio.forget_availability()
    if isinstance(exc, errors.EmailRequired | errors.CommentRequired):
        altegio.forget_company()  # the salon's settings have changed, or were never told
    elif not isinstance(exc, NAMED_REFUSALS):
        log.warning("booking refused without a known reason: codes=%s", list(exc.codes))
        altegio.forget_company()


async def book(
    services: Services, alerts: Alerts, draft: Draft, who: Who, code: str | None
) -> Booked | Checking | NotBooked:
    """Book the draft's time; the outcome, with everything kept that Altegio confirmed."""
    outcome = await _book(services, alerts, draft, who, code)
    if isinstance(outcome, Booked):
        services.metrics.booking(BOOKED)
    elif isinstance(outcome, Checking):
        services.metrics.booking(UNCERTAIN)
    else:
        services.metrics.booking(REFUSED)
    return outcome


async def _book(
    services: Services, alerts: Alerts, draft: Draft, who: Who, code: str | None
) -> Booked | Checking | NotBooked:
    settings = services.settings
    assert draft.phone and draft.name and draft.service_id is not None
    assert draft.staff_id is not None
    request = NewBooking(
        phone=draft.phone,
        fullname=draft.name,
        appointments=appointments(draft),
        email=draft.email or "",
        comment=draft.comment or "",
        code=code,
        api_id=draft.flow,
        notify_by_sms=settings.notify_by_sms,
        notify_by_email=settings.notify_by_email,
    )
    title, staff_name = await _names(services, draft)
    data = attempt_data(
        company_id=services.altegio.company_id,
        service_id=draft.service_id,
        service_ids=draft.service_ids,
        staff_id=draft.staff_id,
        slot=draft.slot or "",
        slot_length=draft.slot_length,
        phone=draft.phone,
        name=draft.name,
        code=code,
        language=who.language,
        details={
            "title": title,
            "staff_name": staff_name,
            "email": draft.email or "",
            "consent": draft.consent,
        },
    )
    try:
        # The location (its timezone, for what is kept) is read before the call: once Altegio
        # has booked, nothing may stand between its answer and the booking being kept.
        company = await services.altegio.company()
    except errors.AltegioError as exc:
        return NotBooked(exc)
    try:
        created = await place(
            services, alerts, request, flow=draft.flow, who=who, data=data, seen_at=draft.seen
        )
    except errors.OutcomeUnknown:
        log.warning("booking %s: no readable answer; checking what became of it", draft.flow)
        return Checking()
    except errors.AltegioError as exc:
        _learn(services, exc, code)
        return NotBooked(exc)
    record = await _read_back(services, draft, company, created)
    now = services.clock()
    start = record.start if record else parse_datetime(draft.slot, company.tz) or now
    assigned = (record.staff_name if record else "") or staff_name
    bookings = [
        StoredBooking(
            record_id=made.record_id,
            company_id=company.id,
            record_hash=made.record_hash,
            chat_id=who.chat_id,
            user_id=who.user_id,
            service_ids=tuple(draft.service_ids),
            staff_id=(record.staff_id if record else None) or draft.staff_id,
            start=start,
            length=(record.length if record else 0) or draft.slot_length or 0,
            created_at=now,
            phone=draft.phone,
            fullname=draft.name,
            title=(record.title if record else "") or title,
            staff_name=assigned,
        )
        for made in created
    ]
    if draft.parts:
        bookings = await visit_records.parts_kept(services, draft, company, bookings, created)
    contact = Contact(draft.name, draft.phone, draft.email or "", draft.consent)
    flow = draft.flow

    def remember() -> None:
        remember_booking(
            services.storage,
            bookings,
            contact,
            language=who.language,
            tz=company.tz,
            policy=services.reminder_policy,
            now=now,
        )
        services.storage.end_attempt(flow)

    await keep(services, alerts, f"booking {created[0].record_id}", remember)
    log.info("booked record %s for client %s", created[0].record_id, who.user_id)
    if code is not None:
        await cabinet.link_quietly(services, who.user_id, draft.phone, code)
    funnel.booked(services, flow)
    await alerts.salon_notice(salon_view.visit_booked_notice(bookings, company.tz), company)
    return Booked(
        created[0].record_id,
        start,
        assigned,
        title,
        company,
        tuple((b.title, b.staff_name, b.start) for b in bookings) if draft.parts else (),
    )


def abandon(services: Services, flow: str) -> None:
    """The client left a booking whose call is still being looked into: they are told its
    outcome all the same, with no Confirm to tap."""
    services.storage.abandon_attempt(flow)


async def place(
    services: Services,
    alerts: Alerts,
    request: NewBooking,
    *,
    flow: str,
    who: Who,
    data: dict[str, Any],
    seen_at: datetime | None = None,
) -> list[CreatedRecord]:
    """`book_record`, noted in storage before it leaves: should the answer be lost, or the bot
    die before it comes, the attempt is looked into (`bot/workflows/unanswered.py`) instead of
    letting the client book twice. A lost answer is raised as `OutcomeUnknown` with the attempt
    being checked; any other failure ends the attempt. On success the caller ends it, with what
    it keeps of the booking. `seen_at`: when the client was shown the time, for the call's own
    check against the bot's bookings since (`KnownTaken`)."""
    storage = services.storage
    now = services.clock()
    try:
        storage.begin_attempt(flow, who.chat_id, who.user_id, data, now)
    except StorageUnavailable as exc:
        log.error("booking %s without a note of it in flight (%s)", flow, exc)
    services.in_flight.add(flow)
    try:
        return await services.altegio.book(request, seen_at)
    except errors.OutcomeUnknown as exc:
        answered = exc.answered
        await keep(
            services,
            alerts,
            f"the check of booking {flow}",
            lambda: storage.check_attempt(
                flow, now + CHECK_EVERY, now + CHECK_FOR, answered=answered
            ),
        )
        raise
    except errors.AltegioError:
        await keep(
            services,
            alerts,
            f"the end of booking {flow}",
            lambda: storage.end_attempt(flow),
        )
        raise
    finally:
        services.in_flight.discard(flow)


def _learn(services: Services, exc: errors.AltegioError, code: str | None) -> None:
    if isinstance(exc, errors.WrongCode):
        if code is None:
            # The salon has just switched SMS confirmation on: Altegio now asks for a code.
            services.altegio.forget_company()
        return
    if isinstance(exc, errors.Rejected):
        learn_from_refusal(services, exc)
    elif isinstance(exc, errors.NotFound):
        # Altegio does not know what was asked for: most likely the team member has gone. The
        # times, read afresh, tell (and a departed team member is said to be so).
        services.altegio.forget_availability()


async def chosen_service(services: Services, draft: Draft) -> Service | None:
    """The service the draft names, as the salon's catalogue has it."""
    catalogue = await services.altegio.catalogue()
    return catalogue.service(draft.service_id) if draft.service_id else None


async def chosen_staff(services: Services, draft: Draft) -> Staff | None:
    """The team member the draft names (None for "any available team member")."""
    if not draft.staff_id or draft.service_id is None:
        return None
    staff = await services.altegio.staff(draft.service_ids)
    return next((s for s in staff if s.id == draft.staff_id), None)


async def _names(services: Services, draft: Draft) -> tuple[str, str]:
    """The service's and the team member's names, for the records kept and the messages; the
    booking goes on without them when Altegio cannot say."""
    try:
        catalogue = await services.altegio.catalogue()
        member = await chosen_staff(services, draft)
    except errors.AltegioError:
        return "", ""
    titles = [s.title for sid in draft.service_ids if (s := catalogue.service(sid)) is not None]
    # Joined as an appointment read back from Altegio joins its services (`Record.title`).
    return ", ".join(titles), (member.name if member else "")


async def _read_back(
    services: Services, draft: Draft, company: Company, created: list[CreatedRecord]
) -> Record | None:
    """The new appointment as Altegio made it, read when the client chose "any team member"
    (Altegio picks who) or the salon's phone and rules are not known yet (the record carries
    them). A failed read only leaves those unknown: the booking stands."""
    altegio = services.altegio
    if draft.staff_id and company.phone:
        return None
    if altegio.limiter.waiting:
        # At a busy moment the rate limit goes to other clients' bookings; the appointment shows
        # who it is with as soon as it is next read (My appointments, the reminder).
        return None
    try:
        return await altegio.record(created[0].record_id, created[0].record_hash, urgent=True)
    except errors.AltegioError as exc:
        log.info("could not read the new record back: %s", type(exc).__name__)
        return None
