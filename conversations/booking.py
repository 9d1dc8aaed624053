"""The booking conversation: entry, per-step routing of buttons and texts, and its handler."""

from __future__ import annotations

import contextlib
import logging
import warnings

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.altegio import errors
from bot.booking import Draft
from bot.context import Context
from bot.i18n import Translator
from bot.keyboards import NO_FLOW, Callback, Keys, decode
from conversations.checkout import (
    ask_new_phone,
    book_with_code,
    on_change,
    on_change_what,
    on_confirm,
    on_keep_name,
    on_other_details,
    on_remembered,
    on_resend,
    read_code,
    shared_contact,
    typed_name,
    typed_phone,
)
from conversations.choose import (
    on_calendar,
    on_category,
    on_category_page,
    on_day,
    on_month,
    on_service,
    on_service_page,
    on_staff,
    on_time,
    on_time_page,
    typed_day,
)
from conversations.common import answer, get_draft, h, put_draft, show
from conversations.details import (
    needs_consent,
    needs_email,
    on_agree,
    on_skip_comment,
    typed_comment,
    typed_email,
)
from conversations.flow import (
    END,
    Action,
    Handler,
    Outcome,
    Step,
    cancel,
    go,
    lost,
)
from conversations.privacy import ask_forget
from conversations.reschedule import begin_reschedule, book_again, move_with_code, on_move

log = logging.getLogger(__name__)


CONVERSATION = "booking"


async def start(update: Update, context: Context) -> Outcome:
    """/start: greet with the salon's name and offer to book."""
    t = context.t
    put_draft(context, None)
    try:
        company = await context.services.altegio.company()
        greeting = t.gettext(
            "Hello! This is the booking assistant of <b>%(salon)s</b>.", salon=h(company.title)
        )
    except errors.AltegioError:
        greeting = t.gettext("Hello! I can book you an appointment at the salon.")
    text = greeting + "\n" + t.gettext("Book an appointment in a few taps, any time of day.")
    keys = Keys(NO_FLOW, t)
    markup = InlineKeyboardMarkup(
        [
            [keys.button(t.gettext("Book an appointment"), "book")],
            [keys.button(t.gettext("My appointments"), "apts")],
        ]
    )
    await show(update, context, text, markup, new=update.callback_query is None)
    return END


async def begin(update: Update, context: Context) -> Outcome:
    """/book or the Book button: a fresh draft, then the services."""
    if update.callback_query:
        await answer(update, context)
    context.fresh_menu = True  # what the button sits on (a confirmation, a reminder) stays
    draft = Draft()
    outcome = await go(update, context, draft, Step.SERVICE)
    context.fresh_menu = False
    return outcome


# --- routing --------------------------------------------------------------------------------


BACK: dict[Step, Step] = {
    Step.STAFF: Step.SERVICE,
    Step.DAY: Step.STAFF,
    Step.TIME: Step.DAY,
    Step.PHONE: Step.TIME,
    Step.NAME: Step.PHONE,
    Step.EMAIL: Step.NAME,
    Step.COMMENT: Step.EMAIL,
    Step.CONSENT: Step.COMMENT,
    Step.SUMMARY: Step.CONSENT,
    Step.CODE: Step.SUMMARY,
    Step.MOVE: Step.TIME,
}


async def _back(step: Step, update: Update, context: Context, draft: Draft) -> Outcome:
    if step is Step.SERVICE:
        draft.category_id = None
        return await go(update, context, draft, Step.SERVICE)
    target = BACK[step]
    if draft.reschedule and target in (Step.STAFF, Step.SERVICE):
        # A move keeps the service and the team member: going further back stops it.
        return await cancel(update, context)
    if draft.reschedule and step is Step.CODE:
        target = Step.MOVE
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
    return await go(update, context, draft, target)


ACTIONS: dict[Step, dict[str, Action]] = {
    Step.SERVICE: {
        "cat": on_category,
        "catp": on_category_page,
        "svc": on_service,
        "svcp": on_service_page,
    },
    Step.STAFF: {"stf": on_staff},
    Step.DAY: {"mon": on_month, "day": on_day, "cal": on_calendar},
    Step.TIME: {"tim": on_time, "timp": on_time_page},
    Step.PHONE: {"me": on_remembered, "other": on_other_details},
    Step.MOVE: {"mvok": on_move},
    Step.NAME: {"keep": on_keep_name},
    Step.EMAIL: {},
    Step.COMMENT: {"skip": on_skip_comment},
    Step.CONSENT: {"agree": on_agree},
    Step.SUMMARY: {"confirm": on_confirm, "change": on_change, "chg": on_change_what},
    Step.CODE: {"resend": on_resend},
}


def router(step: Step) -> Handler:
    """One callback handler per step: decode, check the button belongs here, dispatch.

    The query is answered once, after the step ran, with whatever note the step left.
    """
    actions = ACTIONS[step]

    async def route(update: Update, context: Context) -> Outcome:
        query = update.callback_query
        if query is None:
            return None
        try:
            return await _dispatch(step, actions, update, context, decode(query.data))
        finally:
            text, alert = context.toast or (None, False)
            await answer(update, context, text, alert=alert)

    return route


async def _dispatch(
    step: Step,
    actions: dict[str, Action],
    update: Update,
    context: Context,
    cb: Callback | None,
) -> Outcome:
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
        return await go(update, context, draft, step)
    if cb.action == "back":
        return await _back(step, update, context, draft)
    handler = actions.get(cb.action)
    if handler is None:
        # A button from an earlier step of this booking: show where the client really is.
        context.notify(t.gettext("This button is no longer active."))
        draft.message_id = None
        return await go(update, context, draft, step)
    return await handler(update, context, draft, cb)


def _hint(step: Step, t: Translator) -> str:
    """What the client can do at `step`, for anything sent that the step cannot use."""
    if step is Step.DAY:
        return t.gettext("Please tap a day in the calendar, or type one such as “tomorrow”.")
    if step is Step.PHONE:
        return t.gettext("Please share your phone number with the button, or type it.")
    if step is Step.NAME:
        return t.gettext("Please type the name for the booking, or tap the button to keep it.")
    if step is Step.EMAIL:
        return t.gettext("Please type your e-mail address.")
    if step is Step.COMMENT:
        return t.gettext("Please type your comment as text, or tap Skip.")
    if step is Step.CODE:
        return t.gettext("Please type the code from the text message.")
    return t.gettext("Please use the buttons below.")


def _use_buttons(step: Step) -> Handler:
    """Stickers, photos, voice, files, locations, or text where a button is expected."""

    async def remind(update: Update, context: Context) -> Outcome:
        draft = get_draft(context)
        if draft is None:
            return await lost(update, context)
        if update.message:
            await update.message.reply_text(_hint(step, context.t))
        if step is Step.PHONE and draft.phone is None and not draft.reschedule:
            # The reply keyboard with the share button is still open below: nothing to redraw.
            return step
        draft.message_id = None
        return await go(update, context, draft, step)

    return remind


async def typed_code(update: Update, context: Context) -> Outcome:
    """The SMS code: it confirms a new booking, or the phone of a client moving one."""
    draft = get_draft(context)
    if draft is None:
        return await lost(update, context)
    code = await read_code(update, context, draft)
    if code is None:
        return Step.CODE
    if draft.reschedule:
        return await move_with_code(update, context, draft, code)
    return await book_with_code(update, context, draft, code)


def build() -> ConversationHandler[Context]:
    # Edits of earlier messages are answered elsewhere, never taken as a new answer.
    new = filters.UpdateType.MESSAGE
    text = new & filters.TEXT & ~filters.COMMAND
    states: dict[object, list[BaseHandler[Update, Context, Outcome]]] = {}
    for step in Step:
        handlers: list[BaseHandler[Update, Context, Outcome]] = [
            CallbackQueryHandler(router(step), pattern=r"^b1:[a-z0-9]+:")
        ]
        if step is Step.DAY:
            handlers.append(MessageHandler(text, typed_day))
        elif step is Step.PHONE:
            handlers.append(MessageHandler(new & filters.CONTACT, shared_contact))
            handlers.append(MessageHandler(text, typed_phone))
        elif step is Step.NAME:
            handlers.append(MessageHandler(text, typed_name))
        elif step is Step.EMAIL:
            handlers.append(MessageHandler(text, typed_email))
        elif step is Step.COMMENT:
            handlers.append(MessageHandler(text, typed_comment))
        elif step is Step.CODE:
            handlers.append(MessageHandler(text, typed_code))
        handlers.append(MessageHandler(new & ~filters.COMMAND, _use_buttons(step)))
        states[step] = handlers
    private = filters.ChatType.PRIVATE
    with warnings.catch_warnings():
        # Menus are edited in place per chat, so per-message tracking is not wanted.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return ConversationHandler(
            entry_points=[
                CommandHandler("book", begin, filters=private),
                CallbackQueryHandler(begin, pattern=r"^b1:-:book$"),
                CallbackQueryHandler(begin_reschedule, pattern=r"^b1:-:resc:\d+$"),
                CallbackQueryHandler(book_again, pattern=r"^b1:-:again:\d+$"),
            ],
            states=states,  # type: ignore[arg-type]
            fallbacks=[
                CommandHandler("cancel", cancel),
                CommandHandler("start", start),
                CommandHandler("book", begin),
                CommandHandler("forget", ask_forget),
            ],
            name=CONVERSATION,
            persistent=True,
            allow_reentry=True,
        )
