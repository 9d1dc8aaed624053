"""Moving an appointment to another time, never leaving the client with none or two.

Altegio's reschedule call first. Where Altegio wants a user token for it, the client's phone is
confirmed with an SMS code when the salon confirms phones; otherwise the new time is booked
first and the old appointment cancelled only once the new one is confirmed, the new one undone
if the old one is still there. Whatever answer is lost on the way is read back from the records,
never assumed. Plain code: no Telegram here; the handler puts the outcome into words.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot import funnel, salon_view
from bot.altegio import errors
from bot.altegio.booking_calls import Appointment, NewBooking
from bot.altegio.models import Company, parse_datetime
from bot.records import Change, Refusal, change_refusal
from bot.services import Alerts, Services, keep
from bot.storage import Contact, StoredBooking
from bot.workflows.book import Who, place
from bot.workflows.cancel import cancelled
from bot.workflows.evidence import attempt_data
from bot.workflows.sync import record_new, refresh, schedule, token_refused

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Moved:
    start: datetime
    company: Company


@dataclass(frozen=True, slots=True)
class Taken:
    """The new time has been taken meanwhile: the appointment stays, another time is chosen."""


@dataclass(frozen=True, slots=True)
class Refused:
    refusal: Refusal
    company: Company


@dataclass(frozen=True, slots=True)
class CodeNeeded:
    """Altegio wants the client's phone confirmed: a code is on its way (`wait` 0), or one went
    to this phone a moment ago and the next may be asked for in `wait` seconds."""

    wait: float


@dataclass(frozen=True, slots=True)
class CodeNotRight:
    pass


@dataclass(frozen=True, slots=True)
class Unreachable:
    """Altegio could not be asked: nothing changed, the client may try again."""

    reason: errors.AltegioError


@dataclass(frozen=True, slots=True)
class Checking:
    """The new time's booking answer was lost: looked into like a lost booking, with the old
    appointment left as it is meanwhile (two at worst, never none)."""

    old_start: datetime
    company: Company


@dataclass(frozen=True, slots=True)
class Unknown:
    """Whether the appointment moved is unknown; the salon has been told."""


@dataclass(frozen=True, slots=True)
class OldUnknown:
    """The new time is booked; whether the old one was cancelled is unknown (salon told)."""

    old_start: datetime
    company: Company


@dataclass(frozen=True, slots=True)
class Undone:
    """The old appointment could not be cancelled, so the new one was: it stays as it was."""

    old_start: datetime
    company: Company


@dataclass(frozen=True, slots=True)
class BothStand:
    """Neither the old one could be cancelled nor the new one undone (salon told)."""


Outcome = (
    Moved | Taken | Refused | CodeNeeded | Unreachable | Checking | Unknown | OldUnknown | Undone
) | BothStand


async def confirm_phone(
    services: Services, booking: StoredBooking, code: str, user_id: int
) -> CodeNotRight | Unreachable | None:
    """Trade the client's SMS code for a user token, kept for their next moves; None when done."""
    try:
        token = await services.altegio.user_auth(booking.phone, code)
    except errors.WrongCode:
        return CodeNotRight()
    except errors.AltegioError as exc:
        return Unreachable(exc)
    now = services.clock()
    services.storage.remember_contact(user_id, Contact(booking.fullname, booking.phone), now)
    services.storage.set_user_token(user_id, token, booking.phone)
    return None


async def move(
    services: Services,
    alerts: Alerts,
    booking: StoredBooking,
    slot: str,
    *,
    flow: str,
    who: Who,
    code: str | None,
) -> Outcome:
    """Move `booking` to `slot` (a time Altegio offered)."""
    services = services.at(booking.company_id)  # at the appointment's own location
    altegio = services.altegio
    try:
        company = await altegio.company()
    except errors.AltegioError as exc:
        return Unreachable(exc)
    refusal = change_refusal(company.rules, booking.start, services.clock())
    if refusal is not None:
        return Refused(refusal, company)
    token = services.storage.user_token(who.user_id)
    try:
        moved = await altegio.reschedule(booking.record_id, slot, token)
    except errors.AuthError:
        if token is not None:
            token_refused(services, who.user_id, token)
        # Kept without a hash (from the client's account), only a user token can move it.
        confirm = not booking.record_hash or (await altegio.company(fresh=True)).phone_confirmation
        if code is None and confirm:
            return await ask_code(services, booking, who)
        return await _swap(services, alerts, booking, slot, company, flow=flow, who=who, code=code)
    except (errors.SlotTaken, errors.NoStaffAvailable):
        altegio.forget_availability()
        return Taken()
    except errors.Rejected:
        # Altegio has the last word on the salon's rules: its refusal is reported as its own.
        altegio.forget_company()
        return Refused(Refusal.BY_ALTEGIO, company)
    except errors.OutcomeUnknown:
        # One record either way: it tells where it stands now.
        fresh = await refresh(services, booking)
        wanted = parse_datetime(slot, company.tz) or booking.start
        read = fresh.change is not Change.DELETED and fresh.record is not None
        if read and fresh.booking.start == wanted:
            return await move_made(services, alerts, booking, wanted, company, flow=flow)
        return await _unknown(alerts, booking, slot, company)
    except errors.AltegioError as exc:
        return Unreachable(exc)
    wanted = parse_datetime(slot, company.tz) or booking.start
    if moved is not None:
        new_start = moved.start
    else:
        # Altegio accepted the move without saying where the appointment now stands: its
        # record tells. Should it not answer, its "yes" stands for the time asked for.
        fresh = await refresh(services, booking)
        if fresh.change is Change.UNCHECKED:
            new_start = wanted
        elif fresh.change is Change.DELETED or fresh.booking.start != wanted:
            return await _unknown(alerts, booking, slot, company)
        else:
            new_start = fresh.booking.start
    moved_booking = replace(booking, start=new_start)
    now = services.clock()

    def remember() -> None:
        services.storage.update_booking(booking.record_id, start=new_start)
        schedule(services.storage, moved_booking, company.tz, services.reminder_policy, now)

    await keep(services, alerts, f"the move of record {booking.record_id}", remember)
    log.info("moved record %s", booking.record_id)
    return await move_made(services, alerts, booking, new_start, company, flow=flow)


async def ask_code(
    services: Services, booking: StoredBooking, who: Who
) -> CodeNeeded | Unreachable:
    """Altegio wants the client's phone confirmed before it moves anything: a code goes out,
    within the limits on texts to a phone and from a client."""
    wait = services.codes.allow(booking.phone, who.user_id)
    if wait:
        return CodeNeeded(wait)
    try:
        await services.altegio.send_code(booking.phone, booking.fullname)
    except errors.AltegioError as exc:
        return Unreachable(exc)
    return CodeNeeded(0)


def swap_request(
    services: Services,
    old: Sequence[StoredBooking],
    slots: Sequence[str],
    *,
    flow: str,
    code: str | None,
    language: str,
) -> tuple[NewBooking, dict[str, Any]]:
    """The booking of the new time(s) a move books before the old appointment(s) go, one
    appointment per part, and what is noted of it before it leaves."""
    first = old[0]
    contact = services.storage.contact(first.user_id)
    request = NewBooking(
        phone=first.phone,
        fullname=first.fullname,
        appointments=tuple(
            Appointment(number, b.service_ids, b.staff_id, slot)
            for number, (b, slot) in enumerate(zip(old, slots, strict=True), start=1)
        ),
        email=contact.email if contact else "",
        code=code,
        api_id=flow,
        notify_by_sms=services.settings.notify_by_sms,
        notify_by_email=services.settings.notify_by_email,
    )
    data = attempt_data(
        company_id=services.altegio.company_id,
        service_id=first.service_ids[0] if first.service_ids else 0,
        service_ids=first.service_ids,
        staff_id=first.staff_id,
        slot=slots[0],
        slot_length=first.length,
        phone=first.phone,
        name=first.fullname,
        code=code,
        language=language,
        details={
            "title": first.title,
            "staff_name": first.staff_name,
            "move_of": first.record_id,  # the appointment this booking is to replace
        },
    )
    return request, data


async def _swap(
    services: Services,
    alerts: Alerts,
    old: StoredBooking,
    slot: str,
    company: Company,
    *,
    flow: str,
    who: Who,
    code: str | None,
) -> Outcome:
    """Book the new time, then cancel the old one; undo the new one if the old cannot go."""
    storage = services.storage
    altegio = services.altegio
    request, data = swap_request(
        services, [old], [slot], flow=flow, code=code, language=who.language
    )
    owner = Who(old.chat_id, old.user_id, who.language)
    try:
        created = (await place(services, alerts, request, flow=flow, who=owner, data=data))[0]
    except errors.OutcomeUnknown:
        # The new time may have been booked: what became of it is looked into (the old
        # appointment is left alone meanwhile: two at worst, never none).
        return Checking(old.start, company)
    except (errors.SlotTaken, errors.NoStaffAvailable):
        altegio.forget_availability()
        return Taken()
    except errors.Rejected:
        return Refused(Refusal.BY_ALTEGIO, company)
    except errors.AltegioError as exc:
        return Unreachable(exc)
    await keep(services, alerts, f"the end of move {flow}", lambda: storage.end_attempt(flow))
    new_start = parse_datetime(slot, company.tz) or old.start
    now = services.clock()
    # The same appointment at another time: it keeps when it was first booked, so the salon's
    # figures count a move as a move, not as a new booking.
    new = replace(
        old, record_id=created.record_id, record_hash=created.record_hash, start=new_start
    )
    await keep(
        services,
        alerts,
        f"booking {new.record_id}",
        lambda: record_new(storage, new, company.tz, services.reminder_policy, now),
    )
    token = storage.user_token(old.user_id)
    try:
        await altegio.cancel_record(old.record_id, old.record_hash, token)
    except errors.AltegioError:
        # Read, never assumed: a cancel whose answer was lost may well have happened.
        state = await _state_of(services, old)
        if state == "live":
            return await _undo(services, alerts, old, new, company)
        if state == "unknown":
            await tell_salon(
                alerts,
                f"record {new.record_id} was booked to move record {old.record_id}, but whether "
                f"record {old.record_id} ({old.start:%Y-%m-%d %H:%M}) was cancelled is unknown",
                old,
                company,
            )
            return OldUnknown(old.start, company)
    what = f"the cancel of record {old.record_id}"
    await keep(services, alerts, what, lambda: cancelled(storage, old))
    log.info("moved record %s to new record %s", old.record_id, created.record_id)
    return await move_made(services, alerts, old, new_start, company, flow=flow)


async def move_made(
    services: Services,
    alerts: Alerts,
    booking: StoredBooking,
    new_start: datetime,
    company: Company,
    *,
    flow: str,
) -> Moved:
    """The move is made: counted, and the salon's admin chats told."""
    funnel.moved(services, flow)
    await alerts.salon_notice(salon_view.moved_notice(booking, new_start, company.tz), company)
    return Moved(new_start, company)


async def _undo(
    services: Services, alerts: Alerts, old: StoredBooking, new: StoredBooking, company: Company
) -> Outcome:
    """The old appointment could not be cancelled after the new one was booked: cancel the new
    one, so the client keeps exactly one."""
    log.warning("moving record %s: the old one could not be cancelled; undoing", old.record_id)
    try:
        await services.altegio.cancel_record(new.record_id, new.record_hash)
        state = "gone"
    except errors.AltegioError:
        state = await _state_of(services, new)
    if state != "gone":
        await tell_salon(
            alerts,
            f"records {old.record_id} and {new.record_id} may both stand (a move could not "
            "cancel the old one nor undo the new one)",
            old,
            company,
        )
        return BothStand()
    what = f"the cancel of record {new.record_id}"
    await keep(services, alerts, what, lambda: cancelled(services.storage, new))
    return Undone(old.start, company)


async def _state_of(services: Services, booking: StoredBooking) -> str:
    """Whether an appointment is `gone`, `live` or `unknown`, as Altegio reads now."""
    fresh = await refresh(services, booking)
    if fresh.change is Change.DELETED:
        return "gone"
    return "unknown" if fresh.change is Change.UNCHECKED else "live"


async def _unknown(alerts: Alerts, booking: StoredBooking, slot: str, company: Company) -> Unknown:
    await tell_salon(
        alerts,
        f"whether record {booking.record_id} ({booking.start:%Y-%m-%d %H:%M}) moved to "
        f"{slot} is unknown (Altegio's answer was lost)",
        booking,
        company,
    )
    return Unknown()


async def tell_salon(
    alerts: Alerts, what: str, booking: StoredBooking, company: Company | None = None
) -> None:
    """The admin chat hears of a move whose outcome Altegio left unknown (at `company`)."""
    log.warning("move outcome unknown: %s", what)
    await alerts.tell_admin(
        f"⚠️ A move through the bot needs checking: {what}. Client {booking.fullname} "
        f"(Telegram chat {booking.chat_id}). Please check and tell the client.",
        company,
    )
