"""Tier progress (domain.tiers.progress), the one rule behind the cart quote's `tier` and the
widget's: where a value stands, the level above it, and what is missing to reach it."""
from decimal import Decimal as D

import pytest

from plugin_app.domain.program import Tiers
from plugin_app.domain.tiers import progress

TIERS = Tiers()  # Bronze 0, Silver 500, Gold 1500


@pytest.mark.parametrize("value,tier,nxt,to_next", [
    (D(0), "Bronze", "Silver", D(500)), (D(499), "Bronze", "Silver", D(1)),
    (D(500), "Silver", "Gold", D(1000)), (D("1499.50"), "Silver", "Gold", D("0.50")),
    (D(1500), "Gold", None, None), (D(99999), "Gold", None, None),
])
def test_the_value_decides_the_level_and_the_next(value, tier, nxt, to_next):
    p = progress(TIERS, value)
    assert (p.tier.name, p.next.name if p.next else None, p.to_next, p.value) == (tier, nxt, to_next, value)


def test_a_tier_held_is_kept_whatever_the_value_says():
    kept = progress(TIERS, D(10), "Gold")  # below Gold's threshold, in its grace period say
    assert (kept.tier.name, kept.next) == ("Gold", None)
    ahead = progress(TIERS, D(2000), "Bronze")  # not re-evaluated yet
    assert (ahead.tier.name, ahead.next.name, ahead.to_next) == ("Bronze", "Silver", D(-1500))
    assert ahead.tier.perks == TIERS.by_name("Bronze").perks


@pytest.mark.parametrize("current", [None, "Platinum"])
def test_no_tier_or_one_the_program_no_longer_has_falls_back_to_the_value(current):
    p = progress(TIERS, D(700), current)
    assert (p.tier.name, p.next.name, p.to_next) == ("Silver", "Gold", D(800))


def test_a_single_level_has_no_next():
    one = Tiers(levels=[TIERS.levels[0]])
    assert (progress(one, D(5)).tier.name, progress(one, D(5)).next, progress(one, D(5)).to_next) == ("Bronze", None, None)
