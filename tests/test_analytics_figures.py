"""Issue 21: the dashboard's figures against a small shop computed by hand, days in the shop's
time zone, shop isolation and the empty shop (PostgreSQL)."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import text

from . import factories as F


def _paid(rt, shop, clock, oid, customer, *lines, email=None, codes=(), shipping="0", shipping_tax="0",
          taxes_included=False, at=None):
    from plugin_app.domain.events import OrderSeen

    o = F.order(*lines, order_id=oid, customer=customer, placed_at=at or clock.now(), shipping=shipping,
                shipping_tax=shipping_tax, taxes_included=taxes_included)
    return rt.platform.apply(shop.id, OrderSeen(o, paid=True, cancelled=False, codes=codes, facts={"email": email}))


def _code(rt, shop, customer, key):
    from plugin_app.services.cart import Cart, CartLine

    return rt.cart.apply(shop.id, "EUR", customer, key, cart=Cart("EUR", (CartLine("l", 1, Decimal("60")),)),
                         reward_id="five-off")["code"]


def test_figures_of_a_small_shop_by_hand(runtime, shop, clock):
    from plugin_app.domain.events import CustomerSeen

    rt = runtime
    F.use_program(rt, shop, tiers=F.tiers(("Bronze", 0), ("Gold", 100000)))
    for n in (1, 2, 3):
        rt.platform.apply(shop.id, CustomerSeen(f"c{n}", f"c{n}@example.com", created=True, name=f"C {n}"))
    start = clock.now().date()
    # c1: 2 x 50.00 less 10.00 discount, 22 % tax beside the price, 5.00 shipping: net sales 95.00, earns 90 points
    _paid(rt, shop, clock, "o1", "c1", F.line("50.00", 2, discount="10.00", tax_rate="0.22", line_id="a"), shipping="5.00")
    clock.advance(days=1)
    for n in (1, 2, 3):  # enough points for a reward each
        member = rt.members.by_customer(shop.id, f"c{n}")[0]
        rt.ledger.earn(shop.id, member.id, "points", 200, key=f"gift{n}", source="admin", reason="t")
    used = _code(rt, shop, "c1", "k1")
    lapsing = _code(rt, shop, "c2", "k2")
    still_open = _code(rt, shop, "c3", "k3")
    # c1 again, with a reward code: 60.00 less the code's 5.00 (a redeemer's order)
    _paid(rt, shop, clock, "o2", "c1", F.line("60.00", discount="5.00", line_id="b"), codes=(used,))
    # c2: 61.00 with 22 % tax inside the price: net sales 50.00
    _paid(rt, shop, clock, "o3", "c2", F.line("61.00", tax_rate="0.22", taxes_included=True, line_id="c"),
          taxes_included=True)
    clock.advance(days=1)
    _paid(rt, shop, clock, "o4", None, F.line("30.00", line_id="d"), email="guest@example.com", shipping="4.90")
    _paid(rt, shop, clock, "o5", None, F.line("20.00", line_id="e"), email="guest@example.com")  # the guest again
    rt.orders.on_refund(shop.id, "o1", F.refund(("a", 1), refund_id="rf1"))  # half of o1's lines back
    with rt.db.transaction() as conn:  # c2 is in the Gold tier now (set here: its spend is far below)
        conn.execute(text("update members set tier = 'Gold' where shop_id = :s and platform_customer_id = 'c2'"),
                     {"s": shop.id})
        status = dict(conn.execute(text("select code, status from redemptions where shop_id = :s"), {"s": shop.id}).all())
    assert status[used] == "committed" and status[lapsing] == "issued"
    with rt.db.transaction() as conn:  # c2's code lapsed (as the lapse job leaves it)
        conn.execute(text("update redemptions set status = 'released' where shop_id = :s and code = :c"),
                     {"s": shop.id, "c": lapsing})
    rt.analytics.refresh()
    end = clock.now().date()
    board = rt.analytics.dashboard(shop.id, "EUR", start, end)

    seg = board["segments"]
    money = lambda a: {"amount": a, "currency": "EUR"}  # noqa: E731
    # redeemers: c1's o1 (95.00) and o2 (55.00); o2 is a repeat
    assert seg["redeemers"] == {"orders": 2, "revenue": money("150.00"), "average_order_value": money("75.00"),
                                "repeat_purchase_rate": 0.5}
    assert seg["non_redeemers"] == {"orders": 1, "revenue": money("50.00"), "average_order_value": money("50.00"),
                                    "repeat_purchase_rate": 0.0}
    # non-members: the guest's 34.90 and 20.00, the second a repeat
    assert seg["non_members"] == {"orders": 2, "revenue": money("54.90"), "average_order_value": money("27.45"),
                                  "repeat_purchase_rate": 0.5}
    assert board["rates"] == {"order_earning_rate": round(3 / 5, 4), "membership_rate": round(3 / 5, 4)}
    assert board["codes"] == {"issued": 3, "used": 1, "lapsed": 1, "open": 1, "usage_rate": round(1 / 3, 4)}

    with rt.db.transaction() as conn:
        points = dict(conn.execute(text(
            "select coalesce(m.tier, 'Bronze'), sum(b.points) from members m join balances b on b.member_id = m.id "
            "where m.shop_id = :s group by 1"), {"s": shop.id}).all())
    tiers = {t["tier"]: t for t in board["tiers"]}
    assert {k: (v["members"], v["orders"], v["revenue"]["amount"]) for k, v in tiers.items()} == {
        "Bronze": (2, 2, "150.00"), "Gold": (1, 1, "50.00")}
    assert {k: v["points_outstanding"] for k, v in tiers.items()} == points
    # c1 earned 90 (o1) + 200 - 100 (the code) + 55 (o2) - 45 (o1's refund); c3 200 - 100 (its code held)
    assert tiers["Bronze"]["points_outstanding"] == 50 + 90 + 200 - 100 + 55 - 45 + 50 + 200 - 100  # 50: welcome

    # lifetime value: bases less refunds, c1 90 - 45 + 55, c2 50, c3 nothing: 150.00 / 3 members
    assert board["customers"] == {"lifetime_value": money("50.00"), "purchase_frequency": 1.5, "members_who_ordered": 2}
    month = start.strftime("%Y-%m")
    cohort = next(c for c in board["cohorts"] if c["month"] == month)
    assert cohort == {"month": month, "members": 3, "buyers": 2, "repeat_30": 0.5, "repeat_60": 0.5, "repeat_90": 0.5}
    assert len(board["cohorts"]) == 12 and all(c["members"] == 0 for c in board["cohorts"] if c["month"] != month)
    assert board["points"]["pending"] == 0 and board["points"]["expiring_30_days"] == 0

    for table in ("segments", "cohorts", "tiers", "summary"):
        body = rt.analytics.csv(board, table)
        assert body.count("\n") >= 2
    assert "redeemers,2,150.00,75.00,0.5" in rt.analytics.csv(board, "segments")


def test_pending_and_expiring_points(runtime, shop, clock):
    rt = runtime
    F.use_program(rt, shop, expiry=F.expiry("age", months=1), pending={"orders_days": 14})
    member = F.member(rt, shop, "c1")
    rt.orders.on_paid(shop.id, F.order(F.line("80.00", line_id="a"), order_id="p1", customer="c1", placed_at=clock.now()))
    now = clock.now()
    rt.ledger.earn(shop.id, member.id, "points", 30, key="late", source="admin", reason="t", expires_at=now + timedelta(days=40))
    rt.ledger.earn(shop.id, member.id, "points", 20, key="soon", source="admin", reason="t", expires_at=now + timedelta(days=10))
    board = rt.analytics.dashboard(shop.id, "EUR", now.date(), now.date())
    with rt.db.transaction() as conn:
        pending = conn.execute(text("select points_pending from balances where member_id = :m"), {"m": member.id}).scalar()
    assert board["points"]["pending"] == pending == 80  # the order's points wait 14 days
    assert board["points"]["expiring_30_days"] == 20  # not the 30 (in 40 days), nor the pending 80
    clock.advance(days=15)
    rt.ledger.vest_due()  # the order's 80 are available now, and expire on 1 April (in 16 days)
    later = rt.analytics.dashboard(shop.id, "EUR", clock.now().date(), clock.now().date())
    assert later["points"]["pending"] == 0
    assert later["points"]["expiring_30_days"] == 80 + 30  # the 20 are past their date (the expiry job takes them)


def test_days_are_the_shops_days(runtime, clock):
    rt = runtime
    for zone, local, utc_day in (("Asia/Tokyo", (0, 30), "2026-03-01"), ("America/New_York", (23, 30), "2026-03-02")):
        shop, _k = rt.shops.register("demo", f"tz-{zone.split('/')[1].lower()}.example", currency="EUR", timezone=zone)
        F.use_program(rt, shop, timezone=zone)
        from zoneinfo import ZoneInfo

        day = datetime(2026, 3, 2) if local[0] == 0 else datetime(2026, 3, 1)
        at = day.replace(hour=local[0], minute=local[1], tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)
        assert at.date().isoformat() == utc_day  # the UTC day is another one
        clock.advance(seconds=(at - clock.now()).total_seconds())
        F.member(rt, shop, "c1")
        rt.orders.on_paid(shop.id, F.order(F.line("40.00", line_id="a"), order_id="z1", customer="c1", placed_at=at))
        rt.analytics.refresh()
        want = day.date()
        board = rt.analytics.dashboard(shop.id, "EUR", want, want)
        assert board["period"]["timezone"] == zone
        assert [d["day"] for d in board["daily"]] == [want.isoformat()]
        assert [d["day"] for d in board["daily_orders"]] == [want.isoformat()]
        assert [d["day"] for d in board["daily_enrolments"]] == [want.isoformat()]
        assert board["members"]["active_in_period"] == 1 and board["segments"]["non_redeemers"]["orders"] == 1
        assert rt.analytics.today(shop.id, at) == want
        other_day = rt.analytics.dashboard(shop.id, "EUR", want + timedelta(days=1 if local[0] == 23 else -1),
                                           want + timedelta(days=1 if local[0] == 23 else -1))
        assert other_day["daily"] == [] and other_day["segments"]["non_redeemers"]["orders"] == 0
        clock.advance(days=2)


def test_shop_isolation_and_the_empty_shop(runtime, shop, clock):
    rt = runtime
    F.member(rt, shop, "c1")
    rt.orders.on_paid(shop.id, F.order(F.line("70.00", line_id="a"), order_id="i1", customer="c1", placed_at=clock.now()))
    rt.analytics.refresh()
    empty = rt.shops.register("demo", "empty.example", currency="EUR")[0]
    day = clock.now().date()
    board = rt.analytics.dashboard(empty.id, "EUR", day - timedelta(days=29), day)
    assert all(s["orders"] == 0 and s["average_order_value"] is None and s["repeat_purchase_rate"] is None
               for s in board["segments"].values())
    assert board["customers"] == {"lifetime_value": None, "purchase_frequency": None, "members_who_ordered": 0}
    assert board["codes"]["usage_rate"] is None and board["rates"] == {"order_earning_rate": None, "membership_rate": None}
    assert board["tiers"] == [] and all(c["members"] == 0 and c["repeat_30"] is None for c in board["cohorts"])
    assert board["points"]["pending"] == 0 and board["points"]["expiring_30_days"] == 0
    for table in ("segments", "cohorts", "tiers", "summary"):
        assert rt.analytics.csv(board, table).count("\n") >= 1
    mine = rt.analytics.dashboard(shop.id, "EUR", day - timedelta(days=29), day)
    assert mine["segments"]["non_redeemers"]["orders"] == 1 and mine["tiers"][0]["members"] == 1


def test_analytics_api_has_the_new_figures(client):
    rt = client.application.extensions["loyalty"]
    shop, key = F.shop_and_key(rt, domain="figures.example")
    F.member(rt, shop, "c1")
    h = {"Authorization": f"Bearer {key}"}
    body = client.get("/admin/api/v1/analytics", headers=h).get_json()
    for k in ("segments", "tiers", "customers", "codes", "rates", "cohorts"):
        assert k in body
    for table in ("segments", "cohorts"):
        r = client.get(f"/admin/api/v1/analytics/{table}.csv", headers=h)
        assert r.status_code == 200 and r.data.decode().splitlines()[0].startswith(
            "segment,orders" if table == "segments" else "month,members")


def test_the_german_page_shows_the_figures_for_its_reader(client):
    from datetime import datetime, timezone

    rt = client.application.extensions["loyalty"]
    shop, key = F.shop_and_key(rt, domain="figures-de.example")
    F.member(rt, shop, "c1")
    now = datetime.now(timezone.utc)
    for n, total in ((1, "1234.50"), (2, "65.50")):
        rt.orders.on_paid(shop.id, F.order(F.line(total, line_id="a"), order_id=f"de{n}", customer="c1", placed_at=now))
    rt.orders.on_paid(shop.id, F.order(F.line("100.00", line_id="a"), order_id="de3", customer=None, placed_at=now))
    client.post("/admin/login", data={"key": key})
    page = client.get("/admin/dashboard?lang=de").data.decode()
    for text_de in ("Bestellungen nach Kundensegment", "Zahlen pro Stufe", "Kohorten nach Beitrittsmonat",
                    "Kundenwert pro Mitglied", "Bestellungen von Mitgliedern ÷ alle Bestellungen"):
        assert text_de in page
    assert "1.300,00\xa0€" in page  # c1's net sales (a non-redeemer), as German writes money
    assert "650,00\xa0€" in page  # their average order value
    assert 'Mitgliederanteil</div><div class="big">66,7%<' in page  # two of three orders, with a decimal comma
    assert "1.300.00" not in page and "66.7%" not in page


def test_the_dashboard_on_embedded_sqlite(tmp_path, clock):
    """The embedded database gives the same figures (its own paths: no time zones, no LATERAL)."""
    from plugin_app.runtime import Runtime
    from plugin_app.storage.migrate import upgrade

    from .conftest import make_settings

    url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade(url)
    rt = Runtime(make_settings(url), clock=clock)
    try:
        shop, _ = rt.shops.register("demo", "lite.example", currency="EUR", timezone="Asia/Tokyo")
        F.use_program(rt, shop, timezone="Asia/Tokyo")
        clock.advance(hours=3, minutes=30)  # 15:30 UTC: 00:30 on 2 March in Tokyo
        F.member(rt, shop, "c1")
        rt.orders.on_paid(shop.id, F.order(F.line("40.00", line_id="a"), order_id="l1", customer="c1", placed_at=clock.now()))
        rt.orders.on_paid(shop.id, F.order(F.line("20.00", line_id="a"), order_id="l2", customer=None, placed_at=clock.now()))
        rt.analytics.refresh()
        day = rt.analytics.today(shop.id, clock.now())
        assert day.isoformat() == "2026-03-02"
        board = rt.analytics.dashboard(shop.id, "EUR", day, day)
        assert [d["day"] for d in board["daily_enrolments"]] == ["2026-03-02"] and board["members"]["active_in_period"] == 1
        assert board["segments"]["non_redeemers"]["revenue"]["amount"] == "40.00"
        assert board["rates"] == {"order_earning_rate": 0.5, "membership_rate": 0.5}
        assert board["cohorts"][-1] == {"month": "2026-03", "members": 1, "buyers": 1, "repeat_30": 0.0,
                                        "repeat_60": 0.0, "repeat_90": 0.0}
    finally:
        rt.close()
