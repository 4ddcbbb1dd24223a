"""A real `loyalty worker` process is SIGKILLed in the middle of a job, before the handler ran
or after its ledger posting committed but before the message was marked done. After the lease
runs out, the sweeper re-enqueues it and another worker finishes: one posting, clean audit."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import text

from plugin_app.jobs import context
from plugin_app.jobs.queues import QUEUE_NAME, QUEUE_NAMES, URGENT_QUEUE
from plugin_app.runtime import Runtime
from plugin_app.services.audit import run_audit

from .conftest import ENCRYPTION_KEY, make_settings

LEASE = 2


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def review_message(rt):
    shop, _ = rt.shops.register("demo", "kill.example")
    rt.programs.put(shop.id, {"actions": {"review": {"enabled": True, "points": 75}}}, author="test")
    body = json.dumps({"id": "rev-1", "customer_id": "c-9", "event": "review"}).encode()
    return shop, rt.inbox.accept(shop.id, "internal", "action.completed", "evt-kill", body, {})[0], "action:review"


def shopify_order_message(rt):
    from . import shopify_standin as S

    shop, _ = rt.shops.register("shopify", S.DOMAIN, credentials={"access_token": "t", "api_secret": "s"})
    order = S.order(customer_id=9, lines=[S.line_item(1, "75.00")])
    inbox_id, _ = rt.inbox.accept(shop.id, "shopify", "orders/paid", "wh-kill", S.body(order), {})
    return shop, inbox_id, f"order:{order['id']}"


@pytest.mark.slow
@pytest.mark.parametrize("failpoint", ["inbox.before_handler", "inbox.after_handler"])
@pytest.mark.parametrize("message", [review_message, shopify_order_message], ids=["action", "shopify-order"])
def test_sigkill_mid_job_then_sweep_gives_the_same_result(clean_db, redis_url, tmp_path, failpoint, message):
    rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=redis_url, inbox_lease_seconds=LEASE))
    shop, inbox_id, ref = message(rt)
    customer = "c-9" if ref.startswith("action") else "9"

    marker = tmp_path / "hit"
    env = {**os.environ, "DATABASE_URL": clean_db, "REDIS_URL": redis_url,
           "LOYALTY_ENCRYPTION_KEY": ENCRYPTION_KEY, "LOYALTY_INBOX_LEASE_SECONDS": str(LEASE),
           "LOYALTY_FAILPOINTS": f"{failpoint}=pause:{marker}", "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-c", "from plugin_app.cli import main; main()", "worker"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        assert wait_for(marker.exists), proc.stderr.read1(4000) if proc.poll() is not None else "no hit"
        row = rt.inbox.get(inbox_id)
        assert row.state == "processing"
        with rt.db.transaction() as conn:
            posted = conn.execute(text("select count(*) from ledger_entries where external_ref = :r"), {"r": ref}).scalar()
        assert posted == (1 if failpoint == "inbox.after_handler" else 0)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    assert rt.inbox.sweep() == 0  # the lease still belongs to the dead worker
    time.sleep(LEASE + 0.2)
    assert rt.inbox.sweep() == 1
    redis = Redis.from_url(redis_url)
    context.install(rt)
    SimpleWorker([Queue(n, connection=redis) for n in QUEUE_NAMES], connection=redis).work(burst=True)

    row = rt.inbox.get(inbox_id)
    assert row.state == "done" and row.attempts == 2
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from ledger_entries where external_ref = :r"), {"r": ref}).scalar() == 1
    assert rt.members.by_customer(shop.id, customer)[1].points == 75
    assert run_audit(rt.db).ok
    rt.close()
