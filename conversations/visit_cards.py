"""A visit booked as consecutive appointments with different team members, as the client sees
it after booking: in My appointments (one entry, one screen), in its calendar file, in its one
reminder, and when the salon or a refusal changes one part while the others stand. An
appointment that is a visit of its own is worded as it always was (`texts.describe`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.altegio.models import Company
from bot.calendar_file import CalendarEntry
from bot.i18n import Translator
from bot.records import Change, Fresh
from conversations.texts import describe, h, location_line, what, when


def member(t: Translator, fresh: Fresh) -> str:
    return fresh.staff_name or t.gettext("a team member the salon assigns")


def part_line(t: Translator, fresh: Fresh, company: Company) -> str:
    """ "10:00 AM <b>Women's haircut</b> with Anna Weber" """
    return t.gettext(
        "%(time)s <b>%(service)s</b> with %(staff)s",
        time=t.time(fresh.booking.start.astimezone(company.tz)),
        service=h(what(t, fresh)),
        staff=h(member(t, fresh)),
    )


def titles(t: Translator, parts: Sequence[Fresh]) -> str:
    return ", ".join(what(t, f) for f in parts)


def visit_line(t: Translator, parts: Sequence[Fresh], company: Company) -> str:
    """The visit in one line: "Women's haircut with Anna Weber at 10:00 AM, then Gel manicure
    with Mia Hoffmann at 11:00 AM" (plain text, not HTML)."""
    line = ""
    for fresh in parts:
        one = t.gettext(
            "%(service)s with %(staff)s at %(time)s",
            service=what(t, fresh),
            staff=member(t, fresh),
            time=t.time(fresh.booking.start.astimezone(company.tz)),
        )
        line = t.gettext("%(earlier)s, then %(later)s", earlier=line, later=one) if line else one
    return line


def visit_seconds(parts: Sequence[Fresh]) -> int:
    """From the first part's start to the last part's end."""
    start = min(f.booking.start for f in parts)
    end = max(f.booking.start + timedelta(seconds=f.booking.length) for f in parts)
    return int((end - start).total_seconds())


def describe_visit(
    t: Translator,
    parts: Sequence[Fresh],
    company: Company,
    *,
    ask_verify: bool = False,
    chain: bool = False,
) -> str:
    """The whole visit as the client should see it: when it starts, each part with its time and
    team member, how long it lasts, where (`chain`: the location always named)."""
    if len(parts) == 1:
        return describe(t, parts[0], company, ask_verify=ask_verify, chain=chain)
    first = parts[0]
    lines = [f"<b>{h(titles(t, parts))}</b>", when(t, first.booking.start, company)]
    lines += [part_line(t, f, company) for f in parts]
    lines.append(t.gettext("Duration: %(duration)s", duration=t.duration(visit_seconds(parts))))
    place = location_line(t, company, chain)
    if place:
        lines.append(place)
    unchecked = [f for f in parts if f.change is Change.UNCHECKED]
    if unchecked and ask_verify and any(f.verify for f in unchecked):
        lines.append(
            "<i>"
            + t.gettext(
                "To show it as the salon has it now, please confirm your phone number: this is "
                "the appointment as it was booked."
            )
            + "</i>"
        )
    elif unchecked:
        lines.append(
            "<i>"
            + t.gettext(
                "The salon's booking system could not be asked about it just now: this is the "
                "appointment as it was booked."
            )
            + "</i>"
        )
    return "\n".join(lines)


def salon_cancelled_parts(t: Translator, gone: Sequence[Fresh], company: Company) -> list[str]:
    """Parts of a visit the salon cancelled, one line each."""
    return [
        t.gettext(
            "Cancelled by the salon: %(what)s, %(when)s.",
            what=h(what(t, f)),
            when=when(t, f.booking.start, company),
        )
        for f in gone
    ]


def part_cancelled_text(
    t: Translator, gone: Fresh, standing: Sequence[Fresh], company: Company, *, chain: bool = False
) -> str:
    """The salon cancelled one part of a visit: which, and what still stands (in a chain,
    where)."""
    lines = [
        t.gettext(
            "The salon has cancelled part of your visit: %(what)s, %(when)s.",
            what=h(what(t, gone)),
            when=when(t, gone.booking.start, company),
        ),
        "",
        t.gettext("The rest of your visit stands:"),
        *(part_line(t, f, company) for f in standing),
    ]
    if chain:
        lines.append(location_line(t, company, chain))
    if company.phone:
        lines += ["", t.gettext("You can also call the salon: %(phone)s", phone=h(company.phone))]
    return "\n".join(lines)


def part_moved_text(
    t: Translator, moved: Fresh, parts: Sequence[Fresh], company: Company, *, chain: bool = False
) -> str:
    """The salon moved one part of a visit: which, to when, and the visit as it is now."""
    return (
        t.gettext(
            "The salon has moved part of your visit: %(what)s, now %(when)s.",
            what=h(what(t, moved)),
            when=when(t, moved.booking.start, company),
        )
        + "\n\n"
        + describe_visit(t, parts, company, chain=chain)
    )


def calendar_entry(t: Translator, parts: Sequence[Fresh], company: Company) -> CalendarEntry:
    """One event from the first part's start to the last part's end, naming every part."""
    first = parts[0]
    if len(parts) == 1:
        description = (
            t.gettext("Team member: %(staff)s", staff=first.staff_name) if first.staff_name else ""
        )
    else:
        description = "\n".join(
            t.gettext(
                "%(time)s %(service)s with %(staff)s",
                time=t.time(f.booking.start.astimezone(company.tz)),
                service=what(t, f),
                staff=member(t, f),
            )
            for f in parts
        )
    title = ", ".join(f.title for f in parts if f.title) or t.gettext("Appointment")
    visit_id = first.booking.visit_id or first.booking.record_id
    return CalendarEntry(
        uid=f"{visit_id}@{company.id}.altegio",
        title=f"{title} — {company.title}",
        start=first.booking.start.astimezone(company.tz),
        length=visit_seconds(parts) if len(parts) > 1 else first.booking.length,
        location=", ".join(p for p in (company.title, company.full_address) if p),
        description=description,
    )
