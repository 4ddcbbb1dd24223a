"""The port a platform implements. Connectors speak to the core only through these neutral
shapes; the core never sees a Shopify or WooCommerce payload."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol


@dataclass(frozen=True)
class Delivery:
    """A webhook as received: the routing facts and the raw body, untouched."""

    topic: str
    external_id: str
    body: bytes
    headers: Mapping[str, str]


class Platform(Protocol):
    name: str

    def verify(self, body: bytes, headers: Mapping[str, str], secrets: list[str]) -> bool:
        """True when the signature over the raw body matches one of the shop's secrets."""

    def delivery(self, body: bytes, headers: Mapping[str, str]) -> Delivery:
        """Extract topic and a stable delivery id without parsing the body."""


class PlatformActions(Protocol):
    """What the rest of the product asks of a platform (cart rewards, cashback, reconciliation).
    Implementations raise an error with `retryable` True for throttling, timeouts and 5xx, and
    False for refusals (bad credentials, invalid input), so jobs retry only what can recover."""

    def create_discount_code(self, *, code: str, title: str, customer_id: str, ends_at: str,
                             amount=None, percent=None, free_shipping: bool = False) -> str: ...

    def delete_discount(self, discount_id: str) -> None: ...

    def discount_usage(self, discount_id: str) -> int | None:
        """How many times the code was used on the platform (an order placed with it), or None
        when the platform has no such code any more (deleted)."""

    def store_credit(self, customer_id: str, amount, currency: str, *, expires_at: str | None = None) -> str: ...

    def order(self, order_id) -> dict | None: ...
