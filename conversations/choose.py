"""Choosing what, with whom and when: service, team member, day and time."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta

from telegram import Update

from bot.altegio import errors
from bot.altegio.models import Catalogue, Company, Service, Slot
from bot.context import Context
from bot.draft import (
    Draft,
    TypedDay,
    horizon,
    nearest_days,
    parse_day,
)
from bot.i18n import writes_month_first
from bot.keyboards import Callback, Keys, time_arg
from conversations.drafts import get_draft, put_draft
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
    staff_name,
    take_notice,
)
from conversations.screens import show, unavailable
from conversations.texts import h

log = logging.getLogger(__name__)


# --- service --------------------------------------------------------------------------------


def _groups(catalogue: Catalogue) -> list[tuple[int, str, list[Service]]]:
    """Categories that have services, in the salon's order; stray services form their own."""
    groups = []
    seen: set[int] = set()
    for category in catalogue.categories:
        services = catalogue.in_category(category.id)
        if services:
            groups.append((category.id, category.title, services))
            seen.update(s.id for s in services)
    stray = [s for s in catalogue.services if s.id not in seen]
    if stray:
        groups.append((0, "", stray))
    return groups


def _service_line(
    context: Context, service: Service, currency: str, durations: dict[int, tuple[int, int]]
) -> str:
    t = context.t
    details = []
    shortest, longest = durations.get(service.id) or (service.duration, service.duration)
    if shortest and longest and shortest != longest:
        # Team members take different times for it.
        details.append(
            t.gettext("%(low)s–%(high)s", low=t.duration(shortest), high=t.duration(longest))
        )
    elif shortest:
        details.append(t.duration(shortest))
    price = t.price_range(service.price_min, service.price_max, currency)
    if price:
        details.append(price)
    line = f"• <b>{h(service.title)}</b>"
    return line + (" — " + ", ".join(details) if details else "")


async def show_service(update: Update, context: Context, draft: Draft, page: int = 0) -> Outcome:
    t = context.t
    altegio = context.services.altegio
    company = await altegio.company()
    catalogue = await altegio.catalogue()
    groups = _groups(catalogue)
    keys = Keys(draft.flow, t)
    notice = take_notice(draft)
    if not groups:
        text = t.gettext("Online booking has no services open right now.")
        await show(
            update,
            context,
            notice + text + await call_salon(context, also=False),
            keys.markup([], back=False),
            draft=draft,
        )
        return Step.SERVICE
    found = next((g[2] for g in groups if g[0] == draft.category_id), None)
    if found is None and len(groups) > 1:
        draft.category_id = None
        items = [(title or t.gettext("Other services"), "cat", ident) for ident, title, _ in groups]
        text = notice + t.gettext("What would you like to book? Choose a category:")
        await show(update, context, text, keys.paged(items, page, "catp", back=False), draft=draft)
        return Step.SERVICE
    services = found if found is not None else list(catalogue.services)
    try:
        durations = await altegio.durations()
    except errors.AltegioError:
        durations = {}  # the list is still worth showing without them
    lines = [_service_line(context, s, company.currency, durations) for s in services]
    per_page = 8
    page = min(max(page, 0), max(0, (len(services) - 1) // per_page))
    shown = lines[page * per_page : (page + 1) * per_page]
    text = notice + t.gettext("Choose a service:") + "\n\n" + "\n".join(shown)
    items = [(s.title, "svc", s.id) for s in services]
    markup = keys.paged(items, page, "svcp", per_page=per_page, back=len(groups) > 1)
    await show(update, context, text, markup, draft=draft)
    return Step.SERVICE


async def on_category(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.category_id = cb.number
    return go(draft, Step.SERVICE)


async def on_category_page(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.category_id = None
    return await _paged(update, context, draft, cb.number)


async def on_service_page(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    return await _paged(update, context, draft, cb.number)


async def _paged(update: Update, context: Context, draft: Draft, page: int) -> Outcome:
    try:
        outcome = await show_service(update, context, draft, page)
    except TEMPORARY as exc:
        await unavailable(update, context, exc, draft.flow)
        return Step.SERVICE
    put_draft(context, draft)
    return outcome


async def on_service(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    catalogue = await context.services.altegio.catalogue()
    service = catalogue.service(cb.number)
    if service is None:
        context.notify(
            context.t.gettext("This service is no longer offered. Please choose another.")
        )
        return go(draft, Step.SERVICE)
    draft.service_id = service.id
    draft.staff_id = draft.day = draft.slot = draft.month = None
    return go(draft, Step.STAFF)


# --- team member ----------------------------------------------------------------------------


async def show_staff(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    service = await chosen_service(context, draft)
    if service is None:
        draft.service_id = None
        return await show_service(update, context, draft)
    staff = [s for s in await context.services.altegio.staff([service.id]) if s.bookable]
    notice = take_notice(draft)
    if not staff:
        text = t.gettext(
            "Sorry, nobody has free times for <b>%(service)s</b> in the coming weeks. "
            "Please choose another service.",
            service=h(service.title),
        )
        text = notice + text + await call_salon(context)
        await show(update, context, text, keys.markup([]), draft=draft)
        return Step.STAFF
    rows = [[keys.button(t.gettext("Any available team member"), "stf", 0)]]
    for member in staff:
        label = member.name
        if member.nearest_date:
            label = t.gettext(
                "%(name)s · from %(day)s", name=member.name, day=t.date(member.nearest_date)
            )
        rows.append([keys.button(label, "stf", member.id)])
    lines = [
        f"• <b>{h(m.name)}</b>" + (f" — {h(m.specialization)}" if m.specialization else "")
        for m in staff
    ]
    text = (
        notice
        + t.gettext("<b>%(service)s</b>. Who would you like to see?", service=h(service.title))
        + "\n\n"
        + "\n".join(lines)
    )
    await show(update, context, text, keys.markup(rows), draft=draft)
    return Step.STAFF


async def on_staff(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    if draft.service_id is None:
        return go(draft, Step.SERVICE)
    if cb.number != 0:
        staff = await context.services.altegio.staff([draft.service_id])
        if not any(s.id == cb.number for s in staff):
            context.notify(
                context.t.gettext("This team member is no longer available. Please choose again.")
            )
            return go(draft, Step.STAFF)
    draft.staff_id = cb.number
    draft.day = draft.slot = draft.month = None
    return go(draft, Step.DAY)


# --- day ------------------------------------------------------------------------------------


async def _bookable_days(
    context: Context, draft: Draft, company: Company, around: date | None = None
) -> set[date]:
    """Bookable days within the horizon; `around` names a month the client is looking at."""
    first, last = horizon(salon_today(context, company))
    assert draft.service_id is not None and draft.staff_id is not None
    altegio = context.services.altegio
    dates = await altegio.dates([draft.service_id], draft.staff_id, first, last)
    days = {d for d in dates.booking_dates if first <= d <= last}
    if around is not None and first <= around <= last and not _in_month(days, around):
        # `date_from`/`date_to` are newer than `date`; a server that knows only `date` answers
        # one month, so a month shown empty is asked for on its own before believing it.
        start = max(first, around.replace(day=1))
        end = min(last, _month_end(around))
        more = await altegio.dates([draft.service_id], draft.staff_id, start, end)
        days |= {d for d in more.booking_dates if first <= d <= last}
    return days


def _in_month(days: set[date], month: date) -> bool:
    return any(d.year == month.year and d.month == month.month for d in days)


def _month_end(day: date) -> date:
    following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return following - timedelta(days=1)


async def show_day(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    if draft.service_id is None or draft.staff_id is None:
        return await show_staff(update, context, draft)
    company = await context.services.altegio.company()
    service = await chosen_service(context, draft)
    member = await chosen_staff(context, draft)
    bookable = await _bookable_days(context, draft, company, draft.shown_month)
    intro = t.gettext(
        "<b>%(service)s</b> with %(staff)s.",
        service=h(service.title if service else ""),
        staff=h(staff_name(context, member)),
    )
    if not bookable:
        text = (
            intro
            + "\n"
            + t.gettext(
                "There are no free days in the coming weeks. Please choose another team member "
                "or service."
            )
            + await call_salon(context)
        )
        await show(update, context, text, keys.markup([]), draft=draft)
        return Step.DAY
    first, last = horizon(salon_today(context, company))
    month = draft.shown_month or min(bookable).replace(day=1)
    draft.month = month.isoformat()
    text = (
        intro + "\n" + t.gettext("Choose a day, or type one (for example “tomorrow” or “25.12”).")
    )
    await show(update, context, text, keys.calendar(month, bookable, first, last), draft=draft)
    return Step.DAY


async def on_month(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.month = date(int(cb.arg[:4]), int(cb.arg[4:6]), 1).isoformat()
    return go(draft, Step.DAY)


async def on_calendar(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    return go(draft, Step.DAY)


async def on_day(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    return await choose_day(update, context, draft, TypedDay(cb.day, None))


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
    await show(update, context, text, keys.days(near), draft=draft)
    put_draft(context, draft)
    return Step.DAY


# --- time -----------------------------------------------------------------------------------


async def _free_times(context: Context, draft: Draft, day: date) -> list[Slot]:
    altegio = context.services.altegio
    assert draft.service_id is not None and draft.staff_id is not None
    slots = await altegio.times(draft.staff_id, day, [draft.service_id])
    if not slots and draft.staff_id == 0:
        # Whether `book_times` with staff 0 merges everyone's times is undocumented: when it
        # answers nothing, ask each team member who is bookable for this service.
        merged: dict[datetime, Slot] = {}
        for member in await altegio.staff([draft.service_id]):
            if member.bookable:
                for slot in await altegio.times(member.id, day, [draft.service_id]):
                    merged.setdefault(slot.start, slot)
        slots = sorted(merged.values(), key=lambda s: s.start)
    now = context.now()
    held = context.services.holds.held_for_others(draft.flow, draft.staff_id, now)
    return [s for s in slots if s.start > now and s.raw not in held]


async def show_time(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    day = draft.chosen_day
    if day is None:
        return await show_day(update, context, draft)
    slots = await _free_times(context, draft, day)
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
            slots = await _free_times(context, anyone, day)
            if slots:
                draft.staff_id = 0
                note += " " + t.gettext(
                    "%(staff)s has no other free time that day; these are with any available "
                    "team member.",
                    staff=h(staff_name(context, member)),
                )
    member = await chosen_staff(context, draft)
    if not slots:
        company = await context.services.altegio.company()
        bookable = await _bookable_days(context, draft, company)
        bookable.discard(day)
        near = nearest_days(day, bookable)
        text = note.lstrip("\n") + (" " if note else "")
        text += t.gettext("There are no free times on %(day)s any more.", day=t.date(day))
        draft.day = None
        if near:
            text += "\n" + t.gettext("The nearest days with free times:")
            await show(update, context, text, keys.days(near), draft=draft)
        else:
            await show(update, context, text, keys.markup([]), draft=draft)
        return Step.DAY
    shown = slots
    if draft.after is not None:
        later = [s for s in slots if s.start.hour * 60 + s.start.minute >= draft.after]
        if later:
            shown = later
        else:
            note = "\n" + t.gettext("Nothing is free that late; here are all the free times.")
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
    draft.slot, draft.slot_length = offered
    draft.offered = {}
    if draft.reschedule:
        return go(draft, Step.MOVE)
    if draft.phone and draft.name:
        # A new time after a taken one, or "Change: day and time": the contact details stand.
        return go(draft, Step.SUMMARY)
    return go(draft, Step.PHONE)
