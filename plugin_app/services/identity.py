"""Customer tokens for the storefront widget API, signed by the shop's backend (WooCommerce,
headless stores) with the shop's widget secret: `v1.<shop_id>.<customer_id b64url>.<expires>.<hex
HMAC-SHA256 over "v1.<shop_id>.<customer b64>.<expires>">`. The shop id is inside the signature,
so one shop's token never names another shop's customer."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import time
from dataclasses import dataclass


class BadToken(Exception):
    pass


def _b64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _unb64(value: str) -> str:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()


def sign(shop_id: int, customer_id: str, secret: str, *, ttl: int = 3600, now: float | None = None) -> str:
    expires = int((now or time.time()) + ttl)
    payload = f"v1.{shop_id}.{_b64(customer_id)}.{expires}"
    return f"{payload}.{hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()}"


@dataclass(frozen=True)
class Claims:
    shop_id: int
    customer_id: str
    expires: int


def peek_shop(token: str) -> int:
    """The shop a token claims (unverified: only to pick the secret to verify it with)."""
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != "v1" or not parts[1].isdigit():
        raise BadToken("malformed customer token")
    return int(parts[1])


def verify(token: str, secret: str, *, now: float | None = None) -> Claims:
    """The token's claims when `secret` signed it and it has not expired; else BadToken. A token
    that verified once is remembered with its secret (a shopper's widget sends the same token on
    every page), so only its expiry is checked again; a rotated secret is another key, and a token
    that failed is never remembered."""
    claims = _verified(token, secret)
    if claims.expires < (now or time.time()):
        raise BadToken("customer token expired")
    return claims


@functools.lru_cache(maxsize=8192)
def _verified(token: str, secret: str) -> Claims:
    shop_id = peek_shop(token)
    payload, _, signature = token.rpartition(".")
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        raise BadToken("customer token signature does not match")
    _, _, customer, expires = payload.split(".")
    try:
        return Claims(shop_id, _unb64(customer), int(expires))
    except (ValueError, UnicodeDecodeError):
        raise BadToken("malformed customer token") from None
