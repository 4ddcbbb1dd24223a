"""Analytics rollups equal the same figures computed directly from the ledger, incrementally."""
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import text

from plugin_app.domain.earning import Order, OrderLine, Refund, RefundLine


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
    rt.programs.put(shop.id, {"expiry": {"mode": "age", "months": 1}}, author="t")
    for day in range(5):
        for n in range(3):
            rt.orders.on_paid(shop.id, Order(f"{day}-{n}", "EUR", clock.now(), (OrderLine("a", 2, Decimal(40 + n)),), f"c{n}"))
        member = rt.members.by_customer(shop.id, "c0")[0]
        rt.ledger.redeem(shop.id, member.id, "points", 10, key=f"r{day}", source="cart", reason="x")
        hold = rt.ledger.reserve(shop.id, member.id, "points", 20, key=f"h{day}", source="cart", reason="x")
        rt.ledger.commit(shop.id, hold.hold_id, 15, key=f"c{day}", source="order", reason="x")
        rt.orders.on_refund(shop.id, f"{day}-1", Refund(f"rf{day}", (RefundLine("a", 1),)))
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
    shop, key = rt.shops.register("demo", "stats.example")
    member, _ = rt.members.enrol(shop.id, "c1")
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
    shop, key = rt.shops.register("demo", "ops.example")
    other, other_key = rt.shops.register("demo", "ops-other.example")
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
