"""One message, understood: which service, which team member, which day and part of the day.

Plain rules, no Telegram. A client types "manicure with Anna tomorrow after 5", "стрижка в
пятницу утром" or "Maniküre morgen ab 17 Uhr"; what is found is matched against the salon's
own catalogue and team, whatever language and script their titles are in:

- small talk ("thanks", "guten Morgen") and words that ask to book ("записаться", "Termin")
  are taken out first (`bot.salon_words`), so none is read as a day, a service or a name;
- every word is compared in Latin letters (`anyascii`: "Анна" is "Anna"), fuzzily (rapidfuzz),
  so typos, endings and transliterations ("маникюра", "Анне", "Sofija") still match;
- common salon words in the shipped languages, the client's and the titles', stand for their
  English word ("стрижку" is "haircut", and so is "Haarschnitt"), so a catalogue in one
  language is asked for in any other;
- the day through `parse_day` (dateparser, the client's language and English), the part of the
  day as a window of minutes after midnight: "morning" is before noon, "after 5" from 17:00.

Whether the message asks for a booking at all is `Understood.wants_booking`: "thanks, Anna"
names a team member and asks for nothing.

What matches several things about equally well is returned as all of them: the caller offers
them as a choice, never picks one silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from anyascii import anyascii
from rapidfuzz import fuzz

from bot.draft import _AFTER, _BARE_DAY, parse_day
from bot.salon_words import asks_to_book, chat_phrases, chat_word, service_words, weekday

# Part of the day: (first minute, minute it ends) in the salon's local time.
MORNING = (0, 12 * 60)
AFTERNOON = (12 * 60, 17 * 60)
EVENING = (17 * 60, 24 * 60)

_WINDOWS: tuple[tuple[re.Pattern[str], tuple[int, int]], ...] = (
    (
        re.compile(
            r"(?<!\w)(?:in the morning|morning|утром|с утра|зранку|вранці|уранці|morgens"
            r"|vormittags?|am vormittag|por la mañana|de manhã|pela manhã|rano|z rana"
            r"|przed południem|no rīta|rītā|ryte|rytą|iš ryto|hommikul)(?!\w)",
            re.IGNORECASE,
        ),
        MORNING,
    ),
    (
        re.compile(
            r"(?<!\w)(?:in the afternoon|afternoon|днём|днем|после обеда|вдень|удень|після обіду"
            r"|nachmittags?|am nachmittag|por la tarde|à tarde|de tarde|pela tarde|po południu"
            r"|pēcpusdienā|po pietų|popiet|pärastlõunal)(?!\w)",
            re.IGNORECASE,
        ),
        AFTERNOON,
    ),
    (
        re.compile(
            r"(?<!\w)(?:in the evening|evening|tonight|вечером|ввечері|увечері|abends"
            r"|am abend|heute abend|por la noche|à noite|de noite|pela noite|wieczorem"
            r"|vakarā|vakare|õhtul)(?!\w)",
            re.IGNORECASE,
        ),
        EVENING,
    ),
)
_BEFORE = re.compile(
    r"(?<!\w)(?:before|until|till|до|bis|vor|antes de las|antes das|antes de|przed|pirms|iki"
    r"|enne)\s+(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?",
    re.IGNORECASE,
)
# Left over once the time is taken out: "17 Uhr", "at 5 o'clock".
_CLOCK_WORDS = re.compile(r"(?<!\w)(?:uhr|o'?clock|h|godz\.?|val\.?|tundi)(?!\w)", re.IGNORECASE)

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
# Words in titles that tell nothing apart ("Women's haircut & styling").
_NOISE = frozenset({"and", "with", "the", "for", "und", "mit", "der", "die", "das"})

SURE = 80.0  # a service or team member matched at least this well is taken as meant
CLOSE = 6.0  # others within this of the best are offered beside it


@dataclass(frozen=True, slots=True)
class Named:
    """A service or a team member as the salon names them."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Understood:
    services: tuple[int, ...] = ()  # one: the service meant; several: which of them
    staff: tuple[int, ...] = ()
    day: date | None = None
    after: int | None = None  # minutes after midnight, the window's start
    before: int | None = None  # its end (exclusive)

    asks: bool = False  # a word that asks for a booking: "book", "запись", "Termin"
    chat: str = ""  # small talk in it: THANKS, HELLO or BYE (bot.salon_words)

    @property
    def anything(self) -> bool:
        return bool(self.services or self.staff or self.day or self.after or self.before)

    @property
    def wants_booking(self) -> bool:
        """Whether the message asks for a booking: a service, a day or time, a booking word,
        or a team member named other than in small talk ("thanks, Anna" asks for nothing)."""
        if self.services or self.day or self.after or self.before or self.asks:
            return True
        return bool(self.staff) and not self.chat


def understand(
    text: str,
    services: Sequence[Named],
    staff: Sequence[Named],
    *,
    language: str,
    today: date,
    month_first: bool = False,
) -> Understood:
    text = " ".join(text.split())[:300]
    chat, text = chat_phrases(text)
    asks, chat, text = _salon_words(text, language, chat)
    after, before, rest = _window(text)
    day, rest = _day(rest, [language], today, month_first)
    words = _words(rest)
    staff_found, used = _best(words, staff, names=True)
    left = [w for i, w in enumerate(words) if i not in used]
    services_found, _ = _best(left, services, names=False)
    return Understood(services_found, staff_found, day, after, before, asks, chat)


def _salon_words(text: str, language: str, chat: str) -> tuple[bool, str, str]:
    """Whether a word asks for a booking, the small talk found, and `text` without both
    kinds of words (so that neither is taken for a service, a name or a day)."""
    asks, kept = False, []
    for token in text.split():
        word = "".join(_WORD.findall(token))
        if word and asks_to_book(word, language):
            asks = True
        elif word and (kind := chat_word(word, language)):
            chat = chat or kind
        else:
            kept.append(token)
    return asks, chat, " ".join(kept)


# --- the part of the day --------------------------------------------------------------------


def _clock(hour_text: str, minute_text: str | None, suffix: str | None, *, late: bool) -> int:
    hour, minute = int(hour_text), int(minute_text or 0)
    if (suffix or "").lower() == "pm" and hour < 12:
        hour += 12
    elif not suffix and late and 1 <= hour <= 8:
        hour += 12  # "before 7" is in the evening: nobody means seven in the morning
    return min(hour, 24) * 60 + min(minute, 59)


def _window(text: str) -> tuple[int | None, int | None, str]:
    after = before = None
    for pattern, (start, end) in _WINDOWS:
        if pattern.search(text):
            after, before = start or None, end if end < 24 * 60 else None
            text = pattern.sub(" ", text)
            break
    if match := _AFTER.search(text):
        after = _clock(match[1], match[2], match[3], late=True)
        text = _AFTER.sub(" ", text, count=1)
    if match := _BEFORE.search(text):
        before = _clock(match[1], match[2], match[3], late=True)
        text = _BEFORE.sub(" ", text, count=1)
    if after is not None and before is not None and before <= after:
        before = None
    return after, before, _CLOCK_WORDS.sub(" ", text)


# --- the day --------------------------------------------------------------------------------


_WRITTEN_DATE = re.compile(r"\d[./:-]\d")


def _day(
    text: str, languages: list[str], today: date, month_first: bool
) -> tuple[date | None, str]:
    """The first run of up to three words that names one day, and the text without it."""
    tokens = [weekday(t, languages[0]) or t for t in text.split()]
    for size in (3, 2, 1):
        for start in range(len(tokens) - size + 1):
            piece = " ".join(tokens[start : start + size])
            letters = sum(ch.isalpha() for ch in piece)
            if _BARE_DAY.match(piece) or (letters and max(map(len, piece.split())) < 3):
                continue  # "5" alone is a time as often as a day; "do", "sa" are not days
            if size > 1 and _WRITTEN_DATE.search(piece):
                continue  # "on 3.12" would be read as 3:12; "3.12" alone is a date
            found = parse_day(piece, languages, today, month_first=month_first)
            if found is not None and size == 1 and _number_word(piece, languages, found.day):
                continue
            if found is not None:
                first, last = _shortest(
                    tokens, start, start + size, languages=languages, today=today, day=found.day
                )
                return found.day, " ".join(tokens[:first] + tokens[last:])
    return None, text


def _shortest(
    tokens: list[str], first: int, last: int, *, languages: list[str], today: date, day: date
) -> tuple[int, int]:
    """The fewest of `tokens[first:last]` that still name `day`: the words around it are
    left to be read ("послезавтра педикюр" is a day and a service)."""

    def names_day(a: int, b: int) -> bool:
        found = parse_day(" ".join(tokens[a:b]), languages, today)
        return found is not None and found.day == day

    while last - first > 1 and names_day(first + 1, last):
        first += 1
    while last - first > 1 and names_day(first, last - 1):
        last -= 1
    return first, last


def _number_word(word: str, languages: list[str], day: date) -> bool:
    """Whether a word read as a day is a number ("one", "uma", "одну", "ein": articles too)
    rather than a day ("tomorrow", "Friday"): read forty days later, a day named by a number
    keeps its day of the month, and a day named by its distance from today does not."""
    if any(ch.isdigit() for ch in word):
        return False
    later = parse_day(word, languages, day + timedelta(days=40))
    return later is not None and later.day.day == day.day


# --- services and team members -------------------------------------------------------------


def _latin(text: str) -> str:
    return anyascii(text).lower()


def _words(text: str) -> list[str]:
    # "Deep-tissue" is two words, so that "deep tissue" says it.
    words = (part for w in _WORD.findall(text) for part in _latin(w).split("-") if part)
    return [w.removesuffix("'s").removesuffix("’s") for w in words]


def _meanings(word: str) -> list[str]:
    """The word itself and the English salon word it stands for, if any."""
    return [word, *service_words(word)]


def _fold(word: str) -> str:
    """One spelling of the sounds transliteration spells many ways: "София" is "sofiya" in
    Latin letters, and clients write Sofia, Sofija, Sofii."""
    return word.replace("j", "i").replace("y", "i").replace("ii", "i")


def _likeness(typed: str, known: str, *, names: bool) -> float:
    typed, known = _fold(typed), _fold(known)
    if typed == known:
        return 100.0
    shortest = min(len(typed), len(known))
    if shortest < 3:
        return 0.0
    prefix = len(_common_prefix(typed, known))
    if prefix >= max(3, len(known) - 1) or (prefix >= 5 and not names):
        return 92.0  # an ending: "Анне" for Anna, "manicures", "маникюра"
    score = float(fuzz.ratio(typed, known))
    if names and shortest <= 4:
        return score if score >= 90 else 0.0
    return score


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _best(
    words: list[str], known: Sequence[Named], *, names: bool
) -> tuple[tuple[int, ...], set[int]]:
    """The ids best matched by `words`, and which words matched them."""
    scored: list[tuple[float, int, set[int]]] = []
    meanings = [_meanings(w) for w in words]
    for item in known:
        parts = [p for p in _words(item.name) if len(p) >= 3 and p not in _NOISE] or _words(
            item.name
        )
        best: list[float] = []
        used: set[int] = set()
        for part in parts:
            top, where = 0.0, -1
            # A title's words mean what they say in its own language too ("Педикюр" is a
            # pedicure, whatever language it is asked for in).
            said = [part] if names else _meanings(part)
            for index, options in enumerate(meanings):
                score = max(_likeness(o, p, names=names) for o in options for p in said)
                if score > top:
                    top, where = score, index
            best.append(top)
            if top >= SURE:
                used.add(where)
        if not best or max(best) < SURE:
            continue
        # The best word decides; each other word of the title typed too adds a little, each
        # one not typed takes as much away ("manicure" is Manicure rather than Gel manicure,
        # and either of Classic and Gel manicure).
        matched = sum(1 for b in best if b >= SURE)
        score = max(best) + 8 * (matched - 1) - 8 * (len(best) - matched)
        scored.append((score, item.id, used))
    if not scored:
        return (), set()
    top = max(score for score, _, _ in scored)
    chosen = [(ident, used) for score, ident, used in scored if score >= top - CLOSE]
    used_all: set[int] = set()
    for _, used in chosen:
        used_all |= used
    return tuple(ident for ident, _ in chosen), used_all
