"""The schema, as migrations: each runs once per database file, in order, and is never edited
once released (sqlite-utils records each by its function name), so an existing file migrates
the same way whichever version of the bot opens it."""

from __future__ import annotations

import json

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("altegio-bot")


@migrations()
def m001_initial(db: Database) -> None:
    db.table("conversations").create(
        {"name": str, "key": str, "state": str}, pk=("name", "key"), not_null={"state"}
    )
    db.table("user_data").create({"user_id": int, "data": str}, pk="user_id")
    db.table("chat_data").create({"chat_id": int, "data": str}, pk="chat_id")
    db.table("bot_data").create({"id": int, "data": str}, pk="id")
    db.table("clients").create(
        {"user_id": int, "name": str, "phone": str, "updated_at": str}, pk="user_id"
    )
    db.table("bookings").create(
        {
            "record_id": int,
            "company_id": int,
            "record_hash": str,
            "chat_id": int,
            "user_id": int,
            "service_ids": str,
            "staff_id": int,
            "start": str,
            "length": int,
            "created_at": str,
        },
        pk="record_id",
    )
    db.table("bookings").create_index(["chat_id", "start"])


@migrations()
def m002_appointments_and_reminders(db: Database) -> None:
    bookings = db.table("bookings")
    bookings.add_column("phone", str, not_null_default="")
    bookings.add_column("fullname", str, not_null_default="")
    # active | cancelled (by the client through the bot) | deleted (by the salon)
    bookings.add_column("status", str, not_null_default="active")
    db.table("clients").add_column("user_token", str)
    db.table("chats").create(
        {"chat_id": int, "reminders": int, "language": str},
        pk="chat_id",
        defaults={"reminders": 1},
    )
    db.table("reminders").create(
        {
            "id": int,
            "record_id": int,
            "chat_id": int,
            "kind": str,  # before | after
            "offset_minutes": int,
            "due_at": int,  # Unix seconds, UTC: the index orders it, ticks read only what is due
            "status": str,  # pending | claimed | sent | dropped
            "claimed_at": int,
        },
        pk="id",
        not_null={"record_id", "chat_id", "kind", "due_at", "status"},
    )
    db.table("reminders").create_index(["status", "due_at"])
    db.table("reminders").create_index(["record_id"])


@migrations()
def m003_what_is_known(db: Database) -> None:
    bookings = db.table("bookings")
    # What the client was told they booked: shown when Altegio cannot be asked.
    bookings.add_column("title", str, not_null_default="")
    bookings.add_column("staff_name", str, not_null_default="")
    clients = db.table("clients")
    clients.add_column("email", str, not_null_default="")
    clients.add_column("policy", str, not_null_default="")  # the privacy policy they accepted
    # Reads of an appointment that failed before its reminder: the next try backs off.
    db.table("reminders").add_column("attempts", int, not_null_default=0)
    db.table("reminders").add_column("failing_since", int)  # Unix seconds of the first failure
    db.table("locations").create({"company_id": int, "facts": str}, pk="company_id")


@migrations()
def m004_owner(db: Database) -> None:
    # Which Altegio location the stored data belongs to: one file, one location.
    db.table("meta").create({"key": str, "value": str}, pk="key")


@migrations()
def m005_attempts(db: Database) -> None:
    # A booking call on its way to Altegio, written before it is sent: after a crash, or an
    # answer that never came, it says what may have been booked, for whom, and since when.
    db.table("attempts").create(
        {
            "flow": str,
            "chat_id": int,
            "user_id": int,
            "data": str,  # JSON: what was asked for
            "state": str,  # sending | checking | booked | not_booked | unknown
            "started_at": int,  # Unix seconds
            "check_at": int,  # when the next look is due
            "deadline": int,  # when looking stops and the salon takes over
            "answered": int,  # Altegio answered success, unreadably
        },
        pk="flow",
        not_null={"chat_id", "user_id", "data", "state", "started_at"},
    )
    db.table("attempts").create_index(["state", "check_at"])


@migrations()
def m006_one_language(db: Database) -> None:
    # The client's language has one home: the chat's row, set by /language. A booking keeps the
    # language it was made in, for its reminders when the client never chose one. Choices kept
    # with the conversation state until now move to the chat's row (a private chat's id is its
    # user's).
    db.table("bookings").add_column("language", str, not_null_default="")
    for row in list(db.table("user_data").rows):
        data = json.loads(row["data"])
        chosen = data.pop("language", None) if isinstance(data, dict) else None
        if not isinstance(chosen, str) or not chosen:
            continue
        db.execute(
            "INSERT INTO chats (chat_id, language) VALUES (?, ?) "
            "ON CONFLICT (chat_id) DO UPDATE SET language = excluded.language",
            [row["user_id"], chosen],
        )
        db.table("user_data").update(row["user_id"], {"data": json.dumps(data)})


@migrations()
def m007_salon_view(db: Database) -> None:
    # One-time codes that make a chat an admin chat: kept hashed, spent once, until they expire.
    db.table("admin_codes").create({"code_hash": str, "expires_at": int}, pk="code_hash")
    # Admin chats added with a code (`authorized`), and each admin chat's own choices: notices
    # on or off, the Monday of the last weekly digest sent (ADMIN_CHAT_ID's row holds only these).
    db.table("admin_chats").create(
        {"chat_id": int, "authorized": int, "notices": int, "digest_week": str},
        pk="chat_id",
        defaults={"authorized": 0, "notices": 1, "digest_week": ""},
    )
    # The booking funnel: a draft's milestones (started, chose_time, booked), each once, with
    # the step the client was on and when (Unix seconds). The `started` row follows the client's
    # step, so a draft never booked tells where it stopped. Moves and cancels through the bot
    # are kept here too, for the weekly digest.
    db.table("funnel").create(
        {"flow": str, "event": str, "step": str, "at": int},
        pk=("flow", "event"),
        not_null={"step", "at"},
    )
    db.table("funnel").create_index(["event", "at"])


@migrations()
def m008_client_accounts(db: Database) -> None:
    clients = db.table("clients")
    # The phone Altegio's user token belongs to (digits only): the client proved it with an SMS
    # code, so records the salon makes for that phone are theirs to see.
    clients.add_column("verified_phone", str, not_null_default="")
    # When Altegio stopped accepting the client's token (Unix seconds): they are asked to
    # verify again; 0 when it is accepted or there never was one.
    clients.add_column("token_refused_at", int, not_null_default=0)
    # Appointments the bot learnt of from the client's Altegio account (made by phone, on the
    # salon's web page) have no record hash: the user token reads and changes them.
    db.table("bookings").create_index(["user_id", "start"])


@migrations()
def m009_salon_changes(db: Database) -> None:
    # Altegio's webhook events, kept before they are answered so a restart loses none, keyed by
    # what makes one event (`company_id:resource:resource_id:status:last_change_date`): a
    # repeated delivery finds its key taken. `done` once processed; kept a while for repeats.
    db.table("hook_inbox").create(
        {
            "key": str,
            "record_id": int,
            "status": str,  # create | update | delete
            "changed_at": int,  # last_change_date in Unix seconds; 0 when the event gave none
            "body": str,  # the event's JSON
            "received_at": int,  # Unix seconds
            "done": int,
        },
        pk="key",
        not_null={"record_id", "status", "body", "received_at"},
        defaults={"changed_at": 0, "done": 0},
    )
    db.table("hook_inbox").create_index(["done", "received_at"])
    # Per record, the newest change the bot has followed: an older event arriving later (order
    # is not guaranteed) changes nothing.
    db.table("hook_marks").create({"record_id": int, "changed_at": int}, pk="record_id")


@migrations()
def m010_visits(db: Database) -> None:
    # Consecutive appointments with different team members booked as one visit: each record
    # names the visit's first record, so the list, a move and a cancel take the visit whole.
    bookings = db.table("bookings")
    bookings.add_column("visit_id", int, not_null_default=0)
    bookings.create_index(["visit_id"])


@migrations()
def m011_classes(db: Database) -> None:
    # Seats in a group class are kept as bookings (the record id and hash the event's book call
    # gives); the event names the class, which is cancelled like any appointment, never moved.
    db.table("bookings").add_column("activity_id", int, not_null_default=0)


@migrations()
def m012_waiting_list(db: Database) -> None:
    # Wishes: a client waits for a time to free up for these services (JSON list) with this
    # team member (0: anyone) on one of the days from `first_day` to `last_day`, until
    # `ends_at` (the end of the last day, Unix seconds). First in line: the oldest `id`.
    db.table("wishes").create(
        {
            "id": int,
            "user_id": int,
            "chat_id": int,
            "language": str,
            "service_ids": str,
            "staff_id": int,
            "first_day": str,
            "last_day": str,
            "created_at": int,
            "ends_at": int,
        },
        pk="id",
        not_null={"user_id", "chat_id", "service_ids", "staff_id", "first_day", "last_day"},
    )
    db.table("wishes").create_index(["user_id"])
    db.table("wishes").create_index(["ends_at"])
    # What the watcher knows of each (services, team member, day) some wish covers: the free
    # times at its last read (JSON `[[datetime, length], ...]`, NULL before the first read),
    # and when the next read is due (Unix seconds; 0: at once, a webhook said it changed).
    db.table("wish_watch").create(
        {"key": str, "free": str, "read_at": int, "due_at": int}, pk="key"
    )
    db.table("wish_watch").create_index(["due_at"])
    # Freed times offered: to which wish, until when, and what became of the offer
    # (open | taken | passed: "No thanks", the minutes ran out, or the message was not delivered).
    db.table("wish_offers").create(
        {
            "id": int,
            "wish_id": int,
            "watch_key": str,
            "staff_id": int,
            "slot": str,
            "length": int,
            "until": int,
            "state": str,
        },
        pk="id",
        not_null={"wish_id", "watch_key", "slot", "until", "state"},
    )
    db.table("wish_offers").create_index(["wish_id"])
    db.table("wish_offers").create_index(["state", "until"])


@migrations()
def m013_chains(db: Database) -> None:
    # A chain's client chooses a location: kept per chat (NULL: not chosen yet). A wish is
    # for a time at one location (0: the bot's own, as before chains).
    db.execute("ALTER TABLE chats ADD COLUMN company_id INTEGER")
    db.execute("ALTER TABLE wishes ADD COLUMN company_id INTEGER NOT NULL DEFAULT 0")


@migrations()
def m014_telegram_updates(db: Database) -> None:
    # Telegram's updates taken by the webhook (their ids, and when): one Telegram sends again
    # (no answer in time, a replica that did not answer) is handled once.
    db.table("telegram_updates").create({"update_id": int, "received_at": int}, pk="update_id")
    db.table("telegram_updates").create_index(["received_at"])


@migrations()
def m015_update_inbox(db: Database) -> None:
    # A webhook update kept until it is handled (its chat, its body, the replica that took it):
    # one taken by a process that died before handling it is handled after all, by another
    # replica or at the next start. Updates noted before are all handled (done = 1).
    db.execute("ALTER TABLE telegram_updates ADD COLUMN chat_id INTEGER")
    db.execute("ALTER TABLE telegram_updates ADD COLUMN body TEXT")
    db.execute("ALTER TABLE telegram_updates ADD COLUMN taken_by INTEGER")
    db.execute("ALTER TABLE telegram_updates ADD COLUMN done INTEGER NOT NULL DEFAULT 1")
    db.execute("CREATE INDEX telegram_updates_open ON telegram_updates (done, chat_id)")
