"""Choosing what and with whom: the service (by category, page by page) and the team member."""

from __future__ import annotations

import logging

from telegram import Update

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
