"""A local stand-in for the parts of Shopify we use, built from reference/platforms.md and
payload_shapes.md: REST-shaped webhook payloads, a webhook sender that signs the raw body like
Shopify does, and (in `admin_app`) the OAuth token endpoint and an Admin GraphQL endpoint."""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal

DOMAIN = "maple-demo.myshopify.com"


def sign(body: bytes, secret: str) -> str:
    """X-Shopify-Hmac-Sha256: base64 of HMAC-SHA256 over the raw body with the app's secret.
    https://shopify.dev/docs/apps/build/webhooks/verify-deliveries; Shopify/shopify-app-js
    packages/apps/shopify-api/lib/utils/hmac-validator.ts (HashFormat.Base64 on rawBody)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(topic: str, body: bytes, secret: str, *, domain: str = DOMAIN,
            webhook_id: str | None = None, triggered_at: str | None = None, event_id: str | None = None) -> dict:
    """A delivery's headers: https://shopify.dev/docs/apps/build/webhooks/delivery-structure and
    shopify-app-js lib/types.ts `ShopifyHeader` (each delivery its own X-Shopify-Webhook-Id; the
    event's X-Shopify-Event-Id shared across subscriptions: .../webhooks/ignore-duplicates)."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-API-Version": "2026-04",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": triggered_at or datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "X-Shopify-Hmac-Sha256": sign(body, secret),
    }


def money_set(amount: str, currency: str = "EUR") -> dict:
    return {"shop_money": {"amount": amount, "currency_code": currency},
            "presentment_money": {"amount": amount, "currency_code": currency}}


def line_item(line_id: int, price: str, quantity: int = 1, *, product_id: int = 8100200300400,
              discount: str = "0.00", tax: str = "0.00", gift_card: bool = False, title: str = "Trail Mug",
              removed: int = 0) -> dict:
    """A REST line item. `discount` is the share of an order discount allocated to it (its
    `discount_allocations`, pointing at the order's `discount_applications[0]`), `tax` its VAT
    (`tax_lines`), `removed` units taken off by an order edit. `current_quantity` is the quantity
    less removed and refunded units (`order` subtracts the refunded ones). Shapes: the orders/create
    sample of https://shopify.dev/docs/api/webhooks?reference=toml (topic orders/create) and
    payload_shapes.md; editing: https://shopify.dev/docs/api/admin-graphql/latest/mutations/orderEditSetQuantity
    ("Setting the quantity to zero effectively removes the line item ... The item still exists as a
    data structure with zero quantity")."""
    return {
        "id": line_id, "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
        "product_id": product_id, "variant_id": product_id + 1, "title": title, "name": title,
        "sku": "MUG-1", "vendor": "Maple Goods", "price": price, "price_set": money_set(price),
        "quantity": quantity, "current_quantity": quantity - removed, "fulfillable_quantity": quantity - removed,
        "total_discount": "0.00", "gift_card": gift_card, "taxable": True, "requires_shipping": True,
        "product_exists": True, "properties": [],
        "discount_allocations": [{"amount": discount, "amount_set": money_set(discount),
                                  "discount_application_index": 0}] if Decimal(discount) else [],
        "tax_lines": [{"title": "VAT", "price": tax, "rate": 0.2, "price_set": money_set(tax)}] if Decimal(tax) else [],
    }


def order(order_id: int = 6120345678901, *, customer_id: int | None = 7300400500600,
          lines: list[dict] | None = None, financial_status: str = "paid", cancelled: bool = False,
          refunds: list[dict] | None = None, test: bool = False, shipping: str = "6.99",
          shipping_tax: str = "0.00", unallocated_discount: str = "0.00", discount_code: str = "SPRING",
          taxes_included: bool = False, fulfillment_status: str | None = None,
          created_at: str = "2026-03-14T10:22:05-04:00", updated_at: str | None = None,
          customer_locale: str | None = None, source_name: str = "web", location_id: int | None = None,
          gateway: str = "shopify_payments") -> dict:
    """A REST order whose totals agree with its lines, as Shopify's do:
    `total_line_items_price` = sum of price x quantity; `total_discounts` = every allocation plus
    `unallocated_discount` (an order discount no line carries, as in Shopify's own orders/create
    sample: total_discounts 20.00 and no allocations); `subtotal_price` = lines less discounts
    ("after discounts, before shipping and taxes"; it includes taxes when taxes_included);
    `total_tax` = line and shipping tax; `total_price` = subtotal + shipping (+ tax unless
    included). `discount_applications[0]` is the code the allocations point at. The `current_*`
    amounts follow edits and refunds (https://shopify.dev/docs/api/admin-rest/latest/resources/order:
    "The value of this field reflects order edits, returns, and refunds").
    `customer_locale` is the storefront language the customer ordered in ("fr", or "fr-FR" with
    the region since API 2021-10: https://shopify.dev/changelog/locale-fields-are-now-appended-with-language-and-country-codes);
    null here by default, as for an order made in the admin.
    An in-store order (Shopify POS) is `source_name="pos"` with the `location_id` of the store it
    was rung up at and, for a card or cash sale, its own gateway ("cash"); online ones are "web"
    with no location (https://shopify.dev/docs/api/admin-rest/latest/resources/order: `source_name`
    "Where the order originated ... web, pos, shopify_draft_order, iphone, and android";
    `location_id` "The ID of the physical location where the order was processed"; null outside POS, per
    Shopify's developer advocate: https://community.shopify.com/c/Shopify-APIs-SDKs/Order-details-from-Orders-API-doesn-t-have-the-location-id/m-p/661381). The same webhooks and fields otherwise: POS orders come through
    orders/paid and refunds/create like online ones.
    Simplifications: one discount application, one tax rate, no duties; `subtotal_price` is
    computed from the lines given, an edited order's added lines included (Shopify's own may stay
    at the original figure; the translator copes with both)."""
    lines = copy.deepcopy(lines) if lines is not None else [line_item(15001002003004, "42.50", 2, discount="5.00")]
    refunds = refunds or []
    refunded: dict[int, int] = {}
    for r in refunds:
        for rl in r["refund_line_items"]:
            refunded[rl["line_item_id"]] = refunded.get(rl["line_item_id"], 0) + rl["quantity"]
    for li in lines:  # current_quantity: less removed (edit) and refunded units
        li["current_quantity"] = max(0, li["current_quantity"] - refunded.get(li["id"], 0))
    two = Decimal("0.01")
    items = sum((Decimal(li["price"]) * li["quantity"] for li in lines), Decimal(0))
    allocated = sum((Decimal(d["amount"]) for li in lines for d in li["discount_allocations"]), Decimal(0))
    discounts = allocated + Decimal(unallocated_discount)
    subtotal = items - discounts
    tax = sum((Decimal(t["price"]) for li in lines for t in li["tax_lines"]), Decimal(0)) + Decimal(shipping_tax)
    total = subtotal + Decimal(shipping) + (Decimal(0) if taxes_included else tax)
    current = sum(((Decimal(li["price"]) * li["quantity"] - sum((Decimal(d["amount"]) for d in li["discount_allocations"]),
                                                                 Decimal(0))) * li["current_quantity"] / li["quantity"]
                   for li in lines if li["quantity"]), Decimal(0)) - Decimal(unallocated_discount)
    customer = None if customer_id is None else {
        "id": customer_id, "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        # each customer has an address of their own (the referral checks compare them)
        "email": "ada@example.org" if customer_id == 7300400500600 else f"ada.{customer_id}@example.org",
        "phone": None, "first_name": "Ada", "last_name": "Quill",
        "state": "enabled", "tags": "", "currency": "EUR", "verified_email": True,
        "created_at": created_at, "updated_at": created_at}
    code = [{"code": discount_code, "amount": str(discounts.quantize(two)), "type": "fixed_amount"}] if discounts else []
    applications = [{"type": "discount_code", "code": discount_code, "value": str(discounts.quantize(two)),
                     "value_type": "fixed_amount", "allocation_method": "across", "target_selection": "all",
                     "target_type": "line_item", "title": discount_code}] if discounts else []
    return {
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{order_id % 10000}", "order_number": order_id % 10000,
        "email": customer["email"] if customer else "guest@example.org",
        "created_at": created_at, "updated_at": updated_at or created_at, "processed_at": created_at,
        "customer_locale": customer_locale, "currency": "EUR", "presentment_currency": "EUR",
        "total_line_items_price": str(items.quantize(two)), "total_discounts": str(discounts.quantize(two)),
        "subtotal_price": str(subtotal.quantize(two)), "total_price": str(total.quantize(two)),
        "total_tax": str(tax.quantize(two)), "taxes_included": taxes_included,
        "current_subtotal_price": str(current.quantize(two)),
        "financial_status": financial_status, "fulfillment_status": fulfillment_status,
        "cancelled_at": "2026-03-15T09:00:00-04:00" if cancelled else None,
        "cancel_reason": "customer" if cancelled else None, "test": test, "source_name": source_name,
        "location_id": location_id,
        "tags": "", "discount_codes": code, "discount_applications": applications, "line_items": lines,
        "customer": customer, "refunds": refunds,
        "shipping_lines": [{"title": "Standard", "price": shipping, "discounted_price": shipping,
                            "price_set": money_set(shipping), "discount_allocations": [],
                            "tax_lines": [{"title": "VAT", "price": shipping_tax, "rate": 0.2,
                                           "price_set": money_set(shipping_tax)}] if Decimal(shipping_tax) else []}],
        "note_attributes": [], "payment_gateway_names": [gateway],
    }


def refund(refund_id: int, order_id: int = 6120345678901, *, line_id: int = 15001002003004,
           quantity: int = 1, shipping: str | None = None, subtotal: str = "37.50", tax: str = "0.00",
           shipping_tax: str = "0.00") -> dict:
    """A refunds/create payload (a Refund, not an order): `refund_line_items` with the refunded
    line's subtotal (after its discounts) and tax, a `shipping_refund` order adjustment for refunded
    shipping (negative amounts, tax apart), and the refund transaction with the money returned.
    https://shopify.dev/docs/api/webhooks (refunds/create); order adjustments on the webhook:
    https://shopify.dev/changelog/exposing-the-order-adjustments-connection-on-a-refund."""
    money = (Decimal(subtotal) + Decimal(tax) if quantity else Decimal(0)) + \
        (Decimal(shipping) + Decimal(shipping_tax) if shipping else Decimal(0))
    return {
        "id": refund_id, "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        "order_id": order_id, "created_at": "2026-03-20T09:10:11-04:00",
        "processed_at": "2026-03-20T09:10:11-04:00", "note": "Damaged", "user_id": None,
        "restock": True, "duties": [], "return": None,
        "refund_line_items": [{"id": refund_id + 1, "line_item_id": line_id, "quantity": quantity,
                               "restock_type": "return", "location_id": 7700880099,
                               "subtotal": float(subtotal), "total_tax": float(tax),
                               "subtotal_set": money_set(subtotal), "total_tax_set": money_set(tax)}] if quantity else [],
        "transactions": [{"id": refund_id + 2, "order_id": order_id, "kind": "refund", "status": "success",
                          "amount": str(money), "currency": "EUR", "gateway": "shopify_payments"}],
        "order_adjustments": [{"id": refund_id + 3, "order_id": order_id, "refund_id": refund_id,
                               "kind": "shipping_refund", "reason": "Shipping refund",
                               "amount": f"-{shipping}", "tax_amount": f"-{shipping_tax}"}] if shipping else [],
        "refund_shipping_lines": [],
    }


def customer(customer_id: int = 7300400500600, email: str = "ada@example.org", *, birth_date: str | None = None,
             tags: str | None = None, updated_at: str = "2026-03-01T10:00:00-05:00") -> dict:
    """A REST customer as customers/create and customers/update deliver it. `tags`: the REST
    Customer's `tags`, "a string of comma-separated values" ("loyalty-gold", "vip, wholesale";
    https://shopify.dev/docs/api/admin-rest/latest/resources/customer and payload_shapes.md A,
    `customer.tags`); left out unless given."""
    out = {"id": customer_id, "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
           "email": email, "first_name": "Ada", "last_name": "Quill", "state": "enabled",
           "created_at": "2026-03-01T10:00:00-05:00", "updated_at": updated_at}
    if tags is not None:
        out["tags"] = tags
    if birth_date is not None:
        # A subscription that names the namespace (`metafieldNamespaces`, see
        # https://shopify.dev/docs/api/admin-graphql/latest/input-objects/WebhookSubscriptionInput;
        # `metafield_namespaces` in shopify.app.toml) gets the resource's metafields in the
        # payload, as REST metafield objects (https://shopify.dev/docs/api/admin-rest/latest/resources/metafield).
        # Simplified: only the fields we read, and no other metafields. `facts.birth_date` is the
        # standard customer definition (type date; shopify.dev "List of standard metafield definitions").
        out["metafields"] = [{"id": 22001, "namespace": "facts", "key": "birth_date", "value": birth_date,
                              "type": "date", "owner_id": customer_id, "owner_resource": "customer"}]
    return out


def product(product_id: int, *, title: str = "Trail Mug", tags: str = "", product_type: str = "",
            handle: str | None = None, updated_at: str = "2026-03-01T09:00:00-05:00", price: str = "42.50") -> dict:
    """The REST product as products/update delivers it: `tags` is ONE comma-separated string
    ("cotton, comfortable"), `product_type` a string, and there are no collections (membership
    lives on the collection). Shape: https://shopify.dev/docs/apps/build/webhooks/delivery-structure
    (example payload, products/update) and the REST Product resource
    https://shopify.dev/docs/api/admin-rest/latest/resources/product. Simplified: one variant,
    no images or options."""
    return {
        "id": product_id, "admin_graphql_api_id": f"gid://shopify/Product/{product_id}", "title": title,
        "body_html": "", "vendor": "Maple Goods", "product_type": product_type,
        "created_at": "2026-01-10T09:00:00-05:00", "handle": handle or title.lower().replace(" ", "-"),
        "updated_at": updated_at, "published_at": "2026-01-10T09:00:00-05:00", "template_suffix": None,
        "published_scope": "global", "tags": tags, "status": "active",
        "variants": [{"id": product_id + 1, "product_id": product_id, "title": "Default Title", "price": price,
                      "sku": "MUG-1", "taxable": True, "updated_at": updated_at}],
        "options": [], "images": [], "image": None,
    }


def collection(collection_id: int, handle: str, title: str, *, updated_at: str = "2026-03-01T09:00:00-05:00") -> dict:
    """The REST collection as collections/update delivers it: the collection's own fields and
    no list of its products. https://shopify.dev/docs/api/admin-rest/latest/resources/collection"""
    return {"id": collection_id, "admin_graphql_api_id": f"gid://shopify/Collection/{collection_id}",
            "handle": handle, "title": title, "updated_at": updated_at, "body_html": "",
            "published_at": "2026-01-10T09:00:00-05:00", "sort_order": "best-selling", "template_suffix": None,
            "published_scope": "web"}


def product_node(state: "AdminState", p: dict, first: int) -> dict:
    """The Admin GraphQL `Product` for `nodes(ids:) { ... on Product { id legacyResourceId tags
    productType updatedAt collections(first:) { nodes { id legacyResourceId handle title } } } }`:
    `tags` is a list of strings (the REST string split at commas), `productType` a string,
    collections a connection. https://shopify.dev/docs/api/admin-graphql/latest/objects/Product"""
    cols = [state.collections[c] for c in state.collects.get(p["id"], []) if c in state.collections][:first]
    return {"id": f"gid://shopify/Product/{p['id']}", "legacyResourceId": str(p["id"]),
            "tags": [t.strip() for t in p["tags"].split(",") if t.strip()], "productType": p["product_type"],
            "updatedAt": p["updated_at"],
            "collections": {"nodes": [{"id": f"gid://shopify/Collection/{c['id']}", "legacyResourceId": str(c["id"]),
                                       "handle": c["handle"], "title": c["title"]} for c in cols]}}


def body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class Sender:
    """Delivers signed webhooks to the app (a Flask test client or anything with .post).

    How Shopify delivers (https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates and the
    header table of https://shopify.dev/docs/apps/build/webhooks): every subscription to a topic
    gets its own delivery of each event, with its own `X-Shopify-Webhook-Id`; all deliveries that
    one merchant action produces share one `X-Shopify-Event-Id` (across subscriptions and
    topics); a retry of a delivery keeps its webhook id and event id. `deliver` with the same
    `webhook_id` is such a retry; `deliver_event` sends one delivery per subscription."""

    def __init__(self, client, secret: str, domain: str = DOMAIN) -> None:
        self.client, self.secret, self.domain = client, secret, domain
        self._events: dict[str, str] = {}  # webhook id -> event id (a retry keeps both)

    def deliver(self, topic: str, payload: dict | bytes, *, webhook_id: str | None = None,
                event_id: str | None = None):
        raw = payload if isinstance(payload, bytes) else body(payload)
        if webhook_id is not None:
            event_id = self._events.setdefault(webhook_id, event_id or str(uuid.uuid4()))
        return self.client.post("/webhooks/shopify", data=raw,
                                headers=headers(topic, raw, self.secret, domain=self.domain,
                                                webhook_id=webhook_id, event_id=event_id))

    def deliver_event(self, topic: str, payload: dict | bytes, *, subscriptions: int | None = None,
                      state: "AdminState | None" = None, app_scoped: bool = True,
                      event_id: str | None = None) -> list:
        """One merchant action seen by every subscription to `topic`: the app-scoped one from
        shopify.app.toml (`app_scoped`) plus the shop's Admin API subscription to it in `state`
        (or `subscriptions` of them): one delivery each, distinct webhook ids, one shared event id."""
        if subscriptions is None:
            enum = topic.upper().replace("/", "_")
            subscriptions = int(app_scoped) + int(state is not None and enum in state.subscriptions)
        event_id = event_id or str(uuid.uuid4())
        return [self.deliver(topic, payload, webhook_id=str(uuid.uuid4()), event_id=event_id)
                for _ in range(subscriptions)]


# -- Admin API: OAuth token endpoint and a GraphQL endpoint ---------------------------------------
TOPIC_ENUM = {"CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "ORDERS_CREATE", "ORDERS_PAID", "ORDERS_UPDATED",
              "ORDERS_CANCELLED", "ORDERS_FULFILLED", "REFUNDS_CREATE", "APP_UNINSTALLED",
              # https://shopify.dev/docs/api/admin-graphql/latest/enums/WebhookSubscriptionTopic
              # (products/* and collections/* require the read_products scope)
              "PRODUCTS_CREATE", "PRODUCTS_UPDATE", "PRODUCTS_DELETE", "COLLECTIONS_CREATE",
              "COLLECTIONS_UPDATE", "COLLECTIONS_DELETE"}


class AdminState:
    """What the stand-in shop knows: tokens, webhook subscriptions, orders, discounts, credit."""

    def __init__(self, token: str = "shpat_standin", *, currency: str = "EUR", timezone_name: str = "Europe/Berlin",
                 bucket: float = 1000.0, restore_rate: float = 50.0, client_secret: str = "app-secret") -> None:
        self.tokens = {token}
        self.currency, self.timezone = currency, timezone_name
        self.subscriptions: dict[str, str] = {}
        self.orders: dict[int, dict] = {}
        self.discounts: dict[str, dict] = {}
        self.bucket, self.maximum, self.restore = bucket, bucket, restore_rate
        self.client_secret = client_secret
        self.codes: dict[str, str] = {}  # authorization codes -> token
        self.refresh_tokens: dict[str, str] = {}
        self.requests: list[dict] = []
        self.metafields: dict[tuple[str, str, str], dict] = {}  # (owner gid, namespace, key) -> metafield
        self.usage: dict[str, int] = {}  # discount gid -> asyncUsageCount
        self.kinds: dict[str, str] = {}  # discount gid -> DiscountCodeBasic | DiscountCodeFreeShipping
        self.products: dict[int, dict] = {}  # REST-shaped products (see `product`)
        self.collections: dict[int, dict] = {}  # REST-shaped collections (see `collection`)
        self.collects: dict[int, list[int]] = {}  # product id -> its collection ids, in order
        self.flow_triggers: list[dict] = []  # every flowTriggerReceive Shopify took: {"handle", "payload"}
        self.flow_handles: set[str] | None = None  # the app's deployed trigger handles (None: any)
        # Native store credit: (owner gid, currency) -> {"id", "transactions": [...]}; see store_credit_post.
        self.store_credit_accounts: dict[tuple[str, str], dict] = {}
        self.store_credit_faults: list[str] = []  # the next mutations' faults: "drop" or "lost"
        self.now = lambda: datetime.now(timezone.utc)  # a test moves Shopify's clock (expiry)
        self._tx_seq = 0
        # Bulk operations (see `bulk_run`): gid -> {"status", "polls", "file", "group", "objects"}
        self.bulk_ops: dict[str, dict] = {}
        self.bulk_polls = 2  # polls an operation answers CREATED / RUNNING before it is COMPLETED
        self.bulk_outcome = "COMPLETED"  # or FAILED (errorCode TIMEOUT), how operations end
        self.bulk_faults: list[int] = []  # the next downloads' statuses (e.g. 503), one per download
        self.bulk_downloads: list[str | None] = []  # the Range header of every download
        self.customers: dict[int, dict] = {}  # id -> {"email", "first_name", "last_name", "locale"}
        # Customer tags, by customer gid (see `tags_add`); like metafieldsSet, any Customer gid is a customer.
        self.customer_tags: dict[str, list[str]] = {}

    # -- customer tags ----------------------------------------------------------------------------
    def tags_add(self, gid: str, tags) -> list[dict]:
        """tagsAdd (https://shopify.dev/docs/api/admin-graphql/latest/mutations/tagsAdd): `tags`
        is a list of strings or one comma-separated string ("tag1, tag2"); tags the resource
        already has are not added twice. Customer tags are not case sensitive
        (https://help.shopify.com/en/manual/shopify-flow/reference/actions/add-customer-tags).
        Only resources that support tagging exist here as Customer gids; anything else is
        resource-not-found, as the mutation's reference says of an `id` that cannot be tagged."""
        if not str(gid).startswith("gid://shopify/Customer/"):
            return [{"field": ["id"], "message": "Resource not found"}]
        items = tags.split(",") if isinstance(tags, str) else list(tags or [])
        have = self.customer_tags.setdefault(gid, [])
        for tag in (str(t).strip() for t in items):
            if tag and tag.casefold() not in {h.casefold() for h in have}:
                have.append(tag)
        return []

    def tags_remove(self, gid: str, tags) -> list[dict]:
        """tagsRemove (https://shopify.dev/docs/api/admin-graphql/latest/mutations/tagsRemove):
        `tags` is a list of strings; removing a tag the resource lacks changes nothing. Not case
        sensitive for customers (https://help.shopify.com/en/manual/shopify-flow/reference/actions/remove-customer-tags)."""
        if not str(gid).startswith("gid://shopify/Customer/"):
            return [{"field": ["id"], "message": "Resource not found"}]
        gone = {str(t).strip().casefold() for t in (tags or [])}
        self.customer_tags[gid] = [h for h in self.customer_tags.get(gid, []) if h.casefold() not in gone]
        return []

    # -- bulk operations ------------------------------------------------------------------------
    # As documented on shopify.dev:
    # - bulkOperationRunQuery(query, groupObjects) returns the BulkOperation (id, status CREATED) or
    #   userErrors; the query needs a connection and allows at most five connections nested two
    #   levels deep; from 2026-01 an app may run up to five bulk queries at a time per shop
    #   (https://shopify.dev/docs/api/admin-graphql/2026-01/payloads/BulkOperationRunQueryPayload,
    #   https://shopify.dev/docs/api/usage/bulk-operations/queries).
    # - Clients poll `status` (CREATED, RUNNING, COMPLETED, FAILED, CANCELED, EXPIRED...); when
    #   COMPLETED, `url` links the JSONL data and `objectCount` counts every object, children
    #   included, `rootObjectCount` the top-level ones; url is null when there is no data
    #   (https://shopify.dev/docs/api/admin-graphql/2024-10/objects/bulkoperation,
    #   https://shopify.dev/docs/api/admin-graphql/2025-10/enums/bulkoperationstatus); a FAILED one
    #   carries errorCode ACCESS_DENIED, INTERNAL_SERVER_ERROR or TIMEOUT
    #   (https://shopify.dev/docs/api/admin-graphql/latest/enums/BulkOperationErrorCode); a refused
    #   run says why in userErrors with a code: INVALID, LIMIT_REACHED, OPERATION_IN_PROGRESS
    #   (https://shopify.dev/docs/api/admin-graphql/latest/enums/BulkOperationUserErrorCode).
    # - The JSONL has one object per line; an object of a nested connection is a line of its own
    #   with `__parentId` (https://github.com/Shopify/shopify-api-ruby/issues/729 shows the shape).
    #   groupObjects: true puts children "directly below their corresponding parent objects"; from
    #   2026-01 it defaults to false (https://shopify.dev/changelog/bulk-operations-group-objects-default-changed-to-false,
    #   https://shopify.dev/changelog/optional-groupobjects-argument-in-bulk-operations-mutations-that-offers-faster-and-more-reliable-job-execution):
    #   ungrouped, the stand-in writes every order first and their children after all of them.
    # - The file is served from Google Cloud Storage, whose downloads take an optional `Range`
    #   header to resume (https://cloud.google.com/storage/docs/downloads; RFC 9110 §14: 206 with
    #   Content-Range, 416 past the end).
    # Simplifications: the file is written when the operation is created (the orders as they are
    # then); every field of the order is written whatever the query selects; the query's search
    # is read for `created_at:>=DAY` only; an operation completes after `bulk_polls` polls.
    def bulk_run(self, inner: str, group: bool) -> tuple[dict | None, list]:
        import re as _re
        if inner.count("edges") + inner.count("nodes") < 1:
            return None, [{"field": ["query"], "message": "Bulk queries must contain at least one connection.", "code": "INVALID"}]
        if inner.count("edges {") + inner.count("edges{") > 5:
            return None, [{"field": ["query"], "message": "Queries that contain more than 5 connections are not allowed.",
                           "code": "INVALID"}]
        running = [op for op in self.bulk_ops.values() if op["status"] in ("CREATED", "RUNNING")]
        if len(running) >= 5:
            return None, [{"field": None, "message": "A bulk operation is already in progress.", "code": "OPERATION_IN_PROGRESS"}]
        found = _re.search(r"created_at:>=(\d{4}-\d{2}-\d{2})", inner)
        since = datetime.fromisoformat(found[1]).replace(tzinfo=timezone.utc) if found else None
        orders = sorted((o for o in self.orders.values()
                         if since is None or datetime.fromisoformat(o["created_at"]) >= since),
                        key=lambda o: (o["created_at"], o["id"]))
        parents, children = [], []
        for o in orders:
            node = to_graphql(o)
            gid = o["admin_graphql_api_id"]
            lines = node.pop("lineItems")["nodes"]
            ships = node.pop("shippingLines")["nodes"]
            node.update(id=gid, email=o.get("email"), refunds=[{"legacyResourceId": r["legacyResourceId"]}
                                                                for r in node["refunds"]],
                        totalTaxSet={"shopMoney": {"amount": o["total_tax"]}},
                        totalPriceSet={"shopMoney": {"amount": o["total_price"]}},
                        totalShippingPriceSet={"shopMoney": {"amount": str(sum(Decimal(x["discounted_price"])
                                                                               for x in o["shipping_lines"]))}})
            mine = [{**li, "__typename": "LineItem", "__parentId": gid} for li in lines]
            mine += [{**sl, "__typename": "ShippingLine", "id": f"gid://shopify/ShippingLine/{o['id'] * 10 + i}",
                      "__parentId": gid} for i, sl in enumerate(ships)]
            parents.append(node)
            children.append(mine)
        if group:
            rows = [row for node, mine in zip(parents, children) for row in [node, *mine]]
        else:
            rows = parents + [row for mine in children for row in mine]
        gid = f"gid://shopify/BulkOperation/{len(self.bulk_ops) + 1}"
        self.bulk_ops[gid] = {"status": "CREATED", "polls": 0, "group": group, "roots": len(parents),
                              "objects": len(rows),
                              "file": "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()}
        return {"id": gid, "status": "CREATED"}, []

    def bulk_poll(self, gid: str) -> dict | None:
        op = self.bulk_ops.get(gid)
        if op is None:
            return None
        if op["status"] in ("CREATED", "RUNNING"):
            op["polls"] += 1
            op["status"] = self.bulk_outcome if op["polls"] > self.bulk_polls else ("RUNNING" if op["polls"] > 1 else "CREATED")
        if op["status"] == "FAILED":
            return {"id": gid, "status": "FAILED", "errorCode": "TIMEOUT", "objectCount": "0", "rootObjectCount": "0",
                    "fileSize": None, "url": None, "partialDataUrl": None}
        done = op["status"] == "COMPLETED"
        share = 1 if done else min(op["polls"], self.bulk_polls) / (self.bulk_polls + 1)
        number = gid.rsplit("/", 1)[-1]
        return {"id": gid, "status": op["status"], "errorCode": None, "objectCount": str(int(op["objects"] * share)),
                "rootObjectCount": str(int(op["roots"] * share)),
                "fileSize": str(len(op["file"])) if done and op["roots"] else None,
                "url": (f"https://storage.googleapis.com/shopify-tiers-assets-prod-us-east1/bulk-operation-outputs/"
                        f"{number}-result.jsonl") if done and op["roots"] else None,
                "partialDataUrl": None}

    def add_customer(self, customer_id: int, email: str, *, first_name: str = "Ada", last_name: str = "Quill",
                     locale: str | None = "en") -> dict:
        self.customers[customer_id] = {"id": customer_id, "email": email, "first_name": first_name,
                                       "last_name": last_name, "locale": locale}
        return self.customers[customer_id]

    # -- native store credit ------------------------------------------------------------------
    # Behaviour, as documented on shopify.dev (Admin GraphQL):
    # - storeCreditAccountCredit "will create an account if one does not already exist. A store
    #   credit account owner can hold multiple accounts each with a different currency"; `id` is
    #   "the ID of the store credit account or the ID of the account owner"
    #   (/docs/api/admin-graphql/2025-10/mutations/storecreditaccountcredit).
    # - Credit errors: NEGATIVE_OR_ZERO_AMOUNT, EXPIRES_AT_IN_PAST ("The expiry date must be in the
    #   future"), MISMATCHING_CURRENCY, OWNER_NOT_FOUND (/docs/api/admin-graphql/2025-10/enums/
    #   StoreCreditAccountCreditUserErrorCode). Debit errors: ACCOUNT_NOT_FOUND, INSUFFICIENT_FUNDS,
    #   MISMATCHING_CURRENCY, NEGATIVE_OR_ZERO_AMOUNT (/docs/api/admin-graphql/latest/enums/
    #   StoreCreditAccountDebitUserErrorCode).
    # - A credit's expiresAt: "Debit transactions will always spend the soonest expiring credit
    #   first"; remainingAmount "will decrease when a debit spends this credit"
    #   (/docs/api/admin-graphql/2025-04/objects/StoreCreditAccountCreditTransaction).
    # - "Expiration transactions are created automatically when a store credit account credit
    #   transaction expires. The amount subtracted from the balance is equal to the remaining amount
    #   of the credit transaction" (/docs/api/admin-graphql/2025-10/objects/StoreCreditAccountExpirationTransaction).
    # - Transactions carry `event` (StoreCreditSystemEvent; ADJUSTMENT: "An adjustment was made to
    #   the store credit account", /docs/api/admin-graphql/2025-10/enums/StoreCreditSystemEvent).
    # - No idempotency key: the inputs are creditAmount, expiresAt, notify / debitAmount only
    #   (/docs/api/admin-graphql/2026-07/input-objects/StoreCreditAccountCreditInput,
    #   /docs/api/admin-graphql/2024-10/input-objects/storecreditaccountdebitinput): every call is
    #   a new transaction.
    # Simplifications: credits without expiry are spent after every dated one (oldest first among
    # them); expiry happens when the account is next read or posted to; events other than
    # ADJUSTMENT arise only through `checkout_spend`.
    def _account(self, owner: str, currency: str, create: bool) -> dict | None:
        account = self.store_credit_accounts.get((owner, currency))
        if account is None and create:
            account = self.store_credit_accounts[(owner, currency)] = {
                "id": f"gid://shopify/StoreCreditAccount/{len(self.store_credit_accounts) + 1}", "currency": currency,
                "transactions": []}
        return account

    @staticmethod
    def balance_of(account: dict) -> Decimal:
        total = Decimal(0)
        for t in account["transactions"]:
            total += t["amount"] if t["type"] in ("credit", "debit_revert") else -t["amount"]
        return total

    def expire_store_credit(self, account: dict) -> None:
        now = self.now()
        for t in list(account["transactions"]):
            if t["type"] == "credit" and t["expires_at"] is not None and t["expires_at"] <= now and t["remaining"] > 0:
                self._tx(account, "expiration", t["remaining"], None, "ADJUSTMENT", at=t["expires_at"])
                t["remaining"] = Decimal(0)

    def _tx(self, account: dict, kind: str, amount: Decimal, expires_at, event: str, at=None) -> dict:
        self._tx_seq += 1
        name = {"credit": "StoreCreditAccountCreditTransaction", "debit": "StoreCreditAccountDebitTransaction",
                "expiration": "StoreCreditAccountExpirationTransaction",
                "debit_revert": "StoreCreditAccountDebitRevertTransaction"}[kind]
        tx = {"id": f"gid://shopify/{name}/{self._tx_seq}", "type": kind, "typename": name, "amount": amount,
              "remaining": amount if kind == "credit" else Decimal(0), "expires_at": expires_at,
              "created_at": at or self.now(), "event": event, "account": account}
        account["transactions"].append(tx)
        account["balance_after"] = self.balance_of(account)
        tx["balance_after"] = account["balance_after"]
        return tx

    def store_credit_post(self, owner: str, credit: bool, amount_text: str, currency: str,
                          expires_text: str | None) -> tuple[dict | None, list]:
        field = "creditAmount" if credit else "debitAmount"
        amount = Decimal(str(amount_text))
        if amount <= 0:
            return None, [{"field": [field, "amount"], "code": "NEGATIVE_OR_ZERO_AMOUNT",
                           "message": "A positive amount must be used."}]
        if not owner.startswith(("gid://shopify/Customer/", "gid://shopify/StoreCreditAccount/")):
            return None, [{"field": ["id"], "code": "OWNER_NOT_FOUND", "message": "Owner does not exist."}]
        expires_at = datetime.fromisoformat(expires_text.replace("Z", "+00:00")) if expires_text else None
        if credit and expires_at is not None and expires_at <= self.now():
            return None, [{"field": ["creditInput", "expiresAt"], "code": "EXPIRES_AT_IN_PAST",
                           "message": "The expiry date must be in the future."}]
        account = self._account(owner, currency, create=credit)
        if account is None:
            return None, [{"field": ["id"], "code": "ACCOUNT_NOT_FOUND", "message": "The store credit account could not be found."}]
        self.expire_store_credit(account)
        if credit:
            return self._tx(account, "credit", amount, expires_at, "ADJUSTMENT"), []
        return self._spend(account, amount, "ADJUSTMENT")

    def _spend(self, account: dict, amount: Decimal, event: str) -> tuple[dict | None, list]:
        if amount > self.balance_of(account):
            return None, [{"field": ["debitInput", "debitAmount", "amount"], "code": "INSUFFICIENT_FUNDS",
                           "message": "Insufficient funds."}]
        far = datetime.max.replace(tzinfo=timezone.utc)
        need, draws = amount, []
        for t in sorted((t for t in account["transactions"] if t["type"] == "credit" and t["remaining"] > 0),
                        key=lambda t: (t["expires_at"] or far, t["created_at"])):
            take = min(t["remaining"], need)
            t["remaining"] -= take
            draws.append((t, take))
            need -= take
            if need == 0:
                break
        tx = self._tx(account, "debit", amount, None, event)
        tx["draws"] = draws
        return tx, []

    def checkout_revert(self, debit: dict, event: str = "ORDER_REFUND") -> dict:
        """Shopify reverts a checkout's debit (the order was refunded or cancelled): "Debit revert
        transactions are created automatically when a store credit account debit transaction is
        reverted ... when an order is cancelled, refunded or in the event of a payment failure";
        the credits it spent get their remaining amount back ("It may also increase if that debit is
        subsequently reverted") (/docs/api/admin-graphql/2025-04/objects/StoreCreditAccountDebitRevertTransaction,
        .../StoreCreditAccountCreditTransaction). Simplified: whole debits only."""
        for credit, amount in debit.get("draws", []):
            credit["remaining"] += amount
        tx = self._tx(debit["account"], "debit_revert", debit["amount"], None, event)
        tx["reverts"] = debit["id"]
        return tx

    def checkout_spend(self, customer_id: int | str, amount: str, currency: str = "EUR") -> dict:
        """The shopper paid with store credit at Shopify's checkout (event ORDER_PAYMENT)."""
        account = self._account(f"gid://shopify/Customer/{customer_id}", currency, create=False)
        self.expire_store_credit(account)
        tx, errors = self._spend(account, Decimal(amount), "ORDER_PAYMENT")
        assert not errors, errors
        return tx

    def store_credit_balance(self, customer_id: int | str, currency: str = "EUR") -> Decimal:
        account = self._account(f"gid://shopify/Customer/{customer_id}", currency, create=False)
        if account is None:
            return Decimal(0)
        self.expire_store_credit(account)
        return self.balance_of(account)

    def store_credit_transactions(self, customer_id: int | str, currency: str = "EUR") -> list[dict]:
        account = self._account(f"gid://shopify/Customer/{customer_id}", currency, create=False)
        if account is None:
            return []
        self.expire_store_credit(account)
        return list(account["transactions"])

    @property
    def credit(self) -> dict[str, Decimal]:
        """Each owner's balance (in the shop's currency)."""
        return {o: self.balance_of(a) for (o, cur), a in self.store_credit_accounts.items() if cur == self.currency}

    @staticmethod
    def tx_node(t: dict) -> dict:
        """A transaction as StoreCreditAccountTransaction renders it (amount: MoneyV2; the stand-in
        gives its magnitude, the type says which way it moved the balance)."""
        cur = t["account"]["currency"]
        node = {"__typename": t["typename"], "id": t["id"], "createdAt": t["created_at"].isoformat().replace("+00:00", "Z"),
                "event": t["event"], "amount": {"amount": str(t["amount"]), "currencyCode": cur},
                "balanceAfterTransaction": {"amount": str(t["balance_after"]), "currencyCode": cur}}
        if t["type"] == "debit_revert":
            node["debitTransaction"] = {"id": t["reverts"]}
        if t["type"] == "credit":
            node["expiresAt"] = t["expires_at"].isoformat().replace("+00:00", "Z") if t["expires_at"] else None
            node["remainingAmount"] = {"amount": str(t["remaining"]), "currencyCode": cur}
        return node

    def use_code(self, code: str) -> str:
        """An order was placed with `code` (in any case: codes are case-insensitive): its
        discount's usage count goes up. Returns the discount's gid."""
        gid = next(g for g, d in self.discounts.items() if d["code"].lower() == code.strip().lower())
        self.usage[gid] += 1
        return gid

    def put_product(self, p: dict, collections: list[int] = ()) -> dict:
        self.products[p["id"]] = p
        self.collects[p["id"]] = list(collections)
        return p


def _gql_error(message: str, code: str = "INVALID_VARIABLE", status: int = 200):
    from flask import jsonify
    return jsonify({"errors": [{"message": message, "extensions": {"code": code}}]}), status


def _require(value: dict | None, fields: list[str], type_name: str, var: str):
    for f in fields:
        if not isinstance(value, dict) or value.get(f) in (None, ""):
            return f"Variable ${var} of type {type_name}! was provided invalid value for {f} (Expected value to not be null)"
    return None


def admin_app(state: AdminState):
    """The stand-in's HTTP surface, as a WSGI app: POST /admin/oauth/access_token and
    POST /admin/api/<version>/graphql.json. Mount it with httpx.WSGITransport or serve it."""
    import time as _time

    from flask import Flask, jsonify, request

    app = Flask("shopify-standin")
    last = [_time.monotonic()]

    @app.post("/admin/oauth/access_token")
    def access_token():
        form = request.get_json(silent=True) or request.form.to_dict()
        if form.get("client_secret") != state.client_secret:
            return jsonify(error="invalid_client"), 401
        grant = form.get("grant_type")
        if grant == "urn:ietf:params:oauth:grant-type:token-exchange":
            import jwt
            try:
                claims = jwt.decode(form.get("subject_token", ""), state.client_secret, algorithms=["HS256"],
                                    audience=form.get("client_id"), leeway=10)
            except jwt.PyJWTError:
                return jsonify(error="invalid_subject_token"), 400
            token = f"shpat_{uuid.uuid4().hex[:16]}"
            refresh = f"shprt_{uuid.uuid4().hex[:16]}"
            state.tokens.add(token)
            state.refresh_tokens[refresh] = token
            return jsonify(access_token=token, scope="read_orders,write_discounts", expires_in=3600,
                           refresh_token=refresh, refresh_token_expires_in=7776000, shop=claims["dest"])
        if grant == "refresh_token":
            old = state.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if old is None:
                return jsonify(error="invalid_grant"), 400
            token, refresh = f"shpat_{uuid.uuid4().hex[:16]}", f"shprt_{uuid.uuid4().hex[:16]}"
            state.tokens.add(token)
            state.refresh_tokens[refresh] = token
            return jsonify(access_token=token, scope="read_orders,write_discounts", expires_in=3600,
                           refresh_token=refresh, refresh_token_expires_in=7776000)
        token = state.codes.pop(form.get("code", ""), None)
        if token is None:
            return jsonify(error="invalid_request", error_description="The authorization code was not found or was already used"), 400
        state.tokens.add(token)
        return jsonify(access_token=token, scope="read_orders,write_discounts")

    @app.get("/shopify-tiers-assets-prod-us-east1/bulk-operation-outputs/<name>")
    def bulk_file(name: str):
        """A finished operation's JSONL, with `Range: bytes=N-` (see AdminState's bulk notes)."""
        from flask import Response
        op = state.bulk_ops.get(f"gid://shopify/BulkOperation/{name.split('-', 1)[0]}")
        rng = request.headers.get("Range")
        state.bulk_downloads.append(rng)
        if op is None or op["status"] != "COMPLETED":
            return Response("NoSuchKey", status=404)
        if state.bulk_faults:
            return Response("Service Unavailable", status=state.bulk_faults.pop(0))
        data = op["file"]
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                return Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
            return Response(data[start:], status=206, mimetype="application/jsonl",
                            headers={"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
        return Response(data, mimetype="application/jsonl")

    @app.post("/admin/api/<version>/graphql.json")
    def graphql(version: str):
        if request.headers.get("X-Shopify-Access-Token") not in state.tokens:
            return jsonify(errors="[API] Invalid API key or access token (unrecognized login or wrong password)"), 401
        body = request.get_json(silent=True) or {}
        query, variables = body.get("query", ""), body.get("variables") or {}
        state.requests.append({"query": query, "variables": variables})
        now = _time.monotonic()
        state.bucket = min(state.maximum, state.bucket + (now - last[0]) * state.restore)
        last[0] = now
        cost = 10
        throttle = {"maximumAvailable": state.maximum, "currentlyAvailable": state.bucket, "restoreRate": state.restore}
        if state.bucket < cost:
            return jsonify({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                            "extensions": {"cost": {"requestedQueryCost": cost, "actualQueryCost": None,
                                                    "throttleStatus": throttle}}})
        state.bucket -= cost
        ext = {"cost": {"requestedQueryCost": cost, "actualQueryCost": cost, "throttleStatus": throttle}}

        def ok(data):
            return jsonify({"data": data, "extensions": ext})

        if "bulkOperationRunQuery" in query:
            group = "groupObjects:true" in query.replace(" ", "")
            op, errors = state.bulk_run(variables.get("query") or "", group)
            return ok({"bulkOperationRunQuery": {"bulkOperation": op, "userErrors": errors}})
        if "on BulkOperation" in query:  # node(id:) on a BulkOperation
            return ok({"node": state.bulk_poll(str(variables.get("id") or ""))})

        if "nodes(ids:" in query.replace(" ", ""):
            # https://shopify.dev/docs/api/admin-graphql/latest/queries/nodes: one entry per id, in
            # order, null where no object has that id. Cost (simplified from
            # https://shopify.dev/docs/api/usage/limits#cost-calculation): 1 per object plus, per
            # product, 2 for the collections connection and 1 per collection asked for; a query
            # above 1000 is refused before it runs (MAX_COST_EXCEEDED).
            import re as _re
            ids = variables.get("ids") or []
            first = int((_re.search(r"collections\(first:\s*(\d+)", query) or [0, 10])[1])
            products = sum(1 for gid in ids if str(gid).startswith("gid://shopify/Product/"))
            requested = 1 + len(ids) + products * (2 + first)
            if requested > 1000:
                return jsonify({"errors": [{"message": f"Query cost is {requested}, which exceeds the single query max cost limit (1000).",
                                            "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": 1000}}]})
            out = []
            for gid in ids:
                kind, _, num = str(gid).removeprefix("gid://shopify/").partition("/")
                if kind == "Customer" and num.isdigit():  # `... on Customer { id tags }`: Customer.tags is [String!]!
                    out.append({"id": gid, "tags": list(state.customer_tags.get(gid, []))})
                    continue
                p = state.products.get(int(num)) if kind == "Product" and num.isdigit() else None
                out.append(product_node(state, p, first) if p else None)
            return ok({"nodes": out})
        if "shop {" in query or "shop{" in query:
            return ok({"shop": {"name": "Maple Demo", "currencyCode": state.currency, "ianaTimezone": state.timezone}})
        if "webhookSubscriptionCreate" in query:
            topic, sub = variables.get("topic"), variables.get("sub") or {}
            if topic not in TOPIC_ENUM:
                return _gql_error(f"Variable $topic of type WebhookSubscriptionTopic! was provided invalid value")
            # `WebhookSubscriptionInput.callbackUrl` is deprecated ("Use `uri` instead"):
            # https://shopify.dev/changelog/consolidate-webhook-graphql-surfaces. Simplification: the
            # real schema still accepts it with a deprecation; the stand-in refuses it so that the
            # product never depends on a field Shopify is removing.
            if "callbackUrl" in sub:
                return _gql_error("WebhookSubscriptionInput.callbackUrl is deprecated: use `uri` instead",
                                  code="DEPRECATED_FIELD")
            url = sub.get("uri") or ""
            if not url.startswith("https://"):
                return ok({"webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": [
                    {"field": ["webhookSubscription", "uri"], "message": "Address protocol http:// is not supported"}]}})
            state.subscriptions[topic] = url
            return ok({"webhookSubscriptionCreate": {"webhookSubscription": {
                "id": f"gid://shopify/WebhookSubscription/{len(state.subscriptions)}", "topic": topic, "uri": url},
                "userErrors": []}})
        if "webhookSubscriptions" in query:
            # `WebhookSubscription.endpoint` is deprecated for `uri` (same changelog); refused here as
            # above. The query lists shop-scoped subscriptions only: the app-scoped ones declared in
            # shopify.app.toml are not returned (platforms.md, "Checked against the real platforms").
            if "endpoint" in query or "callbackUrl" in query:
                return _gql_error("WebhookSubscription.endpoint is deprecated: use `uri` instead",
                                  code="DEPRECATED_FIELD")
            return ok({"webhookSubscriptions": {"nodes": [
                {"id": f"gid://shopify/WebhookSubscription/{i}", "topic": t, "uri": u}
                for i, (t, u) in enumerate(state.subscriptions.items())]}})
        if "order(id:" in query.replace(" ", "").replace("order(id:", "order(id:") or "query Order(" in query:
            oid = int(str(variables.get("id", "")).rsplit("/", 1)[-1] or 0)
            return ok({"order": to_graphql(state.orders[oid]) if oid in state.orders else None})
        if "orders(" in query:
            since = (variables.get("q") or "").split(">", 1)[-1].strip("'")
            rows = sorted((o for o in state.orders.values() if o["updated_at"] > since), key=lambda o: o["updated_at"])
            start = int(variables.get("after") or 0)
            page = rows[start:start + int(variables.get("first") or 50)]
            more = start + len(page) < len(rows)
            return ok({"orders": {"nodes": [{"legacyResourceId": str(o["id"]), "updatedAt": o["updated_at"]} for o in page],
                                  "pageInfo": {"hasNextPage": more, "endCursor": str(start + len(page)) if more else None}}})
        if "tagsAdd(" in query:
            return ok({"tagsAdd": {"node": {"id": variables.get("id")},
                                   "userErrors": state.tags_add(variables.get("id"), variables.get("tags"))}})
        if "tagsRemove(" in query:
            return ok({"tagsRemove": {"node": {"id": variables.get("id")},
                                      "userErrors": state.tags_remove(variables.get("id"), variables.get("tags"))}})
        if "metafieldsSet" in query:  # validated as documented: ≤ 25, atomic, ownerId/key/value required
            items = variables.get("metafields")
            if not isinstance(items, list):
                return _gql_error("Variable $metafields of type [MetafieldsSetInput!]! was provided invalid value")
            for i, m in enumerate(items):
                problem = _require(m, ["ownerId", "key", "value"], "MetafieldsSetInput", f"metafields.{i}")
                if problem:
                    return _gql_error(problem)
            errors = []
            if len(items) > 25:
                errors.append({"field": ["metafields"], "message": "Exceeded the maximum metafields input limit of 25.",
                               "code": "LESS_THAN_OR_EQUAL_TO"})
            for i, m in enumerate(items):
                if not 2 <= len(m["key"]) <= 64:
                    errors.append({"field": ["metafields", str(i), "key"], "message": "is too short or too long", "code": "INVALID"})
                if not m.get("type"):
                    errors.append({"field": ["metafields", str(i), "type"], "message": "Type can't be blank", "code": "BLANK"})
                if not str(m["ownerId"]).startswith("gid://shopify/Customer/"):
                    errors.append({"field": ["metafields", str(i), "ownerId"], "message": "Owner does not exist", "code": "INVALID"})
                if m.get("type") == "number_integer" and not str(m["value"]).lstrip("-").isdigit():
                    errors.append({"field": ["metafields", str(i), "value"], "message": "Value must be an integer.", "code": "INVALID_VALUE"})
            if errors:  # atomic: nothing is written
                return ok({"metafieldsSet": {"metafields": None, "userErrors": errors}})
            for m in items:
                state.metafields[(m["ownerId"], m.get("namespace") or "app--standin", m["key"])] = m
            return ok({"metafieldsSet": {"metafields": [{"key": m["key"], "namespace": m.get("namespace"), "value": m["value"]}
                                                        for m in items], "userErrors": []}})
        if "discountCodeBasicCreate" in query or "discountCodeFreeShippingCreate" in query:
            free = "FreeShipping" in query
            d = variables.get("d")
            type_name = "DiscountCodeFreeShippingInput" if free else "DiscountCodeBasicInput"
            problem = _require(d, ["title", "code", "startsAt"] + ([] if free else ["customerGets"]), type_name, "d")
            if problem:
                return _gql_error(problem)
            if not free:
                value = (d["customerGets"] or {}).get("value") or {}
                if not value or "items" not in d["customerGets"]:
                    return _gql_error(f"Variable $d of type {type_name}! was provided invalid value for customerGets.value")
                if "percentage" in value and not 0 <= value["percentage"] <= 1:
                    return ok({"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": [
                        {"field": ["basicCodeDiscount", "customerGets", "value", "percentage"], "code": "VALUE_OUTSIDE_RANGE",
                         "message": "Value must be between 0.0 and 1.0"}]}})
            if "context" not in d and "customerSelection" not in d:
                return _gql_error(f"Variable $d of type {type_name}! was provided invalid value for context")
            key = "discountCodeFreeShippingCreate" if free else "discountCodeBasicCreate"
            # Codes are case-insensitive (https://shopify.dev/changelog/cartdiscountcode-code-has-been-fixed-to-be-case-insensitive):
            # "loy-1" is taken once "LOY-1" exists. The stand-in assumes the same for uniqueness.
            if any(x["code"].lower() == d["code"].lower() for x in state.discounts.values()):
                return ok({key: {"codeDiscountNode": None, "userErrors": [
                    {"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique. Please try a different code."}]}})
            gid = f"gid://shopify/DiscountCodeNode/{len(state.discounts) + 1}"
            state.discounts[gid] = d
            state.usage[gid] = 0
            state.kinds[gid] = "DiscountCodeFreeShipping" if free else "DiscountCodeBasic"
            return ok({key: {"codeDiscountNode": {"id": gid}, "userErrors": []}})
        if "codeDiscountNode(" in query:
            # https://shopify.dev/docs/api/admin-graphql/latest/queries/codeDiscountNode: null when there is no
            # such discount; `asyncUsageCount` on DiscountCodeBasic / DiscountCodeFreeShipping
            # (https://shopify.dev/docs/api/admin-graphql/latest/objects/DiscountCodeBasic) counts the orders
            # that used it, "updated asynchronously". Simplified: counted at once, when a test calls `use_code`.
            gid = variables.get("id")
            if gid not in state.discounts:
                return ok({"codeDiscountNode": None})
            return ok({"codeDiscountNode": {"id": gid, "codeDiscount": {
                "__typename": state.kinds[gid], "asyncUsageCount": state.usage[gid]}}})
        if "discountCodeDelete" in query:
            gid = variables.get("id")
            if state.discounts.pop(gid, None) is None:
                return ok({"discountCodeDelete": {"deletedCodeDiscountId": None, "userErrors": [
                    {"field": ["id"], "code": "INVALID", "message": "Discount does not exist"}]}})
            return ok({"discountCodeDelete": {"deletedCodeDiscountId": gid, "userErrors": []}})
        if "flowTriggerReceive" in query:
            # https://shopify.dev/docs/api/admin-graphql/latest/mutations/flowTriggerReceive
            # (handle: String, payload: JSON; returns userErrors) and the payload rules of
            # https://shopify.dev/docs/apps/build/flow/triggers/reference: keyed by the trigger's
            # field keys, a customer reference as `customer_id`, under 50 KB. A handle the app
            # has not deployed is a userError; the stand-in knows a handle's fields only as the
            # test gives them (`flow_handles`), so it checks presence of customer_id and size.
            handle, payload = variables.get("handle"), variables.get("payload")
            errors = []
            if not isinstance(handle, str) or not handle:
                errors.append({"field": ["handle"], "message": "Handle can't be blank"})
            elif state.flow_handles is not None and handle not in state.flow_handles:
                errors.append({"field": ["handle"], "message": f"Invalid handle '{handle}'"})
            if not isinstance(payload, dict):
                errors.append({"field": ["payload"], "message": "Payload must be a JSON object"})
            elif len(json.dumps(payload).encode()) >= 50_000:
                errors.append({"field": ["payload"], "message": "Payload is too large (over 50 KB)"})
            elif not isinstance(payload.get("customer_id"), int):
                errors.append({"field": ["payload", "customer_id"], "message": "customer_id must be a numeric id"})
            if not errors:
                state.flow_triggers.append({"handle": handle, "payload": payload})
            return ok({"flowTriggerReceive": {"userErrors": errors}})
        if "storeCreditAccountCredit" in query or "storeCreditAccountDebit" in query:
            credit = "Credit(" in query
            inp = variables.get("c" if credit else "d")
            field = "creditAmount" if credit else "debitAmount"
            type_name = "StoreCreditAccountCreditInput" if credit else "StoreCreditAccountDebitInput"
            problem = _require(inp, [field], type_name, "c" if credit else "d") or _require(
                (inp or {}).get(field), ["amount", "currencyCode"], "MoneyInput", "c" if credit else "d")
            if problem:
                return _gql_error(problem)
            fault = state.store_credit_faults.pop(0) if state.store_credit_faults else None
            if fault == "drop":  # the call never reached Shopify: nothing applied, the client sees a 503
                return jsonify({"errors": "Service Unavailable"}), 503
            key = "storeCreditAccountCredit" if credit else "storeCreditAccountDebit"
            tx, errors = state.store_credit_post(variables.get("id", ""), credit, inp[field]["amount"],
                                                 inp[field]["currencyCode"], inp.get("expiresAt"))
            if fault == "lost":  # applied, but the answer never came back (a gateway timeout)
                return jsonify({"errors": "Gateway Timeout"}), 504
            if errors:
                return ok({key: {"storeCreditAccountTransaction": None, "userErrors": errors}})
            return ok({key: {"storeCreditAccountTransaction": state.tx_node(tx), "userErrors": []}})
        if "storeCreditAccounts" in query:
            owner = str(variables.get("id", ""))
            if not owner.startswith("gid://shopify/Customer/"):
                return ok({"customer": None})
            first = int(variables.get("tx") or 10)
            nodes = []
            for (o, cur), account in state.store_credit_accounts.items():
                if o != owner:
                    continue
                state.expire_store_credit(account)
                txs = list(reversed(account["transactions"]))[:first]  # reverse: true, newest first
                nodes.append({"id": account["id"], "balance": {"amount": str(state.balance_of(account)), "currencyCode": cur},
                              "transactions": {"nodes": [state.tx_node(t) for t in txs]}})
            return ok({"customer": {"storeCreditAccounts": {"nodes": nodes}}})
        if "customers(" in query:
            if not 0 < int(variables.get("first") or 0) <= 250:  # "first" is required, at most 250
                return _gql_error("first must be between 1 and 250", code="BAD_REQUEST")
            return ok({"customers": customers_page(state, variables)})
        return _gql_error("Parse error or unknown field in the stand-in's schema", code="PARSE_ERROR")

    return app


def search_emails(q: str) -> list[str] | None:
    """The e-mails of a customers `query` made only of `email:<value>` terms joined by OR, as
    Shopify's search syntax writes them (https://shopify.dev/docs/api/usage/search-syntax: terms,
    the connective OR, a value that is a name or a quoted string in single or double quotes; the
    special characters colon, backslash and parentheses, escaped with a backslash). None when the
    query is anything else (the stand-in understands no other filter)."""
    import re as _re

    term = _re.compile(r"""\s*email:(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s"'()\\]+))\s*""")
    out, pos = [], 0
    while True:
        m = term.match(q, pos)
        if not m:
            return None
        raw = next(g for g in m.groups() if g is not None)
        out.append(_re.sub(r"\\(.)", r"\1", raw))
        pos = m.end()
        if pos == len(q):
            return out
        if not q.startswith("OR ", pos):
            return None
        pos += 3


def customers_page(state: AdminState, variables: dict) -> dict:
    """`customers(first:, after:, query:)` for `email:` terms (`search_emails`): the matching
    customers by id, a page at a time (https://shopify.dev/docs/api/admin-graphql/latest/queries/customers;
    at most 250 per page, https://shopify.dev/docs/api/usage/pagination-graphql). A customer's
    e-mail is `defaultEmailAddress { emailAddress }` (Customer.email is deprecated from 2025-04:
    https://shopify.dev/changelog/adding-defaultemailaddress-field-to-customer); e-mail search
    ignores case. Simplified: the cursor is an offset; no other filter is understood (an empty
    page for one)."""
    emails = search_emails(str(variables.get("q") or ""))
    first = int(variables["first"])
    wanted = {e.lower() for e in emails or []}
    rows = [c for _id, c in sorted(state.customers.items()) if c["email"].lower() in wanted]
    start = int(variables.get("after") or 0)
    page = rows[start:start + first]
    more = start + len(page) < len(rows)
    return {"nodes": [{"legacyResourceId": str(c["id"]), "firstName": c["first_name"], "lastName": c["last_name"],
                       "locale": c["locale"], "defaultEmailAddress": {"emailAddress": c["email"]}} for c in page],
            "pageInfo": {"hasNextPage": more, "endCursor": str(start + len(page)) if more else None}}


def to_graphql(o: dict) -> dict:
    """A stored REST order rendered the way the Admin GraphQL `Order` object presents it."""
    def m(amount):
        return {"shopMoney": {"amount": str(amount), "currencyCode": o["currency"]}}
    c = o.get("customer")
    return {
        "legacyResourceId": str(o["id"]), "createdAt": o["created_at"], "processedAt": o["processed_at"],
        "updatedAt": o["updated_at"], "cancelledAt": o["cancelled_at"], "test": o["test"],
        "taxesIncluded": o["taxes_included"], "displayFinancialStatus": o["financial_status"].upper(),
        "displayFulfillmentStatus": (o["fulfillment_status"] or "unfulfilled").upper(),
        "currencyCode": o["currency"], "customer": {"legacyResourceId": str(c["id"])} if c else None,
        "customerLocale": o.get("customer_locale"),  # GraphQL Order.customerLocale (same changelog as above)
        "discountCodes": [d["code"] for d in o.get("discount_codes") or []],
        "totalTipReceivedSet": m("0.00"),
        "subtotalPriceSet": m(o["subtotal_price"]), "totalDiscountsSet": m(o["total_discounts"]),
        "lineItems": {"nodes": [{
            "id": li["admin_graphql_api_id"], "quantity": li["quantity"], "currentQuantity": li["current_quantity"],
            "isGiftCard": li["gift_card"],
            "title": li["title"], "product": {"legacyResourceId": str(li["product_id"])} if li["product_id"] else None,
            "originalUnitPriceSet": m(li["price"]),
            "discountAllocations": [{"allocatedAmountSet": m(d["amount"])} for d in li["discount_allocations"]],
            "taxLines": [{"priceSet": m(tl["price"])} for tl in li["tax_lines"]]} for li in o["line_items"]]},
        "shippingLines": {"nodes": [{"discountedPriceSet": m(sl["discounted_price"]),
                                     "discountAllocations": [{"allocatedAmountSet": m(d["amount"])}
                                                             for d in sl.get("discount_allocations") or []],
                                     "taxLines": [{"priceSet": m(tl["price"])} for tl in sl["tax_lines"]]}
                                    for sl in o["shipping_lines"]]},
        "refunds": [{"legacyResourceId": str(r["id"]), "refundLineItems": {"nodes": [
            {"quantity": rl["quantity"], "lineItem": {"id": f"gid://shopify/LineItem/{rl['line_item_id']}"}}
            for rl in r["refund_line_items"]]}} for r in o["refunds"]],
    }


def proxy_signature(params: list[tuple[str, str]], secret: str) -> str:
    """Shopify's app proxy signature: values of a repeated key joined with ',', `key=value`
    pairs sorted and concatenated with no separator, hex HMAC-SHA256 (platforms.md §5;
    https://shopify.dev/docs/apps/build/online-store/app-proxies/authenticate-app-proxies,
    shopify-app-js utils/hmac-validator.ts)."""
    grouped: dict[str, list[str]] = {}
    for k, v in params:
        if k != "signature":
            grouped.setdefault(k, []).append(v)
    message = "".join(sorted(f"{k}={','.join(v)}" for k, v in grouped.items()))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def proxy_query(secret: str, *, shop: str = DOMAIN, customer: str = "", timestamp: int | None = None, **extra) -> str:
    """The query Shopify's app proxy adds: shop, logged_in_customer_id (empty for a guest),
    path_prefix, timestamp, signature (https://shopify.dev/docs/apps/build/online-store/app-proxies;
    https://shopify.dev/changelog/app-proxy-requests-include-new-parameter-for-the-logged-in-customer-id)."""
    import time as _t
    from urllib.parse import urlencode
    params = [("shop", shop), ("logged_in_customer_id", customer), ("path_prefix", "/apps/loyalty"),
              ("timestamp", str(timestamp or int(_t.time())))] + list(extra.items())
    return urlencode(params + [("signature", proxy_signature(params, secret))])
