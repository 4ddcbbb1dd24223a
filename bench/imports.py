"""Switching in at scale: a members file of N rows (default 1,000,000: e-mail, customer id, name,
balance, store credit, tier, birthday, referral code) uploaded, dry-run and applied through the
service, next to a raw `COPY` of the same file into a table of text columns, measured in the same
run on the same server. Memory is sampled all along (resident set size of this process): it
stays flat because the file is read, staged and applied a slice at a time.

    .venv/bin/python bench/imports.py [--rows 1000000] [--small 100000]

With --small, a smaller file is imported first into another shop, so the two peaks compare
(flat memory: the peak does not grow with the file). Creates its own database on
BENCH_DATABASE_URL (default: TEST_DATABASE_URL's server) and drops it afterwards; the file is
written to a temporary directory. Not a test: prints figures only (and `loyalty audit`'s verdict
on the imported books).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from plugin_app.runtime import Runtime  # noqa: E402
from plugin_app.services.audit import run_audit  # noqa: E402
from plugin_app.settings import Settings, normalize_database_url  # noqa: E402
from plugin_app.storage.migrate import upgrade  # noqa: E402

BASE = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
HEADER = "email,customer_id,name,points_balance,store_credit,tier,birthday,referral_code,locale"
ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"


def server_url(name: str) -> str:
    return normalize_database_url(BASE).rsplit("/", 1)[0] + "/" + name


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Sampler:
    """The process's resident memory, sampled every 100 ms while a phase runs."""

    def __init__(self) -> None:
        self.peak, self._stop = 0.0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.1)

    def __enter__(self) -> "Sampler":
        self.peak = rss_mb()
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def write_file(path: Path, rows: int, seed: int, prefix: str) -> None:
    rnd = random.Random(seed)
    tiers = ["Bronze", "silver", "GOLD", ""]
    with open(path, "w") as f:
        f.write(HEADER + "\n")
        for i in range(rows):
            code = "".join(rnd.choice(ALPHABET) for _ in range(8)) if i % 3 == 0 else ""
            birthday = f"1004-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}" if i % 5 == 0 else ""
            credit = f"{rnd.randint(0, 5000) / 100:.2f}" if i % 4 == 0 else ""
            f.write(f"{prefix}{i}@Example.com,{prefix}{i},Customer {i},{rnd.randint(0, 5000)},{credit},"
                    f"{tiers[i % 4]},{birthday},{code},\n")


def raw_copy(dsn: str, path: Path) -> float:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_copy (" + ", ".join(f"{c} text" for c in HEADER.split(",")) + ")")
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
        took = time.perf_counter() - start
        conn.execute("DROP TABLE bench_copy")
    return took


def import_once(rt, shop_id: int, path: Path) -> dict:
    out: dict = {}
    with Sampler() as mem:
        start = time.perf_counter()
        with open(path, "rb") as stream:
            view = rt.imports.upload(shop_id, path.name, stream, fmt="members", options={"tiers": "as_is"})
        out["upload+dry run"] = time.perf_counter() - start
        assert view["state"] in ("uploaded", "analyzing", "analyzed"), view
        view = rt.imports.view(shop_id, view["id"])
        assert view["state"] == "analyzed", (view["state"], view["error"])
        start = time.perf_counter()
        rt.imports.apply(shop_id, view["id"])
        out["apply"] = time.perf_counter() - start
        view = rt.imports.view(shop_id, view["id"])
        assert view["state"] == "applied", (view["state"], view["error"])
    out["peak_rss_mb"] = mem.peak
    out["view"] = view
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000, help="also import a file this large first (0: no)")
    args = ap.parse_args()

    name = f"loyalty_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server_url(name)
    tmp = Path(tempfile.mkdtemp(prefix="bench-imports-"))
    try:
        upgrade(url)
        rt = Runtime(Settings().with_overrides(dict(database_url=url, jobs_mode="eager",
                                                    encryption_keys=("x" * 43 + "=",))))
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        print(f"bench/imports.py: members file, PostgreSQL, eager jobs; baseline RSS {rss_mb():.0f} MB")
        sizes = ([args.small] if args.small else []) + [args.rows]
        for n in sizes:
            path = tmp / f"members-{n}.csv"
            write_file(path, n, seed=n, prefix=f"s{n}-")
            mb = path.stat().st_size / 2**20
            copy_s = raw_copy(dsn, path)
            shop, _ = rt.shops.register("demo", f"bench-{n}.example")
            res = import_once(rt, shop.id, path)
            total = res["upload+dry run"] + res["apply"]
            plan, report = res["view"]["plan"], res["view"]["report"]
            print(f"\n{n:,} rows ({mb:.0f} MB)")
            print(f"  raw COPY into text columns   {copy_s:7.1f} s   {n / copy_s:10,.0f} rows/s")
            print(f"  upload + dry run             {res['upload+dry run']:7.1f} s   {n / res['upload+dry run']:10,.0f} rows/s")
            print(f"  apply                        {res['apply']:7.1f} s   {n / res['apply']:10,.0f} rows/s")
            print(f"  import, all of it            {total:7.1f} s   {n / total:10,.0f} rows/s   "
                  f"({total / copy_s:.0f}x the raw COPY)")
            print(f"  peak RSS during the import   {res['peak_rss_mb']:7.0f} MB")
            print(f"  members created {report['members']['create']:,}, points credited "
                  f"{report['points']['credited']:,}, codes {report['codes']:,}, tiers {report['tiers']}; "
                  f"dry run == report: {plan['members'] == report['members'] and plan['points'] == report['points']}")
            if n == sizes[0] and len(sizes) > 1:  # undo the smaller import: reversal entries, one by one
                start = time.perf_counter()
                rt.imports.revert(shop.id, res["view"]["id"])
                took = time.perf_counter() - start
                undone = rt.imports.view(shop.id, res["view"]["id"])
                print(f"  undo (reversal entries)      {took:7.1f} s   {undone['report']['revert']['reversed'] / took:10,.0f} "
                      f"entries/s   ({undone['state']})")
            os.unlink(path)
        audit = run_audit(rt.db, None)
        print(f"\nloyalty audit after the imports: {'clean' if audit.ok else 'PROBLEMS'}")
        rt.close()
    finally:
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
        admin.dispose()
        engine = create_engine(server_url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


if __name__ == "__main__":
    main()
