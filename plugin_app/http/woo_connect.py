"""Connecting a WooCommerce store from the browser: we send the merchant to the store's own
key screen (`/wc-auth/v1/authorize`); WooCommerce POSTs the new REST keys to our callback, which
checks them against the store and registers our webhooks. The `user_id` we pass is a signed,
expiring reference to the store URL, so only a flow we started can connect a store."""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, redirect, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field

from .errors import error_response
from .openapi import api

bp = Blueprint("woo_connect", __name__, url_prefix="/connect/woocommerce")


class KeysIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key_id: int | None = None
    user_id: str = Field(min_length=1, max_length=500)
    consumer_key: str = Field(min_length=1, max_length=200)
    consumer_secret: str = Field(min_length=1, max_length=200)
    key_permissions: str = ""


class ConnectedOut(BaseModel):
    shop_id: int
    url: str


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="woocommerce-connect")


@bp.get("")
@api(summary="Start connecting a WooCommerce store: redirect to its REST key screen", tags=["install"],
     status=302, errors=(422,))
def begin():
    store = request.args.get("store_url", "").rstrip("/")
    parts = urlsplit(store)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return error_response(422, "invalid_store_url", "store_url must be the store's http(s) address")
    app_url = current_app.extensions["loyalty"].settings.app_url
    return redirect(f"{store}/wc-auth/v1/authorize?" + urlencode({
        "app_name": "Loyalty", "scope": "read_write", "user_id": _signer().dumps(store),
        "return_url": f"{app_url}/connect/woocommerce/done", "callback_url": f"{app_url}/connect/woocommerce/callback"}))


@bp.post("/callback")
@api(summary="WooCommerce delivers the REST keys here; we check them and connect the store",
     tags=["install"], body=KeysIn, response=ConnectedOut, errors=(401, 502))
def callback(body: KeysIn):
    from connectors.woocommerce.admin import WooError

    try:
        store = _signer().loads(body.user_id, max_age=3600)
    except BadSignature:
        return error_response(401, "unauthorized", "this connection was not started here, or it expired")
    if body.key_permissions and body.key_permissions != "read_write":
        return error_response(401, "unauthorized", "the keys must be read_write")
    try:
        out = current_app.extensions["loyalty"].connect_woocommerce(store, body.consumer_key, body.consumer_secret)
    except WooError as exc:
        return error_response(502, "store_refused", f"the store refused the keys: {exc}"[:300])
    return {"shop_id": out["shop_id"], "url": out["url"]}
