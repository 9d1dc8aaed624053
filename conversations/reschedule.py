"""Moving an appointment to another day and time, and booking the same visit again.

The new time is chosen with the booking conversation's own day and time steps. The move uses
Altegio's reschedule call; where Altegio wants a user token for it, the bot gets one through the
SMS code, or, when the salon does not confirm phones, books the new time first and cancels the
old one only once the new one is confirmed, so the client never ends with none or two.
"""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import Update

from bot.altegio import errors
from bot.altegio.models import Company, parse_datetime
from bot.chain import is_chain
from bot.context import Context
from bot.draft import Draft
from bot.keyboards import NO_FLOW, Callback, Keys, decode
from bot.records import Change, change_refusal
from bot.storage import StoredBooking
from bot.workflows import move, visit_records
from bot.workflows.book import Who
from bot.workflows.move_visit import move_visit
from bot.workflows.sync import refresh
from conversations import locations as places
from conversations.appointments import owned
from conversations.checkout import ask_code
from conversations.drafts import put_draft
from conversations.flow import (
    END,
    Outcome,
    Step,
    call_salon,
    chosen_service,
    chosen_staff,
    finish,
    go,
    lost,
    staff_name,
    user_id_of,
)
from conversations.screens import answer, my_appointments, show, single, unavailable
from conversations.texts import code_wait, h, location_line, refusal_text, when
from conversations.visit_parts import schedule_lines

log = logging.getLogger(__name__)


async def _owned_from_query(
    update: Update, context: Context, *, active: bool = True
) -> StoredBooking | None:
    """The client's own booking the button names; `active`: only one that still stands (Book
    again takes a cancelled or past one too)."""
    query = update.callback_query
    cb = decode(query.data) if query else None
    if query is None or cb is None:
        return None
    booking = owned(update, context, cb.number)
    if booking is None or (active and booking.status != "active"):
        await answer(
            update, context, context.t.gettext("This appointment is not available."), alert=True
        )
        return None
    await answer(update, context)
    context.fresh_menu = True  # the reminder or appointment card stays as it is
    return booking


async def begin_reschedule(update: Update, context: Context) -> Outcome:
    """The Reschedule button of an appointment or a reminder."""
    booking = await _owned_from_query(update, context)
    if booking is None:
        return END
    places.follow(context, booking.company_id)  # its times are its location's
    t = context.t
    services = context.services
    try:
        company = await services.altegio.company()
    except errors.AltegioError as exc:
        await unavailable(update, context, exc)
        return END
    # The record's own rules are the freshest word on whether it may move.
    fresh = await refresh(services, booking)
    keys = Keys(NO_FLOW, t)
    back = single(keys.button(t.gettext("« Back"), "apt", booking.record_id))
    if fresh.change is Change.DELETED:
        await show(update, context, t.gettext("This appointment was cancelled."), back)
        return END
    booking = fresh.booking
    if booking.activity_id:  # a seat in a class: another class is booked, this one cancelled
        text = t.gettext("A class cannot be moved: please cancel it and book another one.")
        await show(update, context, text, back)
        return END
    rules = fresh.rules(company)
    refusal = change_refusal(rules, booking.start, context.now())
    if refusal is not None:
        text = refusal_text(t, refusal, rules.change_notice, company.phone, "change")
        await show(update, context, text, back)
        return END
    draft = Draft(
        service_id=booking.service_ids[0] if booking.service_ids else None,
        more_services=list(booking.service_ids[1:]),  # the whole visit moves
        staff_id=booking.staff_id,
        reschedule=booking.record_id,
        phone=booking.phone,
        name=booking.fullname,
    )
    visit = services.storage.visit_bookings(booking)
    if len(visit) > 1:
        # A visit in parts moves whole, each part with its own team member.
        every = [sid for part in visit for sid in part.service_ids]
        draft.service_id, draft.more_services = every[0], every[1:]
        draft.parts = [list(part.service_ids) for part in visit]
        draft.part_staff = [part.staff_id for part in visit]
        draft.staff_id, draft.reschedule = visit[0].staff_id, visit[0].record_id
    return go(draft, Step.DAY)


async def book_again(update: Update, context: Context) -> Outcome:
    """Book again: the same service with the same team member, at their nearest free time;
    after a visit, or after the salon cancelled it."""
    booking = await _owned_from_query(update, context, active=False)
    if booking is None:
        return END
    places.follow(context, booking.company_id)  # booked again where it was
    if booking.activity_id and booking.service_ids:  # a class: its coming ones, to choose from
        return go(Draft(classes={"svc": booking.service_ids[0]}), Step.CLASS)
    ids = visit_records.visit_service_ids(context.services.storage, booking)  # the whole visit
    draft = Draft(service_id=ids[0] if ids else None, more_services=ids[1:])
    if draft.service_id is None:
        return go(draft, Step.SERVICE)
    if booking.staff_id and not booking.visit_id:
        draft.nearest = True
        draft.staff_id = booking.staff_id
        return go(draft, Step.DAY)
    return go(draft, Step.STAFF)


async def show_move(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    booking = owned(update, context, draft.reschedule or 0)
    if booking is None or draft.slot is None:
        return await lost(update, context)
    company = await context.services.altegio.company()
    service = await chosen_service(context, draft)
    member = await chosen_staff(context, draft)
    new_start = parse_datetime(draft.slot, company.tz)
    lines = [
        t.gettext("Move your appointment?"),
        "",
        t.gettext(
            "<b>%(service)s</b> with %(staff)s",
            service=h(booking.title or (service.title if service else "")),  # the whole visit
            staff=h(staff_name(context, member)),
        ),
        t.gettext("From: %(when)s", when=when(t, booking.start, company)),
    ]
    if new_start is not None:
        lines.append(t.gettext("To: %(when)s", when=when(t, new_start, company)))
    if draft.parts:
        lines[2:3] = await schedule_lines(context, draft, company.tz)
    rows = [[keys.button(t.gettext("✅ Move it"), "mvok")]]
    await show(update, context, "\n".join(lines), keys.markup(rows), draft=draft)
    return Step.MOVE


async def on_move(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    return await _move(update, context, draft, code=None)


async def move_with_code(update: Update, context: Context, draft: Draft, code: str) -> Outcome:
    """The client typed the SMS code: trade it for a user token, then move."""
    booking = owned(update, context, draft.reschedule or 0)
    if booking is None:
        return await lost(update, context)
    failed = await move.confirm_phone(context.services, booking, code, user_id_of(update))
    if isinstance(failed, move.CodeNotRight):
        return await ask_code(
            update, context, draft, context.t.gettext("That code is not right. Please try again.")
        )
    if isinstance(failed, move.Unreachable):
        put_draft(context, draft)
        await unavailable(update, context, failed.reason, draft.flow)
        return Step.CODE
    return await _move(update, context, draft, code=code)


async def _move(update: Update, context: Context, draft: Draft, code: str | None) -> Outcome:
    booking = owned(update, context, draft.reschedule or 0)
    if booking is None or draft.slot is None:
        return await lost(update, context)
    t = context.t
    who = Who(booking.chat_id, user_id_of(update), context.language)
    if draft.parts:
        visit = context.services.storage.visit_bookings(booking)
        slots = [draft.slot, *(str(raw) for raw, _ in draft.later)]
        if len(visit) != len(slots):
            return await lost(update, context)
        outcome = await move_visit(
            context.services, context.alerts, visit, slots, flow=draft.flow, who=who, code=code
        )
    else:
        outcome = await move.move(
            context.services,
            context.alerts,
            booking,
            draft.slot,
            flow=draft.flow,
            who=who,
            code=code,
        )
    if isinstance(outcome, move.Moved):
        return await _done(update, context, outcome.company, outcome.start)
    if isinstance(outcome, move.Taken):
        context.notify(
            t.gettext("Sorry, that time has just been taken. Please choose another."), alert=True
        )
        draft.slot = None
        draft.taken = True  # said on the times too: a code typed has no button to answer
        return go(draft, Step.TIME)
    if isinstance(outcome, move.Refused):
        company = outcome.company
        text = refusal_text(
            t, outcome.refusal, company.rules.change_notice, company.phone, "change"
        )
        return await finish(update, context, text)
    if isinstance(outcome, move.CodeNeeded):
        draft.phone, draft.name = booking.phone, booking.fullname
        draft.code_sent = True
        draft.code_attempts = 0
        note = code_wait(t, outcome.wait) if outcome.wait else ""
        return await ask_code(update, context, draft, note)
    if isinstance(outcome, move.Unreachable):
        put_draft(context, draft)
        await unavailable(update, context, outcome.reason, draft.flow)
        return Step.MOVE
    if isinstance(outcome, move.Checking):
        text = t.gettext(
            "The salon's booking system has not answered yet. I am checking whether your new "
            "time was booked and will tell you here within a few minutes. Your appointment on "
            "%(when)s stands meanwhile.",
            when=when(t, outcome.old_start, outcome.company),
        )
        return await finish(update, context, text)
    if isinstance(outcome, move.Undone):
        put_draft(context, None)
        text = t.gettext(
            "Sorry, the appointment could not be moved right now. It stays as it was: %(when)s.",
            when=when(t, outcome.old_start, outcome.company),
        )
        await show(update, context, text, None)
        return END
    if isinstance(outcome, move.OldUnknown):
        text = t.gettext(
            "Your new time is booked, but I could not confirm that your earlier appointment on "
            "%(when)s was cancelled. Please check My appointments.",
            when=when(t, outcome.old_start, outcome.company),
        )
    elif isinstance(outcome, move.BothStand):
        text = t.gettext(
            "Your new time is booked, but the old appointment could not be cancelled. "
            "Please cancel one of them in My appointments."
        )
    else:
        text = t.gettext(
            "The booking system did not answer in time, so I cannot tell whether your "
            "appointment was moved. Please check My appointments in a minute."
        )
    return await finish(update, context, text + await call_salon(context))


async def _done(update: Update, context: Context, company: Company, new_start: datetime) -> Outcome:
    t = context.t
    put_draft(context, None)
    text = t.gettext("✅ Done! Your appointment is moved.")
    text += "\n" + t.gettext("New time: %(when)s", when=when(t, new_start, company))
    if is_chain(context.services):
        text += "\n" + location_line(t, company, chain=True)
    await show(update, context, text, my_appointments(t), new=update.callback_query is None)
    return END
