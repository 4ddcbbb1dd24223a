"""Order state, not event order: a set of Shopify deliveries sent 1 to 5 times each, shuffled
(refund before create included), with Redis wiped mid-stream, processed by a real RQ worker on
PostgreSQL, ends in exactly the balances of an in-order, once-each replay. Audit clean."""
import random
import uuid

import pytest
from redis import Redis
from rq import Queue, SimpleWorker

from plugin_app import create_app
from plugin_app.jobs import context
from plugin_app.jobs.queues import QUEUE_NAME
from plugin_app.services.audit import run_audit

from . import shopify_standin as S
from .conftest import ENCRYPTION_KEY

SECRET = "shpss_convergence"
CUSTOMER = 7300400500600
O1, O2 = 6120345678901, 6120345678902


def scenario() -> list[tuple[str, dict]]:
    o2_lines = [S.line_item(2001, "20.00", 3)]
    return [
        ("customers/create", S.customer()),
        ("orders/create", S.order(O1, financial_status="pending")),
        ("orders/paid", S.order(O1)),
        ("refunds/create", S.refund(801, O1)),
        ("orders/updated", S.order(O1, financial_status="partially_refunded", refunds=[S.refund(801, O1)])),
        ("orders/paid", S.order(O2, lines=o2_lines)),
        ("refunds/create", S.refund(802, O2, line_id=2001, quantity=1, shipping="6.99")),
        ("orders/updated", S.order(O2, lines=o2_lines, financial_status="partially_refunded",
                                   refunds=[S.refund(802, O2, line_id=2001, quantity=1, shipping="6.99")])),
        ("orders/paid", S.order(O2 + 1, lines=[S.line_item(3001, "10.00", 5)])),
        ("orders/cancelled", S.order(O2 + 1, lines=[S.line_item(3001, "10.00", 5)], financial_status="voided",
                                     cancelled=True)),
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
    SimpleWorker([Queue(QUEUE_NAME, connection=redis)], connection=redis).work(burst=True)


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

    for seed in range(6):
        rng = random.Random(seed)
        domain = f"shuffled-{seed}.myshopify.com"
        shop = make_shop(rt, domain)
        sender = S.Sender(client, SECRET, domain=domain)
        storm = []
        for topic, payload in deliveries:
            first_id = str(uuid.uuid4())
            for n in range(rng.randint(1, 5)):
                # Shopify retries reuse the delivery id; a second subscription gets a new one.
                storm.append((topic, payload, first_id if n % 2 == 0 else str(uuid.uuid4())))
        rng.shuffle(storm)
        wipe_at = rng.randrange(len(storm))
        for i, (topic, payload, wid) in enumerate(storm):
            assert sender.deliver(topic, payload, webhook_id=wid).status_code == 200
            if i == wipe_at:
                Redis.from_url(redis_url).flushdb()  # every queued job is lost
            if rng.random() < 0.3:
                drain(redis_url)
        rt.inbox.sweep()  # the rows are the truth: ring again for whatever Redis forgot
        drain(redis_url)
        assert snapshot(rt, shop) == expected, f"seed {seed}"
    report = run_audit(rt.db)
    assert report.ok, report.problems
