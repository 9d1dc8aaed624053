"""The client's whole Altegio account: every appointment however it was made, past visits, and
the phone confirmation that links the account to their Telegram user.

With the client's user token (kept once they typed an SMS code: `book_code`, then `user/auth`),
their own list (`user/records`) is read in one request and shows appointments made by phone,
on the salon's web page or here alike; those the bot did not know are kept like its own (no
hash: the token reads and changes them), reminders included. Without a token, the bookings made
here are read one by one, as before. A token Altegio refuses is dropped and the client asked to
confirm their phone again; nothing else is lost. Plain code: no Telegram here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.altegio import errors
from bot.altegio.models import Record
from bot.chain import is_chain
from bot.records import Change, Fresh
from bot.services import Services
from bot.storage import Contact, StoredBooking, phone_digits
from bot.workflows.sync import adopt, follow, refresh, token_refused

if TYPE_CHECKING:
    from bot.workflows.book import Who

log = logging.getLogger(__name__)

PAST_SHOWN = 10  # past visits listed, newest first


@dataclass(frozen=True, slots=True)
class Listing:
    """The client's upcoming appointments (and those the salon just cancelled), soonest first."""

    items: list[Fresh]
    whole: bool  # read from the client's Altegio account: every appointment, however made
    verify: bool  # the client should confirm their phone (a token or a hash was refused)


@dataclass(frozen=True, slots=True)
class Visit:
    record_id: int  # kept by the bot, so Book again can name it
    start: datetime
    title: str
    staff_name: str
    no_show: bool = False
    visit_id: int = 0  # the visit of consecutive appointments it is part of; 0: none
    company_id: int = 0  # its location (a chain's); 0: the bot's own


def _whole(visits: list[Visit]) -> list[Visit]:
    """Past visits with the parts of one booked as consecutive appointments taken together:
    its services and team members named in order, its first part's record (Book again books
    the whole visit from any of its records)."""
    alone = [v for v in visits if not v.visit_id]
    parts: dict[int, list[Visit]] = {}
    for visit in visits:
        if visit.visit_id:
            parts.setdefault(visit.visit_id, []).append(visit)
    for group in parts.values():
        group.sort(key=lambda v: v.start)
        staff = list(dict.fromkeys(v.staff_name for v in group if v.staff_name))
        alone.append(
            Visit(
                group[0].record_id,
                group[0].start,
                ", ".join(v.title for v in group if v.title),
                ", ".join(staff),
                no_show=all(v.no_show for v in group),
                visit_id=group[0].visit_id,
                company_id=group[0].company_id,
            )
        )
    return alone


@dataclass(frozen=True, slots=True)
class Past:
    visits: list[Visit]
    whole: bool
    verify: bool


@dataclass(frozen=True, slots=True)
class Linked:
    """The phone is confirmed: the client's user token is kept."""


@dataclass(frozen=True, slots=True)
class CodeNotRight:
    pass


@dataclass(frozen=True, slots=True)
class Unreachable:
    reason: errors.AltegioError


async def link(
    services: Services, user_id: int, phone: str, code: str, name: str = ""
) -> Linked | CodeNotRight | Unreachable:
    """Trade the SMS code for the client's user token and keep it with the phone it proves."""
    try:
        token = await services.altegio.user_auth(phone, code)
    except errors.WrongCode:
        return CodeNotRight()
    except errors.AltegioError as exc:
        return Unreachable(exc)
    storage = services.storage
    if name and storage.contact(user_id) is None:
        storage.remember_contact(user_id, Contact(name, phone), services.clock())
    storage.set_user_token(user_id, token, phone)
    log.info("client %s confirmed their phone; their Altegio account is linked", user_id)
    return Linked()


async def link_quietly(services: Services, user_id: int, phone: str, code: str) -> None:
    """After a booking confirmed by SMS: the same code links the account, unless it is linked
    to this phone already. Whatever goes wrong only leaves it unlinked."""
    if services.storage.verified_phone(user_id) == phone_digits(phone):
        return
    outcome = await link(services, user_id, phone, code)
    if not isinstance(outcome, Linked):
        log.info("client %s: the booking's code did not link their account", user_id)


def needs_link(services: Services, user_id: int) -> bool:
    return services.storage.user_token(user_id) is None


def relink(services: Services, user_id: int) -> bool:
    """Whether the client had a token Altegio stopped accepting."""
    return services.storage.token_refused(user_id)


async def _account(services: Services, who: Who) -> tuple[list[Record] | None, bool]:
    """The client's own list from Altegio, or None (no token, or it could not be read now);
    and whether the token was refused just now."""
    storage = services.storage
    token = storage.user_token(who.user_id)
    if token is None:
        return None, False
    verified = storage.verified_phone(who.user_id)
    known = next(
        (
            (b.record_id, b.record_hash)
            for b in storage.bookings_for_chat(who.chat_id)
            if b.record_hash and phone_digits(b.phone) == verified
        ),
        None,
    )
    try:
        return await services.altegio.account_records(token, known), False
    except errors.AuthError:
        token_refused(services, who.user_id, token)
        return None, True
    except errors.AltegioError as exc:
        log.info("client %s: their list could not be read (%s)", who.user_id, type(exc).__name__)
        return None, False


async def _keep(services: Services, who: Who, record: Record) -> StoredBooking | None:
    """The stored copy of one of the client's records (kept now if new); None when another
    chat has it or it was cancelled before the bot ever knew it."""
    storage = services.storage
    booking = storage.booking(record.id)
    if booking is None:
        if record.deleted:
            return None
        verified = storage.verified_phone(who.user_id)
        contact = storage.contact(who.user_id)
        mine = contact is not None and phone_digits(contact.phone) == verified
        phone = contact.phone if contact is not None and mine else f"+{verified}"
        company = await services.altegio.company()
        booking = adopt(
            services,
            record,
            user_id=who.user_id,
            chat_id=who.chat_id,
            phone=phone,
            fullname=contact.name if contact is not None and mine else "",
            language=who.language,
            tz=company.tz,
        )
    return booking if booking.chat_id == who.chat_id else None


async def appointments(services: Services, who: Who) -> Listing:
    """The client's upcoming appointments as Altegio has them now."""
    storage = services.storage
    now = services.clock()
    records, refused = await _account(services, who)
    items: list[Fresh] = []
    covered: set[int] = set()
    if records is not None:
        for record in sorted(records, key=lambda r: r.start):
            if record.end <= now:
                continue  # a past visit: `past_visits`'
            booking = await _keep(services, who, record)
            if booking is None:
                continue
            covered.add(record.id)
            if booking.status != "active":
                continue
            fresh = await follow(services, booking, record)
            if fresh.change is Change.DELETED or _end(fresh.booking) > now:
                items.append(fresh)
    verify = refused
    for booking in storage.upcoming_bookings(who.chat_id, now):
        if booking.record_id in covered:
            continue
        fresh = await refresh(services, booking, records)
        verify = verify or fresh.verify
        items.append(fresh)
    items.sort(key=lambda f: f.booking.start)
    return Listing(items, whole=records is not None, verify=verify)


async def past_visits(services: Services, who: Who) -> Past:
    """The client's visits that have taken place, newest first."""
    storage = services.storage
    now = services.clock()
    records, refused = await _account(services, who)
    visits: list[Visit] = []
    if records is not None:
        for record in records:
            if record.deleted or record.start > now:
                continue
            booking = await _keep(services, who, record)
            if booking is None or booking.status != "active":
                continue
            visits.append(
                Visit(
                    record.id,
                    record.start,
                    record.title or booking.title,
                    record.staff_name or booking.staff_name,
                    no_show=record.attendance == -1,
                    visit_id=booking.visit_id,
                    company_id=record.company_id or booking.company_id,
                )
            )
    listed = records is not None
    here = services.altegio.company_id
    if not listed or is_chain(services):
        # Without the client's list, those kept here; with it, a chain's kept at its other
        # locations (the list is the location's own).
        for booking in storage.bookings_for_chat(who.chat_id):
            home = services.settings.altegio_company_id or here
            elsewhere = (booking.company_id or home) != here
            if listed and not elsewhere:
                continue
            if booking.status == "active" and booking.start <= now:
                visits.append(
                    Visit(
                        booking.record_id,
                        booking.start,
                        booking.title,
                        booking.staff_name,
                        visit_id=booking.visit_id,
                        company_id=booking.company_id,
                    )
                )
    visits = _whole(visits)
    visits.sort(key=lambda v: v.start, reverse=True)
    return Past(visits[:PAST_SHOWN], whole=records is not None, verify=refused)


def _end(booking: StoredBooking) -> datetime:
    return booking.start + timedelta(seconds=booking.length)
