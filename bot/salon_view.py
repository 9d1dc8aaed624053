"""The salon's own view in its admin chats: which chats are admin chats (ADMIN_CHAT_ID and those
added with a one-time code), the notices of what clients do through the bot, the numbers behind
/stats and the weekly digest. Plain English text, as every message to the salon is; no Telegram
here (the shell sends what this words).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers

from bot.altegio.models.company import Company
from bot.funnel import Funnel, count
from bot.services import Services
from bot.storage import Storage, StorageUnavailable, StoredBooking

CODE_LIFETIME = timedelta(hours=24)
# No letters or digits that read alike (0/O, 1/I/L): the code is typed from a terminal.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
STATS_DAYS = 30
DIGEST_WEEKDAY = 0  # Monday
DIGEST_TIME = time(9, 0)


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def issue_code(storage: Storage, now: datetime) -> str:
    """A new one-time code that makes the chat it is sent from an admin chat; kept hashed."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    storage.add_admin_code(_hash(code), int((now + CODE_LIFETIME).timestamp()))
    return code


def authorize(services: Services, chat_id: int, code: str) -> bool:
    """Spend `code` to make `chat_id` an admin chat; False for a wrong or expired code."""
    if not code or len(code) > 64:
        return False
    if not services.storage.spend_admin_code(_hash(code), int(services.clock().timestamp())):
        return False
    services.storage.authorize_chat(chat_id, True)
    return True


def is_admin(services: Services, chat_id: int) -> bool:
    return chat_id == services.settings.admin_chat_id or chat_id in admin_chats(services)


def admin_chats(services: Services) -> list[int]:
    """Every admin chat: ADMIN_CHAT_ID's first, then those added with a code."""
    chats = [] if services.settings.admin_chat_id is None else [services.settings.admin_chat_id]
    try:
        added = services.storage.authorized_chats()
    except StorageUnavailable:
        added = []
    return chats + [chat for chat in added if chat not in chats]


def leave(services: Services, chat_id: int) -> bool:
    """Stop `chat_id` being an admin chat; False for ADMIN_CHAT_ID's, which its setting keeps."""
    if chat_id == services.settings.admin_chat_id:
        return False
    services.storage.authorize_chat(chat_id, False)
    return True


def set_notices(services: Services, chat_id: int, on: bool) -> None:
    services.storage.set_admin_notices(chat_id, on)


def notices_on(services: Services, chat_id: int) -> bool:
    return services.storage.admin_notices(chat_id)


def notice_chats(services: Services) -> list[int]:
    """The admin chats that have notices on (all of them while the database cannot say)."""
    chats = admin_chats(services)
    try:
        return [chat for chat in chats if services.storage.admin_notices(chat)]
    except StorageUnavailable:
        return chats


# --- notices ------------------------------------------------------------------------------------


def masked_phone(phone: str) -> str:
    """A client's phone as the salon's notices show it: the country code, the first three
    digits of a long national number, and the last two, e.g. `+49 151 ••• •• 89`; never the
    whole number (a short national number shows no more than its country)."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return "•••"
    national = str(parsed.national_number)
    if len(national) < 6:
        return "•••"
    head = f"+{parsed.country_code}"
    if len(national) >= 9:
        head += " " + national[:3]
    return f"{head} ••• •• {national[-2:]}"


def place(services: Services, company: Company | None) -> str:
    """The line naming a notice's location in a chain (its title and id, so the chain's admins
    know which salon), to append; "" for one location, or where the location is not known."""
    if company is None or services.settings.altegio_group_id is None:
        return ""
    return f"\nLocation: {company.title} ({company.id})"


def _when(start: datetime, tz: ZoneInfo) -> str:
    return start.astimezone(tz).strftime("%a %d %b %Y, %H:%M")


def _client(booking: StoredBooking) -> str:
    return f"{booking.fullname or 'no name'}, {masked_phone(booking.phone)}"


def _what(booking: StoredBooking) -> str:
    return f"{booking.title or 'an appointment'} with {booking.staff_name or 'any team member'}"


def booked_notice(booking: StoredBooking, tz: ZoneInfo) -> str:
    return (
        f"🆕 Booked through the bot: {_what(booking)}, {_when(booking.start, tz)}.\n"
        f"Client: {_client(booking)}"
    )


def moved_notice(booking: StoredBooking, new_start: datetime, tz: ZoneInfo) -> str:
    return (
        f"🔁 Moved through the bot: {_what(booking)}, from {_when(booking.start, tz)} "
        f"to {_when(new_start, tz)}.\nClient: {_client(booking)}"
    )


def cancelled_notice(booking: StoredBooking, tz: ZoneInfo) -> str:
    return (
        f"❌ Cancelled through the bot: {_what(booking)}, {_when(booking.start, tz)}.\n"
        f"Client: {_client(booking)}"
    )


def _parts(bookings: Sequence[StoredBooking], tz: ZoneInfo) -> str:
    """A visit of consecutive appointments: its day, then each part with its time."""
    first = bookings[0]
    lines = [f"a visit of {len(bookings)} appointments, {_when(first.start, tz)}:"]
    lines += [f"  {b.start.astimezone(tz):%H:%M} {_what(b)}" for b in bookings]
    return "\n".join(lines)


def visit_booked_notice(bookings: Sequence[StoredBooking], tz: ZoneInfo) -> str:
    """One notice for a booking, however many appointments its visit is made of."""
    if len(bookings) == 1:
        return booked_notice(bookings[0], tz)
    return f"🆕 Booked through the bot: {_parts(bookings, tz)}\nClient: {_client(bookings[0])}"


def visit_cancelled_notice(bookings: Sequence[StoredBooking], tz: ZoneInfo) -> str:
    """One notice for what the client cancelled of a visit, every part named."""
    if len(bookings) == 1:
        return cancelled_notice(bookings[0], tz)
    return f"❌ Cancelled through the bot: {_parts(bookings, tz)}\nClient: {_client(bookings[0])}"


# --- /stats and the weekly digest ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stats:
    days: list[tuple[date, int]]  # bookings made through the bot, per day, oldest first
    funnel: Funnel
    per_location: list[str] = field(default_factory=list)  # a chain's: one line a location

    @property
    def caption(self) -> str:
        first, last = self.days[0][0], self.days[-1][0]
        total = sum(n for _, n in self.days)
        return "\n".join(
            [
                f"Bookings through the bot, {first:%d %b} – {last:%d %b}: {total}",
                *self.per_location,
                "",
                *self.funnel.lines(),
            ]
        )


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz)


def _bookings_per_day(services: Services, first: date, days: int, tz: ZoneInfo) -> list[int]:
    counts = [0] * days
    for made in services.storage.bookings_created():
        try:
            day = datetime.fromisoformat(made).astimezone(tz).date()
        except ValueError:
            continue
        index = (day - first).days
        if 0 <= index < days:
            counts[index] += 1
    return counts


def per_location(
    services: Services, first: date, days: int, tz: ZoneInfo, names: Mapping[int, str]
) -> list[str]:
    """A chain's bookings through the bot in the `days` days from `first`, one line a location:
    each of `names` (the chain's locations by id, in its order), then any other that has some
    (one that has left the chain); [] for one location."""
    if services.settings.altegio_group_id is None:
        return []
    home = services.settings.altegio_company_id
    counts: dict[int, int] = dict.fromkeys(names, 0)
    for made, company_id in services.storage.bookings_located():
        try:
            day = datetime.fromisoformat(made).astimezone(tz).date()
        except ValueError:
            continue
        if 0 <= (day - first).days < days:
            where = company_id or home
            counts[where] = counts.get(where, 0) + 1
    return [f"  {names.get(where) or 'location'} ({where}): {n}" for where, n in counts.items()]


def stats(
    services: Services,
    tz: ZoneInfo,
    days: int = STATS_DAYS,
    names: Mapping[int, str] | None = None,
) -> Stats:
    """The last `days` days up to today, in the salon's timezone (a chain's bookings also per
    location, `names` naming them)."""
    today = services.clock().astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    counts = _bookings_per_day(services, first, days, tz)
    funnel = count(services, _midnight(first, tz), _midnight(today + timedelta(days=1), tz))
    located = per_location(services, first, days, tz, names or {})
    return Stats([(first + timedelta(days=i), n) for i, n in enumerate(counts)], funnel, located)


# A digest the bot could not send on Monday (it was down) still goes out until then.
DIGEST_LATE = timedelta(days=2)


def digest_week(now: datetime, tz: ZoneInfo) -> date | None:
    """This week's Monday when its digest is due by now: from Monday 09:00, salon time, and
    for two days after, for a bot that was down on Monday."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=(local.weekday() - DIGEST_WEEKDAY) % 7)
    due = datetime.combine(monday, DIGEST_TIME, tzinfo=tz)
    if not due <= local < due + DIGEST_LATE:
        return None
    return monday


def digest(
    services: Services, monday: date, tz: ZoneInfo, names: Mapping[int, str] | None = None
) -> str:
    """Last week (the seven days before `monday`) through the bot, in plain English (a chain's
    bookings also per location, `names` naming them)."""
    first = monday - timedelta(days=7)
    booked = sum(_bookings_per_day(services, first, 7, tz))
    funnel = count(services, _midnight(first, tz), _midnight(monday, tz))
    last = monday - timedelta(days=1)
    return "\n".join(
        [
            f"📊 Last week through the bot ({first:%d %b} – {last:%d %b}):",
            f"Bookings: {booked}",
            *per_location(services, first, 7, tz, names or {}),
            f"Moves: {funnel.moved}",
            f"Cancellations: {funnel.cancelled}",
            "",
            *funnel.lines(),
        ]
    )


def due_digests(services: Services, tz: ZoneInfo) -> list[tuple[int, date]]:
    """The admin chats (with notices on) whose digest of last week is due now, and the week."""
    monday = digest_week(services.clock(), tz)
    if monday is None:
        return []
    return [
        (chat, monday)
        for chat in notice_chats(services)
        if services.storage.digest_week(chat) != monday.isoformat()
    ]


def digest_sent(services: Services, chat_id: int, monday: date) -> None:
    services.storage.set_digest_week(chat_id, monday.isoformat())
