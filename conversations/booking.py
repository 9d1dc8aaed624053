"""The booking conversation, declared in one table (`FLOW`), and the handler built from it.

Each step says how it is shown, which buttons it takes (by the codec's action names), what typed
text or a shared contact mean there, where Back goes and what hint anything else gets. Handlers
return `go(draft, step)` to move the client on; `settle` shows that step as the table says, and
turns an Altegio outage on the way into "try again" with the client's choices kept.

To add a step: a `Step` member (`conversations/flow.py`), its screen and handlers in the module
of its part of the flow, and one row here. To add a button: its action in the codec
(`bot/keyboards.py`, `ACTIONS`) and in the `buttons` of the step it belongs to.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Mapping

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import funnel
from bot.altegio import errors
from bot.context import Context
from bot.draft import Draft
from bot.keyboards import Callback, booking_pattern, decode, pattern
from bot.user_state import UserData
from conversations import locations as places
from conversations import waiting_list as wl
from conversations.checkout import (
    ask_code,
    on_change,
    on_change_what,
    on_confirm,
    on_resend,
    show_summary,
)
from conversations.choose import (
    on_add,
    on_category,
    on_category_page,
    on_drop,
    on_more,
    on_service,
    on_service_page,
    on_staff,
    show_service,
    show_staff,
)
from conversations.classes import BUTTONS as CLASS_BUTTONS
from conversations.classes import begin_classes, show_class
from conversations.codes import typed_code
from conversations.contact import (
    ask_new_phone,
    on_keep_name,
    on_other_details,
    on_remembered,
    shared_contact,
    show_name,
    show_phone,
    typed_name,
    typed_phone,
)
from conversations.day_time import (
    on_calendar,
    on_day,
    on_month,
    on_time,
    on_time_page,
    show_day,
    show_time,
    typed_day,
)
from conversations.details import (
    needs_consent,
    needs_email,
    on_agree,
    on_skip_comment,
    show_comment,
    show_consent,
    show_email,
    typed_comment,
    typed_email,
)
from conversations.drafts import get_draft, put_draft
from conversations.earliest_offer import on_soon
from conversations.fallbacks import start, typed_outside
from conversations.flow import (
    Handler,
    Outcome,
    Show,
    Step,
    StepSpec,
    cancel,
    go,
    lost,
    service_gone,
    staff_gone,
)
from conversations.privacy import ask_forget
from conversations.reschedule import (
    begin_reschedule,
    book_again,
    on_move,
    show_move,
)
from conversations.screens import answer, unavailable
from conversations.verify import begin_verify
from conversations.wishes import then_wishes, typed_wish, wish_entries

log = logging.getLogger(__name__)

CONVERSATION = "booking"


# fmt: off
FLOW: dict[Step, StepSpec] = {
    Step.SERVICE: StepSpec(
        show=show_service,
        buttons={"cat": on_category, "catp": on_category_page,
                 "svc": then_wishes(on_service), "svcp": on_service_page},
        back=None,
        typed=typed_wish(Step.SERVICE),
    ),
    Step.STAFF: StepSpec(show=show_staff, back=Step.SERVICE, typed=typed_wish(Step.STAFF),
                         buttons={  # more/add/drop: the visit's services
        "stf": then_wishes(on_staff), "more": on_more, "add": on_add, "drop": on_drop}),
    Step.DAY: StepSpec(
        show=show_day,
        buttons={"mon": on_month, "day": on_day, "cal": on_calendar, "soon": on_soon,
                 "wl": wl.on_wait},
        back=Step.STAFF,
        typed=typed_day,
        hint=lambda t: t.gettext(
            "Please tap a day in the calendar, or type one such as “tomorrow”."
        ),
    ),
    Step.TIME: StepSpec(
        show=show_time, buttons={"tim": on_time, "timp": on_time_page, "cal": on_calendar,
                                 "wl": wl.on_wait},
        back=Step.DAY,
        typed=typed_wish(Step.TIME),
    ),
    Step.PHONE: StepSpec(
        show=show_phone,
        buttons={"me": on_remembered, "other": on_other_details},
        back=Step.TIME,
        typed=typed_phone,
        contact=shared_contact,
        hint=lambda t: t.gettext("Please share your phone number with the button, or type it."),
    ),
    Step.NAME: StepSpec(
        show=show_name,
        buttons={"keep": on_keep_name},
        back=Step.PHONE,
        typed=typed_name,
        hint=lambda t: t.gettext(
            "Please type the name for the booking, or tap the button to keep it."
        ),
    ),
    Step.EMAIL: StepSpec(  # only where the location asks for an address
        show=show_email,
        buttons={},
        back=Step.NAME,
        typed=typed_email,
        hint=lambda t: t.gettext("Please type your e-mail address."),
    ),
    Step.COMMENT: StepSpec(
        show=show_comment,
        buttons={"skip": on_skip_comment},
        back=Step.EMAIL,
        typed=typed_comment,
        hint=lambda t: t.gettext("Please type your comment as text, or tap Skip."),
    ),
    Step.CONSENT: StepSpec(  # only where the location has its own privacy policy
        show=show_consent, buttons={"agree": on_agree}, back=Step.COMMENT
    ),
    Step.SUMMARY: StepSpec(
        show=show_summary,
        buttons={"confirm": on_confirm, "change": on_change, "chg": on_change_what},
        back=Step.CONSENT,
    ),
    Step.CODE: StepSpec(
        show=ask_code,
        buttons={"resend": on_resend, "other": on_other_details},
        back=Step.SUMMARY,  # a move's code goes back to the move's summary
        typed=typed_code,
        hint=lambda t: t.gettext("Please type the code from the text message."),
    ),
    Step.MOVE: StepSpec(show=show_move, buttons={"mvok": on_move}, back=Step.TIME),
    Step.CLASS: StepSpec(show=show_class, buttons=CLASS_BUTTONS, back=None),
    Step.WAIT: StepSpec(show=wl.show_wait, back=Step.DAY, typed=wl.typed_range,  # waiting list
                        buttons={"wlp": wl.on_period, "wla": wl.on_anyone}),
    Step.LOCATION: StepSpec(show=places.show_locations, back=None, located=places.on_located,
                            buttons={"loc": places.on_pick, "near": places.on_near},
                            hint=lambda t: t.gettext("Please choose a location with the buttons.")),
}
# fmt: on


# --- showing a step -------------------------------------------------------------------------------


async def settle(update: Update, context: Context, outcome: Outcome) -> Outcome:
    """Show the step a handler moved the client to (which may move them on again)."""
    while isinstance(outcome, Show):
        outcome = await _render(update, context, outcome.draft, outcome.step)
    return outcome


async def _render(update: Update, context: Context, draft: Draft, step: Step) -> Outcome:
    """Show `step`; when Altegio fails, say so and let the client retry this very step."""
    funnel.reached(context.services, draft, step.value)
    try:
        outcome = await FLOW[step].show(update, context, draft)
    except errors.StaffGone as exc:
        return await staff_gone(update, context, draft, exc)
    except errors.ServiceUnavailable:
        return await service_gone(update, context, draft)
    except (
        errors.Unavailable,
        errors.RateLimited,
        errors.UnexpectedResponse,
        errors.Rejected,
    ) as exc:
        # A read refused for a reason nobody named is, for the client, a failure to try again.
        put_draft(context, draft)
        await unavailable(update, context, exc, draft.flow)
        return step
    put_draft(context, draft)
    return outcome


def settled(handler: Handler) -> Handler:
    """`handler`, with the step it moves the client to shown before the conversation goes on."""

    async def run(update: Update, context: Context) -> Outcome:
        return await settle(update, context, await handler(update, context))

    return run


async def begin(update: Update, context: Context) -> Outcome:
    """/book or the Book button: a fresh draft, then the services."""
    if update.callback_query:
        await answer(update, context)
    context.fresh_menu = True  # what the button sits on (a confirmation, a reminder) stays
    outcome = await settle(update, context, await places.first(context, go(Draft(), Step.SERVICE)))
    context.fresh_menu = False
    return outcome


# --- routing --------------------------------------------------------------------------------


async def _back(step: Step, update: Update, context: Context, draft: Draft) -> Outcome:
    target = FLOW[step].back
    if step is Step.STAFF and draft.part_staff:
        # A visit in parts: back to who does the part before.
        draft.part_staff = draft.part_staff[:-1]
        return go(draft, step)
    if target is Step.STAFF:
        draft.part_staff = []
    if target is None:
        draft.category_id = None
        return go(draft, step)
    if draft.reschedule and target in (Step.STAFF, Step.SERVICE):
        # A move keeps the service and the team member: going further back stops it.
        return await cancel(update, context)
    if draft.reschedule and step is Step.CODE:
        target = Step.MOVE
    if draft.verify:
        # Confirming a phone has two steps: back from the code is another number.
        if step is not Step.CODE:
            return await cancel(update, context)
        target = Step.PHONE
    # Steps the location does not ask for are passed over on the way back too (when Altegio
    # cannot say, the step's own screen tells the client so).
    with contextlib.suppress(errors.AltegioError):
        if target is Step.CONSENT and await needs_consent(context, draft, update) is None:
            target = Step.COMMENT
        if target is Step.EMAIL and not await needs_email(context, draft):
            target = Step.NAME
    if target is Step.EMAIL:
        draft.email = None
    if target is Step.TIME:
        draft.slot = None
    if target is Step.DAY:
        draft.day = None
    if target is Step.PHONE:
        return await ask_new_phone(update, context, draft)
    draft.code_sent = False
    return go(draft, target)


def router(step: Step) -> Handler:
    """One callback handler per step: decode, check the button belongs here, dispatch.

    The query is answered once, after the step ran, with whatever note the step left.
    """

    async def route(update: Update, context: Context) -> Outcome:
        query = update.callback_query
        if query is None:
            return None
        try:
            outcome = await _dispatch(step, update, context, decode(query.data))
            return await settle(update, context, outcome)
        finally:
            text, alert = context.toast or (None, False)
            await answer(update, context, text, alert=alert)

    return route


async def _dispatch(step: Step, update: Update, context: Context, cb: Callback | None) -> Outcome:
    draft = get_draft(context)
    t = context.t
    if cb is None or draft is None or cb.flow != draft.flow:
        context.notify(t.gettext("This button is no longer active."))
        return None
    if cb.action == "noop":
        return None
    if cb.action == "cancel":
        return await cancel(update, context)
    if cb.action == "retry":
        return go(draft, step)
    if cb.action == "back":
        return await _back(step, update, context, draft)
    handler = FLOW[step].buttons.get(cb.action)
    if handler is None:
        # A button from an earlier step of this booking: show where the client really is.
        context.notify(t.gettext("This button is no longer active."))
        return go(draft, step)
    return await handler(update, context, draft, cb)


def _use_buttons(step: Step) -> Handler:
    """Stickers, photos, voice, files, locations, or text where a button is expected."""

    async def remind(update: Update, context: Context) -> Outcome:
        draft = get_draft(context)
        if draft is None:
            return await lost(update, context)
        if update.message:
            await update.message.reply_text(FLOW[step].hint(context.t))
        if step is Step.PHONE and draft.phone is None and not draft.reschedule:
            # The reply keyboard with the share button is still open below: nothing to redraw.
            return step
        return go(draft, step)

    return remind


def build(user_data: Mapping[int, UserData] | None = None) -> ConversationHandler[Context]:
    # Edits of earlier messages are answered elsewhere, never taken as a new answer.
    new = filters.UpdateType.MESSAGE
    text = new & filters.TEXT & ~filters.COMMAND
    states: dict[object, list[BaseHandler[Update, Context, Outcome]]] = {}
    for step, spec in FLOW.items():
        handlers: list[BaseHandler[Update, Context, Outcome]] = [
            CallbackQueryHandler(router(step), pattern=booking_pattern())
        ]
        if spec.contact is not None:
            handlers.append(MessageHandler(new & filters.CONTACT, settled(spec.contact)))
        if spec.located is not None:
            handlers.append(MessageHandler(new & filters.LOCATION, settled(spec.located)))
        if spec.typed is not None:
            handlers.append(MessageHandler(text, settled(spec.typed)))
        handlers.append(MessageHandler(new & ~filters.COMMAND, settled(_use_buttons(step))))
        states[step] = handlers
    private = filters.ChatType.PRIVATE
    with warnings.catch_warnings():
        # Menus are edited in place per chat, so per-message tracking is not wanted.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return ConversationHandler(
            entry_points=[
                CommandHandler("book", begin, filters=private),
                CallbackQueryHandler(begin, pattern=pattern("book")),
                CallbackQueryHandler(settled(begin_reschedule), pattern=pattern("resc")),
                CallbackQueryHandler(settled(book_again), pattern=pattern("again")),
                CallbackQueryHandler(settled(begin_verify), pattern=pattern("acct")),
                CallbackQueryHandler(settled(begin_classes), pattern=pattern("classes")),
                CallbackQueryHandler(settled(wl.take_offer), pattern=pattern("wlok")),
                # A deep link's /start, and text typed while no booking is in progress.
                *wish_entries(user_data, settled(start), settled(typed_outside)),
            ],
            states=states,  # type: ignore[arg-type]
            fallbacks=[
                CommandHandler("cancel", cancel),
                CommandHandler("start", settled(start)),
                CommandHandler("book", begin),
                CommandHandler("forget", ask_forget),
            ],
            name=CONVERSATION,
            persistent=True,
            allow_reentry=True,
        )
