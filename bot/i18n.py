"""Translations and locale-aware formats: gettext catalogs from `.po`, babel for the rest."""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
import logging
from dataclasses import dataclass
from decimal import Decimal
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.units import format_unit

log = logging.getLogger(__name__)

# The catalogs ship inside the package, so an installed wheel finds them wherever it lives.
LOCALES: Traversable = files("bot") / "locales"
DOMAIN = "messages"

# Babel identifiers of the shipped catalogs; English is the source language.
SHIPPED_LANGUAGES = ("en", "ru", "uk", "de", "es", "pt_BR", "pl", "lv", "lt", "et")
SOURCE_LANGUAGE = "en"


# Babel parses its locale data and patterns on every call. The values a menu shows (days, times
# of day, prices) repeat across clients, so each is formatted once per language.
_CACHE = 4096


@functools.cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


@functools.lru_cache(_CACHE)
def _date(language: str, day: dt.date) -> str:
    return format_skeleton("MMMEd", day, locale=_locale(language))


@functools.lru_cache(_CACHE)
def _long_date(language: str, day: dt.date) -> str:
    return format_date(day, "full", locale=_locale(language))


@functools.lru_cache(_CACHE)
def _month(language: str, day: dt.date) -> str:
    return format_skeleton("yMMMM", day, locale=_locale(language)).capitalize()


@functools.lru_cache(_CACHE)
def _time(language: str, clock: dt.time) -> str:
    return format_time(clock, "short", locale=_locale(language))


@functools.lru_cache(_CACHE)
def _price(language: str, amount: Decimal, currency: str) -> str:
    locale = _locale(language)
    if not currency:
        return format_decimal(amount, locale=locale)
    pattern = locale.currency_formats["standard"].pattern
    if amount == amount.to_integral_value():
        # Salons price in whole units; "€40" reads better than "€40.00".
        pattern = pattern.replace(".00", "")
    return format_currency(amount, currency, format=pattern, locale=locale, currency_digits=False)


@functools.cache
def writes_month_first(country: str) -> bool:
    """Whether people in `country` (ISO code) write a date month first (11/02: 2 November), as
    its main language's short date format does there."""
    if not country:
        return False
    languages = get_global("territory_languages").get(country.upper(), {})
    official = [code for code, info in languages.items() if info.get("official_status")]
    for language in official or list(languages):
        try:
            pattern = Locale.parse(f"{language}_{country.upper()}").date_formats["short"].pattern
        except (ValueError, LookupError, UnknownLocaleError):
            continue
        order = [ch for ch in pattern.lower() if ch in "dm"]
        return bool(order) and order[0] == "m"
    return False


class CatalogError(ValueError):
    """A translation file cannot be used; the message names the file and the message."""


def normalize_language(
    code: str | None, languages: tuple[str, ...] = SHIPPED_LANGUAGES
) -> str | None:
    """The shipped language for a code such as `pt-br`, `pt`, `de-AT` or `uk_UA`; else None."""
    if not code:
        return None
    wanted = code.strip().replace("-", "_").lower()
    by_lower = {language.lower(): language for language in languages}
    if wanted in by_lower:
        return by_lower[wanted]
    base = wanted.split("_")[0]
    if base in by_lower:
        return by_lower[base]
    # Brazilian Portuguese serves every Portuguese speaker rather than none.
    return next((lang for lang in languages if lang.lower().split("_")[0] == base), None)


def load_catalog(path: Path | Traversable) -> gettext.GNUTranslations:
    """Compile a `.po` file in memory, so no build step has to produce `.mo` files.

    A message whose placeholders do not match its source would fail when shown, so such a file
    is refused at start, naming the message.
    """
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot be read: {exc}") from exc
    for message, problems in catalog.check():
        raise CatalogError(f"{path}: {message.id!r}: {problems[0]}")
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Catalogs:
    """Every shipped language's translations, loaded once at start.

    A salon's own wording (`overrides`: `<dir>/<lang>/LC_MESSAGES/messages.po` or
    `<dir>/<lang>.po`) is consulted first, and the shipped catalog for whatever it leaves out.
    """

    def __init__(
        self,
        languages: tuple[str, ...],
        default: str,
        root: Path | Traversable = LOCALES,
        overrides: Path | None = None,
    ) -> None:
        self.languages = languages
        self.default = default
        self._translations: dict[str, gettext.NullTranslations] = {}
        for language in languages:
            shipped: gettext.NullTranslations
            if language == SOURCE_LANGUAGE:
                # The source language's messages are the msgids themselves.
                shipped = gettext.NullTranslations()
            else:
                po = root / language / "LC_MESSAGES" / f"{DOMAIN}.po"
                if not po.is_file():
                    # Answering in English without a word would look like it works.
                    raise CatalogError(
                        f"the {language} catalog is missing ({po}): the package is incomplete"
                    )
                shipped = load_catalog(po)
            own = _override(overrides, language)
            if own is not None:
                own.add_fallback(shipped)
                shipped = own
            self._translations[language] = shipped
        self._translators: dict[str, Translator] = {}

    def pick(self, language_code: str | None) -> str:
        """The shipped language closest to a Telegram `language_code` such as `ru` or `pt-br`."""
        return normalize_language(language_code, self.languages) or self.default

    def translator(self, language: str) -> Translator:
        language = language if language in self._translations else self.default
        found = self._translators.get(language)
        if found is None:
            found = Translator(language, self._translations[language])
            self._translators[language] = found
        return found


def _override(folder: Path | None, language: str) -> gettext.GNUTranslations | None:
    if folder is None:
        return None
    for po in (folder / language / "LC_MESSAGES" / f"{DOMAIN}.po", folder / f"{language}.po"):
        if po.is_file():
            log.info("using the salon's own wording from %s", po)
            return load_catalog(po)
    return None


def language_name(language: str) -> str:
    """A language's name in itself, as a menu of languages shows it: "Deutsch", "Português"."""
    locale = Locale.parse(language)
    name = locale.get_display_name(locale) or language
    return name[:1].upper() + name[1:]


@dataclass(frozen=True, slots=True)
class Translator:
    """Messages and formats for one language. Placeholders are `%(name)s`, filled from kwargs."""

    language: str
    translations: gettext.NullTranslations

    @property
    def locale(self) -> Locale:
        return _locale(self.language)

    def gettext(self, message: str, **values: object) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = self.translations.ngettext(singular, plural, n)
        return text % {"n": n, **values}

    # --- formats -----------------------------------------------------------------------------

    def date(self, day: dt.date) -> str:
        """A day as people say it: "Fri, Nov 27"; the year only when it is not this one's."""
        return _date(self.language, day)

    def long_date(self, day: dt.date) -> str:
        return _long_date(self.language, day)

    def month(self, day: dt.date) -> str:
        return _month(self.language, day)

    def time(self, moment: dt.datetime | dt.time) -> str:
        """A time of day as the clock shows it (a datetime's own, in its own timezone)."""
        clock = moment.time() if isinstance(moment, dt.datetime) else moment
        return _time(self.language, clock.replace(tzinfo=None))

    def weekday_initials(self) -> list[str]:
        """Short weekday names, starting on the locale's first day of the week."""
        names = self.locale.days["stand-alone"]["short"]
        first = self.locale.first_week_day
        return [names[(first + i) % 7] for i in range(7)]

    @property
    def first_weekday(self) -> int:
        return int(self.locale.first_week_day)

    def price(self, amount: Decimal, currency: str) -> str:
        return _price(self.language, amount, currency)

    def price_range(self, low: Decimal | None, high: Decimal | None, currency: str) -> str:
        if low is None and high is None:
            return ""
        if low is None or high is None or low == high:
            return self.price(low if low is not None else high or Decimal(0), currency)
        return self.gettext(
            "%(low)s–%(high)s",
            low=self.price(low, currency),
            high=self.price(high, currency),
        )

    def distance(self, km: float) -> str:
        """How far a place is, as the client's language writes it: "350 m", "2.4 km", "12 km"."""
        if km < 1:
            metres = max(10, round(km * 100) * 10)
            return format_unit(metres, "length-meter", length="short", locale=self.language)
        value = round(km, 1) if km < 10 else round(km)
        return format_unit(value, "length-kilometer", length="short", locale=self.language)

    def duration(self, seconds: int) -> str:
        minutes = max(0, round(seconds / 60))
        hours, rest = divmod(minutes, 60)
        if hours and rest:
            return self.gettext(
                "%(hours)s h %(minutes)s min",
                hours=format_decimal(hours, locale=self.language),
                minutes=rest,
            )
        if hours:
            return self.ngettext("%(n)s hour", "%(n)s hours", hours)
        return self.gettext("%(minutes)s min", minutes=rest)
