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
import signal
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import free_port, load, serve  # noqa: E402

SECRET = "bench-secret"
DOMAIN = "bench-shop.myshopify.com"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (both sides)")
    args = ap.parse_args()

    from cryptography.fernet import Fernet
    from sqlalchemy import create_engine, text

    from plugin_app.runtime import Runtime
    from plugin_app.settings import Settings, normalize_database_url
    from plugin_app.storage.migrate import upgrade
    from tests.shopify_standin import body as to_body, headers as signed, order

    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
        "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    name = f"loyalty_ingest_{uuid.uuid4().hex[:8]}"
    server = normalize_database_url(base).rsplit("/", 1)[0]
    admin = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{server}/{name}"
    key = Fernet.generate_key().decode()
    procs: list[subprocess.Popen] = []
    try:
        upgrade(url)
        rt = Runtime(Settings().with_overrides(dict(database_url=url, jobs_mode="rq", redis_url=redis_url,
                                                    encryption_keys=(key,))))
        rt.queue.redis.flushdb()
        rt.shops.register("shopify", DOMAIN, credentials={"access_token": "t", "api_secret": SECRET})
        raw = to_body(order())
        headers = {k: v for k, v in signed("orders/paid", raw, SECRET, domain=DOMAIN).items()
                   if k != "X-Shopify-Webhook-Id"}
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "LOYALTY_ENCRYPTION_KEY": key,
               "LOG_LEVEL": "WARNING", "WEB_THREADS": str(args.threads), "DB_POOL_SIZE": str(args.threads)}
        app_port, hello_port = free_port(), free_port()
        procs.append(serve("wsgi:app", app_port, env, args.workers))
        procs.append(serve("bench.hello:app", hello_port, env, args.workers))
        load(hello_port, 1, args.connections, raw, headers)  # warm both
        load(app_port, 1, args.connections, raw, headers)
        bare = load(hello_port, args.seconds, args.connections, raw, headers)
        app = load(app_port, args.seconds, args.connections, raw, headers)
        with rt.db.transaction() as conn:
            stored = set(conn.execute(text("select external_id from inbox")).scalars())
        missing = [i for i in app["ok_ids"] if i not in stored]
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
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(10)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
