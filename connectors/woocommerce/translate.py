"""WooCommerce REST v3 payloads → neutral events. Status decides: processing counts as paid,
completed as paid and fulfilled; cancelled, refunded, failed and trash reverse everything;
drafts (checkout-draft, draft, auto-draft) are ignored. Partial refunds come as order.updated
with `refunds[]` (negative totals, no lines): each is taken back as its share of the base."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

from plugin_app.domain.catalog import Group, ProductFacts
from plugin_app.domain.earning import Order, OrderLine, Refund
from plugin_app.domain.events import CustomerSeen, OrderSeen, PlatformEvent, ProductGone, ProductSeen

ZERO = Decimal(0)
PAID = {"processing", "completed"}
REVERSED = {"cancelled", "refunded", "failed", "trash"}
DRAFTS = {"checkout-draft", "draft", "auto-draft"}
RECONCILE_TOPIC = "order.reconcile"
PRODUCT_TOPICS = {"product.created", "product.updated", "product.deleted"}
TOPICS = {"order.created", "order.updated", "order.deleted", "order.restored", "customer.created",
          RECONCILE_TOPIC} | PRODUCT_TOPICS


class BadPayload(ValueError):
    pass


def _dec(value) -> Decimal:
    if value in (None, ""):
        return ZERO
    return Decimal(repr(value) if isinstance(value, float) else str(value))


def _when(payload: dict) -> datetime:
    raw = payload.get("date_paid_gmt") or payload.get("date_created_gmt")
    if not raw:
        raise BadPayload("order has no date_created_gmt")
    at = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)  # *_gmt fields are UTC


def order(payload: dict) -> OrderSeen | None:
    status = str(payload.get("status", ""))
    if status in DRAFTS:
        return None
    lines = tuple(OrderLine(
        line_id=str(li["id"]), quantity=int(li.get("quantity") or 0), total=_dec(li.get("total")),
        tax=_dec(li.get("total_tax")), product_id=str(li["product_id"]) if li.get("product_id") else None,
        title=str(li.get("name") or "")) for li in payload.get("line_items") or [])
    customer = payload.get("customer_id") or 0
    neutral = Order(order_id=str(payload["id"]), currency=str(payload.get("currency") or ""),
                    placed_at=_when(payload), lines=lines, customer_id=str(customer) if customer else None,
                    shipping=_dec(payload.get("shipping_total")), shipping_tax=_dec(payload.get("shipping_tax")))
    refunds = tuple(Refund(str(r["id"]), amount=abs(_dec(r.get("total")))) for r in payload.get("refunds") or [])
    return OrderSeen(neutral, paid=status in PAID, fulfilled=status == "completed",
                     cancelled=status in REVERSED, refunds=refunds,
                     codes=tuple(str(c["code"]) for c in payload.get("coupon_lines") or [] if c.get("code")),
                     facts={"email": (payload.get("billing") or {}).get("email"),
                            "phone": (payload.get("billing") or {}).get("phone"),
                            "shipping_address": payload.get("shipping"), "billing_address": payload.get("billing"),
                            "ip": payload.get("customer_ip_address") or None, "payment": None})


def product_facts(p: dict) -> ProductFacts | None:
    """A REST v3 product (`GET products`, and the product.* webhook payload, which WooCommerce
    builds with the same controller): categories and tags are [{id, name, slug}]. A variation
    (parent_id set) has no categories of its own; its parent's count."""
    if int(p.get("parent_id") or 0):
        return None
    raw = p.get("date_modified_gmt")
    at = datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else None
    return ProductFacts(
        str(p["id"]),
        tuple(Group(str(c["id"]), str(c.get("slug") or ""), str(c.get("name") or ""))
              for c in p.get("categories") or [] if c.get("id") is not None),
        tuple(str(v) for t in p.get("tags") or [] for v in (t.get("name"), t.get("slug")) if v),
        None, at if at is None or at.tzinfo else at.replace(tzinfo=timezone.utc))


def _product(topic: str, payload: dict) -> list[PlatformEvent]:
    if topic == "product.deleted":  # {"id": N}
        return [ProductGone(str(payload["id"]))]
    parent = int(payload.get("parent_id") or 0)
    if parent:  # a variation changed: look its parent up again
        return [ProductSeen(str(parent))]
    f = product_facts(payload)
    return [ProductSeen(f.product_id, f.tags, None, f.groups, f.updated_at)]


def events(topic: str, body: bytes) -> list[PlatformEvent]:
    if topic not in TOPICS:
        return []
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise BadPayload("the body is not a JSON object")
        if topic in PRODUCT_TOPICS:
            return _product(topic, payload)
        if topic == "order.deleted":  # trashed: {"id": N}; a minimal order that reverses everything
            return [OrderSeen(Order(str(payload["id"]), "", datetime.now(timezone.utc), ()), paid=False, cancelled=True)]
        if topic.startswith("order."):
            seen = order(payload)
            return [seen] if seen is not None else []
        name = " ".join(str(payload.get(k) or "") for k in ("first_name", "last_name")).strip() or None
        return [CustomerSeen(str(payload["id"]), payload.get("email") or None, created=True, name=name)]
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise BadPayload(f"{topic}: {type(exc).__name__}: {exc}") from None
