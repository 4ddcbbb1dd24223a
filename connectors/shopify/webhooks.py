"""Webhook verification through Shopify's own SDK, and the routing facts of a delivery.
Only headers are read here; the body is verified as raw bytes and not parsed."""
from __future__ import annotations

import re
from typing import Mapping

from shopify_app import verify_webhook_req

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


def valid_shop_domain(domain: str | None) -> bool:
    return bool(domain) and len(domain) <= 255 and SHOP_DOMAIN.fullmatch(domain) is not None


def verify(body: bytes, headers: Mapping[str, str], secrets: list[str]) -> bool:
    """True when X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body under one of
    `secrets` (the current one first, then the one being rotated out). Constant-time."""
    if not secrets or not headers.get("X-Shopify-Hmac-Sha256"):
        return False
    try:
        text = body.decode("utf-8")  # Shopify sends UTF-8 JSON; anything else is not from it
    except UnicodeDecodeError:
        return False
    request = {"method": "POST", "url": "", "body": text,
               "headers": {"x-shopify-hmac-sha256": headers.get("X-Shopify-Hmac-Sha256", "")}}
    for i in range(0, len(secrets), 2):
        config = {"client_id": "-", "client_secret": secrets[i],
                  "old_client_secret": secrets[i + 1] if i + 1 < len(secrets) else None}
        if verify_webhook_req(request, config).ok:
            return True
    return False


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
