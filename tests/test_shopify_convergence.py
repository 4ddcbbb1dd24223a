"""Order state, not event order: a set of Shopify deliveries sent 1 to 5 times each, shuffled
(refund before create included), with Redis wiped mid-stream, processed by a real RQ worker on
PostgreSQL, ends in exactly the balances of an in-order, once-each replay. Audit clean."""
import random
import time
import uuid

import pytest
from redis import Redis
from rq import Queue, SimpleWorker

from plugin_app import create_app
from plugin_app.jobs import context
from plugin_app.jobs.queues import QUEUE_NAME, QUEUE_NAMES, URGENT_QUEUE
from plugin_app.services.audit import run_audit

from . import shopify_standin as S
from .conftest import ENCRYPTION_KEY

SECRET = "shpss_convergence"
CUSTOMER = 7300400500600
O1, O2, O4, O5 = 6120345678901, 6120345678902, 6120345678904, 6120345678905


# welcome 50; O1 (85-5 + 15-1 = 94, half the mugs refunded: -40) 54; O2 (60 less the 6.00 order
# discount no line carries = 54, one of three refunded: -18) 36; O3 cancelled 0; O5 (taxes
# included: 30.00 - 5.00 VAT = 25) 25; O4 (57 + the 12.00 line added by the edit = 69, one of the
# two 28.50 units refunded: -28) 41.
EXPECTED_POINTS = 50 + 54 + 36 + 25 + 41


def scenario() -> list[tuple[str, dict]]:
    """Orders as Shopify sends them (see the stand-in's `order` and `refund`): VAT on lines and
    shipping, a discount code allocated to lines, an order discount no line carries, a taxes-
    included order, partial refunds of a line and of shipping, a cancellation and an order edited
    after payment (a line added, then one unit refunded)."""
    o1_lines = [S.line_item(1001, "42.50", 2, discount="5.00", tax="16.00"),
                S.line_item(1002, "15.00", 1, discount="1.00", tax="2.80", title="Trail Socks")]
    o2_lines = [S.line_item(2001, "20.00", 3, tax="12.00")]
    edit_before = [S.line_item(4001, "30.00", 2, discount="3.00", tax="11.40")]
    edit_after = edit_before + [S.line_item(4002, "12.00", 1, tax="2.40", title="Gift wrap")]
    t0, t1, t2, t3 = ("2026-03-14T10:22:05-04:00", "2026-03-14T10:25:00-04:00",
                      "2026-03-15T09:00:00-04:00", "2026-03-20T09:10:11-04:00")
    r802 = S.refund(802, O2, line_id=2001, quantity=1, subtotal="18.00", tax="4.00", shipping="6.99", shipping_tax="1.40")
    r803 = S.refund(803, O4, line_id=4001, quantity=1, subtotal="28.50", tax="5.70")
    return [
        ("customers/create", S.customer()),
        ("orders/create", S.order(O1, lines=o1_lines, shipping_tax="1.40", financial_status="pending", updated_at=t0)),
        ("orders/paid", S.order(O1, lines=o1_lines, shipping_tax="1.40", updated_at=t1)),
        ("refunds/create", S.refund(801, O1, line_id=1001, subtotal="40.00", tax="8.00")),
        ("orders/updated", S.order(O1, lines=o1_lines, shipping_tax="1.40", financial_status="partially_refunded",
                                   refunds=[S.refund(801, O1, line_id=1001, subtotal="40.00", tax="8.00")], updated_at=t3)),
        ("orders/paid", S.order(O2, lines=o2_lines, unallocated_discount="6.00", shipping_tax="1.40", updated_at=t1)),
        ("refunds/create", r802),
        ("orders/updated", S.order(O2, lines=o2_lines, unallocated_discount="6.00", shipping_tax="1.40",
                                   financial_status="partially_refunded", refunds=[r802], updated_at=t3)),
        ("orders/paid", S.order(O2 + 1, lines=[S.line_item(3001, "10.00", 5)], updated_at=t1)),
        ("orders/cancelled", S.order(O2 + 1, lines=[S.line_item(3001, "10.00", 5)], financial_status="voided",
                                     cancelled=True, updated_at=t2)),
        ("orders/paid", S.order(O5, lines=[S.line_item(5001, "36.00", 1, discount="6.00", tax="5.00")],
                                taxes_included=True, shipping="4.90", shipping_tax="0.82", updated_at=t1)),
        ("orders/create", S.order(O4, lines=edit_before, financial_status="pending", updated_at=t0)),
        ("orders/paid", S.order(O4, lines=edit_before, updated_at=t1)),
        ("orders/updated", S.order(O4, lines=edit_after, updated_at=t2)),  # the edit: a line added
        ("refunds/create", r803),
        ("orders/updated", S.order(O4, lines=edit_after, financial_status="partially_refunded", refunds=[r803],
                                   updated_at=t3)),
        ("customers/update", S.customer(email="ada.q@example.org")),
    ]


@pytest.fixture
def rq_app(clean_db, redis_url):
    app = create_app({"database_url": clean_db, "jobs_mode": "rq", "redis_url": redis_url,
                      "encryption_keys": (ENCRYPTION_KEY,), "sweep_after_seconds": 0})
    context.install(app.extensions["loyalty"])
    yield app
    app.extensions["loyalty"].close()


def make_shop(rt, domain):
    shop, _ = rt.shops.register("shopify", domain, credentials={"access_token": "t", "api_secret": SECRET})
    rt.programs.put(shop.id, {"cashback": {"enabled": True}, "pending": {"orders_days": 0}}, author="test")
    return shop


def drain(redis_url):
    redis = Redis.from_url(redis_url)
    SimpleWorker([Queue(n, connection=redis) for n in QUEUE_NAMES], connection=redis).work(burst=True)


def settle_retries(rt, shop) -> int:
    """Time passes: messages waiting for their retry backoff become due now."""
    from sqlalchemy import text

    with rt.db.transaction() as conn:
        return conn.execute(text("update inbox set locked_until = now() where shop_id = :s and state = 'received' "
                                 "and locked_until > now()"), {"s": shop.id}).rowcount


def unfinished(rt, shop) -> list:
    from sqlalchemy import text

    with rt.db.transaction() as conn:
        return [tuple(r) for r in conn.execute(text(
            "select topic, state, attempts, outcome, left(last_error, 300) from inbox "
            "where shop_id = :s and state not in ('done', 'ignored')"), {"s": shop.id})]


def snapshot(rt, shop):
    _, b = rt.members.by_customer(shop.id, str(CUSTOMER))
    return (b.points, b.pending_points, b.lifetime_points, b.credit.amount, b.pending_credit.amount)


@pytest.mark.slow
def test_any_permutation_and_duplication_converges_to_the_in_order_replay(rq_app, redis_url):
    rt = rq_app.extensions["loyalty"]
    client = rq_app.test_client()
    deliveries = scenario()

    ordered = make_shop(rt, "in-order.myshopify.com")
    sender = S.Sender(client, SECRET, domain="in-order.myshopify.com")
    for topic, payload in deliveries:
        assert sender.deliver(topic, payload).status_code == 200
        drain(redis_url)
    expected = snapshot(rt, ordered)
    assert expected[0] > 0 and expected[3] > 0  # points and cashback both in play
    assert expected[0] == EXPECTED_POINTS, expected

    for seed in range(6):
        rng = random.Random(seed)
        domain = f"shuffled-{seed}.myshopify.com"
        shop = make_shop(rt, domain)
        sender = S.Sender(client, SECRET, domain=domain)
        storm = []
        for topic, payload in deliveries:
            first_id, event_id = str(uuid.uuid4()), str(uuid.uuid4())
            for n in range(rng.randint(1, 5)):
                # Shopify retries reuse the delivery id; a second subscription (app-scoped and
                # shop-scoped) gets a new one; all copies of one event share its event id.
                storm.append((topic, payload, first_id if n % 2 == 0 else str(uuid.uuid4()), event_id))
        rng.shuffle(storm)
        wipe_at = rng.randrange(len(storm))
        for i, (topic, payload, wid, eid) in enumerate(storm):
            assert sender.deliver(topic, payload, webhook_id=wid, event_id=eid).status_code == 200
            if i == wipe_at:
                Redis.from_url(redis_url).flushdb()  # every queued job is lost
            if rng.random() < 0.3:
                drain(redis_url)
        rt.inbox.sweep()  # the rows are the truth: ring again for whatever Redis forgot
        drain(redis_url)
        for _ in range(10):  # the sweeper runs again later (every 30 s in production), and a
            # delivery that hit a passing error waits for its backoff: let that time pass
            settle_retries(rt, shop)
            if not unfinished(rt, shop):
                break
            time.sleep(0.2)
            rt.inbox.sweep()
            drain(redis_url)
        assert snapshot(rt, shop) == expected, (f"seed {seed}", unfinished(rt, shop))
    report = run_audit(rt.db)
    assert report.ok, report.problems
