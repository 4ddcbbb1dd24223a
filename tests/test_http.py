"""HTTP: health, readiness, OpenAPI from the code, JSON errors everywhere, admin API scoped to
the caller's shop, bad input refused with nothing changed, request ids."""
import json

import pytest
from sqlalchemy import text


@pytest.fixture
def shops(app):
    rt = app.extensions["loyalty"]
    a, key_a = rt.shops.register("demo", "a.example", currency="EUR")
    b, key_b = rt.shops.register("demo", "b.example", currency="USD")
    ma, _ = rt.members.enrol(a.id, "cust-1", email="x@example.com")
    rt.ledger.earn(a.id, ma.id, "points", 120, key="o1", source="order", reason="order #1")
    return {"a": (a, {"Authorization": f"Bearer {key_a}"}), "b": (b, {"Authorization": f"Bearer {key_b}"}),
            "member": ma, "rt": rt}


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.get_json()["checks"] == {"database": "ok", "encryption": "ok"}


def test_readiness_fails_when_redis_is_configured_but_down(clean_db):
    from plugin_app import create_app

    from .conftest import ENCRYPTION_KEY

    app = create_app({"database_url": clean_db, "jobs_mode": "rq", "redis_url": "redis://127.0.0.1:1/0",
                      "encryption_keys": (ENCRYPTION_KEY,)})
    r = app.test_client().get("/readyz")
    assert r.status_code == 503 and r.get_json()["checks"]["redis"].startswith("error")


def test_openapi_is_generated_from_the_routes(app, client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = {(p, m) for p, ops in spec["paths"].items() for m in ops}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith(("admin_pages.", "unsubscribe.")):
            continue  # the admin's and the shoppers' HTML pages are not JSON endpoints
        import re
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {rule.rule} is not in the spec"
    member = spec["components"]["schemas"]["MemberOut"]
    assert {"points_balance", "pending_points", "lifetime_points", "store_credit", "tier",
            "referral_code"} <= set(member["properties"])


def test_errors_are_json_never_html(client, shops):
    for method, path in [("get", "/nope"), ("post", "/healthz"), ("get", "/admin/api/v1/members/abc")]:
        r = getattr(client, method)(path)
        assert r.is_json and set(r.get_json()["error"]) >= {"code", "message"}, (path, r.data[:80])
    r = client.post("/admin/api/v1/members/1/adjustments", data="not json",
                    headers={**shops["a"][1], "Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_json"


def test_unexpected_errors_are_json_500_with_request_id(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    r = app.test_client().get("/boom", headers={"X-Request-Id": "abc123"})
    body = r.get_json()
    assert r.status_code == 500 and body["error"]["code"] == "internal_error"
    assert "secret detail" not in r.get_data(as_text=True) and body["error"]["request_id"] == "abc123"


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-Id": "req-42"}).headers["X-Request-Id"] == "req-42"
    assert len(client.get("/healthz").headers["X-Request-Id"]) == 32


def test_admin_api_needs_a_key(client, shops):
    assert client.get("/admin/api/v1/members/by-customer/cust-1").status_code == 401
    r = client.get("/admin/api/v1/members/by-customer/cust-1", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"


def test_member_by_customer_contract_shape(client, shops):
    r = client.get("/admin/api/v1/members/by-customer/cust-1", headers=shops["a"][1])
    body = r.get_json()
    assert r.status_code == 200
    assert body["points_balance"] == 120 and body["pending_points"] == 0
    assert body["lifetime_points"] == 120 and body["store_credit"] == {"amount": "0.00", "currency": "EUR"}
    assert "tier" in body and "referral_code" in body
    assert client.get("/admin/api/v1/members/by-customer/nobody", headers=shops["a"][1]).status_code == 404


def test_no_shop_sees_another_shops_members(client, shops):
    member = shops["member"]
    headers_b = shops["b"][1]
    assert client.get("/admin/api/v1/members/by-customer/cust-1", headers=headers_b).status_code == 404
    assert client.get(f"/admin/api/v1/members/{member.id}", headers=headers_b).status_code == 404
    assert client.get(f"/admin/api/v1/members/{member.id}/entries", headers=headers_b).status_code == 404
    r = client.post(f"/admin/api/v1/members/{member.id}/adjustments", headers=headers_b,
                    json={"amount": 500, "reason": "steal", "idempotency_key": "k"})
    assert r.status_code == 404
    assert shops["rt"].members.get(shops["a"][0].id, member.id)[1].points == 120


def test_adjust_reverse_and_entries(client, shops):
    member, headers = shops["member"], shops["a"][1]
    r = client.post(f"/admin/api/v1/members/{member.id}/adjustments", headers=headers,
                    json={"amount": -20, "reason": "duplicate order", "actor": "sam", "idempotency_key": "adj-1"})
    assert r.status_code == 201 and r.get_json()["balance"]["points_balance"] == 100
    again = client.post(f"/admin/api/v1/members/{member.id}/adjustments", headers=headers,
                        json={"amount": -20, "reason": "duplicate order", "actor": "sam", "idempotency_key": "adj-1"})
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    conflict = client.post(f"/admin/api/v1/members/{member.id}/adjustments", headers=headers,
                           json={"amount": -30, "reason": "x", "idempotency_key": "adj-1"})
    assert conflict.status_code == 409 and conflict.get_json()["error"]["code"] == "idempotency_conflict"
    entries = client.get(f"/admin/api/v1/members/{member.id}/entries", headers=headers).get_json()["entries"]
    assert [e["kind"] for e in entries] == ["adjust", "earn"] and entries[0]["actor"] == "api-key:sam"
    earn_id = entries[1]["id"]
    r = client.post(f"/admin/api/v1/entries/{earn_id}/reversals", headers=headers,
                    json={"amount": 30, "reason": "partial refund", "idempotency_key": "rev-1"})
    assert r.status_code == 201 and r.get_json()["balance"]["points_balance"] == 70
    over = client.post(f"/admin/api/v1/entries/{earn_id}/reversals", headers=headers,
                       json={"amount": 91, "reason": "too much", "idempotency_key": "rev-2"})
    assert over.status_code == 422


def test_bad_input_gets_field_errors_and_changes_nothing(client, shops):
    member, headers = shops["member"], shops["a"][1]
    rt = shops["rt"]
    with rt.db.transaction() as conn:
        before = conn.execute(text("select count(*) from ledger_entries")).scalar()
    for body in ({"amount": 5}, {"amount": "lots", "reason": "x", "idempotency_key": "k"},
                 {"amount": 5, "reason": "", "idempotency_key": "k"},
                 {"amount": 1.5, "reason": "x", "idempotency_key": "k"},
                 {"amount": 5, "reason": "x", "idempotency_key": "k", "points_balance": 1e9},
                 {"amount": -500, "reason": "x", "idempotency_key": "k2"}):
        r = client.post(f"/admin/api/v1/members/{member.id}/adjustments", headers=headers, json=body)
        assert r.status_code in (409, 422), (body, r.status_code)
        assert r.is_json
    r = client.post(f"/admin/api/v1/members/{member.id}/adjustments", headers=headers, json={"amount": 5})
    assert {f["field"] for f in r.get_json()["error"]["fields"]} == {"reason", "idempotency_key"}
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from ledger_entries")).scalar() == before


def test_custom_event_goes_through_the_inbox_exactly_once(client, shops):
    headers = shops["a"][1]
    event = {"id": "signup-new-cust", "customer_id": "new-cust", "event": "signup"}
    first = client.post("/admin/api/v1/events", headers=headers, json=event)
    second = client.post("/admin/api/v1/events", headers=headers, json=event)
    assert first.status_code == second.status_code == 202
    assert first.get_json()["duplicate"] is False and second.get_json()["duplicate"] is True
    r = client.get("/admin/api/v1/members/by-customer/new-cust", headers=headers)
    assert r.get_json()["points_balance"] == 50  # the default welcome bonus


def test_structured_log_lines_carry_the_request_id(client):
    import io
    import logging

    from plugin_app.logs import make_handler

    stream = io.StringIO()
    handler = make_handler(stream)
    access = logging.getLogger("loyalty.access")
    level = access.level
    access.setLevel(logging.INFO)  # independent of how an earlier test configured the root
    access.addHandler(handler)
    try:
        client.get("/healthz", headers={"X-Request-Id": "trace-me"})
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line.get("logger") == "loyalty.access"]
    assert access and access[-1]["request_id"] == "trace-me" and access[-1]["status"] == 200


def test_member_search_and_export_stay_in_their_shop(client, shops):
    rt, (a, ha), (b, hb) = shops["rt"], shops["a"], shops["b"]
    found = client.get("/admin/api/v1/members?q=X@EXA", headers=ha).get_json()["members"]
    assert [m["platform_customer_id"] for m in found] == ["cust-1"]
    assert client.get("/admin/api/v1/members?q=cust-1", headers=ha).get_json()["members"][0]["points_balance"] == 120
    assert client.get("/admin/api/v1/members?q=x@", headers=hb).get_json()["members"] == []
    assert client.get("/admin/api/v1/members?q=%25", headers=ha).get_json()["members"] == []  # no wildcard tricks
    member = shops["member"]
    export = client.get(f"/admin/api/v1/members/{member.id}/export", headers=ha)
    assert export.status_code == 200 and export.get_json()["ledger"][0]["reason"] == "order #1"
    assert client.get(f"/admin/api/v1/members/{member.id}/export", headers=hb).status_code == 404
