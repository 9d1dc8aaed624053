"""What a client asked for in their own words, or by a link, taken as far as it goes.

A message typed outside a booking, or at the service, team or time step ("manicure with Anna
tomorrow after 5"), is understood by `bot.understand` against the salon's catalogue and team;
a `/start` link names a category, service or team member. Either becomes wishes on the draft,
and `proceed` settles them step by step: one match is taken, several are offered as a choice,
what is missing is asked for with the usual menus, the understood parts shown on top.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, time

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.altegio import errors
from bot.altegio.models import Service, Staff
from bot.context import Context
from bot.draft import Draft, TypedDay
from bot.i18n import Translator, writes_month_first
from bot.keyboards import NO_FLOW, Callback, Keys
from bot.links import Target
from bot.salon_words import BYE, THANKS
from bot.understand import Named, Understood, understand
from bot.user_state import UserData
from conversations.day_time import choose_day
from conversations.drafts import get_draft, put_draft
from conversations.flow import (
    Action,
    Handler,
    Outcome,
    Show,
    Step,
    go,
    lost,
    salon_today,
    take_notice,
)
from conversations.screens import show
from conversations.texts import h

log = logging.getLogger(__name__)


class NoBooking(filters.MessageFilter):
    """Messages from a client with no booking in progress: the booking conversation lets its
    entry points come first even while it runs, so this keeps typed text at the phone or name
    step away from the entry point for typed wishes."""

    def __init__(self, user_data: Mapping[int, UserData]) -> None:
        super().__init__(name="NoBooking")
        self._user_data = user_data

    def filter(self, message: Message) -> bool:
        user = message.from_user
        data = self._user_data.get(user.id) if user else None
        return data is None or data.draft is None


def wish_entries(
    user_data: Mapping[int, UserData] | None, on_link: Handler, on_text: Handler
) -> list[BaseHandler[Update, Context, object]]:
    """The booking conversation's entry points for a deep link's `/start <payload>` and, given
    the application's `user_data`, for text typed while no booking is in progress."""
    private = filters.ChatType.PRIVATE
    entries: list[BaseHandler[Update, Context, object]] = [
        CommandHandler("start", on_link, filters=private & filters.Regex(r"^/start(?:@\w+)?\s+\S"))
    ]
    if user_data is not None:
        text = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
        entries.append(MessageHandler(private & text & NoBooking(user_data), on_text))
    return entries


# --- typed wishes ---------------------------------------------------------------------------


async def read_wish(context: Context, text: str) -> Understood | None:
    """`text` understood against the salon's catalogue and whole team (both cached)."""
    altegio = context.services.altegio
    try:
        company = await altegio.company()
        catalogue = await altegio.catalogue()
        team = await altegio.staff([])
    except errors.AltegioError:
        return None
    found = understand(
        text,
        [Named(s.id, s.title) for s in catalogue.services],
        [Named(m.id, m.name) for m in team],  # `bookable` is only "free now"
        language=context.language,
        today=salon_today(context, company),
        month_first=writes_month_first(company.country),
    )
    return found if found.wants_booking or found.chat else None


async def small_talk(update: Update, context: Context, found: Understood) -> None:
    """A thank-you, a greeting or a goodbye, even one naming a team member ("thanks, Anna"):
    a short polite answer with the start menu, no booking started."""
    t = context.t
    text = _chat_line(t, found.chat)
    keys = Keys(NO_FLOW, t)
    markup = InlineKeyboardMarkup(
        [
            [keys.button(t.gettext("Book an appointment"), "book")],
            [keys.button(t.gettext("My appointments"), "apts")],
        ]
    )
    await show(update, context, text, markup, new=True)


def wish(draft: Draft, found: Understood) -> Draft:
    """The draft with what was understood: new words replace the choices they concern (the
    day chosen stays when only the service or the team member changes)."""
    if (found.services or found.staff) and found.day is None and draft.day:
        draft.wish_day = draft.day
    if found.services:
        draft.wish_services = list(found.services)
        draft.service_id = draft.staff_id = draft.day = draft.slot = None
        draft.more_services = []
    if found.staff:
        draft.wish_staff = list(found.staff)
        draft.staff_id = draft.day = draft.slot = None
    if found.day is not None:
        draft.wish_day = found.day.isoformat()
        draft.day = draft.slot = None
    if found.after is not None or found.before is not None:
        draft.after, draft.before = found.after, found.before
        draft.slot = None
    return draft


def typed_wish(step: Step) -> Handler:
    """Text typed at a step that expects buttons: what it asks for changes the booking, or
    the step is shown again with a hint."""

    async def handle(update: Update, context: Context) -> Outcome:
        draft = get_draft(context)
        if draft is None:
            return await lost(update, context)
        text = update.message.text if update.message and update.message.text else ""
        found = await read_wish(context, text)
        if found is not None and found.chat in (THANKS, BYE) and not found.wants_booking:
            # A thank-you in the middle of a booking: answered, the step shown again.
            if update.message:
                await update.message.reply_text(_chat_line(context.t, found.chat))
            return go(draft, step)
        if found is not None and not (found.wants_booking and found.anything):
            found = None  # a greeting, or "I want to book" while booking: nothing to change
        if found is not None and draft.reschedule:
            # A move keeps its service and team member: only a day or a time of day counts.
            found = replace(found, services=(), staff=())
            found = found if found.anything else None
        if found is None:
            if update.message:
                await update.message.reply_text(
                    context.t.gettext(
                        "Please use the buttons below, or write what you would like, such as "
                        "“manicure tomorrow after 5”."
                    )
                )
            return go(draft, step)
        if step is Step.TIME and not (found.services or found.staff or found.day):
            # "After 5": the same day, narrowed.
            window = window_words(context.t, found.after, found.before)
            draft.notice = context.t.gettext("I understood: %(request)s.", request=window)
            return go(wish(draft, found), Step.TIME)
        return await proceed_or_retry(update, context, wish(draft, found), step)

    return handle


def _chat_line(t: Translator, chat: str) -> str:
    if chat == THANKS:
        return t.gettext("You are welcome!")
    if chat == BYE:
        return t.gettext("Goodbye, see you soon!")
    return t.gettext("Hello! I can book you an appointment at the salon.")


def then_wishes(action: Action) -> Action:
    """A service or team member tapped: the rest of what the client asked for still applies."""

    async def run(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
        outcome = await action(update, context, draft, cb)
        if isinstance(outcome, Show) and (outcome.draft.wish_staff or outcome.draft.wish_day):
            return await proceed(update, context, outcome.draft, told=True)
        return outcome

    return run


# --- links ----------------------------------------------------------------------------------


async def open_link(update: Update, context: Context, target: Target) -> Outcome:
    """A `/start` link: the step it names, or the menu with a word when it is gone."""
    t = context.t
    draft = Draft()
    if target.category_id is not None:
        catalogue = await context.services.altegio.catalogue()
        if catalogue.in_category(target.category_id):
            draft.category_id = target.category_id
        else:
            draft.notice = t.gettext(
                "Sorry, what that link opened is no longer offered online. Here is what is."
            )
        return go(draft, Step.SERVICE)
    if target.service_id is not None:
        draft.wish_services = [target.service_id]
    if target.staff_id is not None:
        draft.wish_staff = [target.staff_id]
    return await proceed(update, context, draft)


async def proceed_or_retry(update: Update, context: Context, draft: Draft, step: Step) -> Outcome:
    """`proceed` from text the client typed; when Altegio fails on the way, `step` is shown
    again (with its own way to try again), what was understood kept on the draft."""
    try:
        return await proceed(update, context, draft, told=True)
    except errors.AltegioError:
        return go(draft, step)


# --- settling wishes ------------------------------------------------------------------------


async def proceed(update: Update, context: Context, draft: Draft, told: bool = False) -> Outcome:
    """Settle the draft's wishes in the order of the steps, as far as they go."""
    t = context.t
    altegio = context.services.altegio
    if draft.service_id is None:
        catalogue = await altegio.catalogue()
        alone = ""
        if not draft.wish_services and len(draft.wish_staff) == 1:
            # A team member alone: the services they do.
            team = await altegio.staff([])
            alone = next((m.name for m in team if m.id == draft.wish_staff[0]), "")
            if not alone:
                draft.wish_staff = []
                draft.notice = t.gettext(
                    "The team member you chose no longer takes online bookings."
                )
                return go(draft, Step.SERVICE)
            theirs = await altegio.catalogue(draft.wish_staff[0])
            draft.wish_services = [s.id for s in theirs.services]
        wished = [s for s in catalogue.services if s.id in draft.wish_services]
        if len(wished) > 1 and len(draft.wish_staff) == 1:
            # "Manicure with Sofia": the manicures Sofia does.
            done = {s.id for s in (await altegio.catalogue(draft.wish_staff[0])).services}
            wished = [s for s in wished if s.id in done] or wished
        gone = bool(draft.wish_services) and not wished
        draft.wish_services = []
        if len(wished) == 1:
            draft.service_id = wished[0].id
        else:
            if gone:
                draft.notice = t.gettext(
                    "Sorry, that service is no longer offered online. Please choose another."
                )
            elif told:
                draft.notice = await _told(context, draft)
            if len(wished) > 1:
                return await _which_service(update, context, draft, wished, alone)
            return go(draft, Step.SERVICE)
    if draft.staff_id is None:
        if not draft.wish_staff:
            if draft.wish_day or draft.after is not None or draft.before is not None:
                draft.staff_id = 0  # a day named, nobody: anyone's times
            else:
                if told:
                    draft.notice = await _told(context, draft)
                return go(draft, Step.STAFF)
        else:
            # Whether or not they are free just now (`bookable`): their days will tell.
            team = await altegio.staff(draft.service_ids)
            wished_staff = [m for m in team if m.id in draft.wish_staff]
            if not wished_staff and not any(
                m.id in draft.wish_staff for m in await altegio.staff([])
            ):
                draft.notice = t.gettext(
                    "The team member you chose no longer takes online bookings."
                )
            elif not wished_staff:
                draft.notice = t.gettext(
                    "Sorry, the team member you asked for does not take this service "
                    "online. Please choose someone else."
                )
            draft.wish_staff = []
            if len(wished_staff) != 1:
                if wished_staff and told:
                    draft.notice = await _told(context, draft)
                if len(wished_staff) > 1:
                    return await _which_staff(update, context, draft, wished_staff)
                return go(draft, Step.STAFF)
            draft.staff_id = wished_staff[0].id
    if told:
        draft.notice = await _told(context, draft)
    if draft.day is None and draft.wish_day:
        day = date.fromisoformat(draft.wish_day)
        draft.wish_day = None
        before = draft.before
        outcome = await choose_day(update, context, draft, TypedDay(day, draft.after))
        draft.before = before
        return outcome
    return go(draft, Step.DAY if draft.day is None else Step.TIME)


async def _which_service(
    update: Update, context: Context, draft: Draft, services: list[Service], staff: str = ""
) -> Outcome:
    """The services the client's words could mean, or those of the team member they named."""
    t = context.t
    keys = Keys(draft.flow, t)
    rows = [[keys.button(s.title, "svc", s.id)] for s in services[:8]]
    rows.append([keys.button(t.gettext("All services"), "catp", 0)])
    text = take_notice(draft) + t.gettext("Which service did you mean?")
    if staff:
        text = take_notice(draft) + t.gettext(
            "What would you like to book with %(staff)s?", staff=f"<b>{h(staff)}</b>"
        )
    await show(update, context, text, keys.markup(rows), draft=draft)
    put_draft(context, draft)
    return Step.SERVICE


async def _which_staff(
    update: Update, context: Context, draft: Draft, team: list[Staff]
) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    rows = [[keys.button(m.name, "stf", m.id)] for m in team]
    rows.append([keys.button(t.gettext("Any available team member"), "stf", 0)])
    text = take_notice(draft) + t.gettext("Whom did you mean?")
    await show(update, context, text, keys.markup(rows), draft=draft)
    put_draft(context, draft)
    return Step.STAFF


async def _told(context: Context, draft: Draft) -> str:
    """What was understood, in a line: "I understood: Gel manicure, Anna Weber, …"."""
    t = context.t
    altegio = context.services.altegio
    parts: list[str] = []
    try:
        if draft.service_id is not None:
            service = (await altegio.catalogue()).service(draft.service_id)
            if service is not None:
                parts.append(f"<b>{h(service.title)}</b>")
        if draft.staff_id:
            team = await altegio.staff(draft.service_ids)
            parts += [h(m.name) for m in team if m.id == draft.staff_id]
    except errors.AltegioError:
        pass
    if draft.wish_day:
        parts.append(t.date(date.fromisoformat(draft.wish_day)))
    if window := window_words(t, draft.after, draft.before):
        parts.append(window)
    if not parts:
        return ""
    return t.gettext("I understood: %(request)s.", request=", ".join(parts))


def window_words(t: Translator, after: int | None, before: int | None) -> str:
    def clock(minutes: int) -> str:
        return t.time(time(minutes // 60 % 24, minutes % 60))

    if after is not None and before is not None:
        return t.gettext("%(start)s–%(end)s", start=clock(after), end=clock(before))
    if after is not None:
        return t.gettext("after %(time)s", time=clock(after))
    if before is not None:
        return t.gettext("before %(time)s", time=clock(before))
    return ""
