"""What every step of the booking conversation shares: the steps, moving between them, helpers.

A handler that moves the client to a step returns `go(draft, step)`; the conversation
(`conversations/booking.py`) shows that step as its table says, and turns an Altegio outage on
the way into a polite "try again" that keeps the client's choices.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from telegram import (
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import ConversationHandler

from bot import visit_plan
from bot.altegio import errors
from bot.altegio.models import Company, Service, Staff
from bot.context import Context
from bot.draft import Draft
from bot.i18n import Translator
from bot.keyboards import NO_FLOW, Callback, Keys
from bot.storage import AttemptState
from bot.workflows import book
from conversations.drafts import get_draft, put_draft
from conversations.screens import my_appointments, show, single
from conversations.texts import call_sentence, h

log = logging.getLogger(__name__)


class Step(StrEnum):
    SERVICE = "service"
    STAFF = "staff"
    DAY = "day"
    TIME = "time"
    PHONE = "phone"
    NAME = "name"
    EMAIL = "email"  # only where the location asks for one
    COMMENT = "comment"
    CONSENT = "consent"  # only where the location has its own privacy policy
    SUMMARY = "summary"
    CODE = "code"
    MOVE = "move"
    CLASS = "class"  # a group class and its seats (conversations/classes.py)
    WAIT = "wait"  # the days to wait for a time to free up (the waiting list)
    LOCATION = "location"  # a chain's location, when the client has not chosen one


END = ConversationHandler.END


@dataclass(frozen=True, slots=True)
class Show:
    """Where a handler sends the client: `step`, shown with `draft` by the conversation."""

    draft: Draft
    step: Step


Outcome = Step | int | None | Show
Action = Callable[[Update, Context, Draft, Callback], Awaitable[Outcome]]
Handler = Callable[[Update, Context], Coroutine[Any, Any, Outcome]]
Render = Callable[[Update, Context, Draft], Awaitable[Outcome]]
Hint = Callable[[Translator], str]


def _use_the_buttons(t: Translator) -> str:
    return t.gettext("Please use the buttons below.")


@dataclass(frozen=True, slots=True)
class StepSpec:
    show: Render  # how the step is shown
    buttons: Mapping[str, Action]  # the codec's actions it takes (besides Back, Cancel, Retry)
    back: Step | None  # where « Back goes (None: the first step, shown afresh)
    hint: Hint = _use_the_buttons  # for anything sent that the step cannot use
    typed: Handler | None = None  # what typed text means here
    contact: Handler | None = None  # what a shared contact means here
    located: Handler | None = None  # what a shared location (Telegram's pin) means here


# Failures worth trying again: Altegio slow, pausing us, or answering what cannot be read.
TEMPORARY = (errors.Unavailable, errors.RateLimited, errors.UnexpectedResponse)


def go(draft: Draft, step: Step) -> Show:
    """Move the client to `step` (shown once the handler returns)."""
    if draft.activity is not None and step in _APPOINTMENT_CHOICES:
        step = Step.CLASS  # a class has no service, team member or time of its own to choose
    return Show(draft, step)


_APPOINTMENT_CHOICES = (Step.SERVICE, Step.STAFF, Step.DAY, Step.TIME)


async def service_gone(update: Update, context: Context, draft: Draft) -> Outcome:
    """Altegio no longer offers the chosen service (438): say so, keep it out of the lists,
    and let the client choose again (a move of it cannot go on)."""
    t = context.t
    altegio = context.services.altegio
    if len(draft.service_ids) > 1:
        return await _visit_service_gone(update, context, draft)
    service = await chosen_service(context, draft)
    if draft.service_id is not None:
        altegio.withdraw_service(draft.service_id)
    if service is not None:
        note = t.gettext(
            "Sorry, %(service)s is no longer offered online.", service=f"<b>{h(service.title)}</b>"
        )
    else:
        note = t.gettext("Sorry, that service is no longer offered online.")
    if draft.reschedule:
        return await _move_stops(update, context, note)
    draft.notice = note + " " + t.gettext("Please choose another service.")
    # The same category stays open: its other services are the likeliest choice.
    draft.service_id = draft.staff_id = None
    draft.day = draft.slot = draft.month = None
    draft.code_sent = False
    return go(draft, Step.SERVICE)


async def _visit_service_gone(update: Update, context: Context, draft: Draft) -> Outcome:
    """438 for a visit of several services: the ones gone are named and taken out of the
    visit; the others stay chosen, and the client chooses the team member again."""
    t = context.t
    altegio = context.services.altegio
    before = await altegio.catalogue()
    gone = await visit_plan.withdrawn(altegio, draft.service_ids)
    for service_id in gone:
        altegio.withdraw_service(service_id)
    titles = ", ".join(s.title for sid in gone if (s := before.service(sid)) is not None)
    note = t.gettext(
        "Sorry, %(service)s is no longer offered online.", service=f"<b>{h(titles)}</b>"
    )
    if draft.reschedule:
        return await _move_stops(update, context, note)
    left = [sid for sid in draft.service_ids if sid not in gone]
    draft.service_id, draft.more_services = (left[0], left[1:]) if left else (None, [])
    draft.staff_id = draft.day = draft.slot = draft.month = None
    draft.code_sent = False
    if draft.service_id is None:
        draft.notice = note + " " + t.gettext("Please choose another service.")
        return go(draft, Step.SERVICE)
    draft.notice = note
    return go(draft, Step.STAFF)


async def _move_stops(update: Update, context: Context, note: str) -> Outcome:
    """A move that cannot go on because of what the salon changed: the appointment stays."""
    text = note + " " + context.t.gettext("Your appointment stays as it was.")
    return await finish(update, context, text + await call_salon(context), new=False)


async def staff_gone(
    update: Update, context: Context, draft: Draft, exc: errors.StaffGone
) -> Outcome:
    """The chosen team member no longer takes online bookings: choose someone else (a move,
    which keeps its team member, cannot go on)."""
    t = context.t
    if exc.name:
        note = t.gettext("%(staff)s no longer takes online bookings.", staff=h(exc.name))
    else:
        note = t.gettext("The team member you chose no longer takes online bookings.")
    if draft.reschedule:
        return await _move_stops(update, context, note)
    draft.staff_id = draft.day = draft.slot = draft.month = None
    draft.notice = note + " " + t.gettext("Please choose someone else.")
    return go(draft, Step.STAFF)


def user_id_of(update: Update) -> int:
    return update.effective_user.id if update.effective_user else 0


def salon_today(context: Context, company: Company) -> date:
    return context.now().astimezone(company.tz).date()


async def chosen_service(context: Context, draft: Draft) -> Service | None:
    return await book.chosen_service(context.services, draft)


async def chosen_staff(context: Context, draft: Draft) -> Staff | None:
    return await book.chosen_staff(context.services, draft)


def staff_name(context: Context, member: Staff | None) -> str:
    return member.name if member else context.t.gettext("any available team member")


async def salon_phone(context: Context) -> str:
    """The salon's phone number, or "" when Altegio has not told it."""
    try:
        return (await context.services.altegio.company()).phone
    except errors.AltegioError:
        return ""


async def call_salon(context: Context, *, also: bool = True) -> str:
    """A sentence giving the salon's phone to append, or "" when the phone is not known."""
    return call_sentence(context.t, await salon_phone(context), also=also)


async def finish(update: Update, context: Context, text: str, *, new: bool = True) -> Outcome:
    """End the conversation on `text`, with the way to the client's appointments."""
    put_draft(context, None)
    await show(update, context, text, my_appointments(context.t, new=new))
    return END


def take_notice(draft: Draft) -> str:
    """A note for the client left by the step before (what changed, why they are here)."""
    notice, draft.notice = draft.notice, ""
    return notice + "\n\n" if notice else ""


async def cancel(update: Update, context: Context) -> Outcome:
    t = context.t
    draft = get_draft(context)
    put_draft(context, None)
    keys = Keys(NO_FLOW, t)
    attempt = context.services.storage.attempt(draft.flow) if draft is not None else None
    if draft is not None and draft.reschedule:
        text = t.gettext("Rescheduling stopped. Your appointment stays as it was.")
    elif attempt is not None and attempt.state.open:
        # The booking call has gone out: "nothing was booked" may not be true.
        book.abandon(context.services, attempt.flow)
        text = t.gettext(
            "The booking you confirmed is still being checked: I will tell you here what "
            "became of it."
        )
    elif attempt is not None and attempt.state in (AttemptState.BOOKED, AttemptState.UNKNOWN):
        text = t.gettext("This booking has been made: you will find it in My appointments.")
        if attempt.state is AttemptState.UNKNOWN:
            text = t.gettext(
                "Whether this booking was made is not known: please check with the salon."
            )
    else:
        text = t.gettext("Booking cancelled. Nothing was booked.")
    button = keys.button(t.gettext("Book an appointment"), "book")
    if update.message and draft and draft.phone is None and not draft.reschedule:
        # The contact step left a reply keyboard open; a new message is needed to close it.
        await update.message.reply_text(text, reply_markup=ReplyKeyboardRemove())
        await show(update, context, t.gettext("Whenever you are ready:"), single(button), new=True)
        return END
    await show(update, context, text, single(button))
    return END


async def lost(update: Update, context: Context) -> Outcome:
    """No draft where one is needed (e.g. data cleared): start over politely."""
    t = context.t
    keys = Keys(NO_FLOW, t)
    await show(
        update,
        context,
        t.gettext("Sorry, I lost track of this booking. Let's start again."),
        single(keys.button(t.gettext("Book an appointment"), "book")),
        new=True,
    )
    return END
