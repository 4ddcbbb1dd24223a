"""Who is calling. Admin API: `Authorization: Bearer <admin_api_key>` names the shop; every
view then works inside that shop only (the shop never comes from the URL or the body)."""
from __future__ import annotations

import functools
from typing import Callable

from flask import current_app, g, request, session

from .errors import error_response


def admin_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def inner(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header and request.method == "GET" and session.get("admin_shop"):
            # The admin pages' own links (CSV, exports): reads only, so no CSRF exposure.
            shop = current_app.extensions["loyalty"].shops.get(session["admin_shop"])
            if shop is not None and shop.status == "installed":
                g.shop, g.actor = shop, f"admin-page:{shop.id}"
                return view(*args, **kwargs)
        if scheme.lower() != "bearer" or not token.strip():
            return error_response(401, "unauthorized", "send Authorization: Bearer <admin API key>")
        token = token.strip()
        if token.count(".") == 2:  # a JWT: a Shopify session token from the embedded admin
            return _with_session_token(token, view, args, kwargs)
        shop = current_app.extensions["loyalty"].shops.by_api_key(token)
        if shop is None:
            return error_response(401, "unauthorized", "unknown or revoked API key")
        g.shop = shop
        g.actor = "api-key"
        return view(*args, **kwargs)

    return inner


def _with_session_token(token: str, view, args, kwargs):
    """The shop comes from the verified token's `dest`, never from the request. A shop seen
    for the first time (or re-installed) is installed by token exchange."""
    from connectors.shopify import auth as shopify_auth

    rt = current_app.extensions["loyalty"]
    s = rt.settings
    if not (s.shopify_api_key and s.shopify_api_secret):
        return error_response(401, "unauthorized", "session tokens are not accepted: no Shopify app configured")
    try:
        sess = shopify_auth.verify_session_token(token, request.url, s.shopify_api_key, s.shopify_api_secret,
                                                 s.shopify_old_api_secret)
    except shopify_auth.AuthError as exc:
        response = error_response(401, "unauthorized", f"session token: {exc}")
        response[0].headers["X-Shopify-Retry-Invalid-Session-Request"] = "1"
        return response
    try:
        shop = shop_for_session(sess)
    except shopify_auth.AuthError as exc:
        return error_response(401, "unauthorized", str(exc))
    g.shop = shop
    g.actor = f"shopify-user:{sess.user_id}" if sess.user_id else "shopify-session"
    return view(*args, **kwargs)


def shop_for_session(sess):
    """The shop a verified session token names; a shop seen for the first time (or after an
    uninstall) is installed by token exchange. Raises AuthError when the exchange is refused."""
    from connectors.shopify import auth as shopify_auth

    rt = current_app.extensions["loyalty"]
    s = rt.settings
    shop = rt.shops.by_domain("shopify", sess.domain)
    if shop is None or shop.status != "installed":
        tokens = shopify_auth.token_exchange(sess, s.shopify_api_key, s.shopify_api_secret, rt.shopify_http)
        shop = rt.install_shopify(sess.domain, tokens.as_credentials())
    return shop


def admin_api(**declared) -> Callable:
    """An admin API endpoint: `openapi.api(**declared)` behind `admin_required`, documented as
    needing the admin key (the one way every `/admin/api/v1` route is registered)."""
    from .openapi import api

    def register(view: Callable) -> Callable:
        return admin_required(api(auth="adminKey", **declared)(view))

    return register
