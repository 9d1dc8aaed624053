"""Texts more than one part of the bot says: an appointment, its time, why a change is refused,
what became of a booking, when to try again or ask for a new code. HTML-safe throughout."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from html import escape

from bot.altegio.models import Company
from bot.draft import Draft, display_phone
from bot.i18n import Translator
from bot.records import Change, Fresh, Refusal

log = logging.getLogger(__name__)


def h(text: object) -> str:
    """Salon and client text inside our HTML messages."""
    return escape(str(text), quote=False)


def call_sentence(t: Translator, phone: str, *, also: bool = True) -> str:
    """A sentence giving the salon's phone to append, or "" when the phone is not known."""
    if not phone:
        return ""
    if also:
        return " " + t.gettext("You can also call the salon: %(phone)s", phone=h(phone))
    return " " + t.gettext("Please call the salon: %(phone)s", phone=h(phone))


def when_to_retry(t: Translator, wait: float | None) -> str:
    """When trying again makes sense: Altegio's own word (Retry-After), or the pause the bot
    keeps from it, rounded up; "in a moment" when nobody said."""
    if not wait or wait < 5:
        return t.gettext("Please try again in a moment.")
    if wait < 60:
        seconds = int(-(-wait // 5) * 5)
        return t.ngettext(
            "Please try again in about %(n)s second.",
            "Please try again in about %(n)s seconds.",
            seconds,
        )
    minutes = int(-(-wait // 60))
    return t.ngettext(
        "Please try again in about %(n)s minute.",
        "Please try again in about %(n)s minutes.",
        minutes,
    )


def when(t: Translator, start: datetime, company: Company) -> str:
    local = start.astimezone(company.tz)
    return t.gettext("%(day)s at %(time)s", day=t.long_date(local.date()), time=t.time(local))


def what(t: Translator, fresh: Fresh) -> str:
    """The services of an appointment, or the word itself when nothing names them."""
    return fresh.title or t.gettext("appointment")


def location_line(t: Translator, company: Company, chain: bool) -> str:
    """Where an appointment is: in a chain (`chain`), always its location's title and address;
    otherwise the salon's address where it is known, as it always read ("" where not)."""
    address = company.full_address
    if chain and address:
        return t.gettext(
            "Location: %(salon)s, %(address)s", salon=h(company.title), address=h(address)
        )
    if chain:
        return t.gettext("Location: %(salon)s", salon=h(company.title))
    if address:
        return t.gettext(
            "Address: %(salon)s, %(address)s", salon=h(company.title), address=h(address)
        )
    return ""


def summary_tail(t: Translator, company: Company, draft: Draft, chain: bool) -> list[str]:
    """The last lines of a booking's summary, an appointment's or a class's: where it is, then
    the client's name and phone, and the e-mail and comment they gave."""
    lines = [line for line in (location_line(t, company, chain),) if line]
    lines.append(t.gettext("Name: %(name)s", name=h(draft.name or "")))
    lines.append(t.gettext("Phone: %(phone)s", phone=h(display_phone(draft.phone or ""))))
    if draft.email:
        lines.append(t.gettext("E-mail: %(email)s", email=h(draft.email)))
    if draft.comment:
        lines.append(t.gettext("Comment: %(comment)s", comment=h(draft.comment)))
    return lines


def describe(
    t: Translator,
    fresh: Fresh,
    company: Company,
    *,
    ask_verify: bool = False,
    chain: bool = False,
) -> str:
    """The appointment as the client should see it, in their language and the salon's zone;
    `ask_verify`: the screen offers to confirm the phone where that is what reading it needs;
    `chain`: the bot serves a chain, so its location is always named."""
    lines = []
    if fresh.title:
        lines.append(f"<b>{h(fresh.title)}</b>")
    lines.append(when(t, fresh.booking.start, company))
    if fresh.staff_name:
        lines.append(t.gettext("Team member: %(staff)s", staff=h(fresh.staff_name)))
    if fresh.booking.length:
        lines.append(t.gettext("Duration: %(duration)s", duration=t.duration(fresh.booking.length)))
    place = location_line(t, company, chain)
    if place:
        lines.append(place)
    if fresh.change is Change.UNCHECKED and fresh.verify and ask_verify:
        lines.append(
            "<i>"
            + t.gettext(
                "To show it as the salon has it now, please confirm your phone number: this is "
                "the appointment as it was booked."
            )
            + "</i>"
        )
    elif fresh.change is Change.UNCHECKED:
        lines.append(
            "<i>"
            + t.gettext(
                "The salon's booking system could not be asked about it just now: this is the "
                "appointment as it was booked."
            )
            + "</i>"
        )
    return "\n".join(lines)


def refusal_text(
    t: Translator, refusal: Refusal, notice: int | None, phone: str, action: str
) -> str:
    """Why a change is refused, in the salon's own terms where they are known; never a rule
    nobody stated."""
    hours = max(1, round((notice or 0) / 3600))
    if refusal is Refusal.PAST:
        text = t.gettext("This appointment has already begun or is over.")
    elif refusal is Refusal.NOT_ALLOWED:
        if action == "cancel":
            text = t.gettext("The salon does not accept cancellations online.")
        else:
            text = t.gettext("The salon does not accept changes online.")
    elif refusal is Refusal.BY_ALTEGIO or notice is None:
        if action == "cancel":
            text = t.gettext("The salon's booking system did not accept cancelling it online.")
        else:
            text = t.gettext("The salon's booking system did not accept moving it online.")
    elif action == "cancel":
        text = t.ngettext(
            "Online cancellation closes %(n)s hour before the visit.",
            "Online cancellation closes %(n)s hours before the visit.",
            hours,
        )
    else:
        text = t.ngettext(
            "Online rescheduling closes %(n)s hour before the visit.",
            "Online rescheduling closes %(n)s hours before the visit.",
            hours,
        )
    if phone:
        text += " " + t.gettext("Please call the salon: %(phone)s", phone=h(phone))
    return text


def code_wait(t: Translator, wait: float) -> str:
    """When the next text message with a code may be asked for."""
    if wait < 90:
        seconds = max(1, int(-(-wait // 1)))
        return t.ngettext(
            "You can ask for a new code in %(n)s second.",
            "You can ask for a new code in %(n)s seconds.",
            seconds,
        )
    minutes = int(-(-wait // 60))
    return t.ngettext(
        "You can ask for a new code in %(n)s minute.",
        "You can ask for a new code in %(n)s minutes.",
        minutes,
    )


def uncertain_text(t: Translator, *, answered: bool, told: bool) -> str:
    """Why a booking cannot be confirmed, and what the client should not do."""
    if answered and told:
        return t.gettext(
            "The salon's booking system accepted the booking, but its answer could not be read, "
            "so I cannot confirm it here: it has most likely been made. Please do not book "
            "again; the salon has been told and can confirm it."
        )
    if answered:
        return t.gettext(
            "The salon's booking system accepted the booking, but its answer could not be read, "
            "so I cannot confirm it here: it has most likely been made. Please do not book "
            "again before checking with the salon."
        )
    if told:
        return t.gettext(
            "The salon's booking system did not answer in time, so I cannot confirm your "
            "booking: it may or may not have been made. Please do not book again; the salon "
            "has been told and can confirm it."
        )
    return t.gettext(
        "The salon's booking system did not answer in time, so I cannot confirm your booking: "
        "it may or may not have been made. Please do not book again before checking with the "
        "salon."
    )


def booked_text(
    t: Translator,
    title: str,
    who: str,
    company: Company,
    start: datetime,
    *,
    parts: Sequence[tuple[str, str, datetime]] = (),
    chain: bool = False,
) -> str:
    """The confirmation; `parts`: a visit of consecutive appointments, each (services, team
    member, start); `chain`: its location named (title and address)."""
    local = start.astimezone(company.tz)
    # "Any team member" whose name Altegio did not give back.
    who = who or t.gettext("a team member the salon assigns")
    lines = [
        t.gettext("✅ You are booked!"),
        "",
        t.gettext(
            "<b>%(service)s</b> with %(staff)s on %(day)s at %(time)s.",
            service=h(title),
            staff=h(who),
            day=t.long_date(local.date()),
            time=t.time(local),
        ),
    ]
    if parts:
        lines[2:] = [
            t.gettext("Your visit on %(day)s:", day=t.long_date(local.date())),
            *(
                t.gettext(
                    "%(time)s <b>%(service)s</b> with %(staff)s",
                    time=t.time(begins.astimezone(company.tz)),
                    service=h(part_title),
                    staff=h(name or t.gettext("a team member the salon assigns")),
                )
                for part_title, name, begins in parts
            ),
        ]
    place = location_line(t, company, chain)
    if place:
        lines.append(place)
    lines.append(t.gettext("See you there!"))
    return "\n".join(lines)


def salon_cancelled_text(
    t: Translator, fresh: Fresh, company: Company, *, chain: bool = False
) -> str:
    """The salon cancelled the appointment: what and when (in a chain, where), and its phone
    where known."""
    text = t.gettext(
        "Your appointment was cancelled by the salon: %(what)s, %(when)s.",
        what=h(what(t, fresh)),
        when=when(t, fresh.booking.start, company),
    )
    if chain:
        text += "\n" + location_line(t, company, chain)
    if company.phone:
        text += "\n" + call_sentence(t, company.phone).strip()
    return text
