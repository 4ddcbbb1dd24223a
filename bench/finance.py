"""The finance reports (services.finance: liability at a past instant, ageing by lot, breakage,
the expiring forecast, a month's journal and its CSV) on a small shop (10,000 ledger entries) and
a large one (default 1,000,000), in one database and one run, each next to a bare baseline on the
same server: a plain SELECT sum over the same rows the report must read (the entries up to the
instant, the shop's lots, its draws, the month's entries). Printed per report: median time,
the baseline's, report / baseline, large / small for both, and the peak Python memory of one
call (tracemalloc, measured in a separate call so it does not slow the timed ones).

The ledger is generated set-based in SQL, spread over two years: points earned on orders (one
lot each, expiring a year after earning), points redeemed and expired (each drawn from an
earlier lot, so lots past their date are closed: breakage has history), store credit earned
(a lot without expiry); the same members in both shops (only the ledger grows).

    .venv/bin/python bench/finance.py [--entries 1000000] [--small 10000] [--members 2000] [--repeat 3]

Creates its own database on BENCH_DATABASE_URL (default: TEST_DATABASE_URL's server) and drops
it afterwards. Not a test: prints figures only.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database  # noqa: E402

# g % 10: 0-5 points earned (a lot each), 7 points redeemed (drawn from the lot of g - 7), 8 store
# credit earned (a lot, no expiry), 9 points expired (drawn from the lot of g - 8), 6 points adjusted up.
FILL = """
INSERT INTO members (shop_id, platform_customer_id, created_at, updated_at)
SELECT :shop, 'c' || g, now() - interval '800 days', now() FROM generate_series(1, :members) g;
INSERT INTO ledger_entries (shop_id, member_id, asset, kind, source, reason, idempotency_key, request_hash,
                            amount, points, points_lifetime, credit, credit_lifetime, created_at)
SELECT :shop, m.id, CASE WHEN g % 10 = 8 THEN 'credit' ELSE 'points' END,
       CASE g % 10 WHEN 7 THEN 'redeem' WHEN 9 THEN 'expire' WHEN 6 THEN 'adjust' ELSE 'earn' END,
       CASE g % 10 WHEN 7 THEN 'cart' WHEN 9 THEN 'expiry' WHEN 6 THEN 'admin' ELSE 'order' END, 'bench',
       'g' || g, '', CASE WHEN g % 10 = 8 THEN 2.5 ELSE 10 END,
       CASE WHEN g % 10 IN (7, 9) THEN -10 WHEN g % 10 = 8 THEN 0 ELSE 10 END,
       CASE WHEN g % 10 IN (7, 8, 9) THEN 0 ELSE 10 END,
       CASE WHEN g % 10 = 8 THEN 2.5 ELSE 0 END, CASE WHEN g % 10 = 8 THEN 2.5 ELSE 0 END,
       now() - ((:entries - g)::bigint * :span / :entries) * interval '1 second'
FROM generate_series(1, :entries) g JOIN members m ON m.shop_id = :shop AND m.platform_customer_id = 'c' || (1 + g % :members);
INSERT INTO lots (shop_id, member_id, asset, entry_id, amount, remaining, pending, expires_at, created_at)
SELECT e.shop_id, e.member_id, e.asset, e.id, e.amount,
       CASE WHEN e.asset = 'credit' THEN e.amount
            WHEN substr(e.idempotency_key, 2)::bigint % 10 IN (0, 1) THEN 0
            WHEN e.created_at + interval '365 days' <= now() THEN 0 ELSE 10 END,
       false, CASE WHEN e.asset = 'points' THEN e.created_at + interval '365 days' END, e.created_at
FROM ledger_entries e WHERE e.shop_id = :shop AND e.kind IN ('earn', 'adjust');
ANALYZE ledger_entries;
ANALYZE lots;
INSERT INTO lot_draws (shop_id, entry_id, lot_id, amount)
SELECT :shop, d.id, l.id, 10
FROM ledger_entries d
JOIN ledger_entries s ON s.shop_id = :shop
     AND s.idempotency_key = 'g' || (substr(d.idempotency_key, 2)::bigint - CASE WHEN d.kind = 'redeem' THEN 7 ELSE 8 END)
JOIN lots l ON l.entry_id = s.id
WHERE d.shop_id = :shop AND d.kind IN ('redeem', 'expire')
"""

# The bare baselines: one plain aggregate over the rows each report has to read.
BASELINES = {
    "liability": "SELECT sum(points + credit) FROM ledger_entries WHERE shop_id = :shop AND created_at <= :at",
    "ageing": "SELECT sum(remaining), count(*) FROM lots WHERE shop_id = :shop",
    "breakage": "SELECT sum(amount) FROM lot_draws WHERE shop_id = :shop",
    "expiring": "SELECT sum(remaining) FROM lots WHERE shop_id = :shop AND remaining > 0 AND expires_at IS NOT NULL",
    "journal": "SELECT sum(points + credit) FROM ledger_entries WHERE shop_id = :shop "
               "AND created_at >= :since AND created_at <= :until",
}
BASELINES["journal_csv"] = BASELINES["journal"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def median_ms(call, repeat: int) -> float:
    call()  # warm (plans, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def peak_python_mb(call) -> float:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000, help="ledger entries of the large shop")
    ap.add_argument("--small", type=int, default=10_000, help="ledger entries of the small shop")
    ap.add_argument("--members", type=int, default=2_000, help="the same for both shops: only the ledger grows")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from sqlalchemy import text

    from plugin_app.domain import finance as dfin
    from plugin_app.runtime import Runtime
    from plugin_app.settings import Settings

    with bench_database("loyalty_finance") as (url, key, _redis):
        rt = Runtime(Settings().with_overrides({"database_url": url, "jobs_mode": "eager", "encryption_keys": (key,),
                                                "log_level": "WARNING"}))
        tz = "Europe/Rome"
        shops = {}
        for label, entries in (("small", args.small), ("large", args.entries)):
            shop, _ = rt.shops.register("demo", f"{label}.finance.bench", currency="EUR", timezone=tz)
            rt.programs.put(shop.id, {"timezone": tz, "expiry": {"mode": "age", "months": 12}}, author="bench")
            start = time.perf_counter()
            with rt.db.transaction() as conn:
                for statement in filter(str.strip, FILL.split(";\n")):
                    params = {"shop": shop.id, "entries": entries, "members": args.members, "span": 730 * 86400}
                    conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
            print(f"{label}: {entries:,} ledger entries (+ lots and draws) generated in "
                  f"{time.perf_counter() - start:.1f} s")
            shops[label] = (shop, entries)
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # the steady state autovacuum keeps

        fin, now = rt.finance, rt.clock.now()
        past = now - timedelta(days=180)  # liability and ageing at a past instant
        today = now.date()
        month_end = today.replace(day=1) - timedelta(days=1)  # last whole month
        month = (month_end.replace(day=1).isoformat(), month_end.isoformat())
        since, until = dfin.day_start(date.fromisoformat(month[0]), tz), dfin.day_end(month_end, tz)

        def reports(shop_id: int) -> dict:
            return {
                "liability": lambda: fin.liability(shop_id, "EUR", past),
                "ageing": lambda: fin.ageing(shop_id, "EUR", past),
                "breakage": lambda: fin.breakage(shop_id, "EUR"),
                "expiring": lambda: fin.forecast(shop_id, "EUR", tz),
                "journal": lambda: fin.journal(shop_id, "EUR", tz, *month),
                "journal_csv": lambda: fin.journal_csv(fin.journal(shop_id, "EUR", tz, *month)),
            }

        def baseline(shop_id: int, name: str):
            def run():
                with rt.db.reading() as conn:
                    conn.execute(text(BASELINES[name]), {"shop": shop_id, "at": past, "since": since,
                                                         "until": until}).all()
            return run

        results: dict = {}
        print(f"\n{'report':12s} {'shop':5s} {'entries':>10s} {'median ms':>10s} {'baseline ms':>12s} "
              f"{'x baseline':>10s} {'peak MB':>8s}")
        for name in reports(0):
            for label, (shop, entries) in shops.items():
                call = reports(shop.id)[name]
                ms = median_ms(call, args.repeat)
                base = median_ms(baseline(shop.id, name), args.repeat)
                mb = peak_python_mb(call)
                results[(name, label)] = (ms, base, mb)
                print(f"{name:12s} {label:5s} {entries:>10,} {ms:10.1f} {base:12.1f} {ms / base:10.1f} {mb:8.2f}")
        print(f"\nlarge / small ({args.entries:,} / {args.small:,} ledger entries = "
              f"{args.entries / args.small:,.0f}x):")
        print(f"{'report':12s} {'report':>8s} {'baseline':>9s} {'peak MB':>8s}")
        for name in reports(0):
            (ms_l, base_l, mb_l), (ms_s, base_s, mb_s) = results[(name, "large")], results[(name, "small")]
            print(f"{name:12s} {ms_l / ms_s:8.1f} {base_l / base_s:9.1f} {mb_l / mb_s if mb_s else 0:8.1f}")
        print(f"\npeak RSS of the process: {peak_rss_mb():.0f} MB")
        rt.close()


if __name__ == "__main__":
    main()
