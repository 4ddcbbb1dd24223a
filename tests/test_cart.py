"""Cart time over HTTP: identity (widget key + customer token, or the Shopify app proxy), the
quote, redemptions against the Shopify stand-in through the SDK, settling with the paid order,
cancellation, lapse, limits and CORS."""
import json
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from plugin_app import create_app
from plugin_app.domain.ports import FixedClock
from plugin_app.services import identity
from plugin_app.services.audit import run_audit

from . import shopify_standin as S
from .conftest import ENCRYPTION_KEY

SECRET = "shpss_cart_app_secret_long_enough_000000"


def test_proxy_signature_vectors():  # platforms.md §5, secret "hush"
    base = [("extra", "1"), ("extra", "2"), ("shop", "shop-name.myshopify.com"), ("logged_in_customer_id", "1"),
            ("path_prefix", "/apps/awesome_reviews"), ("timestamp", "1317327555")]
    assert S.proxy_signature(base, "hush") == "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"
    anon = [(k, "" if k == "logged_in_customer_id" else v) for k, v in base]
    assert S.proxy_signature(anon, "hush") == "e072b6d7e6622d85912a5214b860d3100dc1e73d9bc29f43796ac8c9ff8093cb"


@pytest.fixture
def env(clean_db):
    state = S.AdminState()
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example", "shopify_api_secret": SECRET, "shopify_api_key": "k"})
    rt = app.extensions["loyalty"]
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    shop, key = rt.shops.register("shopify", S.DOMAIN, credentials={"access_token": "shpat_standin", "api_secret": SECRET})
    member, _ = rt.members.enrol(shop.id, "73")
    rt.ledger.earn(shop.id, member.id, "points", 350, key="seed", source="order", reason="seed")
    token = identity.sign(shop.id, "73", rt.shops.widget_secret(shop.id))
    from types import SimpleNamespace
    yield SimpleNamespace(app=app, rt=rt, shop=rt.shops.get(shop.id), member=member, state=state, token=token,
                          client=app.test_client(), admin={"Authorization": f"Bearer {key}"})
    rt.close()


def cart(total="40.00", currency="EUR", **kw):
    return {"currency": currency, "lines": [{"product_id": "p1", "quantity": 2, "price": str(Decimal(total) / 2)}], **kw}


def q(env, body, token=True, **params):
    url = f"/storefront/v1/cart/quote?shop={env.shop.widget_key}"
    headers = {"Authorization": f"Bearer {env.token}"} if token else {}
    return env.client.post(url, json=body, headers=headers)


def test_guest_and_member_quotes(env):
    guest = q(env, cart(), token=False).get_json()
    assert guest["earn"]["points"] == 40 and guest["balance"] is None and guest["member"] is False
    assert guest["rewards"][0]["available"] is False and guest["rewards"][0]["reason"] == "sign in to use rewards"
    mine = q(env, cart()).get_json()
    assert mine["balance"] == {"points": 350, "store_credit": {"amount": "0.00", "currency": "EUR"}}
    five = mine["rewards"][0]
    assert five["available"] and five["points"] == 100 and five["value"] == {"amount": "5.00", "currency": "EUR"}
    assert mine["tier"] == {"tier_now": "Bronze", "tier_after": "Bronze", "next_tier": "Silver", "to_next": "110",
                            "basis": "points_earned"}
    assert mine["earn"]["explanation"] == "40 points: 1 per EUR on 40.00"


def test_presentment_currency_is_converted_and_said(env):
    body = q(env, cart("54.00", currency="CAD", rate="1.35")).get_json()
    assert body["earn"]["points"] == 40 and "converted to EUR at 1.35 CAD per EUR" in body["currency_note"]
    assert body["rewards"][0]["value_in_cart_currency"] == {"amount": "6.75", "currency": "CAD"}
    assert q(env, cart(currency="CAD")).status_code == 422  # no rate


def test_bad_input_and_identity(env):
    assert q(env, {"currency": "EUR", "lines": []}).status_code == 422
    assert q(env, cart(extra=1)).status_code == 422
    r = env.client.post("/storefront/v1/cart/quote?shop=wk_nope", json=cart())
    assert r.status_code == 401
    tampered = env.token[:-1] + ("0" if env.token[-1] != "0" else "1")
    expired = identity.sign(env.shop.id, "73", env.rt.shops.widget_secret(env.shop.id), ttl=-10)
    other_shop, _ = env.rt.shops.register("demo", "other.example")
    foreign = identity.sign(other_shop.id, "73", env.rt.shops.widget_secret(other_shop.id))
    for bad in (tampered, expired, foreign, "garbage"):
        r = env.client.post(f"/storefront/v1/cart/quote?shop={env.shop.widget_key}", json=cart(),
                            headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401 and r.is_json, bad


def test_cors_admits_only_the_shops_origins(env):
    ok = env.client.post(f"/storefront/v1/cart/quote?shop={env.shop.widget_key}", json=cart(),
                         headers={"Origin": f"https://{S.DOMAIN}"})
    assert ok.headers["Access-Control-Allow-Origin"] == f"https://{S.DOMAIN}"
    evil = env.client.post(f"/storefront/v1/cart/quote?shop={env.shop.widget_key}", json=cart(),
                           headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    env.client.put("/admin/api/v1/storefront/origins", headers=env.admin, json={"origins": ["https://shop.maple.example"]})
    pre = env.client.options(f"/storefront/v1/cart/quote?shop={env.shop.widget_key}",
                             headers={"Origin": "https://shop.maple.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code in (200, 204) and pre.headers["Access-Control-Allow-Origin"] == "https://shop.maple.example"


def test_rate_limits_answer_429_with_retry_after(env):
    object.__setattr__(env.rt.settings, "storefront_client_rate", 3)  # a fresh app per test: safe to tighten
    responses = [q(env, cart()) for _ in range(12)]  # 12 requests cannot all fit in windows of 3
    codes = [r.status_code for r in responses]
    assert codes[0] == 200 and 429 in codes and set(codes) <= {200, 429}
    limited = next(r for r in responses if r.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1 and limited.get_json()["error"]["code"] == "rate_limited"


def test_proxy_twin(env):
    r = env.client.post("/proxy/cart/quote?" + S.proxy_query(SECRET, customer="73"), json=cart())
    assert r.status_code == 200 and r.get_json()["balance"]["points"] == 350
    anon = env.client.post("/proxy/cart/quote?" + S.proxy_query(SECRET), json=cart()).get_json()
    assert anon["balance"] is None
    for query in (S.proxy_query("wrong-secret", customer="73"),
                  S.proxy_query(SECRET, customer="73").replace("logged_in_customer_id=73", "logged_in_customer_id=74"),
                  S.proxy_query(SECRET, customer="73", timestamp=int(time.time()) - 3600)):
        assert env.client.post("/proxy/cart/quote?" + query, json=cart()).status_code == 401


def apply(env, key=None, **body):
    return env.client.post(f"/storefront/v1/cart/redemptions?shop={env.shop.widget_key}",
                           headers={"Authorization": f"Bearer {env.token}"},
                           json={"idempotency_key": key or str(uuid.uuid4()), "cart": cart(), **body})


def balance(env):
    return env.rt.members.get(env.shop.id, env.member.id)[1]


def test_full_path_apply_pay_cancel(env):
    r = apply(env, "key-00000001", reward_id="five-off")
    body = r.get_json()
    assert r.status_code == 201 and body["code"].startswith("LOY-") and body["value"]["amount"] == "5.00"
    code = next(d for d in env.state.discounts.values() if d["code"] == body["code"])
    assert code["context"]["customers"]["add"] == ["gid://shopify/Customer/73"] and code["usageLimit"] == 1
    assert code["customerGets"]["value"]["discountAmount"]["amount"] == "5.00" and code["endsAt"]
    assert (balance(env).points, balance(env).held_points) == (250, 100)
    again = apply(env, "key-00000001", reward_id="five-off")
    assert again.status_code == 201 and again.get_json() == body
    assert len(env.state.discounts) == 1
    assert apply(env, "key-00000001", reward_id="five-off", steps=2).status_code == 409  # same key, other request
    # The paid order arrives with the code: the hold becomes a redemption tied to the order.
    order = S.order(5001, customer_id=73)
    order["discount_codes"] = [{"code": body["code"], "amount": "5.00", "type": "fixed_amount"}]
    sender = S.Sender(env.client, SECRET)
    sender.deliver("orders/paid", order)
    b = balance(env)
    assert (b.points, b.held_points) == (250 + 80, 0)
    with env.rt.db.transaction() as conn:
        row = conn.execute(text("select status, order_id from redemptions")).one()
    assert tuple(row) == ("committed", "5001")
    # The order is cancelled: its points go, the 100 spent on it come back.
    order["cancelled_at"] = "2026-03-16T10:00:00-04:00"
    sender.deliver("orders/cancelled", order)
    assert balance(env).points == 350
    assert run_audit(env.rt.db).ok


def test_remove_before_checkout_and_lapse_after_expiry(env):
    first = apply(env, reward_id="five-off").get_json()
    r = env.client.delete(f"/storefront/v1/cart/redemptions/{first['redemption_id']}?shop={env.shop.widget_key}",
                          headers={"Authorization": f"Bearer {env.token}"})
    assert r.get_json()["status"] == "released" and balance(env).points == 350 and not env.state.discounts
    apply(env, reward_id="five-off")
    clock = FixedClock(env.rt.clock.now() + timedelta(hours=9))
    env.rt.cart.clock = clock
    env.rt.ledger.clock = clock
    assert env.rt.cart.lapse() == 1 and env.rt.cart.lapse() == 0
    assert (balance(env).points, balance(env).held_points) == (350, 0)


def test_code_used_by_another_customer_is_flagged_not_honoured(env):
    body = apply(env, reward_id="five-off").get_json()
    order = S.order(6001, customer_id=99)
    order["discount_codes"] = [{"code": body["code"], "amount": "5.00", "type": "fixed_amount"}]
    S.Sender(env.client, SECRET).deliver("orders/paid", order)
    with env.rt.db.transaction() as conn:
        assert conn.execute(text("select status from redemptions")).scalar() == "flagged"
        ev = conn.execute(text("select payload from events where type = 'redemption_flagged'")).scalar()
    assert ev["reason"] == "used by another customer"
    assert balance(env).held_points == 100  # not spent twice; the merchant decides


def test_platform_failure_releases_the_hold(env):
    env.state.tokens.clear()  # the stand-in now refuses our token
    r = apply(env, "key-failing-1", reward_id="five-off")
    assert r.status_code == 502 and r.is_json
    assert (balance(env).points, balance(env).held_points) == (350, 0)
    assert apply(env, "key-failing-1", reward_id="five-off").status_code == 502  # the stored answer
    [refused] = env.rt.cart.failed(env.shop.id)  # on the merchant's operations page
    assert refused["reward_id"] == "five-off" and refused["amount"] == "100" and "could not be created" in refused["reason"]


def test_store_credit_as_an_amount_off(env):
    env.rt.ledger.earn(env.shop.id, env.member.id, "credit", "12.00", key="cb", source="order", reason="cashback")
    body = apply(env, store_credit="7.50").get_json()
    assert body["asset"] == "credit" and body["value"]["amount"] == "7.50"
    assert balance(env).held_credit.amount == Decimal("7.50")
    assert apply(env, store_credit="50.00").status_code == 422  # more than the cart or the balance


def test_two_hundred_concurrent_redemptions_for_one_member(env):
    object.__setattr__(env.rt.settings, "storefront_client_rate", 10_000)
    k = 350 // 100
    barrier = threading.Barrier(50)
    results = []

    def go(i):
        client = env.app.test_client()
        if i < 50:
            barrier.wait()
        r = client.post(f"/storefront/v1/cart/redemptions?shop={env.shop.widget_key}",
                        headers={"Authorization": f"Bearer {env.token}"},
                        json={"idempotency_key": f"k-{i:08d}", "reward_id": "five-off", "cart": cart()})
        results.append(r.status_code)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(200)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results.count(201) == k and len(env.state.discounts) == k
    assert set(results) <= {201, 409}
    b = balance(env)
    assert (b.points, b.held_points) == (350 - 100 * k, 100 * k) and b.points >= 0
    assert run_audit(env.rt.db).ok
    assert json.dumps(results)


def test_widget_summary_for_guests_and_members(env):
    guest = env.client.get(f"/storefront/v1/me?shop={env.shop.widget_key}").get_json()
    assert guest["member"] is None and guest["program"]["currency"] == "EUR"
    assert {w["kind"] for w in guest["program"]["ways_to_earn"]} >= {"order", "signup"}
    mine = env.client.get(f"/storefront/v1/me?shop={env.shop.widget_key}",
                          headers={"Authorization": f"Bearer {env.token}"}).get_json()["member"]
    assert mine["points"] == 350 and mine["tier"]["name"] == "Bronze" and mine["tier"]["next"] == "Silver"
    assert mine["activity"][0]["text"] == "seed" and mine["referral"] is None  # referrals off by default
    proxied = env.client.get("/proxy/me?" + S.proxy_query(SECRET, customer="73")).get_json()
    assert proxied["member"]["points"] == 350
    assert env.client.get("/proxy/me?" + S.proxy_query("nope", customer="73")).status_code == 401


def test_the_shoppers_language_comes_with_the_request_and_falls_back_to_the_shops(env):
    """`?locale=` is the storefront's language (Shopify's request.locale.iso_code through the app
    proxy, signed with the rest of the query; WordPress's determine_locale()); a language we do not
    ship falls back to the shop's (the widget's configured language)."""
    def me(locale, **kw):
        url = f"/storefront/v1/me?shop={env.shop.widget_key}" + (f"&locale={locale}" if locale else "")
        return env.client.get(url, headers={"Authorization": f"Bearer {env.token}"}).get_json()

    it = me("it-IT")
    assert it["program"]["locale"] == "it" and it["program"]["texts"]["title"] == "Premi"
    assert it["member"]["points_text"] == "350" and it["member"]["points_unit"] == "punti"
    assert it["member"]["tier"]["next_text"] == "Ancora 150 punti per raggiungere Silver"
    assert it["program"]["rewards"][0]["name"] == "5,00\xa0€ di sconto sul tuo ordine"  # the default reward's Italian name
    assert me(None)["program"]["texts"]["title"] == "Rewards" and me("pt-BR")["program"]["locale"] == "en"
    env.rt.programs.put(env.shop.id, {"widget": {"locale": "de", "texts": {"it": {"title": "I nostri premi"}}}},
                        author="test")
    env.rt.programs._current_cache.clear()  # the program and the summary are cached for a few seconds
    env.rt.widget._local.clear()
    assert me("pt-BR")["program"]["texts"]["title"] == "Prämien"  # the shop's language
    assert me("it")["program"]["texts"]["title"] == "I nostri premi"  # the merchant's own Italian wording
    # the cart: the reasons and the earning in the shopper's language
    guest = env.client.post(f"/storefront/v1/cart/quote?shop={env.shop.widget_key}&locale=fr", json=cart()).get_json()
    assert guest["rewards"][0]["reason_text"] == "Connectez-vous pour utiliser vos récompenses"
    assert guest["rewards"][0]["reason"] == "sign in to use rewards"  # English for API clients
    assert guest["earn"]["text"] == "Ce panier rapporte 40 points"
    poor = env.client.post(f"/storefront/v1/cart/quote?shop={env.shop.widget_key}&locale=es",
                           json=cart(total="2000.00"), headers={"Authorization": f"Bearer {env.token}"}).get_json()
    assert poor["earn"]["text"] == "Este carrito suma 2.000 puntos"
    proxied = env.client.post("/proxy/cart/quote?" + S.proxy_query(SECRET, customer="73", locale="it"), json=cart())
    assert proxied.status_code == 200 and proxied.get_json()["texts"]["apply"] == "Applica"
    assert env.client.get("/proxy/me?" + S.proxy_query(SECRET, customer="73", locale="de")).get_json()[
        "program"]["texts"]["activity"] == "Letzte Aktivitäten"
