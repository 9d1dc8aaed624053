"""Translations and locale-aware formats: gettext catalogs from `.po`, babel for the rest."""

from __future__ import annotations

import datetime as dt
import gettext
import io
import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def load_catalog(path: Path) -> gettext.GNUTranslations:
    """Compile a `.po` file in memory, so no build step has to produce `.mo` files."""
    with path.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Catalogs:
    """Every shipped language's translations, loaded once at start."""

    def __init__(self, languages: tuple[str, ...], default: str, root: Path = LOCALES_DIR) -> None:
        self.languages = languages
        self.default = default
        self._translations: dict[str, gettext.NullTranslations] = {}
        for language in languages:
            po = root / language / "LC_MESSAGES" / f"{DOMAIN}.po"
            if po.is_file():
                self._translations[language] = load_catalog(po)
            else:
                # English is the source language: its messages are the msgids themselves.
                self._translations[language] = gettext.NullTranslations()
        self._translators: dict[str, Translator] = {}

    def pick(self, language_code: str | None) -> str:
        """The shipped language closest to a Telegram `language_code` such as `ru` or `en-GB`."""
        if language_code:
            base = language_code.replace("_", "-").split("-")[0].lower()
            if base in self._translations:
                return base
        return self.default

    def translator(self, language: str) -> Translator:
        language = language if language in self._translations else self.default
        found = self._translators.get(language)
        if found is None:
            found = Translator(language, self._translations[language])
            self._translators[language] = found
        return found


@dataclass(frozen=True, slots=True)
class Translator:
    """Messages and formats for one language. Placeholders are `%(name)s`, filled from kwargs."""

    language: str
    translations: gettext.NullTranslations

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.language)

    def gettext(self, message: str, **values: object) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = self.translations.ngettext(singular, plural, n)
        return text % {"n": n, **values}

    # --- formats -----------------------------------------------------------------------------

    def date(self, day: dt.date) -> str:
        """A day as people say it: "Fri, Nov 27"; the year only when it is not this one's."""
        return format_skeleton("MMMEd", day, locale=self.language)

    def long_date(self, day: dt.date) -> str:
        return format_date(day, "full", locale=self.language)

    def month(self, day: dt.date) -> str:
        return format_skeleton("yMMMM", day, locale=self.language).capitalize()

    def time(self, moment: dt.datetime | dt.time) -> str:
        return format_time(moment, "short", locale=self.language)

    def weekday_initials(self) -> list[str]:
        """Short weekday names, starting on the locale's first day of the week."""
        names = self.locale.days["stand-alone"]["short"]
        first = self.locale.first_week_day
        return [names[(first + i) % 7] for i in range(7)]

    @property
    def first_weekday(self) -> int:
        return int(self.locale.first_week_day)

    def price(self, amount: Decimal, currency: str) -> str:
        if not currency:
            return format_decimal(amount, locale=self.language)
        pattern = self.locale.currency_formats["standard"].pattern
        if amount == amount.to_integral_value():
            # Salons price in whole units; "€40" reads better than "€40.00".
            pattern = pattern.replace(".00", "")
        return format_currency(
            amount, currency, format=pattern, locale=self.language, currency_digits=False
        )

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
