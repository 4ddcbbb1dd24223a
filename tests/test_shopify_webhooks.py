"""POST /webhooks/shopify: signatures (via Shopify's SDK), the contract's answers, and every
topic processed through the inbox into the ledger."""
import base64
import hashlib
import hmac
import json
import random

import pytest
from sqlalchemy import text

from connectors.shopify.webhooks import verify
from plugin_app.services.audit import run_audit

from . import shopify_standin as S

SECRET = "shpss_custom_app_secret"
OLD = "shpss_rotated_out"


@pytest.fixture
def shop(app):
    rt = app.extensions["loyalty"]
    shop, key = rt.shops.register("shopify", S.DOMAIN, currency="EUR",
                                  credentials={"access_token": "shpat_test", "api_secret": SECRET,
                                               "old_api_secret": OLD})
    return shop, rt, {"Authorization": f"Bearer {key}"}


def rows(rt, table):
    with rt.db.transaction() as conn:
        return conn.execute(text(f"select count(*) from {table}")).scalar()


def test_sdk_verification_matches_an_independent_hmac():
    body = S.body(S.order())
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert verify(body, {"X-Shopify-Hmac-Sha256": digest}, [SECRET])
    assert verify(body, {"X-Shopify-Hmac-Sha256": digest}, ["other", SECRET])  # rotation
    assert not verify(body + b" ", {"X-Shopify-Hmac-Sha256": digest}, [SECRET])
    assert not verify(body, {"X-Shopify-Hmac-Sha256": digest.lower()}, [SECRET])
    assert not verify(b"\xff\xfe", {"X-Shopify-Hmac-Sha256": digest}, [SECRET])


def test_a_thousand_forged_deliveries_get_401_and_write_nothing(client, shop):
    _, rt, _ = shop
    rng = random.Random(7)
    good = S.body(S.order())
    statuses = []
    for i in range(1000):
        raw, h = good, S.headers("orders/paid", good, SECRET)
        kind = i % 5
        if kind == 0:  # forged: signed with another secret
            h = S.headers("orders/paid", raw, f"attacker-{i}")
        elif kind == 1:  # truncated after signing
            raw = good[: rng.randint(0, len(good) - 1)]
        elif kind == 2:  # altered after signing (one byte)
            pos = rng.randrange(len(good))
            raw = good[:pos] + bytes([good[pos] ^ 0x01]) + good[pos + 1:]
        elif kind == 3:  # re-signed with another secret after altering
            raw = good.replace(b'"42.50"', b'"4250.00"')
            h = S.headers("orders/paid", raw, "not-the-secret")
        else:  # missing or mangled header
            h = dict(h)
            h["X-Shopify-Hmac-Sha256"] = "" if i % 2 else "bm90LWEtcmVhbC1obWFj"
        statuses.append(client.post("/webhooks/shopify", data=raw, headers=h).status_code)
    assert set(statuses) == {401}
    assert rows(rt, "inbox") == 0 and rows(rt, "ledger_entries") == 0 and rows(rt, "members") == 0


def test_rotated_out_secret_still_accepted(client, shop):
    sender = S.Sender(client, OLD)
    assert sender.deliver("customers/create", S.customer()).status_code == 200


def test_answers_per_contract(client, shop, monkeypatch):
    _, rt, _ = shop
    sender = S.Sender(client, SECRET)
    first = sender.deliver("customers/create", S.customer(), webhook_id="w-1")
    again = sender.deliver("customers/create", S.customer(), webhook_id="w-1")
    assert first.status_code == again.status_code == 200
    assert first.get_json() == {"ok": True, "duplicate": False} and again.get_json()["duplicate"] is True
    assert rows(rt, "inbox") == 1
    unknown = S.Sender(client, SECRET, domain="nobody.myshopify.com").deliver("customers/create", S.customer())
    assert unknown.status_code == 404
    big = b'{"x":"' + b"a" * (rt.settings.max_body_bytes + 10) + b'"}'
    assert client.post("/webhooks/shopify", data=big, headers=S.headers("orders/paid", big, SECRET)).status_code == 413
    from sqlalchemy.exc import OperationalError

    def down(*a, **k):
        raise OperationalError("insert", {}, Exception("connection refused"))

    monkeypatch.setattr(rt.inbox, "accept_many", down)
    r = sender.deliver("customers/create", S.customer(), webhook_id="w-2")
    assert r.status_code == 503 and r.is_json


def test_every_topic_end_to_end(client, shop):
    shop_row, rt, h = shop
    sender = S.Sender(client, SECRET)
    member_url = "/admin/api/v1/members/by-customer/7300400500600"
    assert sender.deliver("customers/create", S.customer()).status_code == 200
    assert client.get(member_url, headers=h).get_json()["points_balance"] == 50
    sender.deliver("orders/create", S.order(financial_status="pending"))
    assert client.get(member_url, headers=h).get_json()["points_balance"] == 50
    sender.deliver("orders/paid", S.order())  # 2 x 42.50 - 5.00 = 80.00 → 80 points
    assert client.get(member_url, headers=h).get_json()["points_balance"] == 130
    sender.deliver("refunds/create", S.refund(990011223344))  # one of two → 40 back
    assert client.get(member_url, headers=h).get_json()["points_balance"] == 90
    sender.deliver("orders/updated", S.order(financial_status="partially_refunded",
                                             refunds=[S.refund(990011223344)]))  # same refund again
    assert client.get(member_url, headers=h).get_json()["points_balance"] == 90
    sender.deliver("orders/cancelled", S.order(financial_status="refunded", cancelled=True))
    assert client.get(member_url, headers=h).get_json()["points_balance"] == 50
    sender.deliver("orders/paid", S.order(6120345678999, test=True))  # test orders earn nothing
    sender.deliver("orders/paid", S.order(6120345678998, customer_id=None))  # a guest: recorded only
    assert client.get(member_url, headers=h).get_json()["points_balance"] == 50
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from orders where platform_order_id = '6120345678998'")).scalar() == 1
        states = dict(conn.execute(text("select topic, state from inbox")).all())
    assert set(states.values()) == {"done"}
    sender.deliver("customers/update", S.customer(email="ada.new@example.org"))
    assert client.get(member_url, headers=h).get_json()["email"] == "ada.new@example.org"

    # Privacy: an export for the merchant, then pseudonymisation with the books intact.
    sender.deliver("customers/data_request", {"shop_id": 1, "shop_domain": S.DOMAIN, "orders_requested": [6120345678901],
                                              "customer": {"id": 7300400500600, "email": "ada.new@example.org"},
                                              "data_request": {"id": 9999}})
    sender.deliver("customers/redact", {"shop_id": 1, "shop_domain": S.DOMAIN, "orders_to_redact": [6120345678901],
                                        "customer": {"id": 7300400500600, "email": "ada.new@example.org"}})
    assert client.get(member_url, headers=h).status_code == 404
    with rt.db.transaction() as conn:
        log = conn.execute(text("select kind, result from privacy_requests order by id")).all()
        assert conn.execute(text("select count(*) from members where email is not null")).scalar() == 0
        leftover = conn.execute(text(
            "select count(*) from inbox where position('7300400500600' in convert_from(payload, 'UTF8')) > 0 "
            "or position('ada.new@' in convert_from(payload, 'UTF8')) > 0")).scalar()
    assert [k for k, _ in log] == ["data_request", "customer_redact"]
    # the export was made before the redaction; the redaction scrubbed it too (issue 15.7d)
    assert log[0][1]["member"] is None and "ledger" not in log[0][1] and "ada.new@" not in json.dumps(log[0][1])
    assert leftover == 0
    assert run_audit(rt.db).ok

    # Uninstall stops processing; shop/redact erases the shop but keeps the log of it.
    sender.deliver("app/uninstalled", {"id": 1, "domain": S.DOMAIN})
    assert rt.shops.get(shop_row.id).status == "uninstalled"
    sender.deliver("orders/paid", S.order(6120345678777))
    with rt.db.transaction() as conn:
        outcome = conn.execute(text("select state, outcome from inbox order by id desc limit 1")).one()
    assert outcome.state == "ignored" and "uninstalled" in outcome.outcome
    assert client.get(member_url, headers=h).status_code == 401  # the key stops working too
    sender.deliver("shop/redact", {"shop_id": 1, "shop_domain": S.DOMAIN})
    assert rt.shops.get(shop_row.id) is None
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from ledger_entries")).scalar() == 0
        assert conn.execute(text("select kind from privacy_requests order by id desc limit 1")).scalar() == "shop_redact"
    assert run_audit(rt.db).ok


def test_customer_tags_and_products_bought_reach_segments(client, shop):
    """customers/* carry the customer's tags (one comma-separated string); an order carries its
    customer's tags as of the customer's updated_at (an older state loses); its lines' products
    are what the member bought, until a refund takes a line back whole."""
    shop_row, rt, _h = shop
    sender = S.Sender(client, SECRET)
    vip = rt.segments.create(shop_row.id, "vip", {"all": [{"field": "tag", "op": "has", "value": "vip"}]})
    mug = rt.segments.create(shop_row.id, "mug buyers",
                             {"all": [{"field": "bought_product", "op": "has", "value": 8100200300400}]})

    def inside(seg):
        return {m["id"] for m in rt.segments.members(shop_row.id, seg["id"])["members"]}

    sender.deliver("customers/create", S.customer(tags="VIP, Wholesale", updated_at="2026-03-20T10:00:00-05:00"))
    member, _ = rt.members.by_customer(shop_row.id, "7300400500600")
    assert rt.segments.profile(shop_row.id, member.id)["tags"] == ["VIP", "Wholesale"]
    assert inside(vip) == {member.id} and inside(mug) == set()
    sender.deliver("orders/paid", S.order())  # its customer (tags "") as of 2026-03-14: older, ignored
    assert rt.segments.profile(shop_row.id, member.id)["tags"] == ["VIP", "Wholesale"]
    assert inside(mug) == {member.id}
    assert rt.segments.profile(shop_row.id, member.id)["products_bought"] == 1
    sender.deliver("customers/update", S.customer(tags="", updated_at="2026-03-21T10:00:00-05:00"))
    assert inside(vip) == set() and rt.segments.profile(shop_row.id, member.id)["tags"] == []
    sender.deliver("refunds/create", S.refund(990011223344))  # one mug of two: still bought
    assert inside(mug) == {member.id}
    sender.deliver("refunds/create", S.refund(990011223355))  # the other: the line is refunded whole
    assert inside(mug) == set()


def test_a_signed_but_malformed_payload_fails_visibly(client, shop):
    _, rt, _ = shop
    S.Sender(client, SECRET).deliver("orders/paid", {"id": 1, "line_items": "nope"})
    with rt.db.transaction() as conn:
        row = conn.execute(text("select state, outcome from inbox")).one()
    assert row.state == "failed" and row.outcome.startswith("invalid_request")
    assert json.loads(b"{}") == {}


def test_one_event_through_two_subscriptions_is_processed_once(client, shop):
    """App-scoped (shopify.app.toml) and shop-scoped (Admin API) subscriptions to the same topic
    each get a delivery: different X-Shopify-Webhook-Id, same X-Shopify-Event-Id. The second is a
    duplicate (200, nothing changes); another topic of the same merchant action is not."""
    _, rt, _ = shop
    sender = S.Sender(client, SECRET)
    paid = S.order(6120345670001)
    first, second = sender.deliver_event("orders/paid", paid, subscriptions=2, event_id="ev-1")
    assert first.status_code == second.status_code == 200
    assert first.get_json()["duplicate"] is False and second.get_json()["duplicate"] is True
    assert rows(rt, "inbox") == 1
    # orders/create of the same action shares the event id but is its own topic
    created = sender.deliver("orders/create", paid, webhook_id="w-create", event_id="ev-1")
    assert created.get_json()["duplicate"] is False and rows(rt, "inbox") == 2
    # a delivery without an event id falls back to the webhook id
    raw = S.body(S.customer())
    h = S.headers("customers/create", raw, SECRET, webhook_id="w-plain")
    del h["X-Shopify-Event-Id"]
    assert client.post("/webhooks/shopify", data=raw, headers=h).get_json()["duplicate"] is False
    assert client.post("/webhooks/shopify", data=raw, headers=h).get_json()["duplicate"] is True
