"""`bot.understand`: one message read against the salon's own catalogue and team."""

from __future__ import annotations

from datetime import date

import pytest

from bot.understand import AFTERNOON, EVENING, MORNING, Named, understand
from standins.altegio.seed import AURORA

SERVICES = [Named(s.id, s.title) for s in AURORA.services]
TEAM = [Named(m.id, m.name) for m in AURORA.staff]
TUESDAY = date(2026, 11, 24)
CLASSIC, GEL, PEDICURE, WOMEN, MEN = 10006, 10007, 10008, 10001, 10002
ANNA, MIA, SOFIA = 2001, 2003, 2004


def read(text: str, language: str = "en", services: list[Named] = SERVICES):  # type: ignore[no-untyped-def]
    return understand(text, services, TEAM, language=language, today=TUESDAY)


def test_the_issue_s_examples() -> None:
    found = read("manicure with Anna tomorrow after 5")
    assert found.services == (CLASSIC, GEL) and found.staff == (ANNA,)
    assert found.day == date(2026, 11, 25) and (found.after, found.before) == (17 * 60, None)
    found = read("стрижка в пятницу утром", "ru")
    assert found.services == (WOMEN, MEN) and found.day == date(2026, 11, 27)
    assert (found.after, found.before) == (None, MORNING[1])
    found = read("Maniküre morgen ab 17 Uhr", "de")
    assert found.services == (CLASSIC, GEL) and found.day == date(2026, 11, 25)
    assert found.after == 17 * 60


@pytest.mark.parametrize(
    ("text", "language", "service", "member"),
    [
        ("gel manicure with Mia", "en", (GEL,), (MIA,)),
        ("gel manicur", "en", (GEL,), ()),  # a typo
        ("pedicur", "en", (PEDICURE,), ()),
        ("педикюр у Мии", "ru", (PEDICURE,), ()),  # "Мии" is too short to be sure of
        ("женская стрижка у Анны", "ru", (WOMEN,), (ANNA,)),  # inflected, another script
        ("Анна Вебер", "ru", (), (ANNA,)),
        ("Damenhaarschnitt bei Anna", "de", (WOMEN,), (ANNA,)),  # a compound: both words
        ("corte de mujer con Sofía", "es", (WOMEN,), (SOFIA,)),
        ("menikiur", "pl", (CLASSIC, GEL), ()),
        ("maniküür Sofiaga", "et", (CLASSIC, GEL), (SOFIA,)),
        ("deep tissue massage", "en", (10013,), ()),  # "Deep-tissue massage"
        ("blow dry", "en", (10003,), ()),
        ("manikyur s Sofiei", "ru", (CLASSIC, GEL), (SOFIA,)),  # transliterated
    ],
)
def test_services_and_team_members_fuzzily(
    text: str, language: str, service: tuple[int, ...], member: tuple[int, ...]
) -> None:
    found = read(text, language)
    assert (found.services, found.staff) == (service, member)


def test_a_catalogue_in_another_language_is_matched_through_the_salon_words() -> None:
    german = [Named(1, "Maniküre klassisch"), Named(2, "Pediküre"), Named(3, "Herrenhaarschnitt")]
    assert read("маникюр", "ru", german).services == (1,)
    assert read("pedicure", "en", german).services == (2,)


@pytest.mark.parametrize(
    ("text", "language", "window"),
    [
        ("in the morning", "en", (None, MORNING[1])),
        ("in the afternoon", "en", AFTERNOON),
        ("tonight", "en", (EVENING[0], None)),
        ("вечером", "ru", (EVENING[0], None)),
        ("ввечері", "uk", (EVENING[0], None)),
        ("nachmittags", "de", AFTERNOON),
        ("por la tarde", "es", AFTERNOON),
        ("de manhã", "pt_BR", (None, MORNING[1])),
        ("wieczorem", "pl", (EVENING[0], None)),
        ("vakarā", "lv", (EVENING[0], None)),
        ("ryte", "lt", (None, MORNING[1])),
        ("õhtul", "et", (EVENING[0], None)),
        ("after 3 before 6", "en", (15 * 60, 18 * 60)),
        ("after 10:30", "en", (10 * 60 + 30, None)),
        ("до 14", "ru", (None, 14 * 60)),
    ],
)
def test_parts_of_the_day(text: str, language: str, window: tuple[int | None, int | None]) -> None:
    found = read(text, language)
    assert (found.after, found.before) == window


def test_days_in_the_shipped_languages() -> None:
    wednesday = date(2026, 11, 25)
    for text, language in [
        ("tomorrow", "en"), ("завтра", "ru"), ("завтра", "uk"), ("morgen", "de"),
        ("mañana", "es"), ("amanhã", "pt_BR"), ("jutro", "pl"), ("rīt", "lv"),
        ("rytoj", "lt"), ("homme", "et"),
    ]:  # fmt: skip
        assert read(f"pedicure {text}", language).day == wednesday, (text, language)
    assert read("pedicure on 3.12").day == date(2026, 12, 3)


def test_nothing_to_read() -> None:
    for text in ("hello", "thanks!", "can I book?", "привет", "Hallo, ich möchte einen Termin"):
        assert not read(text).anything, text
    # A bare number is not taken for a day.
    assert read("pedicure 5").day is None


def test_a_title_typed_whole_is_preferred_to_longer_ones() -> None:
    catalogue = [Named(1, "Manicure"), Named(2, "Gel manicure"), Named(3, "Pedicure")]
    assert read("manicure tomorrow after 5", services=catalogue).services == (1,)
    assert read("gel manicure", services=catalogue).services == (2,)
    assert read("маникюр гель", "ru", catalogue).services == (2,)


BROWS, LASHES = (10009, 10010), (10011,)


@pytest.mark.parametrize(
    ("words", "language"),
    [
        ("бровей ресниц стрижки маникюра", "ru"),
        ("брів вій стрижку манікюру", "uk"),
        ("Augenbrauen Wimpern Haarschnitt Maniküren", "de"),
        ("cejas pestañas corte manicuras", "es"),
        ("sobrancelhas cílios corte manicures", "pt_BR"),
        ("brwi rzęs strzyżenia manicure'u", "pl"),
        ("uzacu skropstu frizūru manikīru", "lv"),
        ("antakių blakstienų kirpimą manikiūrą", "lt"),
        ("kulmude ripsmete juukselõikust maniküüri", "et"),
    ],
)
def test_salon_words_however_inflected(words: str, language: str) -> None:
    brows, lashes, haircut, manicure = words.split()
    assert read(brows, language).services == BROWS, brows
    assert read(lashes, language).services == LASHES, lashes
    assert read(haircut, language).services == (WOMEN, MEN), haircut
    assert read(manicure, language).services == (CLASSIC, GEL), manicure


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("appointment with Anna tomorrow", "en"),
        ("запись к Анне на завтра", "ru"),
        ("запис до Анни на завтра", "uk"),
        ("Termin bei Anna morgen", "de"),
        ("cita con Anna mañana", "es"),
        ("agendamento com Anna amanhã", "pt_BR"),
        ("wizyta u Anny jutro", "pl"),
        ("pieraksts pie Annas rīt", "lv"),
        ("registracija pas Anną rytoj", "lt"),
        ("broneering Annale homme", "et"),
    ],
)
def test_booking_words_are_neither_services_nor_names(text: str, language: str) -> None:
    found = read(text, language)
    assert found.asks and found.wants_booking
    assert (found.services, found.staff, found.day) == ((), (ANNA,), date(2026, 11, 25))


def test_small_talk_is_no_booking_and_no_day() -> None:
    for text, language, chat in [
        ("thanks Anna", "en", "thanks"),
        ("Good morning Anna!", "en", "hello"),  # no morning
        ("Guten Morgen, Anna", "de", "hello"),  # no tomorrow
        ("See you tomorrow, Anna", "en", "bye"),
        ("До завтра, Анна", "ru", "bye"),
    ]:
        found = read(text, language)
        assert found.chat == chat and found.staff == (ANNA,), text
        assert not found.wants_booking and found.day is None and found.before is None, text
    # Small talk around a request does not hide it.
    found = read("Hi! Pedicure tomorrow please, thanks")
    assert found.wants_booking and found.services == (PEDICURE,) and found.day


def test_a_number_or_an_article_is_no_day() -> None:
    for text, language in [
        ("a manicure", "en"), ("una manicura", "es"), ("uma manicure", "pt_BR"),
        ("одну стрижку", "ru"), ("ein Haarschnitt", "de"),
    ]:  # fmt: skip
        assert read(text, language).day is None, text
    assert read("quiero una cita para hoy", "es").day == TUESDAY
    # The day is as few words as name it: the rest is still read.
    found = read("послезавтра педикюр", "ru")
    assert found.day == date(2026, 11, 26) and found.services == (PEDICURE,)


def test_weekdays_as_they_are_inflected_in_each_language() -> None:
    friday = date(2026, 11, 27)
    for text, language in [
        ("on Friday", "en"), ("в пятницу", "ru"), ("у п'ятницю", "uk"), ("am Freitag", "de"),
        ("el viernes", "es"), ("na sexta", "pt_BR"), ("w piątek", "pl"), ("piektdien", "lv"),
        ("penktadienį", "lt"), ("reedel", "et"),
    ]:  # fmt: skip
        assert read(f"pedicure {text}", language).day == friday, (text, language)


def test_words_that_only_look_like_small_talk() -> None:
    # Latvian "pa" (in, along) is no Polish goodbye; Lithuanian "labai" (very) no "labas".
    for text, language in [("Anna pa dienu", "lv"), ("labai noriu pas Anną", "lt")]:
        found = read(text, language)
        assert found.staff == (ANNA,) and not found.chat and found.wants_booking, text
