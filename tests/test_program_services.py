"""Orders, refunds, cancellations, actions with caps, tiers and expiry through the services,
on real PostgreSQL."""
from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import text

from plugin_app.domain.ledger import Asset
from plugin_app.services.audit import run_audit

from . import factories as F


def order(oid="1001", total="120.00", customer="ada", **kw):
    """Ada's order: one line "a" of two units, `total` for both, placed at the clock's now."""
    return F.order(F.line(total=total, quantity=2, line_id="a"), order_id=oid, customer=customer, **kw)


def refund_one(refund_id):
    return F.refund(("a", 1), refund_id=refund_id)


def bal(rt, shop, customer="ada"):
    return rt.members.by_customer(shop.id, customer)[1]


def entries(rt, where="true"):
    with rt.db.transaction() as conn:
        return conn.execute(text(f"select * from ledger_entries where {where} order by id")).all()


@pytest.fixture(autouse=True)
def audited(runtime):
    yield
    report = run_audit(runtime.db)
    assert report.ok, report.problems


def test_order_earns_once_and_records_program_version_and_explanation(runtime, shop):
    first = runtime.orders.on_paid(shop.id, order())
    again = runtime.orders.on_paid(shop.id, order())
    assert (first.status, first.points, again.status) == ("earned", 120, "already_earned")
    e = entries(runtime, "kind = 'earn'")[0]
    assert e.program_version == 1 and e.reason == "Order 1001: 1 point per €1.00 on €120.00"
    assert e.reason_code == "order.points" and e.reason_params["points"] == 120
    assert e.reason_params["parts"] == [{"code": "earn.base", "params": {
        "rate": "1", "currency": "EUR", "base": {"amount": "120.00", "currency": "EUR"}}}]
    assert e.details["base"] == "120.00"


def test_test_orders_and_guests_earn_nothing(runtime, shop):
    assert runtime.orders.on_paid(shop.id, order(test=True)).status == "test"
    assert runtime.orders.on_paid(shop.id, order("2", customer=None)).status == "guest"
    assert entries(runtime) == []


def test_fulfilled_trigger_waits_for_fulfilment(runtime, shop):
    F.use_program(runtime, shop, earning={"trigger": "fulfilled"})
    assert runtime.orders.on_paid(shop.id, order()).status == "waiting"
    assert runtime.orders.on_paid(shop.id, order(), fulfilled=True).status == "earned"


def test_partial_refunds_then_the_rest_net_to_zero(runtime, shop):
    F.use_program(runtime, shop, cashback={"enabled": True})
    runtime.orders.on_paid(shop.id, order())  # 2 x 60.00: 120 points, 6.00 credit
    r1 = runtime.orders.on_refund(shop.id, "1001", refund_one("r1"))
    assert (r1.points, r1.credit) == (-60, D("-3.00"))
    assert runtime.orders.on_refund(shop.id, "1001", refund_one("r1")).status == "duplicate"
    b = bal(runtime, shop)
    assert (b.points, b.credit.amount) == (60, D("3.00"))
    runtime.orders.on_refund(shop.id, "1001", refund_one("r2"))
    b = bal(runtime, shop)
    assert (b.points, b.credit.amount, b.lifetime_points) == (0, D("0.00"), 0)


def test_refund_uses_the_rates_it_was_earned_at_not_todays(runtime, shop):
    runtime.orders.on_paid(shop.id, order())  # 120 points at 1 per EUR
    F.use_program(runtime, shop, earning={"points_per_unit": "10"})
    runtime.orders.on_refund(shop.id, "1001", refund_one("r1"))
    assert bal(runtime, shop).points == 60


def test_refund_before_the_payment_is_applied_when_the_order_earns(runtime, shop):
    assert runtime.orders.on_refund(shop.id, "1001", refund_one("r1")).status == "recorded"
    runtime.orders.on_paid(shop.id, order())
    assert bal(runtime, shop).points == 60


def test_cancellation_takes_everything_back_and_returns_redemptions(runtime, shop):
    runtime.orders.on_paid(shop.id, order("900", "300.00"))
    member = runtime.members.by_customer(shop.id, "ada")[0]
    runtime.ledger.redeem(shop.id, member.id, Asset.POINTS, 100, key="cart-1", source="cart",
                          reason="5.00 off", external_ref="order:1001")
    runtime.orders.on_paid(shop.id, order())
    runtime.orders.on_refund(shop.id, "1001", refund_one("r1"))
    out = runtime.orders.on_cancel(shop.id, "1001")
    assert out.status == "cancelled"
    assert bal(runtime, shop).points == 300  # the other order's points; the 100 redeemed came back
    assert runtime.orders.on_cancel(shop.id, "1001").status == "duplicate"
    assert runtime.orders.on_paid(shop.id, order()).status == "already_earned"


def test_cancel_before_payment_means_no_earning(runtime, shop):
    runtime.orders.on_cancel(shop.id, "1001")
    assert runtime.orders.on_paid(shop.id, order()).status == "cancelled"
    assert entries(runtime) == []


def test_pending_period_for_orders_and_refund_reduces_pending_first(runtime, shop, clock):
    F.use_program(runtime, shop, pending={"orders_days": 14})
    runtime.orders.on_paid(shop.id, order())
    b = bal(runtime, shop)
    assert (b.points, b.pending_points) == (0, 120)
    runtime.orders.on_refund(shop.id, "1001", refund_one("r1"))
    b = bal(runtime, shop)
    assert (b.points, b.pending_points) == (0, 60)
    clock.advance(days=14)
    runtime.ledger.vest_due()
    assert bal(runtime, shop).points == 60


def test_age_expiry_from_the_program(runtime, shop, clock):
    F.use_program(runtime, shop, expiry=F.expiry("age", months=6, reminder_days=[7]))
    runtime.orders.on_paid(shop.id, order())  # 1 March: lapses 1 September
    clock.advance(days=175)  # 23 August: more than 7 days before
    assert runtime.expiry.reminders() == 0
    clock.advance(days=5)  # 28 August
    assert runtime.expiry.reminders() == 1 and runtime.expiry.reminders() == 0  # once
    clock.advance(days=5)
    assert runtime.ledger.expire_due() == 1
    assert bal(runtime, shop).points == 0


def test_inactivity_expiry_lapses_the_whole_balance(runtime, shop, clock):
    F.use_program(runtime, shop, expiry=F.expiry("inactivity", months=3, reminder_days=[14]))
    runtime.orders.on_paid(shop.id, order())
    runtime.orders.on_paid(shop.id, order("1002", "30.00"))
    clock.advance(days=80)
    assert runtime.expiry.expire_inactive() == 0
    assert runtime.expiry.reminders() == 1
    clock.advance(days=15)
    assert runtime.expiry.expire_inactive() == 1
    assert bal(runtime, shop).points == 0 and runtime.expiry.expire_inactive() == 0


def test_action_caps_per_day_in_the_shops_time_zone(runtime, shop, clock):
    F.use_program(runtime, shop, timezone="America/New_York",
                  actions={"review": {"enabled": True, "points": 20, "caps": {"per_day": 2}}})
    got = [runtime.actions.award(shop.id, "ada", "review", f"rev-{i}") for i in range(3)]
    assert [g.points for g in got] == [20, 20, 0] and "limit of 2 a day" in got[2].refused
    assert runtime.actions.award(shop.id, "ada", "review", "rev-0").replayed  # same event: no change
    clock.advance(hours=16)  # 12:00 UTC is 07:00 in New York; 04:00 UTC next day is still 23:00 there
    assert runtime.actions.award(shop.id, "ada", "review", "rev-3").points == 0
    clock.advance(hours=1)  # 00:00 in New York: a new day
    assert runtime.actions.award(shop.id, "ada", "review", "rev-4").points == 20
    assert bal(runtime, shop).points == 60


def test_signup_bonus_once_and_disabled_actions_refused(runtime, shop):
    assert runtime.actions.award(shop.id, "ada", "signup", "ada").points == 50
    assert runtime.actions.award(shop.id, "ada", "signup", "ada-again").refused.startswith("limit of 1 ever")
    assert runtime.actions.award(shop.id, "ada", "newsletter", "n1").refused == "newsletter earns nothing in this program"
    assert bal(runtime, shop).points == 50


def test_birthday_bonus_once_a_year(runtime, shop, clock):
    F.use_program(runtime, shop, actions={"birthday": {"enabled": True, "points": 100}})
    F.member(runtime, shop, "ada", birthday=date(1990, 3, 1))
    F.member(runtime, shop, "ben", birthday=date(1990, 3, 2))
    assert runtime.actions.birthdays() == 1 and runtime.actions.birthdays() == 0
    clock.advance(days=1)
    assert runtime.actions.birthdays() == 1
    clock.advance(days=364)
    assert runtime.actions.birthdays() == 1  # ada again, next year
    assert bal(runtime, shop).points == 200


def test_tier_changes_are_events_with_reasons_and_entry_rewards(runtime, shop):
    F.use_program(runtime, shop, tiers=F.tiers(
        ("Bronze", 0), ("Silver", 500, {"earn_multiplier": "1.25", "perks": ["free returns"]}),
        entry_rewards={"Silver": 25}))
    runtime.orders.on_paid(shop.id, order("1", "600.00"))
    member = runtime.members.by_customer(shop.id, "ada")[0]
    assert member.tier == "Silver" and bal(runtime, shop).points == 625
    with runtime.db.transaction() as conn:
        ev = conn.execute(text("select payload from events where type = 'tier_changed' order by id")).scalars().all()
    assert ev[-1]["to"] == "Silver" and "600 points earned in the last 12 months reaches Silver" == ev[-1]["reason"]
    # A full refund drops the qualifying points, but the window policy keeps Silver until it ends.
    runtime.orders.on_refund(shop.id, "1", F.refund(refund_id="r", amount="600.00"))
    assert runtime.members.by_customer(shop.id, "ada")[0].tier == "Silver"


def test_rolling_window_rolls_over_in_the_periodic_job(runtime, shop, clock):
    runtime.orders.on_paid(shop.id, order("1", "600.00"))
    assert runtime.members.by_customer(shop.id, "ada")[0].tier == "Silver"
    clock.advance(days=200)
    assert runtime.tiers.reevaluate_all(runtime.programs) == 0
    clock.advance(days=170)  # the points fell out of the window and the tier's year is over
    assert runtime.tiers.reevaluate_all(runtime.programs) == 1
    assert runtime.members.by_customer(shop.id, "ada")[0].tier == "Bronze"


def test_money_spent_basis(runtime, shop):
    F.use_program(runtime, shop, tiers=F.tiers(("Member", 0), ("VIP", "250.00"), basis="money_spent"))
    runtime.orders.on_paid(shop.id, order("1", "200.00"))
    assert runtime.members.by_customer(shop.id, "ada")[0].tier == "Member"
    runtime.orders.on_paid(shop.id, order("2", "50.00"))
    assert runtime.members.by_customer(shop.id, "ada")[0].tier == "VIP"


def test_a_saved_program_reaches_this_processs_cached_reads_at_once(runtime, shop):
    """The hot paths' cache (`for_reading`, a few seconds) is dropped by a save or a restore in
    the same process: a quote right after the merchant's change prices with the change."""
    before = runtime.programs.for_reading(shop.id).version  # cached now
    saved = runtime.programs.put(shop.id, {"timezone": "Pacific/Auckland"}, author="test")
    assert saved.version > before
    assert runtime.programs.for_reading(shop.id).version == saved.version
    restored = runtime.programs.restore(shop.id, before, author="test")
    assert runtime.programs.for_reading(shop.id).version == restored.version
