"""Confirming the client's phone with an SMS code, to link their Altegio account: then My
appointments shows everything they have at the salon, however it was booked.

It runs in the booking conversation (its phone step and code step, `Draft.verify`), so typed
numbers and codes, Back, Cancel and a restart in the middle behave as in a booking.
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.altegio import errors
from bot.context import Context
from bot.draft import Draft, clean_name, display_phone
from bot.keyboards import Keys
from bot.workflows import book, cabinet
from conversations.drafts import put_draft
from conversations.flow import END, Outcome, Step, call_salon, go, user_id_of
from conversations.listing import list_appointments
from conversations.screens import answer, show, unavailable
from conversations.texts import code_wait, h

log = logging.getLogger(__name__)


async def begin_verify(update: Update, context: Context) -> Outcome:
    """The "Show all my appointments" button of My appointments."""
    if update.callback_query:
        await answer(update, context)
    user = update.effective_user
    if user is not None and not cabinet.needs_link(context.services, user.id):
        # An old button, tapped once the phone is confirmed: the whole list is there already.
        await list_appointments(update, context)
        return END
    # The name a booking would be under, should the client have none kept yet.
    name = clean_name(user.full_name) if user else None
    return go(Draft(verify=True, name=name), Step.PHONE)


async def ask_verify_code(
    update: Update, context: Context, draft: Draft, note: str = ""
) -> Outcome:
    """Text the code (once per number given) and ask for it."""
    t = context.t
    keys = Keys(draft.flow, t)
    if not draft.phone:
        return go(draft, Step.PHONE)
    if not draft.code_sent:
        try:
            sent = await book.resend_code(
                context.services, draft.phone, draft.name or "", user_id_of(update)
            )
        except errors.Rejected:
            # Altegio would not text this number (no SMS channel at the salon, a number it
            # refuses): nothing to type; another number, or the salon's phone.
            put_draft(context, draft)
            text = t.gettext(
                "The salon's booking system could not send a code to %(phone)s. Please check "
                "the number or use another one.",
                phone=h(display_phone(draft.phone)),
            ) + await call_salon(context)
            rows = [[keys.button(t.gettext("Use another number"), "other")]]
            await show(update, context, text, keys.markup(rows, back=False), draft=draft)
            return Step.CODE
        except errors.AltegioError as exc:
            await unavailable(update, context, exc, draft.flow)
            return Step.CODE
        if isinstance(sent, book.CodeWait):
            # One went to this number a moment ago and still works.
            note = note or code_wait(t, sent.wait)
        draft.code_sent = True
        draft.code_attempts = 0
    text = t.gettext(
        "We have sent a text message with a code to %(phone)s. Please type the code here.",
        phone=h(display_phone(draft.phone)),
    )
    text = (note + "\n" if note else "") + text
    rows = [
        [keys.button(t.gettext("Send the code again"), "resend")],
        [keys.button(t.gettext("Use another number"), "other")],
    ]
    await show(update, context, text, keys.markup(rows, back=False), draft=draft)
    put_draft(context, draft)
    return Step.CODE


async def verify_with_code(update: Update, context: Context, draft: Draft, code: str) -> Outcome:
    t = context.t
    assert draft.phone
    outcome = await cabinet.link(
        context.services, user_id_of(update), draft.phone, code, draft.name or ""
    )
    if isinstance(outcome, cabinet.CodeNotRight):
        return await ask_verify_code(
            update, context, draft, t.gettext("That code is not right. Please try again.")
        )
    if isinstance(outcome, cabinet.Unreachable):
        put_draft(context, draft)
        await unavailable(update, context, outcome.reason, draft.flow)
        return Step.CODE
    put_draft(context, None)
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(
            chat.id, t.gettext("Thank you, your phone number is confirmed.")
        )
    context.fresh_menu = True
    await list_appointments(update, context)
    return END
