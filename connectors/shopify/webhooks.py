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
