"""Small talk and booking words, as a client writes them in each of the ten languages: a
thank-you, a greeting or a goodbye, even one naming a team member, starts no booking; a word
asking for a booking does, with or without a team member."""

from __future__ import annotations

import pytest

from tests.conftest import Bot, Recording
from tests.test_booking_flow import buttons
from tests.test_one_message import TELEGRAM, at_the_day_step, callbacks, times

# A thank-you, a greeting and a goodbye, each naming a team member, in every language.
SMALL_TALK = {
    "en": ("thanks Anna!", "Hi Anna", "Good morning, Sofia!", "see you tomorrow Anna"),
    "ru": ("спасибо, Анна!", "Привет, Анна", "Доброе утро, София", "До завтра, Анна!"),
    "uk": ("дякую, Анно!", "Привіт, Анно", "Доброго ранку, Софіє", "До побачення, Анно"),
    "de": ("danke Anna", "Hallo Anna", "Guten Morgen Sofia!", "Bis morgen, Anna"),
    "es": ("¡gracias Sofía!", "Hola Anna", "Buenos días, Sofía", "Hasta mañana, Anna"),
    "pt_BR": ("obrigada Mia!", "Oi Anna", "Bom dia, Sofia", "Até amanhã, Anna"),
    "pl": ("dziękuję, Anno!", "Cześć Anno", "Dzień dobry, Sofio", "Do jutra, Anno"),
    "lv": ("paldies, Anna!", "Sveiki, Anna", "Labrīt, Sofija", "Līdz rītam, Anna"),
    "lt": ("ačiū, Ana!", "Labas, Anna", "Labas rytas, Sofija", "Iki rytojaus, Anna"),
    "et": ("aitäh, Anna!", "Tere, Anna", "Tere hommikust, Sofia", "Homseni, Anna"),
}
# "I would like to book with Anna" and "I would like to book" in every language.
BOOK_WITH = {
    "en": ("I'd like to book with Lukas", "I want to book an appointment"),
    "ru": ("хочу записаться к Лукасу", "хочу записаться"),
    "uk": ("хочу записатися до Лукаса", "хочу записатися"),
    "de": ("Ich möchte einen Termin bei Lukas", "Ich möchte einen Termin buchen"),
    "es": ("quiero una cita con Lukas", "quiero reservar una cita"),
    "pt_BR": ("quero agendar com o Lukas", "quero marcar um horário"),
    "pl": ("chcę się umówić do Lukasa", "chciałabym umówić wizytę"),
    "lv": ("vēlos pierakstīties pie Lukasa", "vēlos pierakstīties"),
    "lt": ("noriu užsiregistruoti pas Lukasą", "noriu užsiregistruoti"),
    "et": ("soovin broneerida aja Lukasele", "soovin broneerida"),
}


def start_menu(user: object) -> bool:
    return [cb.action for cb in callbacks(user)] == ["book", "apts"]  # type: ignore[arg-type]


@pytest.mark.parametrize("language", list(SMALL_TALK))
async def test_small_talk_naming_a_team_member_starts_no_booking(bot: Bot, language: str) -> None:
    user = bot.user(language_code=TELEGRAM.get(language, language))
    for text in SMALL_TALK[language]:
        await user.send(text)
        assert start_menu(user), (text, user.screen())
        assert "Anna Weber" not in user.last.text and "Sofia Becker" not in user.last.text
    # Nothing was begun: the next message is read afresh, and books.
    await user.send("Lukas")
    assert "Lukas Braun" in user.last.text and not start_menu(user)


async def test_the_polite_answers(bot: Bot) -> None:
    user = bot.user()
    await user.send("thanks Anna!")
    assert user.last.text == "You are welcome!"
    assert buttons(user) == ["Book an appointment", "My appointments"]
    await user.send("Good evening")
    assert user.last.text.startswith("Hello!")
    await user.send("bye!")
    assert user.last.text == "Goodbye, see you soon!"
    other = bot.user(100002, language_code="ru")
    await other.send("спасибо, Анна!")
    assert other.last.text == "Пожалуйста!"


@pytest.mark.parametrize("language", list(BOOK_WITH))
async def test_a_booking_word_starts_a_booking(bot: Bot, language: str) -> None:
    with_lukas, alone = BOOK_WITH[language]
    user = bot.user(language_code=TELEGRAM.get(language, language))
    await user.send(with_lukas)
    assert "Lukas Braun" in user.last.text, user.screen()
    assert {cb.action for cb in callbacks(user)} >= {"svc"}
    other = bot.user(100002, language_code=TELEGRAM.get(language, language))
    await other.send(alone)
    # The booking begins at its first step, the categories.
    assert "cat" in {cb.action for cb in callbacks(other)}, other.screen()


async def test_small_talk_in_the_middle_of_a_booking_keeps_the_step(bot: Bot) -> None:
    user = bot.user()
    await user.send("manicure with Sofia tomorrow after 5")
    offered = times(user)
    await user.send("thank you, Sofia!")
    assert user.bot_texts[-2] == "You are welcome!"
    assert times(user) == offered and "Sofia Becker" in user.last.text
    await user.send("I want to book")
    assert "write what you would like" in user.bot_texts[-2]
    assert times(user) == offered


async def test_a_greeting_with_what_to_book_still_books(bot: Bot) -> None:
    user = bot.user(language_code="de")
    await user.send("Guten Morgen! Pediküre bei Mia morgen ab 15 Uhr, danke")
    offered = times(user)
    assert offered and all(t >= "1500" for t in offered), user.screen()
    assert "Mia Hoffmann" in user.last.text
    other = bot.user(100002)
    await other.send("Lukas, please")
    assert "What would you like to book with Lukas Braun?" in other.last.text
    await other.tap("Relaxing massage")
    assert at_the_day_step(other)


async def test_a_greeting_naming_someone_at_the_time_step_changes_nothing(bot: Bot) -> None:
    user = bot.user()
    await user.send("manicure with Sofia tomorrow after 5")
    offered = times(user)
    await user.send("Hi Mia!")
    assert "write what you would like" in user.bot_texts[-2]
    assert times(user) == offered and "Sofia Becker" in user.last.text


async def test_what_small_talk_costs_in_altegio_requests(recorded: tuple[Bot, Recording]) -> None:
    bot, wire = recorded
    await bot.user().send("thanks Anna!")
    # Cold: the location, the catalogue and the team, to read the words by; nothing else.
    assert [r.url.path.split("/")[3] for r in wire.seen] == [
        "company",
        "book_services",
        "book_staff",
    ]
    seen = len(wire.seen)
    await bot.user(100002).send("спасибо, Анна!")
    await bot.user(100002).send("хочу записаться")
    assert len(wire.seen) == seen  # all cached: the categories come from the catalogue read
