"""Dashboard load time over ten million ledger rows, next to the same over ten thousand, in one
run (issue 21: within 1.5x): two shops in one database, in a UTC+ time zone, entries spread over a
year (generated set-based, in SQL), one lot per earning (all spent but each member's last ten,
which stay open and expire a year after earning: the lots grow with the ledger as they do in a
shop), and for both shops the same members, orders, member profiles and reward codes (only the
ledger grows). The rollup job is run first (its folding rate is printed too), then the dashboard
(every figure, issue 21's included) for a 30-day and a 365-day period, timed through the admin
API; the ratio large / small is printed for each.

    .venv/bin/python bench/analytics.py [--large 10000000] [--small 10000]
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
INSERT INTO lots (shop_id, member_id, asset, entry_id, amount, remaining, pending, expires_at, created_at)
SELECT e.shop_id, e.member_id, 'points', e.id, 10, CASE WHEN e.id > :last_open THEN 10 ELSE 0 END, false,
       e.created_at + interval '365 days', e.created_at
FROM ledger_entries e WHERE e.shop_id = :shop AND e.kind = 'earn';
INSERT INTO orders (shop_id, platform_order_id, member_id, currency, placed_at, earned, points, refunds, total,
                    customer_key, redeemed, returning_customer, counted, created_at, updated_at)
SELECT :shop, 'o' || g, CASE WHEN g % 5 = 0 THEN NULL ELSE m.id END, 'EUR', now() - (g % 365) * interval '1 day',
       g % 5 <> 0, 50, '{"applied": []}', 50, CASE WHEN g % 5 = 0 THEN 'g:' || g ELSE 'c:' || m.platform_customer_id END,
       g % 7 = 0, g > :members, true, now(), now()
FROM generate_series(1, :orders) g JOIN members m ON m.shop_id = :shop AND m.platform_customer_id = 'c' || (1 + g % :members);
INSERT INTO member_profiles (member_id, shop_id, orders_count, lifetime_value, updated_at)
SELECT id, shop_id, 3, 150, now() FROM members WHERE shop_id = :shop;
INSERT INTO redemptions (shop_id, member_id, idempotency_key, request_hash, reward_id, asset, amount, code, code_key,
                         status, expires_at, created_at, updated_at)
SELECT :shop, m.id, 'r' || m.id, '', 'five-off', 'points', 100, 'CODE' || m.id, 'code' || m.id,
       (ARRAY['committed', 'released', 'issued'])[1 + m.id % 3], now() + interval '30 days',
       now() - (m.id % 365) * interval '1 day', now()
FROM members m WHERE m.shop_id = :shop;
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--large", type=int, default=10_000_000)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--members", type=int, default=10_000, help="the same for both shops: only the ledger grows")
    ap.add_argument("--parts", action="store_true", help="also time each query of the dashboard")
    args = ap.parse_args()

    from sqlalchemy import text

    from plugin_app import create_app

    with bench_database("loyalty_analytics") as (url, key, _redis):
        app = create_app({"database_url": url, "jobs_mode": "eager", "encryption_keys": (key,), "log_level": "WARNING"})
        rt = app.extensions["loyalty"]
        shops = {}
        for label, entries in (("small", args.small), ("large", args.large)):
            shop, api_key = rt.shops.register("demo", f"{label}.bench", timezone="Europe/Rome")
            fill_start = time.perf_counter()
            with rt.db.transaction() as conn:
                first = conn.execute(text("SELECT coalesce(max(id), 0) FROM ledger_entries")).scalar()
                # Generating is not what is measured: the secondary indexes of the two big tables
                # are dropped for the fill and built again after it (the same indexes, faster)
                conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
                rebuild = _drop_indexes(conn, ("ledger_entries", "lots")) if entries >= 1_000_000 else []
                for statement in filter(str.strip, FILL.split(";\n")):
                    conn.execute(text(statement), {
                        "shop": shop.id, "entries": entries, "members": args.members, "orders": 3 * args.members,
                        # each member's last ten earnings stay open (the balance they hold), the rest is spent
                        "last_open": first + entries - 11 * args.members})
                for ddl in rebuild:
                    conn.execute(text(ddl))
                conn.execute(text("ANALYZE"))
            print(f"{label}: {entries:,} ledger entries generated in {time.perf_counter() - fill_start:.1f} s")
            shops[label] = (shop, api_key, entries)
        start = time.perf_counter()
        folded = rt.analytics.refresh()
        fold_s = time.perf_counter() - start
        client = app.test_client()
        print(f"rollup job: {folded} entries folded in {fold_s:.1f} s ({folded / fold_s:,.0f} entries/s)")
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does to tables this fresh: the steady state
        results = {}
        # The two shops' requests alternate (small, large, large, small, ...), so whatever else the
        # machine is doing weighs on both alike; the ratio compares their medians.
        for days in (30, 365):
            path = f"/admin/api/v1/analytics?from={(rt.clock.now().date().fromordinal(rt.clock.now().date().toordinal() - days + 1))}"
            times = {label: [] for label in shops}
            for label, (_shop, api_key, _entries) in shops.items():
                client.get(path, headers={"Authorization": f"Bearer {api_key}"})  # warm
            order = list(shops.items())
            for i in range(args.repeat):
                for label, (_shop, api_key, _entries) in (order if i % 2 == 0 else order[::-1]):
                    t0 = time.perf_counter()
                    r = client.get(path, headers={"Authorization": f"Bearer {api_key}"})
                    times[label].append((time.perf_counter() - t0) * 1000)
                    assert r.status_code == 200
            for label, (_shop, _key, entries) in shops.items():
                results[(label, days)] = (statistics.median(times[label]), max(times[label]))
                print(f"{label:5s} ({entries:>9,} entries) {days:3d}-day dashboard: median {results[(label, days)][0]:6.1f} ms"
                      f"   max {results[(label, days)][1]:6.1f} ms")
        if args.parts:
            _parts(rt, shops, args.repeat)
        for days in (30, 365):
            ratio = results[("large", days)][0] / results[("small", days)][0]
            print(f"{days}-day dashboard, {args.large:,} / {args.small:,} ledger entries: median "
                  f"{results[('large', days)][0]:.1f} ms / {results[('small', days)][0]:.1f} ms = {ratio:.2f}"
                  f" ({'within' if ratio <= 1.5 else 'OVER'} the 1.5x bound)")
        rt.close()


def _drop_indexes(conn, tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' indexes that back no constraint; return the statements that make them again."""
    from sqlalchemy import text

    rows = conn.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(:tables) AND i.schemaname = 'public' "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"), {"tables": list(tables)}).all()
    for name, _ in rows:
        conn.execute(text(f'DROP INDEX "{name}"'))
    return [ddl for _, ddl in rows]


def _parts(rt, shops, repeat: int) -> None:
    """The median time of each repository query of the 365-day dashboard, per shop."""
    from datetime import timedelta

    from plugin_app.services.analytics import local_midnight
    from plugin_app.storage.analytics_repo import DashboardRepo

    end = rt.clock.now().date()
    start = end - timedelta(days=364)
    since, before, now = local_midnight(start, "Europe/Rome"), local_midnight(end, "Europe/Rome", 1), rt.clock.now()
    calls = {"daily": lambda r: r.daily(start, end), "orders_daily": lambda r: r.orders_daily(start, end),
             "outstanding": lambda r: r.outstanding(), "enrolments": lambda r: r.enrolments(since, before, "Europe/Rome"),
             "active_members": lambda r: r.active_members(start, end), "order_groups": lambda r: r.order_groups(since, before),
             "tiers": lambda r: r.tiers(), "profiles": lambda r: r.profiles(), "codes": lambda r: r.codes(since, before),
             "cohort_members": lambda r: r.cohort_members(since, before),
             "expiring": lambda r: r.expiring(now, now + timedelta(days=30))}
    for label, (shop, _key, _entries) in shops.items():
        with rt.db.reading() as conn:
            repo = DashboardRepo(conn, shop.id)
            for name, call in calls.items():
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    call(repo)
                    times.append((time.perf_counter() - t0) * 1000)
                print(f"  {label:5s} {name:15s} median {statistics.median(times):7.2f} ms")


if __name__ == "__main__":
    main()
