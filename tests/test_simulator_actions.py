"""The program simulator over a shop's past actions and referrals (issue 21): the live program
replayed over its own history gives back the ledger's totals exactly, orders, actions (sign-ups,
a birthday, a review) and referral rewards included; a draft that doubles the sign-up points,
changes the referrer's reward or turns a fraud rule from observe to block shows the hand-checked
difference; each fraud rule's verdicts are reported (nothing acts); the live tables are untouched.
The history is built through the real services."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from plugin_app.domain.earning import Order, OrderLine
from plugin_app.services.audit import run_audit

from .test_simulator import PROGRAM, at, history

LIVE = {**PROGRAM,
        "actions": {"signup": {"enabled": True, "points": 50, "caps": {"lifetime": 1}},
                    "birthday": {"enabled": True, "points": 20},
                    "review": {"enabled": True, "points": 10, "caps": {"per_day": 1}}},
        "referrals": {"enabled": True, "pending_days": 14, "referrer": {"kind": "points", "points": 500},
                      "cashback": {"rate": "5", "orders": 2},
                      "fraud": {"self_referral": "block", "same_device_or_ip": "observe", "ip_velocity": "hold",
                                "daily_velocity": "hold", "not_new_customer": "block", "order_reversed": "block"}}}
PERIOD = dict(since=date(2026, 1, 1), until=date(2026, 8, 31))


def _award(rt, clock, shop_id, when, customer, kind, event):
    clock._at = when
    out = rt.actions.award(shop_id, customer, kind, event)
    assert out.entry_id and not out.refused, out


def _friend_orders(rt, clock, shop_id, when, order_id, customer, facts):
    clock._at = when
    assert rt.orders.on_paid(shop_id, Order(order_id, "EUR", when, (OrderLine("l1", 1, Decimal("60.00")),),
                                            customer)).status == "earned"
    return rt.referrals.on_order(shop_id, order_id, customer, (), facts, paid=True)


def actions_and_referrals(rt, clock, shop_id):
    """Sign-ups of A and B (January), A's birthday (February), B's review (March). In April A
    refers C (a new customer: rewarded), D (who used A's IP address: same_device_or_ip, observed
    live, rewarded) and B (who ordered before: not_new_customer blocks it)."""
    _award(rt, clock, shop_id, at(2026, 1, 2), "cust-a", "signup", "cust-a")
    _award(rt, clock, shop_id, at(2026, 1, 2), "cust-b", "signup", "cust-b")
    _award(rt, clock, shop_id, at(2026, 2, 20), "cust-a", "birthday", "cust-a:2026")
    _award(rt, clock, shop_id, at(2026, 3, 3), "cust-b", "review", "rev-1")
    clock._at = at(2026, 3, 31)
    rt.referrals.on_order(shop_id, "o3", "cust-a", (), {"ip": "198.51.100.7"}, paid=True)  # A's fingerprint
    code = rt.referrals.code_for(shop_id, rt.members.by_customer(shop_id, "cust-a")[0].id)
    for friend, ip in (("cust-c", "203.0.113.9"), ("cust-d", "198.51.100.7"), ("cust-b", "203.0.113.50")):
        _award(rt, clock, shop_id, at(2026, 4, 1), friend, "signup", friend) if friend != "cust-b" else None
        clock._at = at(2026, 4, 1)
        assert rt.referrals.claim(shop_id, friend, code=code, ip=ip)["status"] == "invited"
    assert "pending" in _friend_orders(rt, clock, shop_id, at(2026, 4, 2), "c1", "cust-c", {"email": "c@x.org"})[0]
    assert "pending" in _friend_orders(rt, clock, shop_id, at(2026, 4, 2), "d1", "cust-d", {"email": "d@x.org"})[0]
    assert "rejected" in _friend_orders(rt, clock, shop_id, at(2026, 4, 3), "b1", "cust-b", {"email": "b@x.org"})[0]
    clock._at = at(2026, 4, 20)
    assert rt.referrals.reward_due() == 2


def snapshot(rt):
    with rt.db.transaction() as conn:
        return [tuple(conn.execute(text(f"select count(*), md5(coalesce(string_agg(x::text, ',' order by x::text), '')) "
                                        f"from {tbl} x")).one())
                for tbl in ("ledger_entries", "balances", "orders", "lots", "members", "referrals")]


def ledger(rt, shop_id):
    with rt.db.transaction() as conn:
        rows = conn.execute(text(
            "select asset, kind, source, sum(amount) from ledger_entries where shop_id = :s group by 1, 2, 3"),
            {"s": shop_id}).all()
    return {(a, k, s): Decimal(v) for a, k, s, v in rows}


@pytest.fixture
def shop_past(runtime, shop, clock):
    runtime.programs.put(shop.id, LIVE, author="test")
    history(runtime, clock, shop.id)
    actions_and_referrals(runtime, clock, shop.id)
    clock._at = at(2026, 9, 1)
    runtime.ledger.expire_due()
    return shop


def test_the_live_program_gives_back_the_ledger_actions_and_referrals_included(runtime, shop_past):
    shop = shop_past
    led = ledger(runtime, shop.id)
    before = snapshot(runtime)
    run = runtime.simulations.start(shop.id, **PERIOD, version=2)
    assert run["state"] == "done", run["error"]
    res, live = run["result"], run["result"]["live"]
    earned = sum(v for (a, k, s), v in led.items() if a == "points" and k == "earn")
    # orders 350 + actions (4 sign-ups of 50, a birthday 20, a review 10) + referrals 2 x 500 + the friends'
    # orders c1, d1, b1 (60 each; B's is rejected as a referral, not as an order) = 350 + 230 + 1000 + 180
    assert earned == 1760 and live["points_issued"] == earned
    assert live["points_from_actions"] == led[("points", "earn", "action")] == 230
    assert live["points_from_referrals"] == led[("points", "earn", "referral")] == 1000
    assert Decimal(live["credit_from_referrals"]) == led[("credit", "earn", "referral")] == Decimal("6.00")
    credit_earned = sum(v for (a, k, s), v in led.items() if a == "credit" and k == "earn")
    assert Decimal(live["credit_issued"]) == credit_earned
    assert live["points_taken_back"] == 40
    assert live["points_expired"] == led[("points", "expire", "system")]  # orders due plus A's and B's actions
    assert live["points_expired"] == 230 + 50 + 50 + 20  # the review (3 March) lapses on 3 September
    assert {a["kind"]: (a["live_count"], a["live_points"]) for a in res["actions"]} == {
        "birthday": (1, 20), "review": (1, 10), "signup": (4, 200)}
    refs = res["referrals"]
    assert refs["judged"] == 3 and refs["outcomes"]["live"] == {"ok": 2, "hold": 0, "block": 1}
    assert refs["live"]["rewarded"] == 2 and refs["live"]["points"] == 1000 and refs["live"]["cashback"] == "6.00"
    assert res["draft"] == live and res["members_differing"] == 0 and refs["draft"] == refs["live"]
    rules = {r["rule"]: r for r in refs["rules"]}
    assert (rules["same_device_or_ip"]["fired"], rules["same_device_or_ip"]["observed"]) == (1, 1)
    assert (rules["not_new_customer"]["fired"], rules["not_new_customer"]["would_block"]) == (1, 1)
    assert rules["self_referral"]["fired"] == 0 and refs["friend"]["codes"] == 3
    assert snapshot(runtime) == before
    assert run_audit(runtime.db).ok


def _diff(runtime, shop_id, draft):
    run = runtime.simulations.start(shop_id, **PERIOD, program=draft)
    assert run["state"] == "done", run["error"]
    page = runtime.simulations.members(shop_id, run["id"])
    return run["result"], {m["customer_id"]: (m["points_difference"], Decimal(m["credit_difference"]))
                           for m in page["items"]}


def test_double_sign_up_points_show_per_member(runtime, shop_past):
    before = snapshot(runtime)
    draft = {**LIVE, "actions": {**LIVE["actions"], "signup": {"enabled": True, "points": 100, "caps": {"lifetime": 1}}}}
    res, members = _diff(runtime, shop_past.id, draft)
    d = res["difference"]
    assert d["points_from_actions"] == 200 and d["points_issued"] == 200 and d["points_kept"] == 200
    assert d["points_expired"] == 100 and d["points_liability"] == 100  # A's and B's January sign-ups lapsed by 1 September
    assert {a["kind"]: a["draft_points"] for a in res["actions"]}["signup"] == 400
    assert members == {c: (50, 0) for c in ("cust-a", "cust-b", "cust-c", "cust-d")}
    assert snapshot(runtime) == before


def test_a_smaller_referrer_reward_and_a_fraud_rule_that_blocks(runtime, shop_past):
    smaller = {**LIVE, "referrals": {**LIVE["referrals"], "referrer": {"kind": "points", "points": 300}}}
    res, members = _diff(runtime, shop_past.id, smaller)
    assert res["difference"]["points_from_referrals"] == -400 and members == {"cust-a": (-400, 0)}
    assert res["referrals"]["draft"]["points"] == 600
    strict = {**LIVE, "referrals": {**LIVE["referrals"],
                                    "fraud": {**LIVE["referrals"]["fraud"], "same_device_or_ip": "block"}}}
    before = snapshot(runtime)
    res, members = _diff(runtime, shop_past.id, strict)
    refs = res["referrals"]
    assert refs["outcomes"]["draft"] == {"ok": 1, "hold": 0, "block": 2, "off": 0}
    rule = {r["rule"]: r for r in refs["rules"]}["same_device_or_ip"]
    assert (rule["mode"], rule["fired"], rule["would_block"], rule["observed"]) == ("block", 1, 1, 0)
    # D's referral blocked: A loses its 500 points and the 3.00 cashback on D's order
    assert members == {"cust-a": (-500, Decimal("-3.00"))}
    assert res["difference"]["credit_from_referrals"] == "-3.00" and refs["draft"]["rewarded"] == 1
    assert snapshot(runtime) == before  # nothing acted: the referrals and the ledger are as they were


def test_tiers_on_points_earned_count_the_points_from_actions(runtime, shop, clock):
    """Live, a sign-up's 100 points put the member in Silver (tiers on points earned count every
    posting; Silver pays 30 on entry), so their order earns double; a draft giving 50 for signing
    up leaves them Bronze for it."""
    program = {"timezone": "UTC", "earning": {"points_per_unit": "1"},
               "tiers": {"enabled": True, "basis": "points_earned", "window": "lifetime", "downgrade": "never",
                         "levels": [{"name": "Bronze", "threshold": "0"},
                                    {"name": "Silver", "threshold": "100", "earn_multiplier": "2",
                                     "entry_reward_points": 30}]},
               "actions": {"signup": {"enabled": True, "points": 100, "caps": {"lifetime": 1}}}}
    runtime.programs.put(shop.id, program, author="test")
    _award(runtime, clock, shop.id, at(2026, 2, 1), "cust-t", "signup", "cust-t")
    clock._at = at(2026, 2, 2)
    assert runtime.orders.on_paid(shop.id, Order("t1", "EUR", at(2026, 2, 2), (OrderLine("l1", 1, Decimal("50.00")),),
                                                 "cust-t")).points == 100
    clock._at = at(2026, 3, 1)
    with runtime.db.transaction() as conn:
        earned = conn.execute(text("select sum(amount) from ledger_entries where shop_id = :s and kind = 'earn'"),
                              {"s": shop.id}).scalar()
    assert earned == 230  # the sign-up 100, Silver's entry reward 30, the order 50 x 2
    live = runtime.simulations.start(shop.id, since=date(2026, 1, 1), until=date(2026, 2, 28), version=2)["result"]
    assert live["live"]["points_issued"] == 230 and live["live"]["tier_mix"] == {"Silver": 1}
    assert {a["kind"]: a["live_points"] for a in live["actions"]} == {"signup": 100, "tier_entry": 30}
    draft = {**program, "actions": {"signup": {"enabled": True, "points": 50, "caps": {"lifetime": 1}}}}
    res = runtime.simulations.start(shop.id, since=date(2026, 1, 1), until=date(2026, 2, 28), program=draft)["result"]
    assert res["draft"]["points_issued"] == 130 and res["difference"]["points_kept"] == -100
    # (the draft's order, at Bronze, earns 50: 50 + 50 then reach Silver after it and its entry reward is paid
    # then, so nobody ends elsewhere)
    assert res["tier_moves"] == [] and res["draft"]["points_from_actions"] == 50 + 30


def test_a_rule_the_draft_only_observes_lets_a_refused_referral_through(runtime, shop_past):
    """B's referral was refused live (not_new_customer blocks); a draft that only notes it pays
    A the referrer's reward when it fell due (3 April + 14 days), and reports the rule as observed."""
    lenient = {**LIVE, "referrals": {**LIVE["referrals"],
                                     "fraud": {**LIVE["referrals"]["fraud"], "not_new_customer": "observe"}}}
    res, members = _diff(runtime, shop_past.id, lenient)
    refs = res["referrals"]
    assert refs["outcomes"]["draft"] == {"ok": 3, "hold": 0, "block": 0, "off": 0}
    rule = {r["rule"]: r for r in refs["rules"]}["not_new_customer"]
    assert (rule["fired"], rule["observed"], rule["would_block"]) == (1, 1, 0)
    assert refs["draft"]["rewarded"] == 3 and refs["draft"]["points"] == 1500
    assert members == {"cust-a": (500, 0)} and res["difference"]["points_from_referrals"] == 500
    off = {**LIVE, "referrals": {**LIVE["referrals"], "enabled": False}}
    res, members = _diff(runtime, shop_past.id, off)
    assert res["referrals"]["outcomes"]["draft"]["off"] == 3 and members == {"cust-a": (-1000, Decimal("-6.00"))}
