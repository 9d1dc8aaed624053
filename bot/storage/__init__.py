"""Everything the bot keeps in SQLite: the file, its schema and the queries on it."""

from bot.storage.database import (
    BUSY_TIMEOUT,
    Attempt,
    Contact,
    Reminder,
    Storage,
    StorageError,
    StoredBooking,
)
from bot.storage.pending import PendingWrites

__all__ = [
    "BUSY_TIMEOUT",
    "Attempt",
    "Contact",
    "PendingWrites",
    "Reminder",
    "Storage",
    "StorageError",
    "StoredBooking",
]
