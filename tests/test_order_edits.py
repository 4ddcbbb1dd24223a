"""An order edited after payment (Shopify order editing: orders/updated carries the current line
items, `current_quantity` less removed units) converges on its current lines: a line added earns
its share once under its own key, a line removed takes its share back, stale or repeated
snapshots change nothing, and refunds and cancellation still take back exactly what was kept."""
from sqlalchemy import text

from plugin_app.services.audit import run_audit

from . import shopify_standin as S

SECRET = "shpss_edits"
CUSTOMER = "7300400500600"
OID = 6120345600001
FIRST = S.line_item(1501, "42.50", 2, discount="5.00", tax="16.00")
ADDED = S.line_item(1502, "20.00", 1, tax="4.00", title="Trail Socks", product_id=8100200300500)


def balance(rt, shop):
    _, b = rt.members.by_customer(shop.id, CUSTOMER)
    return b.points


def test_a_line_added_after_payment_earns_once_and_a_removed_one_is_taken_back(client, app):
    rt = app.extensions["loyalty"]
    shop, _ = rt.shops.register("shopify", S.DOMAIN, currency="EUR",
                                credentials={"access_token": "t", "api_secret": SECRET})
    sender = S.Sender(client, SECRET)
    paid = S.order(OID, lines=[FIRST], shipping_tax="1.40", updated_at="2026-03-14T10:22:05-04:00")
    sender.deliver("orders/paid", paid)
    assert balance(rt, shop) == 80  # 2 x 42.50 - 5.00, tax and shipping outside the base

    edited = S.order(OID, lines=[FIRST, ADDED], shipping_tax="1.40", updated_at="2026-03-15T08:00:00-04:00")
    assert sender.deliver("orders/updated", edited).status_code == 200
    assert balance(rt, shop) == 100  # the new line's 20.00 earns once
    for topic in ("orders/updated", "orders/updated", "orders/paid"):  # repeats, and the stale paid snapshot
        sender.deliver(topic, edited if topic != "orders/paid" else paid)
    assert balance(rt, shop) == 100
    with rt.db.transaction() as conn:
        edit = conn.execute(text("select amount, reason, idempotency_key from ledger_entries "
                                 "where idempotency_key like :k"), {"k": f"order:{OID}:edit:%:points"}).one()
    assert edit.amount == 20 and edit.reason == f"Order {OID} changed: earned on the added items"

    # A later edit takes the socks off again (current_quantity 0): their 20 points go back.
    removed = S.order(OID, lines=[FIRST, S.line_item(1502, "20.00", 1, tax="4.00", removed=1)],
                      shipping_tax="1.40", updated_at="2026-03-16T08:00:00-04:00")
    sender.deliver("orders/updated", removed)
    assert balance(rt, shop) == 80
    sender.deliver("orders/updated", edited)  # the older snapshot arrives late: nothing changes
    assert balance(rt, shop) == 80

    # A refund of one mug after the edits, then cancellation: everything balances out.
    sender.deliver("refunds/create", S.refund(9901, OID, line_id=1501, quantity=1, subtotal="40.00", tax="8.00"))
    assert balance(rt, shop) == 40
    sender.deliver("orders/cancelled", S.order(OID, lines=[FIRST], cancelled=True, financial_status="refunded",
                                               updated_at="2026-03-17T08:00:00-04:00"))
    assert balance(rt, shop) == 0
    assert run_audit(rt.db).ok


def test_an_edit_seen_before_the_original_earns_on_the_current_lines_only(client, app):
    rt = app.extensions["loyalty"]
    shop, _ = rt.shops.register("shopify", S.DOMAIN, currency="EUR",
                                credentials={"access_token": "t", "api_secret": SECRET})
    sender = S.Sender(client, SECRET)
    sender.deliver("orders/updated", S.order(OID, lines=[FIRST, ADDED], updated_at="2026-03-15T08:00:00-04:00"))
    sender.deliver("orders/paid", S.order(OID, lines=[FIRST], updated_at="2026-03-14T10:22:05-04:00"))
    assert balance(rt, shop) == 100


def test_a_woocommerce_order_edited_after_payment_earns_on_the_added_line(client, app):
    """WooCommerce lets the merchant add items to a processing order; order.updated then carries
    the new line (the admin's "Add item(s)", `WC_AJAX::add_order_item` in includes/class-wc-ajax.php).
    Without a platform time on the snapshot, an edit can only add."""
    from . import woocommerce_standin as W
    rt = app.extensions["loyalty"]
    shop, _ = rt.shops.register("woocommerce", "http://woo-edit.test", currency="EUR", credentials={
        "consumer_key": "k", "consumer_secret": "s", "webhook_secret": "w"})
    sender = W.Sender(client, shop.id, "w")
    sender.deliver("order.updated", W.order(7, "processing", modified="2026-11-20T10:00:00"))
    _, b = rt.members.by_customer(shop.id, "12")
    assert b.points == 50  # the line's total is 50.00
    edited = W.order(7, "processing", modified="2026-11-20T11:00:00", lines=((101, 2, "50.00"), (102, 1, "30.00")))
    for _ in range(2):
        sender.deliver("order.updated", edited)
    sender.deliver("order.updated", W.order(7, "processing", modified="2026-11-20T10:00:00"))  # stale copy
    _, b = rt.members.by_customer(shop.id, "12")
    assert b.points == 80  # and the added line's 30.00 earns once
    assert run_audit(rt.db).ok
