"""What a location may ask for besides a name and a phone: an e-mail address, a comment, and
the acceptance of its own privacy policy. Each step shows itself only where the location (or
Altegio's refusal of a booking) asks for it."""

from __future__ import annotations

import hashlib

from telegram import Update
from telegram.constants import ParseMode

from bot.context import Context
from bot.draft import MAX_COMMENT, Draft, clean_comment, clean_email
from bot.keyboards import Callback, Keys
from conversations.drafts import get_draft
from conversations.flow import (
    Outcome,
    Step,
    go,
    lost,
    take_notice,
    user_id_of,
)
from conversations.screens import show
from conversations.texts import h


async def after_name(update: Update, context: Context, draft: Draft) -> Outcome:
    """The e-mail step where the location wants an address, else the comment."""
    if draft.email is None and await needs_email(context, draft):
        return go(draft, Step.EMAIL)
    return go(draft, Step.COMMENT)


async def needs_email(context: Context, draft: Draft) -> bool:
    if draft.email_needed:
        return True
    return (await context.services.altegio.company()).email_required


# --- e-mail ---------------------------------------------------------------------------------


async def show_email(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    text = take_notice(draft) + t.gettext(
        "Your e-mail address, please: the salon asks for one with every booking."
    )
    await show(update, context, text, keys.markup([]), draft=draft)
    return Step.EMAIL


async def typed_email(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    if draft is None or update.message is None or not update.message.text:
        return await lost(update, context)
    email = clean_email(update.message.text)
    if email is None:
        await update.message.reply_text(
            context.t.gettext(
                "That does not look like an e-mail address. Please type it like name@example.com."
            )
        )
        return Step.EMAIL
    draft.email = email
    # Asked for after a refusal, the comment has been answered already.
    return go(draft, Step.COMMENT if draft.comment is None else Step.CONSENT)


async def needs_comment(context: Context, draft: Draft) -> bool:
    if draft.comment_needed:
        return True
    return (await context.services.altegio.company()).comment_required


async def show_comment(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    company = await context.services.altegio.company()
    rows = []
    if await needs_comment(context, draft):
        label = company.comment_label
        if label and label.casefold() not in GENERIC_COMMENT_LABELS:
            # The salon's own name for it ("Car number", "Which design?") says what it wants.
            text = t.gettext(
                "Please add: <b>%(label)s</b> (the salon asks for it).", label=h(label)
            )
        else:
            text = t.gettext("Please add a comment for the salon (the salon asks for one).")
    else:
        text = t.gettext("Anything the salon should know? Type a comment, or tap Skip.")
        rows.append([keys.button(t.gettext("Skip"), "skip")])
    await show(update, context, take_notice(draft) + text, keys.markup(rows), draft=draft)
    return Step.COMMENT


# What a salon's comment field is called when it did not name it itself.
GENERIC_COMMENT_LABELS = frozenset({"comment", "comments", "комментарий", "коментар"})


async def typed_comment(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    if draft is None or update.message is None or not update.message.text:
        return await lost(update, context)
    comment = clean_comment(update.message.text)
    if len(comment) > MAX_COMMENT:
        await update.message.reply_text(
            context.t.gettext(
                "That comment is %(length)s characters long; the salon's booking system takes "
                "up to %(limit)s. Please shorten it and send it again.",
                length=len(comment),
                limit=MAX_COMMENT,
            )
        )
        return Step.COMMENT
    if not comment and await needs_comment(context, draft):
        await update.message.reply_text(
            context.t.gettext("Please type a comment: the salon asks for one.")
        )
        return Step.COMMENT
    draft.comment = comment
    return go(draft, Step.CONSENT)


async def on_skip_comment(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    if await needs_comment(context, draft):
        return go(draft, Step.COMMENT)
    draft.comment = ""
    return go(draft, Step.CONSENT)


# --- the salon's privacy policy -------------------------------------------------------------

# A Telegram message holds 4096 characters; the policy goes out in parts of at most this.
POLICY_PART = 3500


def fingerprint(policy: str) -> str:
    """Which policy a client accepted: a new wording is asked for again."""
    return hashlib.sha256(policy.encode()).hexdigest()[:16]


async def needs_consent(context: Context, draft: Draft, update: Update) -> str | None:
    """The salon's policy when the client has yet to accept it, else None."""
    policy = await context.services.altegio.privacy_policy()
    if not policy:
        return None
    mark = fingerprint(policy)
    if draft.consent == mark:
        return None
    remembered = context.services.storage.contact(user_id_of(update))
    if remembered is not None and remembered.policy == mark and not draft.new_contact:
        draft.consent = mark
        return None
    return policy


async def show_consent(update: Update, context: Context, draft: Draft) -> Outcome:
    """Where the salon has its own privacy policy, it is shown and accepted before booking."""
    policy = await needs_consent(context, draft, update)
    if policy is None:
        return go(draft, Step.SUMMARY)
    t = context.t
    keys = Keys(draft.flow, t)
    heading = t.gettext("The salon's privacy policy:")
    question = t.gettext("Do you accept the salon's privacy policy? It is needed to book online.")
    rows = [[keys.button(t.gettext("I accept"), "agree")]]
    parts = _split(policy, POLICY_PART)
    if len(parts) == 1:
        text = f"<b>{h(heading)}</b>\n\n{h(parts[0])}\n\n{question}"
        await show(update, context, text, keys.markup(rows), draft=draft)
        return Step.CONSENT
    chat = update.effective_chat
    if chat is not None:
        for number, part in enumerate(parts):
            head = f"<b>{h(heading)}</b>\n\n" if number == 0 else ""
            await context.bot.send_message(chat.id, head + h(part), parse_mode=ParseMode.HTML)
    await show(update, context, question, keys.markup(rows), draft=draft, new=True)
    return Step.CONSENT


def _split(text: str, size: int) -> list[str]:
    """`text` in parts of at most `size` characters, cut between paragraphs or words."""
    parts: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        if cut < size // 2:
            cut = text.rfind(" ", 0, size)
        if cut <= 0:
            cut = size
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    parts.append(text)
    return parts


async def on_agree(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    policy = await context.services.altegio.privacy_policy()
    draft.consent = fingerprint(policy) if policy else ""
    return go(draft, Step.SUMMARY)
