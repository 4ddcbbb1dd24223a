"""Neutral platform events: what a connector tells the core, in the core's words. A
connector turns a delivery into zero or more of these; it never touches storage."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .catalog import Group
from .earning import Order, Refund


@dataclass(frozen=True)
class OrderSeen:
    """The order's state as of this delivery. Applying any permutation of these (and of
    `RefundSeen`) converges: earning happens once, refunds apply once by id, cancellation wins."""
    order: Order
    paid: bool
    fulfilled: bool = False
    cancelled: bool = False
    refunds: tuple[Refund, ...] = ()
    codes: tuple[str, ...] = ()  # discount codes applied to the order
    facts: dict | None = None  # email, phone, addresses, ip, payment: for referral checks only
    email: str | None = None  # the customer's, as the platform told us (a member first seen here gets it)
    name: str | None = None
    locale: str | None = None  # the language the customer ordered in, as the platform tags it ('fr-FR')
    customer_tags: tuple[str, ...] | None = None  # the customer's tags on the order (None: not given)
    customer_tags_at: datetime | None = None  # the customer's updated_at they are as of


@dataclass(frozen=True)
class RefundSeen:
    order_id: str
    refund: Refund


@dataclass(frozen=True)
class CustomerSeen:
    customer_id: str
    email: str | None = None
    birthday: date | None = None
    created: bool = False  # the account was just created: the welcome bonus applies
    name: str | None = None
    locale: str | None = None  # the customer's language, as the platform tags it ('it_IT')
    tags: tuple[str, ...] | None = None  # the customer's tags, all of them (None: the delivery has none)
    tags_at: datetime | None = None  # the customer's updated_at they are as of


@dataclass(frozen=True)
class ProductSeen:
    """A product was created or changed. A field left None was not in the delivery (Shopify's
    products/update carries tags and product type but not collections): keep what is known and
    look the rest up again before the next posting."""
    product_id: str
    tags: tuple[str, ...] | None = None
    product_type: str | None = None
    groups: tuple[Group, ...] | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ProductGone:
    product_id: str


@dataclass(frozen=True)
class CollectionChanged:
    """A Shopify collection changed; the delivery does not say which products it holds."""
    collection_id: str
    handle: str = ""


@dataclass(frozen=True)
class AppUninstalled:
    pass


@dataclass(frozen=True)
class CustomerDataRequest:
    customer_id: str
    request_id: str
    orders: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomerRedact:
    customer_id: str
    orders: tuple[str, ...] = ()
    email: str | None = None


@dataclass(frozen=True)
class ShopRedact:
    pass


PlatformEvent = (OrderSeen | RefundSeen | CustomerSeen | AppUninstalled | CustomerDataRequest
                 | CustomerRedact | ShopRedact | ProductSeen | ProductGone | CollectionChanged)
