"""The program simulator (issue 21) on PostgreSQL: the live program replayed over the shop's own
history gives the live ledger's order totals and expiries back exactly (the same calculators);
a draft with one rule changed shows the hand-computed difference per member; the live ledger is
untouched; one shop's run sees only its orders; bad input is refused clearly."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from plugin_app.domain.earning import Order, OrderLine, Refund, RefundLine
from plugin_app.domain.errors import InvalidRequest, InvalidState, NotFound
from plugin_app.services.audit import run_audit
from plugin_app.services.program import ProgramInvalid


def at(y, m, d):
    return datetime(y, m, d, 12, 0, tzinfo=timezone.utc)


PROGRAM = {
    "timezone": "UTC",
    "earning": {"points_per_unit": "1", "base": {"include_shipping": True}},
    "tiers": {"enabled": True, "basis": "money_spent", "window": "lifetime", "downgrade": "never",
              "levels": [{"name": "Bronze", "threshold": "0"},
                         {"name": "Silver", "threshold": "100", "earn_multiplier": "2"}]},
    "campaigns": [{"name": "Boots week", "factor": "3", "match": {"products": ["boots"]},
                   "window": {"starts_at": "2026-01-01T00:00:00", "ends_at": "2026-01-31T00:00:00"}}],
    "cashback": {"enabled": True, "rate": "1"},
    "expiry": {"mode": "age", "months": 6},
}


def _pay(rt, clock, shop_id, when, order):
    clock._at = when  # the ledger dates the posting (and its lot's expiry) now
    out = rt.orders.on_paid(shop_id, order)
    assert out.status == "earned", out


def history(rt, clock, shop_id, prefix=""):
    """Member A: boots with tax in the price and shipping (campaign x3), shirts after a discount,
    then a Silver order (x2), a partial refund; member B: one order."""
    a, b = f"{prefix}cust-a", f"{prefix}cust-b"
    _pay(rt, clock, shop_id, at(2026, 1, 5), Order(
        f"{prefix}o1", "EUR", at(2026, 1, 5), (OrderLine("l1", 1, Decimal("60.00"), Decimal("10.00"), "boots"),),
        a, shipping=Decimal("12.20"), shipping_tax=Decimal("2.20"), taxes_included=True))
    _pay(rt, clock, shop_id, at(2026, 2, 1), Order(
        f"{prefix}o4", "EUR", at(2026, 2, 1), (OrderLine("l1", 1, Decimal("30.00"), product_id="socks"),), b))
    _pay(rt, clock, shop_id, at(2026, 2, 10), Order(
        f"{prefix}o2", "EUR", at(2026, 2, 10), (OrderLine("l1", 2, Decimal("80.00"), product_id="shirt"),), a))
    _pay(rt, clock, shop_id, at(2026, 3, 15), Order(
        f"{prefix}o3", "EUR", at(2026, 3, 15), (OrderLine("l1", 1, Decimal("40.00"), product_id="shirt"),), a))
    clock._at = at(2026, 3, 20)
    assert rt.orders.on_refund(shop_id, f"{prefix}o2", Refund("r1", (RefundLine("l1", 1),))).status == "refunded"


def ledger_totals(rt, shop_id):
    with rt.db.transaction() as conn:
        q = lambda sql: conn.execute(text(sql), {"s": shop_id}).scalar()  # noqa: E731
        earned = """select coalesce(sum(amount), 0) from ledger_entries where shop_id = :s and asset = '{a}'
                    and kind = 'earn' and source = 'order'"""
        reversed_ = """select coalesce(sum(r.amount), 0) from ledger_entries r join ledger_entries e
                       on e.id = r.reverses_entry_id where r.shop_id = :s and r.kind = 'reverse'
                       and e.kind = 'earn' and e.source = 'order' and e.asset = '{a}'"""
        expired = "select coalesce(sum(amount), 0) from ledger_entries where shop_id = :s and kind = 'expire' and asset = '{a}'"
        return {a: (Decimal(q(earned.format(a=a))), Decimal(q(reversed_.format(a=a))), Decimal(q(expired.format(a=a))))
                for a in ("points", "credit")}


def snapshot(rt):
    with rt.db.transaction() as conn:
        return [tuple(conn.execute(text(f"select count(*), md5(coalesce(string_agg(x::text, ',' order by x::text), '')) "
                                        f"from {tbl} x")).one())
                for tbl in ("ledger_entries", "balances", "orders", "lots", "members")]


@pytest.fixture
def shop_history(runtime, shop, clock):
    runtime.programs.put(shop.id, PROGRAM, author="test")
    history(runtime, clock, shop.id)
    clock._at = at(2026, 9, 1)
    runtime.ledger.expire_due()
    return shop


def test_the_live_program_over_its_own_history_gives_the_ledger_back(runtime, shop_history, clock):
    shop = shop_history
    live = ledger_totals(runtime, shop.id)
    # hand-checked: o1 boots 50 net x3 = 150 + shipping 10 = 160; o4 30; o2 80 (Bronze); o3 40 x2
    # (Silver at 140 spent) = 80; the refund of one shirt of two takes 40 back
    assert live["points"][:2] == (Decimal(350), Decimal(40))
    before = snapshot(runtime)
    run = runtime.simulations.start(shop.id, since=date(2026, 1, 1), until=date(2026, 8, 31), version=2)
    assert run["state"] == "done" and run["orders_total"] == run["orders_done"] == 4 and run["progress"] == 1.0
    res = run["result"]
    assert res["live"]["points_issued"] == 350 and res["live"]["points_taken_back"] == 40
    assert res["live"]["points_kept"] == live["points"][0] - live["points"][1] == 310
    assert Decimal(res["live"]["credit_kept"]) == live["credit"][0] - live["credit"][1] == Decimal("1.70")
    # lots due by 1 September (6 months): o1 160, o4 30, o2 40 (what the refund left); no redemptions
    assert res["redemption"]["points_rate_percent"] == "0.00"
    assert res["live"]["points_expired"] == live["points"][2] == 230
    assert res["live"]["points_liability"] == 80
    assert res["live"]["tier_mix"] == {"Silver": 1, "Bronze": 1}
    # the same program as the draft: no member differs
    assert res["draft"] == res["live"] and res["members_differing"] == 0
    assert snapshot(runtime) == before  # the live ledger, balances, orders and members untouched
    assert run_audit(runtime.db).ok


def test_one_earn_rate_changed_shows_the_hand_computed_difference_per_member(runtime, shop_history, client=None):
    shop = shop_history
    before = snapshot(runtime)
    draft = {**PROGRAM, "earning": {**PROGRAM["earning"], "points_per_unit": "2"}}
    run = runtime.simulations.start(shop.id, since=date(2026, 1, 1), until=date(2026, 8, 31), program=draft)
    res = run["result"]
    # A: 320 + 160 + 160 - 80 = 560 (was 280); B: 60 (was 30); credit and tiers unchanged
    assert res["draft"]["points_kept"] == 620 and res["difference"]["points_kept"] == 310
    assert res["difference"]["credit_kept"] == "0.00" and res["tier_moves"] == []
    page = runtime.simulations.members(shop.id, run["id"])
    got = {m["customer_id"]: (m["live_points"], m["draft_points"], m["points_difference"], m["draft_tier"])
           for m in page["items"]}
    assert got == {"cust-a": (280, 560, 280, "Silver"), "cust-b": (30, 60, 30, "Bronze")}
    assert page["next_after"] is None
    one = runtime.simulations.members(shop.id, run["id"], limit=1)
    assert len(one["items"]) == 1 and one["next_after"] == one["items"][0]["member_id"]
    # a higher Silver threshold: A never reaches Silver, o3 earns 40 instead of 80
    higher = {**PROGRAM, "tiers": {**PROGRAM["tiers"], "levels": [
        PROGRAM["tiers"]["levels"][0], {**PROGRAM["tiers"]["levels"][1], "threshold": "500"}]}}
    other = runtime.simulations.start(shop.id, since=date(2026, 1, 1), until=date(2026, 8, 31), program=higher)
    assert other["result"]["difference"]["points_kept"] == -40
    assert other["result"]["tier_moves"] == [{"from": "Silver", "to": "Bronze", "members": 1}]
    cmp = runtime.simulations.compare(shop.id, run["id"], other["id"])
    assert cmp["difference"]["points_kept"] == 270 - 620 and cmp["same_period"] is True
    assert snapshot(runtime) == before


def test_a_period_counts_only_its_orders_and_earlier_ones_set_the_tier(runtime, shop_history):
    run = runtime.simulations.start(shop_history.id, since=date(2026, 3, 1), until=date(2026, 3, 31), version=2)
    res = run["result"]
    assert res["live"]["orders"] == 1 and res["live"]["points_kept"] == 80  # o3, at Silver from earlier orders


def test_one_shop_never_sees_another(runtime, shop_history, clock):
    other, _ = runtime.shops.register("demo", "shop-b.example", currency="EUR")
    runtime.programs.put(other.id, PROGRAM, author="test")
    history(runtime, clock, other.id, prefix="b-")
    mine = runtime.simulations.start(shop_history.id, since=date(2026, 1, 1), until=date(2026, 8, 31), version=2)
    theirs = runtime.simulations.start(other.id, since=date(2026, 1, 1), until=date(2026, 1, 31), version=2)
    assert mine["result"]["live"]["orders"] == 4 and theirs["result"]["live"]["orders"] == 1
    for call in (lambda: runtime.simulations.status(shop_history.id, theirs["id"]),
                 lambda: runtime.simulations.members(shop_history.id, theirs["id"]),
                 lambda: runtime.simulations.compare(shop_history.id, mine["id"], theirs["id"]),
                 lambda: runtime.simulations.rerun(shop_history.id, theirs["id"])):
        with pytest.raises(NotFound):
            call()


def test_bad_input_is_refused_and_writes_nothing(runtime, shop_history):
    s, sid = runtime.simulations, shop_history.id
    before = snapshot(runtime)
    with pytest.raises(InvalidRequest, match="either program"):
        s.start(sid, since=date(2026, 1, 1), until=date(2026, 2, 1))
    with pytest.raises(InvalidRequest, match="either program"):
        s.start(sid, since=date(2026, 1, 1), until=date(2026, 2, 1), version=2, program=PROGRAM)
    with pytest.raises(InvalidRequest, match="before since"):
        s.start(sid, since=date(2026, 2, 1), until=date(2026, 1, 1), version=2)
    with pytest.raises(InvalidRequest, match="at most"):
        s.start(sid, since=date(2020, 1, 1), until=date(2026, 1, 1), version=2)
    with pytest.raises(InvalidRequest, match="future"):
        s.start(sid, since=date(2027, 1, 1), until=date(2027, 2, 1), version=2)
    with pytest.raises(NotFound):
        s.start(sid, since=date(2026, 1, 1), until=date(2026, 2, 1), version=99)
    with pytest.raises(ProgramInvalid):
        s.start(sid, since=date(2026, 1, 1), until=date(2026, 2, 1), program={"earning": {"points_per_unit": "-1"}})
    with pytest.raises(NotFound):
        s.status(sid, 987654)
    with pytest.raises(InvalidRequest, match="limit"):
        s.members(sid, 1, limit=0)
    with runtime.db.transaction() as conn:
        assert conn.execute(text("select count(*) from simulations")).scalar() == 0
    assert snapshot(runtime) == before


def test_a_failed_run_says_why_and_runs_again(runtime, shop_history, monkeypatch):
    from plugin_app.services import simulator

    calls = []

    def broken(*a, **k):
        calls.append(1)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(simulator, "figures", broken)
    run = runtime.simulations.start(shop_history.id, since=date(2026, 1, 1), until=date(2026, 8, 31), version=2)
    assert run["state"] == "failed" and run["error"] == "disk on fire" and calls
    with pytest.raises(InvalidState):
        runtime.simulations.members(shop_history.id, run["id"])
    monkeypatch.undo()
    again = runtime.simulations.rerun(shop_history.id, run["id"])
    assert again["state"] == "done" and again["result"]["live"]["points_kept"] == 310
    with pytest.raises(InvalidState):
        runtime.simulations.rerun(shop_history.id, run["id"])


def test_the_admin_api_runs_and_reads_a_simulation(app, client):
    rt = app.extensions["loyalty"]
    shop, key = rt.shops.register("demo", "api-sim.example", currency="EUR")
    auth = {"Authorization": f"Bearer {key}"}
    r = client.post("/admin/api/v1/simulations", json={"since": "2026-01-01", "until": "2026-01-31", "version": 1},
                    headers=auth)
    assert r.status_code == 202, r.get_json()
    run = r.get_json()
    assert run["state"] == "done" and run["result"]["live"]["orders"] == 0
    assert client.get(f"/admin/api/v1/simulations/{run['id']}", headers=auth).get_json()["id"] == run["id"]
    assert client.get(f"/admin/api/v1/simulations/{run['id']}/members", headers=auth).get_json()["items"] == []
    cmp = client.get(f"/admin/api/v1/simulations/compare?a={run['id']}&b={run['id']}", headers=auth)
    assert cmp.status_code == 200 and cmp.get_json()["difference"]["points_kept"] == 0
    for body, status in (({"since": "2026-13-01", "until": "2026-01-31", "version": 1}, 422),
                         ({"since": "2026-01-01", "until": "2026-01-31"}, 422),
                         ({"since": "2026-01-01", "until": "2026-01-31", "version": 42}, 404),
                         ({"since": "2026-01-01", "until": "2026-01-31", "program": {"tiers": {"levels": []}}}, 422)):
        bad = client.post("/admin/api/v1/simulations", json=body, headers=auth)
        assert bad.status_code == status and bad.is_json, (body, bad.get_json())
    assert client.get("/admin/api/v1/simulations/999999", headers=auth).status_code == 404
    assert client.get("/admin/api/v1/simulations/compare?a=x", headers=auth).status_code == 422
    assert client.post(f"/admin/api/v1/simulations/{run['id']}/rerun", headers=auth, json={}).status_code == 409


def test_the_admin_page_tries_a_version_on_the_past_side_by_side(app, client):
    import re

    rt = app.extensions["loyalty"]
    shop, key = rt.shops.register("demo", "page-sim.example", currency="EUR")
    rt.programs.put(shop.id, PROGRAM, author="test")  # version 2, live
    rt.programs.put(shop.id, {**PROGRAM, "earning": {**PROGRAM["earning"], "points_per_unit": "2"}}, author="test")
    rt.programs.restore(shop.id, 2, author="test")  # version 4 = 2, live again; 3 is the draft to try
    for oid, total, cust in (("p1", "50.00", "cust-p"), ("p2", "30.00", "cust-q")):
        assert rt.orders.on_paid(shop.id, Order(oid, "EUR", at(2026, 2, 1), (OrderLine("l1", 1, Decimal(total)),),
                                                cust)).status == "earned"
    assert client.post("/admin/login", data={"key": key}).status_code == 302
    history_page = client.get("/admin/program/history").get_data(as_text=True)
    assert "data-simulate-link" in history_page
    form = client.get("/admin/program/simulate").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', form)[1]
    bad = client.post("/admin/program/simulate", data={"csrf": token, "draft": "3", "since": "2026-03-01",
                                                        "until": "2026-01-01"})
    assert bad.status_code == 200 and "The period must end after it starts" in bad.get_data(as_text=True)
    r = client.post("/admin/program/simulate", data={"csrf": token, "draft": "3", "since": "2026-01-01",
                                                      "until": "2026-02-28"})
    assert r.status_code == 302 and "/admin/program/simulations/" in r.location
    page = client.get(r.location).get_data(as_text=True)
    assert 'data-run-state="done"' in page
    row = re.search(r'<tr data-row="points_issued">(.*?)</tr>', page, re.S)[1]
    assert [c.strip() for c in re.findall(r"<td>(.*?)</td>", row)] == ["80", "160", "80"]
    assert "cust-p" in page and "cust-q" in page
    # an action today (the app's own clock): its points show apart, and the referrals' report
    rt.actions.award(shop.id, "cust-p", "signup", "cust-p")
    today = rt.clock.now().date()
    run = rt.simulations.start(shop.id, since=today, until=today, version=3)
    page = client.get(f"/admin/program/simulations/{run['id']}").get_data(as_text=True)
    row = re.search(r'<tr data-action="signup">(.*?)</tr>', page, re.S)[1]
    assert [c.strip() for c in re.findall(r"<td>(.*?)</td>", row)] == ["1", "1", "50", "50"]
    assert 'data-rule="same_device_or_ip"' in page and "data-limits" in page
    other, _ = rt.shops.register("demo", "page-sim-other.example", currency="EUR")
    foreign = rt.simulations.start(other.id, since=date(2026, 1, 1), until=date(2026, 1, 31), version=1)
    assert client.get(f"/admin/program/simulations/{foreign['id']}").status_code == 404


def test_a_run_nobody_moved_for_a_while_is_run_again(runtime, shop_history, clock):
    from plugin_app.storage import tables as t

    now = clock.now()
    with runtime.db.transaction() as conn:
        ids = [conn.execute(t.simulations.insert().values(
            shop_id=shop_history.id, state=state, program=PROGRAM, draft_version=2, starts_at=at(2026, 1, 1),
            ends_at=at(2026, 9, 1), created_at=now, updated_at=updated).returning(t.simulations.c.id)).scalar()
            for state, updated in (("running", at(2026, 8, 1)), ("queued", now), ("failed", at(2026, 8, 1)))]
    assert runtime.simulations.resume_stale() == 1  # the stalled one; the fresh and the failed stay
    states = [runtime.simulations.status(shop_history.id, i)["state"] for i in ids]
    assert states == ["done", "queued", "failed"]
    assert runtime.simulations.status(shop_history.id, ids[0])["result"]["live"]["points_kept"] == 310


def test_a_refund_after_the_period_does_not_count_in_it(runtime, shop_history):
    """The ledger took o2's refund back on 20 March: a period ending the day before keeps o2
    whole, as the ledger's movements of that period do; one ending on 20 March counts it."""
    shop = shop_history
    with runtime.db.transaction() as conn:
        back = conn.execute(text("""select coalesce(sum(r.amount), 0) from ledger_entries r where r.shop_id = :s
                                    and r.kind = 'reverse' and r.asset = 'points' and r.created_at < :end"""),
                            {"s": shop.id, "end": datetime(2026, 3, 20, tzinfo=timezone.utc)}).scalar()
    assert back == 0
    before = runtime.simulations.start(shop.id, since=date(2026, 1, 1), until=date(2026, 3, 19), version=2)["result"]
    assert before["live"]["points_issued"] == 350 and before["live"]["points_taken_back"] == 0
    assert before["live"]["points_kept"] == 350 and before["live"]["credit_taken_back"] == "0.00"
    on = runtime.simulations.start(shop.id, since=date(2026, 1, 1), until=date(2026, 3, 20), version=2)["result"]
    assert on["live"]["points_taken_back"] == 40 and on["live"]["points_kept"] == 310
