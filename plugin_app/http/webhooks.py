"""`POST /webhooks/shopify`: verify the HMAC of the raw body, store the delivery in the inbox,
answer. The signature is checked on the raw bytes before anything else looks at the body (a
forged delivery is never parsed); a signed body is then only scanned for its nesting depth
(deeper than any real payload: 400, nothing stored). Nothing is called out to; processing
happens in a worker. A second delivery of the same topic and X-Shopify-Event-Id (another
subscription's copy) is a duplicate like a retry. 200 once stored (duplicates too), 401 bad or missing signature, 404
unknown shop, 413 too large, 503 when it cannot be stored or the shop's secrets cannot be
decrypted (so Shopify retries once the operator fixes LOYALTY_ENCRYPTION_KEY)."""
from __future__ import annotations

import logging
from typing import Mapping

from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel

from connectors.shopify import webhooks as shopify
from ..crypto import UndecryptableSecret
from ..domain import jsondepth
from ..storage.db import StorageError
from .errors import error_response
from .jsonbody import refuse_deep
from .openapi import api

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)
KEPT_HEADERS = ("X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-API-Version",
                "X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At")


class Accepted(BaseModel):
    ok: bool
    duplicate: bool


def _undecryptable(shop):
    return error_response(*_undecryptable_reason(shop))


def _undecryptable_reason(shop) -> tuple[int, str, str]:
    """The shop's stored secrets do not open with LOYALTY_ENCRYPTION_KEY: an operator's mistake,
    not the sender's, so 503 (the platform retries) and a log line that names the variable."""
    log.error("webhook for shop %s: its stored secrets cannot be decrypted; is LOYALTY_ENCRYPTION_KEY "
              "the key they were written with?", shop)
    return 503, "unavailable", "this shop's secrets cannot be read right now; retry later"


@bp.post("/woocommerce/<int:shop_id>")
@api(summary="WooCommerce webhook intake (every topic, and the unsigned creation ping)", tags=["webhooks"],
     response=Accepted, errors=(400, 401, 404, 413, 503))
def woocommerce_webhook(shop_id: int):
    from connectors.woocommerce import webhooks as woo

    body = request.get_data(cache=False)
    if woo.is_ping(body, request.headers):
        return jsonify(ok=True, duplicate=False)  # exactly 200, or WooCommerce pings on every save
    rt = current_app.extensions["loyalty"]
    try:
        shop = rt.shops.get(shop_id)
        secrets = [rt.shops.credentials(shop_id).get("webhook_secret")] if shop and shop.platform == "woocommerce" else []
    except StorageError:
        return error_response(503, "unavailable", "cannot reach storage; retry later")
    except UndecryptableSecret:
        return _undecryptable(shop_id)
    if not secrets:
        return error_response(404, "unknown_shop", "no such WooCommerce shop")
    if not woo.verify(body, request.headers, [s for s in secrets if s]):
        return error_response(401, "unauthorized", "X-WC-Webhook-Signature does not match the body")
    if (refused := refuse_deep(body)) is not None:
        return refused
    topic = request.headers.get("X-WC-Webhook-Topic", "").strip()
    if not topic or len(topic) > 100:
        return error_response(400, "bad_request", "X-WC-Webhook-Topic is required")
    headers = {k: v for k in ("X-WC-Webhook-Topic", "X-WC-Webhook-Source", "X-WC-Webhook-ID",
                              "X-WC-Webhook-Delivery-ID") if (v := request.headers.get(k)) is not None}
    try:
        _, created = rt.intake.accept(shop_id, "woocommerce", topic, woo.dedupe_key(topic, body), body, headers)
    except (StorageError, TimeoutError):
        log.exception("could not store a WooCommerce delivery")
        return error_response(503, "unavailable", "cannot store the delivery; retry later")
    return jsonify(ok=True, duplicate=not created)


@bp.post("/shopify")
@api(summary="Shopify webhook intake (every topic)", tags=["webhooks"], response=Accepted,
     errors=(400, 401, 404, 413, 503))
def shopify_webhook():
    body = request.get_data(cache=False)  # raw bytes; 413 past MAX_CONTENT_LENGTH
    status, answer = accept_shopify(current_app.extensions["loyalty"], request.headers, body)
    if status != 200:
        return error_response(status, **answer["error"])
    return jsonify(answer)


def accept_shopify(rt, headers: Mapping[str, str], body: bytes) -> tuple[int, dict]:
    """A Shopify delivery's answer, (status, JSON body), for the view above and for the intake's
    fast path in front of Flask (hot.py): one implementation, two doors. The signature is checked
    on the raw bytes before anything else looks at the body; an error's body is
    {"error": {"code", "message"}} (each door adds the request id)."""
    domain, topic, delivery_id = shopify.routing(headers)
    if not headers.get("X-Shopify-Hmac-Sha256"):
        return _refused(401, "unauthorized", "missing X-Shopify-Hmac-Sha256")
    if not shopify.valid_shop_domain(domain):
        return _refused(401, "unauthorized", "missing or invalid X-Shopify-Shop-Domain")
    s = rt.settings
    try:
        shop, secrets = rt.shops.signing("shopify", domain, [s.shopify_api_secret, s.shopify_old_api_secret])
    except StorageError:
        return _refused(503, "unavailable", "cannot reach storage; retry later")
    except UndecryptableSecret:
        return _refused(*_undecryptable_reason(domain))
    if not shopify.verify(body, headers, secrets):
        if shop is None and not secrets:
            return _refused(404, "unknown_shop", "no such shop")
        return _refused(401, "unauthorized", "the signature does not match the body")
    if shop is None:
        return _refused(404, "unknown_shop", "no such shop")
    try:
        jsondepth.check(body)
    except jsondepth.TooDeep as exc:
        return _refused(400, "json_too_deep", str(exc))
    if not topic or not delivery_id or len(topic) > 100 or len(delivery_id) > 255:
        return _refused(400, "bad_request", "X-Shopify-Topic and X-Shopify-Webhook-Id are required")
    kept = {k: v for k in KEPT_HEADERS if (v := headers.get(k)) is not None}
    try:
        _, created = rt.intake.accept(shop.id, "shopify", topic, shopify.dedupe_key(topic, headers), body, kept)
    except (StorageError, TimeoutError):
        log.exception("could not store a Shopify delivery")
        return _refused(503, "unavailable", "cannot store the delivery; retry later")
    return 200, {"ok": True, "duplicate": not created}


def _refused(status: int, code: str, message: str) -> tuple[int, dict]:
    return status, {"error": {"code": code, "message": message}}
