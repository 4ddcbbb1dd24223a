"""Installs: OAuth query HMAC vectors, the authorization-code grant with its state nonce, and
App Bridge session tokens on the admin API (installing by token exchange on first use)."""
import time
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest

from connectors.shopify.auth import AuthError, query_hmac, verify_query
from plugin_app import create_app

from . import shopify_standin as S
from .conftest import ENCRYPTION_KEY

API_KEY, SECRET = "app-key", "shpss_app_secret_long_enough_for_hs256_keys"

VECTORS = [  # reference/platforms.md §3, secret "hush"
    ([("shop", "some-shop.myshopify.com"), ("code", "a94a110d86d2452eb3e2af4cfb8a3828"), ("timestamp", "1337178173")],
     "2cb1a277650a659f1b11e92a4a64275b128e037f2c3390e3c8fd2d8721dac9e2"),
    ([("code", "0907a61c0c8d55e99db179b68161bc00"), ("shop", "some-shop.myshopify.com"),
      ("state", "0.6784241404160823"), ("timestamp", "1337178173")],
     "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"),
    ([("code", "0907a61c0c8d55e99db179b68161bc00"), ("shop", "some-shop.myshopify.com"), ("timestamp", "1337178173")],
     "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"),
    ([("shop", "some-shop.myshopify.com"), ("ids[]", "2"), ("ids[]", "1")],
     "b93b9f82996f6f8bf9f1b7bbddec284c8fabacdc4e12dc80550b4705f3003b1e"),
]


@pytest.mark.parametrize("params,digest", VECTORS)
def test_oauth_query_hmac_vectors(params, digest):
    assert query_hmac(params, "hush") == digest
    assert query_hmac(params + [("hmac", digest)], "hush") == digest  # hmac itself is left out


def signed_query(secret=SECRET, **params):
    params.setdefault("timestamp", str(int(time.time())))
    pairs = list(params.items())
    return urlencode(pairs + [("hmac", query_hmac(pairs, secret))])


def test_query_checks_refuse_bad_hmac_domain_and_age():
    verify_query(signed_query(shop="maple-demo.myshopify.com"), SECRET)
    for q in (signed_query(secret="other", shop="maple-demo.myshopify.com"),
              signed_query(shop="evil.com"), signed_query(shop="a.myshopify.com.evil.com"),
              signed_query(shop="maple-demo.myshopify.com", timestamp=str(int(time.time()) - 90000))):
        with pytest.raises(AuthError):
            verify_query(q, SECRET)


@pytest.fixture
def app(clean_db):
    state = S.AdminState(client_secret=SECRET)
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "shopify_api_key": API_KEY, "shopify_api_secret": SECRET,
                      "app_url": "https://loyalty.example", "secret_key": "s" * 40})
    app.extensions["loyalty"].shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    app.standin = state
    yield app
    app.extensions["loyalty"].close()


def test_authorization_code_grant_with_state_nonce(app):
    client = app.test_client()
    r = client.get("/auth/shopify?" + signed_query(shop=S.DOMAIN, host="YWRtaW4"))
    assert r.status_code == 302
    grant = urlsplit(r.headers["Location"])
    q = parse_qs(grant.query)
    assert grant.netloc == S.DOMAIN and grant.path == "/admin/oauth/authorize"
    assert q["client_id"] == [API_KEY] and "grant_options[]" not in q  # offline token
    assert q["redirect_uri"] == ["https://loyalty.example/auth/shopify/callback"]
    app.standin.codes["code-1"] = "shpat_from_code"
    forged = client.get("/auth/shopify/callback?" + signed_query(shop=S.DOMAIN, code="code-1", state="not-ours"))
    assert forged.status_code == 403
    r = client.get("/auth/shopify?" + signed_query(shop=S.DOMAIN))
    state = parse_qs(urlsplit(r.headers["Location"]).query)["state"][0]
    done = client.get("/auth/shopify/callback?" + signed_query(shop=S.DOMAIN, code="code-1", state=state))
    assert done.status_code == 302 and done.headers["Location"] == f"https://{S.DOMAIN}/admin/apps/{API_KEY}"
    rt = app.extensions["loyalty"]
    shop = rt.shops.by_domain("shopify", S.DOMAIN)
    assert shop.timezone == "Europe/Berlin" and rt.shops.credentials(shop.id)["access_token"] == "shpat_from_code"
    # the public app's topics are app-scoped (shopify.app.toml): no shop-scoped duplicates, so
    # Shopify delivers each event once
    assert app.standin.subscriptions == {}
    assert len(S.Sender(client, SECRET).deliver_event("customers/create", S.customer(), state=app.standin)) == 1
    bad = client.get("/auth/shopify/callback?" + signed_query(shop=S.DOMAIN, code="code-1", state=state))
    assert bad.status_code == 403  # the nonce is single-use


def session_token(domain=S.DOMAIN, *, secret=SECRET, aud=API_KEY, exp=60, iss_domain=None, alg="HS256"):
    now = int(time.time())
    claims = {"iss": f"https://{iss_domain or domain}/admin", "dest": f"https://{domain}", "aud": aud,
              "sub": "42", "exp": now + exp, "nbf": now - 5, "iat": now - 5, "jti": str(uuid.uuid4()), "sid": "s1"}
    if alg == "none":
        return jwt.encode(claims, None, algorithm="none")
    return jwt.encode(claims, secret, algorithm=alg)


def test_session_tokens_install_by_token_exchange_and_scope_to_their_shop(app):
    client = app.test_client()
    rt = app.extensions["loyalty"]
    url = "/admin/api/v1/program"
    r = client.get(url, headers={"Authorization": f"Bearer {session_token()}"})
    assert r.status_code == 200 and r.get_json()["timezone"] == "Europe/Berlin"
    shop = rt.shops.by_domain("shopify", S.DOMAIN)
    creds = rt.shops.credentials(shop.id)
    assert creds["access_token"].startswith("shpat_") and creds["refresh_token"].startswith("shprt_")
    assert creds["expires_at"] > time.time()
    for bad in (session_token(exp=-60), session_token(aud="someone-else"), session_token(secret="a-wrong-secret-that-is-long-enough-0000"),
                session_token(iss_domain="other-shop.myshopify.com"), session_token(alg="none")):
        r = client.get(url, headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401 and r.is_json, bad
    # A token for another shop sees only that shop (installed on the fly), never this one's members.
    rt.members.enrol(shop.id, "c-1")
    other = session_token("another-shop.myshopify.com")
    assert client.get("/admin/api/v1/members/by-customer/c-1", headers={"Authorization": f"Bearer {other}"}).status_code == 404
    assert client.get("/admin/api/v1/members/by-customer/c-1",
                      headers={"Authorization": f"Bearer {session_token()}"}).status_code == 200


def test_refresh_of_expiring_offline_tokens(app):
    from connectors.shopify.auth import Session, refresh, token_exchange, verify_session_token

    rt = app.extensions["loyalty"]
    sess = verify_session_token(session_token(), "https://loyalty.example/", API_KEY, SECRET)
    first = token_exchange(sess, API_KEY, SECRET, rt.shopify_http)
    with pytest.raises(AuthError, match="token_still_valid"):  # the SDK refreshes only when due
        refresh(S.DOMAIN, first.as_credentials(), API_KEY, SECRET, rt.shopify_http)
    aged = {**first.as_credentials(), "expires_at": time.time() - 10}
    second = refresh(S.DOMAIN, aged, API_KEY, SECRET, rt.shopify_http)
    assert second.access_token != first.access_token and second.refresh_token != first.refresh_token
    with pytest.raises(AuthError):  # the old refresh token is spent
        refresh(S.DOMAIN, aged, API_KEY, SECRET, rt.shopify_http)
    assert isinstance(sess, Session)


def test_uninstall_then_reinstall_resumes_the_same_shop(app):
    client = app.test_client()
    rt = app.extensions["loyalty"]
    assert client.get("/admin/api/v1/program", headers={"Authorization": f"Bearer {session_token()}"}).status_code == 200
    shop = rt.shops.by_domain("shopify", S.DOMAIN)
    member, _ = rt.members.enrol(shop.id, "c-1")
    rt.ledger.earn(shop.id, member.id, "points", 70, key="k", source="order", reason="x")
    rt.shops.uninstall(shop.id)
    with pytest.raises(PermissionError):
        rt.shopify_admin_for(shop.id)  # no calls out while uninstalled
    r = client.get("/admin/api/v1/members/by-customer/c-1", headers={"Authorization": f"Bearer {session_token()}"})
    assert r.status_code == 200 and r.get_json()["points_balance"] == 70  # re-installed, same books
    assert rt.shops.by_domain("shopify", S.DOMAIN).id == shop.id and rt.shops.get(shop.id).status == "installed"
