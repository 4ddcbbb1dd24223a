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


def serve(module: str, port: int, env: dict, workers: int) -> subprocess.Popen:
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
           "-b", f"127.0.0.1:{port}", "-w", str(workers), module]
    proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
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
