"""The waiting list: clients' wishes, what the watcher knows of the days they cover, and the
freed times offered."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.storage.engine import Sql


@dataclass(frozen=True, slots=True)
class Wish:
    id: int
    user_id: int
    chat_id: int
    language: str
    service_ids: tuple[int, ...]
    staff_id: int  # 0: anyone
    first_day: date
    last_day: date
    created_at: int  # Unix seconds
    ends_at: int
    company_id: int = 0  # the location it was made at (0: the bot's own, as before chains)


@dataclass(frozen=True, slots=True)
class WishOffer:
    id: int
    wish_id: int
    watch_key: str
    staff_id: int
    slot: str  # Altegio's own `datetime`, echoed back when booking
    length: int
    until: int  # Unix seconds
    state: str  # open | taken | passed


Free = list[tuple[str, int]]  # a day's free times: Altegio's `datetime` and the length

_WISH = (
    "id, user_id, chat_id, language, service_ids, staff_id, first_day, last_day, created_at, "
    "ends_at, company_id"
)
_OFFER = "id, wish_id, watch_key, staff_id, slot, length, until, state"


def _wish(row: tuple[object, ...]) -> Wish:
    return Wish(
        id=int(str(row[0])),
        user_id=int(str(row[1])),
        chat_id=int(str(row[2])),
        language=str(row[3] or ""),
        service_ids=tuple(json.loads(str(row[4]))),
        staff_id=int(str(row[5])),
        first_day=date.fromisoformat(str(row[6])),
        last_day=date.fromisoformat(str(row[7])),
        created_at=int(str(row[8] or 0)),
        ends_at=int(str(row[9] or 0)),
        company_id=int(str(row[10] or 0)),
    )


def _offer(row: tuple[object, ...]) -> WishOffer:
    return WishOffer(
        id=int(str(row[0])),
        wish_id=int(str(row[1])),
        watch_key=str(row[2]),
        staff_id=int(str(row[3] or 0)),
        slot=str(row[4]),
        length=int(str(row[5] or 0)),
        until=int(str(row[6])),
        state=str(row[7]),
    )


class WaitlistRows:
    """The `wishes`, `wish_watch` and `wish_offers` tables."""

    sql: Sql

    # --- wishes ------------------------------------------------------------------------------

    def add_wish(self, wish: Wish) -> int:
        with self.sql.transaction():
            cursor = self.sql.execute(
                "INSERT INTO wishes (user_id, chat_id, language, service_ids, staff_id, "
                "first_day, last_day, created_at, ends_at, company_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    wish.user_id,
                    wish.chat_id,
                    wish.language,
                    json.dumps(list(wish.service_ids)),
                    wish.staff_id,
                    wish.first_day.isoformat(),
                    wish.last_day.isoformat(),
                    wish.created_at,
                    wish.ends_at,
                    wish.company_id,
                ),
            )
            (ident,) = cursor.fetchone()
        return int(ident)

    def wish(self, wish_id: int) -> Wish | None:
        row = self.sql.execute(f"SELECT {_WISH} FROM wishes WHERE id = ?", (wish_id,))
        found = row.fetchone()
        return _wish(found) if found else None

    def wishes_of(self, user_id: int) -> list[Wish]:
        rows = self.sql.execute(
            f"SELECT {_WISH} FROM wishes WHERE user_id = ? ORDER BY first_day, id", (user_id,)
        ).fetchall()
        return [_wish(r) for r in rows]

    def all_wishes(self) -> list[Wish]:
        """Every wish, first in line first."""
        rows = self.sql.execute(f"SELECT {_WISH} FROM wishes ORDER BY id").fetchall()
        return [_wish(r) for r in rows]

    def drop_wish(self, wish_id: int) -> None:
        with self.sql.transaction():
            self.sql.execute("DELETE FROM wish_offers WHERE wish_id = ?", (wish_id,))
            self.sql.execute("DELETE FROM wishes WHERE id = ?", (wish_id,))

    def drop_ended_wishes(self, now: int) -> int:
        with self.sql.transaction():
            self.sql.execute(
                "DELETE FROM wish_offers WHERE wish_id IN "
                "(SELECT id FROM wishes WHERE ends_at <= ?)",
                (now,),
            )
            cursor = self.sql.execute("DELETE FROM wishes WHERE ends_at <= ?", (now,))
        return cursor.rowcount

    # --- what the watcher knows ---------------------------------------------------------------

    def watched(self) -> dict[str, tuple[Free | None, int, int]]:
        """Every key watched: its free times at the last read (None: not read yet), when it
        was read and when the next read is due."""
        rows = self.sql.execute("SELECT key, free, read_at, due_at FROM wish_watch")
        return {
            str(r[0]): (
                [(str(s), int(n)) for s, n in json.loads(r[1])] if r[1] is not None else None,
                int(r[2] or 0),
                int(r[3] or 0),
            )
            for r in rows.fetchall()
        }

    def watch(self, keys: Iterable[str], due_at: int) -> None:
        """Start watching keys not watched yet (their first read due at `due_at`)."""
        with self.sql.transaction():
            self.sql.executemany(
                "INSERT INTO wish_watch (key, free, read_at, due_at) "
                "VALUES (?, NULL, 0, ?) ON CONFLICT DO NOTHING",
                [(key, due_at) for key in keys],
            )

    def know_free(self, key: str, free: Free, read_at: int, due_at: int) -> None:
        with self.sql.transaction():
            self.sql.execute(
                "INSERT INTO wish_watch (key, free, read_at, due_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET free = excluded.free, "
                "read_at = excluded.read_at, due_at = excluded.due_at",
                (key, json.dumps([list(s) for s in free]), read_at, due_at),
            )

    def put_off(self, key: str, due_at: int) -> None:
        """A read that failed: the day is looked at again later, what was known kept."""
        with self.sql.transaction():
            self.sql.execute("UPDATE wish_watch SET due_at = ? WHERE key = ?", (due_at, key))

    def look_now(self, keys: Iterable[str]) -> None:
        """A webhook said these days changed: read them first."""
        with self.sql.transaction():
            self.sql.executemany(
                "UPDATE wish_watch SET due_at = 0 WHERE key = ?", [(k,) for k in keys]
            )

    def unwatch(self, keys: Iterable[str]) -> None:
        with self.sql.transaction():
            self.sql.executemany("DELETE FROM wish_watch WHERE key = ?", [(k,) for k in keys])

    # --- offers -------------------------------------------------------------------------------

    def add_offer(self, offer: WishOffer) -> int:
        with self.sql.transaction():
            cursor = self.sql.execute(
                "INSERT INTO wish_offers (wish_id, watch_key, staff_id, slot, length, until, "
                "state) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    offer.wish_id,
                    offer.watch_key,
                    offer.staff_id,
                    offer.slot,
                    offer.length,
                    offer.until,
                    offer.state,
                ),
            )
            (ident,) = cursor.fetchone()
        return int(ident)

    def offer(self, offer_id: int) -> WishOffer | None:
        row = self.sql.execute(f"SELECT {_OFFER} FROM wish_offers WHERE id = ?", (offer_id,))
        found = row.fetchone()
        return _offer(found) if found else None

    def offers(self, *, state: str | None = None) -> list[WishOffer]:
        if state is None:
            rows = self.sql.execute(f"SELECT {_OFFER} FROM wish_offers ORDER BY id")
        else:
            rows = self.sql.execute(
                f"SELECT {_OFFER} FROM wish_offers WHERE state = ? ORDER BY id", (state,)
            )
        return [_offer(r) for r in rows.fetchall()]

    def set_offer(self, offer_id: int, state: str) -> None:
        with self.sql.transaction():
            self.sql.execute("UPDATE wish_offers SET state = ? WHERE id = ?", (state, offer_id))
