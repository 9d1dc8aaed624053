"""The records of a visit booked as consecutive appointments with different team members:
kept together (each names the visit's first record), so the list, a move and a cancel take the
visit whole."""

from __future__ import annotations

from dataclasses import replace

from bot import visit_plan
from bot.altegio import errors
from bot.altegio.models import Company, CreatedRecord, parse_datetime
from bot.draft import Draft
from bot.services import Services
from bot.storage import StoredBooking


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
