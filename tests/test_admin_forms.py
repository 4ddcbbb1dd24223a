"""The program's task pages over HTTP: every page round-trips the program unchanged, errors are
drawn next to their inputs in words (the API's own validation), rows are added and removed, a
stale form does not overwrite a newer version, the preview says who moves and writes nothing,
and the old section addresses lead to the new pages."""
import re

import pytest
from werkzeug.datastructures import MultiDict

from plugin_app.services.program import dump

from .formdata import form_data

PAGES = ["earn", "redeem", "tiers", "referrals", "cashback", "campaigns", "settings"]


@pytest.fixture
def admin(client):
    rt = client.application.extensions["loyalty"]
    shop, key = rt.shops.register("demo", "forms.example", currency="EUR")
    client.post("/admin/login", data={"key": key})
    return client, rt, shop


def rich(base: dict) -> dict:
    match = {"products": [], "collections": ["shoes"], "tags": [], "product_types": []}
    return {**base,
            "earning": {**base["earning"], "exclude": {**match, "collections": [], "tags": ["gift"]},
                        "multipliers": [{"match": match, "factor": "2", "label": "Shoes x2"}]},
            "actions": {**base["actions"], "custom": {"quiz_done": {"enabled": True, "points": 20, "caps": {
                "per_day": 1, "per_month": None, "per_year": None, "lifetime": 5}}}},
            "campaigns": [{"name": "Double weekend", "factor": "2", "kind": "multiplier", "days_of_week": [5, 6],
                           "window": {"starts_at": "2026-12-05T00:00:00", "ends_at": "2026-12-07T23:59:00"}}],
            "cashback": {**base["cashback"], "enabled": True, "expiry_days": 90,
                         "boosts": [{"match": match, "rate": "10", "label": "shoes"}]},
            "rewards": base["rewards"] + [{"id": "gold-ship", "name": "Free shipping", "type": "free_shipping",
                                           "points_cost": 300, "tiers": ["Gold"]}],
            "widget": {**base["widget"], "texts": {"it": {"title": "Punti"}}},
            "referrals": {**base["referrals"], "enabled": True, "fraud": {**base["referrals"]["fraud"], "ip_velocity": "observe"}}}


def post(client, page: str, changes: dict | None = None, extra=(), drop=()):
    """Load the page's form, change some fields as a merchant would, and post it."""
    data = [(k, v) for k, v in form_data(client.get(f"/admin/{page}").data.decode()) if k not in drop]
    for name, value in (changes or {}).items():
        data = [(k, value if k == name else v) for k, v in data]
    return client.post(f"/admin/{page}", data=MultiDict(data + list(extra))).data.decode()


def test_every_page_round_trips_unchanged(admin):
    client, rt, shop = admin
    rt.programs.put(shop.id, rich(dump(rt.programs.current(shop.id).program)), author="t")
    before = dump(rt.programs.current(shop.id).program)
    version = rt.programs.current(shop.id).version
    for n, page in enumerate(PAGES, 1):
        html = post(client, page, extra=[("action", "save")])
        assert f"Saved as version {version + n}" in html, (page, html[-3000:])
        assert dump(rt.programs.current(shop.id).program) == before, page


def test_nothing_internal_is_on_screen(admin):
    client, rt, shop = admin
    rt.programs.put(shop.id, rich(dump(rt.programs.current(shop.id).program)), author="t")
    for page in PAGES + ["home", "program/history"]:
        html = client.get(f"/admin/{page}").data.decode()
        text = re.sub(r"<[^>]+>", " ", re.sub(r"<(select|script|style)[^>]*>.*?</\1>", " ", html, flags=re.S))
        for internal in ("points_per_unit", "fixed_amount", "same_device_or_ip", "earn_multiplier", "tiers.levels",
                         "{", "admin-page:", "rolling_12_months", "Levels 1"):
            assert internal not in text, (page, internal)
    assert "×" in client.get("/admin/tiers").data.decode()  # multipliers read as ×1.25


def test_errors_are_drawn_next_to_their_fields_in_words_and_nothing_is_saved(admin):
    client, rt, shop = admin
    version = rt.programs.current(shop.id).version
    page = post(client, "tiers", {"tiers.levels.2.threshold": "-5", "tiers.grace_days": "soon"}, [("action", "save")])
    assert re.search(r'name="tiers.levels.2.threshold" value="-5"[^>]* aria-describedby="[^"]*e-f-tiers-levels-2-threshold" aria-invalid="true"', page)
    assert re.search(r'id="e-f-tiers-levels-2-threshold" role="alert">Must not be below 0', page)
    assert re.search(r'id="e-f-tiers-grace_days" role="alert">Enter a whole number', page)
    page = post(client, "tiers", {"tiers.grace_days": "999"}, [("action", "save")])
    assert re.search(r'id="e-f-tiers-grace_days" role="alert">Enter a number from 0 to 730', page)
    page = post(client, "earn", {"earning.points_per_unit": "lots"}, [("action", "preview")])
    assert re.search(r'id="e-f-earning-points_per_unit" role="alert">Enter a number', page)
    page = post(client, "tiers", {"tiers.levels.1.threshold": "1500"}, [("action", "save")])  # equal to Gold's
    assert re.search(r'id="e-tiers-levels" role="alert">Each tier must be reached at more than', page)  # on the list
    page = post(client, "earn", {"actions.signup.points": "0"}, [("action", "save")])
    assert re.search(r'id="e-f-actions-signup-points" role="alert">Give at least 1 point', page)
    it = client.get("/admin/tiers?lang=it")
    page = post(client, "tiers", {"tiers.levels.2.threshold": "-5"}, [("action", "save")])
    assert re.search(r'id="e-f-tiers-levels-2-threshold" role="alert">Non può essere inferiore a 0', page)  # in Italian too
    client.get("/admin/tiers?lang=en")
    assert it.status_code == 200 and rt.programs.current(shop.id).version == version  # nothing written


def test_rows_are_added_and_removed(admin):
    client, rt, shop = admin
    page = post(client, "tiers", extra=[("add", "tiers.levels")])  # a new, empty tier row, not saved yet
    assert 'name="tiers.levels.3.name" value=""' in page and len(rt.programs.current(shop.id).program.tiers.levels) == 3
    data = [(k, {"tiers.levels.3.name": "Platinum", "tiers.levels.3.threshold": "5000"}.get(k, v)) for k, v in form_data(page)]
    client.post("/admin/tiers", data=MultiDict(data + [("action", "save")]))
    levels = rt.programs.current(shop.id).program.tiers.levels
    assert [t.name for t in levels] == ["Bronze", "Silver", "Gold", "Platinum"] and levels[3].threshold == 5000

    page = post(client, "earn", extra=[("add", "actions.custom")])
    data = [(k, {"actions.custom.0.__key": "watched video", "actions.custom.0.points": "15"}.get(k, v))
            for k, v in form_data(page)] + [("action", "save")]
    page = client.post("/admin/earn", data=MultiDict(data)).data.decode()
    assert re.search(r'id="e-actions-custom" role="alert">Use only letters, digits', page)  # the name is checked too
    data = [(k, "watched-video" if k == "actions.custom.0.__key" else v) for k, v in data]
    client.post("/admin/earn", data=MultiDict(data))
    assert rt.programs.current(shop.id).program.actions.custom["watched-video"].points == 15

    page = post(client, "redeem", extra=[("add", "rewards")])
    data = [(k, {"rewards.1.name": "Free shipping", "rewards.1.type": "free_shipping", "rewards.1.points_cost": "250"}.get(k, v))
            for k, v in form_data(page)]
    client.post("/admin/redeem", data=MultiDict(data + [("action", "save")]))
    rewards = rt.programs.current(shop.id).program.rewards
    assert [(r.id, r.type, r.points_cost) for r in rewards][1] == ("free-shipping", "free_shipping", 250)  # an id from its name
    post(client, "redeem", extra=[("rewards.0.__remove", "1"), ("rewards.1.__remove", "1"), ("action", "save")])
    assert rt.programs.current(shop.id).program.rewards == []


def test_a_stale_form_does_not_overwrite_a_newer_version(admin):
    client, rt, shop = admin
    stale = form_data(client.get("/admin/cashback").data.decode())
    rt.programs.put(shop.id, {**dump(rt.programs.current(shop.id).program), "timezone": "Europe/Rome"}, author="other")
    version = rt.programs.current(shop.id).version
    data = [(k, "1" if k == "cashback.enabled" else v) for k, v in stale] + [("action", "save")]
    page = client.post("/admin/cashback", data=MultiDict(data)).data.decode()
    assert "Someone saved the program while you were editing" in page and "data-conflict" in page
    current = rt.programs.current(shop.id)
    assert current.version == version and not current.program.cashback.enabled and current.program.timezone == "Europe/Rome"


def test_preview_says_who_moves_and_what_an_order_earns_and_writes_nothing(admin):
    client, rt, shop = admin
    for n in range(3):
        member, _ = rt.members.enrol(shop.id, f"c{n}")
        rt.ledger.earn(shop.id, member.id, "points", 1000, key=f"e{n}", source="order", reason="x")
    page = post(client, "tiers", {"tiers.levels.2.threshold": "900"}, [("action", "preview")])
    assert "3 members would move from Silver to Gold" in page
    assert "Gold – Reached at: 1,500 → 900" in page  # the change in words
    assert 'name="tiers.levels.2.threshold" value="900"' in page  # the edit is kept
    page = post(client, "earn", {"earning.points_per_unit": "1.5"}, [("action", "preview")])
    assert "A €100.00 order would earn 150 points instead of 100" in page
    assert "A €100.00 order earns 150 points at Bronze" in page  # the worked example follows the edit
    assert rt.programs.current(shop.id).program.earning.points_per_unit == 1  # previews write nothing


def test_the_worked_examples_use_the_real_calculator(admin):
    client, rt, shop = admin
    page = client.get("/admin/earn").data.decode()
    assert "A €100.00 order earns 125 points at Silver" in page and "150 points at Gold" in page
    post(client, "cashback", {"cashback.rate": "5"}, [("cashback.enabled", "1"), ("action", "save")])
    assert "A €100.00 order gives €5.00 back as store credit at Bronze" in client.get("/admin/cashback").data.decode()
    assert "100 points take €5.00 off a €100.00 cart" in client.get("/admin/redeem").data.decode()
    it = client.get("/admin/earn?lang=it").data.decode()
    client.get("/admin/earn?lang=en")
    assert "100,00\xa0€" in it or "100,00&nbsp;€" in it


def test_the_old_section_addresses_lead_to_the_new_pages(admin):
    client, _, _ = admin
    assert client.get("/admin/program/tiers").headers["Location"].endswith("/admin/tiers")
    assert client.get("/admin/program/rewards").headers["Location"].endswith("/admin/redeem")
    assert client.get("/admin/program/general").headers["Location"].endswith("/admin/settings")


def test_pause_and_go_live_from_home(admin):
    client, rt, shop = admin
    home = client.get("/admin/home").data.decode()
    assert "Launch checklist" in home and "Live" in home
    data = form_data(home, 0) + [("action", "pause")]
    client.post("/admin/home", data=MultiDict(data))
    assert rt.programs.current(shop.id).program.live is False
    home = client.get("/admin/home").data.decode()
    assert "Paused" in home
    client.post("/admin/home", data=MultiDict(form_data(home, 0) + [("action", "resume")]))
    assert rt.programs.current(shop.id).program.live is True


def test_notifications_page_previews_emails_and_manages_endpoints(admin):
    client, rt, shop = admin
    data = MultiDict(form_data(client.get("/admin/emails").data.decode(), -1))  # the wording form
    data["welcome.subject.it"] = "Ciao {nome}"
    page = client.post("/admin/emails", data=MultiDict([*data.items(multi=True), ("action", "save")])).data.decode()
    assert "unknown placeholders" in page and rt.programs.current(shop.id).program.notifications.welcome.subject == {}
    data["welcome.subject.it"] = "Ciao {name}, benvenuto"
    data["version"] = str(rt.programs.current(shop.id).version)
    client.post("/admin/emails", data=MultiDict([*data.items(multi=True), ("action", "save")]))
    assert rt.programs.current(shop.id).program.notifications.welcome.subject == {"it": "Ciao {name}, benvenuto"}
    preview = client.get("/admin/emails/preview/welcome?lang=it").data.decode()
    assert "Ciao Ada, benvenuto" in preview and "Disiscriviti" in preview
    assert "Welcome to" in client.get("/admin/emails/preview/welcome?lang=en").data.decode()
    data = [(k, v) for k, v in form_data(client.get("/admin/notifications").data.decode(), 0)  # the add form
            if k not in ("id", "action")]
    data = [(k, "https://crm.example/hooks" if k == "url" else v) for k, v in data] + [("action", "add")]
    page = client.post("/admin/notifications", data=MultiDict(data)).data.decode()
    assert re.search(r"data-secret>whsec_", page) and "https://crm.example/hooks" in page
    [endpoint] = rt.notifier.endpoints(shop.id)
    assert endpoint["url"] == "https://crm.example/hooks" and "points.changed" in endpoint["topics"]


def test_inside_shopify_the_forms_use_app_bridges_save_bar(admin):
    client, _, _ = admin
    assert "data-save-bar" not in client.get("/admin/earn").data.decode()
    with client.session_transaction() as s:
        s["embedded"] = "forms.myshopify.com"
    page = client.get("/admin/earn").data.decode()
    assert re.search(r'<form method="post" class="program-form" novalidate data-save-bar', page)
    assert "<ui-nav-menu>" in page and 'style="' not in page and "<script>" not in page
