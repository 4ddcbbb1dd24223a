"""Webhook intake: `POST /webhooks/shopify` served by gunicorn against PostgreSQL and Redis,
next to a bare Flask hello-world under the same gunicorn settings, in one run.

    .venv/bin/python bench/ingest.py [--seconds 10] [--connections 32] [--workers 2] [--rounds 5]

Phase 1, throughput: closed loop (wrk, 2 threads x 32 connections, when wrk is on PATH; else the
Python load of bench/harness.py), bare and app, and their ratio. Phase 2, latency at a fixed
arrival rate: open loop (bench/openloop.py) at half the bare baseline's measured throughput,
bare and app, p50/p99 side by side (issue 22's goal: intake p99 <= 15 ms). Phase 3: closed-loop
runs of both in turn, `--rounds` times, with the median ratio and the server CPU per request
(gunicorn, PostgreSQL and Redis, from /proc), the figures that hold still on a shared machine.

Every request is a real signed delivery with its own X-Shopify-Webhook-Id (the HMAC covers the
body only, so one signed body serves all), so every 200 stores a new inbox row and rings RQ.
Afterwards the script checks that every 200 has its row: in the open-loop phase by the ids of the
200s; with wrk (which cannot hand the ids back) by counting: the rows the run added against the
2xx wrk counted (a few more rows than 2xx are the requests in flight when wrk stopped).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import SERVED, bench_database, family, in_rounds, named, served, server_env  # noqa: E402
from bench.openloop import Request, Target, compare, figures  # noqa: E402

SECRET = "bench-secret"
DOMAIN = "bench-shop.myshopify.com"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (both sides)")
    ap.add_argument("--rounds", type=int, default=5)
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
        env = server_env(url, key, redis_url, args.threads)
        count = text("select count(*) from inbox")
        marks, missing, checked = [0], [0], []

        def mark() -> None:
            with rt.db.transaction() as conn:
                marks[0] = conn.execute(count).scalar_one()

        def check(phase: str, target: Target, r: dict) -> None:
            with rt.db.transaction() as conn:
                added = conn.execute(count).scalar_one() - marks[0]
                if r.get("ok_ids") is not None:  # the 200s' ids are known: each must have its row
                    stored = set(conn.execute(text("select external_id from inbox")).scalars())
                    lost = [i for i in r["ok_ids"] if f"event:orders/paid:{i}" not in stored and i not in stored]
                    how = "by id"
                else:  # wrk: by count (rows added >= 2xx counted)
                    lost = [None] * max(0, r["ok"] - added)
                    how = "by count"
            missing[0] += len(lost)
            checked.append(f"{phase}: {r['ok']} 2xx, {added} inbox rows added, {len(lost)} 200s without a row ({how})")

        with served(env, args.workers) as (app_port, hello_port):
            bare = Target("bare Flask hello-world", hello_port, Request("POST", "/webhooks/shopify", raw, headers))
            app = Target("POST /webhooks/shopify", app_port, Request("POST", "/webhooks/shopify", raw, headers),
                         goal_ms=15)
            print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread), the same for both")
            result = compare(bare, [app], args.seconds, fresh_ids=True, connections=args.connections,
                             before_app=mark, after_app=check)
            print(f"phase 3, closed loop in {args.rounds} rounds, {args.seconds:g} s each")
            families = {t.label: family(SERVED[t.port]) for t in (bare, app)}

            def counted(label: str, r: dict) -> None:
                if label == app.label:
                    check("rounds", app, r)
                mark()

            mark()
            rounds = in_rounds([(t.label, t.port, app.request) for t in (bare, app)], args.seconds, args.rounds,
                               families, shared=lambda: named("redis-server", "postgres"), fresh_ids=True,
                               after=counted)
        rt.queue.redis.flushdb()
        rt.close()
        for line in checked:
            print(f"inbox check, {line}")
        print(json.dumps({**figures(result, bare, [app]), "rounds": rounds, "missing_rows": missing[0]}))
        if missing[0]:
            sys.exit(f"{missing[0]} 200s without a stored inbox row")


if __name__ == "__main__":
    main()
