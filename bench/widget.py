"""What the widget costs the backend: balance reads (`GET /storefront/v1/me` for a signed-in
member: balances, tier progress, expiry, recent activity, referral link) and cart quotes, each
against a bare Flask hello-world under the same gunicorn settings, in one run.

    .venv/bin/python bench/widget.py [--seconds 8] [--connections 32]

For each: phase 1, throughput: closed loop (wrk, 2 threads x 32 connections, when wrk is on PATH;
else the Python load of bench/harness.py), bare and app, and the ratio; phase 2, latency at a
fixed arrival rate: open loop (bench/openloop.py) at half the bare baseline's measured
throughput, bare and app at that rate, p50/p99 side by side (issue 22's goals: p99 <= 5 ms for
the balance read, <= 15 ms for the quote).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database, seeded_member, served, server_env  # noqa: E402
from bench.openloop import Request, Target, compare, figures  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()

    with bench_database("loyalty_widget") as (url, key, redis_url):
        shop, token = seeded_member(url, key, redis_url, referrals=True)
        env = server_env(url, key, redis_url, args.threads, unlimited=True)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        cart = json.dumps({"currency": "EUR", "lines": [{"product_id": f"p{i}", "quantity": 1, "price": "19.90"}
                                                         for i in range(5)]}).encode()
        me = f"/storefront/v1/me?shop={shop.widget_key}"
        quote = f"/storefront/v1/cart/quote?shop={shop.widget_key}"
        with served(env, args.workers) as (app_port, hello_port):
            print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread), the same for both")
            bare_get = Target("bare hello (GET)", hello_port, Request("GET", me, b"", headers))
            balance = Target("balance GET /me", app_port, Request("GET", me, b"", headers), goal_ms=5)
            reads = compare(bare_get, [balance], args.seconds, connections=args.connections)
            bare_post = Target("bare hello (POST)", hello_port, Request("POST", quote, cart, headers))
            quoted = Target("quote, 5 lines", app_port, Request("POST", quote, cart, headers), goal_ms=15)
            quotes = compare(bare_post, [quoted], args.seconds, connections=args.connections)
        print(json.dumps({"balance": figures(reads, bare_get, [balance]), "quote": figures(quotes, bare_post, [quoted])}))


if __name__ == "__main__":
    main()
