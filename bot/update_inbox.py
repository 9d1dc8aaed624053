"""Telegram's webhook updates kept until they are handled.

Telegram sends an update once it is answered with 200, never again: a process that answered
and then died (killed, its host gone) would lose it, and the client would see nothing. So the
webhook keeps each update's body with its id before it answers (`UpdateRows.first_delivery`),
and the update processor notes it handled once it is (`handled`). What is left unhandled is
taken back (`take_back`): for a bot of one process at its next start; with replicas, by any
live replica at its tick, from a replica that is no longer alive (`bot/leases.py`).

An update is taken back only while it is recent and its chat has not moved on (a later update of
the chat handled meanwhile: the client tapped again). A Confirm taken back never books twice: the
booking call is noted before it leaves (`bot/workflows/book.py` `place`), and a Confirm finding
that note waits for the first call's outcome instead of calling again.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from telegram import Update

from bot.storage import StorageUnavailable

if TYPE_CHECKING:
    from bot.context import BotApplication

log = logging.getLogger(__name__)

TAKE_BACK_WITHIN = 600  # seconds: an update older than this is not handled late


def chat_of(update: Update) -> int | None:
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user else None


def keep(application: BotApplication, update: Update, body: str) -> bool:
    """Note an update the webhook took, kept until handled; False when it was taken before (it
    is not handled again). With the database out of reach it is handled, not kept."""
    services = application.services
    replica = services.replica
    try:
        first = services.storage.first_delivery(
            update.update_id,
            services.clock(),
            chat_id=chat_of(update),
            body=body,
            by=replica.id if replica is not None and replica.id else None,
        )
    except StorageUnavailable:
        return True  # handled (or declined politely) rather than lost
    if first:
        application.kept_updates.add(update.update_id)
    return first


def handled(application: BotApplication, update: object) -> None:
    """The update processor is done with an update (handled, or answered that it could not
    be): a kept one is kept no longer."""
    if not isinstance(update, Update) or update.update_id not in application.kept_updates:
        return
    application.kept_updates.discard(update.update_id)
    try:
        application.services.storage.update_handled(update.update_id)
    except StorageUnavailable as exc:
        log.warning("an update's end not noted (%s)", exc)


async def take_back(application: BotApplication, *, at_start: bool = False) -> int:
    """Updates a gone process took and never handled, handled here; how many. A bot of one
    process looks only `at_start` (later, what is unhandled is its own, queued)."""
    services = application.services
    replica = services.replica
    if replica is None and not at_start:
        return 0
    by = None
    if replica is not None:
        by = replica.alive()
        if by is None:
            return 0  # PostgreSQL out of reach: nothing can be told gone
    try:
        found = services.storage.unhandled_updates(
            services.clock(),
            within=TAKE_BACK_WITHIN,
            by=by,
            alive_space=replica.alive_space if replica is not None else None,
        )
    except StorageUnavailable as exc:
        log.warning("updates left unhandled not looked for (%s)", exc)
        return 0
    for row in found:
        try:
            update = Update.de_json(json.loads(row.body), application.bot)
        except (ValueError, TypeError, KeyError):
            log.warning("update %s left unhandled cannot be read; dropped", row.update_id)
            services.storage.update_handled(row.update_id)
            continue
        application.kept_updates.add(update.update_id)
        await application.update_queue.put(update)
    if found:
        log.warning(
            "%d update(s) taken by a process that stopped before handling them: handled now",
            len(found),
        )
    return len(found)
