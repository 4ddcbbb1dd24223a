"""Deeply nested JSON (about 2 KB) never costs a 500: every endpoint that reads a JSON body
refuses it with a JSON 4xx and stores nothing; a forged Shopify webhook is refused on its raw
bytes (401) before anything parses it; a signed deep body that reaches a worker fails with a
reason instead of crashing it."""
import base64
import hashlib
import hmac
import json

import pytest
from sqlalchemy import text

from plugin_app import create_app
from plugin_app.domain import jsondepth
from plugin_app.services import identity

from . import shopify_standin as S
from . import woocommerce_standin as W
from .conftest import ENCRYPTION_KEY

SECRET = "shpss_deep_json_app_secret_0000000000000"
WOO_SECRET = "woo-webhook-secret"
DEEP = b'{"lines":' + b"[" * 1000 + b"]" * 1000 + b"}"  # 2 KB, 1001 levels
DEEP_OBJECT = b'{"a":' * 400 + b"1" + b"}" * 400  # objects nest too (2.4 KB)
assert 1900 < len(DEEP) < 2500


@pytest.fixture
def env(clean_db):
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example", "shopify_api_secret": SECRET, "shopify_api_key": "k"})
    rt = app.extensions["loyalty"]
    shop, key = rt.shops.register("shopify", S.DOMAIN, currency="EUR",
                                  credentials={"access_token": "shpat_deep", "api_secret": SECRET})
    woo, _ = rt.shops.register("woocommerce", "https://woo.test", currency="EUR",
                               credentials={"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": WOO_SECRET})
    member, _ = rt.members.enrol(shop.id, "73")
    from types import SimpleNamespace
    yield SimpleNamespace(app=app, rt=rt, client=app.test_client(), shop=rt.shops.get(shop.id), woo=woo,
                          admin={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                          token=identity.sign(shop.id, "73", rt.shops.widget_secret(shop.id)))
    rt.close()


def counts(rt) -> dict:
    with rt.db.transaction() as conn:
        return {t: conn.execute(text(f"select count(*) from {t}")).scalar()
                for t in ("inbox", "ledger_entries", "orders", "programs", "members")}


def refused(r) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.data[:200])
    assert r.is_json and r.get_json()["error"]["code"]


def test_the_depth_scan():
    assert jsondepth.depth(b'{"a":[1,{"b":"]]]]"}]}') == 3  # brackets in strings do not count
    assert jsondepth.depth(b'["\\"[[[["]') == 1  # nor do escaped quotes end a string
    assert jsondepth.depth(DEEP) == 1001
    with pytest.raises(ValueError):
        jsondepth.loads(DEEP)
    with pytest.raises(RecursionError):  # what every caller used to meet
        json.loads(DEEP)
    nested = json.dumps(json.loads(b"[" * 64 + b"]" * 64)).encode()
    assert jsondepth.loads(nested) is not None  # the limit itself is allowed


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_public_and_admin_endpoints_refuse_deep_bodies(env, body):
    before = counts(env.rt)
    bearer = {"Authorization": f"Bearer {env.token}", "Content-Type": "application/json"}
    for url, headers, method in [
        (f"/storefront/v1/cart/quote?shop={env.shop.widget_key}", bearer, "post"),
        (f"/storefront/v1/cart/quote?shop={env.shop.widget_key}", {"Content-Type": "application/json"}, "post"),
        ("/proxy/cart/quote?" + S.proxy_query(SECRET, customer="73"), {"Content-Type": "application/json"}, "post"),
        ("/admin/api/v1/program", env.admin, "put"),
        ("/admin/api/v1/program/changes/preview", env.admin, "post"),
        ("/admin/api/v1/orders", env.admin, "post"),
    ]:
        r = getattr(env.client, method)(url, data=body, headers=headers)
        refused(r)
        if body is DEEP:
            assert r.get_json()["error"]["code"] == "json_too_deep", url
    assert counts(env.rt) == before


def test_a_forged_shopify_webhook_is_refused_without_any_parse(env, monkeypatch):
    """The SDK's verify_webhook_req parses (and re-serialises) the body before it compares the
    HMAC: that parse, and any other, must never run for a forged delivery."""
    import shopify_app
    import shopify_app.utils
    import shopify_app.verify._body_hmac_in_header as sdk_hmac
    import shopify_app.verify.webhook as sdk_webhook

    def boom(*a, **k):
        raise AssertionError("parsed or handed to the SDK before the signature was checked")

    for module, name in ((shopify_app, "verify_webhook_req"), (sdk_webhook, "verify_webhook_req"),
                         (sdk_webhook, "_verify_body_hmac_in_header"), (sdk_hmac, "redact_http_log"),
                         (shopify_app.utils, "redact_http_log")):
        monkeypatch.setattr(module, name, boom)
    before = counts(env.rt)
    for body in (DEEP, DEEP_OBJECT, S.body(S.order())):
        forged = S.headers("orders/paid", body, "attacker-secret")
        real_loads = json.loads

        def loads(s, *a, **k):  # nothing may parse the delivery's body while the request runs
            if s in (body, body.decode()):
                boom()
            return real_loads(s, *a, **k)

        with monkeypatch.context() as m:
            m.setattr(json, "loads", loads)
            r = env.client.post("/webhooks/shopify", data=body, headers=forged)
        assert r.status_code == 401 and r.is_json
    assert counts(env.rt) == before
    # a genuine delivery still goes through with the SDK's verifier out of the way
    ok = env.client.post("/webhooks/shopify", data=S.body(S.customer()),
                         headers=S.headers("customers/create", S.body(S.customer()), SECRET))
    assert ok.status_code == 200 and counts(env.rt)["inbox"] == 1


def test_the_raw_byte_check_agrees_with_an_independent_hmac():
    from connectors.shopify.webhooks import verify

    body = DEEP
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert verify(body, {"X-Shopify-Hmac-Sha256": digest}, ["rotated-in", SECRET])
    assert not verify(body, {"X-Shopify-Hmac-Sha256": digest}, ["other"])
    assert not verify(body, {"X-Shopify-Hmac-Sha256": "é" + digest}, [SECRET])
    assert not verify(body, {}, [SECRET]) and not verify(body, {"X-Shopify-Hmac-Sha256": digest}, [])


def test_signed_deep_webhooks_are_refused_and_store_nothing(env):
    before = counts(env.rt)
    for body in (DEEP, DEEP_OBJECT):
        r = env.client.post("/webhooks/shopify", data=body, headers=S.headers("orders/paid", body, SECRET))
        refused(r)
        woo = env.client.post(f"/webhooks/woocommerce/{env.woo.id}", data=body, headers={
            "Content-Type": "application/json", "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Signature": W.sign(body, WOO_SECRET)})
        refused(woo)
        forged = env.client.post(f"/webhooks/woocommerce/{env.woo.id}", data=body, headers={
            "Content-Type": "application/json", "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Signature": W.sign(body, "forged")})
        assert forged.status_code == 401
    assert counts(env.rt) == before


@pytest.mark.parametrize("source,topic", [("shopify", "orders/paid"), ("woocommerce", "order.updated")])
def test_a_deep_payload_that_reaches_a_worker_fails_with_a_reason(env, source, topic):
    """Stored by an older intake or before the limit: the worker marks it failed, never crashes."""
    shop_id = env.shop.id if source == "shopify" else env.woo.id
    inbox_id, _ = env.rt.inbox.accept(shop_id, source, topic, "deep-1", DEEP, {})
    with env.rt.db.transaction() as conn:
        row = conn.execute(text("select state, outcome from inbox where id = :i"), {"i": inbox_id}).one()
    assert row.state == "failed" and "deep" in row.outcome
    assert counts(env.rt)["ledger_entries"] == 0


def test_translators_turn_recursion_into_a_bad_payload(monkeypatch):
    from connectors.shopify import translate as shopify_translate
    from connectors.woocommerce import translate as woo_translate

    def recursing(*a, **k):
        raise RecursionError("maximum recursion depth exceeded")

    for module, topic in ((shopify_translate, "orders/paid"), (woo_translate, "order.updated")):
        monkeypatch.setattr(module.jsondepth, "loads", recursing)
        with pytest.raises(ValueError):
            module.events(topic, b"{}")


def test_the_admin_pages_program_json_refuses_deep_text(env):
    """The merchant's JSON textarea is read with the same limit (an error on the page, not a 500)."""
    import re

    env.client.post("/admin/login", data={"key": env.admin["Authorization"].split()[1]})
    page = env.client.get("/admin/program").data.decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    before = counts(env.rt)
    r = env.client.post("/admin/program", data={"csrf": csrf, "document": DEEP.decode(), "action": "save"})
    assert r.status_code == 200 and "nested deeper than 64" in r.data.decode()
    assert counts(env.rt) == before
