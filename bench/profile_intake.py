"""Where a webhook request's CPU goes, in process, one thread calling the WSGI apps directly (no
server, no load generator): a bare Flask hello-world, our `/healthz` (the app's request hooks
alone), a forged `orders/paid` (answered 401 after the HMAC), a signed one with the store step
replaced by a no-op (everything of ours but the inbox), the whole request (the group-commit
writer stores a batch of one), and the writer's store of a batch of one called directly. CPU is
`time.thread_time` for the request thread and `time.process_time` for the whole process (the
writer thread's share included). Not a test: prints figures only.

    .venv/bin/python bench/profile_intake.py [--requests 2000]
"""
from __future__ import annotations

import argparse
import io
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database  # noqa: E402

SECRET = "shpss_profile_intake_secret"
DOMAIN = "profile-intake.myshopify.com"


def environ(path: str, method: str, body: bytes, headers: dict) -> dict:
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "bench",
           "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
           "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
           "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
           "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json", "REMOTE_ADDR": "127.0.0.1"}
    for k, v in headers.items():
        env["HTTP_" + k.upper().replace("-", "_")] = v
    return env


def measure(label: str, call, n: int) -> None:
    for _ in range(min(100, n)):
        call()
    thread, process, wall = time.thread_time(), time.process_time(), time.perf_counter()
    for _ in range(n):
        result = call()
    thread, process, wall = time.thread_time() - thread, time.process_time() - process, time.perf_counter() - wall
    print(f"{label:<44} {thread / n * 1e6:7.0f} µs request thread  {process / n * 1e6:7.0f} µs process  "
          f"{wall / n * 1e6:7.0f} µs wall   ({result})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args()
    n = args.requests

    import os

    os.environ["LOG_LEVEL"] = "WARNING"  # as the throughput benches run it: no access line per request
    from flask import Flask

    from plugin_app import create_app
    from tests.shopify_standin import body as to_body, headers as signed, order

    with bench_database("loyalty_profile_intake") as (url, key, redis_url):
        app = create_app({"database_url": url, "jobs_mode": "rq", "redis_url": redis_url,
                          "encryption_keys": (key,), "shopify_api_secret": SECRET})
        rt = app.extensions["loyalty"]
        rt.queue.redis.flushdb()
        shop, _ = rt.shops.register("shopify", DOMAIN, credentials={"access_token": "t", "api_secret": SECRET})
        raw = to_body(order())
        signed_headers = signed("orders/paid", raw, SECRET, domain=DOMAIN)
        hello = Flask("hello")
        hello.add_url_rule("/", "hello", lambda: "hello")

        def call(wsgi, env) -> str:
            status = []
            b"".join(wsgi(env, lambda s, h, e=None: status.append(s)))
            return status[0]

        def delivery(**extra) -> dict:
            wid = str(uuid.uuid4())
            return environ("/webhooks/shopify", "POST", raw,
                           {**signed_headers, "X-Shopify-Webhook-Id": wid, "X-Shopify-Event-Id": wid, **extra})

        print(f"in process, one thread, {n} requests each; a {len(raw)}-byte orders/paid body")
        measure("bare Flask hello-world", lambda: call(hello, environ("/", "GET", b"", {})), n)
        measure("GET /healthz (the app's request hooks)", lambda: call(app, environ("/healthz", "GET", b"", {})), n)
        measure("forged orders/paid (401)", lambda: call(app, delivery(**{"X-Shopify-Hmac-Sha256": "AAAA"})), n)
        accept = rt.intake.accept
        rt.intake.accept = lambda *a, **k: (0, True)
        try:
            measure("signed orders/paid, store step a no-op", lambda: call(app, delivery()), n)
        finally:
            rt.intake.accept = accept
        measure("signed orders/paid, stored (batches of one)", lambda: call(app, delivery()), max(1, n // 4))
        measure("the writer's store of a batch of one", lambda: rt.inbox.accept_many(
            [(shop.id, "shopify", "orders/paid", str(uuid.uuid4()), raw, {"X-Shopify-Topic": "orders/paid"})])
            and "stored", max(1, n // 4))
        rt.queue.redis.flushdb()
        rt.close()


if __name__ == "__main__":
    main()
