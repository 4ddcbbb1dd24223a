"""WooCommerce REST v3 payloads → neutral events. Status decides: processing counts as paid,
completed as paid and fulfilled; cancelled, refunded, failed and trash reverse everything;
drafts (checkout-draft, draft, auto-draft) are ignored. Partial refunds come as order.updated
with `refunds[]` (id, reason and a negative gross `total`, no lines). A refund whose lines we
have (the refund resource's `line_items` / `shipping_lines`, merged in before translating) is
taken back line by line; otherwise as its gross share of what the order paid (`total`)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from plugin_app.domain import jsondepth
from plugin_app.domain.birthdays import lenient as lenient_birthday
from plugin_app.domain.catalog import Group, ProductFacts
from plugin_app.domain.earning import Order, OrderLine, Refund, RefundLine
from plugin_app.domain.events import CustomerSeen, OrderSeen, PlatformEvent, ProductGone, ProductSeen

ZERO = Decimal(0)
PAID = {"processing", "completed"}
REVERSED = {"cancelled", "refunded", "failed", "trash"}
DRAFTS = {"checkout-draft", "draft", "auto-draft"}
RECONCILE_TOPIC = "order.reconcile"
PRODUCT_TOPICS = {"product.created", "product.updated", "product.deleted"}
TOPICS = {"order.created", "order.updated", "order.deleted", "order.restored", "customer.created", "customer.updated",
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


CENT = Decimal("0.01")


def _refunded_item(item: dict, lines: list[dict]) -> str | None:
    """The order line a refund line refunds: `_refunded_item_id` when the meta is shown, else
    the only order line of the same product and variation."""
    for meta in item.get("meta_data") or []:
        if meta.get("key") == "_refunded_item_id" and meta.get("value"):
            return str(meta["value"])
    same = [li for li in lines if (li.get("product_id"), li.get("variation_id") or 0)
            == (item.get("product_id"), item.get("variation_id") or 0)]
    return str(same[0]["id"]) if len(same) == 1 else None


def _by_lines(r: dict, payload: dict) -> Refund | None:
    """The refund from its own lines (REST `orders/<id>/refunds`: negative quantity, total and
    total_tax on `line_items` and `shipping_lines`), when they account for all of it by whole
    quantities; None otherwise (a manual amount, a fee, a part of a line)."""
    if "line_items" not in r and "shipping_lines" not in r:
        return None
    lines = payload.get("line_items") or []
    by_id = {str(li["id"]): li for li in lines}
    parts, accounted = [], ZERO
    for item in r.get("line_items") or []:
        qty, total = abs(int(item.get("quantity") or 0)), abs(_dec(item.get("total")))
        target = _refunded_item(item, lines)
        line = by_id.get(target or "")
        if not qty or line is None or not int(line.get("quantity") or 0):
            return None
        expected = _dec(line.get("total")) * qty / int(line["quantity"])
        if abs(expected - total) > CENT:
            return None  # less than the quantity's value: not a whole-quantity refund
        parts.append(RefundLine(target, qty))
        accounted += total + abs(_dec(item.get("total_tax")))
    shipping = sum((abs(_dec(s.get("total"))) for s in r.get("shipping_lines") or []), ZERO)
    accounted += shipping + sum((abs(_dec(s.get("total_tax"))) for s in r.get("shipping_lines") or []), ZERO)
    gross = abs(_dec(r.get("total", r.get("amount"))))
    if not (parts or shipping) or abs(accounted - gross) > CENT * (len(parts) + 1):
        return None
    return Refund(str(r["id"]), tuple(parts), shipping=shipping)


def refund(r: dict, payload: dict) -> Refund:
    return _by_lines(r, payload) or Refund(str(r["id"]), amount=abs(_dec(r.get("total", r.get("amount")))),
                                           of_total=_dec(payload.get("total")))


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
    refunds = tuple(refund(r, payload) for r in payload.get("refunds") or [])
    billing = payload.get("billing") or {}
    name = " ".join(str(billing.get(k) or "") for k in ("first_name", "last_name")).strip() or None
    return OrderSeen(neutral, paid=status in PAID, fulfilled=status == "completed",
                     cancelled=status in REVERSED, refunds=refunds,
                     codes=tuple(str(c["code"]) for c in payload.get("coupon_lines") or [] if c.get("code")),
                     facts={"email": (payload.get("billing") or {}).get("email"),
                            "phone": (payload.get("billing") or {}).get("phone"),
                            "shipping_address": payload.get("shipping"), "billing_address": payload.get("billing"),
                            "ip": payload.get("customer_ip_address") or None, "payment": None},
                     email=str(billing.get("email") or "").strip() or None, name=name,
                     locale=_locale(payload))


# WooCommerce keeps no birthday of its own; plugins and checkout-field editors store one in user
# meta, which the REST customer's `meta_data` [{id, key, value}] carries. These keys, first found wins.
BIRTHDAY_KEYS = ("birthday", "birth_date", "date_of_birth", "billing_birth_date", "billing_birthday", "dob")


def _birthday(payload: dict):
    meta = {m.get("key"): m.get("value") for m in payload.get("meta_data") or [] if isinstance(m, dict)}
    for key in BIRTHDAY_KEYS:
        if meta.get(key):
            return lenient_birthday(meta[key])
    return None


# WooCommerce's REST customer and order carry no language: WordPress keeps a user's chosen
# language in the `locale` user meta (what get_user_locale() reads), and WooCommerce lists
# `locale` among the customer's internal meta keys, left out of `meta_data`
# (includes/data-stores/class-wc-customer-data-store.php, $internal_meta_keys). Our WordPress
# plugin (connectors/woocommerce/wordpress/loyalty-widget.php) adds it to the customer.* and
# order.* deliveries as `loyalty_locale` through the `woocommerce_webhook_payload` filter
# (includes/class-wc-webhook.php, build_payload), before WooCommerce signs them.
LOCALE_KEY = "loyalty_locale"


def _locale(payload: dict) -> str | None:
    value = payload.get(LOCALE_KEY)
    return value.strip() or None if isinstance(value, str) else None


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


def _role_tag(payload: dict) -> tuple[str, ...] | None:
    """WooCommerce customers have no tags. The REST customer (what customer.* webhooks carry)
    has the WordPress `role` ("customer", "subscriber", a shop's own role…): segments see it
    as the tag `role:<role>`. No role in the delivery tells nothing."""
    role = payload.get("role")
    return (f"role:{role.strip()}"[:255],) if isinstance(role, str) and role.strip() else None


def _modified(payload: dict) -> datetime | None:
    raw = payload.get("date_modified_gmt")
    if not isinstance(raw, str) or not raw:
        return None
    at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def events(topic: str, body: bytes) -> list[PlatformEvent]:
    if topic not in TOPICS:
        return []
    try:
        payload = jsondepth.loads(body)  # too deep: ValueError, not RecursionError
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
        return [CustomerSeen(str(payload["id"]), payload.get("email") or None, birthday=_birthday(payload),
                             created=topic == "customer.created", name=name, locale=_locale(payload),
                             tags=_role_tag(payload), tags_at=_modified(payload))]
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError) as exc:
        raise BadPayload(f"{topic}: {type(exc).__name__}: {exc}") from None
