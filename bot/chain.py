"""A chain in one bot (`ALTEGIO_GROUP_ID`): its locations, the one each client chose, and the
location a client who has not chosen yet is at (the bot's own, "home").

Plain code over the services: the handlers ask which locations there are and keep a client's
choice; each location is reached through its own Altegio client (`Services.at`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

import httpx

from bot.altegio import errors
from bot.altegio.client import AltegioClient
from bot.altegio.models.company import Company
from bot.services import Services
from bot.settings import Settings, SettingsError


def is_chain(services: Services) -> bool:
    return services.settings.altegio_group_id is not None


async def locations(services: Services) -> list[Company]:
    """The chain's locations in its own order (read through the bot's own location's client,
    kept five minutes); the bot's own location alone without a chain, or when Altegio knows no
    location of it. Raises `AltegioError` when it cannot be read and nothing was read before."""
    group = services.settings.altegio_group_id
    home = services.at(services.settings.altegio_company_id).altegio
    if group is not None:
        found = await home.chain(group)
        if found:
            return found
    return [await home.company()]


def chosen(services: Services, chat_id: int) -> int | None:
    """The location the client chose, or None (not chosen, or no chain)."""
    if not is_chain(services):
        return None
    return services.storage.chosen_location(chat_id)


async def must_choose(services: Services, chat_id: int) -> bool:
    """Whether the client is to choose a location first: a chain of more than one location,
    and no choice kept (or the one kept has left the chain). A chain that cannot be read now
    asks nothing: the client goes on at the location they are at."""
    if not is_chain(services):
        return False
    try:
        listed = await locations(services)
    except errors.AltegioError:
        return False
    kept = services.storage.chosen_location(chat_id)
    if kept is not None and any(company.id == kept for company in listed):
        return False
    if kept is not None:
        services.storage.choose_location(chat_id, None)  # it has left the chain
    return len(listed) > 1


async def settle_home(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
    **client_options: Any,
) -> Settings:
    """`settings` with the location a client who has not chosen is at: ALTEGIO_COMPANY_ID, else
    the chain's first location (read now), else the one kept from the last start.
    `client_options` go to the Altegio client (the tests' clock)."""
    group = settings.altegio_group_id
    if settings.altegio_company_id or group is None:
        return settings
    client = AltegioClient(
        partner_token=settings.partner_token,
        company_id=0,
        base_url=settings.altegio_base_url,
        transport=transport,
        **client_options,
    )
    try:
        listed = await client.chain(group)
    except errors.AltegioError:
        listed = []
    finally:
        await client.aclose()
    home = listed[0].id if listed else _kept_home(settings)
    if home is None:
        raise SettingsError(
            f"the locations of ALTEGIO_GROUP_ID={group} cannot be read from Altegio just now "
            "(none is known, or Altegio does not answer): check the chain's id, or name one of "
            "its locations in ALTEGIO_COMPANY_ID"
        )
    return replace(settings, altegio_company_id=home)


def _kept_home(settings: Settings) -> int | None:
    if settings.database_url:
        from bot.doctor_postgres import kept_home  # noqa: PLC0415 (psycopg only when used)

        return kept_home(settings)
    if not settings.db_path.is_file():
        return None
    try:
        with sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'company_id'").fetchone()
    except sqlite3.Error:
        return None
    return int(row[0]) if row and str(row[0]).isdigit() and int(row[0]) else None
