"""Telling clients what their due reminders say: the reminder itself with its buttons, the
salon's cancel or move of the appointment, or a thank-you after the visit.

Which reminders are due and what each tells is the core's (`bot/workflows/remind.py`); this
module puts it into words and sends it, from the JobQueue's tick.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton

from bot import leases, update_inbox
from bot.chain import is_chain
from bot.context import BotApplication, Context
from bot.i18n import Translator
from bot.keyboards import NO_FLOW, Keys
from bot.records import Change
from bot.workflows import remind
from bot.workflows.remind import Delivery, Notice, Tell
from conversations import salon_news, waiting_list
from conversations.admin_chats import send_digests
from conversations.late_answers import resolve_attempts
from conversations.screens import send_told
from conversations.texts import describe, h, salon_cancelled_text, what, when
from conversations.visit_cards import (
    describe_visit,
    part_cancelled_text,
    part_moved_text,
    salon_cancelled_parts,
)

log = logging.getLogger(__name__)


async def tick(context: Context) -> None:
    """The JobQueue's entry point: the location's webhook subscription when due, unanswered
    bookings, the salon's changes webhooks brought, then reminders, then the salon's weekly
    digest when it is due, then the waiting list's freed times.

    Among replicas (`bot/leases.py`) every one follows the inbox when nobody else is, and
    claims reminders of its own; the rest is done by the one that leads."""
    application = context.application
    if isinstance(application, BotApplication):
        services = application.services
        services.heartbeat.tick(services.clock())  # /healthz: the tick is alive
        try:
            lead = leases.leads(services.replica)
            if lead:
                await salon_news.keep_subscribed(application)
                # A booking found late is kept first: its own events then repeat what is known.
                async with services.hooks.lock:
                    with leases.held(services.replica, leases.INBOX) as ours:
                        if ours:
                            await resolve_attempts(application)
            await salon_news.process(application)
            await update_inbox.take_back(application)  # a gone replica's, with replicas
            await send_due(application)
            if lead:
                await send_digests(application)
                await waiting_list.tick(application)  # after the webhooks: a freed time at once
        finally:
            services.heartbeat.tick_done(services.clock())


async def send_due(application: BotApplication, limit: int = 100) -> int:
    """Send what is due now; returns how many reminders went out."""

    async def deliver(notice: Notice) -> Delivery:
        return await _deliver(application, notice)

    return await remind.send_due(application.services, application, deliver, limit)


async def _deliver(application: BotApplication, notice: Notice) -> Delivery:
    t = application.services.catalogs.translator(notice.language)
    keys = Keys(NO_FLOW, t)
    fresh, company = notice.fresh, notice.company
    chain = is_chain(application.services)  # each appointment's location named
    record_id = fresh.booking.record_id
    if notice.parts:
        told = visit_told(t, keys, notice, chain=chain)
        if told is not None:
            text, rows = told
            return await send_told(application.bot, notice.chat_id, text, rows, "reminder")
    if notice.tell is Tell.SALON_CANCELLED:
        text = salon_cancelled_text(t, fresh, company, chain=chain)
        rows = [[keys.button(t.gettext("Book again"), "again", record_id)]]
    elif notice.tell is Tell.SALON_MOVED:
        text = t.gettext(
            "The salon has moved your appointment. The new time is %(when)s.",
            when=when(t, fresh.booking.start, company),
        )
        text += "\n\n" + describe(t, fresh, company, chain=chain)
        rows = [[keys.button(t.gettext("My appointments"), "apts", 1)]]
    elif notice.tell is Tell.THANKS:
        text = t.gettext(
            "Thank you for visiting <b>%(salon)s</b>! We hope you enjoyed it.",
            salon=h(company.title),
        )
        rows = [[keys.button(t.gettext("Book again"), "again", record_id)]]
    else:
        text = t.gettext("⏰ Reminder of your appointment:") + "\n\n"
        text += describe(t, fresh, company, chain=chain)
        rows = [
            [keys.button(t.gettext("👍 I'll come"), "come", record_id)],
            [
                keys.button(t.gettext("Reschedule"), "resc", record_id),
                keys.button(t.gettext("Cancel appointment"), "cnl", record_id),
            ][1 if fresh.booking.activity_id else 0 :],  # a class is cancelled, never moved
            [keys.button(t.gettext("Turn reminders off"), "remoff")],
        ]
    return await send_told(application.bot, notice.chat_id, text, rows, "reminder")


def visit_told(
    t: Translator, keys: Keys, notice: Notice, *, chain: bool = False
) -> tuple[str, list[list[InlineKeyboardButton]]] | None:
    """What a visit of consecutive appointments is told at its one reminder: the whole visit,
    or the salon's cancel or move of one part with the rest as it stands; None where the
    visit's whole is no different from one appointment's (the thank-you, every part gone)."""
    fresh, company = notice.fresh, notice.company
    standing = [f for f in notice.parts if f.change is not Change.DELETED]
    gone = [f for f in notice.parts if f.change is Change.DELETED and f is not fresh]
    others = [f for f in standing if f.booking.record_id != fresh.booking.record_id]
    if notice.tell is Tell.THANKS or not (others or gone):
        return None
    if notice.tell is Tell.SALON_CANCELLED and not others:
        # The whole visit is gone: every part named.
        text = "\n".join(
            [
                salon_cancelled_text(t, fresh, company, chain=chain),
                *salon_cancelled_parts(t, gone, company),
            ]
        )
        return text, [[keys.button(t.gettext("Book again"), "again", fresh.booking.record_id)]]
    if notice.tell is not Tell.REMIND and not others:
        return None
    if notice.tell is Tell.SALON_CANCELLED:
        text = part_cancelled_text(t, fresh, others, company, chain=chain)
        return text, [[keys.button(t.gettext("My appointments"), "apts", 1)]]
    if notice.tell is Tell.SALON_MOVED:
        text = part_moved_text(t, fresh, standing, company, chain=chain)
        return text, [[keys.button(t.gettext("My appointments"), "apts", 1)]]
    text = t.gettext("⏰ Reminder of your visit:") + "\n\n"
    text += describe_visit(t, standing, company, chain=chain)
    moved = [
        t.gettext(
            "Moved by the salon: %(what)s, now %(when)s.",
            what=h(what(t, f)),
            when=when(t, f.booking.start, company),
        )
        for f in others
        if f.change is Change.MOVED
    ]
    if gone or moved:
        text += "\n\n" + "\n".join([*salon_cancelled_parts(t, gone, company), *moved])
    record_id = standing[0].booking.record_id
    rows = [
        [keys.button(t.gettext("👍 I'll come"), "come", record_id)],
        [
            keys.button(t.gettext("Reschedule"), "resc", record_id),
            keys.button(t.gettext("Cancel appointment"), "cnl", record_id),
        ],
        [keys.button(t.gettext("Turn reminders off"), "remoff")],
    ]
    return text, rows
