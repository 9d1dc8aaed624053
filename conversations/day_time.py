"""Choosing when: the day (a calendar, the nearest days with something free, or typed in the
client's words) and a free time on it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta

from telegram import Update

from bot import visit_plan, visit_times
from bot.altegio import errors
from bot.altegio.models import Company, Service, Slot, Staff
from bot.altegio.models.free_times import members_of
from bot.altegio.models.lenient import parse_date
from bot.context import Context
from bot.draft import (
    Draft,
    TypedDay,
    horizon,
    nearest_days,
    parse_day,
    parse_free_with,
)
from bot.i18n import writes_month_first
from bot.keyboards import Callback, Keys, time_arg
from bot.workflows import offer_times
from conversations.drafts import get_draft, put_draft
from conversations.earliest_offer import after_time, offer_earliest
from conversations.flow import (
    TEMPORARY,
    Outcome,
    Step,
    call_salon,
    chosen_service,
    chosen_staff,
    go,
    lost,
    salon_today,
    staff_gone,
    staff_name,
)
from conversations.screens import show, unavailable
from conversations.texts import h
from conversations.visit_parts import parts_text, show_part_times
from conversations.waiting_list import with_wait

log = logging.getLogger(__name__)

# The days a client found nothing free on, left out of the nearest days offered them.
FULL_DAYS_KEPT = 14


async def _bookable_days(
    context: Context, draft: Draft, company: Company, around: date | None = None
) -> set[date]:
    """Bookable days within the horizon; `around` names a month the client is looking at."""
    first, last = horizon(salon_today(context, company))
    assert draft.service_id is not None and draft.staff_id is not None
    altegio = context.services.altegio
    if draft.parts:
        return await visit_times.days(altegio, draft.parts, draft.part_staff, first, last)
    dates = await altegio.dates(draft.service_ids, draft.staff_id, first, last)
    days = {d for d in dates.booking_dates if first <= d <= last}
    if around is not None and first <= around <= last and not _in_month(days, around):
        # `date_from`/`date_to` are newer than `date`; a server that knows only `date` answers
        # one month, so a month shown empty is asked for on its own before believing it.
        start = max(first, around.replace(day=1))
        end = min(last, _month_end(around))
        more = await altegio.dates(draft.service_ids, draft.staff_id, start, end)
        days |= {d for d in more.booking_dates if first <= d <= last}
    return days


def _in_month(days: set[date], month: date) -> bool:
    return any(d.year == month.year and d.month == month.month for d in days)


def _month_end(day: date) -> date:
    following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return following - timedelta(days=1)


async def show_day(update: Update, context: Context, draft: Draft) -> Outcome:
    """The earliest free times first, with "Choose a day"; the calendar once the client asks
    for it (`draft.month` set) or when no earliest time can be told."""
    t = context.t
    keys = Keys(draft.flow, t)
    if draft.service_id is None or draft.staff_id is None:
        return go(draft, Step.STAFF)
    if draft.parts and len(draft.part_staff) != len(draft.parts):
        return go(draft, Step.STAFF)
    if draft.early is not None:
        # Back from a time taken among the earliest (or it was taken meanwhile): the client's
        # own choice of who again.
        draft.staff_id, draft.early = draft.early, None
        draft.day = draft.slot = None
    company = await context.services.altegio.company()
    service = await chosen_service(context, draft)
    member = await chosen_staff(context, draft)
    note = _take_note(context, draft)
    intro = await _intro(context, draft, service, member) + note
    if (
        draft.month is None
        and not draft.nearest
        and not draft.parts
        and await offer_earliest(update, context, draft, intro)
    ):
        return Step.DAY
    bookable = await _bookable_days(context, draft, company, draft.shown_month)
    if draft.parts and draft.month is None and bookable:
        # A visit in parts: its earliest day's times first, "Choose a day" for the others.
        draft.nearest, draft.month = False, ""
        draft.day = min(bookable).isoformat()
        return go(draft, Step.TIME)
    if draft.nearest and bookable:
        # Book again: straight to the nearest day with a free time (Back shows the calendar).
        draft.nearest = False
        draft.day = min(bookable).isoformat()
        return go(draft, Step.TIME)
    draft.nearest = False
    if not bookable:
        nothing = t.gettext(
            "There are no free days in the coming weeks. Please choose another team member "
            "or service."
        )
        if draft.parts:
            nothing = t.gettext(
                "No day in the coming weeks has free times for these appointments one after "
                "another. Please take a service out of the visit (and book it separately), or "
                "choose other team members."
            )
        text = intro + "\n" + nothing + await call_salon(context)
        await show(
            update, context, text, with_wait(keys.markup([]), keys, draft, None), draft=draft
        )
        return Step.DAY
    first, last = horizon(salon_today(context, company))
    month = draft.shown_month or min(bookable).replace(day=1)
    draft.month = month.isoformat()
    text = (
        intro + "\n" + t.gettext("Choose a day, or type one (for example “tomorrow” or “25.12”).")
    )
    await show(update, context, text, keys.calendar(month, bookable, first, last), draft=draft)
    return Step.DAY


async def _intro(
    context: Context, draft: Draft, service: Service | None, member: Staff | None
) -> str:
    if draft.parts:
        named = await visit_plan.named_parts(
            context.services.altegio, draft.parts, draft.part_staff
        )
        return parts_text(context, named)
    return context.t.gettext(
        "<b>%(service)s</b> with %(staff)s.",
        service=h(service.title if service else ""),
        staff=h(staff_name(context, member)),
    )


def _take_note(context: Context, draft: Draft) -> str:
    """What the day step has to say first: why the client is back (a time taken meanwhile)."""
    if draft.notice:
        note, draft.notice = draft.notice, ""
        return "\n" + note
    if draft.taken:
        draft.taken = False
        return "\n" + context.t.gettext("Sorry, the time you chose has just been taken.")
    return ""


async def on_month(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.month = date(int(cb.arg[:4]), int(cb.arg[4:6]), 1).isoformat()
    return go(draft, Step.DAY)


async def on_calendar(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    # A month named, even as "" (the first with a free day), shows the calendar.
    draft.month = draft.month or ""
    return go(draft, Step.DAY)


async def on_day(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    # The part of the day the client asked for in words stays theirs on any day they tap.
    return await choose_day(update, context, draft, TypedDay(cb.day, draft.after))


async def typed_day(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    if draft is None:
        return await lost(update, context)
    text = update.message.text if update.message and update.message.text else ""
    t = context.t
    try:
        company = await context.services.altegio.company()
    except errors.AltegioError as exc:
        await unavailable(update, context, exc, draft.flow)
        return Step.DAY
    typed = parse_day(
        text,
        [context.language],
        salon_today(context, company),
        month_first=writes_month_first(company.country),
    )
    if typed is None:
        await show(
            update,
            context,
            t.gettext(
                "Sorry, I could not understand that day. Tap a day in the calendar, or type "
                "one like “tomorrow”, “Friday” or “25.12”."
            ),
            Keys(draft.flow, t).markup(
                [[Keys(draft.flow, t).button(t.gettext("Show the calendar"), "cal")]]
            ),
            draft=draft,
        )
        put_draft(context, draft)
        return Step.DAY
    return await choose_day(update, context, draft, typed)


async def choose_day(update: Update, context: Context, draft: Draft, typed: TypedDay) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    try:
        company = await context.services.altegio.company()
        bookable = await _bookable_days(context, draft, company, typed.day)
    except errors.StaffGone as exc:
        return await staff_gone(update, context, draft, exc)
    except TEMPORARY as exc:
        await unavailable(update, context, exc, draft.flow)
        return Step.DAY
    today = salon_today(context, company)
    day = typed.day
    if day in bookable:
        draft.day = day.isoformat()
        draft.after = typed.after
        return go(draft, Step.TIME)
    if day < today:
        reason = t.gettext("%(day)s has already passed.", day=t.date(day))
    elif day > horizon(today)[1]:
        reason = t.gettext("%(day)s is too far ahead to book yet.", day=t.date(day))
    else:
        reason = t.gettext("There are no free times on %(day)s.", day=t.date(day))
    near = nearest_days(max(day, today), bookable)
    if not near:
        return go(draft, Step.DAY)
    text = reason + "\n" + t.gettext("The nearest days with free times:")
    full = day if today <= day <= horizon(today)[1] else None  # a day with nothing free
    markup = with_wait(keys.days(near), keys, draft, full) if full else keys.days(near)
    await show(update, context, text, markup, draft=draft)
    put_draft(context, draft)
    return Step.DAY


async def _free_times(context: Context, draft: Draft, day: date) -> tuple[list[Slot], bool]:
    assert draft.service_id is not None and draft.staff_id is not None
    return await offer_times.free(context.services, draft, day, context.now())


async def show_time(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    day = draft.chosen_day
    if day is None:
        return await show_day(update, context, draft)
    if draft.early is not None and not draft.slot:
        # Back from a time taken among the earliest, or it was taken meanwhile: the earliest.
        return go(draft, Step.DAY)
    if draft.parts:
        return await show_part_times(update, context, draft, day)
    slots, held = await _free_times(context, draft, day)
    note = ""
    if draft.notice:
        note = "\n" + draft.notice
        draft.notice = ""
    elif draft.taken:
        draft.taken = False
        note = "\n" + t.gettext("Sorry, the time you chose has just been taken.")
        if not slots and draft.staff_id and not draft.reschedule:
            # The same team member first; when they have nothing left that day, anyone.
            member = await chosen_staff(context, draft)
            anyone = replace(draft, staff_id=0)
            slots, held_too = await _free_times(context, anyone, day)
            held = held or held_too
            if slots:
                draft.staff_id = 0
                note += " " + t.gettext(
                    "%(staff)s has no other free time that day; these are with any available "
                    "team member.",
                    staff=h(staff_name(context, member)),
                )
    member = await chosen_staff(context, draft)
    if not slots:
        altegio = context.services.altegio
        if not held and draft.staff_id is not None:
            # Nothing left: no other client is sent to the day until the days are read again.
            altegio.day_full(draft.staff_id, draft.service_ids, day)
        company = await altegio.company()
        bookable = await _bookable_days(context, draft, company)
        # Not offered again as a nearest day while this client books: in a rush, the clients
        # wanting one day would otherwise be sent round its neighbours, full or held as well.
        draft.full_days = [*draft.full_days, day.isoformat()][-FULL_DAYS_KEPT:]
        bookable -= {day, *(d for d in map(parse_date, draft.full_days) if d)}
        near = nearest_days(day, bookable)
        text = note.lstrip("\n") + (" " if note else "")
        if held:
            text += t.gettext(
                "Every free time on %(day)s is being booked by other clients right now. "
                "Try again in a few minutes, or choose another day.",
                day=t.date(day),
            )
        else:
            text += t.gettext("There are no free times on %(day)s any more.", day=t.date(day))
        draft.day = None
        if near:
            text += "\n" + t.gettext("The nearest days with free times:")
            await show(
                update, context, text, with_wait(keys.days(near), keys, draft, day), draft=draft
            )
        else:
            await show(
                update, context, text, with_wait(keys.markup([]), keys, draft, day), draft=draft
            )
        return Step.DAY
    shown = slots
    if draft.after is not None or draft.before is not None:
        later = [s for s in slots if visit_times.in_window(s.start, draft.after, draft.before)]
        if later:
            shown = later
        elif draft.before is None:
            note = "\n" + t.gettext("Nothing is free that late; here are all the free times.")
        else:
            note = "\n" + t.gettext("Nothing is free at that time of day; here are all the times.")
    draft.summary_ready = False
    text = (
        t.gettext(
            "Free times on %(day)s with %(staff)s:",
            day=t.long_date(day),
            staff=h(staff_name(context, member)),
        )
        + note
    )
    draft.offered = {time_arg(s.start): (s.raw, s.length) for s in shown}
    draft.offered_with = {
        time_arg(s.start): [list(p) for p in s.free_with] for s in shown if s.free_with
    }
    draft.seen_at = context.now().isoformat()
    draft.time_text = text
    await show(update, context, text, keys.times([s.start for s in shown]), draft=draft)
    return Step.TIME


async def on_time_page(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    """Another page of the times already read: no second call to Altegio."""
    if not draft.offered or not draft.time_text:
        return go(draft, Step.TIME)
    company = await context.services.altegio.company()
    starts = sorted(
        datetime.strptime(key, "%Y%m%d%H%M").replace(tzinfo=company.tz) for key in draft.offered
    )
    keys = Keys(draft.flow, context.t)
    await show(update, context, draft.time_text, keys.times(starts, cb.number), draft=draft)
    put_draft(context, draft)
    return Step.TIME


async def on_time(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    day = draft.chosen_day
    if day is None or not cb.arg.startswith(day.strftime("%Y%m%d")):
        return go(draft, Step.TIME if day else Step.DAY)
    offered = draft.offered.get(cb.arg)
    if offered is None:
        # Not among the times shown last (an old button): show the times as they are now.
        return go(draft, Step.TIME)
    offered_with = parse_free_with(draft.offered_with.get(cb.arg))
    others = offer_times.held(context.services, draft, day, context.now())
    if others.chosen(*offered, members_of(offered_with)):
        # Another client tapped it first, from the same list, and is booking it: both would
        # confirm and one be refused. The times as they are now, without it.
        draft.notice = context.t.gettext(
            "Sorry, another client has just chosen that time. Please choose another."
        )
        return go(draft, Step.TIME)
    draft.slot, draft.slot_length = offered
    draft.slot_with = [draft.slot, [list(p) for p in offered_with]] if offered_with else []
    draft.later = draft.chains.get(cb.arg, []) if draft.parts else []
    draft.offered, draft.offered_with, draft.chains = {}, {}, {}
    return after_time(draft)
