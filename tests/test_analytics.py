"""Analytics rollups equal the same figures computed directly from the ledger, incrementally."""
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import text

from . import factories as F


def direct(rt, shop_id):
    """The figures computed straight from ledger entries, for comparison."""
    with rt.db.transaction() as conn:
        q = lambda sql: conn.execute(text(sql), {"s": shop_id}).scalar() or 0  # noqa: E731
        return {
            "issued": q("select sum(points + points_pending) from ledger_entries where shop_id = :s and asset = 'points' "
                        "and kind in ('earn', 'adjust') and points + points_pending > 0"),
            "reversed": q("select -sum(points + points_pending) from ledger_entries where shop_id = :s and asset = 'points' "
                          "and kind = 'reverse' and points + points_pending < 0"),
            "redeemed": q("select -sum(points) from ledger_entries where shop_id = :s and asset = 'points' and "
                          "(kind = 'redeem' or (kind = 'adjust' and points < 0) or (kind = 'reverse' and points > 0))")
                        + q("select sum(amount) from ledger_entries where shop_id = :s and asset = 'points' and kind = 'commit'"),
            "expired": q("select -sum(points) from ledger_entries where shop_id = :s and asset = 'points' and kind = 'expire'"),
            "outstanding": q("select sum(points) from balances where shop_id = :s"),
        }


def test_rollups_match_the_ledger_and_stay_current(runtime, shop, clock, client=None):
    rt = runtime
    F.use_program(rt, shop, expiry=F.expiry("age", months=1))
    for day in range(5):
        for n in range(3):
            rt.orders.on_paid(shop.id, F.order(F.line(total=40 + n, quantity=2, line_id="a"), order_id=f"{day}-{n}",
                                               customer=f"c{n}", placed_at=clock.now()))
        member = rt.members.by_customer(shop.id, "c0")[0]
        rt.ledger.redeem(shop.id, member.id, "points", 10, key=f"r{day}", source="cart", reason="x")
        hold = rt.ledger.reserve(shop.id, member.id, "points", 20, key=f"h{day}", source="cart", reason="x")
        rt.ledger.commit(shop.id, hold.hold_id, 15, key=f"c{day}", source="order", reason="x")
        rt.orders.on_refund(shop.id, f"{day}-1", F.refund(("a", 1), refund_id=f"rf{day}"))
        clock.advance(days=1)
    assert rt.analytics.refresh() > 0
    clock.advance(days=40)
    rt.ledger.expire_due()
    rt.ledger.adjust(shop.id, rt.members.by_customer(shop.id, "c2")[0].id, "points", 7, key="adj", actor="t", reason="x")
    assert rt.analytics.refresh() > 0 and rt.analytics.refresh() == 0  # incremental: nothing twice
    start = (clock.now() - timedelta(days=60)).date()
    board = rt.analytics.dashboard(shop.id, "EUR", start, clock.now().date())
    want = direct(rt, shop.id)
    got = board["points"]
    assert (got["issued"], got["reversed"], got["redeemed"], got["expired"], got["outstanding"]) == (
        want["issued"], want["reversed"], want["redeemed"], want["expired"], want["outstanding"])
    assert got["expired"] > 0 and got["reversed"] > 0 and got["redeemed"] == 5 * (10 + 15)
    assert board["members"]["total"] == 3 and board["liability"]["amount"] == str(
        (Decimal(want["outstanding"]) * Decimal("0.05")).quantize(Decimal("0.01")))
    assert len(board["daily"]) == 6


def test_analytics_api_and_csv(client):
    from plugin_app.services.audit import run_audit  # noqa: F401  (the app fixture's runtime)

    rt = client.application.extensions["loyalty"]
    shop, key = F.shop_and_key(rt, domain="stats.example")
    member = F.member(rt, shop, "c1")
    rt.ledger.earn(shop.id, member.id, "points", 120, key="k", source="order", reason="x")
    rt.analytics.refresh()
    h = {"Authorization": f"Bearer {key}"}
    body = client.get("/admin/api/v1/analytics", headers=h).get_json()
    assert body["points"]["issued"] == 120 and body["points"]["outstanding"] == 120
    csv = client.get("/admin/api/v1/analytics/daily.csv", headers=h)
    assert csv.status_code == 200 and csv.data.decode().splitlines()[0].startswith("day,points_issued")
    assert client.get("/admin/api/v1/analytics?from=2026-02-01&to=2026-01-01", headers=h).status_code == 422
    assert client.get("/admin/api/v1/analytics?from=garbage", headers=h).status_code == 422


def test_operations_list_failed_deliveries_and_replay_them(client):
    rt = client.application.extensions["loyalty"]
    shop, key = F.shop_and_key(rt, domain="ops.example")
    other, other_key = F.shop_and_key(rt, domain="ops-other.example")
    bad, _ = rt.inbox.accept(shop.id, "internal", "action.completed", "e1", b'{"nope": 1}', {})
    h = {"Authorization": f"Bearer {key}"}
    ops = client.get("/admin/api/v1/operations", headers=h).get_json()
    assert [d["id"] for d in ops["failed_deliveries"]] == [bad] and ops["failed_deliveries"][0]["reason"]
    assert client.get("/admin/api/v1/operations", headers={"Authorization": f"Bearer {other_key}"}).get_json()[
        "failed_deliveries"] == []  # another shop sees none of it
    assert client.post(f"/admin/api/v1/operations/deliveries/{bad}/replay",
                       headers={"Authorization": f"Bearer {other_key}"}).status_code == 409
    r = client.post(f"/admin/api/v1/operations/deliveries/{bad}/replay", headers=h).get_json()
    assert r["state"] == "failed"  # still malformed: it fails again, visibly, with its reason
    assert rt.inbox.get(bad).attempts == 1


def direct_orders(rt, shop_id, start, end):
    """Order figures straight from the orders table, for comparison with the rollups."""
    with rt.db.transaction() as conn:
        rows = conn.execute(text(
            "select customer_key, total, redeemed, placed_at, id from orders where shop_id = :s and counted "
            "order by placed_at, id"), {"s": shop_id}).all()
    seen, out = set(), {"member": [0, Decimal(0), 0, 0], "guest": [0, Decimal(0), 0, 0], "redeemed": [0, Decimal(0)]}
    for key, total, redeemed, placed, _id in rows:
        returning = key is not None and key in seen
        if key is not None:
            seen.add(key)
        if not (start <= placed.date() <= end):
            continue
        seg = out["member" if key and key.startswith("c:") else "guest"]
        seg[0] += 1
        seg[1] += Decimal(total)
        seg[2] += returning
        seg[3] += not returning
        if redeemed:
            out["redeemed"][0] += 1
            out["redeemed"][1] += Decimal(total)
    return out


def test_order_member_and_referral_figures_match_direct_computation(runtime, shop, clock):
    from plugin_app.domain.events import CustomerSeen, OrderSeen
    from plugin_app.services.cart import Cart, CartLine

    rt = runtime
    for n in range(1, 5):
        rt.platform.apply(shop.id, CustomerSeen(f"c{n}", f"c{n}@example.com", created=True, name=f"Ada Lovelace {n}"))
    assert rt.members.search(shop.id, "lovelace 3", 5) == [rt.members.by_customer(shop.id, "c3")[0].id]

    def order(oid, customer, total, email=None, codes=(), paid=True, cancelled=False):
        o = F.order(F.line(total, line_id="l"), order_id=oid, customer=customer, placed_at=clock.now(), shipping="4.90")
        return rt.platform.apply(shop.id, OrderSeen(o, paid=paid, cancelled=cancelled, codes=codes,
                                                    facts={"email": email}))

    order("o1", "c1", "120.00")
    clock.advance(days=1)
    order("o2", "c1", "80.00")
    order("o3", None, "30.00", email="Guest@Example.com")
    clock.advance(days=1)
    order("o4", None, "45.50", email="guest@example.com ")  # the same guest: a repeat purchase
    order("o5", None, "10.00")  # a guest without an email: always new
    answer = rt.cart.apply(shop.id, "EUR", "c1", "k1", cart=Cart("EUR", (CartLine("l", 1, Decimal("60")),)),
                           reward_id="five-off")
    order("o6", "c1", "60.00", codes=(answer["code"],))
    order("o7", "c2", "200.00")
    order("o7", "c2", "200.00")  # a duplicate delivery counts nothing
    clock.advance(days=1)
    order("o7", "c2", "200.00", cancelled=True)  # leaves the figures
    order("o8", "c3", "15.00", paid=False)  # unpaid: not an order yet
    rt.analytics.refresh()

    end = clock.now().date()
    start = end - timedelta(days=29)
    board = rt.analytics.dashboard(shop.id, "EUR", start, end)
    want = direct_orders(rt, shop.id, start, end)
    members, guests = board["orders"]["members"], board["orders"]["non_members"]
    c = Decimal("0.01")
    want = {k: [x.quantize(c) if isinstance(x, Decimal) else x for x in v] for k, v in want.items()}
    assert (members["orders"], members["revenue"]["amount"]) == (want["member"][0], str(want["member"][1]))
    assert (guests["orders"], guests["revenue"]["amount"]) == (want["guest"][0], str(want["guest"][1]))
    assert members["repeat_purchase_rate"] == round(want["member"][2] / want["member"][0], 4)
    assert guests["repeat_purchase_rate"] == round(want["guest"][2] / want["guest"][0], 4)
    assert members["average_order_value"]["amount"] == str((want["member"][1] / want["member"][0]).quantize(Decimal("0.01")))
    got_red = board["orders"]["with_redemptions"]
    assert (got_red["orders"], got_red["revenue"]["amount"]) == (want["redeemed"][0], str(want["redeemed"][1]))
    # The seeded figures, by hand: c1's three orders (124.90 + 84.90 + 64.90), guests 34.90 + 50.40 + 14.90.
    assert (members["orders"], members["revenue"]["amount"], members["repeat_purchase_rate"]) == (3, "274.70", 0.6667)
    assert (guests["orders"], guests["revenue"]["amount"], guests["repeat_purchase_rate"]) == (3, "100.20", 0.3333)
    assert got_red == {"orders": 1, "revenue": {"amount": "64.90", "currency": "EUR"}}

    with rt.db.transaction() as conn:
        active = conn.execute(text(
            "select count(distinct member_id) from ledger_entries where shop_id = :s and kind in ('earn', 'redeem', 'commit') "
            "and created_at >= :a"), {"s": shop.id, "a": clock.now() - timedelta(days=29)}).scalar()
        enrolled = conn.execute(text("select count(*) from members where shop_id = :s"), {"s": shop.id}).scalar()
    assert board["members"]["active_in_period"] == active == 4  # c4 earned only the welcome bonus (an earn)
    assert board["members"]["enrolled_in_period"] == enrolled == 4
    assert board["members"]["enrolment_rate"] == round(4 / (4 + guests["new_customers"]), 4) == round(4 / 6, 4)
    redeemed_value = Decimal(board["points"]["redeemed"]) * Decimal("0.05")
    assert board["program"]["cost"]["amount"] == str(redeemed_value.quantize(Decimal("0.01"))) == "5.00"
    assert board["program"]["revenue_touched"]["amount"] == "274.70"
    assert board["referrals"]["sign_ups"] == 0 and "landings" in board["referrals"]
    for table in rt.analytics.TABLES:
        assert rt.analytics.csv(board, table).count("\n") >= 2  # a header and rows, for every table
