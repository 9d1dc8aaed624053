"""The day step's first screen: the earliest free times (across the team for "any available
team member", each with who it is with), one tap from booking, and "Choose a day" for the rest."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Update

from bot.altegio import errors
from bot.context import Context
from bot.draft import Draft
from bot.earliest import Early, earliest
from bot.keyboards import Callback, Keys, time_arg
from conversations.flow import Outcome, Step, go
from conversations.screens import show

log = logging.getLogger(__name__)


async def offer_earliest(update: Update, context: Context, draft: Draft, intro: str) -> bool:
    """Show the earliest free times under `intro`; False when there are none to offer (or
    Altegio cannot tell them just now), and the calendar is to be shown instead."""
    chat_id = update.effective_chat.id if update.effective_chat else 0
    offered = await _earliest(context, draft, chat_id)
    if not offered:
        return False
    t = context.t
    keys = Keys(draft.flow, t)
    draft.earliest = {}
    draft.seen_at = context.now().isoformat()
    rows = []
    for key, early in offered.items():
        start = early.slot.start
        draft.earliest[key] = (early.staff_id, early.slot.raw, early.slot.length)
        label = f"{t.date(start.date())}, {t.time(start)}"
        if not draft.staff_id:
            label += f" · {early.staff_name}"
        rows.append([keys.button(label, "soon", key)])
    rows.append([keys.button(t.gettext("Choose a day"), "cal")])
    text = intro + "\n" + t.gettext("The earliest free times: tap one to book it, or choose a day.")
    await show(update, context, text, keys.markup(rows), draft=draft)
    return True


async def _earliest(context: Context, draft: Draft, chat_id: int) -> dict[str, Early]:
    """The times to offer by button, noted as offered to this flow (so the bot's other clients
    are offered others). None for a move of an appointment with anyone: a move keeps who it
    is with, so it could not promise the team member a time is offered with."""
    assert draft.staff_id is not None
    if draft.reschedule and not draft.staff_id:
        return {}
    now = context.now()
    holds = context.services.holds
    offered = context.services.offered
    own = context.services.storage.bookings_for_chat(chat_id)
    busy = [
        (b.start, b.start + timedelta(seconds=b.length))
        for b in own
        if b.status == "active" and b.record_id != draft.reschedule
    ]
    try:
        found = await earliest(
            context.services.altegio,
            draft.service_ids,
            draft.staff_id,
            lambda staff: holds.held_for_others(draft.flow, staff, now),
            now=now,
            busy=busy,
            claimed=lambda staff: offered.others(draft.flow, staff, now),
        )
    except errors.StaffGone:
        raise
    except errors.AltegioError as exc:
        # The calendar does without them; when Altegio fails for it too, the client hears so.
        log.info("the earliest times could not be read: %s", type(exc).__name__)
        found = []
    # Noted at once, with nothing awaited since they were chosen: the next client's offer
    # leaves them out.
    offers = {f"{time_arg(e.slot.start)}-{e.staff_id}": e for e in found}
    offered.offer(draft.flow, offers, now)
    return offers


async def on_soon(update: Update, context: Context, draft: Draft, cb: Callback) -> Outcome:
    """One of the earliest times, booked with the team member it was offered with; Back (or
    the time taken meanwhile) brings the earliest times again, with the client's own choice."""
    offered = draft.earliest.get(cb.arg)
    if offered is None:
        # Not among the times offered last (an old button): the earliest as they are now.
        return go(draft, Step.DAY)
    staff_id, draft.slot, draft.slot_length = offered
    context.services.offered.take(draft.flow, cb.arg, context.now())
    draft.early = draft.staff_id
    draft.staff_id = staff_id
    draft.day = f"{cb.arg[:4]}-{cb.arg[4:6]}-{cb.arg[6:8]}"
    draft.earliest = {}
    return after_time(draft)


def after_time(draft: Draft) -> Outcome:
    """Where a chosen time leads."""
    if draft.reschedule:
        return go(draft, Step.MOVE)
    if draft.phone and draft.name:
        # A new time after a taken one, or "Change: day and time": the contact details stand.
        return go(draft, Step.SUMMARY)
    return go(draft, Step.PHONE)
