"""A local stand-in for the parts of Shopify we use, built from reference/platforms.md and
payload_shapes.md: REST-shaped webhook payloads, a webhook sender that signs the raw body like
Shopify does, and (in `admin_app`) the OAuth token endpoint and an Admin GraphQL endpoint."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal

DOMAIN = "maple-demo.myshopify.com"


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(topic: str, body: bytes, secret: str, *, domain: str = DOMAIN,
            webhook_id: str | None = None, triggered_at: str | None = None) -> dict:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-API-Version": "2026-04",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": triggered_at or datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "X-Shopify-Hmac-Sha256": sign(body, secret),
    }


def money_set(amount: str, currency: str = "EUR") -> dict:
    return {"shop_money": {"amount": amount, "currency_code": currency},
            "presentment_money": {"amount": amount, "currency_code": currency}}


def line_item(line_id: int, price: str, quantity: int = 1, *, product_id: int = 8100200300400,
              discount: str = "0.00", tax: str = "0.00", gift_card: bool = False, title: str = "Trail Mug") -> dict:
    return {
        "id": line_id, "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
        "product_id": product_id, "variant_id": product_id + 1, "title": title, "name": title,
        "sku": "MUG-1", "vendor": "Maple Goods", "price": price, "price_set": money_set(price),
        "quantity": quantity, "current_quantity": quantity, "fulfillable_quantity": quantity,
        "total_discount": "0.00", "gift_card": gift_card, "taxable": True, "requires_shipping": True,
        "product_exists": True, "properties": [],
        "discount_allocations": [{"amount": discount, "amount_set": money_set(discount),
                                  "discount_application_index": 0}] if Decimal(discount) else [],
        "tax_lines": [{"title": "VAT", "price": tax, "rate": 0.2, "price_set": money_set(tax)}] if Decimal(tax) else [],
    }


def order(order_id: int = 6120345678901, *, customer_id: int | None = 7300400500600,
          lines: list[dict] | None = None, financial_status: str = "paid", cancelled: bool = False,
          refunds: list[dict] | None = None, test: bool = False, shipping: str = "6.99",
          fulfillment_status: str | None = None, created_at: str = "2026-03-14T10:22:05-04:00",
          updated_at: str | None = None) -> dict:
    lines = lines if lines is not None else [line_item(15001002003004, "42.50", 2, discount="5.00")]
    subtotal = sum((Decimal(li["price"]) * li["quantity"] - sum(Decimal(d["amount"]) for d in li["discount_allocations"])
                    for li in lines), Decimal(0))
    customer = None if customer_id is None else {
        "id": customer_id, "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        "email": "ada@example.org", "phone": None, "first_name": "Ada", "last_name": "Quill",
        "state": "enabled", "tags": "", "currency": "EUR", "verified_email": True,
        "created_at": created_at, "updated_at": created_at}
    return {
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{order_id % 10000}", "order_number": order_id % 10000, "email": "ada@example.org",
        "created_at": created_at, "updated_at": updated_at or created_at, "processed_at": created_at,
        "currency": "EUR", "presentment_currency": "EUR", "subtotal_price": str(subtotal),
        "total_price": str(subtotal + Decimal(shipping)), "total_tax": "0.00", "taxes_included": False,
        "financial_status": financial_status, "fulfillment_status": fulfillment_status,
        "cancelled_at": "2026-03-15T09:00:00-04:00" if cancelled else None,
        "cancel_reason": "customer" if cancelled else None, "test": test, "source_name": "web",
        "tags": "", "discount_codes": [], "discount_applications": [], "line_items": lines,
        "customer": customer, "refunds": refunds or [],
        "shipping_lines": [{"title": "Standard", "price": shipping, "discounted_price": shipping,
                            "price_set": money_set(shipping), "tax_lines": []}],
        "note_attributes": [], "payment_gateway_names": ["shopify_payments"],
    }


def refund(refund_id: int, order_id: int = 6120345678901, *, line_id: int = 15001002003004,
           quantity: int = 1, shipping: str | None = None) -> dict:
    return {
        "id": refund_id, "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        "order_id": order_id, "created_at": "2026-03-20T09:10:11-04:00",
        "processed_at": "2026-03-20T09:10:11-04:00", "note": "Damaged", "user_id": None,
        "restock": True, "duties": [], "return": None,
        "refund_line_items": [{"id": refund_id + 1, "line_item_id": line_id, "quantity": quantity,
                               "restock_type": "return", "location_id": 7700880099,
                               "subtotal": 37.5, "total_tax": 0.0}] if quantity else [],
        "transactions": [{"id": refund_id + 2, "order_id": order_id, "kind": "refund", "status": "success",
                          "amount": "37.50", "currency": "EUR", "gateway": "shopify_payments"}],
        "order_adjustments": [{"id": refund_id + 3, "order_id": order_id, "refund_id": refund_id,
                               "kind": "shipping_refund", "reason": "Shipping refund",
                               "amount": f"-{shipping}", "tax_amount": "0.00"}] if shipping else [],
        "refund_shipping_lines": [],
    }


def customer(customer_id: int = 7300400500600, email: str = "ada@example.org") -> dict:
    return {"id": customer_id, "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
            "email": email, "first_name": "Ada", "last_name": "Quill", "state": "enabled",
            "created_at": "2026-03-01T10:00:00-05:00", "updated_at": "2026-03-01T10:00:00-05:00"}


def body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class Sender:
    """Delivers signed webhooks to the app (a Flask test client or anything with .post)."""

    def __init__(self, client, secret: str, domain: str = DOMAIN) -> None:
        self.client, self.secret, self.domain = client, secret, domain

    def deliver(self, topic: str, payload: dict | bytes, *, webhook_id: str | None = None):
        raw = payload if isinstance(payload, bytes) else body(payload)
        return self.client.post("/webhooks/shopify", data=raw,
                                headers=headers(topic, raw, self.secret, domain=self.domain, webhook_id=webhook_id))
