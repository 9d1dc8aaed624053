"""A client's whole account as the salon sees it: appointments the salon made for a phone (booked
by phone or on the salon's web page) beside those booked online, attendance of past visits, and
user tokens Altegio stops accepting.

Everything is kept by phone digits, so `user/records` with the client's user token lists the
salon's records and the online ones alike. The reference marks the source only with `online`
(false for a record the salon's staff entered, true for online bookings and the salon's web
page), which `record_endpoints` shows; webhooks (`hooks`) also carry `from_url`/`bookform_id`.
Nothing here takes a lock: `Sandbox` holds it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from standins.altegio.salon import Record, SalonState, digits

SOURCES = ("phone", "web")
# 2 confirmed, 1 came, 0 waiting, -1 no-show (§7.4, §8.3).
ATTENDANCE = (-1, 0, 1, 2)
ATTENDANCE_KEYS = ("attendance", "visit_attendance", "both")
_REFUSALS = {401: "Authentication needed.", 403: "Access denied."}


def salon_book(
    state: SalonState,
    company_id: int,
    phone: str,
    service_id: int,
    staff_id: int,
    *,
    start: datetime,
    name: str = "",
    source: str = "phone",
    attendance: int = 0,
    comment: str = "",
) -> Record:
    """A record the salon entered itself; like `salon_move`, it may override its own schedule."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    if attendance not in ATTENDANCE:
        raise ValueError(f"attendance must be one of {ATTENDANCE}")
    if not digits(phone):
        raise ValueError("phone has no digits")
    salon = state.salons.get(company_id)
    if salon is None:
        raise KeyError(f"no location {company_id}")
    service = next((s for s in salon.services if s.id == service_id), None)
    if service is None:
        raise KeyError(f"no service {service_id} at {company_id}")
    if all(m.id != staff_id for m in salon.staff):
        raise KeyError(f"no team member {staff_id} at {company_id}")
    now = state.now()
    loc = salon.location
    record = Record(
        record_id=state.new_record_id(),
        company_id=company_id,
        staff_id=staff_id,
        service_ids=[service_id],
        start=start.astimezone(UTC),
        length=service.length_for(staff_id),
        phone=phone,
        fullname=name,
        email="",
        comment=comment,
        master_requested=True,
        hash=secrets.token_hex(16),
        api_id="",
        notify_by_sms=loc.default_notify_by_sms,
        notify_by_email=loc.default_notify_by_email,
        create_date=now,
        last_change_date=now,
        source=source,
        attendance=attendance,
    )
    state.records[record.record_id] = record
    return record


def mark_attendance(state: SalonState, record_id: int, attendance: int) -> Record:
    if attendance not in ATTENDANCE:
        raise ValueError(f"attendance must be one of {ATTENDANCE}")
    record = state.records[record_id]
    record.attendance = attendance
    record.last_change_date = state.now()
    return record


def revoke_user_token(state: SalonState, token: str, status: int = 401) -> None:
    """Altegio stops accepting `token` (answering `status`); the client keeps their account, and
    a new `user/auth` gives them a new token."""
    if status not in _REFUSALS:
        raise ValueError(f"status must be one of {tuple(_REFUSALS)}")
    user = state.users.pop(token, None)
    if user is None:
        raise KeyError("no such user token")
    user.token = secrets.token_hex(16)
    state.users[user.token] = user
    state.refused_tokens[token] = status


def refusal(state: SalonState, token: str) -> tuple[int, str] | None:
    status = state.refused_tokens.get(token)
    return None if status is None else (status, _REFUSALS[status])


def set_attendance_key(state: SalonState, key: str) -> None:
    if key not in ATTENDANCE_KEYS:
        raise ValueError(f"attendance key must be one of {ATTENDANCE_KEYS}")
    state.attendance_key = key


def set_user_auth_form(state: SalonState, form: str) -> None:
    """`user/auth` as captured ("enveloped", the default) or as documented ("bare")."""
    if form not in ("enveloped", "bare"):
        raise ValueError("user/auth form must be 'enveloped' or 'bare'")
    state.user_auth_form = form


LISTING_FORMS = ("any", "ids", "bare")


def set_listing_form(state: SalonState, form: str) -> None:
    """Which `GET user/records` path lists all of a client's records with their token, which
    the reference leaves open (§8.3, §14.4): "any" (the default: the path's ids are ignored, as
    §16 suggests), "ids" (only `user/records/{id}/{hash}`, any ids; the bare path is a 404) or
    "bare" (only the bare `user/records`; with ids, just the record they name)."""
    if form not in LISTING_FORMS:
        raise ValueError(f"listing form must be one of {LISTING_FORMS}")
    state.listing_form = form


def attendance_fields(state: SalonState, record: Record) -> dict[str, int]:
    """The reference names it `attendance` or `visit_attendance`; the sandbox says either."""
    key = state.attendance_key
    if key == "both":
        return {"attendance": record.attendance, "visit_attendance": record.attendance}
    return {key: record.attendance}


def client_id(state: SalonState, phone: str) -> int:
    """The client card's id for a phone, the same for all its records."""
    number = digits(phone)
    if number not in state.client_ids:
        state.client_ids[number] = 77_000_001 + len(state.client_ids)
    return state.client_ids[number]
