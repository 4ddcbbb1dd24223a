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
from .test_referrals import env  # noqa: F401 - the fixture: a Shopify shop with referrals, over webhooks

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



# -- over HTTP: the program API, the shopper's JSON, joining ---------------------------------------
def _http(tx_app, **sections):
    from plugin_app.services import identity

    rt = tx_app.extensions["loyalty"]
    shop, key = F.shop_and_key(rt, timezone="Europe/Rome")
    if sections:
        F.use_program(rt, shop, timezone="Europe/Rome", **sections)
    member = F.member(rt, shop)
    token = identity.sign(shop.id, member.platform_customer_id, rt.shops.widget_secret(shop.id))
    return rt, rt.shops.get(shop.id), key, member, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("section, field", [
    ({"badges": [{"id": "x", "name": "X", "rule": {"kind": "spend"}}]}, "badges.0.rule.amount"),
    ({"badges": [{"id": "x", "name": "X", "rule": {"kind": "streak"}}]}, "badges.0.rule.kind"),
    ({"badges": [{"id": "x", "name": "X", "rule": {"kind": "orders_count", "n": 0}}]}, "badges.0.rule.n"),
    ({"badges": [{"id": "x", "name": "X", "rule": {"kind": "first_order"}, "repeatable": True}]}, "badges.0.repeatable"),
    ({"badges": [FIRST, FIRST]}, "badges"),
    ({"challenges": [{**MARCH, "ends_at": "2026-03-01T00:00:00"}]}, "challenges.0.ends_at"),
    ({"challenges": [{**MARCH, "enrollment": "maybe"}]}, "challenges.0.enrollment"),
    ({"challenges": [{**MARCH, "goal": {"kind": "custom_event"}}]}, "challenges.0.goal.event"),
])
def test_program_validation_names_the_bad_field(tx_app, section, field):
    rt = tx_app.extensions["loyalty"]
    shop, key = F.shop_and_key(rt)
    client = tx_app.test_client()
    current = client.get("/admin/api/v1/program", headers={"Authorization": f"Bearer {key}"})
    doc = {**current.get_json()["program"], **section} if "program" in current.get_json() else {**current.get_json(), **section}
    answer = client.put("/admin/api/v1/program", json=doc, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 422, answer.get_json()
    fields = [f["field"] for f in answer.get_json()["error"].get("fields", [])]
    assert field in fields, answer.get_json()


def test_the_shoppers_json_shows_badges_and_challenges_with_progress_in_their_language(tx_app):
    long = {**MARCH, "starts_at": "2020-01-01T00:00:00", "ends_at": "2099-01-01T00:00:00"}
    rt, shop, key, member, auth = _http(tx_app, badges=[THREE_ORDERS, FIRST], challenges=[long])
    client = tx_app.test_client()
    guest = client.get(f"/storefront/v1/me?shop={shop.widget_key}").get_json()
    assert "badges" not in json_dumps(guest)  # a guest sees the program only
    now = rt.achievements.clock.now()
    for i in range(2):
        rt.orders.on_paid(shop.id, F.order(F.line("10.00"), customer=member.platform_customer_id, placed_at=now))
    me = client.get(f"/storefront/v1/me?shop={shop.widget_key}&locale=it", headers=auth).get_json()["member"]
    three = next(b for b in me["badges"] if b["id"] == "three")
    first = next(b for b in me["badges"] if b["id"] == "first")
    assert (three["name"], three["earned"], three["progress"], three["text"]) == (
        "Tre ordini", 0, {"current": 2, "target": 3}, "2 di 3 ordini")
    assert (first["earned"], first["progress"]) == (1, {"current": 1, "target": 1})
    en = client.get(f"/storefront/v1/me?shop={shop.widget_key}&locale=en", headers=auth).get_json()["member"]
    assert next(b for b in en["badges"] if b["id"] == "three")["text"] == "2 of 3 orders"
    (march,) = en["challenges"]
    assert (march["joined"], march["points"], march["progress"], march["text"]) == (
        True, 200, {"current": 2, "target": 2}, "2 of 2 orders")


def json_dumps(value) -> str:
    import json

    return json.dumps(value)


def test_opt_in_endpoint(tx_app):
    rt, shop, key, member, auth = _http(tx_app, challenges=[{**MARCH, "id": "later", "starts_at": "2030-01-01T00:00:00",
                                                           "ends_at": "2030-02-01T00:00:00", "enrollment": "opt_in"},
                                                          {**MARCH, "id": "auto", "starts_at": "2030-01-01T00:00:00",
                                                           "ends_at": "2030-02-01T00:00:00"}])
    client = tx_app.test_client()
    url = f"/storefront/v1/me/challenges/%s/join?shop={shop.widget_key}"
    assert client.post(url % "later").status_code == 401  # a guest cannot join
    first = client.post(url % "later", headers=auth)
    assert first.status_code == 200 and first.get_json() == {"challenge_id": "later", "joined": True, "newly": True}
    assert client.post(url % "later", headers=auth).get_json()["newly"] is False
    missing = client.post(url % "nope", headers=auth)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"]
    automatic = client.post(url % "auto", headers=auth)
    assert automatic.status_code == 422 and automatic.get_json()["error"]["message"]
    me = client.get(f"/storefront/v1/me?shop={shop.widget_key}", headers=auth).get_json()["member"]
    assert {c["id"]: c["joined"] for c in me["challenges"]} == {"later": True, "auto": True}
    assert "/storefront/v1/me/challenges/{challenge_id}/join" in client.get("/openapi.json").get_json()["paths"]


def test_streak_and_calendar_year_spend_badges_through_the_order_service(tx_runtime):
    rt = tx_runtime
    rt.clock.now = lambda: datetime(2026, 4, 20, tzinfo=UTC)
    shop, member = setup(rt, timezone_name="Europe/Rome", badges=[
        {"id": "streak", "name": "Three months", "rule": {"kind": "order_streak_months", "n": 3}},
        {"id": "big", "name": "Big year", "rule": {"kind": "spend", "amount": "50", "period": "calendar_year"}}])
    def pay(when, amount="10.00"):
        rt.orders.on_paid(shop.id, F.order(F.line(amount), customer=member.platform_customer_id, placed_at=when))
    pay(datetime(2025, 12, 31, 22, 30, tzinfo=UTC), "45.00")  # 23:30 on New Year's Eve in Rome: last year
    pay(datetime(2026, 1, 31, 23, 30, tzinfo=UTC))  # 00:30 on 1 February in Rome
    pay(datetime(2026, 4, 2, tzinfo=UTC))  # March missed: the streak is Dec, Feb | Apr
    assert awards(rt, shop, member) == []
    pay(datetime(2026, 3, 15, tzinfo=UTC), "30.00")  # March fills the gap: Feb, Mar, Apr; the year's spend 50
    assert awards(rt, shop, member) == [("big", 1), ("streak", 1)]


def test_settlement_from_many_workers_at_once_pays_once(runtime):
    """Real threads on PostgreSQL, each running the settlement job."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    rt = runtime
    rt.clock.now = lambda: datetime(2026, 3, 20, tzinfo=UTC)
    shop, _ = setup(rt, challenges=[MARCH])
    members = [F.member(rt, shop) for _ in range(4)]
    for m in members:
        for day in (2, 3):
            rt.orders.on_paid(shop.id, F.order(F.line("10.00"), customer=m.platform_customer_id,
                                               placed_at=datetime(2026, 3, day, tzinfo=UTC)))
    rt.clock.now = lambda: datetime(2026, 4, 1, tzinfo=UTC)
    barrier = threading.Barrier(6)

    def go(_):
        barrier.wait()
        return rt.achievements.settle_due()

    with ThreadPoolExecutor(6) as pool:
        paid = sum(pool.map(go, range(6)))
    assert paid == 4
    assert [len(entries(rt, shop, m, "challenge:")) for m in members] == [1, 1, 1, 1]
    assert len(outbox(rt, shop, "challenge_completed")) == 4
    assert run_audit(rt.db).ok


def test_a_referral_badge_through_shopify_webhooks(env):
    """The referral journey of tests/test_referrals.py (Shopify stand-in, signed webhooks): the
    referrer's badge comes with the referral's reward, once, after the pending period."""
    from .test_referrals import friend_journey, later, pay

    rt = env.rt
    rt.programs.put(env.shop.id, {"referrals": {"enabled": True, "pending_days": 14,
                                                "referrer": {"kind": "points", "points": 500}},
                                  "badges": [{"id": "ambassador", "name": "Ambassador", "rule": {"kind": "referrals", "n": 1},
                                              "reward": {"kind": "points", "points": 25}}]}, author="test")
    claim = friend_journey(env)
    pay(env, 7001, "200", claim["friend_code"])
    referrer = rt.members.by_customer(env.shop.id, "100")[0]
    assert awards(rt, env.shop, referrer) == []  # pending: not rewarded yet
    later(env, 15)
    assert rt.referrals.reward_due() == 1
    assert rt.referrals.reward_due() == 0
    assert awards(rt, env.shop, referrer) == [("ambassador", 1)]
    assert rt.members.by_customer(env.shop.id, "100")[1].points == 500 + 25
    assert run_audit(rt.db).ok
