"""Group classes in the booking conversation: what is on by week and day (this week first),
filtered by class or instructor, one class with its seats, and the seats chosen; from there the
booking's own contact, code and summary steps take over (`Draft.activity` names the class).

The step is `Step.CLASS`; while a draft names a class, the steps of an appointment (service,
team member, day, time) lead here instead (`flow.go`), so Back, a change and a class that
filled meanwhile all come back to the class, read afresh.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, Update

from bot.altegio.models.activities import Activity
from bot.chain import is_chain
from bot.context import Context
from bot.draft import Draft
from bot.keyboards import Callback, Keys, day_arg
from bot.workflows import group_classes as classes
from conversations import locations as places
from conversations.flow import Outcome, Step, go, take_notice
from conversations.screens import answer, show
from conversations.texts import h, location_line, summary_tail

MAX_BUTTONS = 12  # classes listed as buttons on a week's screen; more: a button per day


async def begin_classes(update: Update, context: Context) -> Outcome:
    """The Classes button: a fresh draft at this week's classes."""
    if update.callback_query:
        await answer(update, context)
    return await places.first(context, go(Draft(), Step.CLASS), "classes")


def _today(context: Context, tz: ZoneInfo) -> date:
    return context.now().astimezone(tz).date()


async def show_class(update: Update, context: Context, draft: Draft) -> Outcome:
    if draft.activity is not None:
        return await _one(update, context, draft)
    if draft.classes.get("day"):
        return await _day(update, context, draft)
    return await _week(update, context, draft)


def _line(context: Context, event: Activity) -> str:
    t = context.t
    return t.gettext(
        "%(time)s <b>%(class)s</b> with %(staff)s, %(duration)s, seats left: %(free)s",
        time=t.time(event.start),
        staff=h(event.staff_name),
        duration=t.duration(event.length),
        free=event.free,
        **{"class": h(event.title)},
    )


async def _filters_line(context: Context, draft: Draft) -> str:
    svc, stf = draft.classes.get("svc", 0), draft.classes.get("stf", 0)
    if not (svc or stf):
        return ""
    facets = await context.services.altegio.class_facets()
    names = dict(facets.get("service", [])) | dict(facets.get("staff", []))
    shown = ", ".join(h(names.get(i, "")) for i in (svc, stf) if i)
    return context.t.gettext("Showing: %(filter)s", filter=shown) + "\n"


async def _week(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    services = context.services
    company = await services.altegio.company()
    today = _today(context, company.tz)
    week = draft.classes.get("week", 0)
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=week)
    first, last = max(today, monday), monday + timedelta(days=6)
    svc, stf = draft.classes.get("svc", 0), draft.classes.get("stf", 0)
    found = await classes.on_days(services, first, last, svc, stf)
    lines = [take_notice(draft) + t.gettext("Group classes at %(salon)s", salon=h(company.title))]
    lines.append(await _filters_line(context, draft))
    rows: list[list[InlineKeyboardButton]] = []
    if not found:
        lines.append(
            t.gettext("No classes from %(day)s to %(last)s.", day=t.date(first), last=t.date(last))
        )
        later = await classes.first_day_with(services, last + timedelta(days=1), svc, stf)
        if later is not None:
            weeks = (later - today + timedelta(days=today.weekday())).days // 7
            label = t.gettext("Next classes: %(day)s", day=t.date(later))
            rows.append([keys.button(label + " ›", "clw", min(weeks, 99))])
    by_day: dict[date, list[Activity]] = {}
    for event in found:
        by_day.setdefault(event.start.astimezone(company.tz).date(), []).append(event)
    for day, events in by_day.items():
        lines.append(f"\n<b>{t.date(day)}</b>")
        lines += [_line(context, e) for e in events]
    if len(found) <= MAX_BUTTONS:
        rows += [[_class_button(keys, context, e, company.tz)] for e in found]
    else:
        rows += [[keys.button(t.date(d), "cld", day_arg(d))] for d in by_day]
    turn = []
    if week > 0:
        turn.append(keys.button("‹ " + t.gettext("Earlier"), "clw", week - 1))
    _, end = await services.altegio.event_range()
    if end is not None and end > last and week < 99:
        turn.append(keys.button(t.gettext("Next week") + " ›", "clw", week + 1))
    rows.append(turn)
    rows.append(_filter_row(context, keys, draft))
    await show(
        update,
        context,
        "\n".join(x for x in lines if x),
        keys.markup(rows, back=False),
        draft=draft,
    )
    return Step.CLASS


def _class_button(
    keys: Keys, context: Context, event: Activity, tz: ZoneInfo
) -> InlineKeyboardButton:
    local = event.start.astimezone(tz)
    label = f"{context.t.date(local.date())} {context.t.time(local)} · {event.title}"
    if not event.free:
        label = context.t.gettext("%(class)s (full)", **{"class": label})
    return keys.button(label, "clc", f"{day_arg(local.date())}-{event.id}")


def _filter_row(context: Context, keys: Keys, draft: Draft) -> list[InlineKeyboardButton]:
    t = context.t
    if draft.classes.get("svc") or draft.classes.get("stf"):
        return [keys.button(t.gettext("All classes"), "clfs", "x")]
    return [
        keys.button(t.gettext("By class"), "clf", "svc"),
        keys.button(t.gettext("By instructor"), "clf", "stf"),
    ]


async def _day(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    company = await context.services.altegio.company()
    day = _as_day(draft.classes["day"])
    svc, stf = draft.classes.get("svc", 0), draft.classes.get("stf", 0)
    found = await classes.on_days(context.services, day, day, svc, stf)
    text = f"<b>{t.long_date(day)}</b>\n" + "\n".join(_line(context, e) for e in found)
    rows = [[_class_button(keys, context, e, company.tz)] for e in found]
    rows.append([keys.button(t.gettext("« All classes"), "cll")])
    await show(update, context, text, keys.markup(rows, back=False), draft=draft)
    return Step.CLASS


def _as_day(number: int) -> date:
    text = str(number)
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


async def _one(update: Update, context: Context, draft: Draft) -> Outcome:
    """One class, read afresh: its details and seats to choose, or, full, the next ones."""
    t = context.t
    keys = Keys(draft.flow, t)
    services = context.services
    company = await services.altegio.company()
    assert draft.activity is not None
    day = _as_day(draft.classes.get("day", 0) or int(day_arg(_today(context, company.tz))))
    event = await services.altegio.activity(draft.activity, day)
    back = [keys.button(t.gettext("« All classes"), "cll")]
    note = take_notice(draft)
    if event is None or event.start <= context.now():
        draft.activity = None
        draft.notice = t.gettext("Sorry, that class is no longer on.")
        return go(draft, Step.CLASS)
    wanted = classes.seats_of(draft)
    taken, draft.taken = draft.taken, False
    local = event.start.astimezone(company.tz)
    lines = [
        f"<b>{h(event.title)}</b>",
        t.gettext("When: %(day)s at %(time)s", day=t.long_date(local.date()), time=t.time(local)),
        t.gettext("Duration: %(duration)s", duration=t.duration(event.length)),
        t.gettext("Instructor: %(staff)s", staff=h(event.staff_name)),
        t.gettext("Seats left: %(free)s of %(capacity)s", free=event.free, capacity=event.capacity),
    ]
    price = t.price_range(event.price_min, event.price_max, company.currency)
    if price:
        lines.append(t.gettext("Price: %(price)s", price=price))
    if is_chain(services):  # which of the chain's locations the class is at
        lines.append(location_line(t, company, chain=True))
    rows: list[list[InlineKeyboardButton]] = []
    if event.free == 0:
        head = t.gettext("Sorry, this class has just filled up.") if taken else ""
        lines.insert(0, (head or t.gettext("This class is full.")) + "\n")
        later = await classes.next_ones(services, event, 1)
        if later:
            lines.append("\n" + t.gettext("The next ones with seats free:"))
            rows += [[_class_button(keys, context, e, company.tz)] for e in later]
    else:
        if taken and event.free < wanted:
            lines.insert(0, t.gettext("Only %(free)s seats are left now.", free=event.free) + "\n")
        lines.append("\n" + t.gettext("How many seats would you like?"))
        counts = range(1, min(event.free, classes.MAX_SEATS) + 1)
        rows.append([keys.button(str(n), "cln", n) for n in counts])
    rows.append(back)
    await show(update, context, note + "\n".join(lines), keys.markup(rows, back=False), draft=draft)
    return Step.CLASS


# --- buttons --------------------------------------------------------------------------------


async def on_week(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.classes.pop("day", None)
    draft.classes["week"] = cb.number
    return go(draft, Step.CLASS)


async def on_class_day(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.classes["day"] = int(cb.arg)
    return go(draft, Step.CLASS)


async def on_class(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    day, ident = cb.arg.split("-")
    draft.activity = int(ident)
    draft.classes["day"] = int(day)
    draft.slot = None
    return go(draft, Step.CLASS)


async def on_seats(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    """Seats chosen: on to the booking's contact step, the class's time as the draft's."""
    if draft.activity is None:
        return go(draft, Step.CLASS)
    company = await context.services.altegio.company()
    # Its day was just read afresh for the class's screen: the copy kept a minute will do.
    event = await _chosen(context, draft)
    if event is None or event.free < cb.number:
        draft.taken = True
        return go(draft, Step.CLASS)
    draft.classes["seats"] = cb.number
    draft.slot = event.start.astimezone(company.tz).isoformat()
    draft.slot_length = event.length
    # Details given already (a class that filled, another chosen): straight to the summary.
    return go(draft, Step.SUMMARY if draft.phone and draft.name else Step.PHONE)


async def on_all(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    """« All classes: back to the week's list."""
    draft.activity = None
    draft.slot = None
    draft.classes.pop("day", None)
    return go(draft, Step.CLASS)


async def on_filter(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    facets = await context.services.altegio.class_facets()
    code, prefix = ("service", "s") if cb.arg == "svc" else ("staff", "t")
    rows = [
        [keys.button(title, "clfs", f"{prefix}{ident}")] for ident, title in facets.get(code, [])
    ]
    rows.append([keys.button(t.gettext("« All classes"), "clfs", "x")])
    text = t.gettext("Which class?") if cb.arg == "svc" else t.gettext("Which instructor?")
    await show(update, context, text, keys.markup(rows, back=False), draft=draft)
    return Step.CLASS


async def on_filter_set(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    draft.classes.pop("day", None)
    draft.classes["week"] = 0
    if cb.arg == "x":
        draft.classes.pop("svc", None)
        draft.classes.pop("stf", None)
    else:
        draft.classes["svc" if cb.arg[0] == "s" else "stf"] = int(cb.arg[1:])
    return go(draft, Step.CLASS)


BUTTONS = {
    "clw": on_week,
    "cld": on_class_day,
    "clc": on_class,
    "cln": on_seats,
    "cll": on_all,
    "clf": on_filter,
    "clfs": on_filter_set,
}


# --- the booking's other steps, for a class -------------------------------------------------


async def choice_text(context: Context, draft: Draft) -> str:
    """What the client chose, above the contact question."""
    t = context.t
    company = await context.services.altegio.company()
    event = await _chosen(context, draft)
    if event is None:
        return ""
    local = event.start.astimezone(company.tz)
    when = t.gettext("%(day)s at %(time)s", day=t.long_date(local.date()), time=t.time(local))
    return t.gettext(
        "<b>%(service)s</b> with %(staff)s, %(when)s.",
        service=h(event.title),
        staff=h(event.staff_name),
        when=when,
    )


async def _chosen(context: Context, draft: Draft) -> Activity | None:
    if draft.activity is None or not draft.classes.get("day"):
        return None
    return await classes.listed(context.services, draft.activity, _as_day(draft.classes["day"]))


async def summary_text(context: Context, draft: Draft) -> str:
    """The summary of a class booking: the class, its instructor, time, seats and price."""
    t = context.t
    company = await context.services.altegio.company()
    event = await _chosen(context, draft)
    seats = classes.seats_of(draft)
    lines = [t.gettext("Please check your booking:"), ""]
    if event is not None:
        local = event.start.astimezone(company.tz)
        lines += [
            t.gettext("Class: %(class)s", **{"class": h(event.title)}),
            t.gettext("Instructor: %(staff)s", staff=h(event.staff_name)),
            t.gettext(
                "When: %(day)s at %(time)s", day=t.long_date(local.date()), time=t.time(local)
            ),
            t.gettext("Duration: %(duration)s", duration=t.duration(event.length)),
        ]
    lines.append(t.gettext("Seats: %(seats)s", seats=seats))
    if event is not None and event.price_min is not None:
        price = t.price(event.price_min * seats, company.currency)
        lines.append(t.gettext("Price: %(price)s", price=price))
    lines += summary_tail(t, company, draft, is_chain(context.services))
    return "\n".join(lines)
