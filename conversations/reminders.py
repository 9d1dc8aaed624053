"""Telling clients what their due reminders say: the reminder itself with its buttons, the
salon's cancel or move of the appointment, or a thank-you after the visit.

Which reminders are due and what each tells is the core's (`bot/workflows/remind.py`); this
module puts it into words and sends it, from the JobQueue's tick.
"""

from __future__ import annotations

import logging

from bot.context import BotApplication, Context
from bot.keyboards import NO_FLOW, Keys
from bot.workflows import remind
from bot.workflows.remind import Delivery, Notice, Tell
from conversations import salon_news, waiting_list
from conversations.admin_chats import send_digests
from conversations.late_answers import resolve_attempts
from conversations.screens import send_told
from conversations.texts import describe, h, salon_cancelled_text, when

log = logging.getLogger(__name__)


async def tick(context: Context) -> None:
    """The JobQueue's entry point: the location's webhook subscription when due, unanswered
    bookings, the salon's changes webhooks brought, then reminders, then the salon's weekly
    digest when it is due, then the waiting list's freed times."""
    application = context.application
    if isinstance(application, BotApplication):
        services = application.services
        services.heartbeat.tick(services.clock())  # /healthz: the tick is alive
        try:
            await salon_news.keep_subscribed(application)
            # A booking found late is kept first: its own events then repeat what is known.
            async with services.hooks.lock:
                await resolve_attempts(application)
            await salon_news.process(application)
            await send_due(application)
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
    record_id = fresh.booking.record_id
    if notice.tell is Tell.SALON_CANCELLED:
        text = salon_cancelled_text(t, fresh, company)
        rows = [[keys.button(t.gettext("Book again"), "again", record_id)]]
    elif notice.tell is Tell.SALON_MOVED:
        text = t.gettext(
            "The salon has moved your appointment. The new time is %(when)s.",
            when=when(t, fresh.booking.start, company),
        )
        text += "\n\n" + describe(t, fresh, company)
        rows = [[keys.button(t.gettext("My appointments"), "apts", 1)]]
    elif notice.tell is Tell.THANKS:
        text = t.gettext(
            "Thank you for visiting <b>%(salon)s</b>! We hope you enjoyed it.",
            salon=h(company.title),
        )
        rows = [[keys.button(t.gettext("Book again"), "again", record_id)]]
    else:
        text = t.gettext("⏰ Reminder of your appointment:") + "\n\n"
        text += describe(t, fresh, company)
        rows = [
            [keys.button(t.gettext("👍 I'll come"), "come", record_id)],
            [
                keys.button(t.gettext("Reschedule"), "resc", record_id),
                keys.button(t.gettext("Cancel appointment"), "cnl", record_id),
            ],
            [keys.button(t.gettext("Turn reminders off"), "remoff")],
        ]
    return await send_told(application.bot, notice.chat_id, text, rows, "reminder")
