"""Installing and authenticating: the authorization-code grant (non-embedded installs), session
tokens from App Bridge, token exchange and refresh of expiring offline tokens. Token exchange,
refresh and session-token verification go through Shopify's SDK; the SDK has no
authorization-code grant, so its query HMAC and code exchange are done here, per the docs."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import jwt
from shopify_app import ShopifyApp

from .webhooks import valid_shop_domain

# read_store_credit_accounts: reconciliation reads customers' store credit accounts (HasStoreCreditAccounts
# requires it: https://shopify.dev/docs/api/admin-graphql/2024-10/interfaces/HasStoreCreditAccounts).
# write_customers: the customer-fields sync writes customer metafields (metafieldsSet) and our own
# customer tags (tagsAdd / tagsRemove, https://shopify.dev/docs/api/admin-graphql/latest/mutations/tagsAdd).
OFFLINE_SCOPES = ("read_orders,read_customers,write_customers,read_products,write_discounts,"
                  "write_store_credit_account_transactions,read_store_credit_accounts")


class AuthError(Exception):
    pass


@dataclass(frozen=True)
class Tokens:
    access_token: str
    scope: str
    expires_at: float | None = None  # epoch seconds; None: a non-expiring token
    refresh_token: str | None = None
    refresh_expires_at: float | None = None

    def as_credentials(self) -> dict:
        return {"access_token": self.access_token, "scope": self.scope, "expires_at": self.expires_at,
                "refresh_token": self.refresh_token, "refresh_expires_at": self.refresh_expires_at}


def _iso_to_epoch(value: str | None) -> float | None:
    if not value:
        return None
    from datetime import datetime
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# -- the authorization-code grant ---------------------------------------------------------
def query_hmac(params: list[tuple[str, str]], secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of the sorted `key=value` pairs joined with `&`, without
    `hmac` and `signature`; `k[]` arrays become `k=["a", "b"]` (as Shopify's libraries do)."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key in ("hmac", "signature"):
            continue
        grouped.setdefault(key, []).append(value)

    def esc(s: str, key: bool = False) -> str:
        s = s.replace("%", "%25").replace("&", "%26")
        return s.replace("=", "%3D") if key else s

    pairs = []
    for key, values in grouped.items():
        if key.endswith("[]"):
            pairs.append((esc(key[:-2], True), "[" + ", ".join(f'"{esc(v)}"' for v in values) + "]"))
        else:
            pairs.append((esc(key, True), esc(values[-1])))
    message = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_query(query_string: str, secret: str, *, max_age: int = 24 * 3600, now: float | None = None) -> dict:
    """Check a install/callback query: hmac (constant time), an anchored *.myshopify.com shop,
    and a timestamp no older than `max_age`. Returns the parameters; raises AuthError."""
    params = parse_qsl(query_string, keep_blank_values=True)
    given = dict(params).get("hmac", "")
    if not given or not hmac.compare_digest(given, query_hmac(params, secret)):
        raise AuthError("hmac does not match")
    flat = dict(params)
    if not valid_shop_domain(flat.get("shop", "")):
        raise AuthError("shop is not a *.myshopify.com domain")
    try:
        age = (now or time.time()) - int(flat.get("timestamp", ""))
    except ValueError:
        raise AuthError("timestamp missing") from None
    if age > max_age or age < -90:
        raise AuthError("timestamp too old")
    return flat


def new_state() -> str:
    return secrets.token_hex(16)  # alphanumeric, so every library signs it the same way


def authorize_url(shop: str, api_key: str, redirect_uri: str, state: str, scopes: str = OFFLINE_SCOPES) -> str:
    """The grant screen, for an offline token (no grant_options[]=per-user)."""
    return f"https://{shop}/admin/oauth/authorize?" + urlencode(
        {"client_id": api_key, "scope": scopes, "redirect_uri": redirect_uri, "state": state})


def exchange_code(shop: str, code: str, api_key: str, secret: str, http: httpx.Client | None = None) -> Tokens:
    client = http or httpx.Client(timeout=10.0)
    response = client.post(f"https://{shop}/admin/oauth/access_token",
                           data={"client_id": api_key, "client_secret": secret, "code": code, "expiring": "1"})
    if response.status_code != 200:
        raise AuthError(f"code exchange refused ({response.status_code})")
    body = response.json()
    now = time.time()
    return Tokens(body["access_token"], body.get("scope", ""),
                  now + body["expires_in"] if body.get("expires_in") else None, body.get("refresh_token"),
                  now + body["refresh_token_expires_in"] if body.get("refresh_token_expires_in") else None)


# -- session tokens, token exchange and refresh (the SDK) ---------------------------------------
@dataclass(frozen=True)
class Session:
    domain: str
    user_id: str | None
    token: object  # the SDK's IdTokenDetails, for token exchange


def verify_session_token(bearer: str, url: str, api_key: str, secret: str, old_secret: str | None = None) -> Session:
    """Verify an App Bridge session token (HS256 with the app secret, expiry with 10 s leeway,
    aud = our API key) through the SDK, then check that iss and dest name the same shop."""
    app = ShopifyApp(api_key, secret, old_secret)
    result = app.verify_app_home_req({"method": "GET", "url": url, "body": "",
                                      "headers": {"authorization": f"Bearer {bearer}"}},
                                     app_home_patch_id_token_path="/auth/shopify/patch-id-token")
    if not result.ok or result.id_token is None:
        raise AuthError(result.log.code if result.log else "invalid session token")
    claims = jwt.decode(bearer, options={"verify_signature": False})  # verified just above
    iss, dest = urlsplit(claims.get("iss", "")).hostname, urlsplit(claims.get("dest", "")).hostname
    if not iss or iss != dest or not valid_shop_domain(dest):
        raise AuthError("iss and dest name different shops")
    return Session(dest, str(claims.get("sub") or "") or None, result.id_token)


@dataclass(frozen=True)
class AppHome:
    """A page load inside the Shopify admin: the verified session, or the SDK's answer to send
    instead (a bounce through the patch page to fetch a fresh id_token, or a 401)."""
    session: Session | None
    status: int
    body: str
    headers: dict


def verify_app_home(url: str, api_key: str, secret: str, old_secret: str | None, patch_path: str) -> AppHome:
    """A document request carrying `id_token` in its query (the embedded admin's page loads)."""
    result = ShopifyApp(api_key, secret, old_secret).verify_app_home_req(
        {"method": "GET", "url": url, "body": "", "headers": {}}, app_home_patch_id_token_path=patch_path)
    res = result.response
    if not result.ok or result.id_token is None:
        return AppHome(None, res.status if res else 401, res.body if res else "", dict(res.headers) if res else {})
    claims = result.id_token.claims
    iss, dest = urlsplit(claims.get("iss", "")).hostname, urlsplit(claims.get("dest", "")).hostname
    if not iss or iss != dest or not valid_shop_domain(dest):
        return AppHome(None, 401, "iss and dest name different shops", {})
    return AppHome(Session(dest, str(claims.get("sub") or "") or None, result.id_token), 200, "", dict(res.headers))


def patch_id_token_page(url: str, api_key: str, secret: str) -> tuple[int, str, dict]:
    """The SDK's tiny page that loads App Bridge, which reloads `shopify-reload` with an id_token."""
    result = ShopifyApp(api_key, secret).app_home_patch_id_token({"method": "GET", "url": url, "body": "", "headers": {}})
    return result.response.status, result.response.body, dict(result.response.headers)


def token_exchange(session: Session, api_key: str, secret: str, http: httpx.Client | None = None) -> Tokens:
    """An expiring offline token for the shop in the session token (embedded install)."""
    result = ShopifyApp(api_key, secret).exchange_using_token_exchange(
        "offline", id_token=session.token, expiring=True, http_client=http)
    if not result.ok or result.access_token is None:
        raise AuthError(f"token exchange refused: {result.log.code if result.log else ''}")
    t = result.access_token
    return Tokens(t.token, t.scope, _iso_to_epoch(t.expires), t.refresh_token, _iso_to_epoch(t.refresh_token_expires))


def refresh(domain: str, tokens: dict, api_key: str, secret: str, http: httpx.Client | None = None) -> Tokens:
    """A new access and refresh token pair (store both at once: the old refresh token is single-use)."""
    from datetime import datetime, timezone

    def iso(epoch):
        return datetime.fromtimestamp(epoch, timezone.utc).isoformat() if epoch else None

    result = ShopifyApp(api_key, secret).refresh_token_exchanged_access_token(
        {"shop": domain.removesuffix(".myshopify.com"), "refresh_token": tokens["refresh_token"],
         "expires": iso(tokens.get("expires_at")), "refresh_token_expires": iso(tokens.get("refresh_expires_at"))},
        http_client=http)
    if not result.ok or result.access_token is None:
        raise AuthError(f"refresh refused: {result.log.code if result.log else ''}")
    t = result.access_token
    return Tokens(t.token, t.scope, _iso_to_epoch(t.expires), t.refresh_token, _iso_to_epoch(t.refresh_token_expires))


# -- extension session tokens (customer accounts, checkout, POS) ----------------------------------
EXTENSION_SURFACES = ("customer_account", "checkout", "pos")


@dataclass(frozen=True)
class ExtensionSession:
    """Who an extension's request is for, from Shopify's token only: the shop (`dest`) and,
    for customer accounts and checkout, the signed-in customer (`sub`, a Customer gid; None for
    a guest); for POS, the staff member (`sub`) — the customer then comes from the POS context."""
    surface: str
    domain: str
    customer_id: str | None
    staff_id: str | None
    claims: dict


@dataclass(frozen=True)
class ExtensionAnswer:
    """The SDK's verdict: a session, or the response to send instead (a CORS preflight's 204,
    or 401)."""
    session: ExtensionSession | None
    status: int
    headers: dict
    reason: str = ""


def _host(value: object) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    return urlsplit(text if "://" in text else f"https://{text}").hostname


def customer_of(sub: object) -> str | None:
    """'gid://shopify/Customer/123' → '123' (the id webhooks and the app proxy use)."""
    text = str(sub or "")
    prefix = "gid://shopify/Customer/"
    if text.startswith(prefix) and text[len(prefix):].isdigit():
        return text[len(prefix):]
    return None


def verify_extension_request(surface: str, method: str, url: str, headers: dict, api_key: str, secret: str,
                             old_secret: str | None = None) -> ExtensionAnswer:
    """Check an extension's request with the SDK's helper for its surface
    (`verify_customer_account_ui_ext_req`, `verify_checkout_ui_ext_req`, `verify_pos_ui_ext_req`:
    HS256 with the app's client secret, or the rotated-out one; `exp`/`nbf` with 10 s leeway;
    `aud` = our client id; an OPTIONS preflight from another origin answered 204 with the CORS
    headers the SDK gives). Then, beyond the SDK: the token must carry an expiry, `dest` must
    be a *.myshopify.com shop, and a POS token's `iss`, when given, must name the same shop."""
    app = ShopifyApp(api_key, secret, old_secret)
    verify = {"customer_account": app.verify_customer_account_ui_ext_req, "checkout": app.verify_checkout_ui_ext_req,
              "pos": app.verify_pos_ui_ext_req}[surface]
    result = verify({"method": method, "url": url, "body": "",
                     "headers": {k.lower(): v for k, v in headers.items()}})
    res = result.response
    if method == "OPTIONS" and result.ok:
        return ExtensionAnswer(None, res.status, dict(res.headers), "options_request")
    if not result.ok or result.id_token is None:
        return ExtensionAnswer(None, 401, {}, result.log.code if result.log else "invalid_id_token")
    claims = dict(result.id_token.claims)
    if not isinstance(claims.get("exp"), (int, float)):
        return ExtensionAnswer(None, 401, {}, "token without expiry")
    dest = _host(claims.get("dest"))
    if not dest or not valid_shop_domain(dest):
        return ExtensionAnswer(None, 401, {}, "dest is not a *.myshopify.com shop")
    if surface == "pos" and claims.get("iss") and _host(claims.get("iss")) != dest:
        return ExtensionAnswer(None, 401, {}, "iss and dest name different shops")
    sub = claims.get("sub")
    if surface == "pos":
        return ExtensionAnswer(ExtensionSession(surface, dest, None, str(sub) if sub else None, claims), 200, {})
    customer = customer_of(sub)
    if sub and customer is None:
        return ExtensionAnswer(None, 401, {}, "sub is not a customer")
    return ExtensionAnswer(ExtensionSession(surface, dest, customer, None, claims), 200, {})
