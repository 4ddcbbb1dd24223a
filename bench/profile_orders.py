"""Where an inbox order's time goes, in process, one thread: the bench's paid orders
(`bench/pipeline.py`'s deliveries) stored in the inbox and run one by one with `Inbox.process`.
Prints the statements of one new customer's order, then per order: wall time, CPU time
(thread time) and statements. `--profile` adds cProfile's top functions (thread time, so
waiting is not counted as work). Not a test: prints figures only.

    .venv/bin/python bench/profile_orders.py [--orders 300] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database  # noqa: E402
from bench.pipeline import DOMAIN, deliveries, no_flow_workflows, store  # noqa: E402

WARM = 20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()

    from sqlalchemy import event, text

    from plugin_app.runtime import Runtime
    from plugin_app.settings import Settings

    with bench_database("loyalty_profile_orders") as (url, key, redis_url):
        # A doorbell that cannot ring: nothing but this loop processes the deliveries (and the
        # inbox's warning that it could not ring is expected here).
        logging.getLogger("plugin_app.services.inbox").setLevel(logging.ERROR)
        rt = Runtime(Settings().with_overrides(dict(database_url=url, jobs_mode="rq", redis_url="redis://127.0.0.1:1/0",
                                                    encryption_keys=(key,))))
        shop, _ = rt.shops.register("shopify", DOMAIN, credentials={"access_token": "t", "api_secret": "s"})
        no_flow_workflows(rt, shop.id)
        n = max(args.orders, WARM + 2)
        store(rt, shop.id, deliveries(n, 0, max(1, n // 3)))
        with rt.db.transaction() as conn:
            ids = list(conn.execute(text("SELECT id FROM inbox ORDER BY id")).scalars())
        seen: list[str] = []
        event.listen(rt.db.engine, "before_cursor_execute", lambda conn, cursor, statement, *a: seen.append(statement))
        for inbox_id in ids[:WARM]:
            rt.inbox.process(inbox_id)
        seen.clear()
        rt.inbox.process(ids[WARM])
        print(f"one new customer's order: {len(seen)} statements")
        for statement in seen:
            print("   ", " ".join(statement.split())[:110])
        seen.clear()
        profiler = cProfile.Profile(time.thread_time)
        rest = ids[WARM + 1:]
        wall, cpu = time.perf_counter(), time.thread_time()
        if args.profile:
            profiler.enable()
        for inbox_id in rest:
            rt.inbox.process(inbox_id)
        if args.profile:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        print(f"{len(rest)} orders, one thread: {wall / len(rest) * 1000:.1f} ms wall, "
              f"{cpu / len(rest) * 1000:.1f} ms CPU, {len(seen) / len(rest):.1f} statements per order"
              + (" (cProfile on: times inflated)" if args.profile else ""))
        if args.profile:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        rt.close()


if __name__ == "__main__":
    main()
