"""Shopify installs: the authorization-code grant for non-embedded installs
(`/auth/shopify` → grant screen → `/auth/shopify/callback`), and embedded installs by token
exchange when a session token arrives for a shop we do not have yet (see auth.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, session

from connectors.shopify import auth as shopify_auth
from .errors import error_response
from .openapi import api

bp = Blueprint("shopify_auth", __name__, url_prefix="/auth/shopify")


def _rt():
    return current_app.extensions["loyalty"]


def _verified():
    """(api key, secret, verified query) or an error response: the app must be configured and
    the query signed by Shopify, for a *.myshopify.com shop, recently."""
    s = _rt().settings
    if not (s.shopify_api_key and s.shopify_api_secret):
        return None, error_response(503, "not_configured", "SHOPIFY_API_KEY and SHOPIFY_API_SECRET are not set")
    try:
        params = shopify_auth.verify_query(request.query_string.decode(), s.shopify_api_secret)
    except shopify_auth.AuthError as exc:
        return None, error_response(401, "unauthorized", str(exc))
    return (s.shopify_api_key, s.shopify_api_secret, params), None


@bp.get("")
@api(summary="Start a non-embedded install: verify Shopify's query, redirect to the grant screen",
     tags=["install"], status=302, errors=(401, 503))
def begin():
    verified, problem = _verified()
    if problem:
        return problem
    *creds, params = verified
    state = shopify_auth.new_state()
    session["shopify_state"] = state  # a signed cookie holds the nonce
    session["shopify_shop"] = params["shop"]
    return redirect(shopify_auth.authorize_url(params["shop"], creds[0],
                                               f"{_rt().settings.app_url}/auth/shopify/callback", state))


@bp.get("/callback")
@api(summary="Finish the install: check hmac and state nonce, exchange the code, subscribe webhooks",
     tags=["install"], status=302, errors=(401, 403, 503))
def callback():
    verified, problem = _verified()
    if problem:
        return problem
    *creds, params = verified
    expected = session.pop("shopify_state", None)
    if not expected or params.get("state") != expected or session.pop("shopify_shop", None) != params["shop"]:
        return error_response(403, "state_mismatch", "the install did not start here (state nonce)")
    rt = _rt()
    try:
        tokens = shopify_auth.exchange_code(params["shop"], params.get("code", ""), creds[0], creds[1], rt.shopify_http)
    except shopify_auth.AuthError as exc:
        return error_response(401, "unauthorized", str(exc))
    rt.install_shopify(params["shop"], tokens.as_credentials())
    return redirect(f"https://{params['shop']}/admin/apps/{creds[0]}")
