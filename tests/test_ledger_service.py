"""The ledger service on real PostgreSQL: every operation, idempotency, tenancy, the audit."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from plugin_app.domain.errors import (IdempotencyConflict, InsufficientBalance, InvalidRequest,
                                      InvalidState, NotFound)
from plugin_app.domain.ledger import Asset, Source
from plugin_app.domain.money import Money
from plugin_app.services.audit import run_audit


def earn(rt, shop, member, n, key, **kw):
    return rt.ledger.earn(shop.id, member.id, Asset.POINTS, n, key=key, source=Source.ORDER,
                          reason="order", **kw)


def balance(rt, shop, member):
    return rt.members.get(shop.id, member.id)[1]


def assert_clean(rt):
    report = run_audit(rt.db)
    assert report.ok, report.problems


def test_earn_and_redeem_move_the_balance_and_write_entries(runtime, shop, member):
    posted = earn(runtime, shop, member, 120, "o1")
    assert not posted.replayed and posted.balance.points == 120 and posted.balance.lifetime_points == 120
    runtime.ledger.redeem(shop.id, member.id, Asset.POINTS, 100, key="r1", source=Source.CART,
                          reason="5 EUR off")
    b = balance(runtime, shop, member)
    assert (b.points, b.lifetime_points, b.version) == (20, 120, 2)
    assert_clean(runtime)


def test_same_key_replays_and_a_different_request_with_it_is_refused(runtime, shop, member):
    first = earn(runtime, shop, member, 100, "order-1")
    again = earn(runtime, shop, member, 100, "order-1")
    assert again.replayed and again.entry_id == first.entry_id and again.balance.points == 100
    with pytest.raises(IdempotencyConflict):
        earn(runtime, shop, member, 999, "order-1")
    assert balance(runtime, shop, member).points == 100
    assert_clean(runtime)


def test_spending_below_zero_is_refused_with_nothing_written(runtime, shop, member):
    earn(runtime, shop, member, 50, "o1")
    with pytest.raises(InsufficientBalance) as exc:
        runtime.ledger.redeem(shop.id, member.id, Asset.POINTS, 51, key="r", source="cart", reason="x")
    assert exc.value.details["available"] == "50"
    with runtime.db.transaction() as conn:
        assert conn.execute(text("select count(*) from ledger_entries")).scalar() == 1
    assert balance(runtime, shop, member).points == 50


def test_pending_points_vest_when_their_time_comes(runtime, shop, member, clock):
    earn(runtime, shop, member, 70, "o1", pending_until=clock.now() + timedelta(days=14))
    b = balance(runtime, shop, member)
    assert (b.points, b.pending_points, b.lifetime_points) == (0, 70, 70)
    assert runtime.ledger.vest_due() == 0
    clock.advance(days=14)
    assert runtime.ledger.vest_due() == 1
    assert runtime.ledger.vest_due() == 0  # done once
    b = balance(runtime, shop, member)
    assert (b.points, b.pending_points) == (70, 0)
    assert_clean(runtime)


def test_lots_expire_by_age_and_spending_takes_the_oldest_first(runtime, shop, member, clock):
    earn(runtime, shop, member, 100, "old", expires_at=clock.now() + timedelta(days=365))
    clock.advance(days=30)
    earn(runtime, shop, member, 100, "new", expires_at=clock.now() + timedelta(days=365))
    runtime.ledger.redeem(shop.id, member.id, Asset.POINTS, 60, key="r", source="cart", reason="x")
    clock.advance(days=340)  # the first lot is past a year, the second is not
    assert runtime.ledger.expire_due() == 1
    assert balance(runtime, shop, member).points == 100  # 40 left of the old lot lapsed
    clock.advance(days=60)
    assert runtime.ledger.expire_due() == 1
    assert balance(runtime, shop, member).points == 0
    assert_clean(runtime)


def test_reserve_then_commit_part_or_release(runtime, shop, member):
    earn(runtime, shop, member, 500, "o1")
    held = runtime.ledger.reserve(shop.id, member.id, Asset.POINTS, 200, key="cart-1",
                                  source=Source.CART, reason="cart discount")
    assert held.hold_id and (held.balance.points, held.balance.held_points) == (300, 200)
    assert runtime.ledger.reserve(shop.id, member.id, Asset.POINTS, 200, key="cart-1",
                                  source=Source.CART, reason="cart discount").hold_id == held.hold_id
    done = runtime.ledger.commit(shop.id, held.hold_id, 150, key="order-9", source="order", reason="used")
    assert (done.balance.points, done.balance.held_points) == (350, 0)
    with pytest.raises(InvalidState):
        runtime.ledger.release(shop.id, held.hold_id, key="rel", source="cart", reason="late")
    other = runtime.ledger.reserve(shop.id, member.id, Asset.POINTS, 100, key="cart-2",
                                   source="cart", reason="cart")
    runtime.ledger.release(shop.id, other.hold_id, key="cart-2-release", source="cart", reason="abandoned")
    b = balance(runtime, shop, member)
    assert (b.points, b.held_points) == (350, 0)
    assert_clean(runtime)


def test_stale_holds_are_released_by_the_job(runtime, shop, member, clock):
    earn(runtime, shop, member, 100, "o1")
    runtime.ledger.reserve(shop.id, member.id, Asset.POINTS, 100, key="c", source="cart",
                           reason="cart", expires_at=clock.now() + timedelta(minutes=30))
    assert runtime.ledger.release_stale_holds() == 0
    clock.advance(minutes=31)
    assert runtime.ledger.release_stale_holds() == 1
    assert balance(runtime, shop, member).points == 100
    assert_clean(runtime)


def test_partial_and_full_reversals_never_exceed_the_original(runtime, shop, member):
    e = earn(runtime, shop, member, 100, "o1")
    runtime.ledger.reverse(shop.id, e.entry_id, 30, key="refund-1", source=Source.REFUND, reason="partial refund")
    assert balance(runtime, shop, member).points == 70
    with pytest.raises(InvalidRequest):
        runtime.ledger.reverse(shop.id, e.entry_id, 71, key="refund-2", source="refund", reason="too much")
    runtime.ledger.reverse(shop.id, e.entry_id, key="cancel", source="refund", reason="cancelled")
    b = balance(runtime, shop, member)
    assert (b.points, b.lifetime_points) == (0, 0)
    with pytest.raises(InvalidState):
        runtime.ledger.reverse(shop.id, e.entry_id, key="again", source="refund", reason="x")
    assert_clean(runtime)


def test_refund_after_redemption_goes_negative_by_policy(runtime, shop, member):
    e = earn(runtime, shop, member, 100, "o1")
    runtime.ledger.redeem(shop.id, member.id, Asset.POINTS, 100, key="r", source="cart", reason="spent")
    runtime.ledger.reverse(shop.id, e.entry_id, key="refund", source="refund", reason="order refunded")
    assert balance(runtime, shop, member).points == -100  # a debt, shown, not hidden
    earn(runtime, shop, member, 150, "o2")
    assert balance(runtime, shop, member).points == 50
    assert_clean(runtime)


def test_reversing_a_redemption_gives_points_back(runtime, shop, member):
    earn(runtime, shop, member, 100, "o1")
    r = runtime.ledger.redeem(shop.id, member.id, Asset.POINTS, 80, key="r", source="cart", reason="spent")
    runtime.ledger.reverse(shop.id, r.entry_id, 80, key="undo", source="admin", reason="order failed")
    assert balance(runtime, shop, member).points == 100
    assert_clean(runtime)


def test_adjustments_record_who_and_why_and_cannot_overdraw(runtime, shop, member):
    runtime.ledger.adjust(shop.id, member.id, Asset.POINTS, 40, key="a1", actor="sam@shop", reason="goodwill")
    with pytest.raises(InsufficientBalance):
        runtime.ledger.adjust(shop.id, member.id, Asset.POINTS, -41, key="a2", actor="sam@shop", reason="fix")
    with pytest.raises(InvalidRequest):
        runtime.ledger.adjust(shop.id, member.id, Asset.POINTS, 5, key="a3", actor=" ", reason="who?")
    with runtime.db.transaction() as conn:
        row = conn.execute(text("select actor, reason, source from ledger_entries")).one()
    assert tuple(row) == ("sam@shop", "goodwill", "admin")
    assert_clean(runtime)


def test_store_credit_is_money_in_the_shop_currency(runtime, shop, member):
    runtime.ledger.earn(shop.id, member.id, Asset.CREDIT, Money.of("4.95", "EUR"), key="cb",
                        source="order", reason="5% cashback")
    runtime.ledger.redeem(shop.id, member.id, Asset.CREDIT, "1.10", key="use", source="cart", reason="x")
    b = balance(runtime, shop, member)
    assert b.credit == Money.of("3.85", "EUR") and b.points == 0
    with pytest.raises(InvalidRequest):
        runtime.ledger.earn(shop.id, member.id, Asset.CREDIT, Money.of("1", "USD"), key="usd",
                            source="order", reason="x")
    with pytest.raises(InvalidRequest):
        runtime.ledger.earn(shop.id, member.id, Asset.CREDIT, "0.001", key="sub-cent",
                            source="order", reason="x")
    assert_clean(runtime)


def test_no_shop_reaches_another_shops_members_or_entries(runtime, shop, member):
    other, _ = runtime.shops.register("demo", "shop-b.example", currency="USD")
    e = earn(runtime, shop, member, 100, "o1")
    with pytest.raises(NotFound):
        runtime.ledger.earn(other.id, member.id, Asset.POINTS, 5, key="x", source="order", reason="x")
    with pytest.raises(NotFound):
        runtime.ledger.reverse(other.id, e.entry_id, key="x", source="refund", reason="x")
    with pytest.raises(NotFound):
        runtime.members.get(other.id, member.id)
    # The same idempotency key is independent per shop.
    m2, _ = runtime.members.enrol(other.id, "cust-1")
    assert not runtime.ledger.earn(other.id, m2.id, Asset.POINTS, 5, key="o1", source="order",
                                   reason="x").replayed
    assert_clean(runtime)


def test_bad_input_is_refused(runtime, shop, member):
    for bad in dict(n=0), dict(n=-3), dict(n=1.5), dict(n="10"):
        with pytest.raises(InvalidRequest):
            earn(runtime, shop, member, bad["n"], "k")
    with pytest.raises(InvalidRequest):
        runtime.ledger.earn(shop.id, member.id, Asset.POINTS, 5, key="", source="order", reason="x")
    with pytest.raises(InvalidRequest):
        runtime.ledger.earn(shop.id, member.id, Asset.POINTS, 5, key="k", source="nowhere", reason="x")
    with pytest.raises(InvalidRequest):
        runtime.ledger.earn(shop.id, member.id, Asset.POINTS, 5, key="k", source="order", reason=" ")
    assert balance(runtime, shop, member).version == 0


def test_audit_catches_a_tampered_balance_and_a_bad_reversal(runtime, shop, member):
    e = earn(runtime, shop, member, 100, "o1")
    assert run_audit(runtime.db).ok
    with runtime.db.transaction() as conn:
        conn.execute(text("update balances set points = points + 5"))
    report = run_audit(runtime.db, shop.id)
    assert not report.ok and any("balance points is 105" in p for p in report.problems)
    with runtime.db.transaction() as conn:
        conn.execute(text("update balances set points = points - 5"))
        conn.execute(text(
            "insert into ledger_entries (shop_id, member_id, asset, kind, source, reason, "
            "idempotency_key, request_hash, reverses_entry_id, amount, points, created_at) "
            "values (:s, :m, 'points', 'reverse', 'refund', 'forged', 'forged', '', :e, 500, 0, now())"),
            dict(s=shop.id, m=member.id, e=e.entry_id))
    report = run_audit(runtime.db)
    assert any("more than its" in p for p in report.problems)


def test_credentials_are_encrypted_at_rest(runtime):
    shop, key = runtime.shops.register("shopify", "x.myshopify.com", credentials={"token": "shpat_secret"})
    with runtime.db.transaction() as conn:
        raw = conn.execute(text("select credentials, admin_api_key_hash from shops")).one()
    assert "shpat_secret" not in raw.credentials and key not in raw.credentials
    assert key not in raw.admin_api_key_hash
    assert runtime.shops.credentials(shop.id) == {"token": "shpat_secret"}
    again, key2 = runtime.shops.register("shopify", "x.myshopify.com", credentials={"token": "new"})
    assert (again.id, key2) == (shop.id, key)
    assert runtime.shops.by_api_key(key).id == shop.id
    runtime.shops.uninstall(shop.id)
    assert runtime.shops.by_api_key(key) is None


def test_amount_column_holds_exact_decimals(runtime, shop, member):
    runtime.ledger.earn(shop.id, member.id, Asset.CREDIT, Decimal("0.10"), key="a", source="order", reason="x")
    runtime.ledger.earn(shop.id, member.id, Asset.CREDIT, Decimal("0.20"), key="b", source="order", reason="x")
    assert balance(runtime, shop, member).credit.amount == Decimal("0.30")
