"""Referrals: codes, normalisations, every fraud rule in every mode, and the whole path on the
Shopify stand-in (landing, welcome code, the friend's order, pending, reward or revocation)."""
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from plugin_app import create_app
from plugin_app.domain import referrals as R
from plugin_app.domain.ports import FixedClock
from plugin_app.services import identity
from plugin_app.services.audit import run_audit

from . import shopify_standin as S
from .conftest import ENCRYPTION_KEY

CONFUSABLE = set("0O1IL5S2Z8B")


def test_a_hundred_thousand_codes_for_one_shop_unique_not_sequential_unconfusable(runtime, shop):
    """Random draws from 25^8 collide now and then (about 3% odds somewhere in 100,000): the
    database's unique constraint catches it and the code is drawn again."""
    with runtime.db.transaction() as conn:
        conn.execute(text("insert into members (shop_id, platform_customer_id, created_at, updated_at) "
                          "select :s, 'c' || g, now(), now() from generate_series(1, 100000) g"), {"s": shop.id})
        ids = conn.execute(text("select id from members where shop_id = :s order by id"), {"s": shop.id}).scalars().all()
    assert runtime.referrals.assign_codes(shop.id, ids) == 100_000
    with runtime.db.transaction() as conn:
        codes = conn.execute(text("select code from referral_codes where shop_id = :s order by member_id"),
                             {"s": shop.id}).scalars().all()
    assert len(codes) == len(set(codes)) == 100_000
    assert not CONFUSABLE & set("".join(codes)) and all(len(c) == R.CODE_LENGTH for c in codes)
    ordered = sum(a < b for a, b in zip(codes, codes[1:]))
    assert 0.45 < ordered / len(codes) < 0.55  # in member order, no more ordered than chance
    assert sum(a[:4] == b[:4] for a, b in zip(codes, codes[1:])) < 10
    assert runtime.referrals.assign_codes(shop.id, ids[:10]) == 0  # codes are stable: nobody gets a second
    assert R.clean_code("ab3d-e4fg") is None  # 'B' is not in the alphabet
    assert R.clean_code(R.display(codes[0]).lower()) == codes[0]


def test_a_collision_is_drawn_again(runtime, shop, monkeypatch):
    members = [runtime.members.enrol(shop.id, f"m{i}")[0].id for i in range(3)]
    draws = iter(["AAAAAAAA", "AAAAAAAA", "AAAAAAAA", "CCCCCCCC", "DDDDDDDD"])
    monkeypatch.setattr(R, "new_code", lambda: next(draws))
    assert runtime.referrals.assign_codes(shop.id, members) == 3
    with runtime.db.transaction() as conn:
        assert sorted(conn.execute(text("select code from referral_codes")).scalars()) == ["AAAAAAAA", "CCCCCCCC", "DDDDDDDD"]


@pytest.mark.parametrize("a,b", [("ann@x.com", "ann+1@x.com"), ("Ann@X.com", "ann+promo@x.com"),
                                 ("ann@gmail.com", "a.nn@gmail.com"), ("ann@gmail.com", "A.N.N+x@googlemail.com")])
def test_alias_emails_normalise_alike(a, b):
    assert R.norm_email(a) == R.norm_email(b)


def test_different_people_stay_different():
    assert R.norm_email("a.nn@x.com") != R.norm_email("ann@x.com")  # only Gmail ignores dots
    assert R.norm_address({"address1": "1 Main St", "city": "Berlin"}) != R.norm_address({"address1": "2 Main St", "city": "Berlin"})


@pytest.mark.parametrize("a,b", [
    ({"address1": "12 Rue de la Paix", "city": "Paris", "zip": "75002"}, {"address1": "12 rue de la paix ", "city": "PARIS", "zip": "75002"}),
    ({"address1": "12  Rue de la Paix,", "city": "Paris"}, {"address1": "12 rue de la paix", "city": "paris"}),
])
def test_the_same_address_written_differently(a, b):
    assert R.norm_address(a) == R.norm_address(b)


def facts(**kw):
    return R.Facts(**{k: frozenset(v) if isinstance(v, (set, list)) else v for k, v in kw.items()})


RULES = {  # rule → (referrer facts, friend facts, context) that make it fire
    "self_referral": (facts(customer_id="1", emails={"e1"}), facts(customer_id="2", emails={"e1"}), R.Context()),
    "same_device_or_ip": (facts(customer_id="1", ips={"ip1"}), facts(customer_id="2", ips={"ip1"}), R.Context()),
    "ip_velocity": (facts(customer_id="1"), facts(customer_id="2"), R.Context(referrals_from_ip_7d=11)),
    "daily_velocity": (facts(customer_id="1"), facts(customer_id="2"), R.Context(referrer_referrals_today=6)),
    "not_new_customer": (facts(customer_id="1"), facts(customer_id="2"), R.Context(prior_orders=2)),
    "order_reversed": (facts(customer_id="1"), facts(customer_id="2"), R.Context(order_reversed=True)),
}


@pytest.mark.parametrize("mode", ["block", "hold", "observe"])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_fraud_rule_in_each_mode(rule, mode):
    referrer, friend, ctx = RULES[rule]
    verdict = R.judge({rule: mode}, referrer, friend, ctx)
    assert verdict.outcome == {"block": "block", "hold": "hold", "observe": "ok"}[mode]
    assert [f.rule for f in verdict.findings] == [rule] and verdict.findings[0].evidence
    clean = R.judge({rule: mode}, facts(customer_id="1"), facts(customer_id="2"), R.Context())
    assert clean.outcome == "ok" and not clean.findings
    off = R.judge({rule: "off"}, referrer, friend, ctx)
    assert off.outcome == "ok" and not off.findings


def test_the_strictest_mode_decides_and_every_finding_is_kept():
    v = R.judge({"self_referral": "observe", "not_new_customer": "hold", "order_reversed": "block"},
                facts(customer_id="1", phones={"p"}), facts(customer_id="2", phones={"p"}),
                R.Context(prior_orders=1, order_reversed=True))
    assert v.outcome == "block" and {f.rule for f in v.findings} == {"self_referral", "not_new_customer", "order_reversed"}
    assert "cancelled or refunded" in v.reason


SECRET = "shpss_referrals_secret_long_enough_0000"


@pytest.fixture
def env(clean_db):
    state = S.AdminState()
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example", "shopify_api_secret": SECRET, "shopify_api_key": "k"})
    rt = app.extensions["loyalty"]
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    shop, key = rt.shops.register("shopify", S.DOMAIN, credentials={"access_token": "shpat_standin", "api_secret": SECRET})
    rt.programs.put(shop.id, {"referrals": {"enabled": True, "pending_days": 14,
                                            "referrer": {"kind": "points", "points": 500},
                                            "cashback": {"rate": "5", "orders": 2}}}, author="test")
    from types import SimpleNamespace
    e = SimpleNamespace(app=app, rt=rt, shop=rt.shops.get(shop.id), state=state, client=app.test_client(),
                        admin={"Authorization": f"Bearer {key}"}, sender=S.Sender(app.test_client(), SECRET))
    e.token = lambda cid: identity.sign(shop.id, cid, rt.shops.widget_secret(shop.id))
    e.sf = lambda path: f"/storefront/v1/{path}?shop={e.shop.widget_key}"
    yield e
    rt.close()


def referrer_code(env, customer="100"):
    r = env.client.get(env.sf("referrals/me"), headers={"Authorization": f"Bearer {env.token(customer)}"})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def friend_journey(env, friend="200", *, ip="203.0.113.9", referrer="100"):
    code = referrer_code(env, referrer)["code"]
    visitor = uuid.uuid4().hex
    landed = env.client.post(env.sf("referrals/landings"), json={"code": code, "visitor_id": visitor},
                             environ_base={"REMOTE_ADDR": ip})
    assert landed.status_code == 201 and landed.get_json()["remember_days"] == 30
    claimed = env.client.post(env.sf("referrals/claim"), json={"visitor_id": visitor},
                              headers={"Authorization": f"Bearer {env.token(friend)}"}, environ_base={"REMOTE_ADDR": ip})
    assert claimed.status_code == 200
    return claimed.get_json()


def pay(env, order_id, friend, code=None, total="60.00", **extra):
    o = S.order(order_id, customer_id=int(friend), lines=[S.line_item(order_id * 10, total)])
    o["email"] = extra.pop("email", f"friend{friend}@example.org")
    o.update(extra)
    if code:
        o["discount_codes"] = [{"code": code, "amount": "10.00", "type": "fixed_amount"}]
    env.sender.deliver("orders/paid", o)
    return o


def later(env, days):
    clock = FixedClock(env.rt.clock.now() + timedelta(days=days))
    env.rt.referrals.clock = clock


def referral(env):
    with env.rt.db.transaction() as conn:
        return conn.execute(text("select * from referrals order by id desc limit 1")).one()


def points(env, customer):
    return env.rt.members.by_customer(env.shop.id, customer)[1].points


def test_end_to_end_reward_after_the_pending_period(env):
    env.sender.deliver("customers/create", S.customer(200, "friend200@example.org"))
    claim = friend_journey(env)
    code = next(d for d in env.state.discounts.values() if d["code"] == claim["friend_code"])
    assert code["context"]["customers"]["add"] == ["gid://shopify/Customer/200"]  # the friend's welcome code
    assert code["customerGets"]["value"]["discountAmount"]["amount"] == "10"
    pay(env, 7001, "200", claim["friend_code"])
    r = referral(env)
    assert r.status == "pending" and r.order_id == "7001" and r.verdict["outcome"] == "ok"
    assert env.rt.members.by_customer(env.shop.id, "100")[1].pending_credit.amount == 3  # 5% of 60.00, pending too
    assert env.rt.referrals.reward_due() == 0  # not yet
    later(env, 15)
    assert env.rt.referrals.reward_due() == 1
    assert points(env, "100") == 500 and referral(env).status == "rewarded"
    mine = referrer_code(env)["referrals"]
    assert mine[0]["status"] == "rewarded" and mine[0]["friend"] == "f***@example.org"
    funnel = env.client.get("/admin/api/v1/referrals/funnel", headers=env.admin).get_json()
    assert (funnel["landings"], funnel["sign_ups"], funnel["first_orders"], funnel["rewards_issued"]) == (1, 1, 1, 1)
    assert funnel["cost"]["points"] == 500
    assert run_audit(env.rt.db).ok


def test_a_refund_inside_the_pending_window_revokes_it(env):
    claim = friend_journey(env)
    pay(env, 7002, "200", claim["friend_code"])
    env.sender.deliver("orders/cancelled", {**S.order(7002, customer_id=200, lines=[S.line_item(70020, "60.00")]),
                                            "cancelled_at": "2026-03-15T09:00:00-04:00", "financial_status": "refunded"})
    later(env, 15)
    assert env.rt.referrals.reward_due() == 0
    r = referral(env)
    assert r.status == "rejected" and "cancelled or refunded" in r.reason
    assert points(env, "100") == 0
    assert referrer_code(env)["referrals"][0]["reason"] == "the friend's order was cancelled or refunded"
    assert run_audit(env.rt.db).ok


def test_self_referral_through_an_email_alias_is_blocked(env):
    pay(env, 6000, "100", email="ann@gmail.com")  # the referrer's own earlier order: their fingerprint
    claim = friend_journey(env, friend="300")
    pay(env, 7003, "300", claim["friend_code"], email="a.nn+2@gmail.com")
    r = referral(env)
    assert r.status == "rejected" and "the same email" in r.reason
    assert r.verdict["findings"][0]["rule"] == "self_referral"


@pytest.mark.parametrize("referrer_email", ["ada+x@gmail.com", "a.da@gmail.com"])
def test_self_referral_by_alias_is_caught_before_the_referrer_ever_orders(env, referrer_email):
    """The referrer has an account (customers/create) but no order: their own e-mail, from the
    member record, is compared (hashed, aliases and Gmail dots normalised) with the friend's."""
    env.sender.deliver("customers/create", S.customer(100, referrer_email))
    claim = friend_journey(env, friend="310")
    pay(env, 7013, "310", claim["friend_code"], email="ada@gmail.com")
    r = referral(env)
    assert r.status == "rejected" and "the same email" in r.reason
    assert r.verdict["findings"][0]["rule"] == "self_referral"


def test_same_ip_is_held_for_review_and_the_merchant_decides(env):
    env.client.get(env.sf("referrals/me"), headers={"Authorization": f"Bearer {env.token('100')}"})
    pay(env, 6001, "100", client_details={"browser_ip": "198.51.100.7"})
    claim = friend_journey(env, friend="400", ip="198.51.100.7")
    pay(env, 7004, "400", claim["friend_code"])
    r = referral(env)
    assert r.status == "review" and "IP address" in r.reason, r.reason
    assert referrer_code(env)["referrals"][0]["status"] == "pending"  # the shopper sees it as pending
    held = env.client.get("/admin/api/v1/referrals?status=review", headers=env.admin).get_json()["referrals"]
    assert [h["id"] for h in held] == [r.id]
    later(env, 15)
    ok = env.client.post(f"/admin/api/v1/referrals/{r.id}/approve", headers=env.admin).get_json()
    assert ok["status"] == "rewarded" and ok["decided_by"] == "api-key"
    assert points(env, "100") >= 500
    assert env.client.post(f"/admin/api/v1/referrals/{r.id}/reject", headers=env.admin).status_code == 409


def test_a_returning_customer_is_not_a_new_friend(env):
    pay(env, 5000, "500")  # the "friend" already ordered before
    claim = friend_journey(env, friend="500")
    pay(env, 7005, "500", claim["friend_code"])
    r = referral(env)
    assert r.status == "rejected" and "not a new customer" in r.reason


def test_one_referrer_per_friend_and_unknown_codes(env):
    first = friend_journey(env, friend="600", referrer="100")
    second = env.client.post(env.sf("referrals/claim"), json={"code": referrer_code(env, "101")["code"]},
                             headers={"Authorization": f"Bearer {env.token('600')}"}).get_json()
    assert second["referral_id"] == first["referral_id"]  # the first valid attribution stands
    r = env.client.post(env.sf("referrals/claim"), json={"code": "AAAA-AAAA"},
                        headers={"Authorization": f"Bearer {env.token('601')}"})
    assert r.status_code == 404
    assert env.client.post(env.sf("referrals/landings"), json={"code": "nope-nope", "visitor_id": "x" * 16}).status_code == 404


def test_member_endpoint_shows_a_stable_referral_code(env):
    env.rt.members.enrol(env.shop.id, "100")
    a = env.client.get("/admin/api/v1/members/by-customer/100", headers=env.admin).get_json()["referral_code"]
    b = env.client.get("/admin/api/v1/members/by-customer/100", headers=env.admin).get_json()["referral_code"]
    assert a == b == referrer_code(env)["code"] and len(a) == 9


def test_referral_reasons_show_plain_numbers(env):
    """A rate or amount the merchant wrote as 1E+1 or 5E+1 reads as 10 and 50.00 in the ledger."""
    env.rt.programs.put(env.shop.id, {"referrals": {"enabled": True, "pending_days": 14,
                                                    "referrer": {"kind": "credit", "amount": "5E+1"},
                                                    "cashback": {"rate": "1E+1", "orders": 2}}}, author="test")
    claim = friend_journey(env)
    pay(env, 7101, "200", claim["friend_code"])
    later(env, 15)
    assert env.rt.referrals.reward_due() == 1
    with env.rt.db.transaction() as conn:
        rows = conn.execute(text("select reason, reason_code, reason_params from ledger_entries "
                                 "where source = 'referral' order by id")).all()
    cur = env.shop.currency
    reasons = [r.reason for r in rows]
    from plugin_app.i18n import translator
    sixty = translator("en").money("60.00", cur)
    assert reasons == [f"10% of a friend's order ({sixty})", "Your friend's first order"]
    assert [(r.reason_code, r.reason_params) for r in rows] == [
        ("referral.cashback", {"rate": "10", "base": {"amount": "60.00", "currency": cur}, "order": "7101"}),
        ("referral.reward", {"amount": {"amount": "50.00", "currency": cur}})]
    assert not any("E+" in r for r in reasons)
