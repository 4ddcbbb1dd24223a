"""Issue 14, item 9: an order's customer details reach the neutral OrderSeen on both platforms
(the member first seen through an order gets them; see also tests/test_woocommerce.py)."""
import json

import pytest

from connectors.shopify import translate as shopify
from connectors.woocommerce import translate as woo

from . import woocommerce_standin as W

pytestmark = pytest.mark.fast  # no database, Redis or network: the fast lane


def test_shopify_order_customer_email_and_name():
    payload = {"id": 820982911946154508, "email": "jon@example.com", "created_at": "2026-11-20T10:00:00-05:00",
               "currency": "USD", "financial_status": "paid", "line_items": [], "shipping_lines": [],
               # orders/create sample shape (shopify.dev webhooks reference): customer with email and names
               "customer": {"id": 115310627314723954, "email": "john@example.com", "first_name": "John",
                            "last_name": "Smith"}}
    seen = shopify.order(payload)
    assert (seen.email, seen.name) == ("john@example.com", "John Smith")


def test_woocommerce_order_billing_email_and_name():
    body = W.php_json(W.order(1, billing={"first_name": "Zoë", "last_name": "Rossi", "email": "zoe@example.org"}))
    (seen,) = woo.events("order.updated", body)
    assert (seen.email, seen.name) == ("zoe@example.org", "Zoë Rossi")
    assert json.loads(body)["billing"]["email"] == "zoe@example.org"
