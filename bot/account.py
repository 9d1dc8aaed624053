"""What a client keeps with the bot besides their bookings: the language they chose, whether
they want reminders, and their right to have it all forgotten. Plain code: no Telegram here."""

from __future__ import annotations

import logging

from bot.services import Services

log = logging.getLogger(__name__)


def choose_language(services: Services, chat_id: int, code: str) -> None:
    """The language the bot speaks with this client from now on, reminders included."""
    services.storage.set_language(chat_id, code)


def set_reminders(services: Services, chat_id: int, enabled: bool) -> None:
    services.storage.set_reminders(chat_id, enabled)


def forget(services: Services, user_id: int, chat_id: int) -> None:
    """Delete everything kept about a client (their appointments stay with the salon)."""
    services.storage.forget(user_id, chat_id)
    log.info("forgot client %s at their request", user_id)
