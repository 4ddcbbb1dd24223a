"""In-process cost of a cart quote (no HTTP server, no load generator): microseconds per request
for the whole storefront handler through Flask's test client and for `CartService.quote` alone,
for the 5-line and 100-line carts bench/cart.py sends, and (with --profile) cProfile's top costs.

    .venv/bin/python bench/quote_profile.py [--n 300] [--profile] [--dump answers.json]

Uses the database of bench/harness.py `bench_database` + `seeded_member` (the member has history).
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cart import cart  # noqa: E402
from bench.harness import bench_database, seeded_member  # noqa: E402


def per_call(fns: dict, n: int, rounds: int = 15) -> dict:
    """{name: (wall, this process's CPU) microseconds per call}: the best of `rounds` rounds, the
    functions interleaved round by round (the machine is shared: its load moves; CPU time leaves
    out PostgreSQL's and Redis's work and the waits)."""
    for fn in fns.values():
        for _ in range(max(5, n // 10)):
            fn()
    best = {name: [float("inf"), float("inf")] for name in fns}
    each = max(1, n // rounds)
    for _ in range(rounds):
        for name, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(each):
                fn()
            best[name][0] = min(best[name][0], (time.perf_counter() - start) / each * 1e6)
            best[name][1] = min(best[name][1], (time.process_time() - start_cpu) / each * 1e6)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--dump", help="write the answers (5 and 100 lines) to this file")
    args = ap.parse_args()

    from plugin_app import create_app
    from plugin_app.http.storefront import CartIn, _cart

    with bench_database("loyalty_qprof") as (url, key, redis_url):
        shop, token = seeded_member(url, key, redis_url)
        app = create_app({"database_url": url, "redis_url": redis_url, "jobs_mode": "rq",
                          "encryption_keys": (key,), "log_level": "WARNING",
                          "storefront_shop_rate": 100_000_000, "storefront_client_rate": 100_000_000})
        rt = app.extensions["loyalty"]
        client = app.test_client()
        from bench.hello import app as hello_app  # the bare baseline bench/cart.py compares with

        bare = hello_app.test_client()
        path = f"/storefront/v1/cart/quote?shop={shop.widget_key}"
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        answers = {}
        for lines in (5, 100):
            body = cart(lines)
            resp = client.post(path, data=body, headers=headers)
            assert resp.status_code == 200, resp.data
            answers[lines] = resp.get_data(as_text=True)
            c = _cart(CartIn.model_validate_json(body))

            def handler():
                r = client.post(path, data=body, headers=headers)
                assert r.status_code == 200

            def service():
                rt.cart.quote(shop.id, shop.currency, c, "c-1")

            def hello():
                assert bare.post(path, data=body, headers=headers).status_code == 200

            got = per_call({"handler": handler, "service": service, "hello": hello}, args.n)
            h, s, b = got["handler"], got["service"], got["hello"]
            print(f"{lines:3d} lines: handler {h[0]:7.0f} us wall {h[1]:7.0f} us CPU   "
                  f"service {s[0]:7.0f} us wall {s[1]:7.0f} us CPU   bare hello {b[1]:5.0f} us CPU "
                  f"(per request; in-process CPU ratio hello/handler {b[1] / h[1]:.2f})")
            if args.profile:
                for label, fn in (("handler", handler), ("service", service)):
                    prof = cProfile.Profile()
                    prof.enable()
                    for _ in range(args.n):
                        fn()
                    prof.disable()
                    print(f"--- {lines} lines, {label}: cumulative ---")
                    pstats.Stats(prof).sort_stats("cumulative").print_stats(args.top)
                    print(f"--- {lines} lines, {label}: own time ---")
                    pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)
        if args.dump:
            Path(args.dump).write_text(json.dumps(answers, indent=1))
        rt.close()


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    main()
