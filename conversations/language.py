"""/language: the client picks the language the bot speaks to them; the choice is remembered."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot import account
from bot.context import Context
from bot.i18n import language_name, normalize_language
from bot.keyboards import NO_FLOW, Keys, decode, pattern
from conversations.screens import answer, show


async def ask_language(update: Update, context: Context) -> None:
    t = context.t
    keys = Keys(NO_FLOW, t)
    catalogs = context.services.catalogs
    buttons = [
        keys.button(("✓ " if code == context.language else "") + language_name(code), "lang", code)
        for code in catalogs.languages
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await show(
        update, context, t.gettext("Choose your language:"), InlineKeyboardMarkup(rows), new=True
    )


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None or context.user_data is None:
        return
    cb = decode(query.data)
    languages = context.services.catalogs.languages
    code = normalize_language(cb.arg, languages) if cb is not None else None
    if code is None:
        await answer(update, context, context.t.gettext("This button is no longer active."))
        return
    if update.effective_chat is not None:
        account.choose_language(context.services, update.effective_chat.id, code)
    context.chose_language(code)
    t = context.t  # now in the chosen language
    await answer(update, context)
    keys = Keys(NO_FLOW, t)
    await show(
        update,
        context,
        t.gettext("Done: I will speak %(language)s with you.", language=language_name(code)),
        InlineKeyboardMarkup([[keys.button(t.gettext("Book an appointment"), "book")]]),
    )


LANGUAGE_ACTIONS = pattern("lang")
