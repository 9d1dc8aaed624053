"""The waiting list: wishes kept, the days they cover watched for freed times within a small
fixed share of Altegio's rate limit, and each freed time offered to the first client waiting for
it, for `OFFER_MINUTES`, then to the next.

The watcher reads `book_times` once per (services, team member, day) that some wish covers,
however many wishes share it, nearer days more often (`look_every`), at most `READS_PER_MINUTE`
spread over the minute, and only into room the clients leave spare: its reads are the limiter's
`BACKGROUND`, never queued, so they never delay a client. The first read of a day is what is
free already; a time free at a read and not at the one before has freed up. Where the salon's
webhooks are live, a cancel or a move makes its day be read at the next tick instead of when
due. A chain's wish is kept with the location it was made at: its days are read there, in that
location's timezone (`Services.at`), under keys of their own, within the one budget. Plain
code: the handlers put offers into words and send them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.altegio import errors
from bot.altegio.models import Record
from bot.altegio.models.lenient import as_dict, as_int, parse_datetime
from bot.draft import HOLD
from bot.services import Services
from bot.storage import HookEvent, StorageUnavailable, Wish, WishOffer
from bot.waitlist_rules import (
    MAX_WISHES,
    OFFER_MINUTES,
    day_end,
    day_parts,
    days_of,
    is_month_key,
    key_location,
    watch_key,
    watch_location,
)
from bot.workflows import freed_times

log = logging.getLogger(__name__)

OPEN, TAKEN, PASSED = "open", "taken", "passed"


@dataclass(frozen=True, slots=True)
class Offered:
    """A freed time to tell a waiting client of."""

    offer: WishOffer
    wish: Wish
    start: datetime


class Added(StrEnum):
    ADDED = "added"
    TOO_MANY = "too_many"


def home(services: Services) -> int:
    """The bot's own location (the one a wish kept with 0 was made at)."""
    return services.settings.altegio_company_id or services.altegio.company_id


def location_of(services: Services, wish: Wish) -> int:
    """The location the wish was made at, by its id."""
    return wish.company_id or home(services)


def wish_keys(wish: Wish, own: int) -> list[str]:
    """The days the wish covers as watched (`own`: the bot's own location, `home`)."""
    where = watch_location(wish.company_id, own)
    return [
        watch_key(wish.service_ids, wish.staff_id, day, where)
        for day in days_of(wish.first_day, wish.last_day)
    ]


async def zone(services: Services, where: int) -> ZoneInfo:
    """The timezone of a location as keys name it (0: the bot's own, read as before; another
    from the copy held once read)."""
    if where == 0:
        return (await services.at(0).altegio.company()).tz
    return await services.at(where).altegio.zone()


async def _zones(services: Services, places: set[int]) -> dict[int, ZoneInfo]:
    """The timezone of each location; one that cannot be read waits for the next tick."""
    found = {}
    for where in sorted(places):
        try:
            found[where] = await zone(services, where)
        except errors.AltegioError as exc:
            log.info("waiting list: location %s not read now (%s)", where, type(exc).__name__)
    return found


async def add(
    services: Services,
    *,
    user_id: int,
    chat_id: int,
    language: str,
    service_ids: list[int],
    staff_id: int,
    first: date,
    last: date,
    seen_empty: date | None = None,
) -> Added:
    """Put the client on the waiting list, at the location `services` are at. `seen_empty`: a
    day the client has just seen with nothing free, so a time free at the first read of it has
    freed up since."""
    storage = services.storage
    if len(storage.wishes_of(user_id)) >= MAX_WISHES:
        return Added.TOO_MANY
    company = await services.altegio.company()
    now = int(services.clock().timestamp())
    wish = Wish(
        id=0,
        user_id=user_id,
        chat_id=chat_id,
        language=language,
        service_ids=tuple(service_ids),
        staff_id=staff_id,
        first_day=first,
        last_day=last,
        created_at=now,
        ends_at=int(day_end(last, company.tz).timestamp()),
        company_id=services.altegio.company_id,
    )
    storage.add_wish(wish)
    if seen_empty is not None and first <= seen_empty <= last:
        where = watch_location(wish.company_id, home(services))
        key = watch_key(service_ids, staff_id, seen_empty, where)
        if storage.watched().get(key, (None, 0, 0))[0] is None:
            storage.know_free(key, [], now, freed_times.NEVER)
    return Added.ADDED


async def wishes(services: Services, user_id: int) -> list[Wish]:
    """The client's wishes; one they have booked since (through an offer or otherwise) is done
    and goes."""
    own = home(services)
    wished = services.storage.wishes_of(user_id)
    zones = await _zones(services, {watch_location(wish.company_id, own) for wish in wished})
    kept = []
    for wish in wished:
        tz = zones.get(watch_location(wish.company_id, own))
        if tz is not None and _fulfilled(services, wish, tz):
            services.storage.drop_wish(wish.id)
        else:
            kept.append(wish)
    return kept


def remove(services: Services, user_id: int, wish_id: int) -> bool:
    """The client takes a wish off the list; False when it is not theirs (or gone already)."""
    wish = services.storage.wish(wish_id)
    if wish is None or wish.user_id != user_id:
        return False
    services.storage.drop_wish(wish_id)
    return True


def has_wishes(services: Services, user_id: int) -> bool:
    try:
        return bool(services.storage.wishes_of(user_id))
    except StorageUnavailable:
        return False


# --- watching -----------------------------------------------------------------------------


async def watch(services: Services) -> list[Offered]:
    """One round (the tick's): ended wishes dropped, offers whose minutes ran out passed on,
    then what is due read within the budget (`freed_times`); returns the offers to send."""
    storage = services.storage
    now = services.clock()
    stamp = int(now.timestamp())
    storage.drop_ended_wishes(stamp)
    own = home(services)
    wanted = {key for wish in storage.all_wishes() for key in wish_keys(wish, own)}
    offers = storage.offers()
    places = {key_location(key) for key in wanted | {o.watch_key for o in offers}}
    zones = await _zones(services, places)
    sent: list[Offered] = []
    for offer in offers:
        if (tz := zones.get(key_location(offer.watch_key))) is None:
            continue
        taken_long_ago = offer.state == TAKEN and offer.until + HOLD.total_seconds() <= stamp
        if (offer.state == OPEN and offer.until <= stamp) or taken_long_ago:
            wish = storage.wish(offer.wish_id)
            if wish is not None and offer.state == TAKEN and _fulfilled(services, wish, tz):
                storage.drop_wish(wish.id)  # booked: the time is theirs
                continue
            storage.set_offer(offer.id, PASSED)
            sent += _offer_to_next(services, offer.watch_key, offer.staff_id, offer.slot, tz)
    for found in await freed_times.read_due(services, wanted, zones, now):
        tz = zones[key_location(found.key)]
        sent += _offer_to_next(services, found.key, found.staff_id, found.raw, tz)
    return sent


def _offer_to_next(
    services: Services, key: str, staff_id: int, raw: str, tz: ZoneInfo
) -> list[Offered]:
    """Offer a freed time to the first client in line who has not had it yet, if it is still
    free as last read (`tz`: the zone of the key's location)."""
    storage = services.storage
    lengths = dict(storage.watched().get(key, (None, 0, 0))[0] or [])
    start = parse_datetime(raw, tz)
    now = services.clock()
    if raw not in lengths or start is None or start <= now:
        return []
    offers = storage.offers()
    if any(o.watch_key == key and o.slot == raw and o.state in (OPEN, TAKEN) for o in offers):
        return []
    had = {o.wish_id for o in offers if o.watch_key == key and o.slot == raw}
    busy = {o.wish_id for o in offers if o.state == OPEN}
    own = home(services)
    for wish in storage.all_wishes():
        if key not in wish_keys(wish, own) or wish.id in had or wish.id in busy:
            continue
        if _fulfilled(services, wish, tz):
            storage.drop_wish(wish.id)
            continue
        until = now + timedelta(minutes=OFFER_MINUTES)
        offer = WishOffer(
            0, wish.id, key, staff_id, raw, lengths[raw], int(until.timestamp()), OPEN
        )
        offer = replace(offer, id=storage.add_offer(offer))
        # Held from the bot's other clients for the offer's minutes (a hold lasts `HOLD` from
        # the moment it is kept: kept as of `until - HOLD`, it lapses at `until`).
        services.holds.keep(f"wl{offer.id}", staff_id, raw, until - HOLD)
        log.info("waiting list: a freed time offered (offer %s)", offer.id)
        return [Offered(offer, wish, start)]
    return []


def _fulfilled(services: Services, wish: Wish, tz: ZoneInfo) -> bool:
    """Whether the client has booked those services on one of the wish's days at its location
    since making it (through an offer or otherwise): the wish is then done."""
    own = home(services)
    where = location_of(services, wish)
    for booking in services.storage.bookings_for_chat(wish.chat_id):
        if booking.status != "active" or booking.created_at.timestamp() < wish.created_at:
            continue
        if (booking.company_id or own) != where:
            continue
        day = booking.start.astimezone(tz).date()
        if wish.first_day <= day <= wish.last_day and set(booking.service_ids) == set(
            wish.service_ids
        ):
            return True
    return False


# --- the client's answer ---------------------------------------------------------------------


async def pass_on(services: Services, offer_id: int, chat_id: int) -> list[Offered]:
    """ "No thanks" (or the message could not be delivered): the next in line gets the time."""
    storage = services.storage
    offer = storage.offer(offer_id)
    wish = storage.wish(offer.wish_id) if offer else None
    if offer is None or wish is None or wish.chat_id != chat_id or offer.state != OPEN:
        return []
    storage.set_offer(offer.id, PASSED)
    services.holds.release(f"wl{offer.id}")
    tz = await zone(services, key_location(offer.watch_key))
    return _offer_to_next(services, offer.watch_key, offer.staff_id, offer.slot, tz)


def take(services: Services, offer_id: int, chat_id: int) -> tuple[WishOffer, Wish] | None:
    """ "Book it": the offer and its wish while the offer is still the client's; the booking
    conversation holds the time from then on."""
    storage = services.storage
    offer = storage.offer(offer_id)
    wish = storage.wish(offer.wish_id) if offer else None
    if offer is None or wish is None or wish.chat_id != chat_id:
        return None
    if offer.state not in (OPEN, TAKEN) or offer.until <= int(services.clock().timestamp()):
        return None
    storage.set_offer(offer.id, TAKEN)
    services.holds.release(f"wl{offer.id}")
    return offer, wish


# --- the salon's webhooks ----------------------------------------------------------------------


async def note_event(services: Services, event: HookEvent) -> None:
    """A record cancelled or moved (Altegio's webhook): the days it frees at its location are
    read at the next tick, not when their turn comes."""
    if event.status not in ("delete", "update"):
        return
    storage = services.storage
    try:
        watched = storage.watched()
        if not watched:
            return
        data = as_dict(event.body.get("data"))
        company_id = as_int(event.body.get("company_id")) or as_int(data.get("company_id")) or 0
        own = home(services)
        where = watch_location(company_id, own)
        tz = await zone(services, where)
        places: set[tuple[int, date]] = set()
        try:
            record = Record.from_wire(data, tz)
            places.add((record.staff_id or 0, record.start.astimezone(tz).date()))
        except errors.UnexpectedResponse:
            pass
        kept = storage.booking(event.record_id)
        if kept is not None and watch_location(kept.company_id, own) == where:
            places.add((kept.staff_id, kept.start.astimezone(tz).date()))  # before a move
        due = []
        for key in watched:
            if is_month_key(key) or key_location(key) != where:
                continue
            _, staff_id, day = day_parts(key)
            if any(day == d and staff_id in (0, s) for s, d in places):
                due.append(key)
        storage.look_now(due)
    except (errors.AltegioError, StorageUnavailable) as exc:
        log.info("waiting list: an event not looked at (%s)", type(exc).__name__)
