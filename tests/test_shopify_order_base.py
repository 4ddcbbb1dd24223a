"""The earning base agrees with the order's own subtotal after discounts (Shopify): an order
discount that no line's `discount_allocations` carry is spread over the lines in proportion and
recorded in the explanation; the reconciliation (GraphQL) shape reads the same figures."""
from decimal import Decimal

from sqlalchemy import text

from connectors.shopify.translate import graphql_order, order as rest_order

from . import shopify_standin as S

SECRET = "shpss_base"


def published_sample() -> dict:
    """The money fields of Shopify's published orders/create sample payload
    (https://shopify.dev/docs/api/webhooks?reference=toml, topic orders/create; the same sample is
    quoted in many public repositories): five lines totalling 414.95, `subtotal_price` 404.95,
    `total_discounts` 20.00, no `discount_applications`, no line `discount_allocations`,
    shipping 10.00 discounted to 0.00, no tax. Other fields trimmed."""
    def line(line_id, title, price):
        return {"id": line_id, "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}", "title": title,
                "price": price, "quantity": 1, "current_quantity": 1, "gift_card": False,
                "product_id": 788032119674292922, "tax_lines": [], "discount_allocations": []}
    return {
        "id": 820982911946154508, "currency": "USD", "created_at": "2021-12-31T19:00:00-05:00",
        "processed_at": "2021-12-31T19:00:00-05:00", "updated_at": "2021-12-31T19:00:00-05:00",
        "financial_status": "paid", "fulfillment_status": None, "cancelled_at": None, "test": False,
        "taxes_included": False, "subtotal_price": "404.95", "total_discounts": "20.00",
        "total_line_items_price": "414.95", "total_price": "404.95", "total_tax": "0.00",
        "current_subtotal_price": "414.95", "discount_codes": [], "discount_applications": [],
        "customer": {"id": 115310627314723954, "email": "john@example.com"},
        "line_items": [line(487817672276298554, "Aviator sunglasses", "89.99"),
                       line(789012345678901234, "Lens Protection Plan (2 Year)", "19.99"),
                       line(890123456789012345, "Premium Leather Case", "24.99"),
                       line(976318377106520349, "Mid-century lounger", "159.99"),
                       line(315789986012684393, "Coffee table", "119.99")],
        "shipping_lines": [{"price": "10.00", "discounted_price": "0.00", "tax_lines": [], "discount_allocations": []}],
        "refunds": [],
    }


def test_the_published_sample_earns_on_its_subtotal_after_discounts(client, app):
    rt = app.extensions["loyalty"]
    shop, _ = rt.shops.register("shopify", S.DOMAIN, currency="USD",
                                credentials={"access_token": "t", "api_secret": SECRET})
    seen = rest_order(published_sample())
    assert sum(li.total for li in seen.order.lines) == Decimal("404.95")
    assert seen.order.unallocated_discount == Decimal("10.00")
    assert S.Sender(client, SECRET).deliver("orders/paid", published_sample()).status_code == 200
    _, balance = rt.members.by_customer(shop.id, "115310627314723954")
    assert balance.points == 404  # not 414: the order's own subtotal after discounts
    with rt.db.transaction() as conn:
        reason = conn.execute(text("select reason from ledger_entries where idempotency_key = :k"), {"k": "order:820982911946154508:points"}).scalar()
    assert "order discount of $10.00 spread over the items" in reason


def test_an_unallocated_order_discount_is_spread_in_proportion_in_both_shapes():
    o = S.order(lines=[S.line_item(1, "30.00", 2, tax="12.00"), S.line_item(2, "40.00", 1, tax="8.00")],
                unallocated_discount="10.00", shipping_tax="1.40")
    assert o["subtotal_price"] == "90.00" and o["total_discounts"] == "10.00" and o["total_tax"] == "21.40"
    seen = rest_order(o)
    assert [li.total for li in seen.order.lines] == [Decimal("54.00"), Decimal("36.00")]  # 60:40 of the 10.00
    assert [li.tax for li in seen.order.lines] == [Decimal("12.00"), Decimal("8.00")]
    assert graphql_order(S.to_graphql(o)).order == seen.order
    # allocated discounts are not counted twice
    allocated = S.order(lines=[S.line_item(1, "30.00", 2, discount="6.00"), S.line_item(2, "40.00", 1, discount="4.00")])
    assert rest_order(allocated).order.unallocated_discount == 0
    assert sum(li.total for li in rest_order(allocated).order.lines) == Decimal(allocated["subtotal_price"])
