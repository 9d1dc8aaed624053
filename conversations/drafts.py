"""The booking in progress as the handlers keep it: the draft in the client's typed user data,
the times it holds from other clients, and when the client last booked."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.altegio.models.free_times import members_of
from bot.context import Context
from bot.draft import Draft

log = logging.getLogger(__name__)


def get_draft(context: Context) -> Draft | None:
    if context.user_data is None:
        return None
    return context.user_data.get_draft()


def put_draft(context: Context, draft: Draft | None) -> None:
    if context.user_data is None:
        return
    holds = context.services.holds
    previous = context.user_data.draft
    if previous is not None and (draft is None or previous.get("flow") != draft.flow):
        holds.release(str(previous.get("flow")))
        context.services.offered.follow(str(previous.get("flow")), None)
    if draft is not None:
        # The chosen time is held from the bot's other clients while this client books it.
        staff_id, members = _held_with(context, draft)
        holds.keep(
            draft.flow, staff_id, draft.slot, context.now(), draft.slot_length, members=members
        )
        # So are the earliest times offered to the client while they look at them.
        context.services.offered.follow(draft.flow, draft)
    # A finished booking's buttons, tapped again (twenty times on Confirm), get a quiet answer.
    context.user_data.put_draft(draft)


def _held_with(context: Context, draft: Draft) -> tuple[int | None, frozenset[int] | None]:
    """Whom the chosen time is held with: the team member chosen; with anyone, the only one
    who can see to it (the only one it is free with, or who works that day), so that it is
    hidden from their times too, or anyone with those who may (`bot/holds.py`)."""
    if draft.staff_id != 0 or not draft.slot or draft.parts:
        return draft.staff_id, None
    shared = context.services.altegio.shared_times
    whose = shared.whose(
        0, tuple(draft.service_ids), draft.chosen_day, members_of(draft.slot_free_with)
    )
    if whose is not None and len(whose) == 1:
        return next(iter(whose)), None
    return 0, whose


def just_booked(context: Context) -> None:
    """Remember when this client last booked, for a /cancel typed while it was being made."""
    if context.user_data is not None:
        context.user_data.booked_at = context.now().isoformat()


JUST_BOOKED = timedelta(minutes=10)
