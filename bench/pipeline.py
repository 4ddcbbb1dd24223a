"""Orders end to end: a signed Shopify `orders/paid` delivery stored in the inbox → a worker
claims it, reads the order, enrols the customer, prices it with the program, posts the points
(entry, lot, balance), decides the tier, writes its events → the member's balance moved.
Measured with real RQ worker processes (`loyalty worker`) on PostgreSQL and Redis, next to the
bare cost of single-row INSERTs (one commit each) from the same number of processes, in one run.

    .venv/bin/python bench/pipeline.py [--orders 3000] [--workers 3] [--rate 500] [--seconds 10]

1. Throughput: `--orders` distinct paid orders (tax, shipping, a discount code; 1–3 lines;
   customers drawn from a pool of `--orders // 3`) are stored in the inbox first, then
   `--workers` worker processes are started and rung; orders/s = orders / time until the last
   is done (worker start-up included).
2. Latency at a fixed arrival rate: with the workers running, orders are stored at `--rate`
   per second (paced, open loop) for `--seconds`; receipt-to-balance = the inbox row's
   processed_at − received_at, p50/p99/max.
Afterwards: every order's points are on a balance exactly once (the audit is clean; no inbox
row failed). Not a test: prints figures only.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database, server_env  # noqa: E402
from bench.ledger import raw_insert, run_processes  # noqa: E402

DOMAIN = "pipeline-bench.myshopify.com"


def deliveries(n: int, start: int, customers: int):
    """`n` distinct paid orders as inbox items (what the intake stores for a signed delivery)."""
    from tests.shopify_standin import body, line_item, order

    items = []
    for i in range(start, start + n):
        lines = [line_item(1000 + k, f"{12 + (i * 7 + k) % 60}.90", 1 + (i + k) % 2, product_id=500 + (i + k) % 40,
                           discount="2.00" if k == 0 else "0.00", tax="1.90") for k in range(1 + i % 3)]
        payload = order(7_000_000_000 + i, customer_id=8_000_000 + i % customers, lines=lines)
        wid = str(uuid.uuid4())
        items.append(("orders/paid", wid, body(payload),
                      {"X-Shopify-Topic": "orders/paid", "X-Shopify-Shop-Domain": DOMAIN,
                       "X-Shopify-Webhook-Id": wid, "X-Shopify-Event-Id": wid}))
    return items


def no_flow_workflows(rt, shop_id: int) -> None:
    """No Flow workflow uses our triggers (what Flow's lifecycle callback says for most shops):
    otherwise every event would queue a call to a Shopify that is not there to answer."""
    from plugin_app.domain.flow import TRIGGERS

    with rt.db.uow(shop_id) as uow:
        for trigger in TRIGGERS.values():
            uow.flow_usage.report(trigger.handle, False, rt.clock.now())


def store(rt, shop_id: int, items) -> None:
    rt.inbox.accept_many([(shop_id, "shopify", topic, f"event:{topic}:{wid}", raw, h) for topic, wid, raw, h in items])


def workers(env: dict, n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([str(ROOT / ".venv/bin/loyalty"), "worker"], cwd=str(ROOT), env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            for _ in range(n)]


def left(rt) -> int:
    from sqlalchemy import text

    with rt.db.transaction() as conn:
        return conn.execute(text("SELECT count(*) FROM inbox WHERE state IN ('received', 'processing')")).scalar()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()

    from sqlalchemy import text

    from plugin_app.runtime import Runtime
    from plugin_app.services.audit import run_audit
    from plugin_app.settings import Settings

    with bench_database("loyalty_pipeline") as (url, key, redis_url):
        rt = Runtime(Settings().with_overrides(dict(database_url=url, jobs_mode="rq", redis_url=redis_url,
                                                    encryption_keys=(key,))))
        rt.queue.redis.flushdb()
        shop, _ = rt.shops.register("shopify", DOMAIN, credentials={"access_token": "t", "api_secret": "s"})
        no_flow_workflows(rt, shop.id)
        customers = max(1, args.orders // 3)
        env = server_env(url, key, redis_url)

        # Baseline: single-row INSERTs, one commit each, from as many processes as workers.
        with rt.db.transaction() as conn:
            conn.execute(text("CREATE TABLE bench_raw (id bigserial primary key, shop_id bigint, "
                              "member_id bigint, points bigint, created_at timestamptz default now())"))
        raw_rate = run_processes("raw", url, shop.id, [1], args.workers, 3000 * args.workers, 1)

        # 1. Throughput: a backlog, then the workers.
        store(rt, shop.id, deliveries(args.orders, 0, customers))
        started = time.perf_counter()
        procs = workers(env, args.workers)
        try:
            while left(rt):
                time.sleep(0.1)
            elapsed = time.perf_counter() - started

            # 2. Latency at a fixed arrival rate, the workers idle-waiting for work. Above the
            # measured capacity the queue only grows (and so would the latency, without bound):
            # then the rate is half the capacity, and the output says so.
            rate = args.orders / elapsed
            paced = args.rate if args.rate <= rate else max(1.0, round(rate / 2, 1))
            batch = deliveries(int(paced * args.seconds), args.orders, customers)
            since = rt.clock.now()
            t0 = time.perf_counter()
            per = max(1, round(paced * 0.02))  # paced in slices of ~20 ms, each slice's orders stored together
            for i in range(0, len(batch), per):
                due = t0 + i / paced
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                store(rt, shop.id, batch[i:i + per])
            offered = len(batch) / (time.perf_counter() - t0)
            deadline = time.time() + 120
            while left(rt) and time.time() < deadline:
                time.sleep(0.1)
        finally:
            for p in procs:  # a warm shutdown finishes the job in hand (a drain may be long)
                os.killpg(p.pid, signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(10)
        with rt.db.transaction() as conn:
            rows = conn.execute(text(
                "SELECT extract(epoch FROM processed_at - received_at), "
                "extract(epoch FROM locked_until - make_interval(secs => :lease) - received_at) FROM inbox "
                "WHERE received_at >= :since AND state = 'done'"),
                {"since": since, "lease": rt.inbox.lease.total_seconds()}).all()
            lat = sorted(float(r[0]) for r in rows)
            waits = sorted(float(r[1]) for r in rows)  # received → claimed (the claim's lease starts then)
            states = dict(conn.execute(text("SELECT state, count(*) FROM inbox GROUP BY state")).all())
            posted = conn.execute(text("SELECT count(DISTINCT idempotency_key) FROM ledger_entries")).scalar()
        audit = run_audit(rt.db, shop.id)
        rt.queue.redis.flushdb()
        rt.close()
        q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [float("nan")] * 99
        print(f"{args.workers} worker processes (RQ, PostgreSQL, Redis); {args.orders} orders in the backlog")
        print(f"raw single-row INSERT, commit each ({args.workers} processes) : {raw_rate:8.0f} rows/s   (baseline)")
        print(f"orders end to end (stored → balance moved)       : {rate:8.0f} orders/s  ratio {rate / raw_rate:.3f}")
        if paced != args.rate:
            print(f"{args.rate:.0f} orders/s is above the measured capacity ({rate:.0f}/s): paced at half of it instead")
        print(f"at {offered:.0f} orders/s offered for {args.seconds:.0f} s: receipt-to-balance p50 {q[49] * 1000:.0f} ms, "
              f"p99 {q[98] * 1000:.0f} ms, max {lat[-1] * 1000 if lat else float('nan'):.0f} ms ({len(lat)} orders)")
        if len(waits) > 1:
            w = statistics.quantiles(waits, n=100, method="inclusive")
            print(f"  of which waiting to be claimed: p50 {w[49] * 1000:.0f} ms, p99 {w[98] * 1000:.0f} ms")
        print(f"inbox states: {states}; ledger entries with distinct keys: {posted}; "
              f"audit: {'clean' if audit.ok else audit.problems[:3]}")
        print(json.dumps({"raw_rps": round(raw_rate), "orders_per_s": round(rate, 1), "offered": round(offered),
                          "p50_ms": round(q[49] * 1000), "p99_ms": round(q[98] * 1000), "audit_ok": audit.ok}))


if __name__ == "__main__":
    main()
