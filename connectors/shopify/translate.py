"""Shopify webhook payloads → neutral events. Money stays decimal strings → Decimal; ids
stay ints → str (they exceed 2^53, so never through a float)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from plugin_app.domain import jsondepth
from plugin_app.domain.birthdays import lenient as lenient_birthday
from plugin_app.domain.earning import Order, OrderLine, Refund, RefundLine
from plugin_app.domain.events import (AppUninstalled, CollectionChanged, CustomerDataRequest, CustomerRedact,
                                      CustomerSeen, OrderSeen, PlatformEvent, ProductGone, ProductSeen,
                                      RefundSeen, ShopRedact)
from plugin_app.domain.segments import tag_list

ZERO = Decimal(0)
PAID = {"paid", "partially_refunded", "refunded"}
ORDER_TOPICS = {"orders/create", "orders/paid", "orders/updated", "orders/cancelled", "orders/fulfilled"}
RECONCILE_TOPIC = "orders/reconcile"  # ours: an order pulled by the reconciliation job (GraphQL shape)
CATALOG_TOPICS = {"products/create", "products/update", "products/delete", "collections/update", "collections/delete"}
TOPICS = ORDER_TOPICS | CATALOG_TOPICS | {RECONCILE_TOPIC, "refunds/create", "customers/create", "customers/update",
                                          "app/uninstalled", "customers/data_request", "customers/redact", "shop/redact"}


class BadPayload(ValueError):
    """The delivery is signed but not the shape its topic promises."""


def _dec(value) -> Decimal:
    if value is None or value == "":
        return ZERO
    if isinstance(value, float):  # fixtures sometimes show numbers; go through str, not binary
        value = repr(value)
    return Decimal(str(value))


def _sum(items, key: str) -> Decimal:
    return sum((_dec(i.get(key)) for i in items or []), ZERO)


def _at(value: str | None) -> datetime:
    if not value:
        raise BadPayload("order has no created_at")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def refund(payload: dict) -> Refund:
    shipping = sum((-_dec(a.get("amount")) for a in payload.get("order_adjustments") or []
                    if a.get("kind") == "shipping_refund"), ZERO)
    shipping += sum((_dec((s.get("subtotal_amount_set") or {}).get("shop_money", {}).get("amount"))
                     for s in payload.get("refund_shipping_lines") or []), ZERO)
    return Refund(str(payload["id"]), tuple(
        RefundLine(str(li["line_item_id"]), int(li["quantity"]))
        for li in payload.get("refund_line_items") or [] if int(li.get("quantity") or 0) > 0),
        shipping=shipping)


@dataclass(frozen=True)
class _Line:
    """One line item as both shapes give it: original quantity and total after its allocations."""
    line_id: str
    quantity: int  # as ordered
    current: int | None  # after edits and refunds (None: not given)
    total: Decimal  # unit price x quantity, less the discounts allocated to the line
    tax: Decimal
    product_id: str | None
    gift_card: bool
    title: str


def _lines(lines: list[_Line], refunded: dict[str, int], subtotal: Decimal | None,
           unallocated: Decimal) -> tuple[tuple[OrderLine, ...], Decimal]:
    """The neutral lines, agreeing with the order's own subtotal after discounts.

    - An order discount that no line's allocations carry (Shopify's published orders/create
      sample: subtotal_price 404.95, total_discounts 20.00, no allocations) is spread over the
      lines in proportion to their totals. Its amount is the smaller of the two figures the order
      gives for it: lines less `subtotal_price` (after discounts, before shipping and taxes, taxes
      in when taxes_included), and `total_discounts` less every allocation. The smaller one,
      because `subtotal_price` does not follow order edits (a line added later would look like a
      discount) and the sample's figures disagree.
    - An edited order (https://shopify.dev/docs/apps/build/orders-fulfillment/order-management-apps/edit-orders)
      counts each line at its quantity after edits: `current_quantity` excludes removed and
      refunded units, so the refunded ones are added back (refunds are taken back separately),
      capped at the quantity ordered."""
    gap = sum((li.total for li in lines), ZERO) - subtotal if subtotal is not None else ZERO
    spread = max(min(gap, unallocated), ZERO)
    weights = [li.total if li.total > 0 else ZERO for li in lines]
    weight = sum(weights, ZERO)
    if weight <= 0:
        spread = ZERO
    cut = [(spread * w / weight).quantize(Decimal("0.01"), rounding=ROUND_DOWN) if spread else ZERO for w in weights]
    if spread and cut:  # the cents rounding left over goes on the largest line
        top = max(range(len(lines)), key=lambda i: weights[i])
        cut[top] += spread - sum(cut, ZERO)
    out = []
    for li, minus in zip(lines, cut):
        qty = li.quantity
        if li.current is not None:
            qty = max(0, min(li.quantity, li.current + refunded.get(li.line_id, 0)))
        total = li.total - minus
        if qty != li.quantity:
            total = total * qty / li.quantity if li.quantity else ZERO
            total = total.quantize(Decimal("0.0001"))
        out.append(OrderLine(line_id=li.line_id, quantity=qty, total=max(total, ZERO), tax=li.tax,
                             product_id=li.product_id, gift_card=li.gift_card, title=li.title))
    return tuple(out), spread


def _refunded(refunds: list[Refund]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in refunds:
        for rl in r.lines:
            out[rl.line_id] = out.get(rl.line_id, 0) + rl.quantity
    return out


def order(payload: dict) -> OrderSeen:
    raw = []
    for li in payload.get("line_items") or []:
        qty = int(li.get("quantity") or 0)
        current = li.get("current_quantity")
        raw.append(_Line(
            str(li["id"]), qty, int(current) if current is not None else None,
            max(_dec(li.get("price")) * qty - _sum(li.get("discount_allocations"), "amount"), ZERO),
            _sum(li.get("tax_lines"), "price"),
            str(li["product_id"]) if li.get("product_id") is not None else None,
            bool(li.get("gift_card")), str(li.get("title") or "")))
    ship = payload.get("shipping_lines") or []
    refunds = tuple(refund(r) for r in payload.get("refunds") or [])
    allocated = sum((_sum(li.get("discount_allocations"), "amount") for li in payload.get("line_items") or []), ZERO) \
        + sum((_sum(s.get("discount_allocations"), "amount") for s in ship), ZERO)
    subtotal = _dec(payload["subtotal_price"]) if payload.get("subtotal_price") not in (None, "") else None
    lines, spread = _lines(raw, _refunded(list(refunds)), subtotal,
                           _dec(payload.get("total_discounts")) - allocated)
    shipping = sum((_dec(s.get("discounted_price", s.get("price"))) for s in ship), ZERO)
    shipping_tax = sum((_sum(s.get("tax_lines"), "price") for s in ship), ZERO)
    customer = payload.get("customer") or {}
    neutral = Order(
        order_id=str(payload["id"]), currency=str(payload.get("currency") or ""),
        placed_at=_at(payload.get("processed_at") or payload.get("created_at")),
        lines=lines, customer_id=str(customer["id"]) if customer.get("id") is not None else None,
        shipping=shipping, shipping_tax=shipping_tax, tips=_dec(payload.get("total_tip_received")),
        taxes_included=bool(payload.get("taxes_included")), test=bool(payload.get("test")),
        updated_at=_when(payload.get("updated_at")), unallocated_discount=spread)
    return OrderSeen(neutral, paid=payload.get("financial_status") in PAID,
                     fulfilled=payload.get("fulfillment_status") == "fulfilled",
                     cancelled=bool(payload.get("cancelled_at")),
                     refunds=refunds,
                     codes=tuple(str(d["code"]) for d in payload.get("discount_codes") or [] if d.get("code")),
                     facts=_facts(payload), email=customer.get("email") or payload.get("email") or None,
                     name=_name(customer), locale=_locale(payload.get("customer_locale")),
                     customer_tags=_tags(customer), customer_tags_at=_when(customer.get("updated_at")) if
                     "tags" in customer else None)


def _tags(customer: dict) -> tuple[str, ...] | None:
    """The REST customer's `tags`: one comma-separated string ("vip, wholesale"), "" for none;
    absent (or the customer absent, a guest) tells nothing."""
    return tag_list(customer["tags"]) if "tags" in customer and customer["tags"] is not None else None


def _locale(value) -> str | None:
    """The language the customer used on the storefront. REST orders (and so the orders/*
    webhooks) carry it as `customer_locale` ("en", "fr", or with a region since 2021-10:
    "fr-FR"; null for orders made in the admin); GraphQL as `Order.customerLocale` and
    `Customer.locale` (https://shopify.dev/changelog/locale-fields-are-now-appended-with-language-and-country-codes).
    The REST customer of customers/* webhooks has no locale field, so orders are where it comes
    from. Kept as tagged; members.locale_tag drops anything that is not a language tag."""
    return str(value).strip() or None if isinstance(value, str) else None


def _when(value: str | None) -> datetime | None:
    return _at(value) if value else None


def _facts(payload: dict) -> dict:
    customer = payload.get("customer") or {}
    card = payload.get("payment_details") or {}
    payment = "|".join(str(card.get(k) or "") for k in ("credit_card_bin", "credit_card_number", "credit_card_company"))
    return {"email": payload.get("email") or customer.get("email"),
            "phone": payload.get("phone") or customer.get("phone") or (payload.get("billing_address") or {}).get("phone"),
            "shipping_address": payload.get("shipping_address"), "billing_address": payload.get("billing_address"),
            "ip": (payload.get("client_details") or {}).get("browser_ip") or payload.get("browser_ip"),
            "payment": payment if payment.strip("|") else None}


BIRTH_DATE = ("facts", "birth_date")  # Shopify's standard customer metafield definition (type date)


def _birthday(payload: dict):
    """The customer's `facts.birth_date` metafield. Webhook payloads carry metafields only for
    the namespaces the subscription asks for (`metafield_namespaces` in shopify.app.toml,
    `metafieldNamespaces` in WebhookSubscriptionInput); without them there is none."""
    for m in payload.get("metafields") or []:
        if isinstance(m, dict) and (m.get("namespace"), m.get("key")) == BIRTH_DATE:
            return lenient_birthday(m.get("value"))
    return None


def _name(payload: dict) -> str | None:
    return " ".join(str(payload.get(k) or "") for k in ("first_name", "last_name")).strip() or None


def _money(node: dict | None) -> Decimal:
    return _dec(((node or {}).get("shopMoney") or {}).get("amount"))


def _legacy(gid: str) -> str:
    return str(gid).rsplit("/", 1)[-1]


def graphql_order(node: dict) -> OrderSeen:
    """The reconciliation job's GraphQL order, in the same neutral shape as a webhook's."""
    raw, allocated = [], ZERO
    for li in (node.get("lineItems") or {}).get("nodes") or []:
        qty = int(li.get("quantity") or 0)
        discount = sum((_money(d.get("allocatedAmountSet")) for d in li.get("discountAllocations") or []), ZERO)
        allocated += discount
        product = li.get("product") or {}
        current = li.get("currentQuantity")
        raw.append(_Line(
            _legacy(li["id"]), qty, int(current) if current is not None else None,
            max(_money(li.get("originalUnitPriceSet")) * qty - discount, ZERO),
            sum((_money(t.get("priceSet")) for t in li.get("taxLines") or []), ZERO),
            str(product["legacyResourceId"]) if product.get("legacyResourceId") else None,
            bool(li.get("isGiftCard")), str(li.get("title") or "")))
    ship = (node.get("shippingLines") or {}).get("nodes") or []
    allocated += sum((_money(d.get("allocatedAmountSet")) for s in ship for d in s.get("discountAllocations") or []), ZERO)
    refunds = tuple(Refund(str(r["legacyResourceId"]), tuple(
        RefundLine(_legacy(n["lineItem"]["id"]), int(n["quantity"]))
        for n in (r.get("refundLineItems") or {}).get("nodes") or [] if int(n.get("quantity") or 0) > 0))
        for r in node.get("refunds") or [])
    subtotal = _money(node["subtotalPriceSet"]) if node.get("subtotalPriceSet") else None
    lines, spread = _lines(raw, _refunded(list(refunds)), subtotal,
                           _money(node.get("totalDiscountsSet")) - allocated)
    customer = node.get("customer") or {}
    order_ = Order(
        order_id=str(node["legacyResourceId"]), currency=str(node.get("currencyCode") or ""),
        placed_at=_at(node.get("processedAt") or node.get("createdAt")), lines=lines,
        customer_id=str(customer["legacyResourceId"]) if customer.get("legacyResourceId") else None,
        shipping=sum((_money(s.get("discountedPriceSet")) for s in ship), ZERO),
        shipping_tax=sum((_money(t.get("priceSet")) for s in ship for t in s.get("taxLines") or []), ZERO),
        tips=_money(node.get("totalTipReceivedSet")), taxes_included=bool(node.get("taxesIncluded")),
        test=bool(node.get("test")), updated_at=_when(node.get("updatedAt")), unallocated_discount=spread)
    return OrderSeen(order_, paid=str(node.get("displayFinancialStatus", "")).lower() in PAID,
                     fulfilled=str(node.get("displayFulfillmentStatus", "")).upper() == "FULFILLED",
                     cancelled=bool(node.get("cancelledAt")), refunds=refunds,
                     codes=tuple(str(c) for c in node.get("discountCodes") or []),
                     locale=_locale(node.get("customerLocale")))


def catalog(topic: str, payload: dict) -> PlatformEvent:
    """products/* carry the REST product: `tags` one comma-separated string, `product_type`,
    `updated_at`, and no collections. collections/* carry the collection, not its products."""
    if topic == "products/delete":
        return ProductGone(str(payload["id"]))
    if topic.startswith("collections/"):
        return CollectionChanged(str(payload["id"]), str(payload.get("handle") or ""))
    raw = payload.get("tags")
    tags = tuple(t.strip() for t in (raw.split(",") if isinstance(raw, str) else raw or []) if t and t.strip())
    updated = payload.get("updated_at")
    return ProductSeen(str(payload["id"]), tags, str(payload.get("product_type") or "") or None, None,
                       _at(updated) if updated else None)


def events(topic: str, body: bytes) -> list[PlatformEvent]:
    """The neutral events one delivery carries (an unknown topic carries none)."""
    if topic not in TOPICS:
        return []
    try:
        payload = jsondepth.loads(body)  # too deep: ValueError, not RecursionError
        if not isinstance(payload, dict):
            raise BadPayload("the body is not a JSON object")
        if topic in ORDER_TOPICS:
            return [order(payload)]
        if topic == RECONCILE_TOPIC:
            return [graphql_order(payload)]
        if topic in CATALOG_TOPICS:
            return [catalog(topic, payload)]
        if topic == "refunds/create":
            return [RefundSeen(str(payload["order_id"]), refund(payload))]
        if topic in ("customers/create", "customers/update"):
            return [CustomerSeen(str(payload["id"]), payload.get("email") or None, birthday=_birthday(payload),
                                 created=topic == "customers/create", name=_name(payload), tags=_tags(payload),
                                 tags_at=_when(payload.get("updated_at")))]
        if topic == "app/uninstalled":
            return [AppUninstalled()]
        if topic == "customers/data_request":
            return [CustomerDataRequest(str(payload["customer"]["id"]), str(payload["data_request"]["id"]),
                                        tuple(str(o) for o in payload.get("orders_requested") or []))]
        if topic == "customers/redact":
            return [CustomerRedact(str(payload["customer"]["id"]),
                                   tuple(str(o) for o in payload.get("orders_to_redact") or []),
                                   payload["customer"].get("email") or None)]
        return [ShopRedact()]
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError) as exc:
        raise BadPayload(f"{topic}: {type(exc).__name__}: {exc}") from None
