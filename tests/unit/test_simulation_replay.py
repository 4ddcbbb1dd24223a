"""The simulator's pure replay (domain.simulation): tiers over a rolling window follow the orders
as they leave it, a draft that leaves shipping out drops the shipping share, refunds take back in
proportion, the redemption assumption splits what is kept, all hand-computed."""
from datetime import datetime, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

from plugin_app.domain.earning import Share
from plugin_app.domain.simulation import PastOrder, Replay, figures, order_of
from plugin_app.services.program import parse

pytestmark = pytest.mark.fast

TIERS = {"enabled": True, "basis": "money_spent", "window": "rolling_12_months", "downgrade": "never",
         "levels": [{"name": "Bronze", "threshold": "0"}, {"name": "Silver", "threshold": "100", "earn_multiplier": "2"}]}


def past(oid, when, *shares, member=1, fractions=None, counted=True):
    return PastOrder(oid, member, when, "EUR",
                     tuple(Share(k, Decimal(b), q, Fraction(0), Fraction(0)) for k, b, q in shares),
                     {"l1": "p1"}, fractions or {}, counted)


def at(y, m, d):
    return datetime(y, m, d, tzinfo=timezone.utc)


def test_a_rolling_window_forgets_old_spend_but_a_tier_held_is_kept_when_downgrades_never_happen():
    program = parse({"tiers": TIERS})
    r = Replay(program, at(2027, 6, 1))
    assert r.add(past("a", at(2025, 1, 1), ("l1", "120.00", 1))) == (120, Decimal(0))  # Bronze, then Silver
    assert r.add(past("b", at(2025, 6, 1), ("l1", "10.00", 1))) == (20, Decimal(0))  # Silver x2
    assert r.members[1].tier == "Silver"
    assert r.add(past("c", at(2026, 7, 1), ("l1", "10.00", 1))) == (20, Decimal(0))  # window: 10 + 10, kept
    assert r.members[1].total == Fraction(10)  # a and b left the 12 months; c is in


def test_end_of_window_downgrade_follows_the_window():
    program = parse({"tiers": {**TIERS, "downgrade": "end_of_window"}})
    r = Replay(program, at(2027, 6, 1))
    r.add(past("a", at(2025, 1, 1), ("l1", "120.00", 1)))
    r.add(past("c", at(2026, 7, 1), ("l1", "10.00", 1)))  # Silver when priced, then down: window ended
    assert r.members[1].tier == "Bronze"
    assert r.add(past("d", at(2026, 8, 1), ("l1", "10.00", 1))) == (10, Decimal(0))


def test_a_draft_without_shipping_drops_the_share_and_refunds_take_back_in_proportion():
    with_shipping = parse({"earning": {"base": {"include_shipping": True}}, "tiers": {"enabled": False}})
    without = parse({"tiers": {"enabled": False}})
    order = past("a", at(2026, 1, 1), ("l1", "50.00", 2), ("shipping", "10.00", 1), fractions={"l1": Fraction(1, 2)})
    assert order_of(order).shipping == Decimal("10.00") and order_of(order).lines[0].product_id == "p1"
    assert Replay(with_shipping, at(2027, 1, 1)).add(order) == (35, Decimal(0))  # 60 - 25
    assert Replay(without, at(2027, 1, 1)).add(order) == (25, Decimal(0))  # 50 - 25


def test_orders_before_the_period_move_tiers_only_and_the_figures_split_what_is_kept():
    program = parse({"tiers": TIERS, "expiry": {"mode": "age", "months": 6}, "cashback": {"enabled": True, "rate": "2"}})
    r = Replay(program, at(2026, 12, 31))
    assert r.add(past("old", at(2025, 12, 1), ("l1", "100.00", 1), counted=False)) == (0, Decimal(0))
    assert r.add(past("a", at(2026, 1, 10), ("l1", "50.00", 1))) == (100, Decimal("1.00"))  # Silver from before
    r.add(past("b", at(2026, 11, 1), ("l1", "25.00", 1)))  # 50 points, not due by the end
    f = figures(r, Fraction(1, 4), Fraction(0), "EUR")
    assert (f["orders"], f["points_kept"], f["points_redeemed"]) == (2, 150, 37)
    assert f["points_expired_unredeemed"] == 100 and f["points_expired"] == 75  # 3/4 of a's 100 lapses
    assert f["points_liability"] == 150 - 37 - 75
    assert f["credit_kept"] == "1.50" and f["credit_liability"] == "1.50"
    assert f["tier_mix"] == {"Silver": 1}
