"""Clients: the contact details they gave, and the Altegio user token that reads their records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.engine import Sql


def phone_digits(phone: str) -> str:
    """A phone number as kept for comparing: its digits alone."""
    return "".join(c for c in phone if c.isdigit())


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    phone: str
    email: str = ""
    policy: str = ""  # a fingerprint of the salon's privacy policy the client accepted


class ClientRows:
    """The `clients` table: one row per Telegram user."""

    sql: Sql

    # The writes are plain statements (sqlite-utils reads the schema first).

    def contact(self, user_id: int) -> Contact | None:
        row = self.sql.execute(
            "SELECT name, phone, email, policy FROM clients WHERE user_id = ?", (user_id,)
        ).fetchone()
        if row is None or not row[0] or not row[1]:
            return None  # only a user token is kept for them so far
        return Contact(row[0], row[1], row[2] or "", row[3] or "")

    def remember_contact(self, user_id: int, contact: Contact, now: datetime) -> None:
        """The client's details for next time; an e-mail or a policy left empty keeps the one
        already known."""
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO clients (user_id, name, phone, email, policy, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, "
                "phone = excluded.phone, updated_at = excluded.updated_at, "
                "email = CASE WHEN excluded.email = '' THEN clients.email "
                "ELSE excluded.email END, "
                "policy = CASE WHEN excluded.policy = '' THEN clients.policy "
                "ELSE excluded.policy END",
                (
                    user_id,
                    contact.name,
                    contact.phone,
                    contact.email,
                    contact.policy,
                    now.isoformat(),
                ),
            )

    def set_user_token(self, user_id: int, token: str, phone: str = "") -> None:
        """Keep the client's Altegio user token and the phone it belongs to (a client not
        remembered yet gets a row); a token accepted again clears an earlier refusal."""
        number = phone_digits(phone)
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO clients (user_id, user_token, verified_phone) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET user_token = excluded.user_token, "
                "token_refused_at = 0, verified_phone = CASE WHEN excluded.verified_phone = '' "
                "THEN clients.verified_phone ELSE excluded.verified_phone END",
                (user_id, token, number),
            )

    def user_token(self, user_id: int) -> str | None:
        # A plain statement: every appointment read asks for it (sqlite-utils reads the schema).
        row = self.sql.execute(
            "SELECT user_token FROM clients WHERE user_id = ?", (user_id,)
        ).fetchone()
        return str(row[0]) if row and row[0] else None

    def refuse_user_token(self, user_id: int, token: str, now: datetime) -> None:
        """Altegio no longer accepts `token`: it is dropped (only if it is still the one kept)
        and the client is asked to verify again; their bookings and details stay."""
        with self.sql.transaction():
            self.sql.execute(
                "UPDATE clients SET user_token = NULL, token_refused_at = ? "
                "WHERE user_id = ? AND user_token = ?",
                (int(now.timestamp()), user_id, token),
            )

    def token_refused(self, user_id: int) -> bool:
        row = self.sql.execute(
            "SELECT token_refused_at FROM clients WHERE user_id = ?", (user_id,)
        ).fetchone()
        return bool(row and row[0])

    def verified_phone(self, user_id: int) -> str:
        row = self.sql.execute(
            "SELECT verified_phone FROM clients WHERE user_id = ? AND user_token IS NOT NULL",
            (user_id,),
        ).fetchone()
        return str(row[0]) if row and row[0] else ""

    def verified_clients(self, phone: str) -> list[int]:
        """The Telegram users holding a user token for `phone` (compared by its digits)."""
        number = phone_digits(phone)
        if not number:
            return []
        rows = self.sql.execute(
            "SELECT user_id FROM clients WHERE verified_phone = ? AND user_token IS NOT NULL "
            "ORDER BY user_id",
            (number,),
        ).fetchall()
        return [int(r[0]) for r in rows]
