"""Settling reward codes against what the platforms really do: WooCommerce hands codes back
lower-cased; the lapse job asks the platform whether a code was used before giving points back and
takes unused codes off the platform; a code used by another customer waits for the merchant, who
decides once, with a reason; `loyalty audit` finds a hold given back whose code an order used.
WooCommerce through the `woocommerce` library against its stand-in, Shopify through the SDK."""
import uuid
from datetime import timedelta

from sqlalchemy import text

from plugin_app.domain.ports import FixedClock
from plugin_app.services import identity
from plugin_app.services.audit import run_audit

from . import shopify_standin as S
from . import woocommerce_standin as W
from .test_cart import SECRET, apply, balance
from .test_cart import env as shop  # noqa: F401  (fixture: a Shopify shop on the stand-in)
from .test_woocommerce import env as woo  # noqa: F401  (fixture: a WooCommerce store on the stand-in)

CART = {"currency": "EUR", "lines": [{"product_id": "p", "quantity": 1, "price": "40.00"}]}


# -- helpers ---------------------------------------------------------------------------------
def woo_member(woo, customer="12", points=300):  # noqa: F811
    member, _ = woo.rt.members.enrol(woo.shop_id, customer)
    woo.rt.ledger.earn(woo.shop_id, member.id, "points", points, key=f"seed-{customer}", source="order", reason="seed")
    return member


def woo_redeem(woo, customer="12"):  # noqa: F811
    shop = woo.rt.shops.get(woo.shop_id)
    token = identity.sign(woo.shop_id, customer, woo.rt.shops.widget_secret(woo.shop_id))
    r = woo.client.post(f"/storefront/v1/cart/redemptions?shop={shop.widget_key}",
                        headers={"Authorization": f"Bearer {token}"},
                        json={"idempotency_key": str(uuid.uuid4()), "reward_id": "five-off", "cart": CART})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def woo_order(order_id, code, *, customer_id=12, status="processing", modified="2026-11-21T10:00:00"):
    """A paid order with tax, shipping and the reward code as an order-level discount (5.00 off a 40.00
    line, 22% VAT on what is left), its coupon line as WooCommerce returns it (lower-cased)."""
    o = W.order(order_id, status, customer_id=customer_id, modified=modified, lines=[(order_id * 10, 1, "35.00")],
                coupons=[code], shipping="4.90")
    o["line_items"][0].update(subtotal="40.00", total="35.00", total_tax="7.70", subtotal_tax="8.80")
    o.update(discount_total="5.00", cart_tax="7.70", total_tax="7.70", total="47.60")
    return o


def later(rt, hours=9):
    clock = FixedClock(rt.clock.now() + timedelta(hours=hours))
    rt.cart.clock = clock
    rt.ledger.clock = clock
    return clock


def woo_bal(woo, member):  # noqa: F811
    b = woo.rt.members.get(woo.shop_id, member.id)[1]
    return b.points, b.held_points


def redemption(rt, code):
    with rt.db.transaction() as conn:
        return conn.execute(text("select * from redemptions where code = :c"), {"c": code}).one()


# -- item 1: a used code never gives its points back --------------------------------------------
def test_woocommerce_lower_cased_code_commits_the_hold_and_lapse_gives_nothing_back(woo):  # noqa: F811
    member = woo_member(woo)
    body = woo_redeem(woo)
    assert woo_bal(woo, member) == (200, 100)
    coupon = next(c for c in woo.state.coupons.values())
    assert coupon["code"] == body["code"].lower() != body["code"]  # what WooCommerce stores
    paid = woo.state.place(woo_order(50, body["code"]))
    assert paid["coupon_lines"][0]["code"] == body["code"].lower()
    assert woo.sender.deliver("order.updated", paid).status_code == 200
    row = redemption(woo.rt, body["code"])
    assert (row.status, row.order_id) == ("committed", "50")
    assert woo_bal(woo, member) == (200 + 35, 0)  # 100 spent; 35 earned on 35.00 after the discount
    later(woo.rt)
    assert woo.rt.cart.lapse() == 0
    assert woo_bal(woo, member) == (235, 0)  # the discount was had; the points stay spent
    assert run_audit(woo.rt.db).ok


def test_woocommerce_lower_cased_code_used_by_another_customer_is_flagged(woo):  # noqa: F811
    member = woo_member(woo)
    body = woo_redeem(woo)
    woo.sender.deliver("order.updated", woo.state.place(woo_order(51, body["code"], customer_id=99)))
    row = redemption(woo.rt, body["code"])
    assert (row.status, row.order_id, row.used_by) == ("flagged", "51", "99")
    with woo.rt.db.transaction() as conn:
        reason = conn.execute(text("select payload from events where type = 'redemption_flagged'")).scalar()["reason"]
    assert reason == "used by another customer"
    later(woo.rt)
    assert woo.rt.cart.lapse() == 0 and woo_bal(woo, member) == (200, 100)  # held until the merchant decides


def test_woocommerce_lapse_commits_a_code_the_store_counted_even_if_its_order_never_arrived(woo):  # noqa: F811
    member = woo_member(woo)
    body = woo_redeem(woo)
    order = woo.state.place(woo_order(52, body["code"]))  # the webhook is lost; the store counted the coupon
    coupon = next(iter(woo.state.coupons.values()))
    assert (coupon["usage_count"], coupon["used_by"]) == (1, ["12"])
    later(woo.rt)
    assert woo.rt.cart.lapse() == 1
    assert woo_bal(woo, member) == (200, 0)  # spent, not given back
    row = redemption(woo.rt, body["code"])
    assert (row.status, row.order_id) == ("committed", None)
    woo.sender.deliver("order.updated", order)  # the order turns up later: it is recorded, nothing spent twice
    row = redemption(woo.rt, body["code"])
    assert (row.status, row.order_id) == ("committed", "52")
    assert woo_bal(woo, member) == (235, 0)
    assert run_audit(woo.rt.db).ok


def test_woocommerce_lapse_deletes_the_unused_coupon_then_gives_the_points_back(woo):  # noqa: F811
    member = woo_member(woo)
    woo_redeem(woo)
    later(woo.rt)
    assert woo.rt.cart.lapse() == 1 and woo.rt.cart.lapse() == 0
    assert woo.state.coupons == {}  # nobody can use it for free now
    assert woo_bal(woo, member) == (300, 0)


def test_woocommerce_lapse_keeps_the_hold_while_the_store_cannot_be_asked(woo):  # noqa: F811
    member = woo_member(woo)
    woo_redeem(woo)
    later(woo.rt)
    woo.state.keys.clear()  # the store refuses our keys now
    assert woo.rt.cart.lapse() == 0
    assert woo_bal(woo, member) == (200, 100)
    later(woo.rt, hours=24 * 15)  # long past: given up on the store
    assert woo.rt.cart.lapse() == 1 and woo_bal(woo, member) == (300, 0)


def test_woocommerce_coupon_lookup_by_code_is_case_insensitive(woo):  # noqa: F811
    woo_member(woo)
    body = woo_redeem(woo)
    from connectors.woocommerce.admin import WooAdmin
    api = WooAdmin(woo.url, "ck_standin", "cs_standin")
    found, _ = api._call("get", "coupons", code=body["code"])
    assert [c["code"] for c in found] == [body["code"].lower()]
    assert api.discount_usage(str(found[0]["id"])) == 0
    assert api.discount_usage("99999") is None


def test_shopify_code_in_another_case_still_settles(shop):  # noqa: F811
    body = apply(shop, reward_id="five-off").get_json()
    order = S.order(5101, customer_id=73)
    order["discount_codes"] = [{"code": body["code"].lower(), "amount": "5.00", "type": "fixed_amount"}]
    S.Sender(shop.client, SECRET).deliver("orders/paid", order)
    assert redemption(shop.rt, body["code"]).status == "committed"
    assert (balance(shop).points, balance(shop).held_points) == (250 + 80, 0)


def test_shopify_lapse_asks_the_usage_count(shop):  # noqa: F811
    used = apply(shop, reward_id="five-off").get_json()
    unused = apply(shop, reward_id="five-off").get_json()
    gid = shop.state.use_code(used["code"].lower())  # an order was placed with it; its webhook is late
    later(shop.rt)
    assert shop.rt.cart.lapse() == 2
    assert redemption(shop.rt, used["code"]).status == "committed"
    assert redemption(shop.rt, unused["code"]).status == "released"
    assert list(shop.state.discounts) == [gid]  # the unused one was deleted on the platform
    assert (balance(shop).points, balance(shop).held_points) == (250, 0)
    assert any("codeDiscountNode" in r["query"] for r in shop.state.requests)


def test_removing_a_code_an_order_already_used_spends_it(shop):  # noqa: F811
    body = apply(shop, reward_id="five-off").get_json()
    shop.state.use_code(body["code"])
    r = shop.client.delete(f"/storefront/v1/cart/redemptions/{body['redemption_id']}?shop={shop.shop.widget_key}",
                           headers={"Authorization": f"Bearer {shop.token}"})
    assert r.get_json()["status"] == "committed"
    assert (balance(shop).points, balance(shop).held_points) == (250, 0)


# -- item 8: the merchant decides a flagged redemption --------------------------------------------
def flag(shop, order_id=6001, used_by=99):  # noqa: F811
    body = apply(shop, reward_id="five-off").get_json()
    order = S.order(order_id, customer_id=used_by)
    order["discount_codes"] = [{"code": body["code"], "amount": "5.00", "type": "fixed_amount"}]
    S.Sender(shop.client, SECRET).deliver("orders/paid", order)
    return body


def test_flagged_redemption_is_shown_and_released_once_with_a_reason(shop):  # noqa: F811
    body = flag(shop)
    ops = shop.client.get("/admin/api/v1/operations", headers=shop.admin).get_json()
    [f] = ops["flagged_redemptions"]
    assert (f["code"], f["owner_customer_id"], f["used_by_customer_id"], f["order_id"], f["amount"], f["status"]) == \
        (body["code"], "73", "99", "6001", "100", "flagged")
    listed = shop.client.get("/admin/api/v1/operations/flagged-redemptions", headers=shop.admin).get_json()
    assert listed["redemptions"] == [f]
    url = f"/admin/api/v1/operations/flagged-redemptions/{f['id']}/decision"
    for bad in ({"decision": "release"}, {"decision": "release", "reason": ""}, {"decision": "refund", "reason": "x"},
                {"decision": "release", "reason": "   "}, {"decision": "release", "reason": "x", "extra": 1}):
        r = shop.client.post(url, json=bad, headers=shop.admin)
        assert r.status_code == 422 and r.is_json, (bad, r.get_data(as_text=True))
    r = shop.client.post(url, data="nope", headers={**shop.admin, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.is_json
    assert shop.client.post("/admin/api/v1/operations/flagged-redemptions/999999/decision", json={
        "decision": "release", "reason": "x"}, headers=shop.admin).status_code == 404
    assert balance(shop).held_points == 100  # nothing decided by bad requests
    done = shop.client.post(url, json={"decision": "release", "reason": "code leaked on a forum", "actor": "ann"},
                            headers=shop.admin)
    out = done.get_json()
    assert done.status_code == 200, out
    assert (out["status"], out["decision"], out["decided_by"], out["reason"]) == \
        ("released", "release", "api-key:ann", "code leaked on a forum")
    assert out["decided_at"]
    assert (balance(shop).points, balance(shop).held_points) == (350, 0)
    with shop.rt.db.transaction() as conn:
        entry = conn.execute(text("select * from ledger_entries where kind = 'release' order by id desc limit 1")).one()
    assert entry.actor == "api-key:ann" and "code leaked on a forum" in entry.reason and "6001" in entry.reason
    assert entry.details["decision"] == "release" and entry.details["decided_by"] == "api-key:ann"
    again = shop.client.post(url, json={"decision": "commit", "reason": "changed my mind"}, headers=shop.admin)
    assert again.status_code == 409 and again.is_json
    assert balance(shop).points == 350
    ops = shop.client.get("/admin/api/v1/operations", headers=shop.admin).get_json()
    assert ops["flagged_redemptions"] == []  # decided: off the to-do list, still in the history
    assert shop.client.get("/admin/api/v1/operations/flagged-redemptions", headers=shop.admin).get_json()[
        "redemptions"][0]["decision"] == "release"
    assert run_audit(shop.rt.db).ok  # the merchant's recorded decision is not a leak


def test_flagged_redemption_committed_charges_the_owner(shop):  # noqa: F811
    flag(shop)
    [f] = shop.rt.cart.flagged(shop.shop.id)
    out = shop.client.post(f"/admin/api/v1/operations/flagged-redemptions/{f['id']}/decision",
                           json={"decision": "commit", "reason": "the customer shared it with a friend"},
                           headers=shop.admin).get_json()
    assert out["status"] == "committed"
    assert (balance(shop).points, balance(shop).held_points) == (250, 0)
    assert run_audit(shop.rt.db).ok


def test_flagged_redemptions_are_scoped_to_the_shop(shop):  # noqa: F811
    flag(shop)
    [f] = shop.rt.cart.flagged(shop.shop.id)
    other, key = shop.rt.shops.register("demo", "other-shop.example")
    them = {"Authorization": f"Bearer {key}"}
    assert shop.client.get("/admin/api/v1/operations/flagged-redemptions", headers=them).get_json()["redemptions"] == []
    r = shop.client.post(f"/admin/api/v1/operations/flagged-redemptions/{f['id']}/decision",
                         json={"decision": "release", "reason": "x"}, headers=them)
    assert r.status_code == 404 and balance(shop).held_points == 100


def test_flagged_redemptions_on_the_operations_page_in_english_and_italian(shop):  # noqa: F811
    body = flag(shop)
    client = shop.client
    key = shop.admin["Authorization"].split(" ", 1)[1]
    client.post("/admin/login", data={"key": key})
    page = client.get("/admin/operations?lang=en").get_data(as_text=True)
    assert "Reward codes used by another customer" in page and body["code"] in page and "6001" in page
    assert "Give the points back" in page
    italian = client.get("/admin/operations?lang=it").get_data(as_text=True)
    assert "Codici premio usati da un altro cliente" in italian and "Restituisci i punti" in italian
    with client.session_transaction() as s:
        csrf = s["csrf"]
    [f] = shop.rt.cart.flagged(shop.shop.id)
    empty = client.post("/admin/operations", data={"csrf": csrf, "action": "decide", "redemption_id": f["id"],
                                                  "decision": "commit", "reason": ""}).get_data(as_text=True)
    assert 'role="alert"' in empty and balance(shop).held_points == 100
    client.post("/admin/operations", data={"csrf": csrf, "action": "decide", "redemption_id": f["id"],
                                          "decision": "commit", "reason": "owner confirmed"})
    assert (balance(shop).points, balance(shop).held_points) == (250, 0)
    row = redemption(shop.rt, body["code"])
    assert (row.decision, row.decided_by, row.decision_reason) == ("commit", f"admin-page:{shop.shop.id}", "owner confirmed")


def test_decision_endpoints_are_in_the_openapi_document(shop):  # noqa: F811
    paths = shop.client.get("/openapi.json").get_json()["paths"]
    assert "get" in paths["/admin/api/v1/operations/flagged-redemptions"]
    decide = paths["/admin/api/v1/operations/flagged-redemptions/{redemption_id}/decision"]["post"]
    assert {"404", "409", "422"} <= set(decide["responses"])


# -- audit: no hold released whose code an order used ---------------------------------------------
def test_audit_finds_a_released_hold_whose_code_an_order_used(woo):  # noqa: F811
    woo_member(woo)
    body = woo_redeem(woo)
    coupon_id = next(iter(woo.state.coupons))
    woo.state.coupons[coupon_id]["usage_count"] = 0
    with woo.rt.db.transaction() as conn:  # a hold released by hand, the old way (no question asked)
        row = conn.execute(text("select id, hold_id from redemptions")).one()
    woo.rt.ledger.release(woo.shop_id, row.hold_id, key="by-hand", source="system", reason="released by hand")
    with woo.rt.db.transaction() as conn:
        conn.execute(text("update redemptions set status = 'released' where id = :i"), {"i": row.id})
    assert run_audit(woo.rt.db).ok
    woo.sender.deliver("order.updated", woo.state.place(woo_order(53, body["code"])))
    report = run_audit(woo.rt.db)
    assert not report.ok
    assert report.problems == [f"shop {woo.shop_id}: redemption {row.id}'s hold was released, but order 53 "
                               f"used its code {body['code']}"]
    assert not run_audit(woo.rt.db, shop_id=woo.shop_id).ok


def test_redacting_the_customer_who_used_the_code_removes_their_id(shop):  # noqa: F811
    body = flag(shop, used_by=99)
    S.Sender(shop.client, SECRET).deliver("customers/redact", {
        "shop_id": 1, "shop_domain": S.DOMAIN, "orders_to_redact": [6001], "customer": {"id": 99, "email": "x@example.org"}})
    used_by = redemption(shop.rt, body["code"]).used_by
    assert used_by != "99" and used_by.startswith("redacted-")


def test_a_code_committed_before_its_order_arrived_comes_back_when_the_order_is_cancelled(woo):  # noqa: F811
    member = woo_member(woo)
    body = woo_redeem(woo)
    order = woo.state.place(woo_order(54, body["code"]))  # counted by the store; the webhook is lost
    later(woo.rt)
    assert woo.rt.cart.lapse() == 1 and woo_bal(woo, member) == (200, 0)
    woo.sender.deliver("order.updated", order)  # it turns up paid: 35 earned
    assert woo_bal(woo, member) == (235, 0)
    cancelled = woo.state.place({**order, "status": "cancelled", "date_modified_gmt": "2026-11-21T12:00:00"})
    assert next(iter(woo.state.coupons.values()))["usage_count"] == 0  # the store gave the coupon back too
    woo.sender.deliver("order.updated", cancelled)
    woo.sender.deliver("order.updated", cancelled)
    assert woo_bal(woo, member) == (300, 0)  # the 100 spent come back once; the 35 earned go
    assert run_audit(woo.rt.db).ok
