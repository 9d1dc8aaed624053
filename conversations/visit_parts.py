"""The team step of a visit nobody does whole: it is booked as consecutive appointments, and
the client chooses who does each part (or anyone), one part after another."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import visit_plan, visit_times
from bot.altegio.models import parse_datetime
from bot.context import Context
from bot.draft import Draft
from bot.keyboards import Keys, time_arg
from conversations.flow import Outcome, Step, call_salon, go, take_notice
from conversations.screens import show
from conversations.texts import h


def parts_text(context: Context, named: list[visit_plan.Part]) -> str:
    """ "1. Women's haircut with Anna Weber" per part, for any screen that shows the visit."""
    t = context.t
    lines = []
    for number, part in enumerate(named, start=1):
        who = part.staff_name or t.gettext("any available team member")
        lines.append(
            t.gettext(
                "%(number)s. <b>%(services)s</b> with %(staff)s",
                number=number,
                services=h(part.title),
                staff=h(who),
            )
        )
    return "\n".join(lines)


async def show_part_staff(
    update: Update,
    context: Context,
    draft: Draft,
    heading: str,
    visit_rows: list[list[InlineKeyboardButton]],
) -> Outcome:
    """Who for the next part without a team member; `heading` shows the visit and its total,
    `visit_rows` add or take out services."""
    t = context.t
    keys = Keys(draft.flow, t)
    altegio = context.services.altegio
    if len(draft.part_staff) >= len(draft.parts):
        draft.part_staff = []
    index = len(draft.part_staff)
    part = draft.parts[index]
    named = await visit_plan.named_parts(altegio, draft.parts, draft.part_staff)
    staff = [m for m in await altegio.staff(part) if m.bookable]
    intro = (
        take_notice(draft)
        + heading
        + "\n"
        + t.gettext("Nobody does all of it, so it is booked as appointments one after another:")
        + "\n"
        + parts_text(context, named)
        + "\n\n"
    )
    if not staff:
        text = intro + t.gettext(
            "Sorry, nobody has free times for <b>%(service)s</b> in the coming weeks.",
            service=h(named[index].title),
        )
        text += await call_salon(context)
        await show(update, context, text, keys.markup(visit_rows), draft=draft)
        return Step.STAFF
    rows = keys.team(staff)
    text = intro + t.gettext(
        "Who would you like for <b>%(service)s</b>?", service=h(named[index].title)
    )
    await show(update, context, text, keys.markup([*rows, *visit_rows]), draft=draft)
    return Step.STAFF


async def on_part_staff(context: Context, draft: Draft, member: int) -> Outcome:
    """The team member for the next part: the next part's choice, or the day once all have
    one."""
    index = len(draft.part_staff)
    if index >= len(draft.parts):
        draft.part_staff = []
        return go(draft, Step.STAFF)
    if member != 0:
        staff = await context.services.altegio.staff(draft.parts[index])
        if not any(s.id == member for s in staff):
            context.notify(
                context.t.gettext("This team member is no longer available. Please choose again.")
            )
            return go(draft, Step.STAFF)
    draft.part_staff = [*draft.part_staff, member]
    if len(draft.part_staff) < len(draft.parts):
        return go(draft, Step.STAFF)
    draft.staff_id = draft.part_staff[0]
    draft.day = draft.slot = draft.month = None
    return go(draft, Step.DAY)


async def show_part_times(update: Update, context: Context, draft: Draft, day: date) -> Outcome:
    """The times on `day` at which the whole visit fits, part after part; each button is the
    visit's start."""
    t = context.t
    keys = Keys(draft.flow, t)
    altegio = context.services.altegio
    catalogue = await altegio.catalogue()
    lengths = [
        sum((s.duration or 0) for sid in part if (s := catalogue.service(sid)) is not None)
        for part in draft.parts
    ]
    holds = context.services.holds
    now = context.now()
    found = await visit_times.chains(
        altegio,
        draft.parts,
        draft.part_staff,
        day,
        now=now,
        held=lambda member: holds.held_for_others(draft.flow, member, now),
        lengths=lengths,
    )
    note = take_notice(draft).strip()
    if draft.taken:
        draft.taken = False
        note = t.gettext("Sorry, the time you chose has just been taken.")
    if not found:
        draft.day = None
        draft.notice = " ".join(
            [note, t.gettext("There are no free times on %(day)s any more.", day=t.date(day))]
        ).strip()
        draft.month = draft.month or ""
        return go(draft, Step.DAY)
    shown = found
    if draft.after is not None or draft.before is not None:
        within = [c for c in found if visit_times.in_window(c[0].start, draft.after, draft.before)]
        shown = within or found
    named = await visit_plan.named_parts(altegio, draft.parts, draft.part_staff)
    text = (
        parts_text(context, named)
        + "\n\n"
        + t.gettext(
            "Free times on %(day)s for the whole visit (when it starts):", day=t.long_date(day)
        )
        + (("\n" + note) if note else "")
    )
    draft.summary_ready = False
    draft.offered = {time_arg(c[0].start): (c[0].raw, c[0].length) for c in shown}
    draft.offered_with = {}
    draft.seen_at = context.now().isoformat()
    draft.chains = {time_arg(c[0].start): [[s.raw, s.length] for s in c[1:]] for c in shown}
    draft.time_text = text
    markup = keys.times([c[0].start for c in shown])
    choose = [keys.button(t.gettext("Choose a day"), "cal")]
    markup = InlineKeyboardMarkup(
        [*markup.inline_keyboard[:-1], choose, markup.inline_keyboard[-1]]
    )
    await show(update, context, text, markup, draft=draft)
    return Step.TIME


async def schedule_lines(context: Context, draft: Draft, tz: ZoneInfo) -> list[str]:
    """The summary's lines for a visit in parts: "Services: Women's haircut, Gel manicure",
    then each part with its team member and its time."""
    t = context.t
    named = await visit_plan.named_parts(context.services.altegio, draft.parts, draft.part_staff)
    return [
        t.gettext("Services: %(services)s", services=h(", ".join(p.title for p in named))),
        t.gettext("One appointment after another:"),
        *_part_lines(context, draft, named, tz),
    ]


async def part_lines(context: Context, draft: Draft, tz: ZoneInfo) -> list[str]:
    """Each part of a visit with its team member and its time."""
    named = await visit_plan.named_parts(context.services.altegio, draft.parts, draft.part_staff)
    return _part_lines(context, draft, named, tz)


def _part_lines(
    context: Context, draft: Draft, named: list[visit_plan.Part], tz: ZoneInfo
) -> list[str]:
    t = context.t
    times = [draft.slot or "", *(str(raw) for raw, _ in draft.later)]
    lines = []
    for part, raw in zip(named, times, strict=False):
        begins = parse_datetime(raw, tz)
        who = part.staff_name or t.gettext("any available team member")
        lines.append(
            t.gettext(
                "%(time)s <b>%(service)s</b> with %(staff)s",
                time=t.time(begins.astimezone(tz)) if begins else "",
                service=h(part.title),
                staff=h(who),
            )
        )
    return lines
