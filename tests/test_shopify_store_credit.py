"""Cashback paid as Shopify's native store credit (`cashback.payout = "shopify_store_credit"`):
the ledger is the record, the customer's Shopify store credit account (the stand-in, through the
SDK) mirrors it after each commit; duplicates never pay twice, a call whose answer was lost is
resolved by reading the account, and the reconciliation job repairs and compares."""
import random
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from plugin_app import create_app
from plugin_app.services.audit import run_audit
from plugin_app.services.program import ProgramInvalid

from . import shopify_standin as S
from .conftest import ENCRYPTION_KEY, make_settings

SECRET = "shpss_store_credit"
CUSTOMER = 7300400500600
NATIVE = {"cashback": {"enabled": True, "rate": 5, "pending_days": 0, "expiry_days": 180,
                       "payout": "shopify_store_credit"}, "pending": {"orders_days": 0}}


@pytest.fixture
def app(clean_db):
    state = S.AdminState()
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example"})
    rt = app.extensions["loyalty"]
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    app.standin = state
    yield app
    rt.close()


def shopify_shop(rt, domain=S.DOMAIN, program=NATIVE):
    shop, _ = rt.shops.register("shopify", domain, currency="EUR",
                                credentials={"access_token": "shpat_standin", "api_secret": SECRET})
    rt.programs.put(shop.id, program, author="test")
    return shop


def ours(rt, shop, customer=CUSTOMER) -> Decimal:
    return rt.members.by_customer(shop.id, str(customer))[1].credit.amount


def mirror_rows(rt, shop) -> list:
    with rt.db.transaction() as conn:
        return conn.execute(text("select * from store_credit_mirror where shop_id = :s order by id"),
                            {"s": shop.id}).all()


def mutations(state) -> list[dict]:
    return [r for r in state.requests if "storeCreditAccountCredit" in r["query"] or "storeCreditAccountDebit" in r["query"]]


# Orders as Shopify sends them: VAT on lines and shipping, a code's discount allocated to lines,
# an order discount no line carries, partial refunds of a line and of shipping, a cancellation.
O1, O2, O3 = 6120345678901, 6120345678902, 6120345678903
O1_LINES = [S.line_item(1001, "42.50", 2, discount="5.00", tax="16.00"),
            S.line_item(1002, "15.00", 1, discount="1.00", tax="2.80", title="Trail Socks")]
O2_LINES = [S.line_item(2001, "20.00", 3, tax="12.00")]
R801 = S.refund(801, O1, line_id=1001, subtotal="40.00", tax="8.00")
R802 = S.refund(802, O2, line_id=2001, quantity=1, subtotal="18.00", tax="4.00", shipping="6.99", shipping_tax="1.40")
T0, T1, T2, T3 = ("2026-03-14T10:22:05-04:00", "2026-03-14T10:25:00-04:00",
                  "2026-03-15T09:00:00-04:00", "2026-03-20T09:10:11-04:00")


def scenario() -> list[tuple[str, dict]]:
    return [
        ("customers/create", S.customer()),
        ("orders/create", S.order(O1, lines=O1_LINES, shipping_tax="1.40", financial_status="pending", updated_at=T0)),
        ("orders/paid", S.order(O1, lines=O1_LINES, shipping_tax="1.40", updated_at=T1)),
        ("refunds/create", R801),
        ("orders/updated", S.order(O1, lines=O1_LINES, shipping_tax="1.40", financial_status="partially_refunded",
                                   refunds=[R801], updated_at=T3)),
        ("orders/paid", S.order(O2, lines=O2_LINES, unallocated_discount="6.00", shipping_tax="1.40", updated_at=T1)),
        ("refunds/create", R802),
        ("orders/updated", S.order(O2, lines=O2_LINES, unallocated_discount="6.00", shipping_tax="1.40",
                                   financial_status="partially_refunded", refunds=[R802], updated_at=T3)),
        ("orders/paid", S.order(O3, lines=[S.line_item(3001, "10.00", 5)], updated_at=T1)),
        ("orders/cancelled", S.order(O3, lines=[S.line_item(3001, "10.00", 5)], financial_status="voided",
                                     cancelled=True, updated_at=T2)),
    ]


def test_vested_cashback_lands_on_the_shopify_account_with_its_expiry_and_a_refund_debits_it(app):
    rt, state = app.extensions["loyalty"], app.standin
    shop = shopify_shop(rt, program={**NATIVE, "cashback": {**NATIVE["cashback"], "pending_days": 14}})
    sender = S.Sender(app.test_client(), SECRET)
    assert sender.deliver("customers/create", S.customer()).status_code == 200
    assert sender.deliver("orders/paid", S.order(O1, lines=O1_LINES, shipping_tax="1.40")).status_code == 200
    _, bal = rt.members.by_customer(shop.id, str(CUSTOMER))
    # 5% of the order's base (85.00 - 5.00 + 15.00 - 1.00 = 94.00; shipping and VAT not counted)
    assert bal.pending_credit.amount == Decimal("4.70") and bal.credit.amount == 0
    assert rt.store_credit.run() == 0 and mutations(state) == []  # pending: nothing on Shopify yet

    with rt.db.transaction() as conn:  # the pending period ends
        conn.execute(text("update lots set available_at = now() - interval '1 second' where pending"))
        lot_expiry = conn.execute(text("select expires_at from lots where asset = 'credit'")).scalar_one()
    assert rt.ledger.vest_due() == 1
    assert rt.store_credit.run() == 1
    assert state.store_credit_balance(CUSTOMER) == ours(rt, shop) == Decimal("4.70")
    [credit] = state.store_credit_transactions(CUSTOMER)
    assert credit["type"] == "credit" and credit["amount"] == Decimal("4.70")
    assert abs((credit["expires_at"] - lot_expiry).total_seconds()) < 1  # the lot's expiry, to the second
    assert lot_expiry > datetime.now(timezone.utc) + timedelta(days=179)

    # A refund of one mug (40.00 of the base): 2.00 of the credit is taken back on both sides.
    assert sender.deliver("refunds/create", R801).status_code == 200
    assert ours(rt, shop) == Decimal("2.70")
    assert rt.store_credit.run() == 1
    assert state.store_credit_balance(CUSTOMER) == Decimal("2.70")
    assert [t["type"] for t in state.store_credit_transactions(CUSTOMER)] == ["credit", "debit"]
    # The same refund again, and the job again: nothing more on either side.
    assert sender.deliver("refunds/create", R801).status_code == 200
    assert rt.store_credit.run() == 0 and len(mutations(state)) == 2
    assert [r.state for r in mirror_rows(rt, shop)] == ["done", "done"]
    assert rt.store_credit.reconcile() == 1
    assert rt.store_credit.overview(shop.id)["differences"] == []
    assert run_audit(rt.db).ok


def test_a_lost_answer_is_resolved_by_reading_and_a_dropped_call_is_repaired_by_the_job(app):
    rt, state = app.extensions["loyalty"], app.standin
    shop = shopify_shop(rt)
    sender = S.Sender(app.test_client(), SECRET)
    sender.deliver("customers/create", S.customer())
    sender.deliver("orders/paid", S.order(O1, lines=O1_LINES, shipping_tax="1.40"))
    assert ours(rt, shop) == Decimal("4.70")

    state.store_credit_faults = ["lost"]  # Shopify applies the credit; its answer never arrives
    assert rt.store_credit.run() == 0
    [row] = mirror_rows(rt, shop)
    assert row.state == "pending" and row.attempts == 1 and "outcome unknown" in row.last_error
    assert state.store_credit_balance(CUSTOMER) == Decimal("4.70")  # it did land

    # A second order's credit is dropped before it reaches Shopify.
    sender.deliver("orders/paid", S.order(O2, lines=O2_LINES, unallocated_discount="6.00", shipping_tax="1.40"))
    rt.store_credit.run()  # the first row is still in its backoff: the member's queue waits behind it
    assert [r.state for r in mirror_rows(rt, shop)] == ["pending", "pending"] and len(mutations(state)) == 1

    # The reconciliation job: the lost one is found on the account (no second credit); the next
    # call is dropped on its way (Shopify never sees it)...
    state.store_credit_faults = ["drop"]
    rt.store_credit.reconcile()
    assert [r.state for r in mirror_rows(rt, shop)] == ["done", "pending"]
    assert state.store_credit_balance(CUSTOMER) == Decimal("4.70")
    [check] = rt.store_credit.overview(shop.id)["differences"]  # shown while it is owed
    assert check["difference"] == "-2.7000" and check["unsettled"] == 1
    # ...and the job's next run sends it: the two sides agree, no difference is left.
    assert rt.store_credit.reconcile() == 1
    rows = mirror_rows(rt, shop)
    assert [r.state for r in rows] == ["done", "done"] and all(r.shopify_txn_id for r in rows)
    credits = [t for t in state.store_credit_transactions(CUSTOMER) if t["type"] == "credit"]
    assert [c["amount"] for c in credits] == [Decimal("4.70"), Decimal("2.70")]  # 54.00 x 5%
    assert state.store_credit_balance(CUSTOMER) == ours(rt, shop) == Decimal("7.40")
    assert rt.store_credit.overview(shop.id)["differences"] == []

    # The shopper pays 3.00 with store credit at Shopify's checkout: the job records the spend in
    # the ledger (once, however often it runs) and does not mirror it back.
    spend = state.checkout_spend(CUSTOMER, "3.00")
    rt.store_credit.reconcile()
    rt.store_credit.reconcile()
    assert ours(rt, shop) == state.store_credit_balance(CUSTOMER) == Decimal("4.40")
    assert rt.store_credit.overview(shop.id)["differences"] == [] and len(mutations(state)) == 3
    [entry] = [e for e in rt.ledger.entries(shop.id, rt.members.by_customer(shop.id, str(CUSTOMER))[0].id)
               if e.kind == "redeem"]
    assert entry.idempotency_key == f"shopify-sc:{spend['id']}" and entry.reason == "Spent at the Shopify checkout"
    # The order paid with it is refunded: Shopify reverts the debit, the ledger gives it back.
    state.checkout_revert(spend)
    rt.store_credit.reconcile()
    assert ours(rt, shop) == state.store_credit_balance(CUSTOMER) == Decimal("7.40")
    assert len(mutations(state)) == 3 and rt.store_credit.overview(shop.id)["differences"] == []

    # A change made by hand in Shopify's admin is not ours to undo: it is shown, not "repaired".
    state.store_credit_post(f"gid://shopify/Customer/{CUSTOMER}", False, "3.00", "EUR", None)
    rt.store_credit.reconcile()
    [diff] = rt.store_credit.overview(shop.id)["differences"]
    assert (diff["ours"], diff["theirs"], diff["difference"]) == ("7.4000", "4.4000", "-3.0000")
    assert run_audit(rt.db).ok


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_storm_of_duplicated_shuffled_deliveries_and_flaky_calls_ends_with_both_sides_equal(app, seed):
    rt, state = app.extensions["loyalty"], app.standin
    rng = random.Random(seed)
    # The in-order replay keeps its cashback in the ledger (the same amounts; the stand-in is one
    # Shopify shop, so only the storm's shop mirrors to it).
    expected_shop = shopify_shop(rt, "in-order.myshopify.com", program={**NATIVE, "cashback": {
        **NATIVE["cashback"], "payout": "ledger"}})
    ordered = S.Sender(app.test_client(), SECRET, domain="in-order.myshopify.com")
    for topic, payload in scenario():
        ordered.deliver(topic, payload)
    expected = ours(rt, expected_shop)
    assert expected > 0

    shop = shopify_shop(rt, f"storm-{seed}.myshopify.com")
    sender = S.Sender(app.test_client(), SECRET, domain=f"storm-{seed}.myshopify.com")
    storm = []
    for topic, payload in scenario():
        wid, eid = str(uuid.uuid4()), str(uuid.uuid4())
        storm += [(topic, payload, wid if n % 2 == 0 else str(uuid.uuid4()), eid) for n in range(rng.randint(1, 4))]
    rng.shuffle(storm)
    for topic, payload, wid, eid in storm:
        assert sender.deliver(topic, payload, webhook_id=wid, event_id=eid).status_code == 200
        if rng.random() < 0.4:
            state.store_credit_faults = [rng.choice(["lost", "drop", None])]
            rt.store_credit.mirror(shop.id)
            state.store_credit_faults = []
    assert ours(rt, shop) == expected
    for _ in range(3):  # the job runs hourly; a run may meet a row whose lease has not run out
        rt.store_credit.reconcile()
    rows = [r for r in mirror_rows(rt, shop)]
    assert rows and {r.state for r in rows} == {"done"}
    assert state.store_credit_balance(CUSTOMER) == expected
    applied = {r.shopify_txn_id for r in rows}
    assert len(applied) == len(rows)  # one Shopify transaction per mirrored entry, never two
    net = sum((r.amount if r.direction == "credit" else -r.amount) for r in rows)
    assert net == expected
    assert rt.store_credit.overview(shop.id)["differences"] == []
    assert run_audit(rt.db).ok


def test_woocommerce_refuses_the_choice_and_default_programs_mirror_nothing(app):
    rt, state = app.extensions["loyalty"], app.standin
    woo, _ = rt.shops.register("woocommerce", "https://woo.example", currency="EUR",
                               credentials={"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "w"})
    with pytest.raises(ProgramInvalid) as refused:
        rt.programs.put(woo.id, NATIVE, author="test")
    assert refused.value.fields[0]["field"] == "cashback.payout"
    assert rt.programs.current(woo.id).program.cashback.payout == "ledger"
    member, _ = rt.members.enrol(woo.id, "55", email="w@example.org")
    rt.ledger.earn(woo.id, member.id, "credit", Decimal("3.00"), key="w-1", source="admin", reason="test")

    # A Shopify shop on the default program (cashback kept in our ledger): nothing goes to Shopify.
    default = shopify_shop(rt, program={"cashback": {"enabled": True}, "pending": {"orders_days": 0}})
    assert rt.programs.current(default.id).program.cashback.payout == "ledger"
    sender = S.Sender(app.test_client(), SECRET)
    sender.deliver("customers/create", S.customer())
    sender.deliver("orders/paid", S.order(O1, lines=O1_LINES, shipping_tax="1.40"))
    assert ours(rt, default) == Decimal("4.70")
    assert rt.store_credit.run() == 0 and rt.store_credit.reconcile() == 0
    assert mutations(state) == [] and mirror_rows(rt, default) == [] and mirror_rows(rt, woo) == []


def test_shopify_expires_its_own_credit_and_our_expiry_is_not_debited_twice(clean_db, clock):
    from plugin_app.runtime import Runtime

    state = S.AdminState()
    state.now = clock.now
    rt = Runtime(make_settings(clean_db), clock=clock)
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    try:
        shop = shopify_shop(rt)
        member, _ = rt.members.enrol(shop.id, str(CUSTOMER), email="ada@example.org")
        soon = clock.now() + timedelta(days=30)
        rt.ledger.earn(shop.id, member.id, "credit", Decimal("5.00"), key="e-1", source="order", reason="cashback",
                       expires_at=soon)
        rt.ledger.earn(shop.id, member.id, "credit", Decimal("2.00"), key="e-2", source="order", reason="cashback")
        assert rt.store_credit.run() == 2
        assert state.store_credit_balance(CUSTOMER) == Decimal("7.00")
        clock.advance(days=31)
        assert rt.ledger.expire_due() == 1  # ours lapses; Shopify's lapses by itself
        assert rt.store_credit.run() == 0 and len(mutations(state)) == 2  # no debit sent
        assert state.store_credit_balance(CUSTOMER) == ours(rt, shop) == Decimal("2.00")
        assert [t["type"] for t in state.store_credit_transactions(CUSTOMER)] == ["credit", "credit", "expiration"]
        # Lapsed for inactivity (before any date): Shopify does not know, so that one is debited.
        rt.ledger.lapse_member(shop.id, member.id, key_prefix="inactive", reason="inactive")
        assert rt.store_credit.run() == 1
        assert state.store_credit_balance(CUSTOMER) == ours(rt, shop) == 0
    finally:
        rt.close()


def test_the_merchant_sees_differences_on_the_operations_page_and_through_the_api(app):
    rt, state = app.extensions["loyalty"], app.standin
    shop, key = rt.shops.register("shopify", S.DOMAIN, currency="EUR",
                                  credentials={"access_token": "shpat_standin", "api_secret": SECRET})
    rt.programs.put(shop.id, NATIVE, author="test")
    sender = S.Sender(app.test_client(), SECRET)
    sender.deliver("customers/create", S.customer())
    sender.deliver("orders/paid", S.order(O1, lines=O1_LINES, shipping_tax="1.40"))
    rt.store_credit.run()
    state.store_credit_post(f"gid://shopify/Customer/{CUSTOMER}", False, "1.20", "EUR", None)  # by hand in Shopify
    rt.store_credit.reconcile()
    client = app.test_client()
    body = client.get("/admin/api/v1/store-credit/reconciliation", headers={"Authorization": f"Bearer {key}"}).get_json()
    assert body["payout"] == "shopify_store_credit" and body["counts"] == {"done": 1}
    [d] = body["differences"]
    assert (d["customer_id"], d["ours"], d["theirs"], d["difference"]) == (str(CUSTOMER), "4.7000", "3.5000", "-1.2000")
    assert client.get("/admin/api/v1/store-credit/reconciliation").status_code == 401

    client.post("/admin/login", data={"key": key})  # the merchant, on the Operations page, in Italian
    html = client.get("/admin/operations?lang=it").get_data(as_text=True)
    assert "data-store-credit" in html and "Cashback nel credito del negozio Shopify" in html
    assert "4,70" in html and "3,50" in html and "1,20" in html


def test_a_worker_that_died_after_the_call_leaves_a_row_the_next_run_resolves_without_paying_twice(app):
    """The call went out and landed, then the worker died before recording it: the row stays
    `sending` until its lease runs out; the next run reads the account, finds the credit, and
    records it instead of calling again. A second handling of the same ledger entry adds no row."""
    rt, state = app.extensions["loyalty"], app.standin
    shop = shopify_shop(rt)
    member, _ = rt.members.enrol(shop.id, str(CUSTOMER), email="ada@example.org")
    posted = rt.ledger.earn(shop.id, member.id, "credit", Decimal("6.00"), key="k-1", source="admin", reason="test")
    [row] = mirror_rows(rt, shop)
    with rt.db.uow(shop.id) as uow:  # the worker claims the row and commits...
        uow.store_credit.claim(row.id, rt.clock.now(), timedelta(seconds=120))
    rt.shopify_admin_for(shop.id).store_credit_credit(str(CUSTOMER), Decimal("6.00"), "EUR")  # ...the call lands...
    assert rt.store_credit.run() == 0  # ...and it dies: while the lease runs, nobody touches the row
    with rt.db.transaction() as conn:  # the lease runs out
        conn.execute(text("update store_credit_mirror set locked_until = now() - interval '1 second'"))
    assert rt.store_credit.run() == 1
    [row] = mirror_rows(rt, shop)
    assert row.state == "done" and row.attempts == 2 and row.shopify_txn_id
    assert len(mutations(state)) == 1 and state.store_credit_balance(CUSTOMER) == Decimal("6.00")

    # The same entry handled again (a replayed posting, a duplicated event): still one row.
    from plugin_app.domain.member_events import PointsPosted
    event = PointsPosted(shop_id=shop.id, member_id=member.id, at=rt.clock.now(), entry_id=posted.entry_id,
                         kind="earn", asset="credit", available=Decimal("6.00"), pending=Decimal(0), held=Decimal(0),
                         lifetime=Decimal("6.00"), balance=0, balance_pending=0, credit_balance=Decimal("6.00"))
    with rt.db.uow(shop.id) as uow:
        rt.store_credit.after_posting(uow, event)
    assert rt.ledger.earn(shop.id, member.id, "credit", Decimal("6.00"), key="k-1", source="admin",
                          reason="test").replayed
    assert len(mirror_rows(rt, shop)) == 1 and rt.store_credit.run() == 0 and len(mutations(state)) == 1


def test_a_cart_hold_of_credit_debits_shopify_and_its_release_credits_it_back(app):
    rt, state = app.extensions["loyalty"], app.standin
    shop = shopify_shop(rt)
    member, _ = rt.members.enrol(shop.id, str(CUSTOMER), email="ada@example.org")
    rt.ledger.earn(shop.id, member.id, "credit", Decimal("10.00"), key="k-1", source="admin", reason="test")
    hold = rt.ledger.reserve(shop.id, member.id, "credit", Decimal("4.00"), key="h-1", source="cart", reason="cart")
    rt.store_credit.run()
    assert state.store_credit_balance(CUSTOMER) == ours(rt, shop) == Decimal("6.00")  # not spendable twice
    rt.ledger.release(shop.id, hold.hold_id, key="r-1", source="cart", reason="abandoned")
    rt.store_credit.run()
    assert state.store_credit_balance(CUSTOMER) == ours(rt, shop) == Decimal("10.00")
    assert [r.direction for r in mirror_rows(rt, shop)] == ["credit", "debit", "credit"]


def test_the_cashback_page_offers_the_choice_to_shopify_shops_only(app):
    from werkzeug.datastructures import MultiDict

    from .formdata import form_data

    rt = app.extensions["loyalty"]
    client = app.test_client()
    shop, key = rt.shops.register("shopify", S.DOMAIN, currency="EUR",
                                  credentials={"access_token": "shpat_standin", "api_secret": SECRET})
    client.post("/admin/login", data={"key": key})
    html = client.get("/admin/cashback").data.decode()
    assert 'name="cashback.payout"' in html and "Shopify store credit" in html
    data = [(k, "shopify_store_credit" if k == "cashback.payout" else v) for k, v in form_data(html)]
    client.post("/admin/cashback", data=MultiDict(data + [("action", "save")]))
    assert rt.programs.current(shop.id).program.cashback.payout == "shopify_store_credit"

    woo_client = app.test_client()
    woo, woo_key = rt.shops.register("woocommerce", "https://woo.example", currency="EUR",
                                     credentials={"consumer_key": "ck", "consumer_secret": "cs"})
    woo_client.post("/admin/login", data={"key": woo_key})
    assert 'name="cashback.payout"' not in woo_client.get("/admin/cashback").data.decode()
