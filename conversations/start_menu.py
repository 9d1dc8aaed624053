"""The start menu: the salon's greeting and what the client can do there (book, classes where
the location has them, My appointments), and, in a chain, the location they are at with 📍 to
change it."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot import chain
from bot.altegio import errors
from bot.altegio.models import Company
from bot.context import Context
from bot.keyboards import NO_FLOW, Keys
from bot.workflows import group_classes as classes
from conversations.screens import show
from conversations.texts import h


async def show_menu(update: Update, context: Context, note: str = "", *, new: bool = False) -> None:
    """Greet with the location's name and offer what it does; `note` first (a word about a
    link or a choice)."""
    t = context.t
    company: Company | None
    try:
        company = await context.services.altegio.company()
    except errors.AltegioError:
        company = None
    if company is None:
        greeting = t.gettext("Hello! I can book you an appointment at the salon.")
    else:
        greeting = t.gettext(
            "Hello! This is the booking assistant of <b>%(salon)s</b>.", salon=h(company.title)
        )
    text = note + greeting + "\n"
    in_chain = chain.is_chain(context.services)
    if in_chain and company is not None and company.full_address:
        text += "📍 " + h(company.full_address) + "\n"
    text += t.gettext("Book an appointment in a few taps, any time of day.")
    keys = Keys(NO_FLOW, t)
    rows = [
        [keys.button(t.gettext("Book an appointment"), "book")],
        [keys.button(t.gettext("My appointments"), "apts")],
    ]
    if await classes.has_classes(context.services):
        rows.insert(1, [keys.button(t.gettext("Group classes"), "classes")])
    if in_chain and await _several(context):
        rows.append([keys.button(t.gettext("📍 Another location"), "locs")])
    markup = InlineKeyboardMarkup(rows)
    await show(update, context, text, markup, new=new or update.callback_query is None)


async def _several(context: Context) -> bool:
    try:
        return len(await chain.locations(context.services)) > 1
    except errors.AltegioError:
        return True  # the choice is offered; the list says when it cannot be read
