"""Issue 20's engagement features reaching other systems: badge and challenge webhooks (signed,
to a real local receiver), Shopify Flow triggers for segment, lifecycle, badge and challenge
moves (to the Shopify stand-in, only where Flow said a workflow uses them), the member's tier
and segments written back as Shopify customer tags and WooCommerce user meta by the
customer-fields sync (through Shopify's SDK and wc-api-python, to the stand-ins), and the
privacy export and redaction covering what these features hold."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select

from plugin_app.domain import customer_tags as CT
from plugin_app.domain.events import CustomerDataRequest, CustomerRedact
from plugin_app.domain.member_events import BadgeEarned, ChallengeCompleted, LifecycleChanged
from plugin_app.runtime import Runtime
from plugin_app.storage import tables as t

from . import factories as F
from . import shopify_standin as S
from .conftest import make_settings
from .test_notifications import Receiver
from .test_shopify_flow import CUSTOMER, calls, deliver, env, lifecycle  # noqa: F401 - `env`: the Flow fixture

UTC = timezone.utc
THREE = {"id": "three", "name": "Three orders", "rule": {"kind": "orders_count", "n": 2}, "repeatable": True,
         "max_times": 3, "reward": {"kind": "points", "points": 100}}
MARCH = {"id": "march", "name": "March sprint", "starts_at": "2026-03-01T00:00:00", "ends_at": "2026-04-01T00:00:00",
         "goal": {"kind": "orders_count", "n": 2}, "points": 200}
BIG = {"all": [{"field": "points_balance", "op": "gte", "value": 400}]}


# -- webhooks -----------------------------------------------------------------------------------
@pytest.fixture
def rt(clean_db, clock):
    rt = Runtime(make_settings(clean_db, app_url="https://loyalty.example", secret_key="k" * 40), clock=clock)
    yield rt
    rt.close()


def test_badge_and_challenge_webhooks_are_signed_carry_the_member_and_are_told_once(rt, clock):
    shop = F.shop(rt, badges=[THREE], challenges=[MARCH])
    receiver = Receiver(fail_first=1)
    rt.notifier.add_endpoint(shop.id, receiver.url, ["badge.earned", "challenge.completed"], "whsec_test")
    member = F.member(rt, shop, "c1", email="ada@example.com")
    orders = [F.order(F.line("10.00"), customer="c1", placed_at=datetime(2026, 3, 2 + i, tzinfo=UTC)) for i in range(4)]
    for o in orders + orders[:2]:  # redelivered orders change nothing
        rt.orders.on_paid(shop.id, o)
    clock.advance(days=40)  # March is over: the challenge settles, twice over
    rt.achievements.settle_due()
    rt.achievements.settle_due()
    for _ in range(4):
        rt.notifier.relay()
        rt.notifier.send()
        clock.advance(minutes=5)
    bodies = {}
    for headers, raw in receiver.calls:
        expected = "sha256=" + hmac.new(b"whsec_test", headers["X-Loyalty-Timestamp"].encode() + b"." + raw,
                                        hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Loyalty-Signature"], expected)
        assert bodies.setdefault(json.loads(raw)["id"], raw) == raw  # the retry is the same event
    events = sorted((json.loads(b) for b in bodies.values()), key=lambda e: int(e["id"].removeprefix("evt_")))
    assert len(receiver.calls) == len(events) + 1  # one 500, retried
    badges = [e["data"] for e in events if e["topic"] == "badge.earned"]
    assert [(d["badge_id"], d["name"], d["times"], d["points"]) for d in badges] == [
        ("three", "Three orders", 1, 100), ("three", "Three orders", 2, 100)]
    [challenge] = [e["data"] for e in events if e["topic"] == "challenge.completed"]
    assert (challenge["challenge_id"], challenge["name"], challenge["points"]) == ("march", "March sprint", 200)
    for d in badges + [challenge]:
        assert d["member"]["id"] == member.id and d["member"]["customer_id"] == "c1"
        assert d["member"]["email"] == "ada@example.com" and isinstance(d["member"]["points"], int)
    assert {e["topic"] for e in events} == {"badge.earned", "challenge.completed"}  # nothing it did not ask for
    receiver.server.shutdown()


def test_the_new_topics_are_offered_refused_when_unknown_and_documented(tx_app):
    client, rt = tx_app.test_client(), tx_app.extensions["loyalty"]
    shop, key = F.shop_and_key(rt)
    auth = {"Authorization": f"Bearer {key}"}
    offered = client.get("/admin/api/v1/webhooks", headers=auth).get_json()["topics"]
    assert {"badge.earned", "challenge.completed", "segment.entered"} <= set(offered)
    r = client.post("/admin/api/v1/webhooks", headers=auth,
                    json={"url": "https://hooks.example/x", "topics": ["badge.earned", "challenge.completed"]})
    assert r.status_code == 201 and r.get_json()["topics"] == ["badge.earned", "challenge.completed"]
    bad = client.post("/admin/api/v1/webhooks", headers=auth, json={"url": "https://hooks.example/y",
                                                                    "topics": ["badge.lost"]})
    assert bad.status_code in (400, 422) and "badge.lost" in json.dumps(bad.get_json())
    spec = client.get("/openapi.json").get_json()
    assert set(spec["webhooks"]) == set(offered)
    data = spec["webhooks"]["badge.earned"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"badge_id", "name", "times", "points", "member"} <= set(data["properties"]["data"]["properties"])
    body_model = spec["components"]["schemas"]["EndpointIn"]["properties"]["topics"]
    assert "challenge.completed" in body_model["description"]


# -- Flow triggers --------------------------------------------------------------------------------
NEW_TRIGGERS = ("loyalty-segment-entered", "loyalty-segment-left", "loyalty-lifecycle-changed",
                "loyalty-badge-earned", "loyalty-challenge-completed")


def test_segment_triggers_go_only_to_a_shop_whose_enabled_workflow_uses_them(env):
    rt = env.rt
    seg = rt.segments.create(env.shop.id, "Big balances", BIG)
    member, _ = rt.members.enrol(env.shop.id, CUSTOMER)
    rt.adjustments.adjust(env.shop.id, member.id, "points", 500, key="a1", actor="test", reason="in")
    deliver(env)
    assert calls(env, "loyalty-segment-entered") == []  # no workflow uses it (Flow said nothing yet)
    assert lifecycle(env, "loyalty-segment-entered", True, "2026-03-01T10:00:00Z").get_json()["recorded"] is True
    assert lifecycle(env, "Loyalty segment left", True, "2026-03-01T10:00:00Z").status_code == 200
    rt.adjustments.adjust(env.shop.id, member.id, "points", -200, key="a2", actor="test", reason="out")
    other, _ = rt.members.enrol(env.shop.id, "7300400500777")
    rt.adjustments.adjust(env.shop.id, other.id, "points", 450, key="a3", actor="test", reason="in")
    deliver(env, rounds=3)
    [left] = calls(env, "loyalty-segment-left")
    assert {k: v for k, v in left.items() if k != "Event ID"} == {
        "customer_id": int(CUSTOMER), "Segment": "Big balances", "Segment ID": str(seg["id"])}
    [entered] = calls(env, "loyalty-segment-entered")
    assert entered["customer_id"] == 7300400500777 and entered["Segment"] == "Big balances"
    # switched off again: nothing more is sent
    assert lifecycle(env, "loyalty-segment-entered", False, "2026-03-01T11:00:00Z").status_code == 200
    rt.adjustments.adjust(env.shop.id, member.id, "points", 300, key="a4", actor="test", reason="back in")
    deliver(env)
    assert len(calls(env, "loyalty-segment-entered")) == 1


def test_lifecycle_badge_and_challenge_triggers_carry_their_fields(env):
    rt = env.rt
    for handle in NEW_TRIGGERS:
        assert lifecycle(env, handle, True, "2026-03-01T10:00:00Z").status_code == 200
    member, _ = rt.members.enrol(env.shop.id, CUSTOMER)
    at = env.clock.now()
    with rt.db.uow(env.shop.id) as uow:
        uow.collect(LifecycleChanged(shop_id=env.shop.id, member_id=member.id, at=at, from_state="active",
                                     to_state="at_risk"))
        uow.collect(BadgeEarned(shop_id=env.shop.id, member_id=member.id, at=at, badge_id="three", seq=2, points=100,
                                name="Three orders"))
        uow.collect(BadgeEarned(shop_id=env.shop.id, member_id=member.id, at=at, badge_id="three", seq=2, points=100,
                                name="Three orders"))  # the same earning told twice: one event
        uow.collect(ChallengeCompleted(shop_id=env.shop.id, member_id=member.id, at=at, challenge_id="march",
                                       points=200, name="March sprint"))
    deliver(env, rounds=2)
    strip = lambda p: {k: v for k, v in p.items() if k not in ("Event ID", "customer_id")}  # noqa: E731
    assert [strip(p) for p in calls(env, "loyalty-lifecycle-changed")] == [
        {"Previous state": "active", "New state": "at_risk"}]
    assert [strip(p) for p in calls(env, "loyalty-badge-earned")] == [
        {"Badge": "Three orders", "Badge ID": "three", "Times earned": 2, "Points": 100}]
    assert [strip(p) for p in calls(env, "loyalty-challenge-completed")] == [
        {"Challenge": "March sprint", "Challenge ID": "march", "Points": 200}]
    # the older triggers still need no word from Flow (workflows enabled before the callback existed)
    rt.adjustments.adjust(env.shop.id, member.id, "points", 600, key="t1", actor="test", reason="tier")
    deliver(env)
    assert calls(env, "loyalty-tier-changed")


# -- tags and meta on the platforms ----------------------------------------------------------------
def test_handles_and_tag_changes_never_touch_other_tags():
    handles = CT.segment_handles([(3, "VIP Kunden Über"), (7, "vip kunden über"), (9, "!!!"), (11, "x" * 60)])
    assert handles == {3: "vip-kunden-uber", 7: "vip-kunden-uber-7", 9: "segment-9", 11: "x" * 40}
    assert CT.tags("Gold", ["b", "a", "a"]) == ["loyalty:tier:gold", "loyalty:segment:a", "loyalty:segment:b"]
    add, remove = CT.tag_changes(["VIP", "Loyalty:Segment:A", "loyalty:segment:old", "wholesale"],
                                 ["loyalty:segment:a", "loyalty:tier:gold"])
    assert add == ["loyalty:tier:gold"] and remove == ["loyalty:segment:old"]


@pytest.fixture
def shopify(clean_db, clock):
    state = S.AdminState()
    rt = Runtime(make_settings(clean_db, shopify_api_key="k", shopify_api_secret="s" * 32), clock=clock)
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    shop = F.shop(rt, platform="shopify", domain=S.DOMAIN, credentials={"access_token": "shpat_standin", "api_secret": "x"},
                  tiers=F.tiers(("Bronze", 0), ("Silver", 500), basis="points_earned"))
    F.use_program(rt, shop, **F.with_sections(rt.programs.current(shop.id).program, sync_customer_fields=True))
    rt.programs._current_cache.clear()
    yield rt, state, shop
    rt.close()


def gid(customer: str) -> str:
    return f"gid://shopify/Customer/{customer}"


def tag_calls(state) -> list[str]:
    return [r["query"] for r in state.requests if "tagsAdd(" in r["query"] or "tagsRemove(" in r["query"]]


def test_shopify_customers_carry_their_tier_and_segments_as_our_tags_only(shopify):
    rt, state, shop = shopify
    a, b = "7300400500601", "7300400500602"
    state.customer_tags[gid(a)] = ["VIP", "loyalty:segment:gone", "wholesale"]  # the merchant's, and one stale of ours
    ma, mb = F.member(rt, shop, a), F.member(rt, shop, b)
    big = rt.segments.create(shop.id, "Big balances", BIG)
    rt.segments.create(shop.id, "Über fans", {"all": [{"field": "tier", "op": "eq", "value": "Silver"}]})
    rt.adjustments.adjust(shop.id, ma.id, "points", 600, key="a1", actor="test", reason="x")  # Silver, both segments
    rt.adjustments.adjust(shop.id, mb.id, "points", 100, key="b1", actor="test", reason="x")
    assert rt.customer_fields.sync() == 2
    assert sorted(state.customer_tags[gid(a)]) == sorted(["VIP", "wholesale", "loyalty:tier:silver",
                                                          "loyalty:segment:big-balances", "loyalty:segment:uber-fans"])
    assert state.customer_tags[gid(b)] == ["loyalty:tier:bronze"]
    assert state.metafields[(gid(a), "loyalty", "tier")]["value"] == "Silver"
    assert not any(k[2] == "segments" for k in state.metafields)  # the labels are tags, not a metafield
    state.requests.clear()
    assert rt.customer_fields.sync() == 0 and state.requests == []  # nothing changed, nothing asked

    # a move out of a segment (the balance drops; the tier, earned, stays) is written, only for that member
    rt.adjustments.adjust(shop.id, ma.id, "points", -300, key="a2", actor="test", reason="spent")
    assert rt.customer_fields.sync() == 1
    assert "loyalty:segment:big-balances" not in state.customer_tags[gid(a)]
    assert {"VIP", "wholesale", "loyalty:segment:uber-fans"} <= set(state.customer_tags[gid(a)])

    # a rename changes the handle for the segment's members; a deletion takes the tag away
    rt.adjustments.adjust(shop.id, mb.id, "points", 350, key="b2", actor="test", reason="x")
    rt.customer_fields.sync()
    assert "loyalty:segment:big-balances" in state.customer_tags[gid(b)]
    rt.segments.update(shop.id, big["id"], "Whales", BIG)
    assert rt.customer_fields.sync() == 1
    assert "loyalty:segment:whales" in state.customer_tags[gid(b)]
    assert "loyalty:segment:big-balances" not in state.customer_tags[gid(b)]
    rt.segments.delete(shop.id, big["id"])
    assert rt.customer_fields.sync() == 1
    assert state.customer_tags[gid(b)] == ["loyalty:tier:bronze"]
    assert {"VIP", "wholesale"} <= set(state.customer_tags[gid(a)])  # never ours to remove


def test_a_move_during_a_sync_is_written_by_the_next_one(shopify):
    rt, state, shop = shopify
    m = F.member(rt, shop, "7300400500603")
    seg = rt.segments.create(shop.id, "Big balances", BIG)
    rt.adjustments.adjust(shop.id, m.id, "points", 450, key="m1", actor="test", reason="x")
    rows = rt.customer_fields.due(shop.id, 10)  # read by a sync ...
    # ... a move meanwhile that changes neither balance nor tier: the merchant raised the bar
    rt.segments.update(shop.id, seg["id"], "Big balances", {"all": [{"field": "points_balance", "op": "gte",
                                                                     "value": 1000}]})
    with rt.db.uow(shop.id) as uow:
        uow.customer_fields.mark_synced(rows)  # ... which then marks what it read
    assert [r.id for r in rt.customer_fields.due(shop.id, 10)] == [m.id]  # still due
    rt.customer_fields.sync()
    assert not any(tg.startswith("loyalty:segment:") for tg in state.customer_tags[gid("7300400500603")])


def test_a_throttled_tag_write_is_retried_by_the_next_run(shopify):
    rt, state, shop = shopify
    m = F.member(rt, shop, "7300400500604")
    rt.segments.create(shop.id, "Big balances", BIG)
    rt.adjustments.adjust(shop.id, m.id, "points", 450, key="m1", actor="test", reason="x")
    state.bucket, state.restore = 0.0, 0.0  # Shopify throttles every call
    assert rt.customer_fields.sync() == 0
    state.bucket, state.restore = 1000.0, 50.0
    assert rt.customer_fields.sync() == 1
    assert "loyalty:segment:big-balances" in state.customer_tags[gid("7300400500604")]


def test_woocommerce_customers_carry_their_segments_as_user_meta(clean_db):
    from plugin_app import create_app

    from . import woocommerce_standin as W
    from .conftest import ENCRYPTION_KEY

    state = W.WooState()
    state.customers[12]["meta_data"] = [{"id": 1, "key": "favourite_colour", "value": "teal"}]
    server, url = W.serve(state)
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example"})
    rt = app.extensions["loyalty"]
    try:
        shop_id = rt.connect_woocommerce(url, "ck_standin", "cs_standin")["shop_id"]
        shop = rt.shops.get(shop_id)
        F.use_program(rt, shop, **F.with_sections(rt.programs.current(shop_id).program, sync_customer_fields=True))
        rt.programs._current_cache.clear()
        m = F.member(rt, shop, "12")
        rt.segments.create(shop_id, "Big balances", BIG)
        rt.segments.create(shop_id, "Everyone", {"all": [{"field": "points_balance", "op": "gte", "value": 0}]})
        rt.adjustments.adjust(shop_id, m.id, "points", 450, key="w1", actor="test", reason="x")
        assert rt.customer_fields.sync() == 1
        meta = {x["key"]: x["value"] for x in state.customers[12]["meta_data"]}
        assert meta["loyalty_segments"] == "big-balances,everyone" and meta["loyalty_points"] == "450"
        assert meta["favourite_colour"] == "teal"
        rt.adjustments.adjust(shop_id, m.id, "points", -100, key="w2", actor="test", reason="x")
        assert rt.customer_fields.sync() == 1
        meta = {x["key"]: x["value"] for x in state.customers[12]["meta_data"]}
        assert meta["loyalty_segments"] == "everyone" and meta["loyalty_points"] == "350"
        assert [x["key"] for x in state.customers[12]["meta_data"]].count("loyalty_segments") == 1
    finally:
        rt.close()
        server.shutdown()


# -- privacy -------------------------------------------------------------------------------------
SURVEY = {"enabled": True, "id": "spring", "points": 25, "questions": [
    {"id": "stars", "kind": "rating", "text": {"en": "How was it?"}},
    {"id": "note", "kind": "text", "text": {"en": "Anything else?"}}]}


def privacy_rows(rt, shop, kind):
    with rt.db.uow(shop.id) as uow:
        return uow.conn.execute(select(t.privacy_requests).where(t.privacy_requests.c.shop_id == shop.id,
                                                                 t.privacy_requests.c.kind == kind)).all()


def test_the_data_export_holds_and_the_redaction_erases_what_engagement_features_keep(tx_runtime):
    rt = tx_runtime
    rt.clock.now = lambda: datetime(2026, 3, 20, 12, tzinfo=UTC)
    shop = F.shop(rt, badges=[THREE], challenges=[{**MARCH, "enrollment": "opt_in"}], survey=SURVEY,
                  leaderboard={"enabled": True, "period": "all_time"})
    m = F.member(rt, shop, "c1", email="gone@example.com")
    other = F.member(rt, shop, "c2")
    seg = rt.segments.create(shop.id, "Big balances", BIG)
    rt.leaderboards.opt_in(shop.id, "c1", "Going Soon")
    rt.surveys.answer(shop.id, "c1", "spring", {"stars": 4, "note": "call me on 555"})
    rt.achievements.opt_in(shop.id, m.id, "march")
    for i in range(2):
        rt.orders.on_paid(shop.id, F.order(F.line("250.00"), customer="c1", placed_at=datetime(2026, 3, 2 + i, tzinfo=UTC)))
    rt.adjustments.adjust(shop.id, other.id, "points", 500, key="o", actor="test", reason="x")

    rt.platform.apply(shop.id, CustomerDataRequest("c1", "req-1"))
    [row] = privacy_rows(rt, shop, "data_request")
    data = row.result
    assert data["leaderboard"]["display_name"] == "Going Soon"
    assert data["survey_answers"][0]["answers"] == {"stars": 4, "note": "call me on 555"}
    assert [(b["badge_id"], b["times"]) for b in data["badges"]] == [("three", 1)]
    assert data["challenges"][0]["challenge_id"] == "march" and data["challenges"][0]["opted_in_at"]
    assert [s["segment"] for s in data["segments"]] == ["Big balances"]
    assert data["profile"]["orders_count"] == 2 and data["profile"]["lifecycle"]
    json.dumps(data)  # it is stored and handed over as JSON

    rt.platform.apply(shop.id, CustomerRedact("c1", (), "gone@example.com"))
    with rt.db.uow(shop.id) as uow:
        c = uow.conn
        assert c.execute(select(t.segment_members.c.member_id).where(
            t.segment_members.c.segment_id == seg["id"])).scalars().all() == [other.id]
        assert c.execute(select(t.member_profiles).where(t.member_profiles.c.member_id == m.id)).first() is None
        assert c.execute(select(t.leaderboard_members).where(t.leaderboard_members.c.member_id == m.id)).first() is None
        assert c.execute(select(t.survey_answers.c.answers).where(
            t.survey_answers.c.member_id == m.id)).scalar_one() == {"stars": 4}
        assert c.execute(select(t.challenge_members).where(t.challenge_members.c.member_id == m.id)).first() is None
        # the badge it paid stays, under the alias, like the ledger entry: it is never paid twice
        assert c.execute(select(t.badge_awards.c.badge_id).where(t.badge_awards.c.member_id == m.id)).scalars().all() \
            == ["three"]
    assert rt.segments.get(shop.id, seg["id"])["members_count"] == 1
    [redact] = privacy_rows(rt, shop, "customer_redact")
    assert redact.result["segments_erased"] == 1 and redact.result["profiles_erased"] == 1
    # the periodic pass and later events do not bring them back
    rt.clock.now = lambda: datetime(2026, 3, 21, 12, tzinfo=UTC)
    rt.segments.refresh_shop(shop.id)
    with rt.db.uow(shop.id) as uow:
        assert uow.conn.execute(select(t.segment_members).where(t.segment_members.c.member_id == m.id)).first() is None
        assert uow.conn.execute(select(t.member_profiles).where(t.member_profiles.c.member_id == m.id)).first() is None
    assert rt.segments.get(shop.id, seg["id"])["members_count"] == 1
    # the export answered before the redaction no longer holds any of it
    [row] = privacy_rows(rt, shop, "data_request")
    assert "Going Soon" not in json.dumps(row.result) and "555" not in json.dumps(row.result)


def test_the_new_reads_and_erasures_stay_within_their_shop(tx_runtime):
    rt = tx_runtime
    a, b = F.shop(rt), F.shop(rt)
    ma, mb = F.member(rt, a, "c1"), F.member(rt, b, "c1")
    sa, sb = rt.segments.create(a.id, "Big A", BIG), rt.segments.create(b.id, "Big B", BIG)
    rt.adjustments.adjust(a.id, ma.id, "points", 500, key="a", actor="test", reason="x")
    rt.adjustments.adjust(b.id, mb.id, "points", 500, key="b", actor="test", reason="x")
    with rt.db.uow(b.id) as uow:
        assert uow.customer_fields.segments_of([ma.id]) == {}  # shop A's member, asked in shop B
        assert uow.customer_fields.segment_names() == [(sb["id"], "Big B")]
        assert uow.member_export.engagement(ma.id)["segments"] == []
        assert uow.privacy.forget_engagement(ma.id) == {"segments": 0, "profiles": 0, "challenges_joined": 0}
    with rt.db.uow(a.id) as uow:
        assert [s["segment"] for s in uow.member_export.engagement(ma.id)["segments"]] == ["Big A"]
        assert uow.customer_fields.segments_of([ma.id, mb.id]) == {ma.id: [sa["id"]]}
    assert rt.segments.get(a.id, sa["id"])["members_count"] == 1


def test_deleting_a_segment_frees_its_handle_for_the_namesake_and_its_members_are_relabelled(shopify):
    rt, state, shop = shopify
    m = F.member(rt, shop, "7300400500605")
    first = rt.segments.create(shop.id, "VIP", {"all": [{"field": "points_balance", "op": "gte", "value": 10_000}]})
    second = rt.segments.create(shop.id, "vip", BIG)
    rt.adjustments.adjust(shop.id, m.id, "points", 450, key="v1", actor="test", reason="x")
    rt.customer_fields.sync()
    assert f"loyalty:segment:vip-{second['id']}" in state.customer_tags[gid("7300400500605")]
    rt.segments.delete(shop.id, first["id"])  # m was never in it, yet their label changes
    assert rt.customer_fields.sync() == 1
    labels = [tg for tg in state.customer_tags[gid("7300400500605")] if tg.startswith("loyalty:segment:")]
    assert labels == ["loyalty:segment:vip"]
    rt.segments.update(shop.id, second["id"], "VIP", BIG)  # the same handle: nothing to rewrite
    assert rt.customer_fields.sync() == 0
