"""The client's contact for a booking: the phone (shared with the button, typed, or the one
remembered from last time) and the name the booking is under."""

from __future__ import annotations

import logging

from telegram import (
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode

from bot import visit_plan
from bot.altegio import errors
from bot.altegio.models import parse_datetime
from bot.context import Context
from bot.draft import (
    Draft,
    clean_name,
    display_phone,
    mask_phone,
    normalize_phone,
    phone_region,
)
from bot.keyboards import Callback, Keys
from bot.storage import Contact
from conversations import classes
from conversations.details import after_name
from conversations.drafts import get_draft
from conversations.flow import (
    Outcome,
    Step,
    cancel,
    chosen_service,
    chosen_staff,
    go,
    lost,
    staff_name,
    user_id_of,
)
from conversations.screens import show
from conversations.texts import h
from conversations.visit_parts import part_lines

log = logging.getLogger(__name__)


def _profile_name(update: Update) -> str | None:
    user = update.effective_user
    return clean_name(user.full_name) if user else None


def _phone_keyboard(context: Context) -> ReplyKeyboardMarkup:
    t = context.t
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton(t.gettext("📱 Share my phone number"), request_contact=True)],
            [KeyboardButton(t.gettext("« Back")), KeyboardButton(t.gettext("Cancel"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=t.gettext("+49 151 23456789"),
    )


async def show_phone(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    remembered = context.services.storage.contact(user_id_of(update))
    if draft.verify:
        return await _show_verify_phone(update, context, draft, remembered)
    if remembered and draft.phone is None and not draft.new_contact:
        text = t.gettext(
            "Book as <b>%(name)s</b>, %(phone)s?",
            name=h(remembered.name),
            phone=h(display_phone(remembered.phone)),
        )
        rows = [
            [keys.button(t.gettext("Yes"), "me")],
            [keys.button(t.gettext("Use other details"), "other")],
        ]
        await show(update, context, text, keys.markup(rows), draft=draft)
        return Step.PHONE
    chosen = await _choice_text(context, draft)
    if update.callback_query:
        # The menu keeps what was chosen; the contact question needs a reply keyboard below it.
        await show(update, context, chosen, None, draft=draft)
    text = t.gettext(
        "Your phone number, please: tap the button below to share it, or type it "
        "with the country code."
    )
    await show(update, context, text, _phone_keyboard(context), draft=draft, new=True)
    draft.phone = None
    return Step.PHONE


async def _show_verify_phone(
    update: Update, context: Context, draft: Draft, remembered: Contact | None
) -> Outcome:
    """The phone to confirm, to link the client's account: the remembered one, or given now."""
    t = context.t
    keys = Keys(draft.flow, t)
    company = await context.services.altegio.company()
    intro = t.gettext(
        "To show every appointment you have at %(salon)s, made by phone, on the website or "
        "here, please confirm your phone number: a text message with a code will come to it.",
        salon=h(company.title),
    )
    if remembered and draft.phone is None and not draft.new_contact:
        text = (
            intro
            + "\n\n"
            + t.gettext("Send the code to %(phone)s?", phone=h(display_phone(remembered.phone)))
        )
        rows = [
            [keys.button(t.gettext("Send the code"), "me")],
            [keys.button(t.gettext("Use another number"), "other")],
        ]
        await show(update, context, text, keys.markup(rows, back=False), draft=draft)
        return Step.PHONE
    text = (
        intro
        + "\n\n"
        + t.gettext("Tap the button below to share your number, or type it with the country code.")
    )
    if update.callback_query:
        await show(update, context, intro, None, draft=draft)
        text = t.gettext(
            "Tap the button below to share your number, or type it with the country code."
        )
    await show(update, context, text, _phone_keyboard(context), draft=draft, new=True)
    draft.phone = None
    return Step.PHONE


async def _choice_text(context: Context, draft: Draft) -> str:
    if draft.activity is not None:
        return await classes.choice_text(context, draft)
    t = context.t
    service = await chosen_service(context, draft)
    member = await chosen_staff(context, draft)
    company = await context.services.altegio.company()
    start = parse_datetime(draft.slot, company.tz) if draft.slot else None
    if draft.parts and start is not None:
        # A visit in parts: its day, then each part with its team member and time.
        day = t.long_date(start.astimezone(company.tz).date())
        return "\n".join([f"<b>{h(day)}</b>", *await part_lines(context, draft, company.tz)])
    when = ""
    if start is not None:
        local = start.astimezone(company.tz)
        when = t.gettext("%(day)s at %(time)s", day=t.long_date(local.date()), time=t.time(local))
    visit = await visit_plan.visit(context.services.altegio, draft.service_ids)
    return t.gettext(
        "<b>%(service)s</b> with %(staff)s, %(when)s.",
        service=h(visit.title or (service.title if service else "")),
        staff=h(staff_name(context, member)),
        when=when,
    )


async def on_remembered(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    remembered = context.services.storage.contact(user_id_of(update))
    if remembered is None:
        return go(draft, Step.PHONE)
    draft.name, draft.phone = remembered.name, remembered.phone
    if draft.verify:
        draft.code_sent = False
        return go(draft, Step.CODE)
    draft.email = draft.email or remembered.email or None
    return await after_name(update, context, draft)


async def ask_new_phone(update: Update, context: Context, draft: Draft) -> Outcome:
    """Straight to the phone question, not "Book as ...?" again."""
    draft.phone = None
    draft.email = None
    draft.new_contact = True
    return go(draft, Step.PHONE)


async def on_other_details(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    return await ask_new_phone(update, context, draft)


async def shared_contact(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    message = update.message
    if draft is None or message is None or message.contact is None:
        return await lost(update, context)
    t = context.t
    contact = message.contact
    if contact.user_id is not None and contact.user_id != user_id_of(update):
        await message.reply_text(
            t.gettext(
                "That is someone else's contact. Please share your own number with the button, "
                "or type the number the booking should be made for."
            ),
            reply_markup=_phone_keyboard(context),
        )
        return Step.PHONE
    phone = normalize_phone("+" + contact.phone_number.lstrip("+"), None)
    if phone is None:
        await message.reply_text(
            t.gettext("That number does not look valid. Please type it with the country code."),
            reply_markup=_phone_keyboard(context),
        )
        return Step.PHONE
    return await _got_phone(update, context, draft, phone)


async def typed_phone(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    message = update.message
    if draft is None or message is None or not message.text:
        return await lost(update, context)
    t = context.t
    text = message.text.strip()
    if text == t.gettext("« Back") and draft.verify:
        return await cancel(update, context)
    if text == t.gettext("« Back"):
        await message.reply_text(
            t.gettext("OK, back to the times."), reply_markup=ReplyKeyboardRemove()
        )
        draft.slot = None
        return go(draft, Step.TIME)
    if text == t.gettext("Cancel"):
        return await cancel(update, context)
    try:
        company = await context.services.altegio.company()
        region = phone_region(company.phone)
    except errors.AltegioError:
        region = None
    phone = normalize_phone(text, region)
    if phone is None:
        await message.reply_text(
            t.gettext(
                "That does not look like a phone number. Please type it with the country code, "
                "for example +49 151 23456789, or share it with the button below."
            ),
            reply_markup=_phone_keyboard(context),
        )
        return Step.PHONE
    return await _got_phone(update, context, draft, phone)


async def _got_phone(update: Update, context: Context, draft: Draft, phone: str) -> Outcome:
    t = context.t
    draft.phone = phone
    log.info("client %s gave phone %s", user_id_of(update), mask_phone(phone))
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(
            chat.id,
            t.gettext("Thank you! Phone: %(phone)s", phone=h(display_phone(phone))),
            parse_mode=ParseMode.HTML,
            reply_markup=ReplyKeyboardRemove(),
        )
    if draft.verify:
        draft.code_sent = False
        return go(draft, Step.CODE)
    return go(draft, Step.NAME)


async def show_name(update: Update, context: Context, draft: Draft) -> Outcome:
    t = context.t
    keys = Keys(draft.flow, t)
    name = draft.name or _profile_name(update)
    rows = []
    if name:
        draft.name = name
        text = t.gettext(
            "The booking will be under the name <b>%(name)s</b>. Tap the button to keep it, "
            "or type another name.",
            name=h(name),
        )
        rows.append([keys.button(t.gettext("Keep this name"), "keep")])
    else:
        text = t.gettext("What name should the booking be under?")
    await show(update, context, text, keys.markup(rows), draft=draft)
    return Step.NAME


async def typed_name(update: Update, context: Context) -> Outcome:
    draft = get_draft(context)
    if draft is None or update.message is None or not update.message.text:
        return await lost(update, context)
    name = clean_name(update.message.text)
    if name is None:
        await update.message.reply_text(
            context.t.gettext("Please type a name of up to 64 letters.")
        )
        return Step.NAME
    draft.name = name
    return await after_name(update, context, draft)


async def on_keep_name(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    if not draft.name:
        return go(draft, Step.NAME)
    return await after_name(update, context, draft)
