"""Everything the bot keeps in SQLite: the file, its schema and the queries on it.

Values are JSON text, never pickle; instants are ISO 8601 with their offset, or Unix seconds
where a query orders or compares them.

    database.py       the file (WAL, lock, owner, write check) and `Storage`, made of the rest
    schema.py         the migrations, m001 to m012
    pending.py        writes kept while another program holds the file
    backup.py         a consistent copy of the live file (SQLite's online backup API)
    state_rows.py     conversation states and user/chat/bot data (PTB's persistence)
    client_rows.py    contact details and Altegio user tokens
    booking_rows.py   bookings made through the bot
    reminder_rows.py  reminders on or off, the chat's language, the reminder queue
    location_rows.py  what records told about a location
    attempt_rows.py   booking calls in flight
    admin_rows.py     admin chats, their codes, and the booking funnel
    inbox_rows.py     Altegio's webhook events as received, and the newest change followed
    waitlist_rows.py  the waiting list: wishes, the days watched, freed times offered
"""

from bot.storage.attempt_rows import Attempt, AttemptState
from bot.storage.booking_rows import StoredBooking
from bot.storage.client_rows import Contact, phone_digits
from bot.storage.database import BUSY_TIMEOUT, Storage, StorageError, StorageUnavailable
from bot.storage.inbox_rows import HookEvent
from bot.storage.pending import PendingWrites
from bot.storage.reminder_rows import Reminder
from bot.storage.waitlist_rows import Wish, WishOffer

__all__ = [
    "BUSY_TIMEOUT",
    "Attempt",
    "AttemptState",
    "Contact",
    "HookEvent",
    "PendingWrites",
    "Reminder",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "StoredBooking",
    "Wish",
    "WishOffer",
    "phone_digits",
]
