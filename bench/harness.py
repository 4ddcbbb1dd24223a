"""What the benchmarks share: serving a WSGI app with gunicorn under the project's settings,
and a load generator in separate processes (keep-alive connections on loopback)."""
from __future__ import annotations

import http.client
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(url: str, key: str, redis_url: str, threads: int | None = None, *, unlimited: bool = False) -> dict:
    """The environment a bench serves the app (and the bare baseline) with: its database, Redis and
    key, no access line per request; `threads` per gunicorn worker (with as many database
    connections); `unlimited`: the storefront's rate limits lifted (they would rightly answer 429)."""
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "LOYALTY_ENCRYPTION_KEY": key,
           "LOG_LEVEL": "WARNING"}
    if threads is not None:
        env.update(WEB_THREADS=str(threads), DB_POOL_SIZE=str(threads))
    if unlimited:
        env.update(STOREFRONT_SHOP_RATE="100000000", STOREFRONT_CLIENT_RATE="100000000")
    return env


SERVED: dict[int, int] = {}  # port -> the gunicorn master's pid


def serve(module: str, port: int, env: dict, workers: int) -> subprocess.Popen:
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
           "-b", f"127.0.0.1:{port}", "-w", str(workers), module]
    proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    SERVED[port] = proc.pid
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{module} did not start")


def _client(args) -> tuple[list[float], int, int, list[str]]:
    port, path, seconds, threads, body, headers, unique, method = args
    latencies: list[float] = []
    errors = [0]
    ok_ids: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine, ids, bad = [], [], 0
        while time.perf_counter() < deadline:
            wid = str(uuid.uuid4())
            start = time.perf_counter()
            try:
                conn.request(method, path, body if method == "POST" else None,
                             {**headers, "X-Shopify-Webhook-Id": wid, "X-Shopify-Event-Id": wid} if unique else headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                status = 0
            mine.append(time.perf_counter() - start)
            if status == 200:
                ids.append(wid)
            else:
                bad += 1
        with lock:
            latencies.extend(mine)
            ok_ids.extend(ids)
            errors[0] += bad

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return latencies, len(latencies), errors[0], ok_ids


def load(port: int, seconds: float, connections: int, body: bytes, headers: dict,
         path: str = "/webhooks/shopify", unique: bool = True, method: str = "POST") -> dict:
    """Drive `path` for `seconds` from up to 4 processes; latencies, throughput, 200 ids."""
    procs = max(1, min(connections // 8, 4))
    per = connections // procs
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(procs) as pool:
        start = time.perf_counter()
        results = pool.map(_client, [(port, path, seconds, per, body, headers, unique, method)] * procs)
        elapsed = time.perf_counter() - start
    lat = sorted(x for r in results for x in r[0])
    total = sum(r[1] for r in results)
    q = statistics.quantiles(lat, n=100) if len(lat) > 100 else [0] * 99
    return {"rps": total / elapsed, "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000,
            "max_ms": lat[-1] * 1000 if lat else 0, "errors": sum(r[2] for r in results),
            "ok_ids": [i for r in results for i in r[3]]}




@contextmanager
def bench_database(prefix: str):
    """A PostgreSQL database of the bench's own, migrated, with a fresh encryption key; dropped
    afterwards. Yields (url, key, redis_url)."""
    from cryptography.fernet import Fernet
    from sqlalchemy import create_engine, text

    from plugin_app.settings import normalize_database_url
    from plugin_app.storage.migrate import upgrade

    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
        "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    server = normalize_database_url(base).rsplit("/", 1)[0]
    admin = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(f"{server}/{name}")
        yield f"{server}/{name}", Fernet.generate_key().decode(), redis_url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def served(env: dict, workers: int):
    """The app and the bare baseline under the same gunicorn settings; yields their ports."""
    procs = []
    try:
        app_port, hello_port = free_port(), free_port()
        procs.append(serve("wsgi:app", app_port, env, workers))
        procs.append(serve("bench.hello:app", hello_port, env, workers))
        yield app_port, hello_port
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(10)


def seeded_member(url: str, key: str, redis_url: str, *, referrals: bool = False, entries: int = 40):
    """A demo shop with one member who has history (the tier window sums real entries).
    Returns (shop, customer token)."""
    from plugin_app.runtime import Runtime
    from plugin_app.services import identity
    from plugin_app.settings import Settings

    rt = Runtime(Settings().with_overrides(dict(database_url=url, jobs_mode="rq", redis_url=redis_url,
                                                encryption_keys=(key,))))
    shop, _ = rt.shops.register("demo", "bench.example")
    if referrals:
        rt.programs.put(shop.id, {"referrals": {"enabled": True}}, author="bench")
    member, _ = rt.members.enrol(shop.id, "c-1")
    for i in range(entries):
        rt.ledger.earn(shop.id, member.id, "points", 25, key=f"seed-{i}", source="order", reason=f"order {i}")
    rt.referrals.code_for(shop.id, member.id)
    shop = rt.shops.get(shop.id)
    token = identity.sign(shop.id, "c-1", rt.shops.widget_secret(shop.id), ttl=3600)
    rt.close()
    return shop, token


# -- server CPU per request, and runs in rounds ------------------------------------------------
# On this shared machine one run's throughput moves threefold with the neighbours' load; the
# CPU a request costs the server side moves much less. So the benches that compare paths run
# them in turn, several rounds, report the median ratio, and the server CPU per request (the
# gunicorn processes and the shared services they use, from /proc) beside it.

def _ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks


def family(root: int) -> list[int]:
    """A process and its children (gunicorn's master and workers)."""
    pids = [root]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == root:
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def named(*commands: str) -> list[int]:
    """The processes running one of `commands` (redis-server, postgres)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() in commands:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += _ticks(pid)
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


def median(values: list[float]) -> float:
    s = sorted(values)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def in_rounds(targets: list[tuple], seconds: float, rounds: int, families: dict[str, list[int]],
              shared=lambda: [], fresh_ids: bool = False, after=None) -> dict:
    """Closed-loop runs of each (label, port, request) in turn, `rounds` times; the first is the
    bare baseline. Prints each run with its ratio and server CPU per request (the target's
    processes and `shared()`'s), then the medians; returns them. `after(label, result)` runs
    after each."""
    from bench.openloop import closed_line, closed_loop

    ratios = {t[0]: [] for t in targets}
    cpu = {t[0]: [] for t in targets}
    for i in range(rounds):
        print(f"round {i + 1}")
        base = None
        for label, port, req in targets:
            watched = families[label] + shared()
            before = cpu_seconds(watched)
            r = closed_loop(port, seconds, req, fresh_ids=fresh_ids)
            spent = cpu_seconds(watched) - before
            base = base or r
            ratios[label].append(round(r["rps"] / base["rps"], 2))
            per = spent / max(1, r["rps"] * seconds) * 1e6
            cpu[label].append(per)
            print("  " + closed_line(label, r, None if r is base else base) + f"   server CPU {per:5.0f} µs/request")
            if after:
                after(label, r)
    bare = median(cpu[targets[0][0]])
    print(f"median over {rounds} rounds:")
    for label in ratios:
        print(f"  {label:28s} throughput {median(ratios[label]):.2f} x bare   server CPU "
              f"{median(cpu[label]):5.0f} µs/request ({bare / median(cpu[label]):.2f} x bare's)")
    return {"ratios_to_bare": ratios, "median_ratio": {k: median(v) for k, v in ratios.items()},
            "cpu_us_per_request": {k: round(median(v)) for k, v in cpu.items()},
            "cpu_ratio": {k: round(bare / median(v), 2) for k, v in cpu.items()}}
