"""The records of a visit booked as consecutive appointments with different team members:
kept together (each names the visit's first record), so the list, a move and a cancel take the
visit whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot import visit_plan
from bot.altegio import errors
from bot.altegio.models import Company, CreatedRecord, parse_datetime
from bot.draft import Draft
from bot.records import Fresh
from bot.services import Services
from bot.storage import Storage, StoredBooking
from bot.workflows.sync import refresh


async def parts_kept(
    services: Services,
    draft: Draft,
    company: Company,
    first: list[StoredBooking],
    created: list[CreatedRecord],
) -> list[StoredBooking]:
    """A visit in parts as kept: each record with its own services, team member, time and
    length, all naming the first record as their visit. Altegio answers each appointment with
    its `id` (ours, echoed): matched by it, in the request's order where it is missing."""
    try:
        named = await visit_plan.named_parts(services.altegio, draft.parts, draft.part_staff)
    except errors.AltegioError:
        named = [visit_plan.Part("", member, "") for member in draft.part_staff]
    lengths = [draft.slot_length, *(length for _, length in draft.later)]
    times = [draft.slot or "", *(str(raw) for raw, _ in draft.later)]
    by_number = {made.appointment_id: made for made in created}
    kept = []
    for index, part in enumerate(draft.parts):
        made = by_number.get(index + 1) or (created[index] if index < len(created) else None)
        if made is None:
            continue
        base = first[0]
        start = base.start if index == 0 else parse_datetime(times[index], company.tz)
        kept.append(
            replace(
                base,
                record_id=made.record_id,
                record_hash=made.record_hash,
                service_ids=tuple(part),
                staff_id=base.staff_id if index == 0 else draft.part_staff[index],
                start=start or base.start,
                length=base.length if index == 0 else int(lengths[index] or 0),
                title=named[index].title or base.title,
                staff_name=(base.staff_name if index == 0 else "") or named[index].staff_name,
                visit_id=created[0].record_id,
            )
        )
    return kept


def standing_parts(storage: Storage, booking: StoredBooking) -> list[StoredBooking]:
    """The parts of the booking's visit that stand (not cancelled), soonest first: the booking
    alone for an appointment that is a visit of its own."""
    if not booking.visit_id:
        return [booking]
    return [b for b in storage.visit_bookings(booking) if b.status == "active"]


def visit_service_ids(storage: Storage, booking: StoredBooking) -> list[int]:
    """The services of the booking's whole visit, in the order of its parts (Book again): those
    of the parts that stand, or of every part once none does."""
    parts = standing_parts(storage, booking) or storage.visit_bookings(booking)
    ids: list[int] = []
    for part in parts:
        ids += [s for s in part.service_ids if s not in ids]
    return ids or list(booking.service_ids)


def grouped(items: Sequence[Fresh]) -> list[list[Fresh]]:
    """Appointments read fresh, as visits: the parts of a visit booked as consecutive
    appointments together (in their order), every other appointment alone; in the order of
    each visit's first."""
    visits: list[list[Fresh]] = []
    by_visit: dict[int, list[Fresh]] = {}
    for item in items:
        visit_id = item.booking.visit_id
        if visit_id and visit_id in by_visit:
            by_visit[visit_id].append(item)
            continue
        visit = [item]
        visits.append(visit)
        if visit_id:
            by_visit[visit_id] = visit
    for visit in visits:
        visit.sort(key=lambda f: f.booking.start)
    return visits


async def refresh_visit(services: Services, booking: StoredBooking) -> list[Fresh]:
    """Every standing part of the booking's visit read fresh from Altegio, soonest first (the
    booking alone for an appointment of its own). With the client's user token their own list
    is read once for all parts; else each part through its own hash."""
    parts = standing_parts(services.storage, booking) or [booking]
    if len(parts) == 1:
        return [await refresh(services, parts[0])]
    listed = None
    token = services.storage.user_token(booking.user_id)
    if token is not None:
        known = (booking.record_id, booking.record_hash) if booking.record_hash else None
        try:
            listed = await services.altegio.account_records(token, known)
        except errors.AltegioError:
            listed = None  # each part's own read says what there is to say
    read = [await refresh(services, part, listed) for part in parts]
    return sorted(read, key=lambda f: f.booking.start)
