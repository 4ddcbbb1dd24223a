"""Shopper e-mails that look like the shop and speak the shopper's language: multipart HTML +
text through a real SMTP peer (aiosmtpd), each member in their own language (from what the
platforms send) else the shop's, money and dates formatted for that language in the shop's
time zone; the admin's E-mails page previews every kind in any language and sends a test; old
program documents (subject_en, …) still parse."""
import json
import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict

from connectors.shopify import translate as shopify_translate
from connectors.woocommerce import translate as woo_translate
from plugin_app.domain import notifications as N
from plugin_app.domain.member_events import PointsExpiring
from plugin_app.services import emails

from . import factories as F
from . import shopify_standin, woocommerce_standin
from .formdata import form_data
from .test_notifications import deliver, rt, smtp, subject  # noqa: F401  (fixtures)

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def english_sentences() -> set[str]:
    """The fixed parts (between placeholders) of every English default text and label."""
    texts = [t for kind in N.KINDS for t in emails.DEFAULTS[kind]]
    texts += ["You get this e-mail because you are a member of %(shop)s rewards.", "Unsubscribe",
              "points in your balance", "store credit to spend", "points expire on %(date)s", "ready for your next order"]
    pieces = {p.strip(" ,.!:()\n") for t in texts for p in re.split(r"%\(\w+\)s", t)}
    return {p for p in pieces if len(p) >= 8}


def parts(msg) -> tuple[str, str]:
    assert msg.get_content_type() == "multipart/alternative"
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def test_each_member_gets_multipart_emails_in_their_language_with_local_money_and_dates(rt, clock, smtp):  # noqa: F811
    shop = F.shop(rt, domain="bottega.example", currency="EUR", name="Bottega", timezone="Europe/Rome")
    F.use_program(rt, shop, timezone="Europe/Rome", widget={"locale": "fr", "colour": "#0b6e4f"},
                  notifications={"logo_url": "https://bottega.example/logo.png"})
    people = {"it": ("c-it", "it-IT"), "de": ("c-de", "de_DE"), "fr": ("c-none", None)}
    members = {}
    for lang, (customer, tag) in people.items():
        members[lang], _ = rt.members.enrol(shop.id, customer, email=f"{customer}@example.com", name="Ada Rossi",
                                            locale=tag)
        rt.ledger.earn(shop.id, members[lang].id, "credit", "6.00", key=f"cb-{customer}", source="order", reason="cb")
        with rt.db.uow(shop.id) as uow:  # 23:30 UTC on 31 Dec is 1 January in Rome
            uow.collect(PointsExpiring(shop_id=shop.id, member_id=members[lang].id, at=clock.now(), asset="points",
                                       amount=40, days=7, by_inactivity=False, dated=datetime(2026, 12, 31).date(),
                                       expires_at=datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)))
    assert rt.members.get(shop.id, members["de"].id)[0].locale == "de_DE"
    deliver(rt, clock, rounds=2)
    inbox: dict[str, list] = {}
    for to, msg in smtp.messages:
        inbox.setdefault(to[0], []).append(msg)
    expect = {
        "it": {"Benvenuto nel programma fedeltà di Bottega", "6,00\xa0€ di cashback pronti da spendere",
               "40 punti scadono il 1 gen 2027"},
        "de": {"Willkommen im Prämienprogramm von Bottega", "6,00\xa0€ Cashback stehen für Sie bereit",
               "40 Punkte verfallen am 01.01.2027"},
        "fr": {"Bienvenue dans le programme de fidélité de Bottega", "6,00\xa0€ de cashback à dépenser",
               "40 points expirent le 1 janv. 2027"},
    }
    english = english_sentences()
    for lang, (customer, _) in people.items():
        got = inbox[f"{customer}@example.com"]
        assert {subject(m) for m in got} == expect[lang], lang
        for msg in got:
            text, html = parts(msg)
            assert msg["Content-Language"] == lang and f'<html lang="{lang}"' in html
            for part in (text, html):
                assert "EUR" not in part and "6.00" not in part and not ISO_DATE.search(part), (lang, part)
            assert "https://bottega.example/logo.png" in html and 'alt="Bottega"' in html and "#0b6e4f" in html
            assert "max-width:600px" in html and "<table" in html and re.search(r'href="https://loyalty.example/u/', html)
            assert re.search(r"https://loyalty.example/u/\S+", text)
            if lang != "en":
                leaked = [s for s in english if s in text or s in html]
                assert not leaked, (lang, leaked)
        cashback = next(m for m in got if "6,00" in subject(m))
        assert "6,00\xa0€" in parts(cashback)[0] and "6,00\xa0€" in parts(cashback)[1]


def test_the_platforms_tell_the_members_language(rt):  # noqa: F811
    order = shopify_standin.order(customer_locale="it-IT")
    [seen] = shopify_translate.events("orders/paid", json.dumps(order).encode())
    assert seen.locale == "it-IT"
    assert shopify_translate.graphql_order(shopify_standin.to_graphql(order)).locale == "it-IT"
    assert shopify_translate.order(shopify_standin.order()).locale is None  # an order made in the admin
    [customer] = woo_translate.events("customer.updated", json.dumps(woocommerce_standin.customer(locale="de_DE")).encode())
    assert customer.locale == "de_DE"
    assert woo_translate.events("customer.updated", json.dumps(woocommerce_standin.customer()).encode())[0].locale is None

    shop = F.shop(rt, currency="EUR")
    rt.platform.apply(shop.id, customer)
    member = rt.members.by_customer(shop.id, "12")[0]
    assert member.locale == "de_DE"
    program = rt.programs.current(shop.id).program
    assert rt.notifier.language(member, program) == "de"
    rt.members.enrol(shop.id, "12", locale="<script>")  # not a language tag: ignored, nothing changes
    assert rt.members.by_customer(shop.id, "12")[0].locale == "de_DE"
    rt.members.enrol(shop.id, "13", locale="pt-BR")  # a language we do not ship: the shop's
    assert rt.notifier.language(rt.members.by_customer(shop.id, "13")[0], program) == "en"


def test_old_program_documents_with_subject_en_still_parse(client):
    rt = client.application.extensions["loyalty"]
    shop, key = rt.shops.register("demo", "old-doc.example", currency="EUR")
    h = {"Authorization": f"Bearer {key}"}
    doc = client.get("/admin/api/v1/program", headers=h).get_json()
    doc = {k: v for k, v in doc.items() if k not in ("version",)}
    doc["notifications"] = {**doc["notifications"],
                            "welcome": {"enabled": True, "subject_en": "Hello {name}", "body_en": "",
                                        "subject_it": "Ciao {name}", "body_it": "Benvenuto da {shop}"}}
    for k in N.KINDS:
        doc["notifications"][k].pop("subject", None) if k == "welcome" else None
    r = client.put("/admin/api/v1/program", headers=h, json=doc)
    assert r.status_code == 200, r.get_json()
    welcome = rt.programs.current(shop.id).program.notifications.welcome
    assert welcome.subject == {"en": "Hello {name}", "it": "Ciao {name}"} and welcome.body == {"it": "Benvenuto da {shop}"}
    after = client.get("/admin/api/v1/program", headers=h).get_json()["notifications"]["welcome"]
    assert "subject_en" not in after and after["subject"]["it"] == "Ciao {name}"
    doc["notifications"]["welcome"] = {"subject_it": "Ciao {nome}"}  # still checked like the new shape
    r = client.put("/admin/api/v1/program", headers=h, json=doc)
    assert r.status_code == 422 and "unknown placeholders" in json.dumps(r.get_json())
    assert rt.programs.current(shop.id).program.notifications.welcome.subject["it"] == "Ciao {name}"


@pytest.fixture
def admin(client):
    rt = client.application.extensions["loyalty"]
    shop, key = rt.shops.register("demo", "mails.example", currency="EUR", name="Bottega")
    client.post("/admin/login", data={"key": key})
    return client, rt, shop


def test_the_admin_previews_every_kind_in_italian_in_its_own_sandboxed_frame(admin):
    client, rt, shop = admin
    page = client.get("/admin/emails?lang=it&preview_lang=it&kind=tier_lost").data.decode()
    assert "Anteprima" in page and "Invia una prova" in page and "Oggetto" in page
    assert 'sandbox=""' in page and "/admin/emails/preview/tier_lost?lang=it" in page
    assert 'placeholder="Benvenuto nel programma fedeltà di {shop}"' in page  # our text, in the merchant's syntax
    assert "style=" not in page and "<script>" not in page  # the admin's strict CSP
    english = english_sentences()
    for kind in N.KINDS:
        r = client.get(f"/admin/emails/preview/{kind}?lang=it")
        html = r.data.decode()
        assert r.status_code == 200 and '<html lang="it"' in html
        csp = r.headers["Content-Security-Policy"]
        assert "sandbox" in csp and "frame-ancestors 'self'" in csp and "script-src" not in csp
        assert not [s for s in english if s in html], kind
        assert "EUR" not in html and not ISO_DATE.search(html)
    assert client.get("/admin/emails/preview/nonsense?lang=it").status_code == 404


def test_send_a_test_without_a_relay_says_so_and_with_a_bad_address_sends_nothing(admin):
    client, rt, shop = admin
    page = client.get("/admin/emails").data.decode()
    assert "No mail relay is configured" in page
    data = MultiDict(form_data(page, 0))
    data["to"], data["action"] = "owner@bottega.example", "test"
    page = client.post("/admin/emails?lang=it", data=data).data.decode()
    assert "Per questa app non è configurato alcun server di posta" in page


def test_send_a_test_arrives_through_the_relay(clean_db, smtp):  # noqa: F811
    from plugin_app import create_app

    from .conftest import ENCRYPTION_KEY
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_starttls": False,
                      "mail_from": "rewards@loyalty.example", "app_url": "https://loyalty.example"})
    client = app.test_client()
    rt = app.extensions["loyalty"]
    shop, key = rt.shops.register("demo", "mails.example", currency="EUR", name="Bottega")
    client.post("/admin/login", data={"key": key})
    page = client.get("/admin/emails?kind=cashback_available&preview_lang=de").data.decode()
    data = MultiDict(form_data(page, 0))
    data["to"], data["action"] = "not an address", "test"
    assert "Enter an e-mail address like" in client.post("/admin/emails", data=data).data.decode()
    assert smtp.messages == []
    data["to"] = "owner@bottega.example"
    page = client.post("/admin/emails", data=data).data.decode()
    assert "A test e-mail is on its way to owner@bottega.example" in page
    [(to, msg)] = smtp.messages
    text, html = parts(msg)
    assert to == ["owner@bottega.example"] and subject(msg) == "[Test] 6,00\xa0€ Cashback stehen für Sie bereit"
    assert "6,00\xa0€" in text and '<html lang="de"' in html and msg["From"] == "Bottega <rewards@loyalty.example>"
    assert rt.notifier.log(shop.id) == []  # a test is not a member's e-mail
    app.extensions["loyalty"].close()


from .test_admin_pages import admin as admin_store, sign_in  # noqa: E402,F401  (fixtures)
from .test_widgets import SHOTS, browser, needs_browser, store  # noqa: E402,F401  (fixtures)

EMAIL_SHOTS = SHOTS.parent / "emails"


@needs_browser
def test_emails_page_and_a_rendered_email_in_chromium(browser, admin_store):  # noqa: F811
    """The E-mails page in English and Italian, the preview frame loaded under its own policy
    (the e-mail's inline styles apply, nothing is blocked), and the HTML e-mail itself."""
    EMAIL_SHOTS.mkdir(parents=True, exist_ok=True)
    page = sign_in(browser, admin_store)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{admin_store.base}/admin/emails?lang=en&kind=cashback_available&preview_lang=en")
    assert page.locator("nav a[aria-current=page]").inner_text() == "E-mails"
    frame = page.frame_locator("iframe.mail-preview")
    frame.locator("table").first.wait_for()
    assert "store credit to spend" in frame.locator("body").inner_text()
    button = frame.locator("a[href^='https://']").first
    assert button.evaluate("e => getComputedStyle(e).paddingTop") == "12px"  # inline styles applied
    page.screenshot(path=str(EMAIL_SHOTS / "emails-page-en.png"), full_page=True)
    page.goto(f"{admin_store.base}/admin/emails?lang=it&kind=tier_reached&preview_lang=it")
    page.frame_locator("iframe.mail-preview").locator("table").first.wait_for()
    assert "Invia una prova" in page.content()
    page.screenshot(path=str(EMAIL_SHOTS / "emails-page-it.png"), full_page=True)
    assert not blocked, blocked
    for lang, kind in (("it", "cashback_available"), ("en", "welcome")):
        page.set_viewport_size({"width": 700, "height": 900})
        page.goto(f"{admin_store.base}/admin/emails/preview/{kind}?lang={lang}")
        width = page.locator("table[width='600']").first.evaluate("e => e.getBoundingClientRect().width")
        assert width <= 600
        page.screenshot(path=str(EMAIL_SHOTS / f"email-{kind}-{lang}.png"), full_page=True)
    page.context.close()
