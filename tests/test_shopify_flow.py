"""Shopify Flow (issue 18): our triggers, fed by the outbox and sent with flowTriggerReceive to the
Shopify stand-in, once per event; our actions, signed the way Shopify signs them (the SDK's
X-Shopify-Hmac-SHA256: base64 HMAC-SHA256 of the raw body under the app's secret), posting once
per action_run_id, refusing forged, other-shop and bad requests with nothing changed.
Sources: https://shopify.dev/docs/apps/build/flow/triggers/reference,
https://shopify.dev/docs/api/admin-graphql/latest/mutations/flowTriggerReceive,
https://shopify.dev/docs/apps/build/flow/actions/endpoints."""
from __future__ import annotations

import json
import re
import tomllib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import func, select

from plugin_app import create_app
from plugin_app.domain import flow as F
from plugin_app.domain.member_events import TierChanged
from plugin_app.domain.ports import FixedClock
from plugin_app.storage import tables as t

from . import factories as fx
from . import shopify_standin as S
from .conftest import ENCRYPTION_KEY

SECRET = "flow-app-secret"
CUSTOMER = "7300400500601"
EXTENSIONS = Path(__file__).resolve().parent.parent / "extensions"
TIERS = fx.tiers(("Bronze", 0), ("Silver", 500), ("Gold", 1500), basis="points_earned")


@pytest.fixture
def env(clean_db):
    from datetime import datetime, timezone

    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example", "shopify_api_secret": SECRET, "shopify_api_key": "k"})
    rt = app.extensions["loyalty"]
    state = S.AdminState()
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    clock = FixedClock(datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc))
    rt.clock = clock
    for service in vars(rt).values():  # one clock for every service
        if hasattr(service, "clock"):
            service.clock = clock
    shop, _ = rt.shops.register("shopify", S.DOMAIN, currency="EUR", credentials={"access_token": "shpat_standin"})
    rt.programs.put(shop.id, {"tiers": TIERS, "actions": {"custom": {"quiz_done": {"enabled": True, "points": 20}}}},
                    author="test")
    yield SimpleNamespace(app=app, rt=rt, state=state, clock=clock, shop=rt.shops.get(shop.id),
                          client=app.test_client())
    rt.close()


def deliver(env, rounds: int = 1) -> None:
    for _ in range(rounds):
        env.rt.notifier.relay()
        env.rt.notifier.send()


def calls(env, handle: str) -> list[dict]:
    return [c["payload"] for c in env.state.flow_triggers if c["handle"] == handle]


def outbox(env, type_: str) -> list:
    with env.rt.db.uow() as uow:
        return uow.conn.execute(select(t.events).where(t.events.c.type == type_).order_by(t.events.c.id)).all()


def member_of(env, customer: str = CUSTOMER, shop_id: int | None = None):
    try:
        return env.rt.members.by_customer(shop_id or env.shop.id, customer)
    except Exception:  # NotFound: the customer is not a member
        return None


def ledger_count(env) -> int:
    with env.rt.db.uow() as uow:
        return uow.conn.execute(select(func.count()).select_from(t.ledger_entries)).scalar_one()


# -- the extensions ---------------------------------------------------------------------------
def test_every_trigger_and_action_has_its_extension_toml_with_the_same_handle_and_fields():
    for event_type, trigger in F.TRIGGERS.items():
        assert len(trigger.handle) <= 30 and re.fullmatch(r"[a-z0-9-]+", trigger.handle)
        doc = tomllib.loads((EXTENSIONS / trigger.handle / "shopify.extension.toml").read_text())
        [ext] = doc["extensions"]
        assert (ext["type"], ext["handle"], ext["name"]) == ("flow_trigger", trigger.handle, trigger.name)
        fields = doc["settings"]["fields"]
        assert fields[0] == {"type": "customer_reference"}
        declared = [f["key"] for f in fields[1:]]
        # the payload carries exactly the declared fields (a customer reference as customer_id)
        built = F.trigger_payload(event_type, {}, customer_id="1", event_id="evt_1")
        assert list(built) == ["customer_id", *declared]
    for path, action in F.ACTIONS.items():
        doc = tomllib.loads((EXTENSIONS / action.handle / "shopify.extension.toml").read_text())
        [ext] = doc["extensions"]
        assert (ext["type"], ext["handle"]) == ("flow_action", action.handle)
        assert ext["runtime_url"].endswith(f"/shopify/flow/actions/{path}")
        fields = doc["settings"]["fields"]
        assert fields[0] == {"type": "customer_reference", "required": True}
        assert [f["key"] for f in fields[1:]] == [k for k, *_ in action.fields]
    [callback] = tomllib.loads((EXTENSIONS / "loyalty-flow-lifecycle" / "shopify.extension.toml").read_text())["extensions"]
    assert callback["type"] == "flow_trigger_lifecycle_callback" and callback["url"].endswith("/shopify/flow/lifecycle")


# -- triggers ---------------------------------------------------------------------------------
def test_a_tier_change_produces_exactly_one_trigger_call_with_the_documented_payload(env):
    rt = env.rt
    member, _ = rt.members.enrol(env.shop.id, CUSTOMER)
    rt.adjustments.adjust(env.shop.id, member.id, "points", 100, key="a1", actor="test", reason="warm up")
    deliver(env)
    assert [p["New tier"] for p in calls(env, "loyalty-tier-changed")] == ["Bronze"]
    env.state.flow_triggers.clear()

    rt.adjustments.adjust(env.shop.id, member.id, "points", 500, key="a2", actor="test", reason="to silver")
    deliver(env, rounds=3)  # relaying and sending again changes nothing
    [ev] = [e for e in outbox(env, "tier_changed") if e.payload["to"] == "Silver"]
    assert calls(env, "loyalty-tier-changed") == [{
        "customer_id": int(CUSTOMER), "Previous tier": "Bronze", "New tier": "Silver", "Direction": "up",
        "Reason": ev.payload["reason"], "Event ID": f"evt_{ev.id}"}]
    assert "Silver" in ev.payload["reason"]
    # and the points that crossed the line unlocked nothing Flow was not told about
    assert all(c["handle"].startswith("loyalty-") for c in env.state.flow_triggers)


def test_a_duplicated_event_and_a_relay_run_twice_call_flow_once(env):
    rt = env.rt
    member, _ = rt.members.enrol(env.shop.id, CUSTOMER)
    event = TierChanged(shop_id=env.shop.id, member_id=member.id, at=env.clock.now(), from_tier="Silver",
                        to_tier="Gold", reason="set by hand", up=True, value=Decimal(1600), cause="test",
                        program_version=1)
    for _ in range(2):  # the same fact told twice, in two transactions
        with rt.db.uow(env.shop.id) as uow:
            uow.collect(event)
            uow.collect(event)
    assert len([e for e in outbox(env, "tier_changed") if e.payload["to"] == "Gold"]) == 1
    rt.notifier.relay()
    rt.notifier.relay()
    rt.notifier.send()
    with rt.db.uow() as uow:  # as if the relay's mark were lost: the event is fanned out again
        uow.conn.execute(t.events.update().values(relayed_at=None))
    rt.notifier.relay()
    rt.notifier.send()
    assert [p["New tier"] for p in calls(env, "loyalty-tier-changed")] == ["Gold"]


def test_a_failed_call_is_retried_later_and_still_lands_once(env):
    rt = env.rt
    member, _ = rt.members.enrol(env.shop.id, CUSTOMER)
    tokens = set(env.state.tokens)
    env.state.tokens.clear()  # Shopify refuses every call for now
    rt.adjustments.adjust(env.shop.id, member.id, "points", 600, key="a1", actor="test", reason="big")
    deliver(env)
    assert calls(env, "loyalty-tier-changed") == []
    with rt.db.uow() as uow:
        [row] = uow.conn.execute(select(t.notifications).where(
            t.notifications.c.target == "flow", t.notifications.c.topic == "loyalty-tier-changed")).all()
    assert row.state == "pending" and row.attempts == 1 and row.last_error
    env.state.tokens |= tokens
    deliver(env)  # not due yet: the backoff holds it
    assert calls(env, "loyalty-tier-changed") == []
    env.clock._at += timedelta(minutes=5)
    deliver(env, rounds=3)
    assert [p["New tier"] for p in calls(env, "loyalty-tier-changed")] == ["Silver"]


def test_each_outbox_event_type_starts_its_trigger_with_its_fields(env):
    rt = env.rt
    member, _ = rt.members.enrol(env.shop.id, CUSTOMER)
    at = env.clock.now()
    from plugin_app.domain.member_events import (BirthdayRewarded, OrderPointsEarned, PointsExpiring,
                                                 ReferralRewarded, RewardUnlocked)
    with rt.db.uow(env.shop.id) as uow:
        uow.collect(OrderPointsEarned(shop_id=env.shop.id, member_id=member.id, at=at, order_id="6120345678901",
                                      points=85, credit=Decimal("1.70"), pending=True))
        uow.collect(RewardUnlocked(shop_id=env.shop.id, member_id=member.id, at=at, entry_id=1, reward_id="r5",
                                   reward="€5 off", points_cost=500, balance=520))
        uow.collect(PointsExpiring(shop_id=env.shop.id, member_id=member.id, at=at, asset="points", amount=120,
                                   days=7, expires_at=at + timedelta(days=7), by_inactivity=False,
                                   dated=(at + timedelta(days=7)).date()))
        uow.collect(BirthdayRewarded(shop_id=env.shop.id, member_id=member.id, at=at, event_id="b1", points=100))
        uow.collect(ReferralRewarded(shop_id=env.shop.id, member_id=member.id, at=at, referral_id=9,
                                     reward={"kind": "credit", "amount": "5.00"}))
    deliver(env)
    cid = int(CUSTOMER)
    [earned] = calls(env, "loyalty-points-earned")
    assert {k: v for k, v in earned.items() if k != "Event ID"} == {
        "customer_id": cid, "Points": 85, "Cashback": 1.7, "Order ID": "6120345678901", "Pending": True}
    [unlocked] = calls(env, "loyalty-reward-unlocked")
    assert (unlocked["Reward"], unlocked["Points cost"], unlocked["Points balance"]) == ("€5 off", 500, 520)
    [expiring] = calls(env, "loyalty-points-expiring")
    assert (expiring["Asset"], expiring["Amount"], expiring["Days left"]) == ("points", 120, 7)
    assert calls(env, "loyalty-birthday-rewarded")[0]["Points"] == 100
    [referral] = calls(env, "loyalty-referral-completed")
    assert (referral["Reward kind"], referral["Amount"], referral["Points"], referral["Discount code"]) == \
        ("credit", 5, 0, "")
    for c in env.state.flow_triggers:
        assert c["payload"]["customer_id"] == cid and re.fullmatch(r"evt_\d+", c["payload"]["Event ID"])
        assert len(json.dumps(c["payload"]).encode()) < F.MAX_PAYLOAD_BYTES


def test_only_installed_shopify_shops_and_shopify_customers_get_triggers(env):
    rt = env.rt
    demo, _ = fx.shop_and_key(rt, tiers=TIERS)
    dm, _ = rt.members.enrol(demo.id, "cust-1")
    rt.adjustments.adjust(demo.id, dm.id, "points", 600, key="d1", actor="test", reason="demo")
    guest, _ = rt.members.enrol(env.shop.id, "not-a-shopify-id")  # an id Flow could not reference
    rt.adjustments.adjust(env.shop.id, guest.id, "points", 600, key="g1", actor="test", reason="odd")
    deliver(env)
    assert env.state.flow_triggers == []
    with rt.db.uow() as uow:
        assert uow.conn.execute(select(func.count()).select_from(t.notifications)
                                .where(t.notifications.c.target == "flow")).scalar_one() == 0


# -- actions ----------------------------------------------------------------------------------
def action_body(customer=CUSTOMER, run_id="run-1", domain=S.DOMAIN, handle="loyalty-add-points", **props) -> dict:
    return {"shop_id": "690933842", "shopify_domain": domain, "action_run_id": run_id,
            "action_definition_id": handle, "handle": handle,
            "properties": {"customer_id": customer, **props, "step_reference": "320d4f8a"}}


def post(env, path: str, body, *, secret: str = SECRET, domain: str = S.DOMAIN, raw: bytes | None = None,
         signed: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Shopify-Shop-Domain": domain,
               "X-Shopify-Hmac-SHA256": S.sign(signed if signed is not None else data, secret)}
    return env.client.post(f"/shopify/flow/actions/{path}", data=data, headers=headers)


def test_add_100_points_with_a_replayed_run_id_posts_once(env):
    r = post(env, "add-points", action_body(points="100", reason="VIP event"))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["replayed"] is False
    member, bal = member_of(env)
    assert bal.points == 100
    again = post(env, "add-points", action_body(points="100", reason="VIP event"))  # Flow retries the run
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    assert member_of(env)[1].points == 100
    other = post(env, "add-points", action_body(run_id="run-2", points=100))
    assert other.status_code == 200 and member_of(env)[1].points == 200
    clash = post(env, "add-points", action_body(points="50"))  # the same run id for another request
    assert clash.status_code == 409 and member_of(env)[1].points == 200


def test_forged_unsigned_tampered_and_other_shop_requests_get_401_and_change_nothing(env):
    rt = env.rt
    other, _ = rt.shops.register("shopify", "other-shop.myshopify.com", currency="EUR",
                                 credentials={"access_token": "shpat_other"})
    body = action_body(points=100)
    raw = json.dumps(body).encode()
    attempts = [
        post(env, "add-points", body, secret="not-the-secret"),  # forged
        env.client.post("/shopify/flow/actions/add-points", data=raw,
                        headers={"X-Shopify-Shop-Domain": S.DOMAIN}),  # unsigned
        post(env, "add-points", None, raw=raw.replace(b"100", b"999"), signed=raw),  # body changed after signing
        post(env, "add-points", body, domain="other-shop.myshopify.com"),  # signed, but the body names another shop
        post(env, "add-points", action_body(points=100, domain="other-shop.myshopify.com")),  # and the reverse
        post(env, "add-points", body, domain="evil.example.com"),
    ]
    assert [a.status_code for a in attempts] == [401] * len(attempts)
    assert all(a.get_json()["error"]["code"] == "unauthorized" for a in attempts)
    assert member_of(env) is None and member_of(env, shop_id=other.id) is None and ledger_count(env) == 0


@pytest.mark.parametrize("path,props,status", [
    ("add-points", {"points": "abc"}, 422), ("add-points", {"points": "0"}, 422),
    ("add-points", {"points": "1.5"}, 422), ("add-points", {"points": "-5"}, 422),
    ("add-points", {"points": "100", "reason": "x" * 201}, 422), ("add-points", {}, 422),
    ("add-points", {"points": True}, 422), ("add-points", {"points": "NaN"}, 422),
    ("add-points", {"points": "100", "reason": "a\x00b"}, 422),
    ("add-store-credit", {"amount": "12.505"}, 422), ("add-store-credit", {"amount": "-1"}, 422),
    ("add-store-credit", {"amount": "1e9"}, 422),
    ("record-action", {"action": "no_such_action"}, 422), ("record-action", {"action": "../x"}, 422),
    ("set-tier", {"tier": "Platinum"}, 422), ("set-tier", {}, 422),
    ("no-such-action", {"points": "1"}, 404),
])
def test_bad_properties_are_refused_with_a_clear_error_and_nothing_changes(env, path, props, status):
    r = post(env, path, action_body(**props))
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"]["message"]
    assert member_of(env) is None and ledger_count(env) == 0


@pytest.mark.parametrize("customer", ["", "abc", None, "12345678901234567890123", True])
def test_a_missing_or_malformed_customer_is_refused(env, customer):
    r = post(env, "add-points", action_body(customer=customer, points=10))
    assert r.status_code == 422 and "customer_id" in r.get_json()["error"]["message"]
    assert ledger_count(env) == 0


def test_bodies_that_are_not_json_or_too_deep_are_refused_unparsed(env):
    assert post(env, "add-points", None, raw=b"not json").status_code == 400
    deep = b"[" * 5000 + b"]" * 5000
    r = post(env, "add-points", None, raw=deep)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "json_too_deep"
    assert post(env, "add-points", None, raw=b'["a list"]').status_code == 422
    assert ledger_count(env) == 0


def test_add_store_credit_and_a_custom_action_post_once(env):
    r = post(env, "add-store-credit", action_body(amount="12.50", reason="sorry for the delay"))
    assert r.status_code == 200 and r.get_json()["amount"] == "12.50"
    assert post(env, "add-store-credit", action_body(amount="12.50", reason="sorry for the delay")).status_code == 200
    assert member_of(env)[1].credit.amount == Decimal("12.50")
    r = post(env, "record-action", action_body(run_id="run-quiz", action="quiz_done"))
    assert r.status_code == 200 and r.get_json()["points"] == 20
    assert post(env, "record-action", action_body(run_id="run-quiz", action="quiz_done")).get_json()["replayed"]
    assert member_of(env)[1].points + member_of(env)[1].pending_points == 20


def test_set_tier_places_the_member_with_a_reason_and_tells_flow_once(env):
    env.rt.members.enrol(env.shop.id, CUSTOMER)
    r = post(env, "set-tier", action_body(tier="gold", reason="VIP list"))
    assert r.status_code == 200 and r.get_json() == {"ok": True, "tier": "Gold", "changed": True}
    assert member_of(env)[0].tier == "Gold"
    again = post(env, "set-tier", action_body(tier="gold", reason="VIP list"))
    assert again.get_json()["changed"] is False
    deliver(env, rounds=2)
    [call] = calls(env, "loyalty-tier-changed")
    assert (call["New tier"], call["Reason"], call["Direction"]) == ("Gold", "VIP list", "up")
    # a later posting does not undo it (points-earned tiers never go down without a policy)
    member = member_of(env)[0]
    env.rt.adjustments.adjust(env.shop.id, member.id, "points", 10, key="p1", actor="test", reason="small")
    assert member_of(env)[0].tier == "Gold"


def test_set_tier_refuses_a_tier_below_what_the_member_earned(env):
    member, _ = env.rt.members.enrol(env.shop.id, CUSTOMER)
    env.rt.adjustments.adjust(env.shop.id, member.id, "points", 600, key="p1", actor="test", reason="earned")
    assert member_of(env)[0].tier == "Silver"
    r = post(env, "set-tier", action_body(tier="Bronze"))
    assert r.status_code == 422 and "Silver" in r.get_json()["error"]["message"]
    assert member_of(env)[0].tier == "Silver"


def test_an_uninstalled_shop_gets_no_triggers_and_its_actions_are_refused(env):
    member, _ = env.rt.members.enrol(env.shop.id, CUSTOMER)
    env.rt.shops.uninstall(env.shop.id)
    env.rt.adjustments.adjust(env.shop.id, member.id, "points", 600, key="p1", actor="test", reason="late")
    deliver(env)
    assert env.state.flow_triggers == []
    before = ledger_count(env)
    r = post(env, "add-points", action_body(points=100))
    assert r.status_code == 404 and ledger_count(env) == before


# -- trigger lifecycle callbacks --------------------------------------------------------------
def lifecycle(env, definition: str, enabled: bool, at: str, *, secret: str = SECRET, header: bool = True,
              domain: str = S.DOMAIN):
    body = json.dumps({"flow_trigger_definition_id": definition, "has_enabled_flow": enabled,
                       "shop_id": 690933842, "shopify_domain": domain, "timestamp": at}).encode()
    headers = {"Content-Type": "application/json", "X-Shopify-Hmac-SHA256": S.sign(body, secret)}
    if header:
        headers["X-Shopify-Shop-Domain"] = S.DOMAIN
    return env.client.post("/shopify/flow/lifecycle", data=body, headers=headers)


def test_a_trigger_no_enabled_workflow_uses_is_not_sent_and_the_newest_word_wins(env):
    rt = env.rt
    member, _ = rt.members.enrol(env.shop.id, CUSTOMER)
    r = lifecycle(env, "loyalty-tier-changed", False, "2026-03-01T10:00:00Z")
    assert r.status_code == 200 and r.get_json() == {"ok": True, "recorded": True}
    rt.adjustments.adjust(env.shop.id, member.id, "points", 100, key="p1", actor="test", reason="first")
    deliver(env)
    assert calls(env, "loyalty-tier-changed") == []
    # an older word arriving late changes nothing; a newer one (by name, without the header) turns it on
    assert lifecycle(env, "loyalty-tier-changed", True, "2026-03-01T09:00:00Z").status_code == 200
    rt.adjustments.adjust(env.shop.id, member.id, "points", 500, key="p2", actor="test", reason="silver")
    deliver(env)
    assert calls(env, "loyalty-tier-changed") == []
    assert lifecycle(env, "Loyalty tier changed", True, "2026-03-01T11:00:00+00:00", header=False).status_code == 200
    rt.adjustments.adjust(env.shop.id, member.id, "points", 1000, key="p3", actor="test", reason="gold")
    deliver(env)
    assert [p["New tier"] for p in calls(env, "loyalty-tier-changed")] == ["Gold"]


def test_lifecycle_callbacks_are_verified_and_unknown_ones_still_answered(env):
    assert lifecycle(env, "loyalty-tier-changed", False, "2026-03-01T10:00:00Z", secret="forged").status_code == 401
    assert lifecycle(env, "loyalty-tier-changed", False, "2026-03-01T10:00:00Z",
                     domain="other-shop.myshopify.com").status_code == 401  # header and signed body disagree
    unknown = lifecycle(env, "someone-elses-trigger", False, "2026-03-01T10:00:00Z")
    assert unknown.status_code == 200 and unknown.get_json()["recorded"] is False
    assert lifecycle(env, "loyalty-tier-changed", "no", "2026-03-01T10:00:00Z").status_code == 422
    assert lifecycle(env, "loyalty-tier-changed", False, "yesterday").status_code == 422
    with env.rt.db.uow(env.shop.id) as uow:
        assert uow.flow_usage.usage() == {}
