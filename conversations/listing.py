"""My appointments, the list: every upcoming appointment (from the client's Altegio account once
their phone is confirmed, else those booked here), what the salon changed, and past visits with
Book again. One appointment's own screen and actions are `conversations/appointments.py`'s."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.altegio import errors
from bot.altegio.models import Company
from bot.chain import is_chain
from bot.context import Context
from bot.i18n import Translator
from bot.keyboards import NO_FLOW, Callback, Keys
from bot.records import Change, Fresh
from bot.workflows import cabinet, visit_records, waitlist
from bot.workflows.book import Who
from conversations.screens import answer, show, unavailable
from conversations.texts import h, what, when
from conversations.visit_cards import titles, visit_line

# A salon's name in a button is cut to this many characters.
SALON_IN_BUTTON = 28


def _who(update: Update, context: Context) -> Who | None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return None
    return Who(chat.id, user.id if user else chat.id, context.language)


def _short(salon: str) -> str:
    return salon if len(salon) <= SALON_IN_BUTTON else salon[: SALON_IN_BUTTON - 1] + "…"


def _link_button(t: Translator, keys: Keys, salon: str, again: bool) -> InlineKeyboardButton:
    if again:
        return keys.button(t.gettext("Confirm my phone number"), "acct")
    return keys.button(
        t.gettext("Show all my appointments at %(salon)s", salon=_short(salon)), "acct"
    )


async def _location(context: Context, fresh: Fresh) -> Company:
    """The appointment's own location (the bot's, or another one's), from the copy held once
    read."""
    return await _place(context, fresh.booking.company_id)


async def _place(context: Context, company_id: int) -> Company:
    """The location `company_id` (0: the bot's own), from the copy held once read."""
    altegio = context.services.at(company_id).altegio
    return altegio.company_copy() or await altegio.company()


def _what(t: Translator, fresh: Fresh, place: Company, chain: bool) -> str:
    """What the appointment is, with its location's title in a chain (HTML)."""
    text = h(what(t, fresh))
    return f"{text} ({h(place.title)})" if chain else text


def _link_lines(t: Translator, whole: bool, relink: bool, verify: bool) -> list[str]:
    """Why to confirm the phone, when that would show more (or the truth) than is shown."""
    if relink or verify:
        return [
            t.gettext(
                "The salon's booking system asks you to confirm your phone number again to "
                "show your appointments as they are now. A text message with a code will come."
            )
        ]
    if whole:
        return []
    return [
        t.gettext(
            "Booked by phone or on the salon's website? Those appointments can be shown here "
            "too: confirm your phone number with a code we send by text message."
        )
    ]


async def _opened(update: Update, context: Context, action: str) -> tuple[Who, Company] | None:
    """Whose list it is and the location, the tap answered; None once the client has been told
    Altegio is not answering (Try again repeats `action`)."""
    if update.callback_query:
        await answer(update, context)
    who = _who(update, context)
    if who is None:
        return None
    try:
        company = await context.services.altegio.company()
    except errors.AltegioError as exc:
        await unavailable(update, context, exc, retry=Callback(NO_FLOW, action))
        return None
    return who, company


def _with_link(
    context: Context,
    who: Who,
    company: Company,
    lines: list[str],
    rows: list[list[InlineKeyboardButton]],
    *,
    whole: bool,
    verify: bool,
) -> str:
    """The screen's text, with why and how to confirm the phone where that would show more
    (its button added to `rows`)."""
    t = context.t
    relink = cabinet.relink(context.services, who.user_id)
    link = _link_lines(t, whole, relink, verify)
    if link:
        rows.append([_link_button(t, Keys(NO_FLOW, t), company.title, relink or verify)])
    return "\n".join(lines) + "".join("\n\n" + line for line in link)


async def list_appointments(update: Update, context: Context) -> None:
    """/appointments and the My appointments button."""
    opened = await _opened(update, context, "apts")
    if opened is None:
        return
    who, company = opened
    services = context.services
    t = context.t
    now = context.now()
    k = Keys(NO_FLOW, t)
    listing = await cabinet.appointments(services, who)
    fresh = listing.items
    active = [f for f in fresh if f.change is not Change.DELETED and f.booking.start > now]
    cancelled = [f for f in fresh if f.change is Change.DELETED]
    chain = is_chain(services)  # each entry names its location
    lines: list[str] = []
    rows: list[list[InlineKeyboardButton]] = []
    if active:
        if listing.whole and not chain:
            lines.append(
                t.gettext("Your upcoming appointments at %(salon)s:", salon=h(company.title))
            )
        else:
            lines.append(t.gettext("Your upcoming appointments:"))
        for visit in visit_records.grouped(active):
            item = visit[0]
            # In the timezone of the appointment's own location (the bot's, or another one's).
            place = await _location(context, item)
            local = item.booking.start.astimezone(place.tz)
            day = f"{t.date(local.date())} · {t.time(local)}"
            if chain:
                day += f" · {_short(place.title)}"
            title = item.title if len(visit) == 1 else titles(t, visit)
            label = day + (f" · {title}" if title else "")
            rows.append([k.button(label[:60], "apt", item.booking.record_id)])
            if len(visit) > 1:
                # One entry for a visit of consecutive appointments, each part named.
                line = f"• {t.date(local.date())}: {h(visit_line(t, visit, place))}"
                lines.append(line + (f" ({h(place.title)})" if chain else ""))
        if any(item.change is Change.UNCHECKED and not item.verify for item in active):
            lines.append(
                t.gettext(
                    "Some could not be checked with the salon just now; they are shown as booked."
                )
            )
    elif listing.whole:
        lines.append(
            t.gettext("You have no upcoming appointments at %(salon)s.", salon=h(company.title))
        )
    else:
        lines.append(t.gettext("You have no upcoming appointments booked here."))
    for item in active:
        if item.change is Change.MOVED:
            place = await _location(context, item)
            lines.append(
                t.gettext(
                    "Moved by the salon: %(what)s, now %(when)s.",
                    what=_what(t, item, place, chain),
                    when=when(t, item.booking.start, place),
                )
            )
    for item in cancelled:
        place = await _location(context, item)
        lines.append(
            t.gettext(
                "Cancelled by the salon: %(what)s, %(when)s.",
                what=_what(t, item, place, chain),
                when=when(t, item.booking.start, place),
            )
        )
    text = _with_link(
        context, who, company, lines, rows, whole=listing.whole, verify=listing.verify
    )
    rows.append([k.button(t.gettext("Past visits"), "past")])
    if waitlist.has_wishes(services, who.user_id):
        rows.append([k.button(t.gettext("My waiting list"), "wls")])
    rows.append([k.button(t.gettext("Book an appointment"), "book")])
    await show(update, context, text, InlineKeyboardMarkup(rows))


async def past_visits(update: Update, context: Context) -> None:
    """Past visits: service, team member, date; Book again for each kind of visit. In a chain,
    each in its own location's time (the time shown too) and named by its title."""
    opened = await _opened(update, context, "past")
    if opened is None:
        return
    who, company = opened
    services = context.services
    t = context.t
    k = Keys(NO_FLOW, t)
    past = await cabinet.past_visits(services, who)
    chain = is_chain(services)  # each visit at its own location: its time there, its title
    lines: list[str] = []
    rows: list[list[InlineKeyboardButton]] = []
    if past.visits:
        lines.append(t.gettext("Your past visits:"))
        offered: set[tuple[str, str, int]] = set()
        for visit in past.visits:
            place = await _place(context, visit.company_id) if chain else company
            local = visit.start.astimezone(place.tz)
            parts = [t.date(local.date())]
            if chain:
                parts.append(t.time(local))
            parts.append(visit.title or t.gettext("Appointment"))
            if visit.staff_name:
                parts.append(visit.staff_name)
            line = "• " + h(" · ".join(parts))
            if chain:
                line += f" ({h(place.title)})"
            if visit.no_show:
                line += " " + t.gettext("(missed)")
            lines.append(line)
            kind = (visit.title, visit.staff_name, place.id if chain else 0)
            if kind in offered or not visit.title:
                continue
            offered.add(kind)
            label = t.gettext("Book again: %(service)s", service=visit.title)
            if visit.staff_name:
                label += f" · {visit.staff_name}"
            if chain:
                label += f" · {_short(place.title)}"
            rows.append([k.button(label[:60], "again", visit.record_id)])
    else:
        lines.append(t.gettext("There are no past visits to show yet."))
    text = _with_link(context, who, company, lines, rows, whole=past.whole, verify=past.verify)
    rows.append([k.button(t.gettext("« My appointments"), "apts")])
    await show(update, context, text, InlineKeyboardMarkup(rows))
