"""The balance read's fast path (plugin_app/http/hot.py) on a real Redis and PostgreSQL: a cached
summary is answered without Flask, with the same status, bytes and headers Flask's view gives;
whatever it cannot answer goes to the view, counted against the rate limits once."""
import time

import pytest

from plugin_app.http import hot as hot_paths
from plugin_app.services import identity

from . import shopify_standin as S
from .conftest import ENCRYPTION_KEY

ORIGIN = "https://hot-path.example"
PROXY_SECRET = "shpss_hot_path_secret"


@pytest.fixture
def hot(clean_db, redis_url):
    from plugin_app import create_app

    app = create_app({"database_url": clean_db, "jobs_mode": "rq", "redis_url": redis_url,
                      "encryption_keys": (ENCRYPTION_KEY,), "storefront_client_rate": 1000,
                      "storefront_shop_rate": 1000})
    rt = app.extensions["loyalty"]
    shop, _ = rt.shops.register("demo", "hot-path.example")
    member, _ = rt.members.enrol(shop.id, "c-1")
    rt.ledger.earn(shop.id, member.id, "points", 250, key="seed", source="order", reason="an order")
    shop = rt.shops.get(shop.id)
    token = identity.sign(shop.id, "c-1", rt.shops.widget_secret(shop.id), ttl=3600)
    theirs, _ = rt.shops.register("shopify", S.DOMAIN, credentials={"access_token": "t", "api_secret": PROXY_SECRET})
    shopper, _ = rt.members.enrol(theirs.id, "73")
    rt.ledger.earn(theirs.id, shopper.id, "points", 120, key="seed", source="order", reason="an order")
    flask_calls = []
    layer = _layer(app, hot_paths.BalanceReads)
    inner = layer.app  # Flask's own wsgi_app, behind the fast paths

    def counted(environ, start_response):
        flask_calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    layer.app = counted
    yield app, rt, shop, token, flask_calls, inner
    rt.close()


def _layer(app, kind):
    layer = app.wsgi_app
    while not isinstance(layer, kind):
        layer = layer.app
    return layer


def _flask_only(app, inner, path, headers):
    """The same request through Flask's view alone (the fast path bypassed)."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Response

    environ = EnvironBuilder(path=path, headers=headers).get_environ()
    return Response.from_app(inner, environ)


def _same(fast, slow):
    assert fast.status_code == slow.status_code == 200
    assert fast.get_data() == slow.get_data()
    strip = {"X-Request-Id"}
    assert ({k: v for k, v in fast.headers.items() if k not in strip}
            == {k: v for k, v in slow.headers.items() if k not in strip})


@pytest.mark.parametrize("case", ["member", "member, shop's origin", "member, other origin", "member, Italian",
                                  "guest", "guest, shop's origin", "proxy member", "proxy member, Italian",
                                  "proxy guest"])
def test_a_cached_summary_is_answered_without_flask_exactly_as_the_view_answers(hot, case):
    app, rt, shop, token, flask_calls, inner = hot
    client = app.test_client()
    path = f"/storefront/v1/me?shop={shop.widget_key}" + ("&locale=it-IT" if "Italian" in case else "")
    headers = {} if case.startswith("guest") else {"Authorization": f"Bearer {token}"}
    if case.startswith("proxy"):  # Shopify's app proxy signs the query; no token, no CORS
        extra = {"locale": "it"} if "Italian" in case else {}
        path = "/proxy/me?" + S.proxy_query(PROXY_SECRET, customer="" if "guest" in case else "73", **extra)
        headers = {"Origin": f"https://{S.DOMAIN}"}
    if "shop's origin" in case:
        headers["Origin"] = ORIGIN
    elif "other origin" in case:
        headers["Origin"] = "https://elsewhere.example"
    first = client.get(path, headers=headers)  # nothing cached yet: the view answers and caches
    door = path.split("?")[0]
    assert first.status_code == 200 and flask_calls == [door]
    fast = client.get(path, headers=headers)
    assert flask_calls == [door], "a cached summary must not reach Flask"
    _same(fast, first)
    _same(fast, _flask_only(app, inner, path, headers))
    assert len(fast.headers["X-Request-Id"]) == 32
    proxied = case.startswith("proxy")
    assert fast.headers["Vary"] == ("Authorization, Origin" if "Origin" in headers and not proxied else "Authorization")
    if "shop's origin" in case:
        assert fast.headers["Access-Control-Allow-Origin"] == ORIGIN
    else:
        assert "Access-Control-Allow-Origin" not in fast.headers
    if case == "member, Italian":
        assert fast.get_json()["program"] != client.get(f"/storefront/v1/me?shop={shop.widget_key}",
                                                        headers=headers).get_json()["program"]
    if case in ("member", "proxy member"):
        assert fast.get_json()["member"]["points"] == (250 if case == "member" else 120)
        given = client.get(path, headers={**headers, "X-Request-Id": "trace-42"})
        assert given.headers["X-Request-Id"] == "trace-42" and flask_calls == [door]


def test_what_the_fast_path_cannot_answer_goes_to_the_view(hot):
    app, rt, shop, token, flask_calls, inner = hot
    client = app.test_client()
    me = f"/storefront/v1/me?shop={shop.widget_key}"
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get(me, headers=auth).status_code == 200  # cached now
    flask_calls.clear()
    other = identity.sign(shop.id, "c-1", "not-the-shops-secret", ttl=3600)
    cases = [
        (f"/storefront/v1/me?shop=nope", auth, 401),  # unknown widget key
        (me, {"Authorization": f"Bearer {other}"}, 401),  # forged token
        (me, {"Authorization": "Basic abc"}, 401),
        (me, {"Authorization": f"Bearer {identity.sign(shop.id, 'c-1', rt.shops.widget_secret(shop.id), ttl=-5)}"},
         401),  # expired
        (me + "&locale=%69t", auth, 200),  # percent-encoded: Flask decodes it
        ("/proxy/me?" + S.proxy_query("shpss_forged", customer="73"), {}, 401),  # not Shopify's signature
        ("/proxy/me?" + S.proxy_query(PROXY_SECRET, customer="73", timestamp=1_000_000), {}, 401),  # replayed
        ("/proxy/me?shop=nope", {}, 401),
    ]
    for path, headers, status in cases:
        r = client.get(path, headers=headers)
        assert r.status_code == status, (path, r.get_json())
        if status == 401:
            assert r.get_json()["error"]["code"] == "unauthorized"
    assert len(flask_calls) == len(cases)
    assert client.post(me, headers=auth, json={}).status_code == 405  # only GET is the fast path's
    rt.widget.forget(shop.id, "c-1")  # the balance changed: the next read is the view's again
    calls = len(flask_calls)
    assert client.get(me, headers=auth).status_code == 200 and len(flask_calls) == calls + 1
    assert client.get(me, headers=auth).status_code == 200 and len(flask_calls) == calls + 1


def test_a_request_the_view_finishes_is_counted_once(clean_db, redis_url):
    """A shopper allowed 3 reads a second gets 3, whichever of the two answers them: the first
    (nothing cached) through the view after the fast path counted it, then two cached ones; the
    fourth is refused, by the view, with Retry-After. Counted twice, the third would be refused."""
    from plugin_app import create_app

    app = create_app({"database_url": clean_db, "jobs_mode": "rq", "redis_url": redis_url,
                      "encryption_keys": (ENCRYPTION_KEY,), "storefront_client_rate": 3})
    rt = app.extensions["loyalty"]
    try:
        shop, _ = rt.shops.register("demo", "hot-count.example")
        rt.members.enrol(shop.id, "c-9")
        shop = rt.shops.get(shop.id)
        auth = {"Authorization": f"Bearer {identity.sign(shop.id, 'c-9', rt.shops.widget_secret(shop.id))}"}
        client = app.test_client()
        me = f"/storefront/v1/me?shop={shop.widget_key}"
        client.get(me, headers=auth)  # the first read fills the cache (and the shop caches)
        for attempt in range(5):
            time.sleep(1.02 - time.time() % 1)  # the limit's window is the second: start one
            rt.widget.forget(shop.id, "c-9")
            started = int(time.time())
            codes = [client.get(me, headers=auth).status_code for _ in range(4)]
            if int(time.time()) == started:  # all four in the same window
                break
        assert codes == [200, 200, 200, 429]
        refused = client.get(me, headers=auth)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert refused.get_json()["error"]["code"] == "rate_limited"
    finally:
        rt.close()


def _answer(r):
    """A response as comparable: status, JSON without the request id, headers without it."""
    body = r.get_json()
    rid = r.headers["X-Request-Id"]
    if "error" in body:
        assert body["error"].pop("request_id") == rid  # the id in the body is the header's
    return r.status_code, body, {k: v for k, v in r.headers.items() if k != "X-Request-Id"}


def test_a_shopify_delivery_is_answered_without_flask_exactly_as_the_view_answers(hot):
    """Each outcome of the intake (stored, duplicate, forged, unsigned, unknown shop, a domain
    that is no shop's, no topic, nested too deep), once through the fast path and once through
    Flask's view alone, each with deliveries of its own: the same status, body and headers, and
    the fast path never reached Flask."""
    from sqlalchemy import text
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Response

    app, rt, shop, token, flask_calls, inner = hot
    client = app.test_client()
    raw = S.body(S.order())
    deep = b"[" * 2000 + b"]" * 2000

    def signed(body=raw, drop=(), domain=S.DOMAIN, secret=PROXY_SECRET, **change):
        h = {**S.headers("orders/paid", body, secret, domain=domain), **change}
        return body, {k: v for k, v in h.items() if k not in drop}

    cases = [("stored", lambda: signed(), 200),
             ("forged", lambda: signed(secret="shpss_forged"), 401),
             ("unsigned", lambda: signed(drop=("X-Shopify-Hmac-Sha256",)), 401),
             ("no shop's domain", lambda: signed(domain="evil.example.com"), 401),
             ("unknown shop", lambda: signed(domain="nobody-here.myshopify.com"), 404),
             ("no topic", lambda: signed(drop=("X-Shopify-Topic",)), 400),
             ("too deep", lambda: signed(body=deep), 400)]
    for name, make, status in cases:
        body, headers = make()
        fast = client.post("/webhooks/shopify", data=body, headers=headers)
        assert flask_calls == [], name
        body, headers = make()
        slow = Response.from_app(inner, EnvironBuilder(method="POST", path="/webhooks/shopify", data=body,
                                                       headers=headers).get_environ())
        assert fast.status_code == status, (name, fast.get_json())
        assert _answer(fast) == _answer(slow), name
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from inbox")).scalar_one() == 2  # the two stored ones
    body, headers = signed()
    assert client.post("/webhooks/shopify", data=body, headers=headers).get_json() == {"ok": True, "duplicate": False}
    again = client.post("/webhooks/shopify", data=body, headers=headers)  # Shopify's retry
    assert again.get_json() == {"ok": True, "duplicate": True} and flask_calls == []
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from inbox")).scalar_one() == 3


def test_what_the_intake_fast_path_does_not_take_goes_to_flask(hot):
    app, rt, shop, token, flask_calls, inner = hot
    client = app.test_client()
    raw = S.body(S.order())
    headers = S.headers("orders/paid", raw, PROXY_SECRET, domain=S.DOMAIN)
    big = b" " * (rt.settings.max_body_bytes + 1)
    too_big = client.post("/webhooks/shopify", data=big, headers=S.headers("orders/paid", big, PROXY_SECRET))
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == "payload_too_large"
    with_query = client.post("/webhooks/shopify?x=1", data=raw, headers=headers)
    assert with_query.status_code == 200
    assert flask_calls == ["/webhooks/shopify", "/webhooks/shopify"]
