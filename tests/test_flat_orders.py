"""An inbox order is one transaction whose steps (the codes' settlement, the order, enrolment,
the posting, tags, referral checks, the profile and segments) join it without savepoints: a
failure anywhere rolls all of it back and the inbox runs the delivery again, so it still lands
exactly once. Real PostgreSQL."""
import uuid

import pytest
from sqlalchemy import event, text

from plugin_app.runtime import Runtime
from plugin_app.services.audit import run_audit

from .conftest import make_settings
from .shopify_standin import body, line_item, order

DOMAIN = "flat-orders.myshopify.com"


def _deliver(rt, shop, order_id, customer_id):
    lines = [line_item(1, "40.00", 2, product_id=11, discount="4.00", tax="7.20"),
             line_item(2, "15.50", 1, product_id=12, tax="3.10")]
    wid = str(uuid.uuid4())
    raw = body(order(order_id, customer_id=customer_id, lines=lines))
    [(inbox_id, new)] = rt.inbox.accept_many([(shop.id, "shopify", "orders/paid", f"event:orders/paid:{wid}", raw,
                                               {"X-Shopify-Topic": "orders/paid", "X-Shopify-Shop-Domain": DOMAIN,
                                                "X-Shopify-Webhook-Id": wid})])
    assert new
    return inbox_id


def _count(rt, sql):
    with rt.db.transaction() as conn:
        return conn.execute(text(sql)).scalar()


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request, tmp_path):
    """PostgreSQL, and the demo's embedded SQLite."""
    if request.param == "postgresql":
        return request.getfixturevalue("clean_db")
    from plugin_app.storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'flat.db'}"
    upgrade(url)
    return url


def test_an_order_takes_no_savepoint_and_a_failure_late_in_it_leaves_nothing_then_lands_once(database_url, clock,
                                                                                         monkeypatch):
    # Nothing wakes a worker (a doorbell that cannot ring): the test runs each delivery itself.
    rt = Runtime(make_settings(database_url, jobs_mode="rq", redis_url="redis://127.0.0.1:1/0"), clock=clock)
    try:
        shop, _ = rt.shops.register("shopify", DOMAIN, credentials={"access_token": "t", "api_secret": "s"})
        seen = []
        event.listen(rt.db.engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *a: seen.append(statement))
        first = _deliver(rt, shop, 5_000_001, 77)
        assert rt.inbox.process(first) == "done"
        verbs = [statement.split()[0].upper() for statement in seen]
        assert "SAVEPOINT" not in verbs and "RELEASE" not in verbs
        # The buyer is enrolled once (the order's e-mail and name with it); the referral checks
        # reuse that member instead of enrolling them again.
        assert sum(statement.startswith("INSERT INTO members") for statement in seen) == 1
        points = _count(rt, "SELECT points FROM balances")
        assert points > 0

        # The last step of the order (the referral checks) fails once: nothing of the delivery stays.
        second = _deliver(rt, shop, 5_000_002, 78)
        real = rt.referrals.on_order
        calls = []

        def fail_once(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("the database went away")
            return real(*args, **kwargs)

        monkeypatch.setattr(rt.referrals, "on_order", fail_once)
        tables = ("members", "balances", "ledger_entries", "lots", "orders", "events", "member_profiles")
        before = {name: _count(rt, f"SELECT count(*) FROM {name}") for name in tables}
        assert rt.inbox.process(second) == "retry"
        assert {name: _count(rt, f"SELECT count(*) FROM {name}") for name in tables} == before
        clock.advance(seconds=5)
        assert rt.inbox.process(second) == "done" and len(calls) == 2
        assert rt.inbox.process(second) == "skipped"  # done: a repeat changes nothing
        assert _count(rt, "SELECT count(*) FROM ledger_entries WHERE kind = 'earn'") == 2
        assert _count(rt, "SELECT count(*) FROM members") == 2
        assert _count(rt, "SELECT points FROM balances b JOIN members m ON m.id = b.member_id "
                          "WHERE m.platform_customer_id = '78'") == points
        assert run_audit(rt.db, shop.id).ok
    finally:
        rt.close()


def test_a_posting_nested_in_a_flat_transaction_does_not_retry_on_an_aborted_one(clean_db, clock):
    """The posting's retry after a key race needs a savepoint; in a flat transaction it raises,
    and the whole delivery is run again instead."""
    rt = Runtime(make_settings(clean_db), clock=clock)
    try:
        shop, _ = rt.shops.register("demo", "flat.example")
        member, _ = rt.members.enrol(shop.id, "c1")
        with rt.db.uow(shop.id) as root:
            root.flat()
            nested = rt.db.uow(shop.id)
            with nested:
                assert not nested.retryable and nested._savepoint is None
        with rt.db.uow(shop.id) as root:
            nested = rt.db.uow(shop.id)
            with nested:
                assert nested.retryable and nested._savepoint is not None
    finally:
        rt.close()
