"""Badges and challenges end to end on PostgreSQL (issue 20): through the order service (what the
webhooks call), the ledger, the outbox, the settlement job, the program API and the widget."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from plugin_app.domain.ports import FixedClock
from plugin_app.jobs import tasks
from plugin_app.services.audit import run_audit
from plugin_app.storage import tables as t

from . import factories as F

UTC = timezone.utc

THREE_ORDERS = {"id": "three", "name": "Three orders", "names": {"it": "Tre ordini"},
                "rule": {"kind": "orders_count", "n": 3}, "reward": {"kind": "points", "points": 100}}
FIRST = {"id": "first", "name": "First order", "rule": {"kind": "first_order"}}
MARCH = {"id": "march", "name": "March", "starts_at": "2026-03-01T00:00:00", "ends_at": "2026-04-01T00:00:00",
         "goal": {"kind": "orders_count", "n": 2}, "points": 200}


def points_of(rt, shop, member) -> int:
    return rt.members.get(shop.id, member.id)[1].points


def awards(rt, shop, member) -> list[tuple[str, int]]:
    with rt.db.uow(shop.id) as uow:
        return sorted(uow.conn.execute(select(t.badge_awards.c.badge_id, t.badge_awards.c.seq).where(
            t.badge_awards.c.shop_id == shop.id, t.badge_awards.c.member_id == member.id)).all())


def outbox(rt, shop, kind: str) -> list[dict]:
    with rt.db.uow(shop.id) as uow:
        return uow.conn.execute(select(t.events.c.payload).where(
            t.events.c.shop_id == shop.id, t.events.c.type == kind)).scalars().all()


def entries(rt, shop, member, prefix: str) -> list:
    with rt.db.uow(shop.id) as uow:
        return [e for e in uow.ledger.entries(member.id) if e.idempotency_key.startswith(prefix)]


def setup(rt, timezone_name="UTC", **sections):
    shop = F.shop(rt, timezone=timezone_name)
    F.use_program(rt, shop, timezone=timezone_name, **sections)
    return shop, F.member(rt, shop)


def test_exactly_n_orders_earns_the_badge_once_and_pays_through_the_ledger(tx_runtime):
    rt = tx_runtime
    shop, member = setup(rt, badges=[THREE_ORDERS, FIRST])
    orders = [F.order(F.line("10.00"), customer=member.platform_customer_id) for _ in range(4)]
    rt.orders.on_paid(shop.id, orders[0])
    assert awards(rt, shop, member) == [("first", 1)]
    rt.orders.on_paid(shop.id, orders[1])
    assert awards(rt, shop, member) == [("first", 1)]  # 2 of 3
    before = points_of(rt, shop, member)
    rt.orders.on_paid(shop.id, orders[2])  # exactly 3
    assert awards(rt, shop, member) == [("first", 1), ("three", 1)]
    (entry,) = entries(rt, shop, member, "badge:")
    assert entry.idempotency_key == f"badge:{member.id}:three:1" and entry.reason_code == "badge.earned"
    assert points_of(rt, shop, member) == before + 10 + 100
    rt.orders.on_paid(shop.id, orders[3])  # a fourth: a one-time badge is not earned again
    assert len(entries(rt, shop, member, "badge:")) == 1
    assert sorted(p["badge_id"] for p in outbox(rt, shop, "badge_earned")) == ["first", "three"]
    assert run_audit(rt.db).ok


def test_a_refund_that_undoes_the_qualifying_order_means_no_badge(tx_runtime):
    rt = tx_runtime
    shop, member = setup(rt, badges=[THREE_ORDERS])
    first = [F.order(F.line("10.00", line_id=f"l{i}"), customer=member.platform_customer_id) for i in range(2)]
    for o in first:
        rt.orders.on_paid(shop.id, o)
    rt.orders.on_refund(shop.id, first[1].order_id, F.refund((f"l1", 1)))  # the second order refunded in full
    rt.orders.on_paid(shop.id, F.order(F.line("10.00"), customer=member.platform_customer_id))  # the third: 2 kept
    assert awards(rt, shop, member) == []
    rt.orders.on_paid(shop.id, F.order(F.line("10.00"), customer=member.platform_customer_id))
    assert awards(rt, shop, member) == [("three", 1)]
    # Earned stays earned: cancelling one now takes nothing back and pays nothing again.
    rt.orders.on_cancel(shop.id, first[0].order_id)
    assert len(entries(rt, shop, member, "badge:")) == 1
    assert run_audit(rt.db).ok


def test_repeatable_badge_pays_each_time_up_to_its_limit(tx_runtime):
    rt = tx_runtime
    badge = {**THREE_ORDERS, "rule": {"kind": "orders_count", "n": 2}, "repeatable": True, "max_times": 2}
    shop, member = setup(rt, badges=[badge])
    for _ in range(7):
        rt.orders.on_paid(shop.id, F.order(F.line("1.00"), customer=member.platform_customer_id))
    assert awards(rt, shop, member) == [("three", 1), ("three", 2)]
    assert sorted(e.idempotency_key for e in entries(rt, shop, member, "badge:")) == [
        f"badge:{member.id}:three:1", f"badge:{member.id}:three:2"]


def test_review_and_custom_event_badges_follow_actions(tx_runtime):
    rt = tx_runtime
    shop, member = setup(rt, actions={"review": {"enabled": True, "points": 5, "caps": {}},
                                      "custom": {"quiz": {"enabled": True, "points": 1, "caps": {}}}},
                         badges=[{"id": "critic", "name": "Critic", "rule": {"kind": "reviews", "n": 2}},
                                 {"id": "quiz", "name": "Quizzer", "rule": {"kind": "custom_event", "event": "quiz", "n": 1},
                                  "reward": {"kind": "points", "points": 7}}])
    rt.actions.award(shop.id, member.platform_customer_id, "review", "r1")
    assert awards(rt, shop, member) == []
    rt.actions.award(shop.id, member.platform_customer_id, "review", "r2")
    rt.actions.award(shop.id, member.platform_customer_id, "quiz", "q1")
    assert awards(rt, shop, member) == [("critic", 1), ("quiz", 1)]
    assert run_audit(rt.db).ok


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_duplicated_and_shuffled_deliveries_never_pay_twice(tx_runtime, seed):
    """Seeded-random: the same paid, refund and cancel deliveries, each sent one to three times,
    in a shuffled order (a refund or cancel before its order is a no-op the platform would
    resend): the badge and the challenge pay at most once, and the audit stays clean."""
    rt = tx_runtime
    rng = random.Random(seed)
    rt.clock.now = lambda: datetime(2026, 3, 20, 12, tzinfo=UTC)
    badge = {**THREE_ORDERS, "rule": {"kind": "orders_count", "n": 2}, "repeatable": True, "max_times": 3}
    shop, member = setup(rt, badges=[badge, FIRST], challenges=[MARCH])
    orders = [F.order(F.line("10.00", line_id=f"l{i}"), customer=member.platform_customer_id,
                      placed_at=datetime(2026, 3, 2 + i, tzinfo=UTC)) for i in range(6)]
    deliveries = [("paid", o) for o in orders] + [("refund", orders[1]), ("cancel", orders[4])]
    deliveries = [d for d in deliveries for _ in range(rng.randint(1, 3))]
    rng.shuffle(deliveries)
    refund = F.refund(("l1", 1), refund_id="refund-1")
    for what, o in deliveries:
        if what == "paid":
            rt.orders.on_paid(shop.id, o)
        elif what == "refund":
            rt.orders.on_refund(shop.id, o.order_id, refund)
        else:
            rt.orders.on_cancel(shop.id, o.order_id)
    keys = [e.idempotency_key for e in entries(rt, shop, member, "badge:")]
    assert len(keys) == len(set(keys)) <= 3
    assert len(awards(rt, shop, member)) == len(keys) + 1  # + the first order (no points)
    rt.clock.now = lambda: datetime(2026, 4, 2, tzinfo=UTC)
    for _ in range(2):
        tasks_settle(rt)
    assert len(entries(rt, shop, member, "challenge:")) == 1
    assert len(outbox(rt, shop, "challenge_completed")) == 1
    assert run_audit(rt.db).ok


def tasks_settle(rt) -> int:
    return rt.achievements.settle_due()


def test_challenge_settles_once_counting_refunds_inside_the_window_in_the_shops_time_zone(tx_runtime):
    rt = tx_runtime
    rt.clock.now = lambda: datetime(2026, 3, 20, tzinfo=UTC)
    shop, met = setup(rt, timezone_name="Europe/Rome", challenges=[MARCH])
    missed = F.member(rt, shop)
    refunded = F.member(rt, shop)
    last_minute = datetime(2026, 3, 31, 21, 59, tzinfo=UTC)  # 23:59 in Rome (summer time)
    too_late = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # midnight in Rome: April
    for m, second in ((met, last_minute), (missed, too_late), (refunded, last_minute)):
        rt.orders.on_paid(shop.id, F.order(F.line("10.00"), customer=m.platform_customer_id, placed_at=datetime(2026, 3, 5, tzinfo=UTC)))
        rt.orders.on_paid(shop.id, F.order(F.line("10.00", line_id=f"x{m.id}"), order_id=f"o-{m.id}",
                                           customer=m.platform_customer_id, placed_at=second))
    rt.orders.on_refund(shop.id, f"o-{refunded.id}", F.refund((f"x{refunded.id}", 1)))
    assert tasks_settle(rt) == 0  # not ended yet
    rt.clock.now = lambda: datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # the end, in Rome
    assert tasks_settle(rt) == 1
    assert tasks_settle(rt) == 0 and tasks.settle_challenges.__name__ == "settle_challenges"
    assert [len(entries(rt, shop, m, "challenge:")) for m in (met, missed, refunded)] == [1, 0, 0]
    with rt.db.uow(shop.id) as uow:
        outcomes = dict(uow.conn.execute(select(t.challenge_members.c.member_id, t.challenge_members.c.outcome).where(
            t.challenge_members.c.shop_id == shop.id)).all())
    assert outcomes == {met.id: "achieved", missed.id: "missed", refunded.id: "missed"}
    assert run_audit(rt.db).ok


def test_opt_in_challenges_count_only_members_who_joined(tx_runtime):
    rt = tx_runtime
    rt.clock.now = lambda: datetime(2026, 3, 10, tzinfo=UTC)
    shop, joined = setup(rt, challenges=[{**MARCH, "enrollment": "opt_in"}])
    other = F.member(rt, shop)
    assert rt.achievements.opt_in(shop.id, joined.id, "march") is True
    assert rt.achievements.opt_in(shop.id, joined.id, "march") is False  # again: no change
    for m in (joined, other):
        for _ in range(2):
            rt.orders.on_paid(shop.id, F.order(F.line("5.00"), customer=m.platform_customer_id,
                                               placed_at=datetime(2026, 3, 9, tzinfo=UTC)))
    rt.clock.now = lambda: datetime(2026, 4, 1, tzinfo=UTC)
    assert rt.achievements.settle_due() == 1
    assert [len(entries(rt, shop, m, "challenge:")) for m in (joined, other)] == [1, 0]


def test_shops_are_isolated(tx_runtime):
    rt = tx_runtime
    shop_a, member_a = setup(rt, badges=[FIRST])
    shop_b, member_b = setup(rt)
    rt.orders.on_paid(shop_b.id, F.order(F.line("10.00"), customer=member_b.platform_customer_id))
    rt.orders.on_paid(shop_a.id, F.order(F.line("10.00"), customer=member_a.platform_customer_id))
    assert awards(rt, shop_a, member_a) == [("first", 1)] and awards(rt, shop_b, member_b) == []
    with rt.db.uow(shop_b.id) as uow:
        assert uow.achievements.earned(member_a.id) == {}  # shop B's repository sees none of shop A's


def test_a_quiet_history_backfill_awards_no_badge(tx_runtime):
    rt = tx_runtime
    shop, member = setup(rt, badges=[FIRST])
    with rt.db.uow(shop.id) as uow:
        uow.quiet()
        rt.orders.on_paid(shop.id, F.order(F.line("10.00"), customer=member.platform_customer_id))
    assert awards(rt, shop, member) == []

