"""Moving an appointment to another day and time, and booking the same visit again.

The new time is chosen with the booking conversation's own day and time steps. The move uses
Altegio's reschedule call; where Altegio wants a user token for it, the bot gets one through the
SMS code, or, when the salon does not confirm phones, books the new time first and cancels the
old one only once the new one is confirmed, so the client never ends with none or two.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from telegram import Update

from bot.altegio import errors
from bot.altegio.client import Appointment, NewBooking
from bot.altegio.models import Company, parse_datetime
from bot.appointments import Change, Refusal, change_refusal, record_new, refresh, schedule
from bot.attempts import attempt_data
from bot.booking import Draft
from bot.context import BotApplication, Context
from bot.keyboards import NO_FLOW, Callback, Keys, decode
from bot.storage import Contact, StoredBooking
from conversations.appointments import cancelled, owned, refusal_text, when
from conversations.checkout import ask_code, code_wait
from conversations.common import (
    answer,
    book_noted,
    h,
    my_appointments,
    put_draft,
    show,
    store,
    unavailable,
)
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
    renders,
    single,
    staff_name,
    user_id_of,
)

log = logging.getLogger(__name__)


async def _owned_from_query(update: Update, context: Context) -> StoredBooking | None:
    query = update.callback_query
    cb = decode(query.data) if query else None
    if query is None or cb is None:
        return None
    booking = owned(update, context, cb.number)
    if booking is None or booking.status != "active":
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
    t = context.t
    services = context.services
    try:
        company = await services.altegio.company()
    except errors.AltegioError as exc:
        await unavailable(update, context, exc)
        return END
    # The record's own rules are the freshest word on whether it may move.
    fresh = await refresh(
        services.altegio, services.storage, booking, services.reminder_policy, context.now()
    )
    keys = Keys(NO_FLOW, t)
    back = single(keys.button(t.gettext("« Back"), "apt", booking.record_id))
    if fresh.change is Change.DELETED:
        await show(update, context, t.gettext("This appointment was cancelled."), back)
        return END
    booking = fresh.booking
    rules = fresh.rules(company)
    refusal = change_refusal(rules, booking.start, context.now())
    if refusal is not None:
        text = refusal_text(t, refusal, rules.change_notice, company.phone, "change")
        await show(update, context, text, back)
        return END
    draft = Draft(
        service_id=booking.service_ids[0] if booking.service_ids else None,
        staff_id=booking.staff_id,
        reschedule=booking.record_id,
        phone=booking.phone,
        name=booking.fullname,
    )
    return await go(update, context, draft, Step.DAY)


async def book_again(update: Update, context: Context) -> Outcome:
    """Book again: the same service with the same team member, from the day step."""
    booking = await _owned_from_query(update, context)
    if booking is None:
        return END
    draft = Draft(service_id=booking.service_ids[0] if booking.service_ids else None)
    if booking.staff_id:
        draft.staff_id = booking.staff_id
        return await go(update, context, draft, Step.DAY)
    return await go(update, context, draft, Step.STAFF)


@renders(Step.MOVE)
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
            service=h(service.title if service else ""),
            staff=h(staff_name(context, member)),
        ),
        t.gettext("From: %(when)s", when=when(t, booking.start, company)),
    ]
    if new_start is not None:
        lines.append(t.gettext("To: %(when)s", when=when(t, new_start, company)))
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
    services = context.services
    try:
        token = await services.altegio.user_auth(booking.phone, code)
    except errors.WrongCode:
        return await ask_code(
            update, context, draft, context.t.gettext("That code is not right. Please try again.")
        )
    except errors.AltegioError as exc:
        put_draft(context, draft)
        await unavailable(update, context, exc, draft.flow)
        return Step.CODE
    services.storage.remember_contact(
        user_id_of(update), Contact(booking.fullname, booking.phone), context.now()
    )
    services.storage.set_user_token(user_id_of(update), token)
    return await _move(update, context, draft, code=code)


async def _move(update: Update, context: Context, draft: Draft, code: str | None) -> Outcome:
    services = context.services
    booking = owned(update, context, draft.reschedule or 0)
    if booking is None or draft.slot is None:
        return await lost(update, context)
    try:
        company = await services.altegio.company()
    except errors.AltegioError as exc:
        await unavailable(update, context, exc, draft.flow)
        return Step.MOVE
    refusal = change_refusal(company.rules, booking.start, context.now())
    if refusal is not None:
        return await _refused(update, context, refusal, company)
    token = services.storage.user_token(user_id_of(update))
    try:
        moved = await services.altegio.reschedule(booking.record_id, draft.slot, token)
    except errors.AuthError:
        if code is None and (await services.altegio.company(fresh=True)).phone_confirmation:
            draft.phone, draft.name = booking.phone, booking.fullname
            draft.code_sent = True
            draft.code_attempts = 0
            wait = services.codes.allow(booking.phone, user_id_of(update))
            if wait:
                return await ask_code(update, context, draft, code_wait(context.t, wait))
            try:
                await services.altegio.send_code(booking.phone, booking.fullname)
            except errors.AltegioError as exc:
                await unavailable(update, context, exc, draft.flow)
                return Step.MOVE
            return await ask_code(update, context, draft)
        return await _swap(update, context, draft, booking, company=company, code=code)
    except (errors.SlotTaken, errors.NoStaffAvailable):
        return await _taken(update, context, draft)
    except errors.Rejected:
        # Altegio has the last word on the salon's rules: its refusal is reported as its own.
        services.altegio.forget_company()
        return await _refused(update, context, Refusal.BY_ALTEGIO, company)
    except errors.OutcomeUnknown:
        # One record either way: it tells where it stands now.
        fresh = await refresh(
            services.altegio, services.storage, booking, services.reminder_policy, context.now()
        )
        wanted = parse_datetime(draft.slot, company.tz) or booking.start
        read = fresh.change is not Change.DELETED and fresh.record is not None
        if read and fresh.booking.start == wanted:
            return await _done(update, context, draft, company, wanted)
        return await _unknown(update, context, draft, booking, company)
    except errors.AltegioError as exc:
        put_draft(context, draft)
        await unavailable(update, context, exc, draft.flow)
        return Step.MOVE
    wanted = parse_datetime(draft.slot, company.tz) or booking.start
    if moved is not None:
        new_start = moved.start
    else:
        # Altegio accepted the move without saying where the appointment now stands: its
        # record tells. Should it not answer, its "yes" stands for the time asked for.
        fresh = await refresh(
            services.altegio, services.storage, booking, services.reminder_policy, context.now()
        )
        if fresh.change is Change.UNCHECKED:
            new_start = wanted
        elif fresh.change is Change.DELETED or fresh.booking.start != wanted:
            return await _unknown(update, context, draft, booking, company)
        else:
            new_start = fresh.booking.start
    moved_booking = replace(booking, start=new_start)
    now = context.now()

    def remember() -> None:
        services.storage.update_booking(booking.record_id, start=new_start)
        schedule(services.storage, moved_booking, company.tz, services.reminder_policy, now)

    await store(context, f"the move of record {booking.record_id}", remember)
    log.info("moved record %s", booking.record_id)
    return await _done(update, context, draft, company, new_start)


async def _swap(
    update: Update,
    context: Context,
    draft: Draft,
    old: StoredBooking,
    *,
    company: Company,
    code: str | None,
) -> Outcome:
    """Book the new time, then cancel the old one; undo the new one if the old cannot go."""
    services = context.services
    assert draft.slot is not None
    contact = services.storage.contact(old.user_id)
    request = NewBooking(
        phone=old.phone,
        fullname=old.fullname,
        appointments=(Appointment(1, old.service_ids, old.staff_id, draft.slot),),
        email=contact.email if contact else "",
        code=code,
        api_id=draft.flow,
        notify_by_sms=services.settings.notify_by_sms,
        notify_by_email=services.settings.notify_by_email,
    )
    storage = services.storage
    flow = draft.flow
    data = attempt_data(
        service_id=old.service_ids[0] if old.service_ids else 0,
        staff_id=old.staff_id,
        slot=draft.slot,
        slot_length=old.length,
        phone=old.phone,
        name=old.fullname,
        code=code,
        language=context.language,
        details={
            "title": old.title,
            "staff_name": old.staff_name,
            "move_of": old.record_id,  # the appointment this booking is to replace
        },
    )
    try:
        created = (
            await book_noted(
                context, request, flow=flow, chat_id=old.chat_id, user_id=old.user_id, data=data
            )
        )[0]
    except errors.OutcomeUnknown:
        # The new time may have been booked: what became of it is looked into (the old
        # appointment is left alone meanwhile: two at worst, never none).
        return await _checking_move(update, context, old, company)
    except (errors.SlotTaken, errors.NoStaffAvailable):
        return await _taken(update, context, draft)
    except errors.Rejected:
        return await _refused(update, context, Refusal.BY_ALTEGIO, company)
    except errors.AltegioError as exc:
        put_draft(context, draft)
        await unavailable(update, context, exc, draft.flow)
        return Step.MOVE
    ended = f"the end of move {flow}"
    await store(context, ended, lambda: storage.settle_attempt(flow, "gone"))
    new_start = parse_datetime(draft.slot, company.tz) or old.start
    new = replace(
        old,
        record_id=created.record_id,
        record_hash=created.record_hash,
        start=new_start,
        created_at=context.now(),
    )
    now = context.now()
    await store(
        context,
        f"booking {new.record_id}",
        lambda: record_new(services.storage, new, company.tz, services.reminder_policy, now),
    )
    token = services.storage.user_token(old.user_id)
    try:
        await services.altegio.cancel_record(old.record_id, old.record_hash, token)
    except errors.AltegioError:
        # Read, never assumed: a cancel whose answer was lost may well have happened.
        state = await _state_of(context, old)
        if state == "live":
            return await _undo(update, context, old, new, company)
        if state == "unknown":
            return await _old_unknown(update, context, old, new, company)
    what = f"the cancel of record {old.record_id}"
    await store(context, what, lambda: cancelled(services, old))
    log.info("moved record %s to new record %s", old.record_id, created.record_id)
    return await _done(update, context, draft, company, new_start)


async def _state_of(context: Context, booking: StoredBooking) -> str:
    """Whether an appointment is `gone`, `live` or `unknown`, as Altegio reads now."""
    services = context.services
    fresh = await refresh(
        services.altegio, services.storage, booking, services.reminder_policy, context.now()
    )
    if fresh.change is Change.DELETED:
        return "gone"
    return "unknown" if fresh.change is Change.UNCHECKED else "live"


async def _checking_move(
    update: Update, context: Context, old: StoredBooking, company: Company
) -> Outcome:
    t = context.t
    text = t.gettext(
        "The salon's booking system has not answered yet. I am checking whether your new time "
        "was booked and will tell you here within a few minutes. Your appointment on %(when)s "
        "stands meanwhile.",
        when=when(t, old.start, company),
    )
    return await finish(update, context, text)


async def _old_unknown(
    update: Update, context: Context, old: StoredBooking, new: StoredBooking, company: Company
) -> Outcome:
    t = context.t
    await _tell_salon(
        context,
        f"record {new.record_id} was booked to move record {old.record_id}, but whether "
        f"record {old.record_id} ({old.start:%Y-%m-%d %H:%M}) was cancelled is unknown",
        old,
    )
    text = t.gettext(
        "Your new time is booked, but I could not confirm that your earlier appointment on "
        "%(when)s was cancelled. Please check My appointments.",
        when=when(t, old.start, company),
    )
    text += await call_salon(context)
    return await finish(update, context, text)


async def _tell_salon(context: Context, what: str, booking: StoredBooking) -> None:
    """The admin chat hears of a move whose outcome Altegio left unknown."""
    log.warning("move outcome unknown: %s", what)
    application = context.application
    if isinstance(application, BotApplication):
        await application.tell_admin(
            f"⚠️ A move through the bot needs checking: {what}. Client {booking.fullname} "
            f"(Telegram chat {booking.chat_id}). Please check and tell the client."
        )


async def _undo(
    update: Update, context: Context, old: StoredBooking, new: StoredBooking, company: Company
) -> Outcome:
    """The old appointment could not be cancelled after the new one was booked: cancel the new
    one, so the client keeps exactly one."""
    t = context.t
    services = context.services
    put_draft(context, None)
    log.warning("moving record %s: the old one could not be cancelled; undoing", old.record_id)
    try:
        await services.altegio.cancel_record(new.record_id, new.record_hash)
        state = "gone"
    except errors.AltegioError:
        state = await _state_of(context, new)
    if state != "gone":
        await _tell_salon(
            context,
            f"records {old.record_id} and {new.record_id} may both stand (a move could not "
            "cancel the old one nor undo the new one)",
            old,
        )
        text = t.gettext(
            "Your new time is booked, but the old appointment could not be cancelled. "
            "Please cancel one of them in My appointments."
        )
        return await finish(update, context, text + await call_salon(context))
    what = f"the cancel of record {new.record_id}"
    await store(context, what, lambda: cancelled(services, new))
    text = t.gettext(
        "Sorry, the appointment could not be moved right now. It stays as it was: %(when)s.",
        when=when(t, old.start, company),
    )
    await show(update, context, text, None)
    return END


async def _done(
    update: Update, context: Context, draft: Draft, company: Company, new_start: datetime
) -> Outcome:
    t = context.t
    put_draft(context, None)
    text = t.gettext("✅ Done! Your appointment is moved.")
    text += "\n" + t.gettext("New time: %(when)s", when=when(t, new_start, company))
    await show(update, context, text, my_appointments(t), new=update.callback_query is None)
    return END


async def _taken(update: Update, context: Context, draft: Draft) -> Outcome:
    context.notify(
        context.t.gettext("Sorry, that time has just been taken. Please choose another."),
        alert=True,
    )
    context.services.altegio.forget_availability()
    draft.slot = None
    return await go(update, context, draft, Step.TIME)


async def _refused(update: Update, context: Context, refusal: Refusal, company: Company) -> Outcome:
    t = context.t
    text = refusal_text(t, refusal, company.rules.change_notice, company.phone, "change")
    return await finish(update, context, text)


async def _unknown(
    update: Update, context: Context, draft: Draft, booking: StoredBooking, company: Company
) -> Outcome:
    t = context.t
    await _tell_salon(
        context,
        f"whether record {booking.record_id} ({booking.start:%Y-%m-%d %H:%M}) moved to "
        f"{draft.slot} is unknown (Altegio's answer was lost)",
        booking,
    )
    text = t.gettext(
        "The booking system did not answer in time, so I cannot tell whether your appointment "
        "was moved. Please check My appointments in a minute."
    )
    text += await call_salon(context)
    return await finish(update, context, text)
