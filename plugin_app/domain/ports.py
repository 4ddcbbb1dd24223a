"""Ports: what the services need from the world outside the product, stated here so that no
service imports a transport (SMTP, HTTP) or a connector. Adapters implement them elsewhere:
the platform connectors (connectors/shopify, connectors/woocommerce) implement the platform
ports, plugin_app/adapters implements mail, webhook posting and the demo shops' local codes;
plugin_app/runtime.py (the composition root) picks real or stand-in adapters in one place.

Errors: an adapter raises `domain.errors.PlatformUnavailable` (or a subclass) when trying
again later may work (throttling, timeouts, 5xx, unreachable) and another
`domain.errors.PlatformError` when it was refused; services catch these, never a connector's
own types."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Mapping, Protocol

if TYPE_CHECKING:
    from .catalog import ProductFacts


# -- time -----------------------------------------------------------------------------------
class Clock(Protocol):
    def now(self) -> datetime:  # aware UTC
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that only moves when told to; used by tests and simulations."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("clock times must be aware")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self._at = self._at + timedelta(**delta)


def require_aware(value: datetime | None, name: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be an aware datetime")


# -- the shop's platform (Shopify, WooCommerce, or none for demo shops) -----------------------
class DiscountCodes(Protocol):
    """Discount codes on the platform (cart rewards, referral codes). `platform_for(shop_id)`
    gives one; a demo shop's codes live only in our records (adapters.local.LocalCodes)."""

    def create_discount_code(self, *, code: str, title: str, customer_id: str | None, ends_at: str,
                             amount=None, percent=None, free_shipping: bool = False) -> str:
        """Create a single-use code for the customer; returns the platform's id for it."""

    def delete_discount(self, discount_id: str) -> None: ...

    def discount_usage(self, discount_id: str) -> int | None:
        """How many times the code was used on the platform (an order placed with it), or None
        when the platform has no such code any more (deleted)."""


class CustomerFieldsSink(Protocol):
    def set_customer_fields(self, customers: list[tuple[str, dict[str, str]]]) -> int:
        """Write loyalty fields (tier, points, credit) on these platform customers, as
        (customer id, {name: value}); returns how many were written. `segments`, when given,
        holds the handles of the member's segments, comma-separated (empty: none): the platform
        labels the customer with them and the tier (domain.customer_tags)."""


class PlatformActions(DiscountCodes, CustomerFieldsSink, Protocol):
    """What services ask of a shop's platform through `platform_for(shop_id)`."""


class CatalogSource(Protocol):
    """Where product facts come from (`catalog_source_for(shop_id)`; None for demo shops)."""

    def product_facts(self, product_ids: list[str]) -> dict[str, ProductFacts]:
        """Facts of each product, many per call; a product the platform does not know is absent."""


@dataclass(frozen=True)
class PlatformCustomer:
    """A customer as the shop's platform knows them (a lookup by e-mail)."""
    customer_id: str  # the platform's own id (Shopify's numeric id, a WordPress user id)
    email: str  # lower-cased
    name: str | None = None
    locale: str | None = None


class CustomerDirectory(Protocol):
    """Finding the platform's customers by e-mail (`customer_directory_for(shop_id)`; None for
    demo shops, whose customers exist only in our records)."""

    def customers_by_email(self, emails: list[str]) -> list[PlatformCustomer]:
        """The customers whose e-mail is one of `emails` (lower-cased; compared exactly, any
        case), as few calls as the platform allows. An e-mail nobody has is simply absent."""


class ShopDetails(Protocol):
    name: str
    currency: str
    timezone: str


class ShopAdmin(Protocol):
    """A platform's view of the shop itself (installation)."""

    def shop_info(self) -> ShopDetails: ...


class StoreCreditAccounts(Protocol):
    """A Shopify shop's native store credit accounts (services.store_credit mirrors cashback
    there). Amounts are positive Decimals; a refusal raises PlatformError, an unknown outcome
    (timeout, 5xx, throttled) PlatformUnavailable."""

    def store_credit_credit(self, customer_id: str, amount: Decimal, currency: str, *,
                            expires_at: datetime | None = None) -> str:
        """Credit the customer's account in `currency` (made if missing); the transaction's id."""

    def store_credit_debit(self, customer_id: str, amount: Decimal, currency: str) -> str:
        """Debit it; the transaction's id. Refused when the balance is short."""

    def store_credit_account(self, customer_id: str, currency: str, *, transactions: int = 0) -> dict | None:
        """{"id", "balance": Decimal, "transactions": [{"id", "type": credit|debit|expiration|debit_revert,
        "amount": Decimal, "created_at": datetime, "expires_at": datetime | None}], newest first}
        of the customer's account in `currency`; None when the customer has none in it."""


class ShopifyOrderSource(Protocol):
    """Reconciliation's reading of a Shopify shop's orders, and its shop-scoped subscriptions."""

    def orders_updated_since(self, since: str, after: str | None = None,
                             first: int = 50) -> tuple[list[int], str | None]:
        """Ids of orders updated after `since` (ISO time), a page at a time (next cursor or None)."""

    def order(self, order_id: int | str) -> dict | None:
        """One order as the connector's translation reads it; None when there is none."""

    def subscribe(self, callback_url: str) -> list[str]:
        """Create the missing webhook subscriptions; returns the new ones."""


class WooOrderSource(Protocol):
    """Reconciliation's reading of a WooCommerce store, and the refund lines of an order."""

    def orders_modified_since(self, since: str, page: int = 1,
                              per_page: int = 50) -> tuple[list[dict], bool]:
        """A page of orders, newest-modified first, and whether there are more pages."""

    def order_refunds(self, order_id) -> list[dict]: ...

    def subscribe(self, delivery_url: str, secret: str) -> list[str]:
        """Create or re-enable our webhooks; returns what was done."""


@dataclass(frozen=True)
class HistoryPage:
    """One bounded slice of a shop's past orders (`OrderHistory.history_page`)."""

    orders: tuple  # neutral `events.OrderSeen`, in the platform's order (oldest first)
    cursor: dict  # where the next call starts: JSON, opaque to the caller, stored between calls
    done: bool  # nothing after this slice
    wait: float = 0.0  # seconds to wait before the next call (the platform is still preparing)
    note: str = ""  # what the platform said (for the merchant: "export running, 1200 objects")


class OrderHistory(Protocol):
    """A shop's past orders for a history backfill (`history_for(shop_id)`), read a slice at a
    time so that any worker can continue from the stored cursor. Raises PlatformUnavailable when
    a later call may work, PlatformError when the platform refused."""

    def history_page(self, since: datetime | None, cursor: dict, limit: int) -> HistoryPage:
        """At most about `limit` orders created at or after `since` (None: all), from `cursor`
        ({} to begin)."""


# -- telling people ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OutgoingEmail:
    """One composed shopper email. The sender's address is the deployment's (the mailer's);
    `message_key` makes a stable Message-ID, so a repeat after a crash is recognisable."""

    to: str
    subject: str
    body: str
    message_key: str
    unsubscribe_url: str
    lang: str = "en"
    from_name: str = ""
    reply_to: str | None = None
    html: str | None = None  # the HTML alternative of `body` (the plain-text part)


class MailConnection(Protocol):
    """One open connection to the mail relay; several emails go over it."""

    def send(self, email: OutgoingEmail) -> None:
        """Hand one email to the relay; raises on any failure (the caller retries it later)."""

    def close(self) -> None:
        """Close; never raises (the connection may already be broken)."""


class Mailer(Protocol):
    configured: bool  # False: no relay in this deployment, emails wait and are not claimed

    def open(self) -> MailConnection: ...


class WebhookPoster(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float = 10.0) -> int:
        """POST the signed bytes with these headers, waiting at most `timeout` seconds; returns
        the receiver's status code, whatever it is. Raises `PlatformUnavailable` when there is no
        answer (unreachable, timed out)."""


class FlowTriggerSink(Protocol):
    """Where a Shopify Flow trigger goes (`flow_for(shop_id)`: the shop's Admin API)."""

    def flow_trigger(self, handle: str, payload: dict) -> None:
        """Start the shop's workflows beginning with trigger `handle`; raises PlatformError
        (PlatformUnavailable when a later try may succeed)."""
