"""Appointments already made, as Altegio's endpoints show and change them: `GET book_record`,
`PUT book_record` (reschedule), `POST user/auth`, `GET` and `DELETE user/records`."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from datetime import timedelta

from standins.altegio.client_accounts import attendance_fields, refusal
from standins.altegio.salon import Record, SalonState, User, digits
from standins.altegio.seed import SANDBOX_COMPANY_ID, Salon, Service, StaffMember
from standins.altegio.wire import (
    AVATAR,
    Json,
    Problem,
    as_int,
    fail,
    iso_compact,
    not_found,
    ok,
    parse_instant,
    path_int,
    pick,
    position,
    price,
    rating,
    refuse,
    salon_at,
    wall,
    words,
)

# Which fields each record shape carries, as the reference lists them.
# fmt: off
_RECORD_COMPANY_KEYS = (
    "id", "title", "country_id", "country", "city_id", "city", "phone", "address",
    "coordinate_lat", "coordinate_lon", "allow_delete_record", "allow_change_record", "site",
    "currency_short_title", "allow_change_record_delay_step", "allow_delete_record_delay_step",
)
_CHANGED_COMPANY_KEYS = (
    "id", "title", "country_id", "country", "city_id", "city", "phone", "timezone", "address",
    "coordinate_lat", "coordinate_lon",
)
_CHANGED_RECORD_KEYS = (
    "id", "date", "datetime", "create_date", "comment", "deleted", "length", "notify_by_sms",
    "notify_by_email", "master_requested", "online", "api_id",
)
# fmt: on


def _user(state: SalonState, user_token: str | None) -> User:
    """The logged-in client; endpoints that need one answer 401 without it, and a token
    Altegio no longer accepts gets the refusal it was revoked with."""
    refused = refusal(state, user_token) if user_token else None
    if refused is not None:
        fail(*refused)
    user = state.users.get(user_token) if user_token else None
    if user is None:
        fail(401, "Authentication needed.")
    return user


def _owns(user: User, record: Record) -> bool:
    return digits(record.phone) == user.phone


def record_by_hash(
    state: SalonState, cid: str, record_segment: str, record_hash: str, user_token: str | None
) -> Record:
    salon = salon_at(state, cid)
    record = state.records.get(path_int(record_segment))
    if record is None or record.company_id != salon.location.id:
        not_found()
    if secrets.compare_digest(record.hash, record_hash):
        return record
    if user_token is not None:
        if not _owns(_user(state, user_token), record):
            fail(403, "Access denied.")
        return record
    # A wrong hash reads as a missing record, so ids cannot be probed for existence.
    not_found()


def reschedule(
    state: SalonState, cid: str, record_segment: str, body: Json, user_token: str | None
) -> Json:
    salon = salon_at(state, cid)
    loc = salon.location
    user = _user(state, user_token)
    record = state.records.get(path_int(record_segment))
    if record is None or record.company_id != loc.id or record.deleted:
        not_found()
    if not _owns(user, record):
        fail(403, "Access denied.")
    now = state.now()
    if not loc.allow_change_record:
        fail(
            422,
            words(
                loc,
                "Online rescheduling is not available at this location.",
                "Онлайн-перенос записи в этом филиале недоступен.",
            ),
        )
    if now + timedelta(seconds=loc.allow_change_record_delay_step) > record.start:
        hours = loc.allow_change_record_delay_step // 3600
        fail(
            422,
            words(
                loc,
                f"Cannot reschedule online less than {hours} h before the visit.",
                f"Перенести запись онлайн можно не позднее чем за {hours} ч до визита.",
            ),
        )
    tz = state.tz(salon)
    start = parse_instant(body.get("datetime"), tz)
    member = _member_of(state, record)
    # A member who has left takes no more visits, not even moved ones.
    if (
        start is None
        or member.id in state.removed
        or not state.fits(member, salon, start, record.length, record.record_id)
    ):
        message = (
            f"Team Member ({record.staff_id}) cannot be booked at that time. "
            "The selected time is already taken or is not working."
        )
        local = start.astimezone(tz) if start else None
        refuse(loc, Problem(433, message, staff_id=member.id, staff_name=member.name, start=local))
    record.start = start
    if isinstance(body.get("comment"), str):
        record.comment = body["comment"]
    record.last_change_date = now
    return ok(_changed_view(state, record))


def user_auth(state: SalonState, body: Json) -> Json:
    phone = body.get("phone")
    company = as_int(body.get("company_id"))
    companies = [company] if company in state.salons else list(state.salons)
    if not isinstance(phone, str) or not state.code_matches(phone, body.get("code"), companies):
        # Without a location in the body, the default location's error form speaks.
        speaker = state.salons.get(company or 0) or state.salons[SANDBOX_COMPANY_ID]
        refuse(speaker.location, Problem(432, "Wrong confirmation code"))
    user = state.user_for(phone)
    name = next(
        (s.fullname for (_, p), s in state.codes.items() if p == user.phone and s.fullname),
        "",
    ) or next((r.fullname for r in state.records.values() if digits(r.phone) == user.phone), "")
    if state.user_auth_form == "bare":
        # The documented 201 body: the token alone, no envelope.
        return {"user_token": user.token}
    return ok(
        {
            "0": user.token,
            "id": user.id,
            "user_token": user.token,
            "name": name,
            "phone": user.phone,
            "login": user.phone,
            "email": "",
            "avatar": AVATAR,
        }
    )


def _path_record(state: SalonState, rest: list[str], user_token: str | None) -> Record:
    """`user/records/{id}/{hash}`: a user token owning the record, or the matching hash."""
    if not rest:
        not_found()
    record = state.records.get(path_int(rest[0]))
    if record is None:
        not_found()
    if user_token is not None:
        if not _owns(_user(state, user_token), record):
            fail(403, "Access denied.")
        return record
    if len(rest) < 2 or not secrets.compare_digest(record.hash, rest[1]):
        not_found()
    return record


def user_records(state: SalonState, rest: list[str], user_token: str | None) -> Json:
    if user_token is not None:
        # With a token the path ids are not needed: the client sees all their visits (unless
        # the sandbox is told to route the listing otherwise: `set_listing_form`).
        user = _user(state, user_token)
        if state.listing_form == "ids" and len(rest) < 2:
            not_found()
        if state.listing_form == "bare" and rest:
            return ok([record_view(state, _path_record(state, rest, user_token))])
        mine = [r for r in state.records.values() if _owns(user, r)]
        return ok([record_view(state, r) for r in sorted(mine, key=lambda r: r.start)])
    return ok([record_view(state, _path_record(state, rest, None))])


def delete_record(state: SalonState, rest: list[str], user_token: str | None) -> Json:
    record = _path_record(state, rest, user_token)
    if record.deleted:
        not_found()
    loc = state.salons[record.company_id].location
    if not loc.allow_delete_record:
        fail(
            422,
            words(
                loc,
                "Online cancellation is not available at this location.",
                "Онлайн-отмена записи в этом филиале недоступна.",
            ),
        )
    now = state.now()
    if now + timedelta(seconds=loc.allow_delete_record_delay_step) > record.start:
        hours = loc.allow_delete_record_delay_step // 3600
        fail(
            422,
            words(
                loc,
                f"Cannot cancel online less than {hours} h before the visit.",
                f"Отменить запись онлайн можно не позднее чем за {hours} ч до визита.",
            ),
        )
    record.deleted = True
    record.last_change_date = now
    return ok(None)


def _services_of(state: SalonState, record: Record) -> list[Service]:
    salon = state.salons[record.company_id]
    by_id = {s.id: s for s in salon.services}
    return [by_id[s] for s in record.service_ids]


def _member_of(state: SalonState, record: Record) -> StaffMember:
    salon = state.salons[record.company_id]
    return next(m for m in salon.staff if m.id == record.staff_id)


def _offset_hours(state: SalonState, salon: Salon) -> str:
    offset = state.now().astimezone(state.tz(salon)).utcoffset() or timedelta()
    return str(int(offset.total_seconds() // 3600))


def record_view(state: SalonState, record: Record) -> Json:
    """The record as `GET book_record` and `GET user/records` show it."""
    salon = state.salons[record.company_id]
    tz = state.tz(salon)
    member = _member_of(state, record)
    company = {
        **pick(asdict(salon.location), _RECORD_COMPANY_KEYS),
        "phones": [salon.location.phone],
        "timezone": _offset_hours(state, salon),
    }
    services = [
        {
            "id": s.id,
            "title": s.title,
            "cost": s.price_min,
            "price_min": price(s, s.price_min),
            "price_max": price(s, s.price_max),
            "discount": 0,
            "amount": 1,
            "seance_length": s.length_for(member.id),
        }
        for s in _services_of(state, record)
    ]
    staff = {
        "id": member.id,
        "name": member.name,
        "specialization": member.specialization,
        "position": position(member),
        "show_rating": 1,
        "rating": rating(member),
        "votes_count": member.votes_count,
        "avatar": AVATAR,
        "comments_count": member.comments_count,
    }
    return {
        "id": record.record_id,
        "services": services,
        "company": company,
        "staff": staff,
        "clients_count": record.clients_count,
        "date": wall(record.start, tz),
        "datetime": iso_compact(record.start, tz),
        "create_date": iso_compact(record.create_date, tz),
        "comment": record.comment,
        "deleted": record.deleted,
        **attendance_fields(state, record),
        "length": record.length,
        "notify_by_sms": record.notify_by_sms,
        "notify_by_email": record.notify_by_email,
        "master_requested": record.master_requested,
        "online": record.source != "phone",
        "api_id": record.api_id,
        "last_change_date": iso_compact(record.last_change_date, tz),
        "prepaid": False,
        "prepaid_confirmed": False,
        "activity_id": record.activity_id,
    }


def _changed_view(state: SalonState, record: Record) -> Json:
    """The shorter shape `PUT book_record` answers with; staff specialization is `spec`."""
    full = record_view(state, record)
    staff = pick(full["staff"], ("id", "name", "show_rating", "rating", "votes_count"))
    return {
        **pick(full, _CHANGED_RECORD_KEYS),
        "services": [pick(s, ("id", "title", "cost", "discount")) for s in full["services"]],
        "company": pick(full["company"], _CHANGED_COMPANY_KEYS),
        "staff": {
            **staff,
            "spec": full["staff"]["specialization"],
            "avatar": AVATAR,
            "comments_count": full["staff"]["comments_count"],
        },
    }
