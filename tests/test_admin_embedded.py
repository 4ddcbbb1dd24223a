"""The admin inside the Shopify admin: page loads verified by the SDK from App Bridge id_tokens
(the bounce through the patch page when there is none, framing allowed only by the shop's
admin), and every admin API endpoint tried with shop A's session token against shop B's
objects: nothing of B is read or changed. Expired tokens are refused everywhere."""
import json
import re
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from plugin_app.storage import tables as t

from . import shopify_standin as S
from .test_shopify_install import API_KEY, app, session_token  # noqa: F401  (fixture)

B_DOMAIN = "bravo-shop.myshopify.com"


def test_embedded_page_loads_verify_the_id_token_and_bounce_without_one(app):  # noqa: F811
    client = app.test_client()
    query = f"shop={S.DOMAIN}&host=YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvbWFwbGU&embedded=1"
    r = client.get(f"/admin/dashboard?{query}")  # no id_token: the SDK's bounce
    assert r.status_code == 302
    target = urlsplit(r.headers["Location"])
    assert target.path == "/admin/session-token" and parse_qs(target.query)["shopify-reload"] == [f"/admin/dashboard?{query}"]
    patch = client.get(f"{target.path}?{target.query}")
    assert patch.status_code == 200 and f'data-api-key="{API_KEY}"' in patch.text and "app-bridge.js" in patch.text

    expired = client.get(f"/admin/dashboard?{query}&id_token={session_token(exp=-60)}")
    assert expired.status_code == 302 and "/admin/session-token" in expired.headers["Location"]  # fetch a fresh one
    forged = client.get(f"/admin/dashboard?{query}&id_token={session_token(secret='x' * 40)}")
    assert forged.status_code in (302, 401) and client.get("/admin/members").status_code == 302  # not signed in

    r = client.get(f"/admin/dashboard?{query}&id_token={session_token()}")
    assert r.status_code == 200
    csp = dict(d.strip().split(" ", 1) for d in r.headers["Content-Security-Policy"].split(";"))
    assert csp["frame-ancestors"] == f"https://{S.DOMAIN} https://admin.shopify.com"
    assert csp["script-src"] == "'self' https://cdn.shopify.com"  # App Bridge, from Shopify's CDN only
    assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
    assert f'<meta name="shopify-api-key" content="{API_KEY}">' in r.text and "<ui-nav-menu>" in r.text
    cookie = r.headers["Set-Cookie"]
    assert "SameSite=None" in cookie and "Secure" in cookie and "Partitioned" in cookie  # kept inside the iframe
    rt = app.extensions["loyalty"]
    shop = rt.shops.by_domain("shopify", S.DOMAIN)  # installed by token exchange on first load
    assert shop is not None and rt.shops.credentials(shop.id)["access_token"].startswith("shpat_")
    assert client.get("/admin/tiers").status_code == 200  # later pages ride the session

    standalone = app.test_client()
    login = standalone.get("/admin/login")
    csp = dict(d.strip().split(" ", 1) for d in login.headers["Content-Security-Policy"].split(";"))
    assert csp["frame-ancestors"] == "'none'"  # never framed elsewhere
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"  # no third-party or inline code


def _b_state(rt, shop_id):
    """Every row of every table that belongs to shop B."""
    out = {}
    with rt.db.transaction() as conn:
        for name, table in t.metadata.tables.items():
            if "shop_id" in table.c:
                rows = conn.execute(select(table).where(table.c.shop_id == shop_id)).all()
                out[name] = sorted(json.dumps([str(v) for v in r], sort_keys=True) for r in rows)
    return out


def test_a_session_token_for_shop_a_never_reads_or_changes_shop_b(app):  # noqa: F811
    client = app.test_client()
    rt = app.extensions["loyalty"]
    a_token, b_token = session_token(), session_token(B_DOMAIN)
    for token in (a_token, b_token):  # both installed through their own tokens
        assert client.get("/admin/api/v1/program", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    b = rt.shops.by_domain("shopify", B_DOMAIN)
    rt.programs.put(b.id, {"timezone": "Pacific/Auckland"}, author="b")
    secret_email, secret_customer = "b-secret@example.com", "b-cust-77"
    bm, _ = rt.members.enrol(b.id, secret_customer, email=secret_email, name="Bea Secret")
    friend, _ = rt.members.enrol(b.id, "b-friend")
    entry = rt.ledger.earn(b.id, bm.id, "points", 500, key="b-earn", source="order", reason="b's order")
    from plugin_app.domain.earning import Order, OrderLine
    from decimal import Decimal
    rt.orders.on_paid(b.id, Order("b-order-1", "EUR", datetime(2026, 3, 1, tzinfo=timezone.utc),
                                  (OrderLine("l", 1, Decimal("80")),), secret_customer))
    bad, _ = rt.inbox.accept(b.id, "internal", "action.completed", "b-bad", b'{"nope": 1}', {})
    rt.inbox.process(bad)
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    with rt.db.transaction() as conn:
        referral_id = conn.execute(t.referrals.insert().values(
            shop_id=b.id, referrer_member_id=bm.id, friend_member_id=friend.id, status="review", reason="held",
            created_at=now, updated_at=now).returning(t.referrals.c.id)).scalar()
    held = rt.ledger.reserve(b.id, bm.id, "points", 100, key="b-hold", source="cart", reason="held for a reward")
    with rt.db.transaction() as conn:  # a code of B's used by another customer, awaiting B's decision
        redemption_id = conn.execute(t.redemptions.insert().values(
            shop_id=b.id, member_id=bm.id, idempotency_key="b-redeem", request_hash="h", reward_id="five-off",
            asset="points", amount=100, hold_id=held.hold_id, code="LOY-BSECRET01", code_key="loy-bsecret01",
            status="flagged", order_id="b-order-9", used_by="b-friend", answer={"title": "5 off"},
            expires_at=now, created_at=now, updated_at=now).returning(t.redemptions.c.id)).scalar()
    with rt.db.transaction() as conn:  # a history backfill of B's (services.backfill)
        backfill_id = conn.execute(t.backfills.insert().values(
            shop_id=b.id, platform="shopify", state="failed", phase="orders", cursor={"op": "gid://shopify/BulkOperation/7"},
            error="b's export failed", created_at=now, updated_at=now).returning(t.backfills.c.id)).scalar()
    with rt.db.transaction() as conn:  # a program simulation of B's (services.simulator)
        simulation_id = conn.execute(t.simulations.insert().values(
            shop_id=b.id, state="failed", program={"timezone": "Pacific/Auckland"}, starts_at=now, ends_at=now,
            error="b's simulation failed", created_at=now, updated_at=now).returning(t.simulations.c.id)).scalar()
    b_endpoint = rt.notifier.add_endpoint(b.id, "https://hooks.bravo.example/in", ["member.enrolled"], "whsec_b")
    rt.members.enrol(b.id, "b-later")
    rt.notifier.relay()
    b_delivery = rt.notifier.log(b.id)[0]["id"]
    import io

    b_import = rt.imports.upload(b.id, "b-secret.csv", io.BytesIO(
        f"email,customer_id,points_balance\n{secret_email},{secret_customer},77\n".encode()))["id"]
    b_segment = rt.segments.create(b.id, "B secret segment", {"all": [{"field": "orders_count", "op": "gte",
                                                                       "value": 0}]})["id"]
    rt.analytics.refresh()
    before = _b_state(rt, b.id)
    markers = [secret_email, secret_customer, "Pacific/Auckland", "Bea Secret", b.widget_key, B_DOMAIN, "bravo.example",
               "LOY-BSECRET01", "b's export failed", "B secret segment", "b's simulation failed"]

    ids = {"member_id": bm.id, "entry_id": entry.entry_id, "inbox_id": bad, "referral_id": referral_id,
           "version": 2, "platform_customer_id": secret_customer, "order_id": "b-order-1", "table": "summary",
           "endpoint_id": b_endpoint["id"], "notification_id": b_delivery, "kind": "welcome",
           "redemption_id": redemption_id, "import_id": b_import,
           "segment_id": b_segment, "survey_id": "b-survey", "backfill_id": backfill_id,
           "simulation_id": simulation_id}
    order = {"order_id": "b-order-1", "placed_at": "2026-03-02T10:00:00Z", "customer_id": secret_customer,
             "lines": [{"line_id": "l", "total": "80.00"}]}
    bodies = {
        "/admin/api/v1/entries/<int:entry_id>/reversals": {"reason": "x", "idempotency_key": "a-rev"},
        "/admin/api/v1/events": {"id": "a-ev", "customer_id": secret_customer, "event": "signup"},
        "/admin/api/v1/members/<int:member_id>/adjustments": {"amount": -100, "reason": "x", "idempotency_key": "a-adj"},
        "/admin/api/v1/orders": order,
        "/admin/api/v1/orders/<order_id>/cancel": {"reason": "nope"},
        "/admin/api/v1/orders/<order_id>/refunds": {"refund_id": "a-rf", "amount": "80.00"},
        "/admin/api/v1/program": {"timezone": "Europe/Rome"},
        "/admin/api/v1/program/changes/preview": {"timezone": "Europe/Rome"},
        "/admin/api/v1/program/preview": {"order": order, "customer_id": secret_customer},
        "/admin/api/v1/storefront/customer-tokens": {"customer_id": secret_customer},
        "/admin/api/v1/storefront/origins": {"origins": ["https://evil.example"]},
        "/admin/api/v1/webhooks": {"url": "https://evil.example/in", "topics": ["member.enrolled"]},
        "/admin/api/v1/operations/flagged-redemptions/<int:redemption_id>/decision": {"decision": "release",
                                                                                      "reason": "a's guess"},
    }
    tried = 0
    # Every read first: a write of A's may legitimately make A a member with B's customer id
    # (an event naming it), which A's own exports would then list.
    calls = sorted(((rule, method) for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin/api/v1")
                    for method in rule.methods - {"HEAD", "OPTIONS"}), key=lambda c: (c[1] != "GET", c[0].rule))
    for rule, method in calls:
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)
        body = bodies.get(rule.rule, {})
        r = client.open(path, method=method, json=body if method != "GET" else None,
                        headers={"Authorization": f"Bearer {a_token}"})
        tried += 1
        text = r.get_data(as_text=True)
        assert r.status_code < 500, (method, path, text)
        assert not any(m in text for m in markers), (method, path, text)
        expired = client.open(path, method=method, json=body if method != "GET" else None,
                              headers={"Authorization": f"Bearer {session_token(exp=-60)}"})
        assert expired.status_code == 401 and expired.is_json, (method, path)
    assert tried >= 35
    assert _b_state(rt, b.id) == before  # nothing of shop B changed
    # …and the same requests with B's own token do reach B (the sweep is not vacuous).
    own = client.get(f"/admin/api/v1/members/{bm.id}", headers={"Authorization": f"Bearer {b_token}"})
    assert own.status_code == 200 and own.get_json()["email"] == secret_email
    assert client.post(f"/admin/api/v1/referrals/{referral_id}/approve", json={},
                       headers={"Authorization": f"Bearer {b_token}"}).status_code == 200
    decided = client.post(f"/admin/api/v1/operations/flagged-redemptions/{redemption_id}/decision",
                          json={"decision": "release", "reason": "b decides"}, headers={"Authorization": f"Bearer {b_token}"})
    assert decided.status_code == 200 and decided.get_json()["decided_by"].startswith("shopify-")
    assert _b_state(rt, b.id) != before
