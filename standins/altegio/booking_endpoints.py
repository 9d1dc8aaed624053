"""New appointments, as Altegio's online-booking endpoints take them: `book_code` (the SMS
code), `book_check` and `book_record`."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from standins.altegio.salon import Record, SalonState, SmsCode, digits
from standins.altegio.seed import Salon, StaffMember
from standins.altegio.wire import (
    NO_SERVICES,
    Json,
    Problem,
    as_int,
    fail,
    no_service,
    ok,
    parse_instant,
    preset_hours,
    refuse,
    text_of,
    words,
)

CODE_TTL = timedelta(minutes=5)

_PHONE_RE = re.compile(r"^\+?\d{10,15}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class _Planned:
    ref: Any
    member: StaffMember
    service_ids: list[int]
    start: datetime
    length: int
    master_requested: bool


def book_code(
    state: SalonState, salon: Salon, body: Json, sent: list[tuple[int, str, str]]
) -> Json:
    phone = body.get("phone")
    if not isinstance(phone, str) or not _PHONE_RE.match(phone.strip()):
        refuse(salon.location, Problem(431, "Invalid phone number format"))
    name = body.get("fullname") or body.get("fulname") or ""
    code = str(1000 + secrets.randbelow(9000))
    state.codes[(salon.location.id, digits(phone))] = SmsCode(
        code, state.now() + CODE_TTL, name if isinstance(name, str) else ""
    )
    sent.append((salon.location.id, phone.strip(), code))
    return {"success": True, "meta": {"message": "Created"}}


def _plan(state: SalonState, salon: Salon, body: Json) -> list[_Planned]:
    """Resolve and validate the appointments of a check or booking; never writes."""
    loc = salon.location
    appointments = body.get("appointments")
    if not isinstance(appointments, list) or not appointments:
        refuse(loc, Problem(422, NO_SERVICES))
    tz = state.tz(salon)
    known = {s.id for s in salon.services if s.id not in state.withdrawn}
    planned: list[_Planned] = []
    errors: list[Problem] = []
    for appointment in appointments:
        item = appointment if isinstance(appointment, dict) else {}
        ref = item.get("id")
        raw_services = item.get("services") or []
        service_ids = [as_int(s) for s in raw_services] if isinstance(raw_services, list) else []
        start = parse_instant(item.get("datetime"), tz)
        local = start.astimezone(tz) if start else None
        staff_id = as_int(item.get("staff_id", 0))
        when = local.strftime("%Y-%m-%d at %H:%M") if local else "that time"
        # A removed member is still on file (their old records show them), so named too.
        named = next((m.name for m in salon.staff if m.id == staff_id), "")
        taken = Problem(
            433,
            f"Team Member ({staff_id}) cannot be booked on {when}. "
            "The selected time is already taken or is not working.",
            ref,
            staff_id,
            named,
            local,
        )
        if not service_ids:
            errors.append(Problem(422, NO_SERVICES, ref))
            continue
        ids = [s for s in service_ids if s is not None and s in known]
        if len(ids) != len(service_ids):
            errors.append(no_service(ref))
            continue
        if start is None or staff_id is None:
            errors.append(taken)
            continue
        chosen: _Planned | None = None
        if staff_id == 0:
            for member in state.eligible(salon, ids):
                length = state.length(salon, member, ids)
                if state.fits(member, salon, start, length):
                    chosen = _Planned(ref, member, ids, start, length, False)
                    break
            if chosen is None:
                message = f"No team member is available on {when}."
                errors.append(Problem(436, message, ref, start=local))
                continue
        else:
            member_or_none = next((m for m in state.present(salon) if m.id == staff_id), None)
            if member_or_none is None:
                errors.append(taken)
                continue
            if not all(s in state.performs(member_or_none) for s in ids):
                errors.append(no_service(ref))
                continue
            length = state.length(salon, member_or_none, ids)
            if not state.fits(member_or_none, salon, start, length):
                errors.append(taken)
                continue
            chosen = _Planned(ref, member_or_none, ids, start, length, True)
        # One client cannot sit in two chairs at once, whoever serves them.
        end = chosen.start + timedelta(seconds=chosen.length)
        clash = next(
            (
                p
                for p in planned
                if p.start < end and chosen.start < p.start + timedelta(seconds=p.length)
            ),
            None,
        )
        if clash is not None:
            message = f"The appointment overlaps appointment {clash.ref} in the same booking."
            errors.append(Problem(437, message, ref, other_ref=clash.ref))
            continue
        planned.append(chosen)
    if errors:
        refuse(loc, *errors)
    return planned


def book_check(state: SalonState, salon: Salon, body: Json) -> Json:
    _plan(state, salon, body)
    return {"success": True, "data": None, "meta": {"message": "Created"}}


def client_checks(state: SalonState, salon: Salon, body: Json) -> tuple[str, str]:
    """The client's part of a booking, checked in Altegio's order (also for a group event's
    seats); the phone and the name, once they hold."""
    loc = salon.location
    phone = body.get("phone")
    if not isinstance(phone, str) or not _PHONE_RE.match(phone.strip()):
        refuse(loc, Problem(431, "Invalid phone number format"))
    phone = phone.strip()
    if digits(phone) in state.blacklisted:
        message = words(
            loc,
            "You cannot book online. Please contact the salon.",
            "Вы не можете записаться онлайн. Пожалуйста, свяжитесь с салоном.",
        )
        if loc.error_form == "message":
            fail(403, message)
        fail(403, message, [{"code": 434, "message": message}])
    fullname = body.get("fullname")
    if not isinstance(fullname, str) or not fullname.strip():
        refuse(loc, Problem(435, "Please enter your name"))
    # These two refusals carry no documented code, so none is made up: the message only.
    if loc.booking_email_required and not _EMAIL_RE.match(text_of(body.get("email")).strip()):
        fail(422, words(loc, "Please enter your email", "Укажите email"))
    if loc.booking_comment_required and not text_of(body.get("comment")).strip():
        fail(422, words(loc, "Please enter a comment", "Укажите комментарий"))
    if loc.phone_confirmation and not state.code_matches(phone, body.get("code"), [loc.id]):
        refuse(loc, Problem(432, "Wrong confirmation code"))
    return phone, fullname.strip()


def book_record(state: SalonState, salon: Salon, body: Json) -> Json:
    loc = salon.location
    phone, fullname = client_checks(state, salon, body)
    planned = _plan(state, salon, body)
    now = state.now()
    api_id = body.get("api_id")
    created = []
    for item in planned:
        record = Record(
            record_id=state.new_record_id(),
            company_id=loc.id,
            staff_id=item.member.id,
            service_ids=item.service_ids,
            start=item.start,
            length=item.length,
            phone=phone,
            fullname=fullname,
            email=text_of(body.get("email")),
            comment=text_of(body.get("comment")),
            master_requested=item.master_requested,
            hash=secrets.token_hex(16),
            api_id="" if api_id is None else str(api_id),
            notify_by_sms=preset_hours(body.get("notify_by_sms"), loc.default_notify_by_sms),
            notify_by_email=preset_hours(body.get("notify_by_email"), loc.default_notify_by_email),
            create_date=now,
            last_change_date=now,
        )
        state.records[record.record_id] = record
        created.append({"id": item.ref, "record_id": record.record_id, "record_hash": record.hash})
    return ok(created)
