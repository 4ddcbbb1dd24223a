"""The pure ledger engine: lots, holds, FIFO, expiry, the debt policy, and its invariants
under random operation sequences (hypothesis, no database)."""
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin_app.domain.errors import InsufficientBalance, InvalidRequest
from plugin_app.domain.ledger import Account, Asset
from plugin_app.domain.money import Money

pytestmark = pytest.mark.fast  # no database, Redis or network: the fast lane


def test_spending_is_first_in_first_out():
    acc = Account(Asset.POINTS)
    first = acc.earn(100).new_lot
    second = acc.earn(50).new_lot
    effect = acc.spend(120)
    assert [(lot, n) for lot, n in effect.draws] == [(first, 100), (second, 20)]
    assert (first.remaining, second.remaining, acc.available) == (0, 30, 30)
    assert acc.check() == []


def test_spend_below_zero_is_refused_and_changes_nothing():
    acc = Account(Asset.POINTS)
    acc.earn(10)
    with pytest.raises(InsufficientBalance):
        acc.spend(11)
    assert acc.available == 10 and acc.check() == []


def test_pending_points_cannot_be_spent_until_vested():
    acc = Account(Asset.POINTS)
    lot = acc.earn(80, pending=True).new_lot
    assert (acc.available, acc.pending) == (0, 80)
    with pytest.raises(InsufficientBalance):
        acc.spend(1)
    acc.vest(lot)
    assert (acc.available, acc.pending, lot.pending) == (80, 0, False)
    assert acc.check() == []


def test_reversal_after_spending_goes_into_debt_and_later_earnings_repay_it():
    acc = Account(Asset.POINTS)
    lot = acc.earn(100).new_lot
    acc.spend(100)
    acc.take_back(100, lot)
    assert acc.available == -100 and acc.check() == []
    with pytest.raises(InsufficientBalance):
        acc.spend(1)
    new = acc.earn(30).new_lot
    assert (acc.available, new.remaining) == (-70, 0)  # repays debt, creates no spendable value
    new = acc.earn(100).new_lot
    assert (acc.available, new.remaining) == (30, 30)
    assert acc.check() == []


def test_hold_commit_part_and_release_rest_back_to_its_lots():
    acc = Account(Asset.POINTS)
    lot = acc.earn(100).new_lot
    acc.reserve(60)
    assert (acc.available, acc.held, lot.remaining) == (40, 60, 40)
    effect = acc.settle_hold(60, 45, [lot])
    assert (acc.available, acc.held, lot.remaining) == (55, 0, 55)
    assert (effect.held, effect.available) == (-60, 15)
    assert acc.check() == []


def test_expiry_takes_only_what_is_left_in_the_lot():
    acc = Account(Asset.POINTS)
    old = acc.earn(100).new_lot
    acc.earn(40)
    acc.spend(70)
    effect = acc.expire(old)
    assert effect.available == -30 and acc.available == 40 and acc.check() == []


def test_store_credit_is_decimal():
    acc = Account(Asset.CREDIT)
    acc.earn(Decimal("4.95"))
    acc.spend(Decimal("0.95"))
    assert acc.available == Decimal("4.00") and acc.check() == []


def test_amounts_must_be_positive_and_typed():
    acc = Account(Asset.POINTS)
    for bad in (0, -5, True, 1.5):
        with pytest.raises(InvalidRequest):
            acc.earn(bad)


def test_money_refuses_floats_and_sub_cent_amounts():
    assert Money.of("12.5", "EUR").to_json() == {"amount": "12.50", "currency": "EUR"}
    assert Money.of("100", "JPY").amount == Decimal("100")
    with pytest.raises(ValueError):
        Money.of(1.1, "EUR")
    with pytest.raises(ValueError):
        Money.of("1.001", "EUR")
    with pytest.raises(ValueError):
        Money.of("1", "EUR") + Money.of("1", "USD")


ops = st.lists(st.tuples(
    st.sampled_from(["earn", "earn_pending", "vest", "spend", "reserve", "commit", "release",
                     "take_back", "give_back", "expire"]),
    st.integers(min_value=1, max_value=300),
    st.integers(min_value=0, max_value=50)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_invariants_hold_after_every_step(sequence):
    """Model check: available/pending/held equal what a naive tally of the operations says,
    and the lot invariants hold after every single step."""
    acc = Account(Asset.POINTS)
    earned, holds, spends = [], [], []
    tally = {"available": 0, "pending": 0, "held": 0}
    for op, amount, pick in sequence:
        if op in ("earn", "earn_pending"):
            lot = acc.earn(amount, pending=op == "earn_pending").new_lot
            earned.append([lot, amount])
            tally["pending" if lot.pending else "available"] += amount
        elif op == "vest":
            pending = [lot for lot, _ in earned if lot.pending]
            if pending:
                lot = pending[pick % len(pending)]
                tally["pending"] -= lot.remaining
                tally["available"] += lot.remaining
                acc.vest(lot)
        elif op in ("spend", "reserve"):
            before = acc.available
            try:
                effect = acc.reserve(amount) if op == "reserve" else acc.spend(amount)
            except InsufficientBalance:
                assert amount > before
                continue
            tally["available"] -= amount
            if op == "reserve":
                tally["held"] += amount
                holds.append((amount, [lot for lot, _ in effect.draws]))
            else:
                spends.append([amount, [lot for lot, _ in effect.draws]])
        elif op in ("commit", "release") and holds:
            held, lots = holds.pop(pick % len(holds))
            commit = min(amount, held) if op == "commit" else 0
            acc.settle_hold(held, commit, lots)
            tally["held"] -= held
            tally["available"] += held - commit
        elif op == "take_back" and earned:
            item = earned[pick % len(earned)]
            lot, left = item
            n = min(amount, left) if not lot.pending else min(amount, lot.remaining)
            if n > 0:
                acc.take_back(n, lot)
                item[1] -= n
                tally["pending" if lot.pending else "available"] -= n
        elif op == "give_back" and spends:
            item = spends[pick % len(spends)]
            n = min(amount, item[0])
            if n > 0:
                acc.give_back(n, item[1])
                item[0] -= n
                tally["available"] += n
        elif op == "expire" and earned:
            lot = earned[pick % len(earned)][0]
            gone = 0 if lot.pending else lot.remaining
            acc.expire(lot)
            tally["available"] -= gone
        assert acc.check() == [], (op, amount)
        assert (acc.available, acc.pending, acc.held) == (
            tally["available"], tally["pending"], tally["held"])
        assert acc.held >= 0 and acc.pending >= 0


# -- which entries can be reversed, and which way (domain.ledger.reversal) -------------------
@pytest.mark.parametrize("kind,delta,expected", [
    ("earn", 100, "take_back"), ("earn", 0, "take_back"),  # a pending earn still counts: delta is available + pending
    ("redeem", -40, "give_back"), ("commit", -40, "give_back"), ("commit", 0, "give_back"),
    ("adjust", 25, "take_back"), ("adjust", Decimal("-2.50"), "give_back"),
])
def test_reversal_direction_follows_the_kind_and_an_adjustments_sign(kind, delta, expected):
    from plugin_app.domain.ledger import Kind, Reversal, reversal

    assert reversal(Kind(kind), delta) == Reversal(expected) == reversal(kind, delta)


@pytest.mark.parametrize("kind", ["vest", "reserve", "release", "reverse", "expire"])
def test_other_kinds_cannot_be_reversed(kind):
    from plugin_app.domain.ledger import REVERSIBLE, Kind, reversal

    with pytest.raises(InvalidRequest, match=f"^a {kind} entry cannot be reversed$"):
        reversal(kind, 10)
    assert Kind(kind) not in REVERSIBLE


def test_an_adjustment_that_moved_nothing_cannot_be_reversed():
    from plugin_app.domain.ledger import reversal

    with pytest.raises(InvalidRequest, match="^a adjust entry cannot be reversed$"):
        reversal("adjust", 0)
