"""What the widget costs the backend: balance reads (`GET /storefront/v1/me` for a signed-in
member: balances, tier progress, expiry, recent activity, referral link) and cart quotes, each
against a bare Flask hello-world under the same gunicorn settings, in one run.

    .venv/bin/python bench/widget.py [--seconds 8] [--connections 32]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()

    with bench_database("loyalty_widget") as (url, key, redis_url):
        shop, token = seeded_member(url, key, redis_url, referrals=True)
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "LOYALTY_ENCRYPTION_KEY": key,
               "LOG_LEVEL": "WARNING", "WEB_THREADS": str(args.threads), "DB_POOL_SIZE": str(args.threads),
               "STOREFRONT_SHOP_RATE": "100000000", "STOREFRONT_CLIENT_RATE": "100000000"}
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        cart = json.dumps({"currency": "EUR", "lines": [{"product_id": f"p{i}", "quantity": 1, "price": "19.90"}
                                                         for i in range(5)]}).encode()
        me = f"/storefront/v1/me?shop={shop.widget_key}"
        quote = f"/storefront/v1/cart/quote?shop={shop.widget_key}"
        with served(env, args.workers) as (app_port, hello_port):
            for port in (hello_port, app_port):
                load(port, 1, args.connections, b"", headers, me, unique=False, method="GET")
            bare_get = load(hello_port, args.seconds, args.connections, b"", headers, me, unique=False, method="GET")
            balance = load(app_port, args.seconds, args.connections, b"", headers, me, unique=False, method="GET")
            bare_post = load(hello_port, args.seconds, args.connections, cart, headers, quote, unique=False)
            quoted = load(app_port, args.seconds, args.connections, cart, headers, quote, unique=False)
        print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread); {args.connections} connections; "
              f"{args.seconds:.0f} s each")
        for label, r in (("bare hello (GET)", bare_get), ("balance GET /me", balance),
                         ("bare hello (POST)", bare_post), ("quote, 5 lines", quoted)):
            print(f"{label:20s} {r['rps']:8.0f} req/s   p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms"
                  f"   non-200 {r['errors']}")
        print(f"ratio to the bare baseline: balance {balance['rps'] / bare_get['rps']:.2f}, "
              f"quote {quoted['rps'] / bare_post['rps']:.2f}")


if __name__ == "__main__":
    main()
