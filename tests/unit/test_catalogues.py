"""The message catalogues: every text the code and the templates use exists in every shipped
language, with the same placeholders and the language's number of plural forms; and the locale
formats are the locale's."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from plugin_app import i18n
from plugin_app.i18n import extract

pytestmark = pytest.mark.fast


def test_every_text_in_use_exists_in_every_language():
    gaps = extract.missing()
    where = extract.used()
    report = [f"{lang}: {msg!r} (used at {where[(ctx, msg)][0]})" for lang, lacks in gaps.items() for ctx, msg in lacks]
    assert not report, "texts missing from the catalogues:\n" + "\n".join(report[:60])


def test_the_code_uses_catalogued_texts_at_all():
    assert len(extract.used()) > 10  # the extraction reads the code and the templates


@pytest.mark.parametrize("lang", i18n.LOCALES[1:])
def test_each_catalogue_is_well_formed(lang):
    catalog = i18n.read_catalogue(lang)
    assert catalog is not None
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, problems  # placeholders and plural forms agree with the English text
    assert not [m.id for m in catalog if m.id and m.fuzzy]


def test_the_missing_check_can_fail(monkeypatch):
    monkeypatch.setattr(extract, "used", lambda: {(None, "A text nobody translated"): ["x.py:1"]})
    assert all(lacks == [(None, "A text nobody translated")] for lacks in extract.missing().values())


def test_locale_formats():
    when = datetime(2026, 3, 14, 21, 5, tzinfo=timezone.utc)
    it, en, de = i18n.translator("it-IT"), i18n.translator("en"), i18n.translator("de")
    assert it.money(Decimal("1234.5"), "EUR") == "1.234,50\xa0€"
    assert en.money(Decimal("6"), "EUR") == "€6.00"
    assert it.money({"amount": "6.00", "currency": "EUR"}, None) == "6,00\xa0€"
    assert it.number(1250) == "1.250" and en.number(Decimal("12.5")) == "12.5"
    assert it.datetime(when, "Europe/Rome") == "14 mar 2026, 22:05"
    assert de.date("2026-03-14") == "14.03.2026"
    assert i18n.locale_of("fr_CA") == "fr" and i18n.locale_of("pt-BR") == "en" and i18n.locale_of(None, "it") == "it"


def test_using_switches_the_language_for_templates():
    from jinja2 import Environment

    env = Environment(autoescape=True)
    i18n.install(env)
    tpl = env.from_string('{{ _("Members") }} · {{ money("6", "EUR") }}')
    with i18n.using("it"):
        assert tpl.render() == "Membri · 6,00\xa0€"
    assert tpl.render() == "Members · €6.00"
    counted = env.from_string('{{ ngettext("%(num)s member in %(tier)s", "%(num)s members in %(tier)s", n, tier="Gold") }}')
    assert counted.render(n=1) == "1 member in Gold" and counted.render(n=3) == "3 members in Gold"


@pytest.mark.parametrize("lang", i18n.LOCALES[1:])
def test_a_text_in_two_area_files_is_translated_the_same(lang):
    from babel.messages.pofile import read_po

    seen: dict = {}
    for path in i18n.catalogue_files(lang):
        with path.open("rb") as f:
            for m in read_po(f, locale=lang):
                if m.id:
                    seen.setdefault((m.context, str(m.id)), {})[path.name] = str(m.string)
    clashes = {k: v for k, v in seen.items() if len(set(v.values())) > 1}
    assert not clashes, clashes  # the first file would win silently: give one of them a context
