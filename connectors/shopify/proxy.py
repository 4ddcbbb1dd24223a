"""Shopify app proxy requests: Shopify forwards a storefront request to us with `shop`,
`timestamp`, `logged_in_customer_id` and a `signature` (hex HMAC-SHA256 of the sorted query
parameters, keyed with the app's client secret) in the query string. The check is the
shopify_app SDK's `verify_app_proxy_req` (signature, and a timestamp at most 90 seconds off),
tried with each of the app's secrets (the current one, then one being rotated out); the HTTP
layer only asks `shop_domain` and `verify`."""
from __future__ import annotations

from typing import Mapping

from shopify_app import verify_app_proxy_req

from .webhooks import valid_shop_domain


def shop_domain(args: Mapping[str, str]) -> str | None:
    """The shop the request claims to come from (lower-cased), or None when `shop` is not a
    *.myshopify.com domain: then it is not an app proxy request at all."""
    domain = (args.get("shop") or "").lower()
    return domain if valid_shop_domain(domain) else None


def verify(method: str, url: str, secrets: list[str]) -> bool:
    """True when the request's signature matches under one of `secrets` (and its timestamp is
    recent). The body is not signed by Shopify and is not read here."""
    req = {"method": method, "url": url, "body": "", "headers": {}}
    return any(verify_app_proxy_req(req, {"client_id": "-", "client_secret": secret, "old_client_secret": None}).ok
               for secret in secrets)


def customer_id(args: Mapping[str, str]) -> str | None:
    """The signed-in shopper Shopify vouches for (in a verified request), or None."""
    return args.get("logged_in_customer_id") or None
