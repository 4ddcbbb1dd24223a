"""Ledger postings per second into PostgreSQL through the service layer, next to raw
single-row INSERTs (one commit each) measured in the same run with the same threads and driver.

    .venv/bin/python bench/ledger.py [--threads 8] [--postings 4000] [--members 500]

Creates its own database on BENCH_DATABASE_URL (default: TEST_DATABASE_URL's server) and drops
it afterwards. A posting is a whole earn: lock the member's balance row, check the idempotency
key, insert the entry and its lot, move the balance, commit. Not a test: prints figures only.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from plugin_app.domain.ledger import Asset, Source  # noqa: E402
from plugin_app.runtime import Runtime  # noqa: E402
from plugin_app.settings import Settings, normalize_database_url  # noqa: E402
from plugin_app.storage.migrate import upgrade  # noqa: E402

BASE = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def server_url(name: str) -> str:
    return normalize_database_url(BASE).rsplit("/", 1)[0] + "/" + name


def run_threads(threads: int, total: int, work) -> float:
    per = total // threads
    barrier = threading.Barrier(threads + 1)

    def worker(t: int) -> None:
        barrier.wait()
        for i in range(per):
            work(t, i)

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(worker, t) for t in range(threads)]
        barrier.wait()
        start = time.perf_counter()
        for f in futures:
            f.result()
    return (per * threads) / (time.perf_counter() - start)


def raw_insert(url: str, shop_id: int, members: list[int]):
    """The baseline's unit of work: one row, one commit, a connection per thread."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    local = threading.local()

    def work(t: int, i: int) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(dsn, autocommit=True)
        conn.execute("INSERT INTO bench_raw (shop_id, member_id, points) VALUES (%s, %s, %s)",
                     (shop_id, members[(t * 7919 + i) % len(members)], 10))

    return work


def _proc_worker(args: tuple) -> float:
    """One process: its own runtime, `count` postings (or raw rows) on its slice of members."""
    mode, url, shop_id, members, proc, count, threads = args
    if mode == "raw":
        work = raw_insert(url, shop_id, members)
    else:
        rt = Runtime(Settings().with_overrides(dict(
            database_url=url, jobs_mode="eager", encryption_keys=("x" * 43 + "=",))))

        def work(t: int, i: int) -> None:
            rt.ledger.earn(shop_id, members[(t * 7919 + i) % len(members)], Asset.POINTS, 10,
                           key=f"proc:{proc}:{t}:{i}", source=Source.ORDER, reason="bench order")
    return run_threads(threads, count, work)


def run_processes(mode: str, url: str, shop_id: int, members: list[int], procs: int,
                  total: int, threads: int) -> float:
    import multiprocessing

    per = total // procs
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(procs) as pool:
        start = time.perf_counter()
        pool.map(_proc_worker, [(mode, url, shop_id, members, p, per, threads) for p in range(procs)])
        # Wall time includes process start-up, which only lowers our figure, never the baseline's.
        return per * procs / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--processes", type=int, default=2, help="also measure with N processes")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--postings", type=int, default=4000)
    ap.add_argument("--members", type=int, default=500)
    args = ap.parse_args()

    name = f"loyalty_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server_url(name)
    try:
        upgrade(url)
        os.environ["DB_POOL_SIZE"] = str(args.threads)
        rt = Runtime(Settings().with_overrides(dict(
            database_url=url, jobs_mode="eager", encryption_keys=("x" * 43 + "=",))))
        shop, _ = rt.shops.register("demo", "bench.example")
        members = [rt.members.enrol(shop.id, f"c{i}")[0].id for i in range(args.members)]

        # Baseline: the bare cost of one committed row, same driver, same threads.
        raw_dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(raw_dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_raw (id bigserial primary key, shop_id bigint, "
                         "member_id bigint, points bigint, created_at timestamptz default now())")
        raw = raw_insert(url, shop.id, members)

        def post(t: int, i: int) -> None:
            rt.ledger.earn(shop.id, members[(t * 7919 + i) % len(members)], Asset.POINTS, 10,
                           key=f"bench:{t}:{i}", source=Source.ORDER, reason="bench order")

        def spend(t: int, i: int) -> None:
            rt.ledger.redeem(shop.id, members[(t * 7919 + i) % len(members)], Asset.POINTS, 5,
                             key=f"spend:{t}:{i}", source=Source.CART, reason="bench spend")

        run_threads(args.threads, min(400, args.postings), raw)  # warm-up both paths
        run_threads(args.threads, min(400, args.postings), lambda t, i: post(t, i + 10**6))
        raw_rate = run_threads(args.threads, args.postings, raw)
        earn_rate = run_threads(args.threads, args.postings, post)
        spend_rate = run_threads(args.threads, args.postings, spend)
        proc_raw = proc_earn = None
        if args.processes > 1:
            per_thread = max(1, args.threads // args.processes)
            proc_raw = run_processes("raw", url, shop.id, members, args.processes, args.postings * 2, per_thread)
            proc_earn = run_processes("earn", url, shop.id, members, args.processes, args.postings * 2, per_thread)
        from plugin_app.services.audit import run_audit

        audit = run_audit(rt.db, shop.id)
        rt.close()
        print(f"threads={args.threads} postings={args.postings} members={args.members}")
        print(f"raw single-row INSERT, commit each : {raw_rate:8.0f} rows/s   (baseline)")
        print(f"ledger earn through the service   : {earn_rate:8.0f} postings/s  "
              f"ratio {earn_rate / raw_rate:.2f}")
        print(f"ledger redeem (FIFO over lots)     : {spend_rate:8.0f} postings/s  "
              f"ratio {spend_rate / raw_rate:.2f}")
        if proc_raw:
            print(f"{args.processes} processes x {max(1, args.threads // args.processes)} threads:")
            print(f"  raw single-row INSERT, commit each : {proc_raw:8.0f} rows/s   (baseline)")
            print(f"  ledger earn through the service   : {proc_earn:8.0f} postings/s  "
                  f"ratio {proc_earn / proc_raw:.2f}")
        print(f"audit after the run: {'clean' if audit.ok else audit.problems[:3]} "
              f"({audit.entries} entries)")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
