"""Group classes: whether the location has any, what is on, and seats booked in one.

A class is Altegio's group event. Its seats are booked through the booking conversation's own
contact and code steps (a draft naming the event, `Draft.activity`, and its seats); the call is
noted before it leaves like a booking's (`book.place`'s rules: a lost answer is looked into, never
repeated), and the seats are kept as a booking with the record id and hash Altegio gives, so
My appointments, cancelling, the calendar file and reminders treat them as any appointment.

Altegio documents no refusal code for a full event: any refusal that is not about the client's
details is followed by reading the event again, and fewer free seats than asked for is
`ClassFull`. Plain code: no Telegram here.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from bot import funnel, salon_view
from bot.altegio import errors
from bot.altegio.activity_calls import SeatBooking
from bot.altegio.models import Company, parse_datetime
from bot.altegio.models.activities import Activity
from bot.draft import Draft
from bot.metrics import BOOKED, REFUSED, UNCERTAIN
from bot.services import Alerts, Services, keep
from bot.storage import Contact, StorageUnavailable, StoredBooking
from bot.workflows import cabinet
from bot.workflows.book import Booked, Checking, CodeSent, CodeWait, NotBooked, Who
from bot.workflows.evidence import CHECK_EVERY, CHECK_FOR, attempt_data
from bot.workflows.sync import remember_booking

log = logging.getLogger(__name__)

MAX_SEATS = 4  # seats one client books at once
NEXT_WEEKS = 4  # how far ahead the next ones of a full class are looked for
# Refusals about the client's details: the event's seats have nothing to do with them.
_DETAILS = (
    errors.InvalidPhone,
    errors.WrongCode,
    errors.Blacklisted,
    errors.NameRequired,
    errors.EmailRequired,
    errors.CommentRequired,
)


async def has_classes(services: Services) -> bool:
    """Whether the location has classes from today on: one request every ten minutes
    (`search_dates_range`); when Altegio cannot say, the entry is left out."""
    altegio = services.altegio
    try:
        _, last = await altegio.event_range()
        company = await altegio.company()
    except errors.AltegioError:
        return False
    return last is not None and last >= services.clock().astimezone(company.tz).date()


async def on_days(
    services: Services, first: date, last: date, service_id: int = 0, staff_id: int = 0
) -> list[Activity]:
    """The classes from `first` to `last` that have not begun, earliest first."""
    now = services.clock()
    found = await services.altegio.activities(first, last, service_id, staff_id)
    return [a for a in found if a.start > now]


async def first_day_with(
    services: Services, since: date, service_id: int = 0, staff_id: int = 0
) -> date | None:
    """The first day from `since` that has classes (matching the filters), or None."""
    altegio = services.altegio
    _, last = await altegio.event_range()
    if last is None or last < since:
        return None
    days = await altegio.event_dates(since, last, service_id, staff_id)
    return days[0] if days else None


async def fresh(services: Services, event_id: int, start: datetime) -> Activity | None:
    """The event as it stands now (its seats), or None when Altegio no longer lists it."""
    company = await services.altegio.company()
    return await services.altegio.activity(event_id, start.astimezone(company.tz).date())


async def listed(services: Services, event_id: int, day: date) -> Activity | None:
    """The event as its day's list (kept a minute) shows it: its class, time and instructor,
    where Altegio's own answer to the booking decides about its seats."""
    found = await services.altegio.activities(day, day)
    return next((a for a in found if a.id == event_id), None)


async def next_ones(services: Services, event: Activity, seats: int) -> list[Activity]:
    """The next few of the same class with `seats` free, after `event`."""
    company = await services.altegio.company()
    first = event.start.astimezone(company.tz).date()
    later = await on_days(
        services, first, first + timedelta(weeks=NEXT_WEEKS), service_id=event.service_id
    )
    return [a for a in later if a.start > event.start and a.free >= seats][:3]


def _when(draft: Draft, company: Company) -> datetime | None:
    return parse_datetime(draft.slot, company.tz) if draft.slot else None


async def _full(services: Services, draft: Draft, company: Company) -> bool:
    """Whether the draft's class now has fewer free seats than it asks for (read afresh)."""
    start = _when(draft, company)
    if draft.activity is None or start is None:
        return True
    event = await fresh(services, draft.activity, start)
    return event is None or event.free < seats_of(draft)


def seats_of(draft: Draft) -> int:
    return max(1, min(MAX_SEATS, draft.classes.get("seats", 1)))


async def text_code(
    services: Services, draft: Draft, user_id: int
) -> CodeSent | CodeWait | NotBooked:
    """Text the client a code, once the class is known to have their seats free."""
    assert draft.phone and draft.name
    try:
        company = await services.altegio.company()
        if await _full(services, draft, company):
            return NotBooked(errors.ClassFull("the class is full"))
        wait = services.codes.allow(draft.phone, user_id)
        if wait:
            return CodeWait(wait)
        await services.altegio.send_code(draft.phone, draft.name)
    except errors.AltegioError as exc:
        return NotBooked(exc)
    return CodeSent()


async def book_class(
    services: Services, alerts: Alerts, draft: Draft, who: Who, code: str | None
) -> Booked | Checking | NotBooked:
    """Book the draft's seats; the outcome, with everything kept that Altegio confirmed."""
    outcome = await _book(services, alerts, draft, who, code)
    kind = BOOKED if isinstance(outcome, Booked) else REFUSED
    services.metrics.booking(UNCERTAIN if isinstance(outcome, Checking) else kind)
    return outcome


async def _book(
    services: Services, alerts: Alerts, draft: Draft, who: Who, code: str | None
) -> Booked | Checking | NotBooked:
    assert draft.phone and draft.name and draft.activity is not None and draft.slot
    settings = services.settings
    altegio = services.altegio
    storage = services.storage
    try:
        company = await altegio.company()
        start = _when(draft, company) or services.clock()
        event = await listed(services, draft.activity, start.astimezone(company.tz).date())
    except errors.AltegioError as exc:
        return NotBooked(exc)
    if event is None:
        return NotBooked(errors.ClassFull("the class is no longer listed"))
    seats = seats_of(draft)
    request = SeatBooking(
        phone=draft.phone,
        fullname=draft.name,
        seats=seats,
        email=draft.email or "",
        comment=draft.comment or "",
        code=code,
        api_id=draft.flow,
        notify_by_sms=settings.notify_by_sms,
        notify_by_email=settings.notify_by_email,
    )
    data = attempt_data(
        company_id=services.altegio.company_id,
        service_id=event.service_id,
        staff_id=event.staff_id,
        slot=draft.slot,
        slot_length=event.length,
        phone=draft.phone,
        name=draft.name,
        code=code,
        language=who.language,
        details={
            "title": event.title,
            "staff_name": event.staff_name,
            "email": draft.email or "",
            "activity_id": event.id,
        },
    )
    now = services.clock()
    try:
        storage.begin_attempt(draft.flow, who.chat_id, who.user_id, data, now)
    except StorageUnavailable as exc:
        log.error("class booking %s without a note of it in flight (%s)", draft.flow, exc)
    services.in_flight.add(draft.flow)
    flow = draft.flow
    try:
        created = await altegio.book_activity(event.id, request)
    except errors.OutcomeUnknown as exc:
        answered = exc.answered
        await keep(
            services,
            alerts,
            f"the check of class booking {flow}",
            lambda: storage.check_attempt(
                flow, now + CHECK_EVERY, now + CHECK_FOR, answered=answered
            ),
        )
        return Checking()
    except errors.AltegioError as exc:
        await keep(
            services, alerts, f"the end of booking {flow}", lambda: storage.end_attempt(flow)
        )
        return NotBooked(await _refusal(services, draft, company, exc, code))
    finally:
        services.in_flight.discard(flow)
    booking = StoredBooking(
        record_id=created.record_id,
        company_id=company.id,
        record_hash=created.record_hash,
        chat_id=who.chat_id,
        user_id=who.user_id,
        service_ids=(event.service_id,),
        staff_id=event.staff_id,
        start=event.start,
        length=event.length,
        created_at=now,
        phone=draft.phone,
        fullname=draft.name,
        title=event.title,
        staff_name=event.staff_name,
        activity_id=event.id,
    )
    contact = Contact(draft.name, draft.phone, draft.email or "", draft.consent)

    def remember() -> None:
        remember_booking(
            storage,
            [booking],
            contact,
            language=who.language,
            tz=company.tz,
            policy=services.reminder_policy,
            now=now,
        )
        storage.end_attempt(flow)

    await keep(services, alerts, f"class booking {created.record_id}", remember)
    log.info("booked %s seat(s) in event %s for client %s", seats, event.id, who.user_id)
    if code is not None:
        await cabinet.link_quietly(services, who.user_id, draft.phone, code)
    funnel.booked(services, flow)
    await alerts.salon_notice(salon_view.booked_notice(booking, company.tz), company)
    return Booked(created.record_id, event.start, event.staff_name, event.title, company)


async def _refusal(
    services: Services, draft: Draft, company: Company, exc: errors.AltegioError, code: str | None
) -> errors.AltegioError:
    """What a refusal means: about the client's details, as it says; any other (a 422 with any
    code, or with a sentence only) is checked against the event read again."""
    if isinstance(exc, errors.WrongCode) and code is None:
        services.altegio.forget_company()  # the salon has just switched SMS codes on
    if not isinstance(exc, errors.Rejected) or isinstance(exc, _DETAILS):
        if isinstance(exc, errors.EmailRequired | errors.CommentRequired):
            services.altegio.forget_company()
        return exc
    try:
        if await _full(services, draft, company):
            return errors.ClassFull(str(exc), exc.codes)
    except errors.AltegioError:
        pass
    log.warning("class booking refused, seats free: codes=%s", list(exc.codes))
    return exc
