"""Profiles, lifecycle states and segments (issue 20), on PostgreSQL through the real services:
rule validation and evaluation tables, lifecycle boundaries at the shop's midnight, a seeded
random sequence of orders, refunds, cancellations, adjustments and days passing after which the
incrementally kept profiles and membership equal a from-scratch computation (and every move was
told as an event), and the merchant API (422s, shop isolation, OpenAPI)."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from plugin_app.domain.catalog import Group, ProductFacts
from plugin_app.domain.segments import Facts, Lifecycle, dump_rule, lifecycle_state, parse_rule
from plugin_app.services.program import ProgramInvalid, parse
from plugin_app.services.segments import regroup_due
from plugin_app.storage import tables as t

from . import factories as F

UTC = timezone.utc


# -- rules: validation ------------------------------------------------------------------------
@pytest.mark.parametrize("doc, message", [
    ({}, "one key"),
    ({"all": []}, "non-empty"),
    ({"both": [{"field": "orders_count", "op": "gt", "value": 1}]}, "one key"),
    ({"all": [{"field": "shoe_size", "op": "gt", "value": 1}]}, "rule.all[0].field"),
    ({"all": [{"field": "lifecycle", "op": "gt", "value": "new"}]}, "rule.all[0].op"),
    ({"all": [{"field": "lifecycle", "op": "eq", "value": "sleepy"}]}, "a lifecycle state"),
    ({"all": [{"field": "orders_count", "op": "gt", "value": "3"}]}, "whole number"),
    ({"all": [{"field": "orders_count", "op": "gt", "value": True}]}, "number"),
    ({"all": [{"field": "lifetime_value", "op": "gt", "value": "NaN"}]}, "number"),
    ({"all": [{"field": "lifetime_value", "op": "between", "value": [10, 5]}]}, "low must not be above high"),
    ({"all": [{"field": "recency_score", "op": "gte", "value": 6}]}, "0 to 5"),
    ({"all": [{"field": "birthday_month", "op": "eq", "value": 13}]}, "1 to 12"),
    ({"all": [{"field": "points_expiring_within_days", "op": "lte", "value": 0}]}, "1 to 3650"),
    ({"all": [{"field": "tier", "op": "none", "value": "Gold"}]}, "no value"),
    ({"all": [{"field": "orders_count", "op": "gt", "value": 1, "extra": 1}]}, "unknown keys"),
    ({"all": [{"any": [{"all": [{"any": [{"field": "orders_count", "op": "gt", "value": 1}]}]}]}]}, "3 deep"),
    ({"any": [{"field": "orders_count", "op": "gt", "value": i} for i in range(51)]}, "at most 50"),
    ({"all": [{"field": "tag", "op": "eq", "value": "vip"}]}, "rule.all[0].op"),
    ({"all": [{"field": "tag", "op": "has", "value": []}]}, "1 to 100 values"),
    ({"all": [{"field": "tag", "op": "has", "value": "  "}]}, "1 to 255 characters"),
    ({"all": [{"field": "tag", "op": "has", "value": "vip", "days": 30}]}, "only bought_product"),
    ({"all": [{"field": "orders_count", "op": "gt", "value": 1, "days": 30}]}, "only bought_product"),
    ({"all": [{"field": "bought_product", "op": "has", "value": "1", "days": 0}]}, "1 to 3650"),
    ({"all": [{"field": "bought_product", "op": "has", "value": "1", "days": True}]}, "1 to 3650"),
    ({"all": [{"field": "bought_product", "op": "has", "value": "9" * 65}]}, "at most 64"),
    ({"all": [{"field": "bought_collection", "op": "has", "value": 12}]}, "1 to 255 characters"),
])
def test_bad_rules_are_named(doc, message):
    with pytest.raises(ValueError) as err:
        parse_rule(doc)
    assert message in str(err.value)


def test_program_section_is_validated():
    assert parse({}).segments.lifecycle.at_risk_days == 90  # defaults
    assert parse({"segments": {"lifecycle": {"at_risk_days": 45}}}).segments.lifecycle.at_risk_days == 45
    for bad in ({"lifecycle": {"at_risk_days": 400}}, {"lifecycle": {"loyal_orders": 1}},
                {"rfm": {"recency_days": [30, 20, 40, 50]}}, {"rfm": {"frequency_orders": [1, 2, 3]}},
                {"lifecycle": {"sleepy_days": 3}}):
        with pytest.raises(ProgramInvalid):
            parse({"segments": bad})


# -- rules: evaluation ------------------------------------------------------------------------
def _profile(rt, shop, member, *, count=0, ltv="0", first=None, prev=None, last=None, gap=None, avg=None):
    with rt.db.uow(shop.id) as uow:
        uow.conn.execute(insert(t.member_profiles).values(
            member_id=member.id, shop_id=shop.id, orders_count=count, lifetime_value=Decimal(ltv),
            first_order_at=first, prev_order_at=prev, last_order_at=last, last_gap_days=gap,
            average_days_between=avg, updated_at=rt.clock.now()))


def test_rule_evaluation_table(runtime):
    rt, now = runtime, runtime.clock.now()  # 2026-03-01 12:00 UTC, shop in UTC
    shop = F.shop(rt, expiry=F.expiry("age", months=1))
    d = lambda n: now - timedelta(days=n)  # noqa: E731
    ann = F.member(rt, shop, birthday=date(1990, 3, 14))
    bob = F.member(rt, shop, birthday=date(1985, 7, 1))
    cat = F.member(rt, shop)
    dan = F.member(rt, shop)
    _profile(rt, shop, ann, count=6, ltv="1200", first=d(300), prev=d(20), last=d(10), gap=10, avg=Decimal(58))
    _profile(rt, shop, bob, count=1, ltv="40", first=d(100), last=d(100))
    _profile(rt, shop, cat, count=2, ltv="250.50", first=d(400), prev=d(400), last=d(5), gap=395, avg=Decimal(395))
    # dan: no profile row (never ordered, enrolled now): new
    rt.adjustments.adjust(shop.id, ann.id, "points", 300, key="a1", actor="test", reason="test")
    rt.adjustments.adjust(shop.id, dan.id, "points", 20, key="d1", actor="test", reason="test")
    A, B, C, D = ann.id, bob.id, cat.id, dan.id
    cases = [
        ({"all": [{"field": "orders_count", "op": "gte", "value": 2}]}, {A, C}),
        ({"all": [{"field": "orders_count", "op": "eq", "value": 0}]}, {D}),
        ({"all": [{"field": "lifetime_value", "op": "between", "value": ["40", "250.50"]}]}, {B, C, D} - {D}),
        ({"all": [{"field": "lifetime_value", "op": "lt", "value": "40.01"}]}, {B, D}),
        ({"all": [{"field": "days_since_last_order", "op": "gt", "value": 99}]}, {B}),
        ({"all": [{"field": "days_since_last_order", "op": "gt", "value": 100}]}, set()),
        ({"all": [{"field": "days_since_last_order", "op": "eq", "value": 10}]}, {A}),
        ({"all": [{"field": "days_since_last_order", "op": "lte", "value": 10}]}, {A, C}),
        ({"all": [{"field": "days_since_last_order", "op": "none"}]}, {D}),
        ({"all": [{"field": "days_since_first_order", "op": "gte", "value": 300}]}, {A, C}),
        ({"all": [{"field": "average_days_between_orders", "op": "lt", "value": 100}]}, {A}),
        ({"all": [{"field": "lifecycle", "op": "eq", "value": "loyal"}]}, {A}),
        ({"all": [{"field": "lifecycle", "op": "eq", "value": "at_risk"}]}, {B}),
        ({"all": [{"field": "lifecycle", "op": "eq", "value": "win_back"}]}, {C}),
        ({"all": [{"field": "lifecycle", "op": "in", "value": ["new", "lapsed"]}]}, {D}),
        ({"all": [{"field": "recency_score", "op": "eq", "value": 5}]}, {A, C}),
        ({"all": [{"field": "recency_score", "op": "eq", "value": 3}]}, {B}),
        ({"all": [{"field": "frequency_score", "op": "eq", "value": 4}]}, {A}),  # 6 orders: >= 5
        ({"all": [{"field": "monetary_score", "op": "eq", "value": 5}]}, {A}),
        ({"all": [{"field": "monetary_score", "op": "eq", "value": 0}]}, {D}),
        ({"all": [{"field": "points_balance", "op": "gte", "value": 300}]}, {A}),
        ({"all": [{"field": "points_expiring_within_days", "op": "lte", "value": 40}]}, {A, D}),
        ({"all": [{"field": "points_expiring_within_days", "op": "lte", "value": 10}]}, set()),
        ({"all": [{"field": "birthday_month", "op": "eq", "value": 3}]}, {A}),
        ({"all": [{"field": "birthday_month", "op": "neq", "value": 3}]}, {B, C, D}),
        ({"all": [{"field": "birthday_month", "op": "none"}]}, {C, D}),
        ({"all": [{"field": "tier", "op": "none"}]}, {A, B, C, D} - _tiered(rt, shop)),
        ({"any": [{"field": "orders_count", "op": "eq", "value": 1},
                  {"all": [{"field": "points_balance", "op": "gt", "value": 0},
                           {"field": "orders_count", "op": "eq", "value": 0}]}]}, {B, D}),
    ]
    for rule, expected in cases:
        assert F.segment_matching(rt, shop, rule) == expected, rule


def _tiered(rt, shop) -> set[int]:
    with rt.db.uow(shop.id) as uow:
        return set(uow.conn.execute(select(t.members.c.id).where(t.members.c.shop_id == shop.id,
                                                                 t.members.c.tier.isnot(None))).scalars())


# -- lifecycle at the shop's midnight ---------------------------------------------------------
def test_lifecycle_moves_at_the_shops_midnight(runtime):
    rt, clock = runtime, runtime.clock
    tz = ZoneInfo("Pacific/Auckland")  # UTC+13 in January
    shop = F.shop(rt, timezone="Pacific/Auckland")
    F.use_program(rt, shop, timezone="Pacific/Auckland", segments={"lifecycle": {"at_risk_days": 30, "new_days": 10}})
    member = F.member(rt, shop)
    placed = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)  # 23:30 on 1 January in Auckland
    clock._at = placed
    rt.orders.on_paid(shop.id, F.order(F.line("80.00"), customer=member.platform_customer_id, placed_at=placed))
    seg = rt.segments.create(shop.id, "at risk", {"all": [{"field": "lifecycle", "op": "eq", "value": "at_risk"}]})
    local_midnight = datetime(2026, 2, 1, 0, 0, tzinfo=tz).astimezone(UTC)  # day 31 begins in Auckland
    facts = Facts(1, Decimal(80), placed, None, placed, placed)
    cfg = Lifecycle(at_risk_days=30, new_days=10)
    for at, state in ((local_midnight - timedelta(seconds=1), "active"), (local_midnight, "at_risk")):
        clock._at = at
        assert lifecycle_state(facts, cfg, at, tz) == state
        rt.segments.refresh_all()
        assert rt.segments.profile(shop.id, member.id)["lifecycle"] == state
        assert (F.segment_stored(rt, shop, seg["id"]) == {member.id}) is (state == "at_risk")
        # counted in UTC days it is still day 30 at both instants: a UTC count would move 11 hours late
        assert (at.date() - placed.date()).days == 30
    with rt.db.uow(shop.id) as uow:
        events = uow.conn.execute(select(t.events.c.type, t.events.c.payload).where(
            t.events.c.shop_id == shop.id, t.events.c.member_id == member.id,
            t.events.c.type.in_(["lifecycle_changed", "segment_entered"]))).all()
    assert {(e.type, e.payload.get("to"), e.payload.get("segment")) for e in events} == {
        ("lifecycle_changed", "active", None),  # new (the order's handler) -> active (the pass, day 30)
        ("lifecycle_changed", "at_risk", None), ("segment_entered", None, "at risk")}


def test_fact_rules_round_trip():
    rule = parse_rule({"any": [{"field": "bought_product", "op": "has", "value": 8100200300400500, "days": 30},
                               {"field": "tag", "op": "has_not", "value": ["VIP", "wholesale"]}]})
    assert dump_rule(rule) == {"any": [
        {"field": "bought_product", "op": "has", "value": ["8100200300400500"], "days": 30},
        {"field": "tag", "op": "has_not", "value": ["VIP", "wholesale"]}]}
    assert parse_rule(dump_rule(rule)) == rule


def test_fact_evaluation_table(runtime):
    """Tags (any case), products and collections bought (within N shop days), has and has not."""
    rt, clock = runtime, runtime.clock
    shop = F.shop(rt)
    rt.catalog.store(shop.id, {"p1": ProductFacts("p1", (Group("11", "summer", gid="gid://shopify/Collection/11"),)),
                               "p2": ProductFacts("p2", (Group("12", "winter"),))})
    ann, bob, cat = F.member(rt, shop), F.member(rt, shop), F.member(rt, shop)
    rt.orders.on_paid(shop.id, F.order(F.line("20.00", product_id="p1", line_id="a1"), F.line("5.00", product_id="p3"),
                                       customer=ann.platform_customer_id, placed_at=clock.now() - timedelta(days=40)))
    rt.orders.on_paid(shop.id, F.order(F.line("20.00", product_id="p2", line_id="b1"),
                                       customer=bob.platform_customer_id, placed_at=clock.now()))
    # cat bought p1 and got it all back: no purchase
    rt.orders.on_paid(shop.id, F.order(F.line("20.00", quantity=2, product_id="p1", line_id="c1"), order_id="oc",
                                       customer=cat.platform_customer_id, placed_at=clock.now()))
    rt.orders.on_refund(shop.id, "oc", F.refund(("c1", 1)))
    assert F.segment_matching(rt, shop, {"all": [{"field": "bought_product", "op": "has", "value": "p1"}]}) == {ann.id, cat.id}
    rt.orders.on_refund(shop.id, "oc", F.refund(("c1", 1)))
    assert rt.segments.set_tags(shop.id, ann.platform_customer_id, "VIP, wholesale") == "tags: 2 (changed)"
    rt.segments.set_tags(shop.id, bob.platform_customer_id, ["wholesale"])
    A, B, C = ann.id, bob.id, cat.id
    cases = [
        ({"all": [{"field": "tag", "op": "has", "value": "vip"}]}, {A}),
        ({"all": [{"field": "tag", "op": "has", "value": ["nope", "WHOLESALE"]}]}, {A, B}),
        ({"all": [{"field": "tag", "op": "has_not", "value": "vip"}]}, {B, C}),
        ({"all": [{"field": "bought_product", "op": "has", "value": "p1"}]}, {A}),
        ({"all": [{"field": "bought_product", "op": "has", "value": ["p2", "p3"]}]}, {A, B}),
        ({"all": [{"field": "bought_product", "op": "has", "value": "p1", "days": 40}]}, {A}),
        ({"all": [{"field": "bought_product", "op": "has", "value": "p1", "days": 39}]}, set()),
        ({"all": [{"field": "bought_product", "op": "has_not", "value": "p1"}]}, {B, C}),
        ({"all": [{"field": "bought_collection", "op": "has", "value": "Summer"}]}, {A}),
        ({"all": [{"field": "bought_collection", "op": "has", "value": "gid://shopify/Collection/11"}]}, {A}),
        ({"all": [{"field": "bought_collection", "op": "has", "value": ["12"], "days": 1}]}, {B}),
        ({"all": [{"field": "bought_collection", "op": "has_not", "value": ["11", "12"]}]}, {C}),
    ]
    for rule, expected in cases:
        assert F.segment_matching(rt, shop, rule) == expected, rule
    # an older state of the customer changes nothing; a newer one replaces every tag
    at = datetime(2026, 2, 1, tzinfo=UTC)
    assert rt.segments.set_tags(shop.id, ann.platform_customer_id, "gold", at) == "tags: 1 (changed)"
    assert rt.segments.set_tags(shop.id, ann.platform_customer_id, "vip", at - timedelta(seconds=1)) \
        == "tags: an older state, ignored"
    assert rt.segments.profile(shop.id, A)["tags"] == ["gold"]
    assert rt.segments.set_tags(shop.id, "no-such-customer", "vip") is None
    prof = rt.segments.profile(shop.id, A)
    assert prof["products_bought"] == 2 and rt.segments.profile(shop.id, C)["products_bought"] == 0


def test_an_order_delivery_changing_tags_and_purchases_tells_only_settled_moves(runtime):
    """One delivery: the customer's tags (now vip) and an order buying p9. Evaluated with both,
    the member is not in "vip who never bought p9" before or after: no move is told (evaluating
    the tags against the purchases before the order's would tell an entry, then a leave)."""
    from plugin_app.domain.events import OrderSeen

    rt, clock = runtime, runtime.clock
    shop = F.shop(rt)
    member = F.member(rt, shop)
    seg = rt.segments.create(shop.id, "vip, never p9", {"all": [{"field": "tag", "op": "has", "value": "vip"},
                                                             {"field": "bought_product", "op": "has_not", "value": "p9"}]})
    rt.platform.apply(shop.id, OrderSeen(F.order(F.line("20.00", product_id="p9"), customer=member.platform_customer_id,
                                                 placed_at=clock.now()), paid=True, customer_tags=("VIP",),
                                         customer_tags_at=clock.now()))
    assert rt.segments.profile(shop.id, member.id)["tags"] == ["VIP"]
    assert F.segment_stored(rt, shop, seg["id"]) == set()
    with rt.db.uow(shop.id) as uow:
        told = uow.conn.execute(select(t.events.c.type).where(t.events.c.shop_id == shop.id,
                                                              t.events.c.type.like("segment%"))).scalars().all()
    assert told == []
    rt.platform.apply(shop.id, OrderSeen(F.order(F.line("20.00", product_id="p8"), customer=member.platform_customer_id,
                                                 placed_at=clock.now()), paid=True, customer_tags=("VIP", "b"),
                                         customer_tags_at=clock.now()))
    assert rt.segments.profile(shop.id, member.id)["tags"] == ["b", "VIP"]


def test_a_customers_redaction_drops_their_tags(runtime):
    from plugin_app.domain.events import CustomerRedact

    rt = runtime
    shop = F.shop(rt)
    ann, bob = F.member(rt, shop), F.member(rt, shop)
    for mb in (ann, bob):
        rt.segments.set_tags(shop.id, mb.platform_customer_id, "vip")
    rt.platform.apply(shop.id, CustomerRedact(ann.platform_customer_id))
    assert rt.segments.profile(shop.id, ann.id)["tags"] == []
    assert rt.segments.profile(shop.id, bob.id)["tags"] == ["vip"]


def test_collections_follow_the_catalog_by_the_periodic_pass(runtime):
    """A product the catalog did not know when it was bought: a collection rule asks for it (a
    job), and once the catalog knows it the pass regroups the members who bought it."""
    rt, clock = runtime, runtime.clock
    shop = F.shop(rt)
    member = F.member(rt, shop)
    asked: list[list[str]] = []
    rt.catalog.schedule = lambda shop_id, ids: asked.append(ids)  # what the pass asks the job to fetch
    rt.orders.on_paid(shop.id, F.order(F.line("20.00", product_id="9001"), customer=member.platform_customer_id,
                                       placed_at=clock.now()))
    seg = rt.segments.create(shop.id, "summer", {"all": [{"field": "bought_collection", "op": "has", "value": "summer"}]})
    assert seg["members_count"] == 0
    clock.advance(minutes=5)
    rt.segments.refresh_all()
    assert asked == [["9001"]]
    clock.advance(minutes=5)
    rt.catalog.store(shop.id, {"9001": ProductFacts("9001", (Group("11", "summer"),))})
    clock.advance(minutes=5)
    rt.segments.refresh_all()
    assert F.segment_stored(rt, shop, seg["id"]) == {member.id}
    assert len(asked) == 1  # known now: nothing more to ask
    # the catalog reads the product again (its daily refresh), unchanged: nobody is regrouped
    clock.advance(hours=25)
    rt.catalog.store(shop.id, {"9001": ProductFacts("9001", (Group("11", "summer"),))})
    with rt.db.uow(shop.id) as uow:
        assert regroup_due(uow.conn, shop.id) == set()
    # it left the collection: its buyers are regrouped by the next pass, and leave the segment
    rt.catalog.store(shop.id, {"9001": ProductFacts("9001", (Group("12", "winter"),))})
    with rt.db.uow(shop.id) as uow:
        assert regroup_due(uow.conn, shop.id) == {member.id}
    rt.segments.refresh_all()
    assert F.segment_stored(rt, shop, seg["id"]) == set()
    assert F.segment_matching(rt, shop, {"all": [{"field": "bought_collection", "op": "has", "value": "winter"}]}) == {member.id}


def test_tier_history_in_the_profile(runtime):
    rt, clock = runtime, runtime.clock
    shop = F.shop(rt)
    F.use_program(rt, shop, tiers=F.tiers(("Bronze", 0), ("Silver", "100.00"), ("Gold", "300.00"),
                                          basis="money_spent", window="lifetime"))
    member = F.member(rt, shop)
    times = []
    for price in ("50.00", "60.00", "200.00"):
        times.append(clock.now())
        rt.orders.on_paid(shop.id, F.order(F.line(price), customer=member.platform_customer_id, placed_at=clock.now()))
        clock.advance(days=3)
    prof = rt.segments.profile(shop.id, member.id)
    assert prof["tier"] == "Gold"
    assert [(h["tier"], h["reached_at"], h["left_at"], h["direction"], h["recorded"]) for h in prof["tier_history"]] == [
        ("Gold", times[2].isoformat(), None, "up", True),
        ("Silver", times[1].isoformat(), times[2].isoformat(), "up", True),
        ("Bronze", times[0].isoformat(), times[1].isoformat(), "up", True)]
    # an import sets a tier without telling (no event): shown as reached when it was set, not recorded
    with rt.db.uow(shop.id) as uow:
        uow.members.update_profile(member.id, clock.now(), tier="Silver", tier_since=clock.now())
    hist = rt.segments.profile(shop.id, member.id)["tier_history"]
    assert (hist[0]["tier"], hist[0]["reached_at"], hist[0]["recorded"]) == ("Silver", clock.now().isoformat(), False)
    assert (hist[1]["tier"], hist[1]["left_at"]) == ("Gold", clock.now().isoformat())


# -- random sequences: incremental equals from scratch --------------------------------------
RULES = [
    {"all": [{"field": "orders_count", "op": "gte", "value": 2}]},
    {"any": [{"field": "lifecycle", "op": "in", "value": ["at_risk", "lapsed"]},
             {"field": "points_balance", "op": "gt", "value": 250}]},
    {"all": [{"field": "lifetime_value", "op": "between", "value": ["50", "300"]},
             {"field": "days_since_last_order", "op": "lte", "value": 60}]},
    {"all": [{"field": "monetary_score", "op": "gte", "value": 3}, {"field": "recency_score", "op": "gte", "value": 4}]},
    {"all": [{"field": "lifecycle", "op": "eq", "value": "win_back"}]},
    {"all": [{"field": "lifecycle", "op": "in", "value": ["new", "loyal"]}]},
    {"all": [{"field": "bought_product", "op": "has", "value": ["p1", "p2"]}]},
    {"all": [{"field": "bought_product", "op": "has", "value": "p3", "days": 30}]},
    {"any": [{"field": "bought_collection", "op": "has", "value": "summer"},
             {"field": "tag", "op": "has", "value": "VIP"}]},
    {"all": [{"field": "bought_collection", "op": "has_not", "value": "11"}, {"field": "tag", "op": "has_not", "value": "b"}]},
]
PRODUCTS = ["p1", "p2", "p3", "p4", None]  # p1, p3 in collection 11 "summer"; p4 in 12; None: a line without a product


@pytest.mark.parametrize("seed", [7, 2026])
def test_incremental_membership_equals_recomputation(runtime, seed):
    rt, clock = runtime, runtime.clock
    rng = random.Random(seed)
    shop = F.shop(rt, timezone="America/Los_Angeles")
    F.use_program(rt, shop, timezone="America/Los_Angeles",
                  segments={"lifecycle": {"new_days": 20, "at_risk_days": 45, "lapsed_days": 120, "loyal_orders": 3}})
    rt.catalog.store(shop.id, {"p1": ProductFacts("p1", (Group("11", "summer"),)),
                               "p3": ProductFacts("p3", (Group("11", "summer"),)),
                               "p4": ProductFacts("p4", (Group("12", "winter"),))})
    members = [F.member(rt, shop) for _ in range(6)]
    segs = [rt.segments.create(shop.id, f"s{i}", rule) for i, rule in enumerate(RULES)]
    # the model: order id -> member, line prices, products, quantities, refunded units, cancelled
    orders: dict[str, dict] = {}
    tags: dict[int, set[str]] = {}
    moves = {"segment_entered": 0, "segment_left": 0}
    serial = 0

    def check():
        with rt.db.uow(shop.id) as uow:
            profiles = {r.member_id: r for r in uow.conn.execute(select(t.member_profiles).where(
                t.member_profiles.c.shop_id == shop.id))}
        for mb in members:
            mine = [o for o in orders.values() if o["member"] == mb.id and not o["cancelled"]]
            row = profiles.get(mb.id)
            if not mine:
                assert row is None or row.orders_count == 0
                continue
            kept = sum((Decimal(p) * (o["qty"][i] - o["refunded"].get(i, 0)) / o["qty"][i]
                        for o in mine for i, p in enumerate(o["prices"])), Decimal(0))
            assert (row.orders_count, row.lifetime_value, row.last_order_at) == \
                (len(mine), kept.quantize(Decimal("0.0001")), max(o["at"] for o in mine)), mb.id
        with rt.db.uow(shop.id) as uow:  # what each member bought, from scratch against what is kept
            mp = t.member_purchases.c
            stored = {(r.member_id, r.kind, r.ref): (r.first_at, r.last_at) for r in uow.conn.execute(
                select(t.member_purchases).where(mp.shop_id == shop.id))}
        groups = {"p1": {"11", "summer"}, "p3": {"11", "summer"}, "p4": {"12", "winter"}}
        model: dict = {}
        for o in orders.values():
            if o["cancelled"]:
                continue
            for i, pid in enumerate(o["products"]):
                if pid is None or o["refunded"].get(i, 0) >= o["qty"][i]:
                    continue
                for key in [("product", pid)] + [("group", g) for g in groups.get(pid, ())]:
                    first, last = model.get((o["member"], *key), (o["at"], o["at"]))
                    model[(o["member"], *key)] = (min(first, o["at"]), max(last, o["at"]))
        assert stored == model
        with rt.db.uow(shop.id) as uow:
            tg = t.member_tags.c
            kept_tags: dict[int, set[str]] = {}
            for r in uow.conn.execute(select(tg.member_id, tg.tag).where(tg.shop_id == shop.id)):
                kept_tags.setdefault(r.member_id, set()).add(r.tag)
        assert kept_tags == {mid: chosen for mid, chosen in tags.items() if chosen}
        for seg in segs:
            assert F.segment_stored(rt, shop, seg["id"]) == F.segment_matching(rt, shop, seg["rule"]), seg["name"]
            assert rt.segments.get(shop.id, seg["id"])["members_count"] == len(F.segment_stored(rt, shop, seg["id"]))

    before = {s["id"]: F.segment_stored(rt, shop, s["id"]) for s in segs}
    for step in range(45):
        action = rng.choice(["pay", "pay", "pay", "refund", "cancel", "adjust", "days", "days", "tags"])
        open_orders = [oid for oid, o in orders.items() if not o["cancelled"]]
        if action == "pay":
            mb = rng.choice(members)
            serial += 1
            n = rng.randint(1, 3)
            prices = [f"{rng.randint(5, 180)}.{rng.randint(0, 99):02d}" for _ in range(n)]
            products = [rng.choice(PRODUCTS) for _ in range(n)]
            qty = [rng.choice([1, 1, 2]) for _ in range(n)]
            lines = [F.line(total=p, quantity=q, line_id=f"o{serial}-l{i}", product_id=pid)
                     for i, (p, q, pid) in enumerate(zip(prices, qty, products))]
            oid = f"o{serial}"
            rt.orders.on_paid(shop.id, F.order(*lines, order_id=oid, customer=mb.platform_customer_id, placed_at=clock.now()))
            orders[oid] = dict(member=mb.id, prices=prices, products=products, qty=qty, refunded={}, cancelled=False,
                               at=clock.now())
        elif action == "refund" and open_orders:
            oid = rng.choice(open_orders)
            o = orders[oid]
            left = [i for i in range(len(o["prices"])) if o["refunded"].get(i, 0) < o["qty"][i]]
            if left:
                i = rng.choice(left)
                rt.orders.on_refund(shop.id, oid, F.refund((f"{oid}-l{i}", 1)))
                o["refunded"][i] = o["refunded"].get(i, 0) + 1
        elif action == "tags":
            mb = rng.choice(members)
            chosen = {tag for tag in ("vip", "b", "Wholesale") if rng.random() < 0.5}
            rt.segments.set_tags(shop.id, mb.platform_customer_id, ",".join(sorted(chosen)))
            tags[mb.id] = chosen
        elif action == "cancel" and open_orders:
            oid = rng.choice(open_orders)
            rt.orders.on_cancel(shop.id, oid)
            orders[oid]["cancelled"] = True
        elif action == "adjust":
            rt.adjustments.adjust(shop.id, rng.choice(members).id, "points", rng.randint(1, 200),
                                  key=f"adj-{step}", actor="test", reason="test")
        elif action == "days":
            clock.advance(days=rng.randint(1, 70), hours=rng.randint(0, 23))
            rt.run_task("refresh_segments", ())  # the periodic job, as the scheduler runs it
        check()
        after = {s["id"]: F.segment_stored(rt, shop, s["id"]) for s in segs}
        for sid in after:
            moves["segment_entered"] += len(after[sid] - before[sid])
            moves["segment_left"] += len(before[sid] - after[sid])
        before = after
        clock.advance(minutes=1)
    with rt.db.uow(shop.id) as uow:  # every move was told, once
        for kind, n in moves.items():
            told = uow.conn.execute(select(t.events.c.id).where(t.events.c.shop_id == shop.id,
                                                                t.events.c.type == kind)).all()
            assert len(told) == n, kind
    assert moves["segment_entered"] > 5 and moves["segment_left"] > 0  # the sequence moved people


def test_lifecycle_stored_agrees_with_python_after_orders(runtime):
    """The per-event state (Python) and the periodic pass (SQL) decide alike: the pass moves nobody."""
    rt, clock = runtime, runtime.clock
    shop = F.shop(rt)
    F.use_program(rt, shop, segments={"lifecycle": {"loyal_orders": 3, "at_risk_days": 30}})
    a, b = F.member(rt, shop), F.member(rt, shop)
    for i in range(3):
        rt.orders.on_paid(shop.id, F.order(F.line("20.00"), customer=a.platform_customer_id, placed_at=clock.now()))
        clock.advance(days=5)
    rt.orders.on_paid(shop.id, F.order(F.line("20.00"), customer=b.platform_customer_id, placed_at=clock.now()))
    clock.advance(days=40)
    rt.orders.on_paid(shop.id, F.order(F.line("20.00"), customer=b.platform_customer_id, placed_at=clock.now()))
    states = {mid: rt.segments.profile(shop.id, mid)["lifecycle"] for mid in (a.id, b.id)}
    assert states == {a.id: "at_risk", b.id: "win_back"}
    with rt.db.uow(shop.id) as uow:
        stored = dict(uow.conn.execute(select(t.member_profiles.c.member_id, t.member_profiles.c.lifecycle)).all())
    assert stored[b.id] == "win_back"  # decided by the order's handler
    assert rt.segments.refresh_shop(shop.id) == 1  # only a moved with the days: loyal -> at_risk
    prof = rt.segments.profile(shop.id, a.id)
    assert (prof["orders_count"], Decimal(prof["lifetime_value"]), Decimal(prof["average_days_between_orders"])) \
        == (3, Decimal(60), Decimal(5))


# -- the merchant API -------------------------------------------------------------------------
def test_api_crud_preview_and_isolation(two_shops_api):
    client, rt, shop, auth, other, other_auth = two_shops_api
    big = F.member(rt, shop)
    small = F.member(rt, shop)
    stranger = F.member(rt, other)
    rt.adjustments.adjust(shop.id, big.id, "points", 500, key="b", actor="test", reason="test")
    rt.adjustments.adjust(other.id, stranger.id, "points", 900, key="s", actor="test", reason="test")
    rule = {"all": [{"field": "points_balance", "op": "gte", "value": 400}]}
    r = client.post("/admin/api/v1/segments", json={"name": "Big balances", "rule": rule}, headers=auth)
    assert r.status_code == 201, r.get_json()
    seg = r.get_json()
    assert seg["members_count"] == 1 and seg["rule"] == rule
    got = client.get(f"/admin/api/v1/segments/{seg['id']}/members", headers=auth).get_json()
    assert [m["id"] for m in got["members"]] == [big.id] and got["count"] == 1 and got["preview"] is False
    # the other shop sees neither the segment nor its members, and its own member is not in it
    assert client.get(f"/admin/api/v1/segments/{seg['id']}", headers=other_auth).status_code == 404
    assert client.get(f"/admin/api/v1/segments/{seg['id']}/members", headers=other_auth).status_code == 404
    assert client.delete(f"/admin/api/v1/segments/{seg['id']}", headers=other_auth).status_code == 404
    assert client.get("/admin/api/v1/segments", headers=other_auth).get_json() == {"segments": []}
    # a posting moves a member in, incrementally, and it is told
    rt.adjustments.adjust(shop.id, small.id, "points", 450, key="s2", actor="test", reason="test")
    got = client.get(f"/admin/api/v1/segments/{seg['id']}/members", headers=auth).get_json()
    assert {m["id"] for m in got["members"]} == {big.id, small.id}
    # edit: recomputed; preview shows what a rule matches now
    r = client.put(f"/admin/api/v1/segments/{seg['id']}", headers=auth,
                   json={"name": "Huge", "rule": {"all": [{"field": "points_balance", "op": "gte", "value": 480}]}})
    assert r.status_code == 200 and r.get_json()["members_count"] == 1
    pv = client.get(f"/admin/api/v1/segments/{seg['id']}/members?preview", headers=auth).get_json()
    assert pv["preview"] is True and [m["id"] for m in pv["members"]] == [big.id]
    assert client.get("/admin/api/v1/segments", headers=auth).get_json()["segments"][0]["name"] == "Huge"
    prof = client.get(f"/admin/api/v1/members/{big.id}/profile", headers=auth)
    assert prof.status_code == 200 and prof.get_json()["lifecycle"] == "new"
    assert {k: prof.get_json()[k] for k in ("tier_history", "tags", "products_bought")} == \
        {"tier_history": prof.get_json()["tier_history"], "tags": [], "products_bought": 0}
    assert all(set(h) == {"tier", "reached_at", "left_at", "direction", "reason", "recorded"}
               for h in prof.get_json()["tier_history"])
    assert client.get(f"/admin/api/v1/members/{stranger.id}/profile", headers=auth).status_code == 404
    assert client.delete(f"/admin/api/v1/segments/{seg['id']}", headers=auth).status_code == 204
    assert client.get(f"/admin/api/v1/segments/{seg['id']}", headers=auth).status_code == 404
    with rt.db.uow(shop.id) as uow:
        types = [r.type for r in uow.conn.execute(select(t.events.c.type).where(
            t.events.c.shop_id == shop.id, t.events.c.type.like("segment%")))]
    assert types == ["segment_entered"]  # the creation and the edit were quiet; the posting was told


@pytest.mark.parametrize("body, field", [
    ({"name": "x"}, "rule"),
    ({"name": "", "rule": {"all": [{"field": "orders_count", "op": "gt", "value": 1}]}}, "name"),
    ({"name": "x", "rule": {"all": [{"field": "nope", "op": "gt", "value": 1}]}}, None),
    ({"name": "x", "rule": {"all": [{"field": "lifecycle", "op": "eq", "value": "sleepy"}]}}, None),
    ({"name": "x", "rule": [], "extra": 1}, None),
])
def test_api_refuses_bad_segments(two_shops_api, body, field):
    client, _rt, _shop, auth, _o, _ok = two_shops_api
    r = client.post("/admin/api/v1/segments", json=body, headers=auth)
    assert r.status_code == 422, r.get_json()
    err = r.get_json()["error"]
    assert err["code"] in ("validation_failed", "invalid_request") and err["message"]
    if field:
        assert field in str(err)
    assert client.get("/admin/api/v1/segments", headers=auth).get_json() == {"segments": []}
    bad_query = client.get("/admin/api/v1/segments/1/members?limit=0", headers=auth)
    assert bad_query.status_code in (404, 422)
    assert client.get("/admin/api/v1/segments", headers={}).status_code == 401


def test_openapi_lists_segments(two_shops_api):
    client = two_shops_api[0]
    spec = client.get("/openapi.json").get_json()
    paths = spec["paths"]
    assert set(paths["/admin/api/v1/segments"]) >= {"get", "post"}
    assert set(paths["/admin/api/v1/segments/{segment_id}"]) >= {"get", "put", "delete"}
    assert "get" in paths["/admin/api/v1/segments/{segment_id}/members"]
    assert "get" in paths["/admin/api/v1/members/{member_id}/profile"]
    assert "422" in paths["/admin/api/v1/segments"]["post"]["responses"]


def test_per_event_work_does_not_grow_with_the_shop(runtime):
    """The incremental step for one member issues the same statements, scanning no more rows,
    whether the shop has 3 members or 63 (one query evaluates every segment for that member;
    what they bought is read for them alone, with the catalog's rows for those products)."""
    from sqlalchemy import event

    rt, clock = runtime, runtime.clock
    shop = F.shop(rt)
    members = [F.member(rt, shop) for _ in range(3)]
    for rule in RULES[:3]:
        rt.segments.create(shop.id, "s", rule)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    rt.catalog.store(shop.id, {"p1": ProductFacts("p1", (Group("11", "summer"),))})

    def step(member) -> list[str]:
        rt.orders.on_paid(shop.id, F.order(F.line("30.00", product_id="p1"), F.line("5.00", product_id="p2"),
                                           customer=member.platform_customer_id, placed_at=clock.now()))
        statements.clear()
        event.listen(rt.db.engine, "before_cursor_execute", count)
        try:
            with rt.db.uow(shop.id) as uow:
                rt.segments.refresh_member(uow, member.id, profile=True)
        finally:
            event.remove(rt.db.engine, "before_cursor_execute", count)
        return list(statements)

    small = step(members[0])
    for _ in range(60):
        F.member(rt, shop)
    big = step(members[1])
    assert len(small) == len(big) <= 10, (small, big)
    for sql in big:  # each names the member it is about, or reads the program, the shop's segments (<= 100)
        # or the catalog's rows for the products this member bought
        assert "member_id" in sql or "members.id" in sql or "FROM programs" in sql or "FROM segments" in sql \
            or "FROM catalog_products" in sql, sql


def test_orders_recorded_from_the_past_reach_profiles_by_the_periodic_pass(runtime):
    """A history backfill records orders without an order event: the pass rebuilds those profiles."""
    rt, clock = runtime, runtime.clock
    shop = F.shop(rt)
    seg = rt.segments.create(shop.id, "two or more", {"all": [{"field": "orders_count", "op": "gte", "value": 2}]})
    bought = rt.segments.create(shop.id, "bought p7", {"all": [{"field": "bought_product", "op": "has", "value": "p7"}]})
    past = [F.order(F.line(price, product_id=f"p{7 + i}"), order_id=f"past-{i}", customer="old-1",
                    placed_at=clock.now() - timedelta(days=100 - i * 5)) for i, price in enumerate(("40.00", "25.50"))]
    for order in past:
        assert rt.orders.record_past(shop.id, order).status == "history"
    # as recorded before products were kept (0028): a backfill run again fills them in
    with rt.db.uow(shop.id) as uow:
        uow.conn.execute(update(t.orders).where(t.orders.c.shop_id == shop.id).values(products=None))
    assert rt.orders.record_past(shop.id, past[0]).status == "known"
    with rt.db.uow(shop.id) as uow:
        mid = uow.conn.execute(select(t.members.c.id).where(t.members.c.shop_id == shop.id)).scalar_one()
    assert rt.segments.profile(shop.id, mid)["orders_count"] == 0  # nothing told yet
    rt.segments.refresh_all()
    prof = rt.segments.profile(shop.id, mid)
    assert (prof["orders_count"], Decimal(prof["lifetime_value"]), prof["lifecycle"]) == (2, Decimal("65.50"), "at_risk")
    assert F.segment_stored(rt, shop, seg["id"]) == {mid}
    assert F.segment_stored(rt, shop, bought["id"]) == {mid}
    assert rt.segments.profile(shop.id, mid)["products_bought"] == 1  # p8's order was not recorded again
    assert rt.segments.refresh_all() == 0  # nothing is stale the second time
