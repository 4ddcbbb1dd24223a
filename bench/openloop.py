"""Load generators for the benches: an open-loop one for latency at a fixed arrival rate, and a
closed-loop one for throughput (wrk when it is on PATH, else bench/harness.py `load`).

Open loop (`open_loop`): request i is due at t0 + i / rate (or at Poisson arrival times), and its
latency is measured from that DUE time, not from when it was written: when the client falls
behind, or every connection is busy and the request waits for one, the wait counts (no
coordinated omission). Keep-alive HTTP/1.1 connections on loopback, opened on demand up to a
cap (256 by default); asyncio with the least HTTP parsing that works here (the status line and
Content-Length; chunked bodies are read too, for safety). It runs in a process of its own
(multiprocessing spawn), so it shares no GIL with the servers' or the bench's threads. Besides
the percentiles it reports how far the client itself fell behind schedule (`lag_*`: the due
time to the moment the client got round to the request) apart from the wait for a connection
(`wait_*`), and the client's CPU use, so that a saturated client shows instead of passing for a
slow server.

Closed loop (`closed_loop`): N connections each send the next request as soon as the last is
answered; the throughput figure. With wrk: `-t threads -c connections`, a generated Lua script
(the method, body and headers; for webhooks a fresh X-Shopify-Webhook-Id / X-Shopify-Event-Id
per request, unique across wrk's threads, whose Lua states share one seed, by a thread number
given in setup() and a run nonce); its done() hook reports the requests, the non-2xx and socket
errors and the latency percentiles as one JSON line. The result says which tool was used.
"""
from __future__ import annotations

import array
import asyncio
import gc
import json
import math
import multiprocessing
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Sequence


@dataclass(frozen=True)
class Request:
    """One request to send; `headers` beyond Host and Content-Length."""
    method: str
    path: str
    body: bytes = b""
    headers: dict = field(default_factory=dict)


def webhook_ids(i: int) -> dict:
    """Headers hook for webhook deliveries: each request another event (its own webhook id and
    event id; the same event id twice is a duplicate)."""
    wid = str(uuid.uuid4())
    return {"X-Shopify-Webhook-Id": wid, "X-Shopify-Event-Id": wid}


# -- open loop ---------------------------------------------------------------------------------

def schedule(rate: float, seconds: float, poisson: bool = False, seed: int = 1) -> list[float]:
    """The due offsets (seconds from t0) of the requests: every 1/rate, or Poisson arrivals at
    that mean rate (seeded: the same run twice sends at the same times)."""
    if rate <= 0 or seconds <= 0:
        return []
    if not poisson:
        return [i / rate for i in range(int(rate * seconds))]
    rng, t, out = random.Random(seed), 0.0, []
    while True:
        t += rng.expovariate(rate)
        if t >= seconds:
            return out
        out.append(t)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def summarize(latencies: Sequence[float]) -> dict:
    """p50/p90/p99/max in milliseconds of latencies in seconds."""
    lat = sorted(latencies)
    return {"p50_ms": percentile(lat, 50) * 1000, "p90_ms": percentile(lat, 90) * 1000,
            "p99_ms": percentile(lat, 99) * 1000, "max_ms": (lat[-1] if lat else 0.0) * 1000}


def _encode(req: Request, host: str, extra: dict | None = None) -> bytes:
    head = [f"{req.method} {req.path} HTTP/1.1", f"Host: {host}"]
    if req.body or req.method in ("POST", "PUT", "PATCH"):
        head.append(f"Content-Length: {len(req.body)}")
    for k, v in {**req.headers, **(extra or {})}.items():
        head.append(f"{k}: {v}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + req.body


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader, writer) -> None:
        self.reader, self.writer = reader, writer

    def close(self) -> None:
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 - closing a broken socket
            pass


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep the connection) of one response, its body read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    first, _, rest = head.partition(b"\r\n")
    status = int(first.split(b" ", 2)[1])
    length, chunked, keep = None, False, not first.startswith(b"HTTP/1.0")
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection":
            token = value.strip().lower()
            keep = token != b"close" if keep else token == b"keep-alive"
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        if length:
            await reader.readexactly(length)
    else:  # no length: the body ends with the connection
        await reader.read()
        keep = False
    return status, keep


async def _open_loop(cfg: dict) -> dict:
    loop = asyncio.get_running_loop()
    host, port = cfg["host"], cfg["port"]
    hostport = f"{host}:{port}"
    reqs: list[Request] = cfg["requests"]
    hook: Callable[[int], dict] | None = cfg["headers_hook"]
    static = None if hook else [_encode(r, hostport) for r in reqs]
    collect = cfg["collect_header"]
    cap, timeout = cfg["max_connections"], cfg["timeout"]
    offsets = schedule(cfg["rate"], cfg["seconds"], cfg["poisson"], cfg["seed"])
    n = len(offsets)
    latency = array.array("d", [math.nan]) * n  # due -> response read, per request
    lag = array.array("d", [0.0]) * n  # due -> the client got to it
    wait = array.array("d", [0.0]) * n  # the client got to it -> a connection was free
    status_of = array.array("i", [0]) * n  # 0: connection error or timeout
    ok_ids: list[str] = []
    idle: list[_Conn] = []
    waiters: deque[asyncio.Future] = deque()
    opened = [0, 0]  # open now, most at once
    conn_errors = [0]  # refused or broken connections, and timeouts

    async def acquire() -> _Conn:
        if idle:
            return idle.pop()
        if opened[0] < cap:
            opened[0] += 1
            opened[1] = max(opened[1], opened[0])
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except BaseException:  # refused, or cancelled by the timeout
                opened[0] -= 1
                raise
            return _Conn(reader, writer)
        fut = loop.create_future()
        waiters.append(fut)
        return await fut

    def release(conn: _Conn | None) -> None:
        """Hand a connection back (None: it was closed; a waiter may open another)."""
        while waiters:
            fut = waiters.popleft()
            if fut.done():
                continue
            if conn is not None:
                fut.set_result(conn)
                return
            opened[0] -= 1
            asyncio.ensure_future(_open_for(fut))
            return
        if conn is not None:
            idle.append(conn)
        else:
            opened[0] -= 1

    async def _open_for(fut: asyncio.Future) -> None:
        opened[0] += 1
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            opened[0] -= 1
            if not fut.done():
                fut.set_exception(exc)
            return
        if fut.done():  # that waiter timed out meanwhile: the next one, or the idle pool, has it
            release(_Conn(reader, writer))
        else:
            fut.set_result(_Conn(reader, writer))

    async def one(i: int, due: float) -> None:
        got = loop.time()
        lag[i] = got - due
        extra = hook(i) if hook else None
        data = static[i % len(reqs)] if static else _encode(reqs[i % len(reqs)], hostport, extra)
        conn = None
        try:
            conn = await asyncio.wait_for(acquire(), timeout)
            wait[i] = loop.time() - got
            conn.writer.write(data)
            status, keep = await asyncio.wait_for(_read_response(conn.reader), timeout)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
            conn_errors[0] += 1
            if conn is not None:
                conn.close()
                release(None)
            return
        latency[i] = loop.time() - due
        status_of[i] = status
        if collect and extra and 200 <= status < 300:
            ok_ids.append(extra[collect])
        if keep:
            release(conn)
        else:
            conn.close()
            release(None)

    gc.collect()
    gc.disable()  # no collector pauses inside the measurement (a run allocates little)
    cpu0 = time.process_time()
    t0 = loop.time() + 0.05
    tasks = set()
    i = 0
    while i < n:
        now = loop.time()
        # every request already due goes out now, each keeping its own due time
        while i < n and t0 + offsets[i] <= now:
            task = loop.create_task(one(i, t0 + offsets[i]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        if i < n:
            await asyncio.sleep(max(0.0, t0 + offsets[i] - loop.time()))
    sent_end = loop.time()
    if tasks:
        await asyncio.wait(list(tasks), timeout=timeout + 1)
    end = loop.time()
    cpu = time.process_time() - cpu0
    gc.enable()
    for conn in idle:
        conn.close()
    done = [latency[k] for k in range(n) if not math.isnan(latency[k])]
    good = sum(1 for s in status_of if 200 <= s < 300)
    lags, waits = sorted(lag), sorted(wait)
    out = {"tool": "open-loop (asyncio)", "target_rate": cfg["rate"], "seconds": cfg["seconds"],
           "poisson": cfg["poisson"], "scheduled": n, "completed": len(done),
           "rps": len(done) / max(end - t0, 1e-9) if done else 0.0,
           "sent_rps": n / max(sent_end - t0, 1e-9) if n else 0.0,
           "ok": good, "non_2xx": len(done) - good, "conn_errors": conn_errors[0],
           "errors": n - good,  # non-2xx, connection errors and timeouts, unanswered at the end
           "unfinished": n - len(done) - conn_errors[0],
           **summarize(done),
           "lag_p99_ms": percentile(lags, 99) * 1000, "lag_max_ms": (lags[-1] if lags else 0) * 1000,
           "wait_p99_ms": percentile(waits, 99) * 1000, "wait_max_ms": (waits[-1] if waits else 0) * 1000,
           "connections": opened[1], "client_cpu": cpu / max(end - t0, 1e-9)}
    if cfg["keep_latencies"]:
        out["latencies"] = done
    if collect:
        out["ok_ids"] = ok_ids
    return out


def _child(cfg: dict) -> dict:
    return asyncio.run(_open_loop(cfg))


def open_loop(port: int, rate: float, seconds: float, requests: Request | Sequence[Request], *,
              headers_hook: Callable[[int], dict] | None = None, collect_header: str | None = None,
              poisson: bool = False, max_connections: int = 256, timeout: float = 10.0,
              host: str = "127.0.0.1", seed: int = 1, keep_latencies: bool = False,
              in_process: bool = False) -> dict:
    """Send `rate` requests a second for `seconds` to host:port (request i is requests[i % len]),
    from a process of its own; latency from each request's due time. `headers_hook(i)` (a
    module-level function: it crosses to the spawned process) adds headers per request;
    `collect_header`: the value of that hook header for every 2xx comes back as `ok_ids`.
    `in_process` runs it on a loop in this process (tests)."""
    cfg = {"host": host, "port": port, "rate": rate, "seconds": seconds,
           "requests": [requests] if isinstance(requests, Request) else list(requests),
           "headers_hook": headers_hook, "collect_header": collect_header, "poisson": poisson,
           "max_connections": max_connections, "timeout": timeout, "seed": seed,
           "keep_latencies": keep_latencies}
    if in_process:
        return _child(cfg)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(_child, (cfg,))


def client_note(r: dict) -> str:
    """A warning when the open-loop client itself could not keep to the schedule (its figures
    then say as much about the client as about the server), else ''."""
    if r["lag_p99_ms"] > 5 or r["client_cpu"] > 0.9 or r["sent_rps"] < 0.95 * r["target_rate"]:
        return (f"  [client behind schedule: lag p99 {r['lag_p99_ms']:.1f} ms, max {r['lag_max_ms']:.1f} ms,"
                f" cpu {r['client_cpu']:.0%}]")
    return ""


def open_line(label: str, r: dict) -> str:
    return (f"{label:28s} {r['target_rate']:7.0f}/s sent {r['sent_rps']:7.0f}/s done {r['rps']:7.0f}/s"
            f"   p50 {r['p50_ms']:7.2f}  p90 {r['p90_ms']:7.2f}  p99 {r['p99_ms']:7.2f}  max {r['max_ms']:7.1f} ms"
            f"   errors {r['errors']}   conns {r['connections']}   wait p99 {r['wait_p99_ms']:.1f} ms"
            f"   lag p99 {r['lag_p99_ms']:.2f} ms" + client_note(r))


# -- closed loop -------------------------------------------------------------------------------

def _lua_str(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}" for b in raw) + '"'


def _lua_table(headers: dict) -> str:
    return "{" + ", ".join(f"[{_lua_str(k)}] = {_lua_str(v)}" for k, v in headers.items()) + "}"


def wrk_script(reqs: Request | Sequence[Request], fresh_ids: bool) -> str:
    """The Lua script for wrk: the request (several: each thread goes round them), fresh webhook
    ids when asked, and a done() hook that prints the figures as one JSON line."""
    reqs = [reqs] if isinstance(reqs, Request) else list(reqs)
    first = reqs[0]
    lines = [f"wrk.method = {_lua_str(first.method)}", f"wrk.body = {_lua_str(first.body)}"]
    for k, v in first.headers.items():
        lines.append(f"wrk.headers[{_lua_str(k)}] = {_lua_str(v)}")
    lines.append("""
local counter = 0
local threads = {}
function setup(thread)  -- runs in the main state, once per thread: each thread its own number
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
local nonce = "00000000"
local n = 0
""")
    if len(reqs) > 1:
        lines.append("local variants = {")
        for r in reqs:
            lines.append(f"  {{{_lua_str(r.method)}, {_lua_str(r.path)}, {_lua_table(r.headers)}, {_lua_str(r.body)}}},")
        lines.append("}")
        lines.append("""
local prepared = {}
function init(args)
  nonce = args[1] or nonce
  for i, v in ipairs(variants) do
    local h = {}
    for k, x in pairs(wrk.headers) do h[k] = x end
    for k, x in pairs(v[3]) do h[k] = x end
    prepared[i] = wrk.format(v[1], v[2], h, v[4])
  end
end
function request()
  n = n + 1
  return prepared[(n * 7 + tid * 131) % #prepared + 1]
end
""")
    elif fresh_ids:
        lines.append("""
function init(args)
  nonce = args[1] or nonce
end
function request()
  n = n + 1
  local id = string.format("%s-%04x-4000-8000-%012x", nonce, tid, n)
  wrk.headers["X-Shopify-Webhook-Id"] = id
  wrk.headers["X-Shopify-Event-Id"] = id
  return wrk.format()
end
""")
    lines.append("""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "status_errors": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
""")
    return "\n".join(lines)


def wrk(port: int, seconds: float, req: Request | Sequence[Request], *, threads: int = 2, connections: int = 32,
        fresh_ids: bool = False, host: str = "127.0.0.1", timeout: float = 10.0, warming: bool = False) -> dict:
    """One closed-loop wrk run; the figures from its done() hook. `warming`: a run to warm the
    server up (a worker's first request can take seconds), which may complete none."""
    if fresh_ids and not isinstance(req, Request) and len(req) > 1:
        raise ValueError("fresh webhook ids go with one request")
    first = req if isinstance(req, Request) else req[0]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(wrk_script(req, fresh_ids))
    try:
        cmd = [shutil.which("wrk") or "wrk", "-t", str(threads), "-c", str(max(connections, threads)),
               "-d", f"{max(1, round(seconds))}s", "--timeout", f"{max(1, round(timeout))}s", "-s", f.name,
               f"http://{host}:{port}{first.path}", "--", uuid.uuid4().hex[:8]]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout + 30)
    finally:
        os.unlink(f.name)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures: {out.stdout[-500:]} {out.stderr[-500:]}")
    s = json.loads(line[len("WRKJSON "):])
    if not s["requests"] and not warming:
        raise RuntimeError(f"wrk completed no request: {out.stdout[-1500:]} {out.stderr[-500:]}")
    sock = s["connect"] + s["read"] + s["write"] + s["timeout"]
    return {"tool": f"wrk ({threads} threads x {max(connections, threads)} connections)",
            "rps": s["requests"] / max(s["duration_us"] / 1e6, 1e-9), "requests": s["requests"],
            "ok": s["requests"] - s["status_errors"], "non_2xx": s["status_errors"], "conn_errors": sock,
            "errors": s["status_errors"] + sock, "p50_ms": s["p50_us"] / 1000, "p99_ms": s["p99_us"] / 1000,
            "max_ms": s["max_us"] / 1000}


def closed_loop(port: int, seconds: float, req: Request | Sequence[Request], *, threads: int = 2, connections: int = 32,
                fresh_ids: bool = False, use_wrk: bool | None = None, warming: bool = False) -> dict:
    """Throughput with `connections` busy connections: wrk when on PATH (or `use_wrk`), else the
    Python load of bench/harness.py (whose result also has the 200s' webhook ids; it sends the
    first of several requests only)."""
    if use_wrk is None:
        use_wrk = shutil.which("wrk") is not None
    if use_wrk:
        return wrk(port, seconds, req, threads=threads, connections=connections, fresh_ids=fresh_ids, warming=warming)
    from bench.harness import load

    several = not isinstance(req, Request) and len(req) > 1
    req = req if isinstance(req, Request) else req[0]
    r = load(port, seconds, connections, req.body, req.headers, req.path, unique=fresh_ids, method=req.method)
    return {**r, "tool": f"python http.client ({connections} connections; wrk not on PATH"
                         f"{'; the first request only' if several else ''})",
            "ok": len(r["ok_ids"]) if fresh_ids else None, "non_2xx": r["errors"], "conn_errors": 0}


def warm(port: int, req: Request | Sequence[Request], *, fresh_ids: bool = False, threads: int = 2,
         connections: int = 32, rounds: int = 6) -> None:
    """Closed-loop runs of a second until one completes requests and none took a second (a
    gunicorn worker's first request can take seconds: the app is made then), at most `rounds`."""
    for _ in range(rounds):
        r = closed_loop(port, 1, req, threads=threads, connections=connections, fresh_ids=fresh_ids, warming=True)
        if r["rps"] > 0 and r["max_ms"] < 1000:
            return


def closed_line(label: str, r: dict, base: dict | None = None) -> str:
    ratio = f"   {r['rps'] / base['rps']:.2f} x bare" if base else ""
    return (f"{label:28s} {r['rps']:8.0f} req/s{ratio}   (closed-loop p50 {r['p50_ms']:6.2f} ms,"
            f" p99 {r['p99_ms']:6.2f} ms)   errors {r['errors']}")


# -- the benches' two phases -------------------------------------------------------------------

@dataclass
class Target:
    """What a bench measures against its bare baseline: a label, the app's port and request,
    and the p99 goal (ms) of the open-loop phase, if any."""
    label: str
    port: int
    request: Request
    goal_ms: float | None = None


def compare(bare: Target, apps: Sequence[Target], seconds: float, *, fresh_ids: bool = False,
            share: float = 0.5, threads: int = 2, connections: int = 32,
            before_app: Callable[[], None] | None = None,
            after_app: Callable[[str, Target, dict], None] | None = None) -> dict:
    """Phase 1: closed-loop throughput (wrk `threads` x `connections`, else the Python load) of
    the bare baseline and of each app target, and their ratio. Phase 2: open loop at `share` of
    the bare baseline's measured throughput, the same rate for the bare baseline and each app
    target: p50/p99 side by side. Prints every figure next to its baseline; returns them all.
    `before_app` / `after_app(phase, target, result)` run around every measured app run (the
    ingest bench counts its inbox rows there)."""
    hook = webhook_ids if fresh_ids else None
    collect = "X-Shopify-Webhook-Id" if fresh_ids else None
    for t in (bare, *apps):  # warm both sides (connections, caches, the workers' first requests)
        warm(t.port, t.request, threads=threads, connections=connections, fresh_ids=fresh_ids)
    closed = {}
    for t in (bare, *apps):
        if t is not bare and before_app:
            before_app()
        closed[t.label] = closed_loop(t.port, seconds, t.request, threads=threads, connections=connections,
                                      fresh_ids=fresh_ids)
        if t is not bare and after_app:
            after_app("closed", t, closed[t.label])
    base = closed[bare.label]
    print(f"phase 1, closed loop ({base['tool']}), {max(1, round(seconds))} s each: throughput")
    for t in (bare, *apps):
        print("  " + closed_line(t.label, closed[t.label], None if t is bare else base))
    rate = share * base["rps"]
    opened = {}
    for t in (bare, *apps):
        if t is not bare and before_app:
            before_app()
        opened[t.label] = open_loop(t.port, rate, seconds, t.request, headers_hook=hook, collect_header=collect)
        if t is not bare and after_app:
            after_app("open", t, opened[t.label])
    ob = opened[bare.label]
    print(f"phase 2, open loop at {rate:.0f} req/s ({share:.0%} of the bare baseline's throughput), {seconds:g} s each;"
          " latency from each request's due time")
    for t in (bare, *apps):
        r = opened[t.label]
        print("  " + open_line(t.label, r))
    for t in apps:
        r = opened[t.label]
        goal = "" if t.goal_ms is None else \
            f";  goal p99 <= {t.goal_ms:g} ms: {'met' if r['p99_ms'] <= t.goal_ms and not r['errors'] else 'NOT met'}"
        print(f"  {t.label}: p50 {r['p50_ms']:.2f} ms vs bare {ob['p50_ms']:.2f} ms ({r['p50_ms'] / max(ob['p50_ms'], 1e-9):.1f} x),"
              f" p99 {r['p99_ms']:.2f} ms vs bare {ob['p99_ms']:.2f} ms ({r['p99_ms'] / max(ob['p99_ms'], 1e-9):.1f} x){goal}")
    return {"closed": closed, "open": opened, "rate": rate, "closed_tool": base["tool"]}


def figures(result: dict, bare: Target, apps: Sequence[Target]) -> dict:
    """The JSON line's figures: per app target its throughput ratio and open-loop p50/p99."""
    c, o = result["closed"], result["open"]
    out = {"closed_tool": result["closed_tool"].split(" ")[0], "open_rate": round(result["rate"]),
           "bare_rps": round(c[bare.label]["rps"]), "bare_p50_ms": round(o[bare.label]["p50_ms"], 2),
           "bare_p99_ms": round(o[bare.label]["p99_ms"], 2)}
    for t in apps:
        key = t.label
        out[key] = {"rps": round(c[key]["rps"]), "ratio": round(c[key]["rps"] / c[bare.label]["rps"], 3),
                    "p50_ms": round(o[key]["p50_ms"], 2), "p99_ms": round(o[key]["p99_ms"], 2),
                    "open_errors": o[key]["errors"], "client_lag_p99_ms": round(o[key]["lag_p99_ms"], 2),
                    **({"goal_p99_ms": t.goal_ms, "goal_met": o[key]["p99_ms"] <= t.goal_ms and not o[key]["errors"]}
                       if t.goal_ms is not None else {})}
    return out
