"""Unit tests of the plain rules: typed days, phones, names, drafts, the codec, formats."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.draft import (
    Draft,
    clean_comment,
    clean_name,
    display_phone,
    mask_phone,
    nearest_days,
    normalize_phone,
    parse_day,
)
from bot.i18n import Catalogs
from bot.keyboards import MAX_BYTES, Callback, decode
from bot.settings import Settings, SettingsError
from bot.storage import Contact, Storage, StorageError, StoredBooking

ROOT = Path(__file__).resolve().parent.parent

TODAY = date(2026, 11, 24)  # a Tuesday


@pytest.mark.parametrize(
    ("text", "languages", "expected", "after"),
    [
        ("tomorrow", ["en"], date(2026, 11, 25), None),
        ("Friday", ["en"], date(2026, 11, 27), None),
        ("next Friday", ["en"], date(2026, 11, 27), None),
        ("25.12", ["en"], date(2026, 12, 25), None),
        ("25/12", ["en"], date(2026, 12, 25), None),
        ("12/25", ["en"], date(2026, 12, 25), None),
        ("1.12.", ["en"], date(2026, 12, 1), None),
        ("5.1.2027", ["en"], date(2027, 1, 5), None),
        ("2027-01-05", ["en"], date(2027, 1, 5), None),
        ("20", ["en"], date(2026, 12, 20), None),  # the 20th has passed this month
        ("30", ["en"], date(2026, 11, 30), None),
        ("3.3", ["en"], date(2027, 3, 3), None),  # past this year: next year
        ("tomorrow after 5", ["en"], date(2026, 11, 25), 17 * 60),
        ("Friday after 10:30", ["en"], date(2026, 11, 27), 10 * 60 + 30),
        ("завтра", ["ru"], date(2026, 11, 25), None),
        ("послезавтра", ["ru"], date(2026, 11, 26), None),
        ("в пятницу после 6", ["ru"], date(2026, 11, 27), 18 * 60),
        ("следующий вторник", ["ru"], date(2026, 12, 1), None),
        ("25 декабря", ["ru"], date(2026, 12, 25), None),
        ("tomorrow", ["ru"], date(2026, 11, 25), None),  # English always understood too
    ],
)
def test_typed_days(text: str, languages: list[str], expected: date, after: int | None) -> None:
    typed = parse_day(text, languages, TODAY)
    assert typed is not None
    assert (typed.day, typed.after) == (expected, after)


@pytest.mark.parametrize("text", ["March", "2027", "nonsense", "", "31.02", "🙂", "x" * 500])
def test_typed_days_that_name_no_single_day(text: str) -> None:
    assert parse_day(text, ["en"], TODAY) is None


@given(st.text(max_size=80))
def test_typed_days_never_crash(text: str) -> None:
    result = parse_day(text, ["ru"], TODAY)
    assert result is None or isinstance(result.day, date)


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("+49 151 23456789", "DE", "+4915123456789"),
        ("0151 23456789", "DE", "+4915123456789"),
        ("0049 151 2345 6789", "DE", "+4915123456789"),
        ("+49 (151) 234-567-89", None, "+4915123456789"),
        ("4915123456789", "DE", "+4915123456789"),  # as Telegram shares it, without the plus
        ("8 916 150-22-39", "RU", "+79161502239"),
        ("+1 315 555 0175", "DE", "+13155550175"),
        ("12345", "DE", None),
        ("0151 23456789", None, None),  # a national number needs a known country
        ("call me", "DE", None),
        ("+49 151 2345678901234567890", "DE", None),
    ],
)
def test_phone_numbers(text: str, region: str | None, expected: str | None) -> None:
    assert normalize_phone(text, region) == expected


def test_phone_display_and_mask() -> None:
    assert display_phone("+4917612345678") == "+49 176 12345678"
    masked = mask_phone("+4917612345678")
    assert "12345678" not in masked and masked.startswith("+491")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Anna   Schmidt ", "Anna Schmidt"),
        ("Анна", "Анна"),
        ("Ann\x00a", "Anna"),
        ("12345", None),
        ("", None),
        ("A" * 65, None),
    ],
)
def test_names(text: str, expected: str | None) -> None:
    assert clean_name(text) == expected


def test_draft_survives_json() -> None:
    draft = Draft(service_id=10001, staff_id=0, day="2026-11-27", slot="2026-11-27T10:00:00+01:00")
    again = Draft.from_json(draft.as_json())
    assert again == draft
    assert Draft.from_json({"flow": "abc123", "unknown_field": 1}) == Draft(flow="abc123")
    assert Draft.from_json("not a dict") is None


def test_nearest_days_prefers_close_and_later_days() -> None:
    days = [date(2026, 11, 20), date(2026, 11, 26), date(2026, 11, 28), date(2026, 12, 10)]
    assert nearest_days(date(2026, 11, 27), days, count=2) == [
        date(2026, 11, 26),
        date(2026, 11, 28),
    ]
    assert nearest_days(date(2026, 11, 27), [], count=2) == []


# --- callback codec -------------------------------------------------------------------------


def test_callback_round_trip_and_limits() -> None:
    for callback in [
        Callback("a1b2c3", "svc", "10001"),
        Callback("-", "book"),
        Callback("a1b2c3", "tim", "202611271000"),
        Callback("a1b2c3", "tim", "202802292359"),
        Callback("a1b2c3", "mon", "202612"),
        Callback("a1b2c3", "chg", "who"),
    ]:
        data = callback.encode()
        assert len(data.encode()) <= MAX_BYTES
        assert decode(data) == callback


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "b0:a1b2c3:svc:1",  # another codec version
        "b1:a1b2c3:svc",  # missing argument
        "b1:a1b2c3:svc:abc",
        "b1:a1b2c3:day:20261332",  # no such day
        "b1:a1b2c3:day:20270229",  # no 29 February in 2027
        "b1:a1b2c3:mon:202613",  # no such month
        "b1:a1b2c3:tim:202611272400",  # no such hour
        "b1:a1b2c3:tim:202611271060",  # no such minute
        "b1:a1b2c3:tim:202611311000",  # no such day
        "b1:a1b2c3:mon:999912",  # a calendar past the last year a date can have
        "b1:a1b2c3:day:00010101",
        "b1:A1B2C3:svc:1",
        "b1:a1b2c3:rm -rf:1",
        "b1:a1b2c3:svc:1:extra",
        "b1:" + "a" * 70,
    ],
)
def test_forged_callback_data_is_rejected(data: str | None) -> None:
    assert decode(data) is None


@given(st.text(max_size=80))
def test_decode_never_crashes(data: str) -> None:
    decoded = decode(data)
    assert decoded is None or decoded.encode() == data


def test_encoding_refuses_what_decoding_would_refuse() -> None:
    with pytest.raises(ValueError):
        Callback("a1b2c3", "svc", "not-a-number").encode()


# --- formats --------------------------------------------------------------------------------


def test_formats_follow_the_locale() -> None:
    catalogs = Catalogs(("en", "ru"), "en")
    en, ru = catalogs.translator("en"), catalogs.translator("ru")
    assert en.price(Decimal(40), "EUR") == "€40"
    assert en.price(Decimal("40.5"), "EUR") == "€40.50"
    assert en.price_range(Decimal(40), Decimal(60), "EUR") == "€40–€60"
    assert ru.price(Decimal(40), "EUR") == "40\xa0€"
    assert en.duration(3600) == "1 hour"
    assert en.duration(7200) == "2 hours"
    assert en.duration(5400) == "1 h 30 min"
    assert en.duration(2700) == "45 min"
    assert ru.duration(7200) == "2 часа"
    assert ru.duration(5 * 3600) == "5 часов"
    assert en.time(datetime(2026, 1, 1, 15, 0)) == "3:00\u202fPM"
    assert ru.time(datetime(2026, 1, 1, 15, 0)) == "15:00"
    assert ru.weekday_initials()[0] == "пн"


def test_language_is_picked_from_telegram_codes() -> None:
    catalogs = Catalogs(("en", "ru"), "en")
    assert catalogs.pick("ru") == "ru"
    assert catalogs.pick("ru-RU") == "ru"
    assert catalogs.pick("en-GB") == "en"
    assert catalogs.pick("xx") == "en"
    assert catalogs.pick(None) == "en"


# --- settings -------------------------------------------------------------------------------


def test_settings_defaults_to_the_sandbox(tmp_path: Path) -> None:
    settings = Settings.load(env={}, env_file=tmp_path / "missing")
    assert settings.sandbox
    assert settings.altegio_company_id == 1001
    assert settings.default_language == "en"
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        settings.require_telegram_token()


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"ALTEGIO_PARTNER_TOKEN": "abc"}, "ALTEGIO_COMPANY_ID"),
        ({"ALTEGIO_COMPANY_ID": "salon"}, "ALTEGIO_COMPANY_ID"),
        ({"TELEGRAM_BOT_TOKEN": "nope"}, "TELEGRAM_BOT_TOKEN"),
        ({"BOT_DEFAULT_LANGUAGE": "tlh"}, "BOT_DEFAULT_LANGUAGE"),
        ({"ALTEGIO_BASE_URL": "ftp://x"}, "ALTEGIO_BASE_URL"),
        ({"TELEGRAM_API_BASE_URL": "localhost"}, "TELEGRAM_API_BASE_URL"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"ALTEGIO_NOTIFY_BY_SMS": "sometimes"}, "ALTEGIO_NOTIFY_BY_SMS"),
        ({"ALTEGIO_NOTIFY_BY_EMAIL": "9999"}, "ALTEGIO_NOTIFY_BY_EMAIL"),
    ],
)
def test_settings_errors_name_the_variable(
    env: dict[str, str], variable: str, tmp_path: Path
) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.load(env=env, env_file=tmp_path / "missing")


@pytest.mark.parametrize(
    ("text", "hours"), [("", None), ("salon", None), ("off", 0), ("0", 0), ("24", 24), ("3h", 3)]
)
def test_the_salons_own_reminders_setting(text: str, hours: int | None, tmp_path: Path) -> None:
    env = {"ALTEGIO_NOTIFY_BY_SMS": text, "ALTEGIO_NOTIFY_BY_EMAIL": text}
    settings = Settings.load(env=env, env_file=tmp_path / "missing")
    assert settings.notify_by_sms == hours and settings.notify_by_email == hours


def test_settings_from_env_file_and_environment(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nexport ALTEGIO_PARTNER_TOKEN='secret'\nALTEGIO_COMPANY_ID=123456 # main\n"
        'BOT_DEFAULT_LANGUAGE="ru"\n',
        encoding="utf-8",
    )
    settings = Settings.load(env={"ALTEGIO_COMPANY_ID": "777"}, env_file=env_file)
    assert not settings.sandbox
    assert settings.partner_token == "secret"
    assert settings.altegio_company_id == 777  # the environment wins
    assert settings.default_language == "ru"


# --- storage --------------------------------------------------------------------------------


def test_storage_keeps_conversations_bookings_and_contacts(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    storage = Storage.open(path)
    storage.save_conversation("booking", (1, 1), "day")
    storage.save_data("user_data", "user_id", 1, {"draft": {"flow": "abc123"}})
    booking = StoredBooking(
        record_id=42,
        company_id=1001,
        record_hash="0" * 32,
        chat_id=1,
        user_id=1,
        service_ids=(10001,),
        staff_id=2001,
        start=datetime.fromisoformat("2026-11-27T10:00:00+01:00"),
        length=3600,
        created_at=datetime.fromisoformat("2026-11-24T09:00:00+01:00"),
    )
    storage.record_booking(booking)
    storage.record_booking(booking)  # a repeat is a no-op
    storage.remember_contact(1, Contact("Anna", "+4915123456789"), booking.created_at)
    storage.close()

    again = Storage.open(path)  # migrations are applied once
    assert again.conversations("booking") == {(1, 1): "day"}
    assert again.all_data("user_data", "user_id") == {1: {"draft": {"flow": "abc123"}}}
    assert again.bookings_for_chat(1) == [booking]
    assert again.contact(1) == Contact("Anna", "+4915123456789")
    again.save_conversation("booking", (1, 1), None)
    assert again.conversations("booking") == {}
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_storage_that_cannot_be_opened_fails_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(StorageError, match="cannot open"):
        Storage.open(blocker / "bot.sqlite3")


def test_a_second_process_on_the_same_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = Storage.open(path)
    with pytest.raises(StorageError, match="another bot process is using"):
        Storage.open(path)
    first.close()
    Storage.open(path).close()  # free again once the first has stopped


def test_a_database_of_another_location_is_refused(tmp_path: Path) -> None:
    storage = Storage.open(tmp_path / "bot.sqlite3")
    storage.bind(1001)
    storage.bind(1001)
    with pytest.raises(StorageError, match="location 1001, not of location 1002"):
        storage.bind(1002)
    storage.close()


def test_two_bots_started_from_one_folder_do_not_mix(tmp_path: Path) -> None:
    """The second `altegio-bot` started on the same file stops at once with a clear message."""
    env = {**os.environ, "BOT_DB_PATH": str(tmp_path / "bot.sqlite3"), "PYTHONPATH": str(ROOT)}
    env.pop("ALTEGIO_PARTNER_TOKEN", None)
    first = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert first.stdout is not None
        while "Type a message" not in first.stdout.readline():
            pass
        second = subprocess.run(
            [sys.executable, "-m", "bot", "chat", "--language", "de"],
            input="/quit\n",
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**env, "ALTEGIO_COMPANY_ID": "1002"},
            timeout=60,
            check=False,
        )
    finally:
        first.communicate("/quit\n", timeout=60)
    assert second.returncode == 2
    assert "another bot process is using the database" in second.stderr
    assert "Traceback" not in second.stderr
    third = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="/quit\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "ALTEGIO_COMPANY_ID": "1002"},
        timeout=60,
        check=False,
    )
    assert third.returncode == 2
    assert "holds the data of Altegio location 1001" in third.stderr


@pytest.mark.parametrize(
    ("text", "month_first", "expected"),
    [
        ("11/02/2026", True, date(2026, 11, 2)),  # the United States: month first
        ("11/02/2026", False, date(2026, 2, 11)),
        ("11.02.2026", True, date(2026, 2, 11)),  # dots are day first everywhere
        ("25/12", True, date(2026, 12, 25)),  # only one reading is a date
        ("12-25", False, date(2026, 12, 25)),
    ],
)
def test_typed_dates_follow_the_salons_country(
    text: str, month_first: bool, expected: date
) -> None:
    typed = parse_day(text, ["en"], TODAY, month_first=month_first)
    assert typed is not None and typed.day == expected


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Anna 👩\u200d👩\u200d👧", "Anna 👩\u200d👩\u200d👧"),  # one emoji, joined
        ("علی\u200cرضا", "علی\u200cرضا"),  # the non-joiner Persian needs
        ("\x1b[31mAnna\x1b[0m", "Anna"),  # a colour code goes whole, not only its escape
        ("\x1b]0;Title\x07Bob", "Bob"),
        ("Ann\x00a", "Anna"),
        ("\u202eevil", "evil"),  # a direction override is no part of a name
    ],
)
def test_names_keep_their_joiners_and_lose_escape_sequences(typed: str, kept: str) -> None:
    assert clean_name(typed) == kept


def test_a_comment_keeps_its_lines_and_is_never_cut() -> None:
    long = "x" * 900
    assert clean_comment("one\ntwo\x1b[2J") == "one\ntwo"
    assert clean_comment(long) == long
