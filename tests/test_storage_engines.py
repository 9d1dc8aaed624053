"""Every query of `Storage`, against both engines: a SQLite file and a PostgreSQL schema give the
same answers. Then what only PostgreSQL has: schemas kept apart, migrations run once by replicas
starting together, a lost connection made again, the tables the same as SQLite's."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.storage import (
    AttemptState,
    Contact,
    HookEvent,
    Storage,
    StorageError,
    StorageUnavailable,
    StoredBooking,
    Wish,
    WishOffer,
)
from bot.storage.pg_schema import MIGRATIONS, PG_ONLY_COLUMNS
from bot.storage.schema import migrations

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "sqlite":
        storage = Storage.open(tmp_path / "bot.sqlite3")
    else:
        storage = Storage.open_url(request.getfixturevalue("pg_dsn"), "altegio_bot")
    yield storage
    storage.close()


def booking(record_id: int, chat_id: int = 7, **changes: object) -> StoredBooking:
    values: dict[str, object] = {
        "record_id": record_id,
        "company_id": 1001,
        "record_hash": "h" * 32,
        "chat_id": chat_id,
        "user_id": chat_id,
        "service_ids": (11, 12),
        "staff_id": 5,
        "start": NOW + timedelta(days=1, hours=record_id % 5),
        "length": 3600,
        "created_at": NOW,
        "phone": "+4915112345678",
        "fullname": "Anna",
        "title": "Cut",
    }
    values.update(changes)
    return StoredBooking(**values)  # type: ignore[arg-type]


def test_conversations_and_data(store: Storage) -> None:
    store.save_conversation("booking", (7, 7), "DAY")
    store.save_conversation("booking", (8, 8), {"step": 3})
    store.save_conversation("booking", (8, 8), None)
    assert store.conversations("booking") == {(7, 7): "DAY"}
    store.save_data("user_data", "user_id", 7, {"draft": {"flow": "a"}})
    store.save_data("user_data", "user_id", 7, {"draft": {"flow": "b"}})
    store.save_data("chat_data", "chat_id", 7, {"near": [1, 2]})
    assert store.all_data("user_data", "user_id") == {7: {"draft": {"flow": "b"}}}
    assert store.all_data("chat_data", "chat_id") == {7: {"near": [1, 2]}}
    store.save_state([(9, {"x": 1})], [7], [("booking", (9, 9), "TIME"), ("booking", (7, 7), None)])
    assert store.all_data("user_data", "user_id") == {9: {"x": 1}}
    assert store.conversations("booking") == {(9, 9): "TIME"}
    store.drop_data("chat_data", "chat_id", 7)
    assert store.all_data("chat_data", "chat_id") == {}
    with pytest.raises(ValueError, match="not a data table"):
        store.save_data("clients", "user_id", 1, {})
    assert store.bot_data() == {}
    store.save_bot_data({"a": 1})
    store.save_bot_data({"a": 2})
    assert store.bot_data() == {"a": 2}


def test_clients_and_tokens(store: Storage) -> None:
    assert store.contact(7) is None
    store.remember_contact(7, Contact("Anna", "+4915112345678", "a@example.com", "p1"), NOW)
    store.remember_contact(7, Contact("Anna B", "+4915112345679"), NOW)
    assert store.contact(7) == Contact("Anna B", "+4915112345679", "a@example.com", "p1")
    store.set_user_token(7, "token-1", "+49 151 12345678")
    store.set_user_token(7, "token-2")
    assert store.user_token(7) == "token-2"
    assert store.verified_phone(7) == "4915112345678"
    assert store.verified_clients("+49 151 12345678") == [7]
    store.refuse_user_token(7, "token-1", NOW)  # not the one kept: nothing happens
    assert store.user_token(7) == "token-2" and not store.token_refused(7)
    store.refuse_user_token(7, "token-2", NOW)
    assert store.user_token(7) is None and store.token_refused(7)
    assert store.verified_phone(7) == "" and store.verified_clients("4915112345678") == []


def test_bookings(store: Storage) -> None:
    store.record_booking(booking(3))
    store.record_booking(booking(3, title="again"))  # the same record twice: the first kept
    store.record_booking(booking(1, visit_id=1))
    store.record_booking(booking(2, visit_id=1, start=NOW + timedelta(days=1, hours=2)))
    store.record_booking(booking(4, chat_id=8))
    found = store.booking(3)
    assert found == booking(3)
    assert store.booking(99) is None
    assert [b.record_id for b in store.bookings_for_chat(7)] == [1, 2, 3]
    first = store.booking(1)
    assert first is not None
    assert [b.record_id for b in store.visit_bookings(first)] == [1, 2]
    store.update_booking(3, status="cancelled")
    store.update_booking(1, start=NOW + timedelta(days=2))
    with pytest.raises(ValueError, match="not a booking's column"):
        store.update_booking(1, colour="red")
    assert [b.record_id for b in store.upcoming_bookings(7, NOW)] == [2, 1]
    assert sorted(store.bookings_created()) == [NOW.isoformat()] * 4
    assert sorted(store.bookings_located()) == [(NOW.isoformat(), 1001)] * 4


def test_chats_and_reminders(store: Storage) -> None:
    assert store.reminders_enabled(7) and store.language(7) is None
    store.set_reminders(7, False)
    store.set_language(7, "lv")
    store.choose_location(7, 1004)
    assert not store.reminders_enabled(7) and store.language(7) == "lv"
    assert store.chosen_location(7) == 1004
    store.choose_location(7, None)
    assert store.chosen_location(7) is None and store.language(7) == "lv"
    store.replace_reminders(
        3, 7, [("before", 1440, NOW), ("before", 120, NOW + timedelta(hours=1))]
    )
    store.replace_reminders(3, 7, [("before", 1440, NOW - timedelta(minutes=1))])
    store.replace_reminders(4, 7, [("before", 60, NOW)])
    due = store.claim_due(NOW, limit=10)
    assert [(r.record_id, r.offset_minutes) for r in due] == [(3, 1440), (4, 60)]
    assert store.claim_due(NOW) == []  # claimed: nobody else's
    store.retry_reminder(due[0].id, NOW + timedelta(minutes=5), 1, NOW)
    store.release_claim(due[1].id)
    again = store.claim_due(NOW + timedelta(minutes=5))
    assert {r.id for r in again} == {due[0].id, due[1].id}
    retried = next(r for r in again if r.id == due[0].id)
    assert retried.attempts == 1 and retried.failing_since == NOW
    store.finish_reminder(due[1].id, "sent")
    assert store.release_stale_claims(NOW + timedelta(minutes=10), older_than=60) == 1
    store.drop_reminders(3)
    assert store.claim_due(NOW + timedelta(days=1)) == []


def test_locations_attempts_and_meta(store: Storage) -> None:
    assert store.location_facts(1001) == {}
    store.save_location_facts(1001, {"phone": "+49"})
    store.save_location_facts(1001, {"phone": "+48"})
    assert store.location_facts(1001) == {"phone": "+48"}
    assert store.home() is None
    store.bind(1001)
    store.bind(1001)
    assert store.home() == 1001
    with pytest.raises(StorageError, match="location 1001, not of location 1002"):
        store.bind(1002)
    store.begin_attempt("f1", 7, 7, {"slot": "10:00"}, NOW)
    store.check_attempt("f1", NOW, NOW + timedelta(hours=1), answered=True)
    store.begin_attempt("f1", 7, 7, {"slot": "11:00"}, NOW)  # the same flow again: anew
    found = store.attempt("f1")
    assert found is not None and found.data == {"slot": "11:00"}
    assert found.state is AttemptState.SENDING and found.check_at is None and not found.answered
    assert [a.flow for a in store.attempts_due(NOW, NOW + timedelta(seconds=1))] == ["f1"]
    store.settle_attempt("f1", AttemptState.BOOKED)
    assert store.attempts_due(NOW, NOW + timedelta(seconds=1)) == []
    store.forget_settled_attempts(NOW + timedelta(days=2))
    store.begin_attempt("f2", 7, 7, {}, NOW)
    store.abandon_attempt("f2")
    store.end_attempt("f2")
    assert store.attempt("f1") is None and store.attempt("f2") is None


def test_admin_and_funnel(store: Storage) -> None:
    store.add_admin_code("c1", 100)
    store.add_admin_code("c2", 10)
    assert not store.spend_admin_code("c2", 50)  # expired
    assert store.spend_admin_code("c1", 50) and not store.spend_admin_code("c1", 50)
    store.authorize_chat(-5, True)
    store.set_admin_notices(-5, False)
    store.set_digest_week(-5, "2026-11-23")
    assert store.authorized_chats() == [-5]
    assert not store.admin_notices(-5) and store.admin_notices(-6)
    assert store.digest_week(-5) == "2026-11-23" and store.digest_week(-6) == ""
    store.funnel_event("f1", ["started", "service"], "service", 100)
    store.funnel_event("f1", ["started", "time"], "time", 200)
    assert sorted(store.funnel_rows(0, 1000)) == [
        ("f1", "service", "service", 100),
        ("f1", "started", "time", 100),
        ("f1", "time", "time", 200),
    ]


def test_webhook_inbox(store: Storage) -> None:
    first = HookEvent("k1", 3, "update", 100, {"id": 3})
    assert store.keep_hook_event(first, NOW)
    assert not store.keep_hook_event(first, NOW)  # received twice: kept once
    store.keep_hook_event(HookEvent("k0", 4, "delete", 90, {}), NOW)
    assert [e.key for e in store.hook_events_waiting()] == ["k1", "k0"]  # the order received
    store.finish_hook_event("k1")
    assert [e.key for e in store.hook_events_waiting()] == ["k0"]
    store.mark_hook(3, 100)
    store.mark_hook(3, 50)  # an older mark never wins
    assert store.hook_mark(3) == 100 and store.hook_mark(4) == 0
    store.mark_hook(3, 150)
    assert store.hook_mark(3) == 150
    store.forget_hook_events(NOW + timedelta(days=30))


def test_waiting_list(store: Storage) -> None:
    wish = Wish(0, 7, 7, "de", (11,), 0, date(2026, 11, 27), date(2026, 11, 28), 100, 500, 1004)
    first = store.add_wish(wish)
    second = store.add_wish(wish)
    assert second > first > 0
    assert store.wish(first) == replace(wish, id=first)
    assert [w.id for w in store.wishes_of(7)] == [first, second]
    store.watch(["a", "b"], 10)
    store.watch(["a"], 99)  # watched already: as it was
    store.know_free("a", [("2026-11-27T10:00:00+01:00", 3600)], 5, 20)
    store.put_off("b", 30)
    store.look_now(["a"])
    assert store.watched() == {
        "a": ([("2026-11-27T10:00:00+01:00", 3600)], 5, 0),
        "b": (None, 0, 30),
    }
    store.unwatch(["b"])
    offer = store.add_offer(WishOffer(0, first, "a", 5, "2026-11-27 10:00:00", 3600, 900, "open"))
    found = store.offer(offer)
    assert found is not None and found.slot == "2026-11-27 10:00:00"
    store.set_offer(offer, "taken")
    assert [o.id for o in store.offers(state="taken")] == [offer] == [o.id for o in store.offers()]
    store.drop_wish(second)
    assert store.drop_ended_wishes(600) == 1
    assert store.all_wishes() == [] and store.offers() == []


def test_forgetting_a_client_leaves_the_others(store: Storage) -> None:
    for chat in (7, 8):
        store.record_booking(booking(chat, chat_id=chat))
        store.remember_contact(chat, Contact("X", "+4915112345678"), NOW)
        store.save_conversation("booking", (chat, chat), "DAY")
        store.save_data("user_data", "user_id", chat, {"a": 1})
        store.replace_reminders(chat, chat, [("before", 60, NOW)])
    store.forget(7, 7)
    assert store.contact(7) is None and store.bookings_for_chat(7) == []
    assert store.conversations("booking") == {(8, 8): "DAY"}
    assert list(store.all_data("user_data", "user_id")) == [8]
    assert [r.chat_id for r in store.claim_due(NOW)] == [8]


def test_a_transaction_is_all_or_nothing(store: Storage) -> None:
    with pytest.raises(RuntimeError), store.sql.transaction():
        store.sql.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
        raise RuntimeError
    assert store.sql.execute("SELECT value FROM meta WHERE key = 'a'").fetchone() is None
    with pytest.raises(StorageUnavailable):
        store.sql.execute("SELECT nothing FROM nowhere")
    store.check_writable()


# --- what only PostgreSQL has ------------------------------------------------------------------


def test_two_schemas_in_one_database_never_see_each_other(pg_dsn: str) -> None:
    riga, berlin = (
        Storage.open_url(pg_dsn, "tenant_riga"),
        Storage.open_url(pg_dsn, "tenant_berlin"),
    )
    riga.bind(1004)
    berlin.bind(1001)
    riga.record_booking(booking(1))
    riga.remember_contact(7, Contact("Anna", "+37120000000"), NOW)
    assert berlin.booking(1) is None and berlin.contact(7) is None
    assert riga.home() == 1004 and berlin.home() == 1001
    riga.close()
    berlin.close()


def test_replicas_starting_together_migrate_once(pg_dsn: str) -> None:
    opened: list[Storage] = []
    failed: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(Storage.open_url(pg_dsn, "altegio_bot"))
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failed and len(opened) == 4
    done = opened[0].sql.execute("SELECT name FROM schema_migrations").fetchall()
    assert [row[0] for row in done] == [name for name, _ in MIGRATIONS]
    for storage in opened:
        storage.close()


def test_a_lost_connection_fails_one_statement_and_is_made_again(pg_dsn: str) -> None:
    store = Storage.open_url(pg_dsn, "altegio_bot")
    store.set_language(7, "de")
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with pytest.raises(StorageUnavailable):
        store.language(7)
    assert store.language(7) == "de"
    store.close()


def test_a_database_out_of_reach_is_tried_again_only_after_a_pause(
    pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement that cannot connect fails; those of the next few seconds fail at once,
    without a connection attempt each (a black-holed database would hold the process for the
    connect timeout at every one); then it tries again, and connects once it is back."""
    from bot.storage import pg_engine

    store = Storage.open_url(pg_dsn, "altegio_bot")
    store.set_language(7, "de")
    engine: Any = store.sql
    now = [100.0]
    engine.monotonic = lambda: now[0]
    attempts = []
    real = pg_engine.psycopg.connect

    def counted(*args: Any, **kwargs: Any) -> Any:
        attempts.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(pg_engine.psycopg, "connect", counted)
    engine.close()
    engine.url = f"postgresql://bot@/nothing?host={tmp_path}&port=1"
    with pytest.raises(StorageUnavailable):
        store.language(7)
    for _ in range(20):
        with pytest.raises(StorageUnavailable, match="a moment ago"):
            store.language(7)
    assert len(attempts) == 1
    assert attempts[0]["tcp_user_timeout"] == 5000  # a silent network gives a statement up
    engine.url = pg_dsn
    now[0] += pg_engine.RETRY_AFTER
    assert store.language(7) == "de"
    assert len(attempts) == 2
    store.close()


def test_an_unreachable_database_is_said_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://bot:s3cret-pass@/nothing?host={tmp_path}&port=1"
    with pytest.raises(StorageError) as refused:
        Storage.open_url(url, "altegio_bot")
    assert "s3cret-pass" not in str(refused.value)
    with pytest.raises(StorageError, match="cannot name a PostgreSQL schema"):
        Storage.open_url(url, "Bad-Name")


def test_the_tables_and_migrations_are_sqlite_s(pg_dsn: str, tmp_path: Path) -> None:
    """Every SQLite migration after PostgreSQL's first has one of the same name there, and
    both engines end with the same tables and columns."""
    sqlite_names = [m.name for m in migrations._migrations]
    pg_names = [name for name, _ in MIGRATIONS]
    assert pg_names[0] in sqlite_names
    later = sqlite_names[sqlite_names.index(pg_names[0]) + 1 :]
    assert [n for n in later if n not in pg_names] == []
    lite = Storage.open(tmp_path / "bot.sqlite3")
    conn = lite.db.conn
    tables = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not r[0].startswith(("_", "sqlite_"))
    ]
    sqlite_columns = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in tables}
    lite.close()
    pg = Storage.open_url(pg_dsn, "altegio_bot")
    rows = pg.sql.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'altegio_bot'"
    ).fetchall()
    pg.close()
    pg_columns: dict[str, set[str]] = {}
    for table, column in rows:
        pg_columns.setdefault(table, set()).add(column)
    for table, columns in sqlite_columns.items():
        own = PG_ONLY_COLUMNS.get(table, frozenset())
        assert pg_columns.get(table, set()) - {"seq"} - own == columns, table


def test_sqlite_statements_outside_a_transaction_are_kept_at_once(tmp_path: Path) -> None:
    """Autocommit: no statement leaves the file's write lock held for a later commit."""
    store = Storage.open(tmp_path / "bot.sqlite3")
    store.drop_reminders(1)
    store.set_language(7, "et")
    with sqlite3.connect(tmp_path / "bot.sqlite3", timeout=0) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    store.close()
