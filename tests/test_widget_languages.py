"""The panel and the cart widget in the shopper's language, in Chromium: the same member and the
same cart rendered in English and in Italian (and German); no English text from the catalogue
that the English rendering shows is left in the other language, no ISO date, no "6.00 EUR".
Screenshots in test-artifacts/widgets/ (panel-lang-*.png, cart-lang-*.png)."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from plugin_app import i18n
from plugin_app.domain.earning import Order, OrderLine

from .test_widgets import SHOTS, browser, needs_browser, open_page, open_panel, store  # noqa: F401 (fixtures)

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CODE_MONEY = re.compile(r"\d(?:[\d.,\s]*\d)?\s?(?:EUR|USD|GBP)\b")
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def english_fragments(lang: str, english_text: str) -> list[str]:
    """The catalogue's English texts (split at their placeholders, so numbers and names are left
    out) that the English rendering shows and whose translation into `lang` is other words."""
    catalog = i18n.read_catalogue(lang)
    found = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated = " ".join(s for s in strings if s)
        for msgid in ids:
            for part in PLACEHOLDER.split(msgid):
                part = part.strip(" :·.,()“”«»!?—-")
                if sum(c.isalpha() for c in part) < 4 or part in translated:
                    continue
                if re.search(rf"(?<!\w){re.escape(part)}(?!\w)", english_text):
                    found.add(part)
    return sorted(found)


@pytest.fixture
def state(store):
    """The member with a bit of everything the widget can show: an expiring lot, store credit
    from cashback, a birthday, a tier reward out of reach, a reward named per language."""
    rt, shop_id = store.rt, store.shop_id
    rt.programs.put(shop_id, {
        "referrals": {"enabled": True}, "cashback": {"enabled": True, "rate": "5"},
        "expiry": {"mode": "age", "months": 12},
        "actions": {"birthday": {"enabled": True, "points": 100}, "review": {"enabled": True, "points": 20}},
        "rewards": [{"id": "five-off", "name": "5.00 off your order", "type": "fixed_amount", "points_cost": 100,
                     "amount": "5", "names": {"it": "5 € di sconto", "de": "5 € Rabatt"}},
                    {"id": "ship", "name": "Free delivery", "type": "free_shipping", "points_cost": 50,
                     "names": {"it": "Consegna gratuita", "de": "Gratisversand"}},
                    {"id": "gold", "name": "Gold gift", "type": "percentage", "percent": "20", "points_cost": 300,
                     "tiers": ["Gold"], "names": {"it": "Regalo Gold", "de": "Gold-Geschenk"}}]}, author="test")
    rt.actions.award(shop_id, "demo-1000", "review", "review-1")
    now = rt.clock.now()
    rt.orders.on_paid(shop_id, Order("lang-1", "EUR", now - timedelta(hours=1),
                                     (OrderLine("lang-1-a", 1, Decimal("80.00")),), "demo-1000"))
    return store


def texts_of(browser, store, lang, member=True):
    page, errors = open_page(browser, store, lang=lang, member=member)
    panel = open_panel(page)
    page.wait_for_timeout(100)
    panel_text = panel.inner_text()
    if member:
        page.screenshot(path=str(SHOTS / f"panel-lang-{lang}.png"))
        panel.evaluate("p => { p.scrollTop = p.scrollHeight; }")
        page.screenshot(path=str(SHOTS / f"panel-lang-{lang}-activity.png"))
    page.keyboard.press("Escape")
    page.click("[data-add=p3]")
    page.wait_for_selector("[data-loyalty-cart] >> [data-earn]")
    cart = page.locator("[data-loyalty-cart] >> .cart")
    cart_text = cart.inner_text()
    if member:
        page.locator("[data-loyalty-cart]").screenshot(path=str(SHOTS / f"cart-lang-{lang}.png"))
    page.context.close()
    assert not errors, errors
    return panel_text, cart_text


def check(english: str, other: str, lang: str) -> list[str]:
    fragments = english_fragments(lang, english)
    left = [f for f in fragments if re.search(rf"(?<!\w){re.escape(f)}(?!\w)", other)]
    assert not left, f"English left in the {lang} widget: {left}\n---\n{other}"
    assert not ISO_DATE.search(other) and not CODE_MONEY.search(other), other
    return fragments


@needs_browser
def test_the_panel_and_the_cart_speak_italian_and_german(browser, state):
    SHOTS.mkdir(parents=True, exist_ok=True)
    en_panel, en_cart = texts_of(browser, state, "en")
    assert not ISO_DATE.search(en_panel + en_cart) and not CODE_MONEY.search(en_panel + en_cart)
    assert "Recent activity" in en_panel and "This cart earns" in en_cart and "Only for members at Gold" in en_cart
    it_panel, it_cart = texts_of(browser, state, "it")
    checked = check(en_panel, it_panel, "it") + check(en_cart, it_cart, "it")
    assert len(checked) >= 20, checked  # the comparison covers the widget's texts, not a handful
    assert "Regalo Gold (20% di sconto)\nSolo per i membri di livello Gold" in it_panel.replace("\t", "\n") or \
        "Solo per i membri di livello Gold" in it_panel  # a tier's reward is not "yours to use" below its tier
    assert "Attività recenti" in it_panel and "Recensione di un prodotto" in it_panel and "5 € di sconto" in it_panel
    assert "Con questo carrello guadagni" in it_cart and "Solo per i membri di livello Gold" in it_cart
    assert re.search(r"\d+,\d{2}\xa0€", it_panel)  # store credit as Italian writes money
    de_panel, de_cart = texts_of(browser, state, "de")
    check(en_panel, de_panel, "de")
    check(en_cart, de_cart, "de")
    assert "Letzte Aktivitäten" in de_panel and "Dieser Warenkorb bringt" in de_cart


@needs_browser
def test_a_guest_cart_asks_to_sign_in_in_the_shoppers_language(browser, state):
    en_panel, en_cart = texts_of(browser, state, "en", member=False)
    it_panel, it_cart = texts_of(browser, state, "it", member=False)
    assert "Sign in to use your rewards" in en_cart and "Accedi per usare i tuoi premi" in it_cart
    check(en_panel, it_panel, "it")
    check(en_cart, it_cart, "it")
