"""The program's settings pages: every section round-trips through its form unchanged, errors
are drawn next to their fields (the API's own validation), rows are added and removed, a stale
form does not overwrite a newer version, and the preview says who moves."""
import re

import pytest
from werkzeug.datastructures import MultiDict

from plugin_app.services.program import dump

from .formdata import form_data

SECTIONS = ["earning", "actions", "tiers", "cashback", "campaigns", "rewards", "expiry", "referrals", "general"]


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
                           "window": {"starts_at": "2026-12-05T00:00:00", "ends_at": "2026-12-07T23:59:59"}}],
            "cashback": {**base["cashback"], "enabled": True, "expiry_days": 90,
                         "boosts": [{"match": match, "rate": "10", "label": "shoes"}]},
            "rewards": base["rewards"] + [{"id": "gold-ship", "name": "Free shipping", "type": "free_shipping",
                                           "points_cost": 300, "tiers": ["Gold"]}],
            "widget": {**base["widget"], "texts": {"it": {"title": "Punti"}}},
            "referrals": {**base["referrals"], "enabled": True, "fraud": {**base["referrals"]["fraud"], "ip_velocity": "observe"}}}


def post(client, section: str, changes: dict | None = None, extra=(), drop=()):
    """Load the section's form, change some fields as a merchant would, and post it."""
    data = [(k, v) for k, v in form_data(client.get(f"/admin/program/{section}").data.decode()) if k not in drop]
    for name, value in (changes or {}).items():
        data = [(k, value if k == name else v) for k, v in data]
    return client.post(f"/admin/program/{section}", data=MultiDict(data + list(extra))).data.decode()


def test_every_section_round_trips_unchanged(admin):
    client, rt, shop = admin
    rt.programs.put(shop.id, rich(dump(rt.programs.current(shop.id).program)), author="t")
    before = dump(rt.programs.current(shop.id).program)
    version = rt.programs.current(shop.id).version
    for n, section in enumerate(SECTIONS, 1):
        page = post(client, section, extra=[("action", "save")])
        assert f"Saved as version {version + n}" in page, section
        assert dump(rt.programs.current(shop.id).program) == before, section


def test_errors_are_drawn_next_to_their_fields_and_nothing_is_saved(admin):
    client, rt, shop = admin
    version = rt.programs.current(shop.id).version
    page = post(client, "tiers", {"tiers.levels.2.threshold": "-5", "tiers.grace_days": "soon"}, [("action", "save")])
    assert re.search(r'name="tiers.levels.2.threshold" value="-5"[^>]* aria-invalid="true" aria-describedby="e-tiers.levels.2.threshold"', page)
    assert re.search(r'id="e-tiers.levels.2.threshold" role="alert">must not be negative', page)
    assert re.search(r'id="e-tiers.grace_days" role="alert">[^<]*integer', page)
    assert "2 fields to fix" in page
    page = post(client, "tiers", {"tiers.grace_days": "999"}, [("action", "save")])
    assert re.search(r'id="e-tiers.grace_days" role="alert">must be between 0 and 730', page)
    page = post(client, "earning", {"earning.points_per_unit": "lots"}, [("action", "preview")])
    assert re.search(r'id="e-earning.points_per_unit" role="alert">[^<]*decimal', page)
    page = post(client, "tiers", {"tiers.levels.1.threshold": "1500"}, [("action", "save")])  # equal to Gold's
    assert re.search(r'id="e-tiers.levels" role="alert">thresholds must rise', page)  # a list-level rule, on the list
    page = post(client, "actions", {"actions.signup.points": "0"}, [("action", "save")])
    assert re.search(r'id="e-actions.signup.points" role="alert">an enabled action must award points', page)
    page = post(client, "general", {"widget.texts": "{oops"}, [("action", "save")])
    assert re.search(r'id="e-widget.texts" role="alert">not valid JSON', page)
    assert rt.programs.current(shop.id).version == version  # nothing written


def test_rows_are_added_and_removed(admin):
    client, rt, shop = admin
    page = post(client, "tiers", extra=[("add", "tiers.levels")])  # a new, empty tier row, not saved yet
    assert 'name="tiers.levels.3.name" value=""' in page and len(rt.programs.current(shop.id).program.tiers.levels) == 3
    data = [(k, v) for k, v in form_data(page)]
    data = [(k, {"tiers.levels.3.name": "Platinum", "tiers.levels.3.threshold": "5000"}.get(k, v)) for k, v in data]
    client.post("/admin/program/tiers", data=MultiDict(data + [("action", "save")]))
    levels = rt.programs.current(shop.id).program.tiers.levels
    assert [t.name for t in levels] == ["Bronze", "Silver", "Gold", "Platinum"] and levels[3].threshold == 5000

    page = post(client, "actions", extra=[("add", "actions.custom")])
    data = [(k, {"actions.custom.0.__key": "watched video", "actions.custom.0.points": "15"}.get(k, v))
            for k, v in form_data(page)] + [("actions.custom.0.enabled", "1"), ("action", "save")]
    page = client.post("/admin/program/actions", data=MultiDict(data)).data.decode()
    assert re.search(r'id="e-actions.custom" role="alert">event name', page)  # the key is checked too
    data = [(k, "watched-video" if k == "actions.custom.0.__key" else v) for k, v in data]
    client.post("/admin/program/actions", data=MultiDict(data))
    assert rt.programs.current(shop.id).program.actions.custom["watched-video"].points == 15

    post(client, "rewards", extra=[("rewards.0.__remove", "1"), ("action", "save")])
    assert rt.programs.current(shop.id).program.rewards == []


def test_a_stale_form_does_not_overwrite_a_newer_version(admin):
    client, rt, shop = admin
    stale = form_data(client.get("/admin/program/cashback").data.decode())
    rt.programs.put(shop.id, {**dump(rt.programs.current(shop.id).program), "timezone": "Europe/Rome"}, author="other")
    version = rt.programs.current(shop.id).version
    data = [(k, "1" if k == "cashback.enabled" else v) for k, v in stale] + [("cashback.enabled", "1"), ("action", "save")]
    page = client.post("/admin/program/cashback", data=MultiDict(data)).data.decode()
    assert "changed since you read it" in page
    current = rt.programs.current(shop.id)
    assert current.version == version and not current.program.cashback.enabled and current.program.timezone == "Europe/Rome"


def test_preview_says_who_moves_and_what_an_order_earns(admin):
    client, rt, shop = admin
    for n in range(3):
        member, _ = rt.members.enrol(shop.id, f"c{n}")
        rt.ledger.earn(shop.id, member.id, "points", 1000, key=f"e{n}", source="order", reason="x")
    page = post(client, "tiers", {"tiers.levels.2.threshold": "900"}, [("action", "preview")])
    assert "3 members would move from Silver to Gold" in page
    page = post(client, "earning", {"earning.points_per_unit": "1.5"}, [("action", "preview")])
    assert "a 100.00 EUR order would earn 150 points instead of 100" in page
    assert rt.programs.current(shop.id).program.earning.points_per_unit == 1  # previews write nothing


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
