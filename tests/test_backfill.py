"""History backfill (issue 19): past orders pulled from Shopify's bulk export (a JSONL file,
polled for, read a slice at a time from a byte offset) and WooCommerce's REST pages, recorded
like deliveries record orders: analytics and tiers on spend see them; without points nothing
is posted and a later webhook earns nothing; with points the earning is keyed as a webhook's
would be. Real PostgreSQL, the app's real jobs (eager), the platforms' stand-ins."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import text

from plugin_app import create_app
from plugin_app.services.audit import run_audit

from . import factories as F
from . import shopify_standin as S
from . import woocommerce_standin as W
from .conftest import ENCRYPTION_KEY

FIRST_CUSTOMER = 7300400500600
OTHER = "other-demo.myshopify.com"


def _app(db_url):
    return create_app({"database_url": db_url, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                       "app_url": "https://loyalty.example"})


@pytest.fixture
def shopify(clean_db):
    state = S.AdminState()
    app = _app(clean_db)
    rt = app.extensions["loyalty"]
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    rt.history_poll_seconds = 0
    shop, key = rt.shops.register("shopify", S.DOMAIN, currency="EUR", timezone="UTC",
                                  credentials={"access_token": "shpat_standin", "api_secret": "s"})
    other, other_key = rt.shops.register("shopify", OTHER, currency="EUR", timezone="UTC",
                                         credentials={"access_token": "shpat_standin", "api_secret": "s2"})
    client = app.test_client()
    yield SimpleNamespace(app=app, rt=rt, state=state, shop=shop, key=key, other=other, other_key=other_key,
                          client=client, sender=S.Sender(client, "s"), other_sender=S.Sender(client, "s2", domain=OTHER))
    rt.close()


def history(n: int, *, start: datetime = datetime(2026, 1, 5, 9, tzinfo=timezone.utc), customers: int = 10) -> list[dict]:
    """`n` past Shopify orders, an hour apart, as Shopify keeps them: two mugs at 42.50 with a 5.00
    code discount, 6.99 shipping with 1.40 VAT on it, VAT on the lines; every 25th order had one mug
    refunded, some were cancelled, unpaid, tests, or placed by guests."""
    out = []
    for i in range(n):
        refunded = i % 25 == 3
        oid = 6120345600000 + i
        line = S.line_item(oid * 10, "42.50", 2, discount="5.00", tax="16.00")
        o = S.order(oid, customer_id=None if i % 40 == 5 else FIRST_CUSTOMER + i % customers, lines=[line],
                    financial_status="pending" if i % 50 == 13 else ("partially_refunded" if refunded else "paid"),
                    cancelled=i % 50 == 7, test=i % 50 == 21, shipping="6.99", shipping_tax="1.40",
                    created_at=(start + timedelta(hours=i)).isoformat(),
                    refunds=[S.refund(oid + 7, oid, line_id=oid * 10, quantity=1, subtotal="37.50", tax="8.00")]
                    if refunded else None)
        out.append(o)
    return out


def as_paid(o: dict) -> dict:
    """The order as its orders/paid webhook carried it: before any refund."""
    import copy
    paid = copy.deepcopy(o)
    for li in paid["line_items"]:
        li["current_quantity"] = li["quantity"]
    paid["refunds"] = []
    if paid["financial_status"] == "partially_refunded":
        paid["financial_status"] = "paid"
    return paid


def kinds(orders: list[dict]) -> dict:
    """What the orders should come to, worked out from how they were made (not from the app)."""
    counted = [o for o in orders if o["financial_status"] != "pending" and not o["cancelled_at"] and not o["test"]]
    members = [o for o in counted if o["customer"]]
    spend: dict[str, Decimal] = {}
    for o in members:  # base: lines after discounts, no shipping, no tax; a refunded mug leaves half
        spend[str(o["customer"]["id"])] = spend.get(str(o["customer"]["id"]), Decimal(0)) + \
            (Decimal("40.00") if o["refunds"] else Decimal("80.00"))
    return {"counted": counted, "members": members, "guests": [o for o in counted if not o["customer"]],
            "spend": spend, "skipped": len(orders) - len(counted)}


def count(rt, sql: str, **params) -> int:
    with rt.db.transaction() as conn:
        return conn.execute(text(sql), params).scalar_one()


def spend_tiers(rt, shop, entry_reward: int = 0):
    F.use_program(rt, shop, tiers=F.tiers(("Member", 0), ("Silver", "500.00"), ("Gold", "1500.00"),
                                          basis="money_spent", window="lifetime",
                                          entry_rewards={"Silver": entry_reward, "Gold": entry_reward}))


def expected_tier(spent: Decimal) -> str:
    return "Gold" if spent >= 1500 else "Silver" if spent >= 500 else "Member"


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


# -- Shopify: the bulk export ------------------------------------------------------------------------
def test_shopify_backfill_records_history_without_points(shopify):
    rt, state, shop = shopify.rt, shopify.state, shopify.shop
    spend_tiers(rt, shop, entry_reward=25)
    old = history(12, start=datetime(2025, 6, 1, tzinfo=timezone.utc))  # before `since`: not read
    orders = history(250)
    for o in old + orders:
        state.orders[o["id"]] = o
    rt.backfills.slice_orders = 100  # 250 orders: three slices of the file, resumed by byte offset
    r = shopify.client.post("/admin/api/v1/backfills", json={"since": "2026-01-01"}, headers=auth(shopify.key))
    assert r.status_code == 202, r.get_json()
    out = shopify.client.get(f"/admin/api/v1/backfills/{r.get_json()['id']}", headers=auth(shopify.key)).get_json()
    want = kinds(orders)
    assert out["state"] == "done" and out["phase"] == "done" and out["error"] is None
    assert out["orders_seen"] == 250
    assert out["orders_recorded"] == len(want["counted"]) and out["orders_skipped"] == want["skipped"]
    assert out["members_created"] == 10 and out["members_reevaluated"] == 10 and out["points_awarded"] == 0
    assert out["cursor"]["op"].startswith("gid://shopify/BulkOperation/")
    assert "googleapis" not in str(out)  # the signed address of the shop's orders is never shown
    # The export: polled from CREATED through RUNNING to COMPLETED, grouped, then read in three
    # parts, the second and third from where the one before stopped.
    assert "groupObjects: true" in next(q["query"] for q in state.requests if "bulkOperationRunQuery" in q["query"])
    assert state.bulk_downloads[0] is None and all(rng.startswith("bytes=") for rng in state.bulk_downloads[1:])
    assert len(state.bulk_downloads) == 3
    # Recorded, earning nothing: no ledger entry at all, no e-mail or webhook event for anyone.
    assert count(rt, "select count(*) from ledger_entries where shop_id = :s", s=shop.id) == 0
    assert count(rt, "select count(*) from events where shop_id = :s", s=shop.id) == 0
    assert count(rt, "select count(*) from orders where shop_id = :s and history_only and points = 0 "
                     "and credit = 0 and not earned", s=shop.id) == len(want["counted"])
    # Analytics: every counted order in the figures, at net sales (lines 80.00 + shipping 6.99).
    dash = rt.analytics.dashboard(shop.id, "EUR", date(2026, 1, 1), date(2026, 12, 31))
    assert dash["orders"]["members"]["orders"] == len(want["members"])
    assert Decimal(dash["orders"]["members"]["revenue"]["amount"]) == Decimal("86.99") * len(want["members"])
    assert dash["orders"]["non_members"]["orders"] == len(want["guests"])
    assert dash["orders"]["members"]["new_customers"] == 10  # the rest came back
    # Tiers on spend: settled once at the end, from the kept base of each member's orders.
    for customer, spent in want["spend"].items():
        member = rt.members.by_customer(shop.id, customer)[0]
        assert member.tier == expected_tier(spent), (customer, spent)
    assert {expected_tier(v) for v in want["spend"].values()} >= {"Gold"}  # the test can tell tiers apart
    assert rt.members.by_customer(shop.id, str(FIRST_CUSTOMER))[0].email == "ada@example.org"  # from the order
    assert run_audit(rt.db, shop.id).ok


def test_live_webhooks_after_a_backfill_without_points_neither_earn_nor_confuse(shopify):
    rt, state, shop, sender = shopify.rt, shopify.state, shopify.shop, shopify.sender
    spend_tiers(rt, shop)
    orders = history(30, customers=2)
    for o in orders:
        state.orders[o["id"]] = o
    # An order placed since the app was installed whose webhook is still on its way: the live path's.
    late = S.order(6128888888888, customer_id=FIRST_CUSTOMER + 1,
                   created_at=(datetime.now(timezone.utc) + timedelta(seconds=5)).isoformat())
    state.orders[late["id"]] = late
    out = rt.backfills.start(shop.id, date(2026, 1, 1))
    assert rt.backfills.status(shop.id, out["id"])["orders_skipped"] == kinds(orders)["skipped"] + 1
    assert sender.deliver("orders/paid", late).status_code == 200
    assert rt.members.by_customer(shop.id, str(FIRST_CUSTOMER + 1))[1].points == 80
    customer = str(FIRST_CUSTOMER)
    before = rt.tiers.qualifying_value
    paid = [o for o in orders if o["customer"] and o["customer"]["id"] == FIRST_CUSTOMER
            and o["financial_status"] == "paid" and not o["cancelled_at"] and not o["test"]]
    with rt.db.transaction() as conn:
        member_id = rt.members.by_customer(shop.id, customer)[0].id
        spent = before(conn, rt.programs.current(shop.id).program, shop.id, member_id, rt.clock.now())
    # The platform sends orders/paid and orders/updated for an old order (a tag added): nothing earned.
    for topic in ("orders/paid", "orders/updated"):
        assert sender.deliver(topic, {**paid[0], "updated_at": "2026-11-30T10:00:00Z"}).status_code == 200
    assert count(rt, "select count(*) from ledger_entries where shop_id = :s and member_id = :m",
                 s=shop.id, m=member_id) == 0
    assert rt.members.by_customer(shop.id, customer)[1].points == 0
    # A refund of an old order moves only its kept share of the spend; a cancellation takes it out.
    assert sender.deliver("refunds/create", S.refund(555, paid[0]["id"], line_id=paid[0]["line_items"][0]["id"],
                                                     quantity=1)).status_code == 200
    assert sender.deliver("orders/cancelled", {**paid[1], "cancelled_at": "2026-11-30T11:00:00Z",
                                               "updated_at": "2026-11-30T11:00:00Z"}).status_code == 200
    with rt.db.transaction() as conn:
        after = before(conn, rt.programs.current(shop.id).program, shop.id, member_id, rt.clock.now())
    assert after == spent - Decimal("40.00") - Decimal("80.00")
    assert count(rt, "select count(*) from ledger_entries where shop_id = :s and member_id = :m",
                 s=shop.id, m=member_id) == 0
    assert count(rt, "select count(*) from orders where shop_id = :s and counted and history_only", s=shop.id) == \
        len(kinds(orders)["counted"]) - 1
    # A new order after the backfill earns as usual.
    new = S.order(6129999999999, customer_id=FIRST_CUSTOMER, created_at="2026-11-30T12:00:00+00:00")
    assert sender.deliver("orders/paid", new).status_code == 200
    assert rt.members.by_customer(shop.id, customer)[1].points == 80


def test_award_points_earns_what_webhooks_would_and_a_replay_changes_nothing(shopify):
    rt, state, shop, other = shopify.rt, shopify.state, shopify.shop, shopify.other
    for s in (shop, other):  # tiers off: earning in order, not the tier of the moment, is compared
        F.use_program(rt, s, tiers=F.tiers(enabled=False))
    orders = history(60, customers=4)
    for o in orders:
        state.orders[o["id"]] = o
    out = rt.backfills.start(shop.id, date(2026, 1, 1), award_points=True)
    out = rt.backfills.status(shop.id, out["id"])
    want = kinds(orders)
    assert out["state"] == "done" and out["orders_recorded"] == len(want["counted"])
    # The same orders as webhooks to another shop: paid when placed, refunds later.
    for o in orders:
        shopify.other_sender.deliver("orders/paid", as_paid(o))
    for o in orders:
        for r in o["refunds"]:
            shopify.other_sender.deliver("refunds/create", r)
    for k in range(4):
        customer = str(FIRST_CUSTOMER + k)
        ours, theirs = rt.members.by_customer(shop.id, customer)[1], rt.members.by_customer(other.id, customer)[1]
        assert ours.points == theirs.points
        assert ours.points == sum(40 if o["refunds"] else 80 for o in want["members"]
                                  if o["customer"]["id"] == FIRST_CUSTOMER + k)
    assert out["points_awarded"] == sum(80 for _ in want["members"])
    entries = count(rt, "select count(*) from ledger_entries where shop_id = :s", s=shop.id)
    assert count(rt, "select count(*) from events where shop_id = :s", s=shop.id) == 0  # nobody told
    # Webhooks for the same orders arrive afterwards (a replay): nothing changes.
    for o in orders:
        shopify.sender.deliver("orders/paid", as_paid(o))
        for r in o["refunds"]:
            shopify.sender.deliver("refunds/create", r)
    assert count(rt, "select count(*) from ledger_entries where shop_id = :s", s=shop.id) == entries
    for k in range(4):
        customer = str(FIRST_CUSTOMER + k)
        assert rt.members.by_customer(shop.id, customer)[1].points == rt.members.by_customer(other.id, customer)[1].points
    # Earned at the orders' dates: tier windows count the points then.
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from ledger_entries where shop_id = :s and kind = 'earn' "
                                 "and occurred_at < '2026-02-01'"), {"s": shop.id}).scalar_one() > 0
    assert run_audit(rt.db).ok


def test_a_slice_that_fails_leaves_nothing_and_the_backfill_resumes_to_the_same_state(shopify):
    rt, state, shop, other = shopify.rt, shopify.state, shopify.shop, shopify.other
    for s in (shop, other):
        spend_tiers(rt, s)
    orders = history(250)
    for o in orders:
        state.orders[o["id"]] = o
    rt.backfills.slice_orders = 100
    hits = []

    def crash(name):  # the second slice dies after its 30th order
        hits.append(name)
        if len(hits) == 130:
            raise RuntimeError("worker lost its database connection")

    rt.backfills.failpoint = crash
    out = rt.backfills.start(shop.id, date(2026, 1, 1))
    out = rt.backfills.status(shop.id, out["id"])
    assert out["state"] == "failed" and "RuntimeError" in out["error"]
    # The first part of the file only: the second rolled back whole, the cursor where it began.
    assert out["orders_seen"] == 100 and out["cursor"]["offset"] > 0
    assert count(rt, "select count(*) from orders where shop_id = :s", s=shop.id) == \
        len([o for o in kinds(orders[:100])["counted"]])
    rt.backfills.failpoint = lambda name: None
    # A worker that died outright leaves the backfill running: the periodic pass takes it up.
    with rt.db.transaction() as conn:
        conn.execute(text("update backfills set state = 'running', updated_at = now() - interval '1 hour' "
                          "where id = :b"), {"b": out["id"]})
    assert rt.backfills.resume_stale() == 1
    done = rt.backfills.status(shop.id, out["id"])
    assert done["state"] == "done" and done["orders_seen"] == 250
    # The same as a backfill that never failed (the other shop, same orders).
    clean = rt.backfills.start(other.id, date(2026, 1, 1))
    clean = rt.backfills.status(other.id, clean["id"])
    for key in ("orders_seen", "orders_recorded", "orders_skipped", "members_created", "members_reevaluated"):
        assert done[key] == clean[key], key

    def figures(shop_id):
        with rt.db.transaction() as conn:
            return (conn.execute(text("select count(*), sum(base), sum(total) from orders where shop_id = :s"),
                                 {"s": shop_id}).one(),
                    conn.execute(text("select sum(orders), sum(revenue), sum(returning_orders) from stats_orders "
                                      "where shop_id = :s"), {"s": shop_id}).one(),
                    sorted(conn.execute(text("select platform_customer_id, tier from members where shop_id = :s"),
                                        {"s": shop_id}).all()))
    assert figures(shop.id) == figures(other.id)
    # Running it again over the same period records nothing twice.
    again = rt.backfills.start(shop.id, date(2026, 1, 1))
    again = rt.backfills.status(shop.id, again["id"])
    assert again["orders_recorded"] == 0 and again["members_created"] == 0
    assert figures(shop.id) == figures(other.id)


def test_a_failed_export_or_an_expired_file_fails_visibly_and_throttling_waits(shopify):
    rt, state, shop = shopify.rt, shopify.state, shopify.shop
    for o in history(5):
        state.orders[o["id"]] = o
    state.bulk_faults = [503]  # the file's server fails once: the slice waits, nothing is lost
    out = rt.backfills.start(shop.id, date(2026, 1, 1))
    row = rt.backfills.status(shop.id, out["id"])
    assert row["state"] == "running" and row["note"].startswith("waiting: Retryable")
    rt.backfills.step(shop.id, out["id"])  # what the periodic pass does later
    row = rt.backfills.status(shop.id, out["id"])
    assert row["state"] == "done" and row["orders_seen"] == 5 and row["error"] is None
    # An operation Shopify reports FAILED: the backfill fails and says why.
    state.bulk_outcome = "FAILED"
    out = rt.backfills.start(shop.id, date(2026, 1, 1))
    row = rt.backfills.status(shop.id, out["id"])
    assert row["state"] == "failed" and "FAILED (TIMEOUT)" in row["error"]
    # Shopify busy with other exports (OPERATION_IN_PROGRESS): wait, then start it.
    state.bulk_outcome = "COMPLETED"
    first = next(iter(state.bulk_ops.values()))
    state.bulk_ops.update({f"gid://shopify/BulkOperation/{90 + i}": {**first, "status": "RUNNING"} for i in range(5)})
    out = rt.backfills.start(shop.id, date(2026, 1, 1))
    row = rt.backfills.status(shop.id, out["id"])
    assert row["state"] == "running" and "already in progress" in row["note"]
    for op in state.bulk_ops.values():
        op["status"] = "COMPLETED"
    rt.backfills.step(shop.id, out["id"])
    assert rt.backfills.status(shop.id, out["id"])["state"] == "done"


def test_the_reader_needs_grouped_children(shopify):
    """Ungrouped (2026-01's default) children come after every order: reading an order at a time
    would attach them wrongly, so the reader refuses instead of guessing."""
    from connectors.shopify.admin import Terminal

    rt, state, shop = shopify.rt, shopify.state, shopify.shop
    for o in history(3):
        state.orders[o["id"]] = o
    op, _ = state.bulk_run("{ orders { edges { node { id } } } }", group=False)
    for _ in range(state.bulk_polls + 1):
        polled = state.bulk_poll(op["id"])
    admin = rt.shopify_admin_for(shop.id)
    with pytest.raises(Terminal):
        list(admin.bulk_orders(polled["url"]))
    op, _ = state.bulk_run("{ orders { edges { node { id } } } }", group=True)
    for _ in range(state.bulk_polls + 1):
        polled = state.bulk_poll(op["id"])
    got = list(admin.bulk_orders(polled["url"]))
    assert [len(o["lineItems"]["nodes"]) for o, _ in got] == [1, 1, 1]
    assert [len(o["shippingLines"]["nodes"]) for o, _ in got] == [1, 1, 1]
    assert got[-1][1] == -1 and got[1][0]["legacyResourceId"] == str(list(state.orders)[1])
    # From the second order's offset, the rest (Range).
    rest = list(admin.bulk_orders(polled["url"], got[0][1]))
    assert [o["id"] for o, _ in rest] == [o["id"] for o, _ in got[1:]]


# -- the merchant API -------------------------------------------------------------------------------
def test_api_validation_isolation_and_openapi(shopify):
    c, key, other_key = shopify.client, shopify.key, shopify.other_key
    for body in ({"since": "2026-13-01"}, {"since": 20260101}, {"award_points": "yes"}, {"since": "2026-01-01", "x": 1},
                 {"since": (date.today() + timedelta(days=30)).isoformat()}):
        r = c.post("/admin/api/v1/backfills", json=body, headers=auth(key))
        assert r.status_code == 422, (body, r.get_json())
        assert set(r.get_json()["error"]) >= {"code", "message"}
    assert c.post("/admin/api/v1/backfills", data="nope", headers=auth(key)).status_code == 400
    assert c.post("/admin/api/v1/backfills", json={}).status_code == 401
    for o in history(3):
        shopify.state.orders[o["id"]] = o
    r = c.post("/admin/api/v1/backfills", json={}, headers=auth(key))
    assert r.status_code == 202
    bid = r.get_json()["id"]
    assert c.get(f"/admin/api/v1/backfills/{bid}", headers=auth(key)).get_json()["orders_seen"] == 3
    # Another shop neither sees it nor gets its orders.
    r = c.get(f"/admin/api/v1/backfills/{bid}", headers=auth(other_key))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert c.post(f"/admin/api/v1/backfills/{bid}/resume", headers=auth(other_key)).status_code == 404
    assert count(shopify.rt, "select count(*) from orders where shop_id = :s", s=shopify.other.id) == 0
    assert c.get("/admin/api/v1/backfills/99999999", headers=auth(key)).status_code == 404
    assert c.post(f"/admin/api/v1/backfills/{bid}/resume", headers=auth(key)).status_code == 409  # done
    with shopify.rt.db.transaction() as conn:  # one running at a time per shop
        conn.execute(text("update backfills set state = 'running' where id = :b"), {"b": bid})
    r = c.post("/admin/api/v1/backfills", json={}, headers=auth(key))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "invalid_state"
    assert c.post("/admin/api/v1/backfills", json={}, headers=auth(other_key)).status_code == 202
    paths = c.get("/openapi.json").get_json()["paths"]
    assert "post" in paths["/admin/api/v1/backfills"]
    assert any(p.startswith("/admin/api/v1/backfills/{") for p in paths)


# -- WooCommerce: REST pages ---------------------------------------------------------------------------
@pytest.fixture
def woo(clean_db):
    state = W.WooState()
    server, url = W.serve(state)
    app = _app(clean_db)
    rt = app.extensions["loyalty"]
    out = rt.connect_woocommerce(url, "ck_standin", "cs_standin")
    yield SimpleNamespace(app=app, rt=rt, state=state, shop_id=out["shop_id"], client=app.test_client(),
                          sender=W.Sender(app.test_client(), out["shop_id"], out["webhook_secret"]))
    rt.close()
    server.shutdown()


def test_woocommerce_backfill_pages_through_orders(woo):
    rt, state, shop_id = woo.rt, woo.state, woo.shop_id
    shop = rt.shops.get(shop_id)
    spend_tiers(rt, shop)
    start = datetime(2026, 2, 1, 8)
    made = []
    for i in range(260):
        status = "cancelled" if i % 30 == 7 else "pending" if i % 30 == 11 else "completed" if i % 2 else "processing"
        o = W.order(4000 + i, status, customer_id=0 if i % 40 == 9 else 20 + i % 6,
                    lines=((101, 2, "50.00"),), coupons=("SPRING",), shipping="4.90",
                    created=(start + timedelta(hours=i)).isoformat(), modified="2026-11-20T10:00:00",
                    billing={"first_name": "Zoë", "last_name": "Rossi", "email": f"zoe{i % 6}@example.org"})
        if i % 20 == 4 and status in ("processing", "completed"):  # one mug refunded, lines at orders/<id>/refunds
            o = W.with_refund(o, W.refund_of(o, 9000 + i, lines=[(101, 1)]), store=state)
        state.place(o)
        made.append(o)
    for i in range(5):  # older than `since`
        state.place(W.order(3000 + i, created=f"2026-01-{10 + i}T10:00:00"))
    out = rt.backfills.start(shop_id, date(2026, 2, 1))
    out = rt.backfills.status(shop_id, out["id"])
    counted = [o for o in made if o["status"] in ("processing", "completed")]
    assert state.order_pages == [1, 2, 3]  # 260 orders, 100 a page, oldest id first
    assert out["state"] == "done" and out["orders_seen"] == 260 and out["orders_recorded"] == len(counted)
    assert out["members_created"] == 6 and out["cursor"] == {"page": 4}
    assert count(rt, "select count(*) from ledger_entries where shop_id = :s", s=shop_id) == 0
    assert count(rt, "select count(*) from orders where shop_id = :s and platform_order_id like '30%'", s=shop_id) == 0
    spend: dict[str, Decimal] = {}
    for o in counted:
        if o["customer_id"]:
            kept = Decimal("75.00") if o["refunds"] else Decimal("95.00")  # 100.00 less the 5.00 coupon
            spend[str(o["customer_id"])] = spend.get(str(o["customer_id"]), Decimal(0)) + kept
    for customer, spent in spend.items():
        assert rt.members.by_customer(shop_id, customer)[0].tier == expected_tier(spent)
    dash = rt.analytics.dashboard(shop_id, "EUR", date(2026, 1, 1), date(2026, 12, 31))
    assert dash["orders"]["members"]["orders"] + dash["orders"]["non_members"]["orders"] == len(counted)
    # The store's later webhook for a backfilled order earns nothing.
    woo.sender.deliver("order.updated", {**counted[0], "date_modified_gmt": "2026-11-30T10:00:00"})
    assert count(rt, "select count(*) from ledger_entries where shop_id = :s", s=shop_id) == 0


# -- RQ: slices as jobs, taken up by another host's worker ----------------------------------------
def test_rq_slices_survive_a_lost_worker_and_another_host_finishes(clean_db, clock, redis_url):
    """Each slice is its own RQ job. Host A's worker runs two of them and dies; Redis loses the
    job it had enqueued next. The periodic pass on host B (a different runtime, same database and
    Redis) finds the backfill stale, and B's worker takes it from the stored cursor to the end."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    from plugin_app.jobs import context
    from plugin_app.jobs.queues import QUEUE_NAME
    from plugin_app.runtime import Runtime

    from .conftest import make_settings

    state = S.AdminState()
    hosts = []
    for _ in range(2):
        rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=redis_url), clock=clock)
        rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
        rt.history_poll_seconds = 0
        hosts.append(rt)
    a, b = hosts
    shop, _ = a.shops.register("shopify", S.DOMAIN, credentials={"access_token": "shpat_standin", "api_secret": "s"})
    spend_tiers(a, shop)
    orders = history(250)
    for o in orders:
        state.orders[o["id"]] = o
    for rt in hosts:
        rt.backfills.slice_orders = 100
    redis = Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=redis)
    backfill_id = a.backfills.start(shop.id, date(2026, 1, 1))["id"]
    context.install(a)
    SimpleWorker([queue], connection=redis).work(burst=True, max_jobs=4)  # start, two polls, first part
    row = a.backfills.status(shop.id, backfill_id)
    assert row["state"] == "running" and row["orders_seen"] == 100
    redis.flushdb()  # host A dies, and its next job is lost with Redis
    assert b.backfills.resume_stale() == 0  # not stale yet: its worker may be slow
    clock.advance(minutes=20)
    context.install(b)
    assert b.backfills.resume_stale() == 1
    SimpleWorker([queue], connection=redis).work(burst=True)
    done = b.backfills.status(shop.id, backfill_id)
    want = kinds(orders)
    assert done["state"] == "done" and done["orders_seen"] == 250 and done["orders_recorded"] == len(want["counted"])
    assert count(b, "select count(*) from orders where shop_id = :s", s=shop.id) == len(want["counted"])
    for customer, spent in want["spend"].items():
        assert b.members.by_customer(shop.id, customer)[0].tier == expected_tier(spent)
    assert len([q for q in state.requests if "bulkOperationRunQuery" in q["query"]]) == 1  # one export
    context.install(None)
    for rt in hosts:
        rt.close()


def test_cli_runs_a_backfill_to_the_end_and_refuses_bad_input(woo, clean_db):
    import json

    from click.testing import CliRunner

    from plugin_app.cli import main

    for i in range(120):
        woo.state.place(W.order(7000 + i, "completed", customer_id=30 + i % 3,
                                created=(datetime(2026, 3, 1) + timedelta(hours=i)).isoformat()))
    env = {"DATABASE_URL": clean_db, "LOYALTY_ENCRYPTION_KEY": ENCRYPTION_KEY, "LOG_LEVEL": "ERROR", "REDIS_URL": ""}
    r = CliRunner().invoke(main, ["backfill", "--shop", str(woo.shop_id), "--since", "2026-03-01"], env=env)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["state"] == "done" and out["orders_recorded"] == 120 and out["members_created"] == 3
    assert woo.state.order_pages == [1, 2]
    bad = CliRunner().invoke(main, ["backfill", "--shop", str(woo.shop_id), "--since", "March"], env=env)
    assert bad.exit_code != 0 and "since" in bad.output.lower()
    nobody = CliRunner().invoke(main, ["backfill", "--shop", "999"], env=env)
    assert nobody.exit_code != 0
