"""How close the widget's balance read can come to the bare baseline at all: in one run, under
the same gunicorn settings, a bare Flask hello, the floor (bench/floor_app.py: Flask plus the one
Redis round trip that any balance read shared across web processes needs, returning a value of
the real summary's size) and the app's own `GET /storefront/v1/me` (a member's summary, cached).
Closed loop (wrk 2 threads x 32 connections when on PATH), each run `--rounds` times in turn, so
the machine's drift between runs shows as spread, and the median ratio is the figure. Beside
throughput, the CPU each request cost the server side (the gunicorn processes and Redis, from
/proc): on this shared machine the throughput of one run moves threefold with the neighbours'
load, the CPU a request takes much less. Issue 22 asks for the balance read at >= 0.8 of bare;
read the floor's ratio beside it.

    .venv/bin/python bench/floors.py [--seconds 4] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database, free_port, seeded_member, serve  # noqa: E402
from bench.openloop import Request, closed_line, closed_loop, warm  # noqa: E402


def _ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks


def _family(root: int) -> list[int]:
    """A process and its children (gunicorn's master and workers)."""
    pids = [root]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == root:
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += _ticks(pid)
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


def redis_pids() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "redis-server":
                        found.append(int(entry))
            except OSError:
                continue
    return found


def median(values: list[float]) -> float:
    s = sorted(values)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()

    import redis

    with bench_database("loyalty_floors") as (url, key, redis_url):
        shop, token = seeded_member(url, key, redis_url, referrals=True)
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "LOYALTY_ENCRYPTION_KEY": key,
               "LOG_LEVEL": "WARNING", "WEB_THREADS": str(args.threads), "DB_POOL_SIZE": str(args.threads),
               "STOREFRONT_SHOP_RATE": "100000000", "STOREFRONT_CLIENT_RATE": "100000000"}
        me = f"/storefront/v1/me?shop={shop.widget_key}"
        headers = {"Authorization": f"Bearer {token}"}
        ports = {name: free_port() for name in ("bare", "floor", "app")}
        procs = [serve(module, ports[name], env, args.workers) for name, module in
                 (("bare", "bench.hello:app"), ("floor", "bench.floor_app:app"), ("app", "wsgi:app"))]
        try:
            with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{ports['app']}{me}",
                                                               headers=headers)) as r:
                summary = r.read()  # the floor hands out a value of the same size
            redis.Redis.from_url(redis_url).set("bench:floor:summary", summary)
            targets = [("bare hello", "bare"), ("floor: 1 Redis read", "floor"), ("app GET /me", "app")]
            req = Request("GET", me, b"", headers)
            for _, name in targets:
                warm(ports[name], req)
            print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread), the same for all three; "
                  f"summary {len(summary)} bytes")
            rows = {label: [] for label, _ in targets}
            cpu = {label: [] for label, _ in targets}
            families = {name: _family(p.pid) for name, p in zip(("bare", "floor", "app"), procs)}
            for i in range(args.rounds):
                print(f"round {i + 1}")
                base = None
                for label, name in targets:
                    watched = families[name] + redis_pids()
                    before = cpu_seconds(watched)
                    r = closed_loop(ports[name], args.seconds, req)
                    spent = cpu_seconds(watched) - before
                    base = base or r
                    rows[label].append(round(r["rps"] / base["rps"], 2))
                    done = max(1, r["rps"] * args.seconds)
                    cpu[label].append(spent / done * 1e6)
                    print("  " + closed_line(label, r, None if r is base else base)
                          + f"   server CPU {spent / done * 1e6:5.0f} µs/request")
            bare_cpu = median(cpu["bare hello"])
            print("median over the rounds:")
            for label, _ in targets:
                print(f"  {label:28s} throughput {median(rows[label]):.2f} x bare   server CPU "
                      f"{median(cpu[label]):5.0f} µs/request: {bare_cpu / median(cpu[label]):.2f} x bare's")
            print(json.dumps({"ratios_to_bare": rows, "median_ratio": {k: median(v) for k, v in rows.items()},
                              "cpu_us_per_request": {k: round(median(v)) for k, v in cpu.items()},
                              "goal_me_ratio": 0.8}))
        finally:
            for p in procs:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(10)


if __name__ == "__main__":
    main()
