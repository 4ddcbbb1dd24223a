"""Languages: message catalogues and locale formatting, for every text a person reads.

Catalogues are gettext `.po` files (``locales/<lang>/LC_MESSAGES/<area>.po``: admin, members,
shopper, email, ...; one language's files are read as one catalogue) whose message ids are the
English texts, read with Babel; `make messages` lists what the code and the templates use that a
catalogue lacks, and tests/unit/test_catalogues.py fails on it. Money, numbers and dates are formatted with Babel's CLDR data for the reader's locale.

    t = translator("it")
    t.gettext("%(points)s points", points=t.number(1250))   -> "1.250 punti"
    t.money(Decimal("6"), "EUR")                            -> "6,00 €"

The locale in force for templates is a context variable (`using(locale)`), so the admin pages,
the e-mails and the widget texts share one mechanism.
"""
from __future__ import annotations

import contextlib
import contextvars
import io
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as bdates
from babel import numbers as bnumbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("en", "it", "de", "fr", "es")
DEFAULT = "en"
HERE = Path(__file__).parent
CATALOGUES = HERE / "locales"


def N_(message: str) -> str:
    """Marks a text for the catalogue where it is defined; translated where it is shown."""
    return message


def locale_of(tag: object, fallback: str = DEFAULT) -> str:
    """A shipped language for a locale tag as platforms send it ('it', 'it-IT', 'it_IT', 'IT'),
    else `fallback` (itself normalised, else English)."""
    text = str(tag or "").strip().replace("_", "-").lower()
    lang = text.split("-")[0]
    if lang in LOCALES:
        return lang
    return fallback if fallback in LOCALES else locale_of(fallback) if fallback != DEFAULT else DEFAULT


def language_name(code: str) -> str:
    """A language's own name ('Italiano'), as a language picker shows it."""
    return Locale.parse(code).get_display_name(code).capitalize()


def catalogue_files(lang: str) -> list[Path]:
    return sorted((CATALOGUES / lang / "LC_MESSAGES").glob("*.po"))


def read_catalogue(lang: str):
    """One language's `.po` files as one Babel catalogue (the first file naming a text wins)."""
    merged = None
    for path in catalogue_files(lang):
        with path.open("rb") as f:
            catalog = read_po(f, locale=lang)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if message.id and message.id not in merged:
                merged[message.id] = message
    return merged


@cache
def _translations(lang: str) -> NullTranslations:
    catalog = read_catalogue(lang) if lang != DEFAULT else None
    if catalog is None:
        return NullTranslations()
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf)


@lru_cache(maxsize=4096)  # the same few numbers (points, costs) on every cart quote
def _number_text(value: str, locale: str) -> str:
    """babel's format_decimal of the exact number (its string: the Decimal round-trips)."""
    return bnumbers.format_decimal(Decimal(value), locale=locale, decimal_quantization=False)


@lru_cache(maxsize=4096)  # the same few amounts (a reward's value, a cashback) on every cart quote
def _currency_text(amount: str, currency: str, locale: str) -> str:
    """babel's format_currency of the exact amount (its string: the Decimal round-trips)."""
    return bnumbers.format_currency(Decimal(amount), currency, locale=locale)


@lru_cache(maxsize=4096)  # the same few days (activity, expiry) in every widget summary
def _date_text(value: date, format: str, locale: str) -> str:
    return bdates.format_date(value, format=format, locale=locale)


@dataclass(frozen=True)
class Translator:
    """Texts and formats for one reader's language."""
    locale: str

    @property
    def _t(self) -> NullTranslations:
        return _translations(self.locale)

    def gettext(self, message: str, **params) -> str:
        text = self._t.gettext(message)
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params) -> str:
        text = self._t.ngettext(singular, plural, n)
        return text % {"num": n, **params}

    def pgettext(self, context: str, message: str, **params) -> str:
        text = self._t.pgettext(context, message)
        return text % params if params else text

    _ = gettext

    # formats ------------------------------------------------------------------------------
    def number(self, value) -> str:
        """An integer or exact decimal with the locale's grouping and decimal signs."""
        if value is None:
            return "–"
        d = value if isinstance(value, Decimal) else Decimal(str(value))
        return _number_text(str(d), self.locale)

    def money(self, amount, currency: str | None) -> str:
        """'6,00 €' in Italian, '€6.00' in English; the currency's own minor unit."""
        if amount is None:
            return "–"
        if isinstance(amount, dict):
            amount, currency = amount.get("amount"), amount.get("currency") or currency
        d = amount if isinstance(amount, Decimal) else Decimal(str(amount))
        if not currency:
            return self.number(d)
        return _currency_text(str(d), currency, self.locale)

    def percent(self, ratio, digits: int = 1) -> str:
        """A ratio (0.125) as the locale writes a percentage ('12,5 %')."""
        if ratio is None:
            return "–"
        fmt = "#,##0." + "#" * digits + "%" if digits else "#,##0%"
        return bnumbers.format_percent(Decimal(str(ratio)), format=fmt, locale=self.locale)

    def rate(self, percent) -> str:
        """A rate the program stores in percent (5 → '5 %')."""
        return self.percent(Decimal(str(percent)) / 100, digits=2) if percent is not None else "–"

    def date(self, value, format: str = "medium") -> str:
        if value is None:
            return "–"
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(self.locale, str):
            return _date_text(value, format, self.locale)
        return bdates.format_date(value, format=format, locale=self.locale)

    def datetime(self, value, tz: str | tzinfo | None = None, format: str = "medium") -> str:
        """An instant in the reader's time zone."""
        if value is None:
            return "–"
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        zone = ZoneInfo(tz) if isinstance(tz, str) and tz else (tz or timezone.utc)
        local = value.astimezone(zone)
        day = bdates.format_date(local, format=format, locale=self.locale)
        clock = bdates.format_time(local, format="short", locale=self.locale)
        pattern = str(Locale.parse(self.locale).datetime_formats[format])  # '{1}, {0}': date, time
        return pattern.replace("{1}", day).replace("{0}", clock).replace("'", "")

    def month_day(self, month: int, day: int) -> str:
        """A birthday without its year ('14 marzo')."""
        return bdates.format_skeleton("MMMMd", date(2000, month, day), locale=self.locale)

    def language(self, code: str) -> str:
        return Locale.parse(code).get_display_name(self.locale)


@cache
def translator(locale: object = DEFAULT) -> Translator:
    return Translator(locale_of(locale))


_current: contextvars.ContextVar[Translator] = contextvars.ContextVar("loyalty_locale", default=Translator(DEFAULT))


def current() -> Translator:
    return _current.get()


def gettext(message: str, **params) -> str:
    """`message` in the current language (`from plugin_app.i18n import gettext as _`)."""
    return _current.get().gettext(message, **params)


def enter(locale: object) -> contextvars.Token:
    """Make `locale` the current one until `leave(token)` (a request's hooks: before and teardown)."""
    return _current.set(translator(locale))


def leave(token: contextvars.Token) -> None:
    _current.reset(token)


@contextlib.contextmanager
def using(locale: object):
    """Texts rendered inside the block (templates' `_()`) are in `locale`."""
    token = _current.set(translator(locale))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def install(env) -> None:
    """Give a Jinja environment `_`, `gettext` and `ngettext` that follow `using(...)`, and the
    formats as globals (`money`, `number`, `percent`, `date`, `datetime`)."""
    env.add_extension("jinja2.ext.i18n")
    # Newstyle gettext: Jinja fills the placeholders itself (`num` and the keyword arguments), so
    # these return the translated text unformatted.
    env.install_gettext_callables(
        gettext=lambda s: current()._t.gettext(s),
        ngettext=lambda s, p, n: current()._t.ngettext(s, p, n),
        pgettext=lambda c, s: current()._t.pgettext(c, s),
        npgettext=lambda c, s, p, n: current()._t.npgettext(c, s, p, n),
        newstyle=True)
    env.globals.update(
        money=lambda a, c=None: current().money(a, c), number=lambda v: current().number(v),
        percent=lambda r, d=1: current().percent(r, d), rate=lambda p: current().rate(p),
        date=lambda v, f="medium": current().date(v, f),
        datetime=lambda v, tz=None, f="medium": current().datetime(v, tz, f),
        locale=lambda: current().locale)
