"""The backend of Shopify's extension surfaces (/ext/...), with session tokens made the way
Shopify makes them: HS256 JWTs signed with the app's client secret, `aud` = the client id, `dest`
the shop, `sub` the customer's gid (customer accounts, checkout) or the staff member (POS), and
iss/exp/nbf/iat/jti/sid (https://shopify.dev/docs/api/customer-account-ui-extensions/latest/target-apis/platform-apis/session-token-api,
https://shopify.dev/docs/apps/build/authentication-authorization/session-tokens). Each surface gets
the shopper's own data; a forged, expired, other-shop or other-customer token gets 401 (404 for
another customer's order) and nothing changes. POS: a redemption at the counter holds, the
in-store order commits it, a counter refund reverses the earn."""
import time
import uuid
from types import SimpleNamespace

import httpx
import jwt
import pytest
from sqlalchemy import text

from plugin_app import create_app

from . import shopify_standin as S
from .conftest import ENCRYPTION_KEY

API_KEY, SECRET = "ext-app-client-id", "shpss_extension_app_secret_0123456789abcdef"
OTHER_DOMAIN = "birch-demo.myshopify.com"
CUSTOMER, OTHER_CUSTOMER = 7300400500600, 7300400500611


def token(sub=f"gid://shopify/Customer/{CUSTOMER}", *, surface="customer_account", dest=S.DOMAIN, secret=SECRET,
          aud=API_KEY, exp_in=60, **extra):
    """A session token as Shopify signs it for an extension (HS256, the app's client secret).
    Customer accounts and checkout: `dest` the bare shop domain, `sub` the customer's gid (absent
    for a guest); POS (like the admin): `iss` the shop's admin URL, `dest` the shop URL, `sub`
    the staff member's id."""
    now = int(time.time())
    claims = {"aud": aud, "exp": now + exp_in, "nbf": now - 1, "iat": now - 1, "jti": str(uuid.uuid4()),
              "sid": uuid.uuid4().hex}
    if surface == "pos":
        claims.update(iss=f"https://{dest}/admin", dest=f"https://{dest}")
    else:
        claims.update(dest=dest)
    if sub is not None:
        claims["sub"] = sub
    claims.update(extra)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")


def auth(tok):
    return {"Authorization": f"Bearer {tok}", "Origin": "https://extensions.shopifycdn.com"}


@pytest.fixture
def env(clean_db):
    state = S.AdminState(client_secret=SECRET)
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example", "shopify_api_secret": SECRET,
                      "shopify_api_key": API_KEY})
    rt = app.extensions["loyalty"]
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    shop, _ = rt.shops.register("shopify", S.DOMAIN, credentials={"access_token": "shpat_standin"})
    other, _ = rt.shops.register("shopify", OTHER_DOMAIN, credentials={"access_token": "shpat_standin"})
    member, _ = rt.members.enrol(shop.id, str(CUSTOMER))
    rt.ledger.earn(shop.id, member.id, "points", 350, key="seed", source="order", reason="seed")
    rival, _ = rt.members.enrol(shop.id, str(OTHER_CUSTOMER))
    rt.ledger.earn(shop.id, rival.id, "points", 900, key="seed-rival", source="order", reason="seed")
    yield SimpleNamespace(app=app, rt=rt, shop=rt.shops.get(shop.id), other=other, member=member, rival=rival,
                          state=state, client=app.test_client(), sender=S.Sender(app.test_client(), SECRET))
    rt.close()


def balance(env, member=None):
    return env.rt.members.get(env.shop.id, (member or env.member).id)[1]


def counts(env):
    with env.rt.db.transaction() as conn:
        return tuple(conn.execute(text(f"select count(*) from {t}")).scalar()
                     for t in ("ledger_entries", "redemptions", "members", "birthday_changes"))


def bad_tokens(surface="customer_account", sub=f"gid://shopify/Customer/{CUSTOMER}"):
    """Forged (another secret), expired, not yet valid, for another app, for another shop (signed
    right, but no such install), a shop that is not a myshopify domain, no token, a token
    without an expiry, the `none` algorithm."""
    now = int(time.time())
    unsigned = jwt.encode({"aud": API_KEY, "dest": S.DOMAIN, "sub": sub, "exp": now + 60}, None, algorithm="none")
    return {"forged": token(sub, surface=surface, secret="shpss_attacker_secret_0123456789abcdef"),
            "expired": token(sub, surface=surface, exp_in=-120),
            "not_yet": token(sub, surface=surface, nbf=now + 600),
            "other_app": token(sub, surface=surface, aud="another-app"),
            "other_shop": token(sub, surface=surface, dest="unknown-shop.myshopify.com"),
            "not_shopify": token(sub, surface=surface, dest="evil.example.com"),
            "no_exp": token(sub, surface=surface, exp=None),
            "none_alg": unsigned, "missing": None}


def send(env, method, url, tok, **kw):
    headers = auth(tok) if tok else {"Origin": "https://extensions.shopifycdn.com"}
    return env.client.open(url, method=method, headers=headers, **kw)


# -- customer accounts -------------------------------------------------------------------------------
def test_summary_is_the_shoppers_own_in_their_language(env):
    from .factories import use_program

    use_program(env.rt, env.shop, referrals={"enabled": True})
    r = send(env, "GET", "/ext/customer-account/summary?locale=it-IT", token())
    body = r.get_json()
    assert r.status_code == 200, body
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert body["member"] is True and body["points"] == 350 and body["locale"] == "it"
    assert body["store_credit"]["currency"] == "EUR" and body["store_credit"]["amount"] == "0.00"
    [five] = body["rewards"]
    assert five["id"] == "five-off" and five["available"] is True and five["reason_text"] is None
    assert "100" in five["cost_text"] and "5,00" in five["value_text"]  # Italian money
    assert body["referral"]["link"].startswith(f"https://{S.DOMAIN}/?ref=")
    assert body["birthday"]["set"] is False
    assert body["activity"][0]["points_text"] == "+350"
    rival = send(env, "GET", "/ext/customer-account/summary", token(f"gid://shopify/Customer/{OTHER_CUSTOMER}"))
    assert rival.get_json()["points"] == 900  # the token says who; nothing else does


def test_preflight_answers_with_the_sdks_cors_headers(env):
    r = env.client.options("/ext/customer-account/redeem", headers={
        "Origin": "https://extensions.shopifycdn.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    assert r.headers["Access-Control-Max-Age"] == "7200"


@pytest.mark.parametrize("surface,method,url,body", [
    ("customer_account", "GET", "/ext/customer-account/summary", None),
    ("customer_account", "POST", "/ext/customer-account/redeem", {"reward_id": "five-off", "idempotency_key": "k-0000001"}),
    ("customer_account", "POST", "/ext/customer-account/birthday", {"birthday": "1990-05-17"}),
    ("customer_account", "GET", "/ext/customer-account/orders/5001", None),
    ("checkout", "GET", "/ext/checkout/orders/5001", None),
    ("pos", "GET", f"/ext/pos/customers/{CUSTOMER}", None),
    ("pos", "POST", "/ext/pos/redeem", {"customer_id": str(CUSTOMER), "reward_id": "five-off",
                                        "idempotency_key": "k-0000002"}),
])
def test_bad_tokens_get_401_and_change_nothing(env, surface, method, url, body):
    sub = "4242" if surface == "pos" else f"gid://shopify/Customer/{CUSTOMER}"
    before, codes = counts(env), dict(env.state.discounts)
    for name, tok in bad_tokens(surface, sub).items():
        r = send(env, method, url, tok, json=body)
        assert r.status_code == 401, (name, r.get_json())
        assert r.get_json()["error"]["code"] == "unauthorized"
        assert r.headers["Access-Control-Allow-Origin"] == "*"  # the extension can read the refusal
    assert counts(env) == before and env.state.discounts == codes
    assert (balance(env).points, balance(env).held_points) == (350, 0)


def test_a_token_for_another_installed_shop_sees_nothing_of_this_one(env):
    tok = token(dest=OTHER_DOMAIN)
    r = send(env, "GET", "/ext/customer-account/summary", tok)
    assert r.status_code == 200 and r.get_json()["member"] is False and r.get_json()["points"] == 0
    before = counts(env)
    r = send(env, "POST", "/ext/customer-account/redeem", tok, json={"reward_id": "five-off", "idempotency_key": "k-other-shop"})
    assert r.status_code in (409, 422)  # the other shop's member has no points; nothing of ours moves
    assert (balance(env).points, balance(env).held_points) == (350, 0)
    assert counts(env)[1] == before[1]


def test_a_guest_token_cannot_use_the_customer_routes(env):
    r = send(env, "GET", "/ext/customer-account/summary", token(sub=None))
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "sign_in_required"
    r = send(env, "GET", "/ext/customer-account/summary", token(sub="gid://shopify/StaffMember/1"))
    assert r.status_code == 401


def test_redeem_holds_once_per_key_and_the_order_commits_it(env):
    url = "/ext/customer-account/redeem?locale=de"
    r = send(env, "POST", url, token(), json={"reward_id": "five-off", "idempotency_key": "key-00000001"})
    body = r.get_json()
    assert r.status_code == 201, body
    assert body["code"].startswith("LOY-") and body["points"] == 100 and "5,00" in body["value_text"]
    assert body["expires_at_text"].startswith("Lösen Sie diesen Code bis ")  # in the shopper's language
    code = next(d for d in env.state.discounts.values() if d["code"] == body["code"])
    assert code["context"]["customers"]["add"] == [f"gid://shopify/Customer/{CUSTOMER}"]
    assert code["customerGets"]["value"]["discountAmount"]["amount"] == "5.00"
    again = send(env, "POST", url, token(), json={"reward_id": "five-off", "idempotency_key": "key-00000001"})
    assert again.status_code == 201 and again.get_json() == body and len(env.state.discounts) == 1
    assert (balance(env).points, balance(env).held_points) == (250, 100)
    # Another customer replaying the key gets a conflict, never the first one's code.
    theirs = send(env, "POST", url, token(f"gid://shopify/Customer/{OTHER_CUSTOMER}"),
                  json={"reward_id": "five-off", "idempotency_key": "key-00000001"})
    assert theirs.status_code == 409 and "code" not in theirs.get_json()
    order = S.order(5001, customer_id=CUSTOMER)
    order["discount_codes"] = [{"code": body["code"], "amount": "5.00", "type": "fixed_amount"}]
    env.sender.deliver("orders/paid", order)
    b = balance(env)
    assert b.held_points == 0 and b.points == 250 + 80  # committed; the order earned 80


@pytest.mark.parametrize("body,status", [
    ({"reward_id": "no-such", "idempotency_key": "key-00000009"}, 404),
    ({"reward_id": "five-off", "idempotency_key": "short"}, 422),
    ({"reward_id": "five-off", "idempotency_key": "key-00000010", "steps": 2}, 422),
    ({"reward_id": "five-off", "idempotency_key": "key-00000011", "customer_id": "1"}, 422),
    ({"idempotency_key": "key-00000012"}, 422),
    ("not json", 400),
])
def test_redeem_bad_input_is_a_clear_error(env, body, status):
    kw = {"data": body, "content_type": "application/json"} if isinstance(body, str) else {"json": body}
    r = send(env, "POST", "/ext/customer-account/redeem", token(), **kw)
    assert r.status_code == status and r.get_json()["error"]["message"]
    assert (balance(env).points, balance(env).held_points) == (350, 0)


def test_a_reward_that_depends_on_the_cart_is_left_to_the_cart(env):
    from .factories import reward, use_program

    use_program(env.rt, env.shop, rewards=[reward("big-cart", 100, amount="10", minimum_cart="50")])
    s = send(env, "GET", "/ext/customer-account/summary?locale=fr", token()).get_json()
    [big] = s["rewards"]
    assert big["available"] is False and big["reason_text"]
    r = send(env, "POST", "/ext/customer-account/redeem", token(), json={"reward_id": "big-cart", "idempotency_key": "key-cart-01"})
    assert r.status_code == 422 and balance(env).held_points == 0


def test_birthday_once_like_the_storefront(env):
    r = send(env, "POST", "/ext/customer-account/birthday?locale=es", token(), json={"birthday": "--05-17"})
    assert r.status_code == 200 and r.get_json()["birthday"] == "--05-17" and "17" in r.get_json()["text"]
    again = send(env, "POST", "/ext/customer-account/birthday", token(), json={"birthday": "--06-01"})
    assert again.status_code == 409
    bad = send(env, "POST", "/ext/customer-account/birthday", token(f"gid://shopify/Customer/{OTHER_CUSTOMER}"),
               json={"birthday": "1990-02-30"})
    assert bad.status_code == 422
    s = send(env, "GET", "/ext/customer-account/summary", token()).get_json()
    assert s["birthday"]["set"] is True


# -- orders: order status and thank-you ------------------------------------------------------------------
def test_order_status_earned_then_reversed_in_the_shoppers_language(env):
    env.sender.deliver("orders/paid", S.order(5001, customer_id=CUSTOMER))
    url = "/ext/customer-account/orders/5001?locale=it"
    r = send(env, "GET", url, token())
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["state"] == "earned" and body["points"] == 80 and "80" in body["text"] and "ordine" in body["text"]
    assert send(env, "GET", "/ext/customer-account/orders/5001", token()).get_json()["points"] == 80
    # Another customer's token: 404, the order is not theirs; an unknown order: 404 too.
    assert send(env, "GET", url, token(f"gid://shopify/Customer/{OTHER_CUSTOMER}")).status_code == 404
    assert send(env, "GET", "/ext/customer-account/orders/9999", token()).status_code == 404
    assert send(env, "GET", "/ext/customer-account/orders/not-an-id", token()).status_code == 404
    env.sender.deliver("refunds/create", S.refund(8001, 5001, quantity=1))
    body = send(env, "GET", url.replace("it", "en"), token()).get_json()
    assert body["state"] == "reversed" and body["reason"] == "refunded" and body["points"] == 40
    assert "refunded" in body["text"] and "40" in body["text"]


def test_order_status_pending_until_vesting(env):
    from .factories import use_program

    use_program(env.rt, env.shop, pending={"orders_days": 14})
    env.sender.deliver("orders/paid", S.order(5002, customer_id=CUSTOMER))
    body = send(env, "GET", "/ext/customer-account/orders/5002?locale=fr", token()).get_json()
    assert body["state"] == "pending" and body["points"] == 80 and body["available_at"]


def test_thank_you_before_the_webhook_estimates_and_after_it_tells_the_truth(env):
    url = "/ext/checkout/orders/5003?subtotal=80.00&currency=EUR&locale=de"
    body = send(env, "GET", url, token(surface="checkout")).get_json()
    assert body["state"] == "pending" and body["points"] == 80 and body["guest"] is False and "claim" not in body
    env.sender.deliver("orders/paid", S.order(5003, customer_id=CUSTOMER))
    body = send(env, "GET", url, token(surface="checkout")).get_json()
    assert body["state"] == "earned" and body["points"] == 80
    # Another customer's token for this order: 404.
    assert send(env, "GET", url, token(f"gid://shopify/Customer/{OTHER_CUSTOMER}", surface="checkout")).status_code == 404
    bad = send(env, "GET", "/ext/checkout/orders/5003?subtotal=lots", token(surface="checkout"))
    assert bad.status_code == 422


def test_thank_you_for_a_guest_says_how_to_earn(env):
    url = "/ext/checkout/orders/5004?subtotal=40.00&currency=EUR&locale=es"
    body = send(env, "GET", url, token(sub=None, surface="checkout")).get_json()
    assert body["guest"] is True and body["state"] == "none" and body["points"] == 0
    assert body["claim"]["signup_url"] == f"https://{S.DOMAIN}/account" and body["claim"]["estimate"] == 40
    assert "40" in body["claim"]["text"]


# -- POS --------------------------------------------------------------------------------------------
def pos_token():
    return token("4242", surface="pos")


def test_pos_customer_details_only_for_members_of_the_tokens_shop(env):
    r = send(env, "GET", f"/ext/pos/customers/{CUSTOMER}?locale=it", pos_token())
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["points"] == 350 and body["store_credit"]["amount"] == "0.00" and body["customer_id"] == str(CUSTOMER)
    [five] = body["rewards"]
    assert (five["id"], five["cost"], five["available"], five["reason_text"]) == ("five-off", 100, True, None)
    assert "sconto" in five["name"]  # its Italian name
    assert send(env, "GET", "/ext/pos/customers/1234567", pos_token()).status_code == 404  # not a member
    other = token("4242", surface="pos", dest=OTHER_DOMAIN)  # a member here is nobody there
    assert send(env, "GET", f"/ext/pos/customers/{CUSTOMER}", other).status_code == 404
    mixed = token("4242", surface="pos", iss=f"https://{OTHER_DOMAIN}/admin")
    assert send(env, "GET", f"/ext/pos/customers/{CUSTOMER}", mixed).status_code == 401


def test_pos_redemption_holds_the_in_store_order_commits_it_and_a_counter_refund_reverses_the_earn(env):
    before = counts(env)
    stranger = send(env, "POST", "/ext/pos/redeem", pos_token(),
                    json={"customer_id": "1234567", "reward_id": "five-off", "idempotency_key": "pos-000001"})
    assert stranger.status_code == 404 and counts(env) == before  # not a member: nobody is enrolled
    r = send(env, "POST", "/ext/pos/redeem?locale=it", pos_token(),
             json={"customer_id": f"gid://shopify/Customer/{CUSTOMER}", "reward_id": "five-off",
                   "idempotency_key": "pos-000002"})
    body = r.get_json()
    assert r.status_code == 201, body
    assert (balance(env).points, balance(env).held_points) == (250, 100)  # held at the counter
    # The in-store order: source_name "pos", a location, paid in cash, with the code and the customer.
    order = S.order(6001, customer_id=CUSTOMER, source_name="pos", location_id=7700880099, gateway="cash")
    order["discount_codes"] = [{"code": body["code"], "amount": "5.00", "type": "fixed_amount"}]
    env.sender.deliver("orders/paid", order)
    b = balance(env)
    assert b.held_points == 0 and b.points == 250 + 80  # the hold is committed; the order earned like online
    with env.rt.db.transaction() as conn:
        assert conn.execute(text("select status, order_id from redemptions where code = :c"),
                            {"c": body["code"]}).one() == ("committed", "6001")
    # A refund at the counter (one of the two mugs): half the earn is taken back, like online.
    env.sender.deliver("refunds/create", S.refund(8101, 6001, quantity=1))
    assert balance(env).points == 250 + 40
    status = send(env, "GET", "/ext/customer-account/orders/6001", token()).get_json()
    assert status["state"] == "reversed" and status["points"] == 40


def test_in_store_and_online_orders_earn_alike(env):
    env.sender.deliver("orders/paid", S.order(7001, customer_id=CUSTOMER))
    online = balance(env).points
    env.sender.deliver("orders/paid", S.order(7002, customer_id=CUSTOMER, source_name="pos", location_id=7700880099))
    assert balance(env).points - online == online - 350 == 80


def test_percentage_and_variable_rewards_outside_a_cart(env):
    from .factories import reward, use_program

    use_program(env.rt, env.shop, rewards=[reward("ten-pct", 100, type="percentage", percent="10"),
                                           reward("per-euro", 50, type="variable_amount", amount="1")])
    pct = send(env, "POST", "/ext/customer-account/redeem?locale=fr", token(),
               json={"reward_id": "ten-pct", "idempotency_key": "pct-0000001"})
    assert pct.status_code == 201, pct.get_json()
    assert pct.get_json()["points"] == 100 and "10" in pct.get_json()["value_text"]
    var = send(env, "POST", "/ext/customer-account/redeem", token(),
               json={"reward_id": "per-euro", "idempotency_key": "var-0000001", "steps": 3})
    assert var.status_code == 201, var.get_json()
    assert var.get_json()["points"] == 150 and var.get_json()["value_text"] == "€3.00"
    assert (balance(env).points, balance(env).held_points) == (100, 250)
    too_many = send(env, "POST", "/ext/customer-account/redeem", token(),
                    json={"reward_id": "per-euro", "idempotency_key": "var-0000002", "steps": 3})
    assert too_many.status_code in (409, 422) and balance(env).held_points == 250


def test_a_token_signed_with_the_rotated_out_secret_still_works(clean_db):
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "shopify_api_secret": "shpss_the_new_secret_0123456789abcdef", "shopify_api_key": API_KEY,
                      "shopify_old_api_secret": SECRET})
    rt = app.extensions["loyalty"]
    try:
        rt.shops.register("shopify", S.DOMAIN, credentials={"access_token": "shpat_standin"})
        client = app.test_client()
        assert client.get("/ext/customer-account/summary", headers=auth(token())).status_code == 200
        forged = token(secret="shpss_neither_secret_0123456789abcdef")
        assert client.get("/ext/customer-account/summary", headers=auth(forged)).status_code == 401
    finally:
        rt.close()
