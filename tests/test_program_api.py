"""The program over HTTP: contract defaults, validation (422 naming the field, nothing
changes), versions with author, restore, optimistic concurrency, preview, and the seed
example end to end."""
import pytest
from sqlalchemy import text


@pytest.fixture
def shop(app):
    rt = app.extensions["loyalty"]
    shop, key = rt.shops.register("demo", "prog.example", currency="EUR")
    return shop, {"Authorization": f"Bearer {key}"}, rt


def test_default_program_is_the_contracts(client, shop):
    _, h, _ = shop
    r = client.get("/admin/api/v1/program", headers=h)
    doc = r.get_json()
    assert r.status_code == 200 and doc["version"] == 1 and r.headers["ETag"] == '"1"'
    assert doc["earning"]["points_per_unit"] == "1" and doc["earning"]["rounding"] == "down"
    assert doc["earning"]["trigger"] == "paid"
    assert doc["earning"]["base"] == {"include_shipping": False, "include_taxes": False,
                                      "include_tips": False, "exclude_gift_cards": True}
    assert doc["actions"]["signup"]["points"] == 50 and doc["actions"]["signup"]["enabled"]
    assert doc["rewards"][0]["points_cost"] == 100 and doc["rewards"][0]["amount"] == "5"
    assert [(t["name"], t["threshold"], t["earn_multiplier"]) for t in doc["tiers"]["levels"]] == [
        ("Bronze", "0", "1"), ("Silver", "500", "1.25"), ("Gold", "1500", "1.5")]
    assert doc["tiers"]["window"] == "rolling_12_months" and doc["tiers"]["basis"] == "points_earned"
    assert doc["cashback"]["enabled"] is False and doc["cashback"]["rate"] == "5"
    assert doc["pending"] == {"orders_days": 0, "actions_days": 0} and doc["expiry"]["mode"] == "none"


@pytest.mark.parametrize("patch,field", [
    ({"earning": {"points_per_unit": "-1"}}, "earning.points_per_unit"),
    ({"earning": {"rounding": "sideways"}}, "earning.rounding"),
    ({"earning": {"bogus": 1}}, "earning.bogus"),
    ({"tiers": {"levels": [{"name": "A", "threshold": 10}]}}, "tiers.levels"),
    ({"tiers": {"levels": [{"name": "A", "threshold": 0}, {"name": "B", "threshold": 0}]}}, "tiers.levels"),
    ({"cashback": {"rate": "150"}}, "cashback.rate"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"campaigns": [{"name": "X", "factor": "2"}]}, "campaigns.0.window"),
    ({"campaigns": [{"name": "X", "factor": "2", "window": {
        "starts_at": "2026-01-02T00:00:00", "ends_at": "2026-01-01T00:00:00"}}]}, "campaigns.0.window.ends_at"),
    ({"rewards": [{"id": "a", "name": "A", "type": "fixed_amount", "points_cost": 100}]}, "rewards.0.amount"),
    ({"actions": {"review": {"enabled": True, "points": 0}}}, "actions.review.points"),
    ({"actions": {"review": {"caps": {"per_day": 0}}}}, "actions.review.caps.per_day"),
])
def test_bad_field_gets_422_naming_it_and_nothing_changes(client, shop, patch, field):
    _, h, rt = shop
    before = client.get("/admin/api/v1/program", headers=h).get_json()
    r = client.put("/admin/api/v1/program", headers=h, json={**before, **patch})
    body = r.get_json()
    assert r.status_code == 422 and body["error"]["code"] == "invalid_program"
    assert field in [f["field"] for f in body["error"]["fields"]], body["error"]["fields"]
    after = client.get("/admin/api/v1/program", headers=h).get_json()
    assert after == before


def test_put_makes_a_new_version_with_author_and_restore_brings_an_old_one_back(client, shop):
    _, h, _ = shop
    doc = client.get("/admin/api/v1/program", headers=h).get_json()
    doc["earning"]["points_per_unit"] = "2"
    r = client.put("/admin/api/v1/program", headers={**h, "X-Change-Note": "double points"}, json=doc)
    assert r.status_code == 200 and r.get_json()["version"] == 2 and r.get_json()["earning"]["points_per_unit"] == "2"
    history = client.get("/admin/api/v1/program/versions", headers=h).get_json()["versions"]
    assert [(v["version"], v["author"]) for v in history] == [(2, "api-key"), (1, "system")]
    assert history[0]["note"] == "double points"
    assert client.get("/admin/api/v1/program/versions/1", headers=h).get_json()["earning"]["points_per_unit"] == "1"
    restored = client.post("/admin/api/v1/program/versions/1/restore", headers=h)
    assert restored.status_code == 201 and restored.get_json()["version"] == 3
    assert restored.get_json()["restored_from"] == 1
    assert client.get("/admin/api/v1/program", headers=h).get_json()["earning"]["points_per_unit"] == "1"
    assert client.get("/admin/api/v1/program/versions/99", headers=h).status_code == 404


def test_if_match_refuses_a_stale_write(client, shop):
    _, h, _ = shop
    doc = client.get("/admin/api/v1/program", headers=h).get_json()
    assert client.put("/admin/api/v1/program", headers={**h, "If-Match": '"1"'}, json=doc).status_code == 200
    stale = client.put("/admin/api/v1/program", headers={**h, "If-Match": '"1"'}, json=doc)
    assert stale.status_code == 412 and stale.get_json()["error"]["code"] == "version_conflict"


def test_preview_explains_without_posting(client, shop):
    _, h, rt = shop
    order = {"order_id": "1", "placed_at": "2026-03-04T12:00:00Z", "lines": [{"line_id": "a", "total": "120.00"}]}
    r = client.post("/admin/api/v1/program/preview", headers=h, json={"order": order})
    body = r.get_json()
    assert r.status_code == 200 and body["points"] == 120
    assert body["explanation"] == "120 points: 1 per EUR on 120.00"
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from ledger_entries")).scalar() == 0
    bad = client.post("/admin/api/v1/program/preview", headers=h, json={"order": {**order, "placed_at": "2026-03-04T12:00:00"}})
    assert bad.status_code == 422  # naive time refused


def test_the_seed_example_end_to_end(client, shop):
    _, h, rt = shop
    member = "/admin/api/v1/members/by-customer/ada"
    # Welcome 50 when the account is created.
    assert client.post("/admin/api/v1/events", headers=h, json={"id": "signup-ada", "customer_id": "ada",
                                                                "event": "signup"}).status_code == 202
    assert client.get(member, headers=h).get_json()["points_balance"] == 50
    # A 120.00 order earns 120.
    order = {"order_id": "1001", "customer_id": "ada", "placed_at": "2026-03-04T12:00:00Z",
             "lines": [{"line_id": "a", "total": "120.00"}], "shipping": "4.90"}
    out = client.post("/admin/api/v1/orders", headers=h, json=order).get_json()
    assert out["status"] == "earned" and out["points"] == 120
    assert client.get(member, headers=h).get_json()["points_balance"] == 170
    # 100 points buy 5.00 off.
    from plugin_app.domain.money import Money
    from plugin_app.domain.rewards import quote

    program = rt.programs.current(shop[0].id).program
    q = quote(program.reward("five-off"), Money.of("30.00", "EUR"), points_available=170, tier="Bronze")
    assert (q.points, q.discount) == (100, Money.of("5.00", "EUR"))
    # Silver after 500 points in 12 months.
    big = {**order, "order_id": "1002", "lines": [{"line_id": "a", "total": "400.00"}]}
    client.post("/admin/api/v1/orders", headers=h, json=big)
    body = client.get(member, headers=h).get_json()
    assert body["lifetime_points"] == 570 and body["tier"] == "Silver"
    # The next order earns at Silver's rate.
    nxt = client.post("/admin/api/v1/orders", headers=h, json={**order, "order_id": "1003"}).get_json()
    assert nxt["points"] == 150 and "Silver x1.25" in nxt["explanation"]
    # With cashback on, 5% back as credit.
    doc = client.get("/admin/api/v1/program", headers=h).get_json()
    doc["cashback"]["enabled"] = True
    client.put("/admin/api/v1/program", headers=h, json=doc)
    cb = client.post("/admin/api/v1/orders", headers=h, json={**order, "order_id": "1004"}).get_json()
    assert cb["credit"] == "6.00"
    assert client.get(member, headers=h).get_json()["store_credit"] == {"amount": "6.00", "currency": "EUR"}
    from plugin_app.services.audit import run_audit
    assert run_audit(rt.db).ok


def test_a_change_preview_says_what_changes_for_whom(client, shop):
    shop_row, h, rt = shop
    for i, points in enumerate((600, 700, 1200, 100)):
        m, _ = rt.members.enrol(shop_row.id, f"m{i}")
        rt.ledger.earn(shop_row.id, m.id, "points", points, key=f"p{i}", source="order", reason="x")
    doc = client.get("/admin/api/v1/program", headers=h).get_json()
    doc["tiers"]["levels"][2]["threshold"] = "650"  # Gold from 650: two Silver members move up
    doc["earning"]["points_per_unit"] = "1.5"
    r = client.post("/admin/api/v1/program/changes/preview", headers=h, json=doc)
    body = r.get_json()
    assert r.status_code == 200 and body["members_checked"] == 4
    assert body["tier_moves"] == [{"from": "Silver", "to": "Gold", "members": 2,
                                   "text": "2 members would move from Silver to Gold"}]
    assert "a 100.00 EUR order would earn 150 points instead of 100" in [o["text"] for o in body["orders"]]
    assert client.get("/admin/api/v1/program", headers=h).get_json()["version"] == 1  # nothing saved
    doc["tiers"]["levels"][2]["threshold"] = "-1"
    bad = client.post("/admin/api/v1/program/changes/preview", headers=h, json=doc)
    assert bad.status_code == 422 and any(f["field"].startswith("tiers") for f in bad.get_json()["error"]["fields"])


def test_a_paused_program_earns_nothing_from_orders_or_actions_and_hides_the_widget(client, shop):
    shop_row, h, rt = shop
    doc = client.get("/admin/api/v1/program", headers=h).get_json()
    assert doc["live"] is True  # the default: existing programs stay live
    doc["live"] = False
    assert client.put("/admin/api/v1/program", headers=h, json=doc).status_code == 200
    order = {"order_id": "p1", "customer_id": "bea", "placed_at": "2026-03-04T12:00:00Z",
             "lines": [{"line_id": "a", "total": "120.00"}]}
    out = client.post("/admin/api/v1/orders", headers=h, json=order).get_json()
    assert out["points"] == 0 and "paused" in out["explanation"]
    client.post("/admin/api/v1/events", headers=h, json={"id": "signup-bea", "customer_id": "bea", "event": "signup"})
    assert client.get("/admin/api/v1/members/by-customer/bea", headers=h).get_json()["points_balance"] == 0
    from plugin_app.services.widget import program_view
    assert program_view(rt.programs.current(shop_row.id).program, "EUR")["live"] is False
    doc["live"] = True
    client.put("/admin/api/v1/program", headers=h, json=doc)
    again = client.post("/admin/api/v1/orders", headers=h, json={**order, "order_id": "p2"}).get_json()
    assert again["points"] == 120
