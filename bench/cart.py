"""Cart quote latency and throughput: `POST /storefront/v1/cart/quote` for a signed-in member
(balances, tier progress, rewards), a 5-line and a 100-line cart, served by gunicorn against
PostgreSQL and Redis, next to a bare Flask hello-world under the same settings in the same run.

    .venv/bin/python bench/cart.py [--seconds 8] [--connections 32]

The storefront rate limits are lifted for the run (they would otherwise, rightly, answer 429).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database, load, seeded_member, served  # noqa: E402


def cart(lines: int) -> bytes:
    return json.dumps({"currency": "EUR", "lines": [
        {"product_id": f"p{i}", "quantity": 1 + i % 3, "price": f"{10 + i % 40}.90", "collections": ["c1"]}
        for i in range(lines)]}).encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()

    with bench_database("loyalty_cart") as (url, key, redis_url):
        shop, token = seeded_member(url, key, redis_url)
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "LOYALTY_ENCRYPTION_KEY": key,
               "LOG_LEVEL": "WARNING", "WEB_THREADS": str(args.threads), "DB_POOL_SIZE": str(args.threads),
               "STOREFRONT_SHOP_RATE": "100000000", "STOREFRONT_CLIENT_RATE": "100000000"}
        with served(env, args.workers) as (app_port, hello_port):
            path = f"/storefront/v1/cart/quote?shop={shop.widget_key}"
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            small, big = cart(5), cart(100)
            load(hello_port, 1, args.connections, small, headers, path, unique=False)
            load(app_port, 1, args.connections, small, headers, path, unique=False)
            bare = load(hello_port, args.seconds, args.connections, small, headers, path, unique=False)
            five = load(app_port, args.seconds, args.connections, small, headers, path, unique=False)
            hundred = load(app_port, args.seconds, args.connections, big, headers, path, unique=False)
        print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread); "
              f"{args.connections} connections; {args.seconds:.0f} s each")
        for label, r in (("bare Flask hello-world", bare), ("quote, 5 lines", five), ("quote, 100 lines", hundred)):
            print(f"{label:24s} {r['rps']:8.0f} req/s   p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms"
                  f"   max {r['max_ms']:7.1f} ms   non-200 {r['errors']}")
        print(f"ratio to the bare baseline: 5 lines {five['rps'] / bare['rps']:.2f}, "
              f"100 lines {hundred['rps'] / bare['rps']:.2f}")


if __name__ == "__main__":
    main()
