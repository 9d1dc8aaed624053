"""The SMS code typed at the code step: it confirms a new booking, the phone of a client moving
one, or the phone a client links their Altegio account with."""

from __future__ import annotations

from telegram import Update

from bot.context import Context
from conversations.checkout import book_with_code, read_code
from conversations.drafts import get_draft
from conversations.flow import Outcome, Step, lost
from conversations.reschedule import move_with_code
from conversations.verify import verify_with_code


async def typed_code(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    if draft is None:
        return await lost(update, context)
    code = await read_code(update, context, draft)
    if code is None:
        return Step.CODE
    if draft.verify:
        return await verify_with_code(update, context, draft, code)
    if draft.reschedule:
        return await move_with_code(update, context, draft, code)
    return await book_with_code(update, context, draft, code)
