"""Flat scale (issue 22): the storefront's balance read (`GET /storefront/v1/me`) and a 5-line
cart quote (`POST /storefront/v1/cart/quote`) keep their p99 within 1.25x between a shop of ten
thousand members and one of ten million (100 million ledger entries).

    .venv/bin/python bench/scale.py [--members 10000000] [--entries-per-member 10]
                                    [--small-members 10000] [--seconds 10] [--sample 1000]
                                    [--keep] [--reuse NAME]

Two PostgreSQL databases, one shop each, built alike: the small one with --small-members members,
the large one with --members, both with --entries-per-member ledger entries a member. Two
databases rather than two shops in one, because what is compared is the size of the tables: in
one database the small shop's lookups would go down the same big indexes and share the buffer
cache with the big shop's pages, and "small" would already be large.

The fill is set-based SQL (INSERT ... SELECT generate_series), its time printed. Per member:
entries in rounds (round k holds every member's k-th entry, so a member's entries lie far apart
in the table, as a year of orders puts them), spread over the past year; every fifth entry a
redemption of 10 points, the others earnings of 10 points with a lot each (expiring a year after
the earning; the redemptions have spent the member's oldest lots); the balance row the sum of the
entries; a referral code. The secondary indexes of the big tables are dropped for the fill and
built after it (the migrations' own definitions, read back from pg_indexes), then VACUUM ANALYZE.
The books are then checked with the audit (plugin_app/services/audit.py `run_audit`, its reads
restricted to a random sample of members): balances = the sum of their entries, lots = available.

Then the app and the bare baseline are served (bench/harness.py `served`) against each database,
and for a random sample of members (--sample, each with their own signed token, so the widget's
one-second summary cache does not hide the tables) the two requests are measured:
phase 1, closed loop (wrk 2 x 32 going round the sample): the throughput on each database
(alternating too);
phase 2, open loop (bench/openloop.py) at the same fixed rate on both (--rate, by default half
the small database's phase-1 throughput of that request, so neither side is a queue): p50/p99
side by side and the ratio large / small against the 1.25 bound. The open-loop runs alternate
small, large, large, small (half the time each) so that what else the machine does weighs on both.

--keep leaves the databases in place (their names are printed); --reuse NAME takes a large
database kept before instead of filling one again (the fill is the slow part; its time is
printed). The database keeps its encryption key and shop in a `bench_scale` table of its own.

`make bench` runs this last with --members 1000000 (10 million entries, as bench/analytics.py)
rather than the default 100 million: on the 2-core machine this was written on the fill went at
about 8 microseconds an entry plus as much again for the indexes and constraints afterwards
(1.2 million entries: 65 s), so 100 million would take one and a half to two hours and tens of
GB of disk, which would make `make bench` impractical. Run the default by hand for the issue's
figure, with --keep, and --reuse NAME afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import served, server_env  # noqa: E402
from bench.openloop import Request, closed_loop, open_loop, summarize, warm  # noqa: E402

BOUND = 1.25

# :n members, :e entries each; ids of this fill's members are contiguous from :m0, entries from :e0.
FILL = """
INSERT INTO members (shop_id, platform_customer_id, created_at, updated_at)
SELECT CAST(:shop AS bigint), :prefix || g, now() - interval '400 days' + (g % 365) * interval '1 day', now()
FROM generate_series(1, CAST(:n AS bigint)) g;
INSERT INTO ledger_entries (shop_id, member_id, asset, kind, source, reason, idempotency_key, request_hash,
                            amount, points, points_lifetime, created_at)
SELECT CAST(:shop AS bigint), CAST(:m0 AS bigint) + g % CAST(:n AS bigint), 'points', CASE WHEN (g / CAST(:n AS bigint) + 1) % 5 = 0 THEN 'redeem' ELSE 'earn' END,
       'order', 'bench', 'g' || g, '', 10,
       CASE WHEN (g / CAST(:n AS bigint) + 1) % 5 = 0 THEN -10 ELSE 10 END, CASE WHEN (g / CAST(:n AS bigint) + 1) % 5 = 0 THEN 0 ELSE 10 END,
       now() - interval '365 days' + (g::float8 / (CAST(:n AS bigint) * CAST(:e AS bigint))) * interval '364 days'
FROM generate_series(0, CAST(:n AS bigint) * CAST(:e AS bigint) - 1) g;
INSERT INTO lots (shop_id, member_id, asset, entry_id, amount, remaining, pending, expires_at, created_at)
SELECT e.shop_id, e.member_id, 'points', e.id, 10,
       CASE WHEN ((e.id - CAST(:e0 AS bigint)) / CAST(:n AS bigint) + 1) - ((e.id - CAST(:e0 AS bigint)) / CAST(:n AS bigint) + 1) / 5 <= CAST(:e AS bigint) / 5 THEN 0 ELSE 10 END,
       false, e.created_at + interval '365 days', e.created_at
FROM ledger_entries e WHERE e.shop_id = CAST(:shop AS bigint) AND e.kind = 'earn';
INSERT INTO balances (member_id, shop_id, currency, points, points_lifetime, updated_at)
SELECT id, shop_id, :currency, 10 * ((CAST(:e AS bigint) - CAST(:e AS bigint) / 5) - CAST(:e AS bigint) / 5), 10 * (CAST(:e AS bigint) - CAST(:e AS bigint) / 5), now()
FROM members WHERE shop_id = CAST(:shop AS bigint);
INSERT INTO referral_codes (member_id, shop_id, code, created_at)
SELECT id, shop_id, 'R' || to_hex(id), now() FROM members WHERE shop_id = CAST(:shop AS bigint)
"""


def admin_engine():
    from sqlalchemy import create_engine

    from plugin_app.settings import normalize_database_url

    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
        "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    server = normalize_database_url(base).rsplit("/", 1)[0]
    return server, create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")


@contextmanager
def scale_database(label: str, members: int, per_member: int, *, keep: bool, reuse: str | None,
                   shop_offset: int):
    """A database with one shop of `members` members (filled here), or the kept database
    `reuse`. Yields (url, key, shop id, widget key, customer prefix, members)."""
    from cryptography.fernet import Fernet
    from sqlalchemy import text

    from plugin_app.runtime import Runtime
    from plugin_app.settings import Settings
    from plugin_app.storage.migrate import upgrade

    server, admin = admin_engine()
    name = reuse or f"loyalty_scale_{label}_{uuid.uuid4().hex[:8]}"
    url = f"{server}/{name}"
    created = reuse is None
    try:
        if created:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            upgrade(url)
            key, prefix = Fernet.generate_key().decode(), f"{label[0]}"
            rt = Runtime(Settings().with_overrides(dict(database_url=url, encryption_keys=(key,))))
            with rt.db.transaction() as conn:  # shop ids differ between the databases: Redis keys too
                conn.execute(text("SELECT setval(pg_get_serial_sequence('shops', 'id'), :v)"), {"v": shop_offset})
            shop, _ = rt.shops.register("demo", f"{label}.scale.bench")
            t0 = time.perf_counter()
            fill(rt, shop, members, per_member, prefix)
            print(f"{label}: {members:,} members, {members * per_member:,} ledger entries generated in "
                  f"{time.perf_counter() - t0:.1f} s ({name})", flush=True)
            with rt.db.transaction() as conn:
                conn.execute(text("CREATE TABLE bench_scale (key text, shop_id bigint, prefix text, members bigint, "
                                  "entries_per_member int)"))
                conn.execute(text("INSERT INTO bench_scale VALUES (:k, :s, :p, :m, :e)"),
                             {"k": key, "s": shop.id, "p": prefix, "m": members, "e": per_member})
        else:
            from sqlalchemy import create_engine
            eng = create_engine(url)
            with eng.connect() as conn:
                key, shop_id, prefix, members, per_member = conn.execute(text("SELECT * FROM bench_scale")).one()
            eng.dispose()
            rt = Runtime(Settings().with_overrides(dict(database_url=url, encryption_keys=(key,))))
            shop = rt.shops.get(shop_id)
            print(f"{label}: reusing {name}: {members:,} members, {members * per_member:,} ledger entries", flush=True)
        audit_sample(rt, shop.id, label)
        rt.close()
        yield url, key, shop, prefix, members
    finally:
        if keep or not created:
            print(f"{label}: kept database {name} (--reuse {name})")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill(rt, shop, members: int, per_member: int, prefix: str) -> None:
    from sqlalchemy import text

    from bench.analytics import _drop_indexes

    with rt.db.transaction() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        big = members * per_member >= 1_000_000
        tables = ("ledger_entries", "lots", "members", "balances", "referral_codes")
        # big fills: the tables' unique and foreign-key constraints and secondary indexes go for
        # the fill and come back after it, as the database itself defines them (read back here)
        rebuild = (_drop_constraints(conn, tables) + _drop_indexes(conn, tables)) if big else []
        m0 = conn.execute(text("SELECT coalesce(max(id), 0) + 1 FROM members")).scalar()
        e0 = conn.execute(text("SELECT coalesce(max(id), 0) + 1 FROM ledger_entries")).scalar()
        params = {"shop": shop.id, "n": members, "e": per_member, "m0": m0, "e0": e0, "prefix": prefix,
                  "currency": shop.currency}
        steps = []
        for statement in filter(str.strip, FILL.split(";\n")):
            t0 = time.perf_counter()
            conn.execute(text(statement), params)
            steps.append(f"{statement.split()[2]} {time.perf_counter() - t0:.1f} s")
        got = conn.execute(text("SELECT min(id), max(id) FROM members WHERE shop_id = :s"), {"s": shop.id}).one()
        assert tuple(got) == (m0, m0 + members - 1), f"members' ids not contiguous: {got}"
        t0 = time.perf_counter()
        for ddl in sorted(rebuild, key=lambda d: (" FOREIGN KEY " in d, d)):  # indexes, unique, then foreign keys
            conn.execute(text(ddl))
        steps.append(f"{len(rebuild)} indexes and constraints again {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does to tables this fresh: the steady state
        # The fill's dirty pages written out now, not by a checkpoint in the middle of the first
        # measurement (a run stalled 0.5 s, the load generator with it, until this was added).
        conn.execute(text("CHECKPOINT"))
    steps.append(f"vacuum analyze and checkpoint {time.perf_counter() - t0:.1f} s")
    print("  " + ", ".join(steps), flush=True)


def _drop_constraints(conn, tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' unique and foreign-key constraints; return the statements that add them
    again (their definitions as the database holds them)."""
    from sqlalchemy import text

    rows = conn.execute(text(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.conrelid = ANY(CAST(:tables AS regclass[])) AND c.contype IN ('u', 'f') ORDER BY c.contype DESC"),
        {"tables": list(tables)}).all()
    for table, name, _ in sorted(rows, key=lambda r: " FOREIGN KEY " not in r[2]):  # foreign keys first
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    return [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}' for table, name, ddl in rows]


def audit_sample(rt, shop_id: int, label: str, size: int = 200) -> None:
    """The audit (run_audit) over a random sample of the shop's members: every read it makes
    restricted to them. Exits when the books are not sound."""
    from sqlalchemy import text

    from plugin_app.services import audit
    from plugin_app.storage.audit_repo import AuditRepo

    with rt.db.transaction() as conn:
        lo, hi = conn.execute(text("SELECT min(id), max(id) FROM members WHERE shop_id = :s"), {"s": shop_id}).one()
    sample = sorted({lo, hi, *(random.randint(lo, hi) for _ in range(size))})

    class Sampled(AuditRepo):
        def _scope(self, table):
            return (table.c.shop_id == self.shop_id) & table.c.member_id.in_(sample)

    t0 = time.perf_counter()
    with mock.patch.object(audit, "AuditRepo", Sampled):
        report = audit.run_audit(rt.db, shop_id)
    print(f"{label}: audit of {report.members} sampled members, {report.entries} entries: "
          f"{'sound' if report.ok else 'NOT SOUND'} ({time.perf_counter() - t0:.1f} s)", flush=True)
    if not report.ok or report.members != len(sample):
        sys.exit(f"{label}: the generated books fail the audit: {report.problems[:5]}")


def sample_requests(url: str, key: str, shop, prefix: str, members: int, size: int, seed: int):
    """Per sampled member their own token: (the /me requests, the 5-line quote requests)."""
    from plugin_app.runtime import Runtime
    from plugin_app.services import identity
    from plugin_app.settings import Settings

    rt = Runtime(Settings().with_overrides(dict(database_url=url, encryption_keys=(key,))))
    secret = rt.shops.widget_secret(shop.id)
    rt.close()
    rng = random.Random(seed)
    cart = json.dumps({"currency": shop.currency, "lines": [
        {"product_id": f"p{i}", "quantity": 1 + i % 3, "price": f"{10 + i % 40}.90", "collections": ["c1"]}
        for i in range(5)]}).encode()
    me, quote = [], []
    for n in rng.sample(range(1, members + 1), min(size, members)):
        token = identity.sign(shop.id, f"{prefix}{n}", secret, ttl=7200)
        auth = {"Authorization": f"Bearer {token}"}
        me.append(Request("GET", f"/storefront/v1/me?shop={shop.widget_key}", b"", auth))
        quote.append(Request("POST", f"/storefront/v1/cart/quote?shop={shop.widget_key}", cart,
                             {**auth, "Content-Type": "application/json"}))
    return me, quote


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=10_000_000, help="members of the large database")
    ap.add_argument("--entries-per-member", type=int, default=10)
    ap.add_argument("--small-members", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=10, help="each measurement")
    ap.add_argument("--sample", type=int, default=1000, help="members whose tokens the requests go round")
    ap.add_argument("--rate", type=float, default=None,
                    help="open-loop requests a second (default: half the small database's closed-loop throughput)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--keep", action="store_true", help="keep both databases afterwards")
    ap.add_argument("--reuse", metavar="NAME", help="a large database kept by --keep, instead of a new fill")
    args = ap.parse_args()

    import redis

    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    redis.Redis.from_url(redis_url).flushdb()
    sides = {}
    with ExitStack() as stack:
        for label, members, reuse, offset in (("small", args.small_members, None, 100),
                                              ("large", args.members, args.reuse, 200)):
            url, key, shop, prefix, members = stack.enter_context(scale_database(
                label, members, args.entries_per_member, keep=args.keep, reuse=reuse, shop_offset=offset))
            env = server_env(url, key, redis_url, args.threads, unlimited=True)
            app_port, hello_port = stack.enter_context(served(env, args.workers))
            me, quote = sample_requests(url, key, shop, prefix, members, args.sample, seed=len(label))
            sides[label] = {"port": app_port, "hello": hello_port, "members": members,
                            "entries": members * args.entries_per_member, "me": me, "quote": quote}
        print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread) on each database; "
              f"{args.sample} members' tokens a side")
        out = {}
        for what, title in (("me", "balance GET /me"), ("quote", "quote, 5 lines")):
            for side in sides.values():  # warm: connections, the workers' first requests, the sampled pages
                warm(side["port"], side[what])
            # small, large, large, small (half the time each): the throughput over both halves
            halves = {label: [] for label in sides}
            for label in ("small", "large", "large", "small"):
                halves[label].append(closed_loop(sides[label]["port"], max(1.0, args.seconds / 2), sides[label][what]))
            closed = {label: {**h[0], "rps": sum(x["rps"] for x in h) / len(h), "errors": sum(x["errors"] for x in h),
                              "p50_ms": max(x["p50_ms"] for x in h), "p99_ms": max(x["p99_ms"] for x in h)}
                      for label, h in halves.items()}
            rate = args.rate or closed["small"]["rps"] / 2
            print(f"{title}: phase 1, closed loop ({closed['small']['tool']}), small, large, large, small, "
                  f"{max(1, round(args.seconds / 2))} s each (the higher p50 and p99 of the two halves)")
            for label, r in closed.items():
                print(f"  {label} ({sides[label]['entries']:>11,} entries) {r['rps']:8.0f} req/s"
                      f"   (closed-loop p50 {r['p50_ms']:6.2f} ms, p99 {r['p99_ms']:6.2f} ms)   errors {r['errors']}")
            lat = {label: [] for label in sides}
            runs = {label: [] for label in sides}
            for label in ("small", "large", "large", "small"):
                r = open_loop(sides[label]["port"], rate, args.seconds / 2, sides[label][what], keep_latencies=True,
                              seed=len(runs[label]) + 1)
                lat[label] += r.pop("latencies")
                runs[label].append(r)
            bare = open_loop(sides["small"]["hello"], rate, args.seconds / 2,
                             Request(sides["small"][what][0].method, sides["small"][what][0].path,
                                     sides["small"][what][0].body, sides["small"][what][0].headers))
            print(f"{title}: phase 2, open loop at {rate:.0f} req/s on both, {args.seconds:g} s each "
                  f"(latency from each request's due time)")
            figs = {}
            for label in sides:
                s = summarize(lat[label])
                errors = sum(r["errors"] for r in runs[label])
                lag = max(r["lag_p99_ms"] for r in runs[label])
                figs[label] = {**s, "errors": errors, "client_lag_p99_ms": lag}
                print(f"  {label} ({sides[label]['entries']:>11,} entries)   p50 {s['p50_ms']:7.2f} ms   p99 {s['p99_ms']:7.2f} ms"
                      f"   max {s['max_ms']:7.1f} ms   errors {errors}   client lag p99 {lag:.2f} ms")
            print(f"  bare hello-world (same rate, {args.seconds / 2:g} s)   p50 {bare['p50_ms']:7.2f} ms   "
                  f"p99 {bare['p99_ms']:7.2f} ms")
            ratio = figs["large"]["p99_ms"] / max(figs["small"]["p99_ms"], 1e-9)
            p50_ratio = figs["large"]["p50_ms"] / max(figs["small"]["p50_ms"], 1e-9)
            ok = ratio <= BOUND and not figs["large"]["errors"] and not figs["small"]["errors"]
            print(f"  {title}: p99 large / small = {figs['large']['p99_ms']:.2f} / {figs['small']['p99_ms']:.2f} ms"
                  f" = {ratio:.2f} ({'within' if ok else 'OVER'} the {BOUND}x bound); p50 {p50_ratio:.2f}x;"
                  f" throughput {closed['large']['rps'] / closed['small']['rps']:.2f}x")
            out[what] = {"rate": round(rate), "small_rps": round(closed["small"]["rps"]),
                         "large_rps": round(closed["large"]["rps"]),
                         "small_p50_ms": round(figs["small"]["p50_ms"], 2), "small_p99_ms": round(figs["small"]["p99_ms"], 2),
                         "large_p50_ms": round(figs["large"]["p50_ms"], 2), "large_p99_ms": round(figs["large"]["p99_ms"], 2),
                         "p99_ratio": round(ratio, 3), "within_bound": ok,
                         "bare_p99_ms": round(bare["p99_ms"], 2)}
        print(json.dumps({"small_entries": sides["small"]["entries"], "large_entries": sides["large"]["entries"],
                          "closed_tool": closed["small"]["tool"].split(" ")[0], **out}))


if __name__ == "__main__":
    main()
