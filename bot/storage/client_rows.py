"""Clients: the contact details they gave, and the Altegio user token that reads their records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    phone: str
    email: str = ""
    policy: str = ""  # a fingerprint of the salon's privacy policy the client accepted


class ClientRows:
    """The `clients` table: one row per Telegram user."""

    db: Database

    # The writes are plain statements (sqlite-utils reads the schema first).

    def contact(self, user_id: int) -> Contact | None:
        row = self.db.conn.execute(
            "SELECT name, phone, email, policy FROM clients WHERE user_id = ?", (user_id,)
        ).fetchone()
        if row is None or not row[0] or not row[1]:
            return None  # only a user token is kept for them so far
        return Contact(row[0], row[1], row[2] or "", row[3] or "")

    def remember_contact(self, user_id: int, contact: Contact, now: datetime) -> None:
        """The client's details for next time; an e-mail or a policy left empty keeps the one
        already known."""
        with self.db.conn:
            self.db.conn.execute(
                "INSERT INTO clients (user_id, name, phone, email, policy, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, "
                "phone = excluded.phone, updated_at = excluded.updated_at, "
                "email = CASE WHEN excluded.email = '' THEN email ELSE excluded.email END, "
                "policy = CASE WHEN excluded.policy = '' THEN policy ELSE excluded.policy END",
                (
                    user_id,
                    contact.name,
                    contact.phone,
                    contact.email,
                    contact.policy,
                    now.isoformat(),
                ),
            )

    def set_user_token(self, user_id: int, token: str) -> None:
        """Keep the client's Altegio user token (a client not remembered yet gets a row)."""
        with self.db.conn:
            self.db.conn.execute(
                "INSERT INTO clients (user_id, user_token) VALUES (?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET user_token = excluded.user_token",
                (user_id, token),
            )

    def user_token(self, user_id: int) -> str | None:
        # A plain statement: every appointment read asks for it (sqlite-utils reads the schema).
        row = self.db.conn.execute(
            "SELECT user_token FROM clients WHERE user_id = ?", (user_id,)
        ).fetchone()
        return str(row[0]) if row and row[0] else None
