"""Refund shares (property-based), tier decisions and reward pricing."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from plugin_app.domain.earning import (MemberContext, Order, OrderLine, Refund, RefundLine, calculate,
                                       refund_fractions, taken_back)
from plugin_app.domain.errors import InvalidRequest
from plugin_app.domain.money import Money
from plugin_app.domain.program import Program, Tiers
from plugin_app.domain.rewards import credit_spend, quote
from plugin_app.domain.tiers import decide

pytestmark = pytest.mark.fast  # no database, Redis or network: the fast lane

P = TypeAdapter(Program)
T = TypeAdapter(Tiers)
UTC = ZoneInfo("UTC")
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)

lines_st = st.lists(st.tuples(st.integers(1, 5), st.integers(1, 50_000), st.sampled_from([1, 1, 2, 3])),
                    min_size=1, max_size=6)
refund_st = st.lists(st.tuples(st.integers(0, 5), st.integers(1, 5), st.integers(0, 3000)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(lines_st, refund_st, st.booleans())
def test_refunds_never_take_back_more_than_earned_and_a_full_refund_nets_to_zero(lines, refunds, cashback):
    prog = P.validate_python({"cashback": {"enabled": cashback}, "earning": {"multipliers": [
        {"match": {"tags": ["x2"]}, "factor": "2"}, {"match": {"tags": ["x3"]}, "factor": "3"}]}})
    order_lines = tuple(OrderLine(f"l{i}", qty, D(cents) / 100, tags=frozenset({f"x{mult}"}))
                        for i, (qty, cents, mult) in enumerate(lines))
    order = Order("o", "EUR", NOW, order_lines, "c")
    e = calculate(prog, order, MemberContext())
    pw, cw = [s.points for s in e.shares], [s.credit for s in e.shares]
    fractions, took_p, took_c = {}, 0, D(0)
    for n, (idx, qty, amount_cents) in enumerate(refunds):
        line_id = f"l{idx % len(lines)}"
        r = Refund(f"r{n}", (RefundLine(line_id, qty),), amount=D(amount_cents) / 100 if n % 3 == 0 else D(0))
        after = refund_fractions(e.shares, e.base, r, fractions)
        keys = [s.key for s in e.shares]
        step_p = taken_back(e.points, pw, [after.get(k, Fraction(0)) for k in keys]) - taken_back(
            e.points, pw, [fractions.get(k, Fraction(0)) for k in keys])
        step_c = taken_back(e.credit, cw, [after.get(k, Fraction(0)) for k in keys], "EUR") - taken_back(
            e.credit, cw, [fractions.get(k, Fraction(0)) for k in keys], "EUR")
        assert step_p >= 0 and step_c >= 0  # a refund never gives points back
        took_p, took_c, fractions = took_p + step_p, took_c + step_c, after
        assert took_p <= e.points and took_c <= e.credit
    # Now refund everything that is left: the order nets to zero.
    full = Refund("all", tuple(RefundLine(s.key, s.quantity) for s in e.shares))
    after = refund_fractions(e.shares, e.base, full, fractions)
    keys = [s.key for s in e.shares]
    assert taken_back(e.points, pw, [after.get(k, Fraction(0)) for k in keys]) == e.points
    assert taken_back(e.credit, cw, [after.get(k, Fraction(0)) for k in keys], "EUR") == e.credit


def test_partial_refund_takes_back_at_the_earned_rate_of_that_line():
    prog = P.validate_python({"earning": {"multipliers": [{"match": {"tags": ["x3"]}, "factor": "3"}]}})
    order = Order("o", "EUR", NOW, (OrderLine("a", 2, D("50"), tags=frozenset({"x3"})), OrderLine("b", 1, D("50"))), "c")
    e = calculate(prog, order, MemberContext())
    assert e.points == 200  # 150 + 50
    after = refund_fractions(e.shares, e.base, Refund("r", (RefundLine("a", 1),)), {})
    assert taken_back(e.points, [s.points for s in e.shares], [after.get(s.key, 0) for s in e.shares]) == 75


def tiers(**doc):
    return T.validate_python(doc)


@pytest.mark.parametrize("value,expected", [(D(0), "Bronze"), (D(499), "Bronze"), (D(500), "Silver"),
                                            (D(1499), "Silver"), (D(1500), "Gold")])
def test_thresholds_are_reached_exactly(value, expected):
    d = decide(tiers(), current="Bronze", since=NOW, grace_until=None, value=value, now=NOW, tz=UTC)
    assert d.tier == expected and d.changed == (expected != "Bronze")


def test_downgrade_policies():
    gold_since = NOW - timedelta(days=100)
    never = decide(tiers(downgrade="never"), current="Gold", since=gold_since, grace_until=None,
                   value=D(0), now=NOW, tz=UTC)
    assert never.tier == "Gold" and not never.changed
    keep = decide(tiers(downgrade="end_of_window"), current="Gold", since=gold_since, grace_until=None,
                  value=D(600), now=NOW, tz=UTC)
    assert keep.tier == "Gold"
    later = NOW + timedelta(days=300)
    drop = decide(tiers(downgrade="end_of_window"), current="Gold", since=gold_since, grace_until=None,
                  value=D(600), now=later, tz=UTC)
    assert drop.tier == "Silver" and drop.changed and "window ended" in drop.reason
    start = decide(tiers(downgrade="grace_period", grace_days=30), current="Gold", since=gold_since,
                   grace_until=None, value=D(0), now=NOW, tz=UTC)
    assert start.tier == "Gold" and start.grace_until == NOW + timedelta(days=30)
    still = decide(tiers(downgrade="grace_period", grace_days=30), current="Gold", since=gold_since,
                   grace_until=start.grace_until, value=D(0), now=NOW + timedelta(days=29), tz=UTC)
    assert still.tier == "Gold"
    gone = decide(tiers(downgrade="grace_period", grace_days=30), current="Gold", since=gold_since,
                  grace_until=start.grace_until, value=D(0), now=NOW + timedelta(days=30), tz=UTC)
    assert gone.tier == "Bronze" and "grace period" in gone.reason


def test_calendar_year_window_ends_at_new_year_in_the_shops_time_zone():
    from plugin_app.domain.tiers import window_start

    t = tiers(window="calendar_year")
    berlin = ZoneInfo("Europe/Berlin")
    assert window_start(t, datetime(2026, 12, 31, 22, 59, tzinfo=timezone.utc), berlin) == datetime(2025, 12, 31, 23, 0, tzinfo=timezone.utc)
    assert window_start(t, datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc), berlin) == datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc)


def reward(**doc):
    base = {"id": "r", "name": "R", "type": "fixed_amount", "points_cost": 100, "amount": "5"}
    base.update(doc)
    return P.validate_python({"rewards": [base]}).rewards[0]


def test_reward_pricing():
    eur = lambda a: Money.of(a, "EUR")  # noqa: E731
    q = quote(reward(), eur("40.00"), points_available=150, tier="Bronze")
    assert (q.points, q.discount) == (100, eur("5.00"))
    with pytest.raises(InvalidRequest, match="needs 100 points"):
        quote(reward(), eur("40"), points_available=99, tier=None)
    with pytest.raises(InvalidRequest, match="at least 30.00"):
        quote(reward(minimum_cart="30"), eur("29.99"), points_available=500, tier=None)
    assert quote(reward(max_cart_share="10"), eur("20"), points_available=500, tier=None).discount == eur("2.00")
    with pytest.raises(InvalidRequest, match="for Gold members"):
        quote(reward(tiers=["Gold"]), eur("40"), points_available=500, tier="Silver")
    var = reward(type="variable_amount", points_cost=100, amount="1")
    assert quote(var, eur("50"), points_available=350, tier=None).points == 300  # most steps
    assert quote(var, eur("50"), points_available=350, tier=None, steps=2).discount == eur("2.00")
    with pytest.raises(InvalidRequest, match="between 1 and 3"):
        quote(var, eur("50"), points_available=350, tier=None, steps=4)
    assert quote(reward(type="percentage", percent="10", amount=None), eur("50"), points_available=100, tier=None).percent == D(10)
    assert quote(reward(type="free_shipping", amount=None), eur("50"), points_available=100, tier=None).free_shipping
    assert quote(reward(type="free_product", product_id="p1", amount=None), eur("5"), points_available=100, tier=None).product_id == "p1"
    assert credit_spend(eur("12.50"), eur("10.00"), D(100)) == eur("10.00")
    with pytest.raises(InvalidRequest):
        credit_spend(eur("12.50"), eur("40"), D(100), requested=eur("13"))


def test_a_gross_refund_takes_back_its_share_of_what_was_paid_not_of_the_net_base():
    """WooCommerce's `refunds[].total` is gross: 10.00 back on an order of 71.00 net that paid
    86.62 (tax and shipping) is 10/86.62 of the order, so 8 of its 71 points, not 10."""
    prog = P.validate_python({})
    order = Order("o", "EUR", NOW, (OrderLine("a", 1, D("71.00"), tax=D("15.62")),), "c", shipping=D("0"))
    e = calculate(prog, order, MemberContext())
    assert e.points == 71
    after = refund_fractions(e.shares, e.base, Refund("r", amount=D("10.00"), of_total=D("86.62")), {})
    assert taken_back(e.points, [s.points for s in e.shares], [after.get(s.key, 0) for s in e.shares]) == 8
    # the whole gross total back nets to zero; more than paid never takes more than earned
    everything = refund_fractions(e.shares, e.base, Refund("r", amount=D("90.00"), of_total=D("86.62")), {})
    assert taken_back(e.points, [s.points for s in e.shares], [everything.get(s.key, 0) for s in e.shares]) == 71


@settings(max_examples=200, deadline=None)
@given(lines_st, st.lists(st.integers(1, 5000), max_size=6), st.integers(0, 3000), st.integers(0, 2500))
def test_gross_refunds_never_take_back_more_than_earned(lines, refunds, shipping_cents, tax_pct):
    prog = P.validate_python({})
    order_lines = tuple(OrderLine(f"l{i}", qty, D(cents) / 100) for i, (qty, cents, _) in enumerate(lines))
    order = Order("o", "EUR", NOW, order_lines, "c", shipping=D(shipping_cents) / 100)
    e = calculate(prog, order, MemberContext())
    paid = (e.base * (1 + D(tax_pct) / 10000) + order.shipping).quantize(D("0.01"))
    pw, fractions, took, left = [s.points for s in e.shares], {}, 0, paid
    keys = [s.key for s in e.shares]
    for n, cents in enumerate(refunds):
        amount = min(D(cents) / 100, left)
        left -= amount
        after = refund_fractions(e.shares, e.base, Refund(f"r{n}", amount=amount, of_total=paid), fractions)
        step = taken_back(e.points, pw, [after.get(k, Fraction(0)) for k in keys]) - taken_back(
            e.points, pw, [fractions.get(k, Fraction(0)) for k in keys])
        assert step >= 0
        took, fractions = took + step, after
        assert took <= e.points
    last = refund_fractions(e.shares, e.base, Refund("all", amount=left, of_total=paid), fractions)
    if paid > 0:
        assert taken_back(e.points, pw, [last.get(k, Fraction(0)) for k in keys]) == e.points
