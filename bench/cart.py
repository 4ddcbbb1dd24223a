"""Cart quote latency and throughput: `POST /storefront/v1/cart/quote` for a signed-in member
(balances, tier progress, rewards), a 5-line and a 100-line cart, served by gunicorn against
PostgreSQL and Redis, next to a bare Flask hello-world under the same settings in the same run.

    .venv/bin/python bench/cart.py [--seconds 8] [--connections 32] [--rounds 5]

Phase 1, throughput: closed loop (wrk, 2 threads x 32 connections, when wrk is on PATH; else the
Python load of bench/harness.py), bare and each cart, and the ratios. Phase 2, latency at a fixed
arrival rate: open loop (bench/openloop.py) at half the bare baseline's measured throughput, the
same rate for bare and each cart, p50/p99 side by side (issue 22's goal: quote p99 <= 15 ms; the
100-line cart has no stated goal). Phase 3: closed-loop runs of each in turn, `--rounds` times,
with the median ratios and the server CPU per request (gunicorn, PostgreSQL, Redis, from /proc).

The storefront rate limits are lifted for the run (they would otherwise, rightly, answer 429).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import SERVED, bench_database, family, in_rounds, named, seeded_member, served, server_env  # noqa: E402
from bench.openloop import Request, Target, compare, figures  # noqa: E402


def cart(lines: int) -> bytes:
    return json.dumps({"currency": "EUR", "lines": [
        {"product_id": f"p{i}", "quantity": 1 + i % 3, "price": f"{10 + i % 40}.90", "collections": ["c1"]}
        for i in range(lines)]}).encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()

    with bench_database("loyalty_cart") as (url, key, redis_url):
        shop, token = seeded_member(url, key, redis_url)
        env = server_env(url, key, redis_url, args.threads, unlimited=True)
        with served(env, args.workers) as (app_port, hello_port):
            path = f"/storefront/v1/cart/quote?shop={shop.widget_key}"
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            bare = Target("bare Flask hello-world", hello_port, Request("POST", path, cart(5), headers))
            apps = [Target("quote, 5 lines", app_port, Request("POST", path, cart(5), headers), goal_ms=15),
                    Target("quote, 100 lines", app_port, Request("POST", path, cart(100), headers))]
            print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread), the same for both")
            result = compare(bare, apps, args.seconds, connections=args.connections)
            print(f"phase 3, closed loop in {args.rounds} rounds, {args.seconds:g} s each")
            families = {t.label: family(SERVED[t.port]) for t in (bare, *apps)}
            rounds = in_rounds([(t.label, t.port, t.request) for t in (bare, *apps)], args.seconds, args.rounds,
                               families, shared=lambda: named("redis-server", "postgres"))
        print(json.dumps({**figures(result, bare, apps), "rounds": rounds}))


if __name__ == "__main__":
    main()
