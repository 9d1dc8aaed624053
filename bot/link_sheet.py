"""`altegio-bot links`: a deep link (and, on request, a QR code) for every category, service
and team member bookable online, for the salon's Instagram bio, posters and business cards.

With a chain (`ALTEGIO_GROUP_ID`), each location's: a link that opens the location itself
(`loc<id>`), then its own categories, services and team (`loc<id>-...`), under its title."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import segno
from anyascii import anyascii
from telegram import Bot
from telegram.error import TelegramError
from telegram.request import BaseRequest, HTTPXRequest

from bot.altegio.client import AltegioClient
from bot.altegio.models import Company
from bot.links import Target, link
from bot.settings import Settings

PLACEHOLDER = "your_bot"


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str  # "location", "category", "service" or "team member"
    title: str
    target: Target
    url: str
    location: str = ""  # a chain's location, as its links are grouped; "" for one location


@dataclass(frozen=True, slots=True)
class Sheet:
    username: str
    note: str  # why the username is a placeholder, or ""
    entries: list[Entry]


async def bot_username(settings: Settings, request: BaseRequest | None = None) -> tuple[str, str]:
    """The bot's @username from Telegram's getMe, or a placeholder and why."""
    token = settings.telegram_bot_token
    if not token:
        return PLACEHOLDER, (
            f"TELEGRAM_BOT_TOKEN is not set, so the links use @{PLACEHOLDER}: replace it with "
            "your bot's username"
        )
    own = request is None
    used = HTTPXRequest(connect_timeout=10.0, read_timeout=15.0) if request is None else request
    bot = Bot(
        token,
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_api_base_file_url,
        request=used,
        get_updates_request=used,
    )
    try:
        await used.initialize()
        me = await bot.get_me()
    except TelegramError as exc:
        return PLACEHOLDER, (
            f"Telegram did not tell the bot's username ({type(exc).__name__}; see "
            f"`altegio-bot doctor`), so the links use @{PLACEHOLDER}"
        )
    finally:
        if own:
            await used.shutdown()
    return me.username or PLACEHOLDER, ""


async def link_sheet(
    settings: Settings,
    *,
    telegram_request: BaseRequest | None = None,
    altegio_transport: httpx.AsyncBaseTransport | None = None,
) -> Sheet:
    """Every bookable category, service and team member with its link (three Altegio reads);
    with a chain, each location's (the chain read, then two reads a location)."""
    username, note = await bot_username(settings, telegram_request)
    entries: list[Entry] = []
    client = _client(settings, settings.altegio_company_id, altegio_transport)
    try:
        group = settings.altegio_group_id
        listed = await client.chain(group) if group is not None else []
        if not listed:
            await _add_location(client, username, entries, None)
            return Sheet(username, note, entries)
    finally:
        await client.aclose()
    for company in listed:
        at = _client(settings, company.id, altegio_transport)
        try:
            await _add_location(at, username, entries, company)
        finally:
            await at.aclose()
    return Sheet(username, note, entries)


def _client(
    settings: Settings, company_id: int, transport: httpx.AsyncBaseTransport | None
) -> AltegioClient:
    return AltegioClient(
        partner_token=settings.partner_token,
        company_id=company_id,
        base_url=settings.altegio_base_url,
        transport=transport,
        timeout=httpx.Timeout(15.0),
    )


async def _add_location(
    client: AltegioClient, username: str, entries: list[Entry], company: Company | None
) -> None:
    """The links of one location: a chain's (`company`) under its title, the location's own
    link first and each of the others at it."""
    catalogue = await client.catalogue()
    team = await client.staff([])  # `bookable` says only whether they are free just now
    location_id = company.id if company is not None else None
    heading = f"{company.title} (location {company.id})" if company is not None else ""

    def add(kind: str, title: str, target: Target) -> None:
        target = replace(target, location_id=location_id)
        entries.append(Entry(kind, title, target, link(username, target), heading))

    if company is not None:
        add("location", company.title, Target())
    listed: set[int] = set()
    for category in catalogue.categories:
        services = catalogue.in_category(category.id)
        if services:
            add("category", category.title, Target(category_id=category.id))
        for service in services:
            add("service", service.title, Target(service_id=service.id))
            listed.add(service.id)
    for service in catalogue.services:
        if service.id not in listed:
            add("service", service.title, Target(service_id=service.id))
    for member in team:
        add("team member", member.name, Target(staff_id=member.id))


def qr_files(sheet: Sheet, folder: Path) -> list[Path]:
    """A QR code PNG of each link in `folder` (made if need be), named by what it opens."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in sheet.entries:
        slug = re.sub(r"[^a-z0-9]+", "-", anyascii(entry.title).lower()).strip("-")[:40]
        path = folder / f"{entry.target.payload()}-{slug or 'link'}.png"
        segno.make(entry.url, error="m").save(str(path), kind="png", scale=10, border=4)
        written.append(path)
    return written


def render(sheet: Sheet) -> str:
    lines = [f"Links to @{sheet.username}:"]
    if sheet.note:
        lines.append(f"! {sheet.note}")
    width = max((len(e.kind) + len(e.title) + 3 for e in sheet.entries), default=0)
    heading = ""
    for entry in sheet.entries:
        if entry.location and entry.location != heading:
            heading = entry.location
            lines.append(f"{heading}:")
        label = f"{entry.kind}: {entry.title}"
        lines.append(f"  {label.ljust(width)}  {entry.url}")
    if not sheet.entries:
        lines.append("  nothing is bookable online just now")
    return "\n".join(lines)
