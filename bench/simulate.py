"""The program simulator over a year of N past orders (default 1,000,000), next to a bare baseline
measured in the same run: the same orders read in the same slices and turned into past orders,
without pricing them. The shop's orders are generated set-based (one INSERT … SELECT): members
spread over the year, one to three lines each with shipping, a product multiplier and a tier
ladder on spend, one order in ten partly refunded. The simulation is the real background job
(eager here): both programs (live and a draft with another earn rate) priced for every order.

Prints each phase's wall time, orders per second, and the process's peak resident memory after it
(the baseline runs first, so the simulation's figure includes it: the difference is its own).

    .venv/bin/python bench/simulate.py [--orders 1000000] [--members 100000]
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database  # noqa: E402

FILL = """
INSERT INTO members (shop_id, platform_customer_id, created_at, updated_at)
SELECT :shop, 'c' || g, timestamptz '2025-01-01', now() FROM generate_series(1, :members) g;
INSERT INTO orders (shop_id, platform_order_id, member_id, currency, placed_at, earned, base, points, credit,
                    program_version, shares, refunds, products, created_at, updated_at)
SELECT :shop, 'o' || g, m0.first + (g % :members), 'EUR',
       timestamptz '2025-01-01' + ((g - 1)::float / :orders) * interval '365 days', true, 0, 0, 0, 1,
       json_build_array(
           json_build_object('key', 'l1', 'base', (10 + g % 90)::text || '.50', 'quantity', 1 + g % 3,
                             'points', '0', 'credit', '0'),
           json_build_object('key', 'l2', 'base', (5 + g % 40)::text || '.00', 'quantity', 1,
                             'points', '0', 'credit', '0'),
           json_build_object('key', 'shipping', 'base', '4.90', 'quantity', 1, 'points', '0', 'credit', '0')),
       CASE WHEN g % 10 = 0
            THEN json_build_object('applied', json_build_object('r' || g, json_build_object()), 'order',
                                   json_build_array('r' || g), 'fractions', json_build_object('l1', '1/2'))
            ELSE json_build_object('applied', json_build_object(), 'order', json_build_array(), 'fractions',
                                   json_build_object()) END,
       json_build_array(json_build_array('l1', 'p' || (g % 50), 1), json_build_array('l2', 'p' || (50 + g % 50), 1)),
       now(), now()
FROM generate_series(1, :orders) g, (SELECT min(id) AS first FROM members WHERE shop_id = :shop) m0
"""

PROGRAM = {
    "timezone": "UTC",
    "earning": {"points_per_unit": "1", "base": {"include_shipping": True},
                "multipliers": [{"match": {"products": ["p1", "p2", "p3"]}, "factor": "2", "label": "featured"}]},
    "tiers": {"enabled": True, "basis": "money_spent", "window": "rolling_12_months", "downgrade": "never",
              "levels": [{"name": "Bronze", "threshold": "0"},
                         {"name": "Silver", "threshold": "300", "earn_multiplier": "1.5"},
                         {"name": "Gold", "threshold": "1000", "earn_multiplier": "2"}]},
    "cashback": {"enabled": True, "rate": "1"},
    "expiry": {"mode": "age", "months": 6},
}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--members", type=int, default=0, help="default: one per ten orders")
    args = ap.parse_args()
    members = args.members or max(1, args.orders // 10)

    from datetime import datetime, timezone

    from sqlalchemy import text

    from plugin_app.domain.ports import FixedClock
    from plugin_app.runtime import Runtime
    from plugin_app.services.simulator import _past
    from plugin_app.settings import Settings
    from plugin_app.storage.simulations_repo import SimulationsRepo

    with bench_database("loyalty_simulate") as (url, key, _redis):
        rt = Runtime(Settings().with_overrides({"database_url": url, "jobs_mode": "eager", "encryption_keys": (key,),
                                                "log_level": "WARNING"}),
                     clock=FixedClock(datetime(2026, 1, 15, tzinfo=timezone.utc)))
        shop, _ = rt.shops.register("demo", "simulate.bench", currency="EUR")
        rt.programs.put(shop.id, PROGRAM, author="bench")  # version 2: the live program
        start = time.perf_counter()
        with rt.db.transaction() as conn:
            for statement in filter(str.strip, FILL.split(";")):
                conn.execute(text(statement), {"shop": shop.id, "orders": args.orders, "members": members})
            conn.execute(text("UPDATE orders SET program_version = 2 WHERE shop_id = :s"), {"s": shop.id})
            conn.execute(text("ANALYZE orders"))
        print(f"generated {args.orders:,} orders for {members:,} members in {time.perf_counter() - start:.1f} s")

        until = datetime(2026, 1, 1, tzinfo=timezone.utc)
        slice_orders = rt.simulations.slice_orders
        start, after, seen = time.perf_counter(), 0, 0
        while True:  # the bare baseline: the same reads and rebuilt past orders, nothing priced
            with rt.db.reading() as conn:
                rows = SimulationsRepo(conn, shop.id).past_orders(None, until, after, slice_orders)
            if not rows:
                break
            for r in rows:
                _past(r, True)
            after, seen = rows[-1].id, seen + len(rows)
        base_s = time.perf_counter() - start
        base_mb = peak_mb()
        print(f"baseline (read + rebuild): {seen:,} orders in {base_s:.2f} s "
              f"({seen / base_s:,.0f}/s), peak RSS {base_mb:.0f} MB")

        draft = {**PROGRAM, "earning": {**PROGRAM["earning"], "points_per_unit": "2"}}
        start = time.perf_counter()
        run = rt.simulations.start(shop.id, since=date(2025, 1, 1), until=date(2025, 12, 31), program=draft)
        sim_s = time.perf_counter() - start
        sim_mb = peak_mb()
        assert run["state"] == "done", run
        res = run["result"]
        print(f"simulation (live + draft priced): {run['orders_done']:,} orders in {sim_s:.2f} s "
              f"({run['orders_done'] / sim_s:,.0f}/s), peak RSS {sim_mb:.0f} MB "
              f"(+{sim_mb - base_mb:.0f} MB over the baseline)")
        print(f"ratio to baseline: {sim_s / base_s:.1f}x time; "
              f"live kept {res['live']['points_kept']:,} points, draft {res['draft']['points_kept']:,}; "
              f"{res['members_differing']:,} members differ; tier mix live {res['live']['tier_mix']}")
        rt.close()


if __name__ == "__main__":
    main()
