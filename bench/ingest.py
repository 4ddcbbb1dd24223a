"""Webhook intake throughput: `POST /webhooks/shopify` served by gunicorn against PostgreSQL
and Redis, next to a bare Flask hello-world under the same gunicorn settings, in one run.

    .venv/bin/python bench/ingest.py [--seconds 10] [--connections 32] [--workers 2]

Every request is a real signed delivery with its own X-Shopify-Webhook-Id (the HMAC covers the
body only, so one signed body serves all), so every 200 stores a new inbox row and rings RQ.
The load comes from a second process group on loopback (keep-alive connections). Afterwards
the script checks that every 200 has its row: a 200 without a stored row is a failure.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database, load, served  # noqa: E402

SECRET = "bench-secret"
DOMAIN = "bench-shop.myshopify.com"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (both sides)")
    args = ap.parse_args()

    from sqlalchemy import text

    from plugin_app.runtime import Runtime
    from plugin_app.settings import Settings
    from tests.shopify_standin import body as to_body, headers as signed, order

    with bench_database("loyalty_ingest") as (url, key, redis_url):
        rt = Runtime(Settings().with_overrides(dict(database_url=url, jobs_mode="rq", redis_url=redis_url,
                                                    encryption_keys=(key,))))
        rt.queue.redis.flushdb()
        rt.shops.register("shopify", DOMAIN, credentials={"access_token": "t", "api_secret": SECRET})
        raw = to_body(order())
        # Each request is another event: its own webhook id and event id (the same event id twice
        # is a duplicate, answered 200 without a new row).
        headers = {k: v for k, v in signed("orders/paid", raw, SECRET, domain=DOMAIN).items()
                   if k not in ("X-Shopify-Webhook-Id", "X-Shopify-Event-Id")}
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "LOYALTY_ENCRYPTION_KEY": key,
               "LOG_LEVEL": "WARNING", "WEB_THREADS": str(args.threads), "DB_POOL_SIZE": str(args.threads)}
        with served(env, args.workers) as (app_port, hello_port):
            load(hello_port, 1, args.connections, raw, headers)  # warm both
            load(app_port, 1, args.connections, raw, headers)
            bare = load(hello_port, args.seconds, args.connections, raw, headers)
            app = load(app_port, args.seconds, args.connections, raw, headers)
        with rt.db.transaction() as conn:
            stored = set(conn.execute(text("select external_id from inbox")).scalars())
        missing = [i for i in app["ok_ids"] if f"event:orders/paid:{i}" not in stored and i not in stored]
        rt.queue.redis.flushdb()
        rt.close()
        print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread); {args.connections} connections; "
              f"{args.seconds:.0f} s each")
        for label, r in (("bare Flask hello-world", bare), ("POST /webhooks/shopify", app)):
            print(f"{label:26s} {r['rps']:8.0f} req/s   p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms"
                  f"   max {r['max_ms']:7.1f} ms   non-200 {r['errors']}")
        print(f"ratio to the bare baseline: {app['rps'] / bare['rps']:.2f}")
        print(f"200s without a stored inbox row: {len(missing)} (of {len(app['ok_ids'])})")
        print(json.dumps({"bare_rps": round(bare["rps"]), "ingest_rps": round(app["rps"]),
                          "ratio": round(app["rps"] / bare["rps"], 3), "ingest_p99_ms": round(app["p99_ms"], 2),
                          "missing_rows": len(missing)}))


if __name__ == "__main__":
    main()
