"""Salon words in the ten shipped languages, each in its dictionary form, recognised however it
is inflected: what a client writes to book ("записаться", "Termin", "umówić wizytę"), to thank,
greet or say goodbye, and the common names of services ("стрижку", "Maniküre").

The inflections are Snowball's (`snowballstemmer`): every word below and every word typed is
reduced to its stem in each language, so "записаться", "записи" and "запись" are one word.
Snowball has no Ukrainian or Latvian stemmer; for those two a short list of endings is taken off
instead (`_ENDINGS`). Service words also keep their stems in Latin letters, compared by the
beginning and, for long ones, fuzzily, so typos and other scripts still match ("manikiur").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

import snowballstemmer
from anyascii import anyascii
from rapidfuzz import fuzz

_SNOWBALL = {
    "en": "english",
    "ru": "russian",
    "de": "german",
    "es": "spanish",
    "pt_BR": "portuguese",
    "pl": "polish",
    "lt": "lithuanian",
    "et": "estonian",
}
# Longest first; a stem keeps at least three letters.
_UK_ENDINGS = (
    "ування ювання ання ення іння ися ться тися ити ати яти ого ому ими ами ями ах ях ів їв"
    " ей ою ею ий ій ої ом ем ти а я и і ї у ю о е є ь"
)
_LV_ENDINGS = (
    "šanās šanas šanu šana ības ību ība ties ām ēm ās ēs ai ei ie am em us as es is os ts"
    " a e i u ā ē ī ū o s"
)
_ENDINGS = {
    language: tuple(sorted(endings.split(), key=len, reverse=True))
    for language, endings in (("uk", _UK_ENDINGS), ("lv", _LV_ENDINGS))
}
LANGUAGES = (*_SNOWBALL, *_ENDINGS)


@cache
def _stemmer(language: str) -> Any:
    return snowballstemmer.stemmer(_SNOWBALL[language])


@cache
def stem(word: str, language: str) -> str:
    """`word` (one word, any case) without its inflection, as `language` inflects."""
    word = word.casefold()
    if language in _SNOWBALL:
        return str(_stemmer(language).stemWord(word))
    for ending in _ENDINGS.get(language, ()):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _table(words: dict[str, str], shortest: int = 3) -> dict[str, frozenset[str]]:
    """Space-separated dictionary forms by language, as the stems by language: the words
    themselves too, and a stem only when it keeps `shortest` letters (Lithuanian "labas",
    hello, is "lab", as "labai", very, is)."""
    return {
        language: frozenset(
            form
            for w in text.split()
            for form in (w.casefold(), stem(w, language))
            if form == w.casefold() or len(form) >= shortest
        )
        for language, text in words.items()
    }


# Words that ask for a booking (or for free times), which are neither a service nor a name.
_BOOKING = _table(
    {
        "en": "book booking appointment appointments reserve reservation schedule visit slot"
        " available free",
        "ru": "записаться записать запись записи забронировать бронь бронирование визит приём"
        " прием свободно свободный свободное окошко",
        "uk": "записатися записати запис забронювати бронювання візит прийом вільно вільний"
        " вільне віконце",
        "de": "Termin buchen Buchung reservieren Reservierung vereinbaren frei verfügbar",
        "es": "cita reservar reserva turno agendar libre disponible",
        "pt_BR": "agendar agendamento marcar horário reserva reservar vaga livre disponível",
        "pl": "umówić umówienie wizyta termin rezerwacja zarezerwować zapisać zapis wolny"
        " wolne dostępny",
        "lv": "pierakstīties pierakstīt pieraksts rezervēt rezervācija vizīte brīvs brīvu",
        "lt": "registruotis užsiregistruoti registracija rezervuoti rezervacija vizitas"
        " laisvas laisvą",
        "et": "broneerima broneerida broneering registreeruma registreerida vaba vabu",
    }
)

# Small talk: a word of its own, or a phrase (taken out before days and parts of the day are
# read, so that "good morning" is no morning and "guten Morgen" no tomorrow).
THANKS, HELLO, BYE = "thanks", "hello", "bye"
_CHAT_WORDS = {
    THANKS: _table(
        {
            "en": "thanks thank thx cheers",
            "ru": "спасибо спасибки спс благодарю мерси",
            "uk": "дякую дякуємо спасибі дяка",
            "de": "danke dankeschön",
            "es": "gracias",
            "pt_BR": "obrigado obrigada valeu",
            "pl": "dziękuję dzięki dziękujemy",
            "lv": "paldies",
            "lt": "ačiū dėkoju",
            "et": "aitäh tänan tänud",
        },
        shortest=4,
    ),
    HELLO: _table(
        {
            "en": "hi hello hey",
            "ru": "привет здравствуйте здравствуй здрасте добрый",
            "uk": "привіт вітаю добрий",
            "de": "hallo servus moin",
            "es": "hola",
            "pt_BR": "olá oi",
            "pl": "cześć witam",
            "lv": "sveiki labdien labrīt labvakar čau",
            "lt": "labas sveiki",
            "et": "tere tervist",
        },
        shortest=4,
    ),
    BYE: _table(
        {
            "en": "bye goodbye",
            "ru": "пока",
            "uk": "бувай бувайте",
            "de": "tschüss tschüs",
            "es": "adiós",
            "pt_BR": "tchau",
            "lv": "atā",
            "lt": "sudie",
            "et": "nägemist",
        },
        shortest=4,
    ),
}
_CHAT_PHRASES = {
    THANKS: "thank you|many thanks|vielen dank|danke schön|muchas gracias|muito obrigad[oa]"
    "|большое спасибо|щиро дякую|bardzo dziękuję|liels paldies|labai ačiū|suur aitäh",
    HELLO: "good (?:morning|afternoon|evening|day)|доброе утро|добрый (?:день|вечер)"
    "|доброго (?:дня|утра|вечера)|добрий (?:день|вечір)|доброго ранку|guten (?:morgen|tag|abend)"
    "|buen(?:os|as) (?:días|dias|tardes|noches)|bom dia|boa (?:tarde|noite)|dzień dobry"
    "|dobry wieczór|labas (?:rytas|vakaras)|laba diena|labą dieną|tere (?:hommikust|õhtust)"
    "|head (?:päeva|õhtut)|tere päevast",
    BYE: "see you(?: (?:soon|later|tomorrow|then))?|до свидания|до встречи|до завтра"
    "|до побачення|до зустрічі|auf wiedersehen|bis (?:morgen|bald|dann|später)|hasta (?:luego"
    "|mañana|pronto)|até (?:logo|amanhã|mais)|do (?:widzenia|jutra|zobaczenia)|na razie"
    "|uz redzēšanos|līdz rītam|iki (?:pasimatymo|rytojaus)|viso gero|head aega|homseni",
}
_PHRASES = tuple(
    (kind, re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE))
    for kind, pattern in _CHAT_PHRASES.items()
)

# The common names of services, by the English word they stand for.
_SERVICES: dict[str, dict[str, str]] = {
    "haircut": {
        "en": "haircut",
        "ru": "стрижка подстричься постричься",
        "uk": "стрижка підстригтися постригтися",
        "de": "Haarschnitt schneiden Frisur",
        "es": "corte cortar",
        "pt_BR": "corte cortar",
        "pl": "strzyżenie ostrzyc strzyc",
        "lv": "frizūra griezums",
        "lt": "kirpimas kirptis apsikirpti",
        "et": "juukselõikus lõikus",
    },
    "manicure": {
        "en": "manicure",
        "ru": "маникюр",
        "uk": "манікюр",
        "de": "Maniküre",
        "es": "manicura",
        "pt_BR": "manicure manicura",
        "pl": "manicure manikiur",
        "lv": "manikīrs",
        "lt": "manikiūras",
        "et": "maniküür",
    },
    "pedicure": {
        "en": "pedicure",
        "ru": "педикюр",
        "uk": "педикюр",
        "de": "Pediküre",
        "es": "pedicura",
        "pt_BR": "pedicure pedicura",
        "pl": "pedicure pedikiur",
        "lv": "pedikīrs",
        "lt": "pedikiūras",
        "et": "pediküür",
    },
    "colour": {
        "en": "colour color dye",
        "ru": "окрашивание покраска покрасить окрасить",
        "uk": "фарбування пофарбувати",
        "de": "Färben Färbung Farbe Coloration",
        "es": "coloración teñir",
        "pt_BR": "coloração tintura",
        "pl": "koloryzacja farbowanie farbować",
        "lv": "krāsošana krāsot",
        "lt": "dažymas dažyti",
        "et": "värvimine värvima",
    },
    "massage": {
        "en": "massage",
        "ru": "массаж",
        "uk": "масаж",
        "de": "Massage",
        "es": "masaje",
        "pt_BR": "massagem",
        "pl": "masaż",
        "lv": "masāža",
        "lt": "masažas",
        "et": "massaaž",
    },
    "brow": {
        "en": "eyebrow",
        "ru": "бровь брови",
        "uk": "брови брова брів",
        "de": "Augenbraue Braue",
        "es": "ceja cejas",
        "pt_BR": "sobrancelha",
        "pl": "brwi",
        "lv": "uzacis uzacu",
        "lt": "antakiai antakių",
        "et": "kulmud kulm",
    },
    "lash": {
        "en": "eyelash",
        "ru": "ресницы",
        "uk": "вії вій",
        "de": "Wimpern",
        "es": "pestañas",
        "pt_BR": "cílios",
        "pl": "rzęsy",
        "lv": "skropstas",
        "lt": "blakstienos",
        "et": "ripsmed",
    },
    "blow-dry": {
        "en": "blowout",
        "ru": "укладка",
        "uk": "укладка",
        "de": "Föhnen",
        "es": "peinado",
        "pt_BR": "escova",
        "pl": "modelowanie",
        "lv": "ieveidošana",
        "lt": "šukuosena",
        "et": "föönitamine",
    },
    "gel": {
        "en": "gel shellac",
        "ru": "гель шеллак",
        "uk": "гель шелак",
        "pl": "hybryda hybrydowy",
        "lt": "gelis",
        "et": "geel",
        "lv": "gēls",
    },
    "women": {
        "en": "women woman ladies",
        "ru": "женская женский женщина",
        "uk": "жіноча жіночий жінка",
        "de": "Damen Frauen",
        "es": "mujer femenino dama",
        "pt_BR": "mulher feminino feminina",
        "pl": "damskie damski kobiecy kobieta",
        "lv": "sieviešu sieviete",
        "lt": "moteriškas moterų moteris",
        "et": "naiste naine",
    },
    "men": {
        "en": "men man gents",
        "ru": "мужская мужской мужчина",
        "uk": "чоловіча чоловічий чоловік",
        "de": "Herren Männer",
        "es": "hombre masculino caballero",
        "pt_BR": "homem masculino masculina",
        "pl": "męskie męski mężczyzna",
        "lv": "vīriešu vīrietis",
        "lt": "vyriškas vyrų vyras",
        "et": "meeste mees",
    },
    "beard": {
        "en": "beard",
        "ru": "борода",
        "uk": "борода",
        "de": "Bart",
        "es": "barba",
        "pt_BR": "barba",
        "pl": "broda",
        "lv": "bārda",
        "lt": "barzda",
        "et": "habe",
    },
}
# Each service word's stems in Latin letters, longest first.
_SERVICE_STEMS = tuple(
    sorted(
        {
            (anyascii(form).lower(), english)
            for english, by_language in _SERVICES.items()
            for language, text in by_language.items()
            for word in text.split()
            for form in (stem(word, language), word)
            if len(form) >= 3
        },
        key=lambda pair: (-len(pair[0]), pair[0]),
    )
)


def _in(table: dict[str, frozenset[str]], word: str, languages: Iterable[str]) -> bool:
    word = word.casefold()
    return any(
        word in table.get(language, ()) or stem(word, language) in table.get(language, ())
        for language in languages
    )


def _languages(first: str) -> tuple[str, ...]:
    """The client's language first, then the others: people write in more than one."""
    return (first, *(language for language in LANGUAGES if language != first))


def asks_to_book(word: str, language: str) -> bool:
    """Whether `word` asks for a booking or free times ("запись", "Termin", "book")."""
    return len(word) >= 3 and _in(_BOOKING, word, _languages(language))


def chat_word(word: str, language: str) -> str:
    """THANKS, HELLO or BYE for a word of small talk, or ""."""
    for kind, table in _CHAT_WORDS.items():
        if _in(table, word, _languages(language)):
            return kind
    return ""


def chat_phrases(text: str) -> tuple[str, str]:
    """The first kind of small talk written as a phrase ("good morning"), and `text` without
    any of them."""
    found = ""
    for kind, pattern in _PHRASES:
        if pattern.search(text):
            found = found or kind
            text = pattern.sub(" ", text)
    return found, text


def service_words(word: str) -> tuple[str, ...]:
    """The English service words a word (in Latin letters) stands for: mostly one, two for a
    compound ("Herrenhaarschnitt" is men's and haircut)."""
    if len(word) < 3:
        return ()
    found: list[str] = []
    for known, english in _SERVICE_STEMS:
        if english not in found and (
            # A short stem only with a short ending: "men's", never "manekure".
            (word.startswith(known) and (len(known) >= 4 or len(word) <= len(known) + 2))
            or (len(known) >= 5 and known in word)
            or (len(known) >= 6 and fuzz.ratio(word[: len(known)], known) >= 85)  # a typo
        ):
            found.append(english)
    return tuple(found)


# Weekdays where dateparser knows only the nominative ("piektdiena", not "piektdien": on
# Friday), Monday first.
_WEEKDAYS = {
    "lv": "pirmdiena otrdiena trešdiena ceturtdiena piektdiena sestdiena svētdiena",
    "lt": "pirmadienis antradienis trečiadienis ketvirtadienis penktadienis šeštadienis"
    " sekmadienis",
    "et": "esmaspäev teisipäev kolmapäev neljapäev reede laupäev pühapäev",
}


def weekday(word: str, language: str) -> str:
    """The weekday an inflected word names, as dateparser reads it ("reedel": "reede"), or
    ""."""
    word = word.casefold()
    for name in _WEEKDAYS.get(language, "").split():
        root = stem(name, language)
        if word != name and word.startswith(root) and len(word) <= len(name) + 3:
            return name
    return ""
