"""Replicas of one bot (one PostgreSQL schema) sharing its background work: each piece done once.

Every replica runs the tick. Reminders are claimed row by row (`FOR UPDATE SKIP LOCKED`, in
`bot/storage/reminder_rows.py`), each claim marked with the replica's id; the rest of the
periodic work (the webhook subscription, unanswered bookings, the weekly digest, the waiting
list's watcher) is done by one leader at a time, and the inbox of webhook events, followed from
any replica's tick or at once when one receives an event, by one replica at a time.

All of it rests on session-level advisory locks, held on a connection of the replica's own
(`Replica`), apart from the storage's:
- `(ALIVE, id)`, held for the replica's lifetime: its id is "alive" while it is held, as
  `pg_locks` shows to the others. A claim whose replica is no longer alive goes back to the
  queue at once; a live replica's claim is never taken from it, however slow its send.
- `(LEAD, kind)`: the leader of a kind of work, tried again at each tick and kept while held.
- `(LEAD, kind)` taken and given back around one run (`hold`): the inbox.

PostgreSQL drops a session's locks when its connection ends: a replica that dies (killed, its
host gone and the connection timed out) gives up its id and its leads, and another takes over
within a tick. A replica whose own connection broke has lost them too: it takes them again on a
new one, under the same id where nobody took it meanwhile. psycopg is loaded only by a `Replica`,
made only with DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import logging
import random
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5  # seconds

# The kinds of work with one doer at a time.
PERIODIC = "periodic"  # everything periodic but reminders and the inbox
INBOX = "inbox"  # the webhook events received (`bot/workflows/salon_changes.process`)


# The ids of the live replicas of the lock space given (each holds `(space, id)`).
_ALIVE = (
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND objsubid = 2 AND classid::bigint = %s"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _space(schema: str, what: str) -> int:
    """A lock space of a schema's own (the first of an advisory lock's two keys): positive, so
    that `pg_locks.classid` shows it as it is."""
    return zlib.crc32(f"{schema}:{what}".encode()) & 0x7FFFFFFF


class Replica:
    """This process among the replicas of one bot: its id, whether it leads a kind of work, and
    which other replicas are alive."""

    def __init__(
        self,
        url: str,
        schema: str,
        started_at: datetime,
        *,
        pick: Callable[[], int] | None = None,
    ) -> None:
        self.url = url
        self.schema = schema
        self.started_at = started_at
        self.alive_space = _space(schema, "alive")
        self.lead_space = _space(schema, "lead")
        self._pick = pick or (lambda: random.randint(1, 0x7FFFFFFF))
        self.id = 0  # none until the first connection took one
        self._conn: Any = None
        self._held: set[str] = set()  # the leads this session holds

    def _connection(self) -> Any:
        """The replica's own connection, with its id held on it; made again when lost (the
        leads with it)."""
        import psycopg  # noqa: PLC0415 (only a bot given DATABASE_URL loads its driver)
        from psycopg import sql as pgsql  # noqa: PLC0415

        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        self._held.clear()
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        try:
            wanted = self._take_id(
                conn, pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(self.schema))
            )
        except BaseException:
            conn.close()
            raise
        self.id = wanted
        self._conn = conn
        return conn

    def _take_id(self, conn: Any, search_path: Any) -> int:
        """This replica's id taken on `conn` (its own again where free), and its start noted."""
        import psycopg  # noqa: PLC0415 (see `_connection`)

        conn.execute(search_path)
        wanted = self.id or self._pick()
        for _ in range(100):
            got = conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (self.alive_space, wanted)
            ).fetchone()
            if got and got[0]:
                break
            wanted = self._pick()  # another replica's id
        else:
            raise psycopg.OperationalError("no replica id free")
        if self.id and wanted != self.id:
            log.warning("replica %s is %s now: its old claims go back", self.id, wanted)
        elif self.id:
            log.info("replica %s connected again", self.id)
        # When it started, for the others to know (the rows of replicas gone are let go).
        conn.execute(
            "INSERT INTO replicas (id, started_at) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE"
            " SET started_at = excluded.started_at",
            (wanted, int(self.started_at.timestamp())),
        )
        conn.execute(f"DELETE FROM replicas WHERE id NOT IN ({_ALIVE})", (self.alive_space,))
        return wanted

    def oldest_start(self) -> datetime | None:
        """When the longest-running live replica started (None: not known now). Whatever began
        before it was begun by a replica that is gone."""
        import psycopg  # noqa: PLC0415 (see `_connection`)

        try:
            row = (
                self._connection()
                .execute(
                    f"SELECT min(started_at) FROM replicas WHERE id IN ({_ALIVE})",
                    (self.alive_space,),
                )
                .fetchone()
            )
        except psycopg.Error as exc:
            log.warning("replica: PostgreSQL out of reach (%s)", _said(exc))
            self._drop()
            return None
        return None if row is None or row[0] is None else datetime.fromtimestamp(row[0], UTC)

    def alive(self) -> int | None:
        """This replica's id, checked held on a working connection now; None when PostgreSQL
        cannot be reached (claiming then would leave claims that look abandoned)."""
        import psycopg  # noqa: PLC0415 (see `_connection`)

        try:
            conn = self._connection()
            conn.execute("SELECT 1")
        except psycopg.Error as exc:
            log.warning("replica: PostgreSQL out of reach (%s)", _said(exc))
            self._drop()
            return None
        return self.id

    def lead(self, kind: str = PERIODIC) -> bool:
        """Whether this replica leads `kind` now: held since an earlier tick, or taken now (as
        the one who held it is gone)."""
        import psycopg  # noqa: PLC0415 (see `_connection`)

        try:
            conn = self._connection()
            if kind in self._held:
                conn.execute("SELECT 1")  # still the session that holds it
                return True
            got = conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (self.lead_space, _key(kind))
            ).fetchone()
        except psycopg.Error as exc:
            log.warning("replica: PostgreSQL out of reach (%s)", _said(exc))
            self._drop()
            return False
        if got and got[0]:
            if kind == PERIODIC:
                log.info("replica %s leads the periodic work", self.id)
            self._held.add(kind)
            return True
        return False

    @contextlib.contextmanager
    def hold(self, kind: str) -> Iterator[bool]:
        """`kind` held for the block, if nobody else holds it (True), else not (False). Not
        re-entrant within the process: the caller keeps its own lock around it."""
        got = self.lead(kind)
        try:
            yield got
        finally:
            if got:
                self._let_go(kind)

    def _let_go(self, kind: str) -> None:
        import psycopg  # noqa: PLC0415 (see `_connection`)

        self._held.discard(kind)
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            return  # gone with the session
        try:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self.lead_space, _key(kind)))
        except psycopg.Error as exc:
            log.warning("replica: lock not given back (%s)", _said(exc))
            self._drop()

    def _drop(self) -> None:
        """Forget a connection that failed: its session's locks are gone or going."""
        self._held.clear()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Stop being a replica: the id and leads are given up with the connection."""
        self._drop()


def _key(kind: str) -> int:
    return zlib.crc32(kind.encode()) & 0x7FFFFFFF


def _said(exc: Exception) -> str:
    # The first line only: never the connection string.
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def leads(replica: Replica | None, kind: str = PERIODIC) -> bool:
    """Whether this process does `kind` of work now (always, for a bot of one process)."""
    return replica is None or replica.lead(kind)


@contextlib.contextmanager
def held(replica: Replica | None, kind: str) -> Iterator[bool]:
    """`kind` held for the block by this process, or False when another replica holds it."""
    if replica is None:
        yield True
        return
    with replica.hold(kind) as got:
        yield got
