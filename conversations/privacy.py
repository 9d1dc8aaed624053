"""/forget: delete what the bot keeps about a client, after they confirm."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update

from bot import account
from bot.context import Context
from bot.keyboards import NO_FLOW, Keys, decode, pattern
from conversations.drafts import put_draft
from conversations.flow import END, Outcome
from conversations.screens import answer, show

log = logging.getLogger(__name__)


async def ask_forget(update: Update, context: Context) -> Outcome:
    t = context.t
    put_draft(context, None)  # a booking in progress stops here
    keys = Keys(NO_FLOW, t)
    text = "\n".join(
        [
            t.gettext("Delete everything this bot keeps about you?"),
            "",
            t.gettext(
                "That is your name and phone number, your language and reminder settings, the "
                "list of appointments you booked here, and any booking in progress."
            ),
            t.gettext(
                "Appointments you have already made stay with the salon: to cancel one, do it "
                "first in My appointments. After this you get no more reminders for them."
            ),
        ]
    )
    rows = [
        [keys.button(t.gettext("Yes, delete my data"), "fgtok")],
        [keys.button(t.gettext("No, keep it"), "fgtno")],
    ]
    await show(update, context, text, InlineKeyboardMarkup(rows), new=True)
    return END


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None or update.effective_user is None or update.effective_chat is None:
        return
    t = context.t
    await answer(update, context)
    cb = decode(query.data)
    if cb is None or cb.action != "fgtok":
        await show(update, context, t.gettext("Nothing was deleted."), None)
        return
    user_id, chat_id = update.effective_user.id, update.effective_chat.id
    account.forget(context.services, user_id, chat_id)
    context.application.drop_user_data(user_id)
    await show(
        update,
        context,
        t.gettext(
            "Done: everything the bot kept about you is deleted. Your appointments stay with the "
            "salon. Write /start whenever you want to book again."
        ),
        None,
    )


FORGET_ACTIONS = pattern("fgtok", "fgtno")
