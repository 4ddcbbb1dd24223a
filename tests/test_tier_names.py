"""Tier names (and perks) per language reach the shopper: the panel's /me, the customer-account
summary. The stored tier stays the default name."""
import re

from plugin_app.services import identity

from .factories import use_program
from .test_notifications import deliver, rt, smtp, subject  # noqa: F401 (fixtures)
from .test_shopify_extensions_backend import CUSTOMER, env, send, token  # noqa: F401 (the fixture)

LEVELS = [{"name": "Bronze", "threshold": "0", "names": {"it": "Bronzo"}, "perks": ["Birthday gift"],
           "perks_i18n": {"it": ["Regalo di compleanno"]}},
          {"name": "Silver", "threshold": "500", "names": {"it": "Argento"}}]


def test_the_panel_names_the_tier_in_italian(env):
    use_program(env.rt, env.shop, tiers={"levels": LEVELS})
    head = {"Authorization": f"Bearer {identity.sign(env.shop.id, str(CUSTOMER), env.rt.shops.widget_secret(env.shop.id))}"}
    url = f"/storefront/v1/me?shop={env.shop.widget_key}"
    it = env.client.get(url + "&locale=it", headers=head).get_json()
    tier = it["member"]["tier"]
    assert tier["name"] == "Bronze" and tier["label"] == "Bronzo"  # identity kept, Italian shown
    assert "Bronzo" in tier["text"] and "Argento" in tier["next_text"] and "Silver" not in tier["next_text"]
    assert tier["perks"] == ["Regalo di compleanno"]
    assert [t["label"] for t in it["program"]["tiers"]] == ["Bronzo", "Argento"]
    en = env.client.get(url + "&locale=en", headers=head).get_json()["member"]["tier"]
    assert en["label"] == "Bronze" and "Silver" in en["next_text"] and en["perks"] == ["Birthday gift"]
    assert env.rt.members.get(env.shop.id, env.member.id)[0].tier in (None, "Bronze")  # what is stored


def test_the_customer_account_summary_names_the_tier_in_italian(env):
    use_program(env.rt, env.shop, tiers={"levels": LEVELS})
    body = send(env, "GET", "/ext/customer-account/summary?locale=it-IT", token()).get_json()
    assert body["tier"]["name"] == "Bronzo" and body["tier"]["id"] == "Bronze"
    assert "Argento" in body["tier"]["progress_text"]
    body = send(env, "GET", "/ext/customer-account/summary?locale=en", token()).get_json()
    assert body["tier"]["name"] == "Bronze"


def test_the_tier_reached_email_names_the_tier_in_italian(rt, clock, smtp):  # noqa: F811
    from . import factories as F

    shop = F.shop(rt, domain="negozio-tier.example", currency="EUR", name="Il Negozio")
    F.use_program(rt, shop, widget={"locale": "it"}, tiers={"levels": LEVELS})
    member = F.member(rt, shop, "c1", email="ada@example.com", name="Ada Lovelace")
    for n, points in enumerate((0, 610)):  # Bronze on joining (no e-mail), then Silver
        if points:
            rt.ledger.earn(shop.id, member.id, "points", points, key=f"o{n}", source="order", reason="order")
        with rt.db.uow(shop.id) as uow:
            pv = rt.programs.current(shop.id)
            rt.tiers.evaluate(uow, member.id, pv.program, pv.version, why="test")
    deliver(rt, clock, rounds=2)
    tier_mails = [m for _, m in smtp.messages if "Argento" in subject(m)]
    assert len(tier_mails) == 1, [subject(m) for _, m in smtp.messages]
    body = tier_mails[0].get_body(("plain",)).get_content()
    assert "Argento" in body and "Silver" not in body and "Silver" not in subject(tier_mails[0])
    assert rt.members.get(shop.id, member.id)[0].tier == "Silver"  # the identity is what is stored


def test_the_admin_tiers_page_round_trips_names_and_perks_per_language(client):
    from plugin_app.services.program import dump

    from .test_admin_forms import post

    rt = client.application.extensions["loyalty"]
    shop, key = rt.shops.register("demo", "tier-names.example", currency="EUR")
    client.post("/admin/login", data={"key": key})
    doc = dump(rt.programs.current(shop.id).program)
    doc["tiers"]["levels"][1].update(names={"it": "Argento", "de": "Silber"}, perks=["Free shipping"],
                                     perks_i18n={"it": ["Spedizione gratuita", "Regalo"]})
    rt.programs.put(shop.id, doc, author="t")
    before = dump(rt.programs.current(shop.id).program)
    page = client.get("/admin/tiers").data.decode()
    assert re.search(r'name="tiers.levels.1.names.it"[^>]*value="Argento"', page)
    assert re.search(r'name="tiers.levels.1.perks_i18n.it"[^>]*>Spedizione gratuita\nRegalo<', page)
    html = post(client, "tiers", extra=[("action", "save")])
    assert "Saved as version" in html, html[-2000:]
    assert dump(rt.programs.current(shop.id).program) == before  # unchanged through the form
    html = post(client, "tiers", {"tiers.levels.2.names.fr": "Or", "tiers.levels.1.names.de": "",
                                  "tiers.levels.1.perks_i18n.es": "Envío gratis\n\n"}, [("action", "save")])
    assert "Saved as version" in html, html[-2000:]
    levels = rt.programs.current(shop.id).program.tiers.levels
    assert levels[2].names == {"fr": "Or"} and levels[2].name == "Gold"
    assert levels[1].names == {"it": "Argento"}  # emptied: the default again
    assert levels[1].perks_i18n == {"it": ["Spedizione gratuita", "Regalo"], "es": ["Envío gratis"]}
