"""WooCommerce deliveries: base64 HMAC-SHA256 of the raw body in X-WC-Webhook-Signature, keyed
with the secret we chose when we created the webhook. The creation ping is unsigned and
form-bodied (`webhook_id=N`). There is no per-event id and no retry: the dedupe key is derived
from the resource, its id and a digest of what the product acts on in it."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Mapping

from plugin_app.domain import jsondepth

PING = re.compile(rb"^webhook_id=\d+$")


def is_ping(body: bytes, headers: Mapping[str, str]) -> bool:
    return not headers.get("X-WC-Webhook-Signature") and bool(PING.match(body.strip()))


def verify(body: bytes, headers: Mapping[str, str], secrets: list[str]) -> bool:
    given = headers.get("X-WC-Webhook-Signature", "")
    if not given:
        return False
    for secret in secrets:
        digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        if hmac.compare_digest(given, digest):
            return True
    return False


def _acted_on(payload: dict) -> list:
    """What the product acts on in a resource: for an order its status, customer, lines,
    shipping and total, coupon codes and refunds (ids and amounts); for a customer its email
    and name."""
    if "line_items" in payload or "status" in payload:
        return [payload.get("status"), payload.get("customer_id"),
                sorted([str(li.get("id")), str(li.get("quantity")), str(li.get("total")), str(li.get("total_tax"))]
                       for li in payload.get("line_items") or []),
                str(payload.get("shipping_total")), str(payload.get("total")),
                sorted(str(c.get("code", "")).lower() for c in payload.get("coupon_lines") or []),
                sorted([str(r.get("id")), str(r.get("total"))] for r in payload.get("refunds") or [])]
    return [payload.get("email"), payload.get("first_name"), payload.get("last_name")]


def dedupe_key(topic: str, body: bytes) -> str:
    """`<topic>:<id>:<digest of what the product acts on>`: the same state delivered twice is
    one message; any change we act on is another. Not the modification time: WooCommerce 5.x
    does not save the order on a partial refund, so the `order.updated` carrying the new
    `refunds[]` has the same `date_modified_gmt` and status as the delivery before it
    (reference/platforms.md, "Checked against the real platforms")."""
    try:
        payload = jsondepth.loads(body)
    except (ValueError, RecursionError):
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    digest = hashlib.sha256(json.dumps(_acted_on(payload), sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f"{topic}:{payload.get('id', '')}:{digest}"[:255]
