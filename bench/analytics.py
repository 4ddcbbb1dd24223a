"""Dashboard load time over one million ledger rows, next to the same over ten thousand, in one
run: two shops in one database, entries spread over a year, the rollup job run first (its folding
rate is printed too), then the dashboard for a 30-day and a 365-day period, timed through the
admin API.

    .venv/bin/python bench/analytics.py [--large 1000000] [--small 10000]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database  # noqa: E402

FILL = """
INSERT INTO members (shop_id, platform_customer_id, created_at, updated_at)
SELECT :shop, 'c' || g, now() - (g % 365) * interval '1 day', now() FROM generate_series(1, :members) g;
INSERT INTO balances (member_id, shop_id, currency, points, updated_at)
SELECT id, shop_id, 'EUR', 100, now() FROM members WHERE shop_id = :shop;
INSERT INTO ledger_entries (shop_id, member_id, asset, kind, source, reason, idempotency_key, request_hash,
                            amount, points, points_lifetime, created_at)
SELECT :shop, m.id, 'points', CASE WHEN g % 10 = 0 THEN 'redeem' ELSE 'earn' END, 'order', 'bench',
       :shop || '-' || g, '', 10, CASE WHEN g % 10 = 0 THEN -10 ELSE 10 END, CASE WHEN g % 10 = 0 THEN 0 ELSE 10 END,
       now() - (g % 365) * interval '1 day'
FROM generate_series(1, :entries) g JOIN members m ON m.shop_id = :shop AND m.platform_customer_id = 'c' || (1 + g % :members);
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--large", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--members", type=int, default=10_000, help="the same for both shops: only the ledger grows")
    args = ap.parse_args()

    from sqlalchemy import text

    from plugin_app import create_app

    with bench_database("loyalty_analytics") as (url, key, _redis):
        app = create_app({"database_url": url, "jobs_mode": "eager", "encryption_keys": (key,), "log_level": "WARNING"})
        rt = app.extensions["loyalty"]
        shops = {}
        for label, entries in (("small", args.small), ("large", args.large)):
            shop, api_key = rt.shops.register("demo", f"{label}.bench")
            with rt.db.transaction() as conn:
                for statement in filter(str.strip, FILL.split(";")):
                    conn.execute(text(statement), {"shop": shop.id, "entries": entries, "members": args.members})
            shops[label] = (shop, api_key, entries)
        start = time.perf_counter()
        folded = rt.analytics.refresh()
        fold_s = time.perf_counter() - start
        client = app.test_client()
        print(f"rollup job: {folded} entries folded in {fold_s:.1f} s ({folded / fold_s:,.0f} entries/s)")
        results = {}
        for label, (shop, api_key, entries) in shops.items():
            for days in (30, 365):
                path = f"/admin/api/v1/analytics?from={(rt.clock.now().date().fromordinal(rt.clock.now().date().toordinal() - days + 1))}"
                client.get(path, headers={"Authorization": f"Bearer {api_key}"})  # warm
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    r = client.get(path, headers={"Authorization": f"Bearer {api_key}"})
                    times.append((time.perf_counter() - t0) * 1000)
                    assert r.status_code == 200
                results[(label, days)] = (statistics.median(times), max(times))
                print(f"{label:5s} ({entries:>9,} entries) {days:3d}-day dashboard: median {results[(label, days)][0]:6.1f} ms"
                      f"   max {results[(label, days)][1]:6.1f} ms")
        for days in (30, 365):
            ratio = results[("large", days)][0] / results[("small", days)][0]
            print(f"{days}-day dashboard, large / small: {ratio:.2f}")
        rt.close()


if __name__ == "__main__":
    main()
