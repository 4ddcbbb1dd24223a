"""Shopify webhook payloads → neutral events. Money stays decimal strings → Decimal; ids
stay ints → str (they exceed 2^53, so never through a float)."""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from plugin_app.domain.earning import Order, OrderLine, Refund, RefundLine
from plugin_app.domain.events import (AppUninstalled, CollectionChanged, CustomerDataRequest, CustomerRedact,
                                      CustomerSeen, OrderSeen, PlatformEvent, ProductGone, ProductSeen,
                                      RefundSeen, ShopRedact)

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


def order(payload: dict) -> OrderSeen:
    lines = []
    for li in payload.get("line_items") or []:
        qty = int(li.get("quantity") or 0)
        gross = _dec(li.get("price")) * qty
        discount = _sum(li.get("discount_allocations"), "amount")
        lines.append(OrderLine(
            line_id=str(li["id"]), quantity=qty, total=max(gross - discount, ZERO),
            tax=_sum(li.get("tax_lines"), "price"),
            product_id=str(li["product_id"]) if li.get("product_id") is not None else None,
            gift_card=bool(li.get("gift_card")), title=str(li.get("title") or "")))
    ship = payload.get("shipping_lines") or []
    shipping = sum((_dec(s.get("discounted_price", s.get("price"))) for s in ship), ZERO)
    shipping_tax = sum((_sum(s.get("tax_lines"), "price") for s in ship), ZERO)
    customer = payload.get("customer") or {}
    neutral = Order(
        order_id=str(payload["id"]), currency=str(payload.get("currency") or ""),
        placed_at=_at(payload.get("processed_at") or payload.get("created_at")),
        lines=tuple(lines), customer_id=str(customer["id"]) if customer.get("id") is not None else None,
        shipping=shipping, shipping_tax=shipping_tax, tips=_dec(payload.get("total_tip_received")),
        taxes_included=bool(payload.get("taxes_included")), test=bool(payload.get("test")))
    return OrderSeen(neutral, paid=payload.get("financial_status") in PAID,
                     fulfilled=payload.get("fulfillment_status") == "fulfilled",
                     cancelled=bool(payload.get("cancelled_at")),
                     refunds=tuple(refund(r) for r in payload.get("refunds") or []),
                     codes=tuple(str(d["code"]) for d in payload.get("discount_codes") or [] if d.get("code")),
                     facts=_facts(payload))


def _facts(payload: dict) -> dict:
    customer = payload.get("customer") or {}
    card = payload.get("payment_details") or {}
    payment = "|".join(str(card.get(k) or "") for k in ("credit_card_bin", "credit_card_number", "credit_card_company"))
    return {"email": payload.get("email") or customer.get("email"),
            "phone": payload.get("phone") or customer.get("phone") or (payload.get("billing_address") or {}).get("phone"),
            "shipping_address": payload.get("shipping_address"), "billing_address": payload.get("billing_address"),
            "ip": (payload.get("client_details") or {}).get("browser_ip") or payload.get("browser_ip"),
            "payment": payment if payment.strip("|") else None}


def _name(payload: dict) -> str | None:
    return " ".join(str(payload.get(k) or "") for k in ("first_name", "last_name")).strip() or None


def _money(node: dict | None) -> Decimal:
    return _dec(((node or {}).get("shopMoney") or {}).get("amount"))


def _legacy(gid: str) -> str:
    return str(gid).rsplit("/", 1)[-1]


def graphql_order(node: dict) -> OrderSeen:
    """The reconciliation job's GraphQL order, in the same neutral shape as a webhook's."""
    lines = []
    for li in (node.get("lineItems") or {}).get("nodes") or []:
        qty = int(li.get("quantity") or 0)
        gross = _money(li.get("originalUnitPriceSet")) * qty
        discount = sum((_money(d.get("allocatedAmountSet")) for d in li.get("discountAllocations") or []), ZERO)
        product = li.get("product") or {}
        lines.append(OrderLine(
            line_id=_legacy(li["id"]), quantity=qty, total=max(gross - discount, ZERO),
            tax=sum((_money(t.get("priceSet")) for t in li.get("taxLines") or []), ZERO),
            product_id=str(product["legacyResourceId"]) if product.get("legacyResourceId") else None,
            gift_card=bool(li.get("isGiftCard")), title=str(li.get("title") or "")))
    ship = (node.get("shippingLines") or {}).get("nodes") or []
    customer = node.get("customer") or {}
    order_ = Order(
        order_id=str(node["legacyResourceId"]), currency=str(node.get("currencyCode") or ""),
        placed_at=_at(node.get("processedAt") or node.get("createdAt")), lines=tuple(lines),
        customer_id=str(customer["legacyResourceId"]) if customer.get("legacyResourceId") else None,
        shipping=sum((_money(s.get("discountedPriceSet")) for s in ship), ZERO),
        shipping_tax=sum((_money(t.get("priceSet")) for s in ship for t in s.get("taxLines") or []), ZERO),
        tips=_money(node.get("totalTipReceivedSet")), taxes_included=bool(node.get("taxesIncluded")),
        test=bool(node.get("test")))
    refunds = tuple(Refund(str(r["legacyResourceId"]), tuple(
        RefundLine(_legacy(n["lineItem"]["id"]), int(n["quantity"]))
        for n in (r.get("refundLineItems") or {}).get("nodes") or [] if int(n.get("quantity") or 0) > 0))
        for r in node.get("refunds") or [])
    return OrderSeen(order_, paid=str(node.get("displayFinancialStatus", "")).lower() in PAID,
                     fulfilled=str(node.get("displayFulfillmentStatus", "")).upper() == "FULFILLED",
                     cancelled=bool(node.get("cancelledAt")), refunds=refunds,
                     codes=tuple(str(c) for c in node.get("discountCodes") or []))


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
        payload = json.loads(body)
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
            return [CustomerSeen(str(payload["id"]), payload.get("email") or None,
                                 created=topic == "customers/create", name=_name(payload))]
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
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise BadPayload(f"{topic}: {type(exc).__name__}: {exc}") from None
