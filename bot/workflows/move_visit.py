"""Moving a visit booked as consecutive appointments, as a whole: every part to its new time,
or none of them.

Each part is moved with Altegio's reschedule call in turn; when one cannot be (taken meanwhile,
refused, Altegio out of reach), the parts already moved are moved back, so the client keeps the
visit as it was. Where Altegio wants a user token and the salon does not confirm phones, the new
visit is booked whole first and the old parts cancelled after, the new one undone if the first
old part cannot go. The outcomes are the single appointment's (`bot/workflows/move.py`). Plain
code: no Telegram here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.altegio import errors
from bot.altegio.models import Company, parse_datetime
from bot.records import Change, Refusal, change_refusal
from bot.services import Alerts, Services, keep
from bot.storage import StoredBooking
from bot.workflows.book import Who, place
from bot.workflows.cancel import cancelled
from bot.workflows.move import (
    BothStand,
    Checking,
    Outcome,
    Refused,
    Taken,
    Undone,
    Unknown,
    Unreachable,
    ask_code,
    move_made,
    swap_request,
    tell_salon,
)
from bot.workflows.sync import record_new, refresh, schedule, token_refused

log = logging.getLogger(__name__)


async def move_visit(
    services: Services,
    alerts: Alerts,
    visit: Sequence[StoredBooking],
    slots: Sequence[str],
    *,
    flow: str,
    who: Who,
    code: str | None,
) -> Outcome:
    """Move the visit's parts (soonest first) to `slots`, one time Altegio offered per part."""
    assert visit and len(visit) == len(slots)
    services = services.at(visit[0].company_id)  # at the visit's own location
    altegio = services.altegio
    try:
        company = await altegio.company()
    except errors.AltegioError as exc:
        return Unreachable(exc)
    refusal = change_refusal(company.rules, visit[0].start, services.clock())
    if refusal is not None:
        return Refused(refusal, company)
    token = services.storage.user_token(who.user_id)
    done: list[tuple[StoredBooking, datetime]] = []
    for booking, slot in zip(visit, slots, strict=True):
        wanted = parse_datetime(slot, company.tz) or booking.start
        try:
            moved = await altegio.reschedule(booking.record_id, slot, token)
        except errors.AuthError:
            if done:
                return await _back(services, alerts, done, company, Unknown())
            if token is not None:
                token_refused(services, who.user_id, token)
            fresh_company = await altegio.company(fresh=True)
            confirm = not booking.record_hash or fresh_company.phone_confirmation
            if code is None and confirm:
                return await ask_code(services, booking, who)
            return await _swap(services, alerts, visit, slots, company, flow=flow, who=who)
        except (errors.SlotTaken, errors.NoStaffAvailable):
            altegio.forget_availability()
            return await _back(services, alerts, done, company, Taken())
        except errors.Rejected:
            altegio.forget_company()
            return await _back(
                services, alerts, done, company, Refused(Refusal.BY_ALTEGIO, company)
            )
        except errors.OutcomeUnknown:
            fresh = await refresh(services, booking)
            if fresh.change is Change.DELETED or fresh.booking.start != wanted:
                return await _back(services, alerts, done, company, Unknown())
            done.append((booking, wanted))
            continue
        except errors.AltegioError as exc:
            return await _back(services, alerts, done, company, Unreachable(exc))
        done.append((booking, moved.start if moved is not None else wanted))
    now = services.clock()

    def remember() -> None:
        for booking, start in done:
            services.storage.update_booking(booking.record_id, start=start)
            schedule(
                services.storage,
                replace(booking, start=start),
                company.tz,
                services.reminder_policy,
                now,
            )

    await keep(services, alerts, f"the move of visit {visit[0].record_id}", remember)
    log.info("moved visit %s (%s parts)", visit[0].record_id, len(done))
    return await move_made(services, alerts, visit[0], done[0][1], company, flow=flow)


async def _back(
    services: Services,
    alerts: Alerts,
    done: list[tuple[StoredBooking, datetime]],
    company: Company,
    outcome: Outcome,
) -> Outcome:
    """A part could not move: the parts already moved go back to their times, so the visit
    stays whole. `outcome` is then the client's answer; when a part cannot go back, the salon
    is told and what stands is kept as Altegio has it."""
    stuck = []
    for booking, start in reversed(done):
        old = booking.start.astimezone(company.tz).isoformat()
        try:
            await services.altegio.reschedule(
                booking.record_id, old, services.storage.user_token(booking.user_id)
            )
        except errors.AltegioError:
            stuck.append((booking, start))
    if not stuck:
        return outcome
    now = services.clock()

    def remember() -> None:
        for booking, start in stuck:
            services.storage.update_booking(booking.record_id, start=start)
            moved = replace(booking, start=start)
            schedule(services.storage, moved, company.tz, services.reminder_policy, now)

    await keep(services, alerts, "a visit's parts left moved", remember)
    await tell_salon(
        alerts,
        "a visit's parts could not all move, and "
        + ", ".join(f"record {b.record_id} (now {s:%Y-%m-%d %H:%M})" for b, s in stuck)
        + " could not be moved back",
        stuck[0][0],
        company,
    )
    return Unknown()


async def _swap(
    services: Services,
    alerts: Alerts,
    old: Sequence[StoredBooking],
    slots: Sequence[str],
    company: Company,
    *,
    flow: str,
    who: Who,
) -> Outcome:
    """Book the visit anew, then cancel the old parts; undo the new visit if the first old part
    cannot go (after that, two at worst: the salon is told)."""
    storage = services.storage
    altegio = services.altegio
    first = old[0]
    request, data = swap_request(services, old, slots, flow=flow, code=None, language=who.language)
    owner = Who(first.chat_id, first.user_id, who.language)
    try:
        created = await place(services, alerts, request, flow=flow, who=owner, data=data)
    except errors.OutcomeUnknown:
        return Checking(first.start, company)
    except (errors.SlotTaken, errors.NoStaffAvailable):
        altegio.forget_availability()
        return Taken()
    except errors.Rejected:
        return Refused(Refusal.BY_ALTEGIO, company)
    except errors.AltegioError as exc:
        return Unreachable(exc)
    await keep(services, alerts, f"the end of move {flow}", lambda: storage.end_attempt(flow))
    now = services.clock()
    new = [
        replace(
            b,
            record_id=made.record_id,
            record_hash=made.record_hash,
            start=parse_datetime(slot, company.tz) or b.start,
            visit_id=created[0].record_id,
        )
        for b, slot, made in zip(old, slots, created, strict=False)
    ]

    def remember_new() -> None:
        for booking in new:
            record_new(storage, booking, company.tz, services.reminder_policy, now)

    await keep(services, alerts, f"visit {created[0].record_id}", remember_new)
    token = storage.user_token(first.user_id)
    for index, booking in enumerate(old):
        try:
            await altegio.cancel_record(booking.record_id, booking.record_hash, token)
        except errors.AltegioError:
            if index == 0:
                return await _undo(services, alerts, first, new, company)
            await tell_salon(
                alerts,
                f"visit {created[0].record_id} was booked to move visit {first.record_id}, but "
                f"record {booking.record_id} of the old visit could not be cancelled",
                first,
                company,
            )
            return BothStand()
        await keep(
            services,
            alerts,
            f"the cancel of record {booking.record_id}",
            lambda booking=booking: cancelled(storage, booking),  # type: ignore[misc]
        )
    new_start = new[0].start
    return await move_made(services, alerts, first, new_start, company, flow=flow)


async def _undo(
    services: Services,
    alerts: Alerts,
    first: StoredBooking,
    new: list[StoredBooking],
    company: Company,
) -> Outcome:
    """The old visit could not be cancelled: the new one is, so the client keeps one visit."""
    failed = []
    for booking in new:
        try:
            await services.altegio.cancel_record(booking.record_id, booking.record_hash)
        except errors.AltegioError:
            failed.append(booking)
            continue
        await keep(
            services,
            alerts,
            f"the cancel of record {booking.record_id}",
            lambda booking=booking: cancelled(services.storage, booking),  # type: ignore[misc]
        )
    if failed:
        await tell_salon(
            alerts,
            f"the visit of record {first.record_id} and the new records "
            + ", ".join(str(b.record_id) for b in failed)
            + " may both stand (a move could not cancel the old visit nor undo the new one)",
            first,
            company,
        )
        return BothStand()
    return Undone(first.start, company)
