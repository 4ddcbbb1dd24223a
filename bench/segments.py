"""Segments at scale (issue 20): a shop of N members (default 1,000,000) with profiles and
balances generated set-based, a segment over them created (its full, set-based recompute),
recomputed unchanged, edited (members leave and enter; above `segment_sync_members` members
both run as a job, which the bench runs at once), next to a bare baseline: a plain
`SELECT count(*)` with the same predicate, on the same server in the same run; the same for a
segment on a product, and one on a collection, bought within a year (two products bought per
member, `member_purchases`, and their collections). Then the per-event
cost: an order paid through the service (earning, tiers, the profile rebuilt from the member's
orders, the member evaluated against every segment of the shop), and the segment step alone, in
the big shop and in a shop of 10,000 members (bounded: it does not grow with the shop); and what
the request alone costs when the job is queued, not run.

    .venv/bin/python bench/segments.py [--members 1000000] [--events 200]

Creates its own database on BENCH_DATABASE_URL (default: TEST_DATABASE_URL's server) and drops
it afterwards. Not a test: prints figures only.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from plugin_app.domain.earning import Order, OrderLine  # noqa: E402
from plugin_app.domain.segments import parse_rule  # noqa: E402
from plugin_app.runtime import Runtime  # noqa: E402
from plugin_app.services.segments import groups_digest  # noqa: E402
from plugin_app.settings import Settings, normalize_database_url  # noqa: E402
from plugin_app.storage.migrate import upgrade  # noqa: E402

BASE = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
RULE = {"all": [{"field": "lifecycle", "op": "in", "value": ["at_risk", "lapsed"]},
                {"field": "points_balance", "op": "gte", "value": 100}]}
EDITED = {"all": [{"field": "lifecycle", "op": "in", "value": ["at_risk", "lapsed", "win_back"]},
                  {"field": "points_balance", "op": "gte", "value": 300}]}
BOUGHT = {"all": [{"field": "bought_product", "op": "has", "value": ["57", "58"], "days": 365},
                  {"field": "points_balance", "op": "gte", "value": 100}]}
BOUGHT_GROUP = {"all": [{"field": "bought_collection", "op": "has", "value": "c7", "days": 365},
                        {"field": "points_balance", "op": "gte", "value": 100}]}
OTHERS = [
    {"all": [{"field": "orders_count", "op": "gte", "value": 5}]},
    {"any": [{"field": "monetary_score", "op": "eq", "value": 5}, {"field": "recency_score", "op": "gte", "value": 4}]},
    {"all": [{"field": "days_since_last_order", "op": "between", "value": [30, 90]}]},
    {"all": [{"field": "birthday_month", "op": "eq", "value": 12}, {"field": "tier", "op": "none"}]},
]


def server_url(name: str) -> str:
    return normalize_database_url(BASE).rsplit("/", 1)[0] + "/" + name


def generate(conn, shop_id: int, n: int, prefix: str) -> None:
    """`n` members with balances and profiles, set-based (generate_series), like a shop's years."""
    conn.execute(text("""
        INSERT INTO members (shop_id, platform_customer_id, email, birthday, created_at, updated_at)
        SELECT :shop, :prefix || g, :prefix || g || '@example.com',
               CASE WHEN g % 3 = 0 THEN date '1980-01-01' + (g % 9000) END,
               now() - ((g % 1500) || ' days')::interval, now()
        FROM generate_series(1, :n) g"""), dict(shop=shop_id, n=n, prefix=prefix))
    conn.execute(text("""
        INSERT INTO balances (member_id, shop_id, currency, points, updated_at)
        SELECT id, shop_id, 'EUR', (id * 7919) % 1000, now() FROM members WHERE shop_id = :shop"""), dict(shop=shop_id))
    conn.execute(text("""
        INSERT INTO member_profiles (member_id, shop_id, orders_count, lifetime_value, first_order_at,
                                     prev_order_at, last_order_at, last_gap_days, average_days_between,
                                     lifecycle, updated_at)
        SELECT id, shop_id, c, c * 37.5, now() - ((d + c * 20) || ' days')::interval,
               CASE WHEN c > 1 THEN now() - ((d + 20) || ' days')::interval END,
               now() - (d || ' days')::interval, CASE WHEN c > 1 THEN 20 END, CASE WHEN c > 1 THEN 20 END,
               NULL, now()
        FROM (SELECT id, shop_id, (id * 31) % 9 AS c, (id * 17) % 700 AS d FROM members WHERE shop_id = :shop) s
        WHERE c > 0"""), dict(shop=shop_id))
    # what they bought: two of products 50-149 each, and each product's collection (c0-c9), which
    # the catalog cache knows (the digest is what the service would have grouped them under)
    conn.execute(text("""
        INSERT INTO catalog_products (shop_id, product_id, collections, categories, tags, fetched_at, stale)
        SELECT :shop, g::text, json_build_array(json_build_object('id', 'c' || (g % 10))), '[]', '[]', now(), false
        FROM generate_series(50, 149) g"""), dict(shop=shop_id))
    digests = ", ".join(f"('{pid}', '{groups_digest({f'c{pid % 10}'})}')" for pid in range(50, 150))
    conn.execute(text(f"""
        INSERT INTO member_purchases (member_id, kind, ref, shop_id, first_at, last_at, groups)
        SELECT id, 'product', ((id * k * 13) % 50 + k * 50)::text, shop_id,
               now() - (((id * k * 7) % 900) || ' days')::interval, now() - (((id * k * 3) % 700) || ' days')::interval,
               d.digest
        FROM members, (VALUES (1), (2)) AS two(k), (VALUES {digests}) AS d(pid, digest)
        WHERE shop_id = :shop AND d.pid = ((id * k * 13) % 50 + k * 50)::text"""), dict(shop=shop_id))
    conn.execute(text("""
        INSERT INTO member_purchases (member_id, kind, ref, shop_id, first_at, last_at)
        SELECT member_id, 'group', 'c' || (ref::int % 10), shop_id, min(first_at), max(last_at)
        FROM member_purchases WHERE shop_id = :shop AND kind = 'product'
        GROUP BY member_id, shop_id, ref::int % 10"""), dict(shop=shop_id))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def per_event(rt, shop_id: int, events: int, prefix: str, n: int) -> tuple[float, float]:
    """Median ms of (an order paid through the service, the segment step alone) for random members."""
    rnd = random.Random(n)
    paid, step = [], []
    for i in range(events):
        cust = f"{prefix}{rnd.randint(1, n)}"
        order = Order(f"{prefix}o{i}", "EUR", rt.clock.now(),
                      (OrderLine(f"{prefix}l{i}", 1, Decimal("42.00"), Decimal(0), product_id=str(rnd.randint(50, 149))),),
                      cust)
        paid.append(timed(lambda: rt.orders.on_paid(shop_id, order)))
        with rt.db.uow(shop_id) as uow:
            mid = uow.conn.execute(text("SELECT id FROM members WHERE shop_id = :s AND platform_customer_id = :c"),
                                   dict(s=shop_id, c=cust)).scalar_one()
        def one():
            with rt.db.uow(shop_id) as uow:
                rt.segments.refresh_member(uow, mid, profile=True)
        step.append(timed(one))
    return statistics.median(paid) * 1000, statistics.median(step) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=200)
    args = ap.parse_args()
    name = f"loyalty_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server_url(name)
    try:
        upgrade(url)
        rt = Runtime(Settings().with_overrides(dict(database_url=url, jobs_mode="eager",
                                                    encryption_keys=("x" * 43 + "=",))))
        big, _ = rt.shops.register("demo", "bench-segments.example")
        small, _ = rt.shops.register("demo", "bench-segments-small.example")
        engine = create_engine(url)
        gen = time.perf_counter()
        with engine.begin() as conn:
            generate(conn, big.id, args.members, "m")
            generate(conn, small.id, 10_000, "s")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        print(f"bench/segments.py: PostgreSQL; {args.members:,} members with profiles and balances generated "
              f"in {time.perf_counter() - gen:.1f} s")

        program = rt.programs.current(big.id).program

        def baseline(rule):
            with rt.db.uow(big.id) as uow:
                q = rt.segments.matching(uow.conn, big.id, program, parse_rule(rule), rt.clock.now()).subquery()
                return uow.conn.execute(select(func.count()).select_from(q)).scalar_one()

        holder = {}
        base_s = timed(lambda: holder.update(count=baseline(RULE)))
        create_s = timed(lambda: holder.update(seg=rt.segments.create(big.id, "at risk with points", RULE)))
        seg = holder["seg"]
        assert seg["members_count"] == holder["count"], (seg["members_count"], holder["count"])

        def recompute():
            with rt.db.uow(big.id) as uow:
                holder["moves"] = rt.segments.recompute(uow, seg["id"], quiet=True)
        same_s = timed(recompute)
        edit_base_s = timed(lambda: holder.update(count2=baseline(EDITED)))
        edit_s = timed(lambda: holder.update(seg2=rt.segments.update(big.id, seg["id"], "edited", EDITED)))
        assert holder["seg2"]["members_count"] == holder["count2"]
        print(f"\nsegment over {args.members:,} members: {seg['members_count']:,} match "
              f"(edited rule: {holder['count2']:,})")
        print(f"  baseline SELECT count(*), same predicate  {base_s:7.2f} s")
        print(f"  create (full recompute, materialised)     {create_s:7.2f} s   ({create_s / base_s:.1f}x the baseline)")
        print(f"  recompute, nothing changed                {same_s:7.2f} s   moves {holder['moves']}")
        print(f"  baseline for the edited rule              {edit_base_s:7.2f} s")
        print(f"  edit (members leave and enter)            {edit_s:7.2f} s   ({edit_s / edit_base_s:.1f}x the baseline)")
        for label, rule in (("a product", BOUGHT), ("a collection", BOUGHT_GROUP)):
            bought_base_s = timed(lambda: holder.update(count3=baseline(rule)))
            bought_s = timed(lambda: holder.update(seg3=rt.segments.create(big.id, f"bought {label}", rule)))
            assert holder["seg3"]["members_count"] == holder["count3"]
            print(f"\nsegment on {label} bought within 365 days, with points: {holder['count3']:,} match")
            print(f"  baseline SELECT count(*), same predicate  {bought_base_s:7.2f} s")
            print(f"  create (full recompute, materialised)     {bought_s:7.2f} s   "
                  f"({bought_s / bought_base_s:.1f}x the baseline)")
            rt.segments.delete(big.id, holder["seg3"]["id"])  # five segments per shop below, as before

        # The request alone in a shop above `segment_sync_members`: the segment is stored and its
        # job queued (held here, not run), then the job on its own.
        queued, run_now = [], rt.segments.enqueue
        rt.segments.enqueue = lambda task, *a, **kw: queued.append(a)
        request_s = timed(lambda: holder.update(seg4=rt.segments.create(big.id, "queued", RULE)))
        assert holder["seg4"]["status"] == "computing", holder["seg4"]
        rt.segments.enqueue = run_now
        job_s = timed(lambda: rt.segments.compute(*queued[0]))
        assert rt.segments.get(big.id, holder["seg4"]["id"])["members_count"] == holder["count"]
        print(f"\nabove {rt.segments.sync_members:,} members a new segment is computed by a job:")
        print(f"  create, the request (stored, job queued)  {request_s:7.2f} s")
        print(f"  the job (full recompute, materialised)    {job_s:7.2f} s")
        rt.segments.delete(big.id, holder["seg4"]["id"])

        for i, rule in enumerate(OTHERS):  # five segments per shop for the per-event figures
            rt.segments.create(big.id, f"other {i}", rule)
            rt.segments.create(small.id, f"other {i}", rule)
        rt.segments.create(small.id, "edited", EDITED)
        for shop, n, prefix in ((big, args.members, "m"), (small, 10_000, "s")):
            paid_ms, step_ms = per_event(rt, shop.id, args.events, prefix, n)
            print(f"\nper event, shop of {n:,} members, 5 segments ({args.events} orders, medians)")
            print(f"  order paid through the service (all of it) {paid_ms:7.2f} ms")
            print(f"  profile, purchases + 5 segments for them    {step_ms:7.2f} ms")
        rt.close()
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
