"""Switching in, end to end on PostgreSQL: dry run equals the applied result, revert puts every
balance, tier, birthday and code back, a second run of the same file changes nothing, lots keep
their age (first in, first out; expiry on the original schedule), tiers as they stood or
recomputed on original dates, no shopper is told anything, a killed apply resumes, and the
merchant API (upload, plan, apply, revert) answers in JSON for one shop only."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from plugin_app.domain.birthdays import NO_YEAR
from plugin_app.domain.ledger import Asset, Source
from plugin_app.domain.ports import FixedClock
from plugin_app.services import imports as imports_module
from plugin_app.services.audit import run_audit
from plugin_app.services.imports import Summary

from . import factories as f
from .test_referrals import env  # noqa: F401  (fixture)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
TIERS = f.tiers(("Bronze", 0), ("Silver", 500), ("Gold", 1500), downgrade="never")

MEMBERS = """email,customer_id,name,points_balance,store_credit,tier,birthday,referral_code,locale
 Anna@Example.COM ,,Anna Old,300,,silver,1004-05-17,ANNA-2020,
bruno@example.com,9002,Bruno New,1200,12.50,Gold,1985-02-03,BRUNO_B,it
bruno@example.com,9002,Bruno Again,99,,,,,
,,Nobody,5,,,,,
ghost@example.com,,Ghost,50,,,,,
carla@example.com,9003,Carla,0,,Platinum,,x!,
"""


def upload(rt, shop, data: str, fmt: str | None = None, **options) -> dict:
    view = rt.imports.upload(shop.id, "file.csv", io.BytesIO(data.encode()), fmt=fmt, options=options)
    return rt.imports.view(shop.id, view["id"])


def apply(rt, shop, view) -> dict:
    rt.imports.apply(shop.id, view["id"])
    return rt.imports.view(shop.id, view["id"])


def balance(rt, shop, customer):
    return rt.members.by_customer(shop.id, customer)


def books(rt, shop) -> dict:
    """Every member's customer id -> (points, credit, tier, birthday, code)."""
    with rt.db.transaction() as conn:
        rows = conn.execute(text(
            "select m.platform_customer_id, b.points, b.credit, m.tier, m.birthday, rc.code from members m "
            "join balances b on b.member_id = m.id left join referral_codes rc on rc.member_id = m.id "
            "where m.shop_id = :s"), {"s": shop.id}).all()
    return {r[0]: (int(r[1]), str(r[2]), r[3], r[4], r[5]) for r in rows}


@pytest.fixture
def setup(tx_runtime):
    rt = tx_runtime
    shop = f.shop(rt, tiers=TIERS)
    anna = f.member(rt, shop, "9001", email="anna@example.com")
    rt.ledger.earn(shop.id, anna.id, Asset.POINTS, 40, key="order-1", source=Source.ORDER, reason="order 1")
    return rt, shop, anna


def test_members_file_dry_run_matches_apply_and_revert_restores_everything(setup):
    rt, shop, anna = setup
    before = books(rt, shop)
    view = upload(rt, shop, MEMBERS)
    assert view["state"] == "analyzed" and view["format"] == "members"
    plan = view["plan"]
    assert books(rt, shop) == before  # the dry run writes nothing to the books
    assert plan["members"] == {"create": 2, "change": 1, "unchanged": 0, "unmatched": 2}
    assert plan["left_out"] == {"duplicate": 1, "no_customer": 1, "not_a_customer": 1}
    assert plan["notes"] == {"unknown_tier": 1, "bad_code": 1}
    # Anna 40 -> 300 (+260), Bruno 1200 and 12.50 credit, Carla nothing to credit
    assert plan["points"] == {"credited": 1460, "debited": 0}
    assert plan["credit"] == {"credited": "12.50", "debited": "0"}
    assert plan["liability"] == {"amount": "85.50", "currency": "EUR"}  # 1460 x 0.05 + 12.50
    assert sorted(line for line, _, _ in plan["lines"]) == [4, 5, 6, 7, 7]

    applied = apply(rt, shop, view)
    assert applied["state"] == "applied"
    assert Summary.comparable(applied["report"]) == Summary.comparable(plan)
    after = books(rt, shop)
    assert after["9001"] == (300, "0.0000", "Silver", date(NO_YEAR, 5, 17), "ANNA2020")
    assert after["9002"] == (1200, "12.5000", "Gold", date(1985, 2, 3), "BRUNO_B")
    assert after["9003"][:3] == (0, "0.0000", None)
    member, bal = balance(rt, shop, "9002")
    assert (member.email, member.name, member.locale, bal.lifetime_points) == ("bruno@example.com", "Bruno New", "it", 1200)
    assert run_audit(rt.db, shop.id).ok
    left = rt.imports.left_out(shop.id, view["id"])
    assert {(r["line"], r["outcome"]) for r in left} >= {(4, "duplicate"), (5, "no_customer"), (6, "not_a_customer")}

    rt.imports.revert(shop.id, view["id"])
    reverted = rt.imports.view(shop.id, view["id"])
    assert reverted["state"] == "reverted" and reverted["report"]["revert"]["reversed"] == 3
    restored = books(rt, shop)
    assert restored["9001"] == before["9001"]
    assert restored["9002"][:5] == (0, "0.0000", None, None, None)
    assert run_audit(rt.db, shop.id).ok
    with rt.db.transaction() as conn:  # reversal entries pointing at what they reverse; nothing deleted
        kinds = conn.execute(text("select kind, count(*) from ledger_entries where shop_id = :s and source = 'import' "
                                  "group by kind order by kind"), {"s": shop.id}).all()
    assert [tuple(k) for k in kinds] == [("earn", 3), ("reverse", 3)]


def test_the_same_file_again_changes_nothing_and_after_a_revert_it_can_come_back(setup):
    rt, shop, _ = setup
    first = apply(rt, shop, upload(rt, shop, MEMBERS))
    state = books(rt, shop)
    again = upload(rt, shop, MEMBERS)
    assert again["plan"]["postings"] == 0 and again["plan"]["members"]["create"] == 0
    assert again["plan"]["tiers"] == {} and again["plan"]["codes"] == 0
    apply(rt, shop, again)
    assert books(rt, shop) == state
    rt.imports.revert(shop.id, first["id"])
    back = apply(rt, shop, upload(rt, shop, MEMBERS))
    assert back["report"]["points"]["credited"] == 1460
    assert books(rt, shop)["9002"][:2] == (1200, "12.5000")
    assert run_audit(rt.db, shop.id).ok


HISTORY = """email,customer_id,occurred_at,points,store_credit,kind,expires_at,order_id,transaction_id,source,note,status
dora@example.com,9100,2025-01-10T10:00:00Z,100,,earn,,1001,t1,Placed an order,,approved
dora@example.com,9100,2025-11-20 09:00:00,200,,earn,2026-03-15T00:00:00Z,1002,t2,Placed an order,,approved
dora@example.com,9100,2025-12-01,-50,,spend,,,t3,Redeemed a reward,,approved
dora@example.com,9100,2025-12-02,500,,earn,,,t4,Bonus,,revoked
dora@example.com,9100,2025-12-03,70,,earn,,,t2,Placed an order,,approved
dora@example.com,9100,2026-01-05,-1000,,refund,,1002,t5,Order refunded,,approved
emil@example.com,9200,2024-06-01,400,,earn,,,e1,Placed an order,,approved
emil@example.com,9200,2026-02-01,300,,earn,,,e2,Placed an order,,approved
"""


def test_history_keeps_the_age_of_lots_first_in_first_out_and_expiry_on_the_original_schedule(tx_runtime):
    rt = tx_runtime
    shop = f.shop(rt, tiers=TIERS, expiry=f.expiry("age", months=24))
    view = upload(rt, shop, HISTORY, tiers="recompute")
    plan = view["plan"]
    assert plan["left_out"] == {"revoked": 1, "duplicate": 1}
    assert plan["notes"] == {"capped": 1}  # the refund took back more than was left
    applied = apply(rt, shop, view)
    assert Summary.comparable(applied["report"]) == Summary.comparable(plan)
    dora, bal = balance(rt, shop, "9100")
    # 100 + 200 - 50 (from the oldest lot: the 100 of January 2025) - 250 (capped at what was left)
    assert bal.points == 0 and bal.lifetime_points == 300
    emil, ebal = balance(rt, shop, "9200")
    assert ebal.points == 700
    with rt.db.transaction() as conn:
        lots = conn.execute(text("select l.amount, l.remaining, l.created_at, l.expires_at from lots l "
                                 "join members m on m.id = l.member_id where m.platform_customer_id = '9200' "
                                 "and l.shop_id = :s order by l.created_at"), {"s": shop.id}).all()
    assert [(int(a), int(r)) for a, r, _, _ in lots] == [(400, 400), (300, 300)]
    assert lots[0].created_at == datetime(2024, 6, 1, tzinfo=timezone.utc)  # the lot is as old as the points
    assert lots[0].expires_at == datetime(2026, 6, 1, tzinfo=timezone.utc)  # 24 months after they were earned
    # Tiers recomputed on points earned in the last 12 months, on their original dates:
    # Emil's 400 of June 2024 are outside the window, the 300 of February 2026 inside.
    assert emil.tier == "Bronze"
    # Spending takes the oldest lot first, though it was posted in the same import
    rt.ledger.redeem(shop.id, emil.id, Asset.POINTS, 100, key="spend-1", source=Source.CART, reason="reward")
    with rt.db.transaction() as conn:
        remaining = conn.execute(text("select int8(remaining) from lots where member_id = :m order by created_at"),
                                 {"m": emil.id}).scalars().all()
    assert remaining == [300, 300]
    # The lot of June 2024 lapses on 1 June 2026, the other stays
    rt.ledger.clock = FixedClock(datetime(2026, 6, 2, tzinfo=timezone.utc))
    assert rt.ledger.expire_due() == 1
    assert balance(rt, shop, "9200")[1].points == 300
    assert run_audit(rt.db, shop.id).ok


def test_tiers_recomputed_count_points_on_the_dates_they_were_earned(tx_runtime):
    rt = tx_runtime
    shop = f.shop(rt, tiers=TIERS)
    data = ("email,customer_id,occurred_at,points,store_credit,kind,expires_at,order_id,transaction_id,source,note,status\n"
            "a@x.com,1,2025-12-01,1600,,earn,,,a1,Order,,approved\n"
            "b@x.com,2,2024-01-01,1600,,earn,,,b1,Order,,approved\n")
    view = apply(rt, shop, upload(rt, shop, data, tiers="recompute"))
    assert view["report"]["tiers"] == {"Gold": 1, "Bronze": 1}
    assert balance(rt, shop, "1")[0].tier == "Gold" and balance(rt, shop, "2")[0].tier == "Bronze"


ADJUSTMENTS = """email,customer_id,points,store_credit,reason
anna@example.com,,25,,Goodwill for a late parcel
ANNA@example.com,,-5,,Typo fixed
,9001,,-1.00,Credit removed
anna@example.com,,-100000,,Too much
anna@example.com,,10,,
"""


def test_adjustments_file_with_reasons(setup):
    rt, shop, anna = setup
    view = upload(rt, shop, ADJUSTMENTS)
    assert view["format"] == "adjustments"
    plan = view["plan"]
    assert plan["points"] == {"credited": 25, "debited": 5}
    assert plan["left_out"].get("insufficient") == 2  # -100000 points; -1.00 credit she does not have
    applied = apply(rt, shop, view)
    assert Summary.comparable(applied["report"]) == Summary.comparable(plan)
    assert balance(rt, shop, "9001")[1].points == 60
    with rt.db.transaction() as conn:
        reasons = conn.execute(text("select reason from ledger_entries where member_id = :m and source = 'import' "
                                    "order by id"), {"m": anna.id}).scalars().all()
    assert reasons == ["Goodwill for a late parcel", "Typo fixed"]


def test_an_import_tells_no_shopper(setup):
    rt, shop, _ = setup
    rt.programs.put(shop.id, {"tiers": {**TIERS, "levels": [
        {"name": "Bronze", "threshold": 0}, {"name": "Silver", "threshold": 500, "entry_reward_points": 50},
        {"name": "Gold", "threshold": 1500}]}}, author="test")
    with rt.db.transaction() as conn:
        before = conn.execute(text("select count(*) from events where shop_id = :s"), {"s": shop.id}).scalar()
    apply(rt, shop, upload(rt, shop, MEMBERS))
    apply(rt, shop, upload(rt, shop, ADJUSTMENTS))
    with rt.db.transaction() as conn:
        after = conn.execute(text("select count(*) from events where shop_id = :s"), {"s": shop.id}).scalar()
        tier_rewards = conn.execute(text("select count(*) from ledger_entries where shop_id = :s "
                                         "and idempotency_key like 'tier-entry:%'"), {"s": shop.id}).scalar()
    assert after == before  # no reward unlocked, no tier e-mail, nothing for the outbox
    assert tier_rewards == 0  # tiers set as they stood pay no entry reward


def test_a_killed_apply_resumes_from_its_last_slice(setup, monkeypatch):
    rt, shop, _ = setup
    rows = "".join(f"p{i}@example.com,{5000 + i},P {i},{i + 1},,,,,\n" for i in range(30))
    data = MEMBERS.splitlines()[0] + "\n" + rows
    monkeypatch.setattr(imports_module, "SLICE_ROWS", 7)
    view = upload(rt, shop, data)
    queued = []
    monkeypatch.setattr(rt.imports, "enqueue", lambda *a, **k: queued.append(a))
    rt.imports.apply(shop.id, view["id"])
    assert rt.imports.apply_slice(shop.id, view["id"]) is True  # one slice, then the worker dies
    mid = rt.imports.view(shop.id, view["id"])
    assert mid["state"] == "applying" and 0 < mid["progress"]["done"] < 30
    rt.imports.clock = FixedClock(NOW + timedelta(minutes=10))
    assert rt.imports.resume_stalled() == 1 and queued[-1][0] == "import_apply"
    while rt.imports.apply_slice(shop.id, view["id"]):
        pass
    done = rt.imports.view(shop.id, view["id"])
    assert done["state"] == "applied"
    assert Summary.comparable(done["report"]) == Summary.comparable(view["plan"])
    assert sum(balance(rt, shop, str(5000 + i))[1].points for i in range(30)) == sum(range(1, 31))
    assert run_audit(rt.db, shop.id).ok


def test_an_imported_referral_code_stays_with_one_member(setup):
    rt, shop, anna = setup
    other = f.member(rt, shop, "9009", email="zed@example.com")
    data = MEMBERS.splitlines()[0] + "\nzed@example.com,,Zed,1,,,,ANNA-2020,\n"
    apply(rt, shop, upload(rt, shop, MEMBERS))
    view = upload(rt, shop, data)
    assert view["plan"]["notes"] == {"code_taken": 1}
    apply(rt, shop, view)
    assert books(rt, shop)["9001"][4] == "ANNA2020"
    assert rt.referrals.code_for(shop.id, other.id) != "ANNA2020"


# -- the merchant API -------------------------------------------------------------------------------
@pytest.fixture
def api(tx_app):
    rt = tx_app.extensions["loyalty"]
    shop, key = f.shop_and_key(rt, tiers=TIERS)
    other, other_key = f.shop_and_key(rt)
    client = tx_app.test_client()
    return rt, shop, client, {"Authorization": f"Bearer {key}"}, {"Authorization": f"Bearer {other_key}"}


def test_api_upload_dry_run_apply_revert(api):
    rt, shop, client, auth, other = api
    r = client.post("/admin/api/v1/imports", headers=auth, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(MEMBERS.encode()), "smile.csv"), "tiers": "as_is"})
    assert r.status_code == 202, r.get_json()
    import_id = r.get_json()["id"]
    view = client.get(f"/admin/api/v1/imports/{import_id}", headers=auth).get_json()
    assert view["state"] == "analyzed" and view["plan"]["members"]["create"] == 2
    assert client.get(f"/admin/api/v1/imports/{import_id}", headers=other).status_code == 404
    assert client.post(f"/admin/api/v1/imports/{import_id}/apply", headers=other).status_code == 404
    assert client.post(f"/admin/api/v1/imports/{import_id}/revert", headers=auth).status_code == 409
    r = client.post(f"/admin/api/v1/imports/{import_id}/apply", headers=auth)
    assert r.status_code == 202
    assert client.get(f"/admin/api/v1/imports/{import_id}", headers=auth).get_json()["state"] == "applied"
    assert client.post(f"/admin/api/v1/imports/{import_id}/apply", headers=auth).status_code == 409
    left = client.get(f"/admin/api/v1/imports/{import_id}/left-out", headers=auth).get_json()["rows"]
    assert {"line": 5, "who": "line 5", "outcome": "no_customer"} in left
    assert client.get("/admin/api/v1/imports", headers=other).get_json()["imports"] == []
    r = client.post(f"/admin/api/v1/imports/{import_id}/revert", headers=auth)
    assert r.status_code == 202
    assert client.get(f"/admin/api/v1/imports/{import_id}", headers=auth).get_json()["state"] == "reverted"


def test_api_raw_body_and_bad_input(api):
    rt, shop, client, auth, _ = api
    r = client.post("/admin/api/v1/imports?filename=adj.csv", headers={**auth, "Content-Type": "text/csv"},
                    data=ADJUSTMENTS.encode())
    assert r.status_code == 202 and r.get_json()["format"] == "adjustments"
    for body, query in ((b"who,what\n1,2\n", ""), (b"", ""), (MEMBERS.encode(), "?tiers=sometimes"),
                        (MEMBERS.encode(), "?format=nope")):
        r = client.post(f"/admin/api/v1/imports{query}", headers={**auth, "Content-Type": "text/csv"}, data=body)
        assert r.status_code == 422, (body[:20], query, r.status_code)
        assert r.get_json()["error"]["code"]
    r = client.post("/admin/api/v1/imports", headers=auth, content_type="multipart/form-data", data={})
    assert r.status_code == 422
    assert client.get("/admin/api/v1/imports/999999", headers=auth).status_code == 404
    assert "/admin/api/v1/imports/{import_id}/revert" in client.get("/openapi.json").get_json()["paths"]


def test_a_woocommerce_plugins_points_read_where_it_runs(tx_app):
    """WooCommerce Points and Rewards' points table, read through our WordPress plugin's export
    route (the stand-in serves it as tests/woocommerce_standin.py says), become dated lots."""
    from tests import woocommerce_standin as W

    state = W.WooState()
    server, url = W.serve(state)
    try:
        rt = tx_app.extensions["loyalty"]
        shop, key = rt.shops.register("woocommerce", url, currency="EUR",
                                      credentials={"consumer_key": "ck_standin", "consumer_secret": "cs_standin"})
        state.loyalty_table("wc_points_rewards", "balances", [
            {"id": 10 * i, "user_id": 100 + i, "user_email": f"Member{i}@Example.org", "points": 50,
             "points_balance": 40 + i, "order_id": 9000 + i, "date": f"2025-0{i}-02 10:00:00"} for i in range(1, 8)])
        client = tx_app.test_client()
        auth = {"Authorization": f"Bearer {key}"}
        r = client.post("/admin/api/v1/imports/from-woocommerce", headers=auth, json={"plugin": "wc_points_rewards"})
        assert r.status_code == 202, r.get_json()
        view = client.get(f"/admin/api/v1/imports/{r.get_json()['id']}", headers=auth).get_json()
        assert view["state"] == "analyzed" and view["format"] == "wc_points_rewards", view
        assert view["plan"]["members"]["create"] == 7 and view["plan"]["points"]["credited"] == sum(range(41, 48))
        client.post(f"/admin/api/v1/imports/{view['id']}/apply", headers=auth)
        member, bal = rt.members.by_customer(shop.id, "103")
        assert bal.points == 43 and member.email == "member3@example.org"
        with rt.db.transaction() as conn:
            earned = conn.execute(text("select created_at from lots where member_id = :m"), {"m": member.id}).scalar()
        assert earned == datetime(2025, 3, 2, 10, 0, tzinfo=timezone.utc)
        state.loyalty = {}  # the plugin is not there: the import fails, saying why
        r = client.post("/admin/api/v1/imports/from-woocommerce", headers=auth, json={"plugin": "mycred"})
        failed = client.get(f"/admin/api/v1/imports/{r.get_json()['id']}", headers=auth).get_json()
        assert failed["state"] == "failed" and "mycred" in failed["error"]
        assert client.post("/admin/api/v1/imports/from-woocommerce", headers=auth,
                           json={"plugin": "nope"}).status_code == 422
    finally:
        server.shutdown()


def test_analytics_keep_imported_points_apart_from_what_the_program_issued(setup):
    rt, shop, _ = setup
    view = apply(rt, shop, upload(rt, shop, MEMBERS))
    rt.analytics.refresh()
    dash = rt.analytics.dashboard(shop.id, "EUR", NOW.date() - timedelta(days=1), NOW.date())
    assert dash["points"]["issued"] == 40  # the order before the import
    assert dash["points"]["imported"] == 1460 and dash["credit"]["imported"] == "12.5000"
    assert dash["points"]["outstanding"] == 1500
    rt.imports.revert(shop.id, view["id"])
    rt.analytics.refresh()
    dash = rt.analytics.dashboard(shop.id, "EUR", NOW.date() - timedelta(days=1), NOW.date())
    assert dash["points"]["imported"] == 0 and dash["points"]["reversed"] == 0


def test_an_imported_referral_code_attributes_a_new_friend(env):  # noqa: F811
    """A code a member shared from the old app (any case, with its dashes) still brings friends:
    landing, claim and first order credit the member who brought the code."""
    import uuid

    from . import shopify_standin as S
    from .test_referrals import pay, referral

    rt = env.rt
    env.sender.deliver("customers/create", S.customer(100, "jane@example.org"))
    data = ("email,customer_id,name,points_balance,store_credit,tier,birthday,referral_code,locale\n"
            "Jane@Example.org,100,Jane,250,,,,https://shop.example/?ref=JANE-2024,\n")
    view = rt.imports.upload(env.shop.id, "smile.csv", io.BytesIO(data.encode()))
    rt.imports.apply(env.shop.id, view["id"])
    assert rt.imports.view(env.shop.id, view["id"])["report"]["codes"] == 1
    env.sender.deliver("customers/create", S.customer(200, "friend200@example.org"))
    visitor = uuid.uuid4().hex
    landed = env.client.post(env.sf("referrals/landings"), json={"code": "jane-2024", "visitor_id": visitor},
                             environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert landed.status_code == 201, landed.get_json()
    claimed = env.client.post(env.sf("referrals/claim"), json={"visitor_id": visitor},
                              headers={"Authorization": f"Bearer {env.token('200')}"},
                              environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert claimed.status_code == 200, claimed.get_json()
    pay(env, 7101, "200", claimed.get_json()["friend_code"])
    r = referral(env)
    jane = rt.members.by_customer(env.shop.id, "100")[0]
    assert r.referrer_member_id == jane.id and r.order_id == "7101" and r.status == "pending"
    me = env.client.get(env.sf("referrals/me"), headers={"Authorization": f"Bearer {env.token('100')}"}).get_json()
    assert me["code"] == "JANE2024" and me["link"].endswith("?ref=JANE2024")


def test_a_smile_file_of_emails_finds_the_stores_customers_who_are_not_members_yet(tx_app):
    """Smile's import has only e-mails. Customers who never became members are looked up in the
    store (Shopify's Admin API, the stand-in) and become members with their points; an e-mail the
    store does not know is left out and listed."""
    import httpx

    from . import shopify_standin as S

    rt = tx_app.extensions["loyalty"]
    state = S.AdminState()
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    shop, _ = f.shop_and_key(rt, platform="shopify", domain=f._unique("maple") + ".myshopify.com",
                             credentials={"access_token": "shpat_standin"})
    state.add_customer(7300400500600, "Ada@Example.org")
    state.add_customer(7300400500601, "bo@example.org")
    data = "email,points\nada@example.org,120\n BO@example.org ,80\nnobody@example.org,10\n"
    view = upload(rt, shop, data)
    assert view["format"] == "smile_import"
    assert view["plan"]["members"] == {"create": 2, "change": 0, "unchanged": 0, "unmatched": 1}
    assert view["plan"]["left_out"] == {"not_a_customer": 1}
    apply(rt, shop, view)
    assert balance(rt, shop, "7300400500600")[1].points == 120
    assert balance(rt, shop, "7300400500601")[1].points == 80
    assert sum(1 for r in state.requests if "customers(" in r["query"]) == 1  # one query for the batch


def test_our_exports_import_into_another_shop(api):
    """The members and history exports are the layouts the `members` and `history` importers
    read: one shop's export brings the same balances, tiers, birthdays and codes to another."""
    rt, shop, client, auth, _ = api
    a = f.member(rt, shop, "701", email="a@example.com", birthday=date(1990, 4, 9))
    b = f.member(rt, shop, "702", email="b@example.com")
    rt.ledger.earn(shop.id, a.id, Asset.POINTS, 900, key="a1", source=Source.ORDER, reason="order 1")
    rt.ledger.redeem(shop.id, a.id, Asset.POINTS, 100, key="a2", source=Source.CART, reason="reward")
    rt.ledger.earn(shop.id, b.id, Asset.CREDIT, "7.25", key="b1", source=Source.ORDER, reason="cashback")
    rt.referrals.code_for(shop.id, a.id)
    members_csv = client.get("/admin/api/v1/exports/members.csv", headers=auth).get_data()
    history_csv = client.get("/admin/api/v1/exports/history.csv", headers=auth).get_data()
    source = books(rt, shop)

    other, key = f.shop_and_key(rt, tiers=TIERS)
    other_auth = {"Authorization": f"Bearer {key}"}
    r = client.post("/admin/api/v1/imports?filename=members.csv", headers={**other_auth, "Content-Type": "text/csv"},
                    data=members_csv)
    assert r.status_code == 202 and r.get_json()["format"] == "members"
    client.post(f"/admin/api/v1/imports/{r.get_json()['id']}/apply", headers=other_auth)
    entry = lambda bk: {k: (*v[:2], v[2] or "Bronze", *v[3:]) for k, v in bk.items()}  # noqa: E731 (None: the entry tier)
    assert entry(books(rt, other)) == entry(source)

    third, key3 = f.shop_and_key(rt, tiers=TIERS)
    third_auth = {"Authorization": f"Bearer {key3}"}
    r = client.post("/admin/api/v1/imports?filename=history.csv&tiers=keep",
                    headers={**third_auth, "Content-Type": "text/csv"}, data=history_csv)
    assert r.status_code == 202 and r.get_json()["format"] == "history"
    client.post(f"/admin/api/v1/imports/{r.get_json()['id']}/apply", headers=third_auth)
    assert {k: v[:2] for k, v in books(rt, third).items()} == {k: v[:2] for k, v in source.items()}


def test_the_embedded_sqlite_demo_imports_too(tmp_path):
    """The demo's SQLite: a members file and a history file against the seeded demo shop (its
    customers matched by e-mail), dry run equal to the report, undo, books clean."""
    from plugin_app.demo import seed
    from plugin_app.runtime import Runtime
    from plugin_app.storage.migrate import upgrade

    from .conftest import make_settings

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    rt = Runtime(make_settings(url))
    try:
        seeded = seed(rt)
        shop = rt.shops.get(seeded[0])
        with rt.db.transaction() as conn:
            known = conn.execute(text("select email, platform_customer_id from members where shop_id = :s "
                                      "order by id limit 3"), {"s": shop.id}).all()
        before = books(rt, shop)
        data = (MEMBERS.splitlines()[0] + "\n" + "".join(
            f"{email.upper()},,,{500 + i},2.00,Gold,--05-0{i + 1},DEMO_{i}X,\n" for i, (email, _) in enumerate(known))
            + "new@example.com,9999,New,70,,,,,\n")
        view = upload(rt, shop, data)
        assert view["state"] == "analyzed", view["error"]
        assert view["plan"]["members"] == {"create": 1, "change": 3, "unchanged": 0, "unmatched": 0}
        applied = apply(rt, shop, view)
        assert Summary.comparable(applied["report"]) == Summary.comparable(view["plan"])
        after = books(rt, shop)
        assert [after[cid][0] for _, cid in known] == [500, 501, 502] and after["9999"][0] == 70
        tier, birthday, code = after[known[0][1]][2:]
        assert (tier, str(birthday), code) == ("Gold", f"{NO_YEAR}-05-01", "DEMO_0X")  # SQLite reads dates as text
        assert run_audit(rt.db, shop.id).ok
        rt.imports.revert(shop.id, view["id"])
        exact = lambda bk: {k: (v[0], Decimal(v[1]), *v[2:]) for k, v in bk.items()}  # noqa: E731 (SQLite: '0.0')
        restored = exact(books(rt, shop))
        assert {k: v for k, v in restored.items() if k in before} == exact(before)
        assert run_audit(rt.db, shop.id).ok
    finally:
        rt.close()


def test_the_report_is_reconciled_with_the_dry_run(setup):
    """When the books move between the check and the apply, the report says what was done and
    that it differs from the dry run."""
    rt, shop, anna = setup
    view = upload(rt, shop, MEMBERS)
    rt.ledger.earn(shop.id, anna.id, Asset.POINTS, 60, key="order-2", source=Source.ORDER, reason="order 2")
    applied = apply(rt, shop, view)
    assert applied["matches_plan"] is False
    assert applied["report"]["points"]["credited"] == view["plan"]["points"]["credited"] - 60  # 100 -> 300
    assert balance(rt, shop, "9001")[1].points == 300
    same = apply(rt, shop, upload(rt, shop, MEMBERS.replace("300", "310")))
    assert same["matches_plan"] is True
