"""The benches' open-loop load generator (bench/openloop.py): requests go out at their due times
and each latency runs from its due time, so a server slower than the arrival rate shows as
latencies that grow through the run (coordinated omission is not hidden); the connection pool
grows on demand; wrk's generated script gives every request its own webhook id across threads.
Against a tiny loopback server that sleeps; a few seconds in all."""
from __future__ import annotations

import shutil
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.openloop import Request, closed_loop, open_loop, percentile, schedule, webhook_ids

pytestmark = pytest.mark.fast


@contextmanager
def sleepy_server(delay: float, serial: bool):
    """An HTTP/1.1 keep-alive server on loopback answering every request after `delay` seconds;
    `serial`: one request at a time in all (its capacity is 1 / delay a second). Yields
    (port, the X-Shopify-Webhook-Id headers it saw, else the paths)."""
    lock, seen = threading.Lock(), []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes

        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.headers.get("X-Shopify-Webhook-Id") or self.path)
            if serial:
                with lock:
                    time.sleep(delay)
            else:
                time.sleep(delay)
            body = b'{"ok":true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address) -> None:
            pass  # a client that hangs up at the end of its run

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def test_schedule_and_percentiles():
    fixed = schedule(100, 0.5)
    assert len(fixed) == 50 and fixed[:3] == [0, 0.01, 0.02] and fixed[-1] == pytest.approx(0.49)
    poisson = schedule(1000, 2, poisson=True, seed=7)
    assert 1800 < len(poisson) < 2200 and poisson == sorted(poisson) and poisson[-1] < 2
    assert poisson == schedule(1000, 2, poisson=True, seed=7) != schedule(1000, 2, poisson=True, seed=8)
    values = [i / 100 for i in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (0.5, 0.99, 1.0)
    assert percentile([], 99) == 0


def test_latency_counts_from_the_due_time_when_the_server_falls_behind():
    """20 ms a request, one at a time (50 a second), one connection: below capacity the
    latency is the service time; at twice the capacity every request also waits for those
    before it, and the latencies grow through the run (a closed-loop client would report about
    20 ms throughout)."""
    req = Request("GET", "/x")
    with sleepy_server(0.02, serial=True) as (port, _):
        under = open_loop(port, 20, 0.3, req, max_connections=1, in_process=True)
        over = open_loop(port, 100, 0.3, req, max_connections=1, in_process=True)
    assert under["scheduled"] == under["completed"] == under["ok"] == 6 and under["errors"] == 0
    assert 15 <= under["p50_ms"] and under["p99_ms"] < 100
    assert over["scheduled"] == over["completed"] == 30 and over["errors"] == 0
    assert over["connections"] == 1
    # request i is answered about (i + 1) * 20 ms after the start, and was due at i * 10 ms:
    # p50 about 170 ms, the last about 310 ms
    assert over["p50_ms"] > 100 and over["p99_ms"] > 220 and over["max_ms"] > 220
    assert over["wait_p99_ms"] > 150  # the wait for the one connection is part of the latency
    assert over["lag_p99_ms"] < 100  # ... and the client itself kept to the schedule
    assert over["rps"] < 60  # what the server managed, not what was asked


def test_the_pool_grows_to_keep_the_schedule_and_hooks_add_headers():
    """A server that answers each request after 50 ms but serves many at once: at 100 a second
    the client opens about five connections and the latency stays near 50 ms; the hook's
    webhook ids reach the server, one per request, and come back for the 2xx. (In a spawned
    process, as the benches run it: the hook crosses by name.)"""
    req = Request("POST", "/webhooks/shopify", b'{"a":1}', {"Content-Type": "application/json"})
    with sleepy_server(0.05, serial=False) as (port, seen):
        r = open_loop(port, 100, 0.4, req, headers_hook=webhook_ids, collect_header="X-Shopify-Webhook-Id")
    assert r["completed"] == r["ok"] == 40 and r["errors"] == 0
    assert 3 <= r["connections"] <= 20
    assert 45 <= r["p50_ms"] and r["p99_ms"] < 200
    assert len(set(seen)) == 40 and set(r["ok_ids"]) == set(seen)


def test_a_refused_connection_is_an_error_not_a_fast_answer():
    with sleepy_server(0, serial=False) as (port, _):
        pass  # closed: nothing listens on the port now
    r = open_loop(port, 50, 0.1, Request("GET", "/"), in_process=True)
    assert r["scheduled"] == 5 and r["completed"] == 0 and r["errors"] == 5 and r["conn_errors"] == 5


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_gives_each_request_its_own_webhook_id_across_threads():
    req = Request("POST", "/webhooks/shopify", b'{"a":"\xc3\xa9\\""}', {"Content-Type": "application/json"})
    with sleepy_server(0.002, serial=False) as (port, seen):
        r = closed_loop(port, 1, req, threads=2, connections=4, fresh_ids=True)
    assert r["tool"].startswith("wrk") and r["errors"] == 0 and r["ok"] > 50
    assert None not in seen and len(set(seen)) == len(seen) >= r["ok"]
    assert len({s.split("-")[1] for s in seen}) == 2  # both threads' numbers


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_goes_round_several_requests():
    reqs = [Request("GET", f"/me?n={i}", b"", {"Authorization": f"Bearer t{i}"}) for i in range(5)]
    with sleepy_server(0.002, serial=False) as (port, seen):
        r = closed_loop(port, 1, reqs, threads=2, connections=4)
    assert r["errors"] == 0 and r["ok"] > 50 and set(seen) == {f"/me?n={i}" for i in range(5)}
