"""Webhook verification and the routing facts of a delivery. Only headers are read here; the
body is verified as raw bytes and never parsed.

The signature is checked here, on the raw bytes, rather than through the shopify_app SDK's
`verify_webhook_req`: the SDK first runs the body through `redact_http_log`, which parses and
re-serialises it as JSON, so every forged delivery paid a full parse and a deeply nested one
raised RecursionError (a 500) before its HMAC was even compared. Shopify's algorithm is the
base64 HMAC-SHA256 of the raw request body, keyed with the app's client secret, compared in
constant time before any JSON parsing (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries;
reference/platforms.md §1)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Mapping

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


def valid_shop_domain(domain: str | None) -> bool:
    return bool(domain) and len(domain) <= 255 and SHOP_DOMAIN.fullmatch(domain) is not None


def signature(body: bytes, secret: str) -> str:
    """What Shopify puts in X-Shopify-Hmac-Sha256 for `body` signed with `secret`."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def verify(body: bytes, headers: Mapping[str, str], secrets: list[str]) -> bool:
    """True when X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body under one of
    `secrets` (the current one first, then the one being rotated out). Constant-time; every
    secret is tried, so the time taken does not tell which one matched. Nothing is parsed."""
    given = headers.get("X-Shopify-Hmac-Sha256") or ""
    if not secrets or not given:
        return False
    try:
        given_bytes = given.encode("ascii")
    except UnicodeEncodeError:
        return False
    ok = False
    for secret in secrets:
        if secret:
            ok |= hmac.compare_digest(given_bytes, signature(body, secret).encode("ascii"))
    if not ok:
        return False
    try:  # Shopify sends UTF-8 JSON; a signed body that is not UTF-8 is not from it
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def routing(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """(shop domain, topic, delivery id) from the headers."""
    return (headers.get("X-Shopify-Shop-Domain", "").strip().lower(),
            headers.get("X-Shopify-Topic", "").strip(),
            headers.get("X-Shopify-Webhook-Id", "").strip())


def dedupe_key(topic: str, headers: Mapping[str, str]) -> str:
    """What makes two deliveries the same event for us. Shopify delivers each event once per
    subscription (an app-scoped one from shopify.app.toml and a shop-scoped one are two), each
    with its own X-Shopify-Webhook-Id; X-Shopify-Event-Id is shared by every delivery one merchant
    action produces, across subscriptions and across topics. So topic + event id, and the webhook
    id (which a retry keeps) where the event id is missing. Sources:
    https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates ("If you have more than one
    subscription for the same topic, then you'll receive several webhooks for the same event (one
    per subscription)"), https://shopify.dev/docs/apps/build/webhooks (headers)."""
    event_id = (headers.get("X-Shopify-Event-Id") or "").strip()
    if event_id and len(event_id) <= 100:
        return f"event:{topic}:{event_id}"
    return (headers.get("X-Shopify-Webhook-Id") or "").strip()
