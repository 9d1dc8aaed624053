"""Every shipped language, end to end: the booking conversation and My appointments walked in
each, with nothing left in English, locale formats, and a day typed in the client's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.i18n import SHIPPED_LANGUAGES, Catalogs, normalize_language
from standins.telegram.users import StubUser
from tests.conftest import Bot

# How a client writes "Friday" in each language (the date parser understands them).
FRIDAY = {
    "en": "Friday",
    "ru": "пятница",
    "uk": "п'ятниця",
    "de": "Freitag",
    "es": "viernes",
    "pt_BR": "sexta-feira",
    "pl": "piątek",
    "lv": "piektdiena",
    "lt": "penktadienis",
    "et": "reede",
}
TELEGRAM_CODES = {
    "en": "en",
    "ru": "ru",
    "uk": "uk",
    "de": "de-AT",
    "es": "es",
    "pt_BR": "pt-br",
    "pl": "pl",
    "lv": "lv",
    "lt": "lt",
    "et": "et",
}
# Words of the English interface that must not reach a client in another language.
ENGLISH = re.compile(
    r"\b(Book|Choose|Cancel|Back|Free times|Please|Confirm|Change|Skip|Duration|Price|Address"
    r"|Service|Team member|booked|appointment|Reminder|Tuesday|Friday)\b"
)
# Salon data stays as the salon wrote it.
SALON = re.compile(
    r"Women's haircut|Studio Aurora|Lindenstraße 21|Berlin|Anna Weber|Jonas Richter|Hair|Nails"
    r"|Brows & Lashes|Massage|Men's haircut|Blow-dry & styling|Full colour|Balayage"
    r"|Hair stylist & colourist|Stylist & barber"
)


def visible(user: StubUser) -> str:
    screen = user.last
    labels = " ".join(label for row in screen.buttons for label in row)
    keyboard = " ".join(label for row in user.reply_keyboard or [] for label in row)
    return SALON.sub("", f"{screen.text} {labels} {keyboard}")


def assert_translated(user: StubUser, language: str) -> None:
    if language == "en":
        return
    leftovers = ENGLISH.findall(visible(user))
    assert leftovers == [], (language, leftovers, user.screen())


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
async def test_booking_and_appointments_in_every_language(bot: Bot, language: str) -> None:
    user = bot.user(language_code=TELEGRAM_CODES[language])
    await user.send("/start")
    assert_translated(user, language)
    await user.tap_number(1)  # book
    assert_translated(user, language)
    await user.tap_number(1)  # Hair
    assert_translated(user, language)
    # Prices in the salon's currency as the client's locale writes it (Ukrainian: "40 EUR").
    assert "€" in user.last.text or "EUR" in user.last.text
    await user.tap_number(1)  # Women's haircut
    assert_translated(user, language)
    await user.tap_number(2)  # Anna Weber
    assert_translated(user, language)
    await user.send(FRIDAY[language])
    assert_translated(user, language)
    assert "27" in user.last.text  # Friday the 27th, understood in the client's language
    await user.tap_number(1)
    assert_translated(user, language)
    await user.send("+49 151 23456789")
    assert_translated(user, language)
    await user.tap_number(1)  # keep the name
    assert_translated(user, language)
    await user.tap_number(1)  # skip the comment
    assert_translated(user, language)
    await user.tap_number(1)  # confirm
    assert_translated(user, language)
    assert [r for r in bot.sandbox.records(1001) if r["phone"] == "+4915123456789"]
    await user.send("/appointments")
    assert_translated(user, language)
    await user.tap_number(1)
    assert_translated(user, language)
    await user.tap_number(2)  # cancel appointment: the confirmation question
    assert_translated(user, language)


def test_language_codes_from_telegram() -> None:
    assert normalize_language("pt-br") == "pt_BR"
    assert normalize_language("pt") == "pt_BR"
    assert normalize_language("pt-PT") == "pt_BR"
    assert normalize_language("de-AT") == "de"
    assert normalize_language("uk") == "uk"
    assert normalize_language("en-GB") == "en"
    assert normalize_language("es-419") == "es"
    assert normalize_language("fr") is None
    catalogs = Catalogs(SHIPPED_LANGUAGES, "de")
    assert catalogs.pick("fr") == "de"  # BOT_DEFAULT_LANGUAGE for the rest


def test_times_and_weeks_follow_the_locale() -> None:
    from datetime import datetime

    catalogs = Catalogs(SHIPPED_LANGUAGES, "en")
    afternoon = datetime(2026, 11, 27, 15, 0)
    assert catalogs.translator("en").time(afternoon) == "3:00\u202fPM"
    for language in ("ru", "de", "pl", "lv", "lt", "et", "uk", "es", "pt_BR"):
        assert catalogs.translator(language).time(afternoon).startswith("15"), language
    assert catalogs.translator("pt_BR").first_weekday == 6  # Sunday first in Brazil
    assert catalogs.translator("de").first_weekday == 0


async def test_language_command_changes_and_remembers(bot: Bot) -> None:
    user = bot.user(language_code="en")
    await user.send("/language")
    await user.tap("Deutsch")
    assert "Deutsch" in user.last.text
    await user.send("/start")
    assert "Termin" in " ".join(label for row in user.last.buttons for label in row)
    await bot.restart()
    user = bot.user(language_code="en")
    await user.send("/start")
    assert "Termin" in " ".join(label for row in user.last.buttons for label in row)


async def test_commands_are_registered_per_language(bot: Bot) -> None:
    assert bot.app is not None
    await bot.app.post_init(bot.app)  # type: ignore[misc]
    assert bot.stub.commands(language_code="de")
    assert bot.stub.commands(language_code="pt")
    german = dict(bot.stub.commands(language_code="de"))
    assert german["book"] != dict(bot.stub.commands())["book"]


async def test_a_salon_overrides_its_own_wording(make_bot: object, tmp_path: Path) -> None:
    own = tmp_path / "wording"
    (own / "de" / "LC_MESSAGES").mkdir(parents=True)
    (own / "en.po").write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Book an appointment in a few taps, any time of day."\n'
        'msgstr "Your next glow-up is three taps away ✨"\n',
        encoding="utf-8",
    )
    (own / "de" / "LC_MESSAGES" / "messages.po").write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Book an appointment in a few taps, any time of day."\n'
        'msgstr "Ihr nächster Termin ist nur drei Tipps entfernt ✨"\n',
        encoding="utf-8",
    )
    bot: Bot = await make_bot(env={"BOT_MESSAGES_DIR": str(own)})  # type: ignore[operator]
    english = bot.user(language_code="en")
    await english.send("/start")
    assert "glow-up" in english.last.text
    german = bot.user(user_id=100005, language_code="de")
    await german.send("/start")
    assert "nur drei Tipps" in german.last.text
    assert "Book" not in " ".join(label for row in german.last.buttons for label in row)


def test_a_broken_salon_catalog_is_refused_at_start(tmp_path: Path) -> None:
    from bot.i18n import CatalogError

    (tmp_path / "en.po").write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Service: %(service)s"\nmsgstr "Treatment: %(treatment)s"\n',
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match="Service"):
        Catalogs(SHIPPED_LANGUAGES, "en", overrides=tmp_path)
