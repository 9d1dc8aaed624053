"""Choosing what and with whom: the service (by category, page by page) and the team member."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import visit_plan
from bot.altegio import errors
from bot.altegio.models import Catalogue, Service
from bot.context import Context
from bot.draft import (
    Draft,
)
from bot.keyboards import Callback, Keys
from conversations.drafts import put_draft
from conversations.flow import (
    TEMPORARY,
    Outcome,
    Step,
    call_salon,
    chosen_service,
    go,
    take_notice,
)
from conversations.screens import show, unavailable
from conversations.texts import h
from conversations.visit_parts import on_part_staff, show_part_staff

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
    draft.more_services = []
    draft.adding = False
    draft.staff_id = draft.day = draft.slot = draft.month = None
    return go(draft, Step.STAFF)


# --- team member ----------------------------------------------------------------------------


async def show_staff(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    service = await chosen_service(context, draft)
    if service is None:
        draft.service_id = None
        draft.more_services = []
        return await show_service(update, context, draft)
    if draft.adding:
        return await _show_addable(update, context, draft)
    altegio = context.services.altegio
    visit = await visit_plan.visit(altegio, draft.service_ids)
    # A service the salon withdrew meanwhile leaves the visit.
    draft.more_services = [s.id for s in visit.services[1:]]
    add_row, drop_rows = _visit_rows(keys, draft, visit)
    parts = await visit_plan.parts(altegio, draft.service_ids)
    if parts != draft.parts:
        draft.parts, draft.part_staff = parts, []
    if draft.parts:
        company = await altegio.company()
        heading = t.gettext(
            "Your visit: <b>%(services)s</b>", services=h(visit.title)
        ) + _total_line(context, visit, company.currency)
        return await show_part_staff(update, context, draft, heading, [add_row, *drop_rows])
    staff = [s for s in await altegio.staff(draft.service_ids) if s.bookable]
    notice = take_notice(draft)
    if not staff:
        text = t.gettext(
            "Sorry, nobody has free times for <b>%(service)s</b> in the coming weeks. "
            "Please choose another service.",
            service=h(visit.title),
        )
        text = notice + text + await call_salon(context)
        await show(update, context, text, keys.markup(drop_rows), draft=draft)
        return Step.STAFF
    rows = keys.team(staff)
    lines = [
        f"• <b>{h(m.name)}</b>" + (f" — {h(m.specialization)}" if m.specialization else "")
        for m in staff
    ]
    heading = t.gettext("<b>%(service)s</b>. Who would you like to see?", service=h(visit.title))
    if draft.more_services:
        company = await altegio.company()
        heading = (
            t.gettext("Your visit: <b>%(services)s</b>", services=h(visit.title))
            + _total_line(context, visit, company.currency)
            + "\n"
            + t.gettext("Who would you like to see?")
        )
    text = notice + heading + "\n\n" + "\n".join(lines)
    await show(update, context, text, keys.markup([*rows, add_row, *drop_rows]), draft=draft)
    return Step.STAFF


def _visit_rows(
    keys: Keys, draft: Draft, visit: visit_plan.Visit
) -> tuple[list[InlineKeyboardButton], list[list[InlineKeyboardButton]]]:
    """Add another service (while the visit has room; an empty row, which is left out, once
    it has none), and each added one to take out."""
    t = keys.t
    add = []
    if len(draft.service_ids) < visit_plan.MAX_SERVICES:
        add.append(keys.button(t.gettext("➕ Add another service"), "more"))
    drops = [
        [keys.button(t.gettext("✖ Without %(service)s", service=s.title), "drop", s.id)]
        for s in visit.services[1:]
    ]
    return add, drops


def _total_line(context: Context, visit: visit_plan.Visit, currency: str) -> str:
    """ " — 1 h 45 min, €70–90": the visit's running total, as far as it is known."""
    t = context.t
    parts = []
    if visit.shortest and visit.longest and visit.shortest != visit.longest:
        parts.append(
            t.gettext(
                "%(low)s–%(high)s", low=t.duration(visit.shortest), high=t.duration(visit.longest)
            )
        )
    elif visit.shortest:
        parts.append(t.duration(visit.shortest))
    price = t.price_range(visit.price_min, visit.price_max, currency)
    if price:
        parts.append(price)
    return (" — " + ", ".join(parts)) if parts else ""


async def _show_addable(update: Update, context: Context, draft: Draft) -> Outcome:
    """The services that may join the visit: those a team member performs with all the others,
    then those another team member does right after."""
    t = context.t
    keys = Keys(draft.flow, t)
    altegio = context.services.altegio
    visit = await visit_plan.visit(altegio, draft.service_ids, team_durations=True)
    more = await visit_plan.addable(altegio, draft.service_ids)
    company = await altegio.company()
    total = t.gettext("Your visit: <b>%(services)s</b>", services=h(visit.title)) + _total_line(
        context, visit, company.currency
    )
    if not more:
        draft.adding = False
        draft.notice = t.gettext(
            "Sorry, nothing else can be booked together with <b>%(services)s</b> in one visit.",
            services=h(visit.title),
        )
        return go(draft, Step.STAFF)
    durations = await _durations(context)
    text = total + "\n\n" + t.gettext("What else would you like in the same visit?")
    if more.together:
        lines = [_service_line(context, s, company.currency, durations) for s in more.together]
        if more.after:
            lines.insert(0, t.gettext("With the same team member:"))
        text += "\n\n" + "\n".join(lines)
    if more.after:
        lines = [_service_line(context, s, company.currency, durations) for s in more.after]
        text += (
            "\n\n" + t.gettext("With another team member, right after:") + "\n" + "\n".join(lines)
        )
    rows = [[keys.button(s.title, "add", s.id)] for s in more.together]
    rows += [
        [keys.button(t.gettext("%(service)s · after", service=s.title), "add", s.id)]
        for s in more.after
    ]
    # « Back here is back to the visit as it was (the step's own Back leaves the team step).
    nav = [keys.button(t.gettext("« Back"), "drop", 0), keys.button(t.gettext("Cancel"), "cancel")]
    await show(update, context, text, InlineKeyboardMarkup([*rows, nav]), draft=draft)
    return Step.STAFF


async def _durations(context: Context) -> dict[int, tuple[int, int]]:
    try:
        return await context.services.altegio.durations()
    except errors.AltegioError:
        return {}


async def on_more(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    if draft.service_id is None:
        return go(draft, Step.SERVICE)
    draft.adding = True
    return go(draft, Step.STAFF)


async def on_add(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.adding = False
    if draft.service_id is None:
        return go(draft, Step.SERVICE)
    more = await visit_plan.addable(context.services.altegio, draft.service_ids)
    if more.offers(cb.number):
        draft.more_services = [*draft.more_services, cb.number]
        draft.staff_id = draft.day = draft.slot = draft.month = None
        draft.part_staff = []
    else:
        draft.notice = context.t.gettext(
            "Sorry, this service cannot be booked together with the others in one visit."
        )
    return go(draft, Step.STAFF)


async def on_drop(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.adding = False
    draft.more_services = [s for s in draft.more_services if s != cb.number]
    draft.staff_id = draft.day = draft.slot = draft.month = None
    draft.part_staff = []
    return go(draft, Step.STAFF)


async def on_staff(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    if draft.service_id is None:
        return go(draft, Step.SERVICE)
    if draft.parts:
        return await on_part_staff(context, draft, cb.number)
    if cb.number != 0:
        staff = await context.services.altegio.staff(draft.service_ids)
        if not any(s.id == cb.number for s in staff):
            context.notify(
                context.t.gettext("This team member is no longer available. Please choose again.")
            )
            return go(draft, Step.STAFF)
    draft.staff_id = cb.number
    draft.day = draft.slot = draft.month = None
    return go(draft, Step.DAY)


# --- day ------------------------------------------------------------------------------------


# --- time -----------------------------------------------------------------------------------
