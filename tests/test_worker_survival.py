"""A real `loyalty worker` against a Redis of its own: it outlives any idle time (redis-py 8
gives every client a 5 s socket timeout, which used to end an idle worker after 6 s) and a
30-second Redis outage (it reconnects with backoff and then works through the backlog), it
says in its heartbeat row that it is alive, and SIGTERM still stops it cleanly."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from plugin_app.runtime import Runtime
from plugin_app.services.workers import Heartbeats

from .conftest import ENCRYPTION_KEY, make_settings
from .test_worker_kill import wait_for

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int, workdir) -> subprocess.Popen:
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: _answers(port), 10), "redis-server did not start"
    return proc


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def review(rt, shop_id: int, n: int) -> int:
    body = json.dumps({"id": f"rev-{n}", "customer_id": f"c-{n}", "event": "review"}).encode()
    return rt.inbox.accept(shop_id, "internal", "action.completed", f"evt-{n}", body, {})[0]


@pytest.mark.skipif(not os.path.exists("/usr/bin/redis-server"), reason="needs redis-server to stop and start one")
def test_worker_survives_idle_time_and_a_redis_outage(clean_db, tmp_path):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_proc = start_redis(port, tmp_path)
    rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=url, sweep_after_seconds=1))
    shop, _ = rt.shops.register("demo", "survive.example")
    rt.programs.put(shop.id, {"actions": {"review": {"enabled": True, "points": 10}}}, author="test")
    env = {**os.environ, "DATABASE_URL": clean_db, "REDIS_URL": url, "LOYALTY_ENCRYPTION_KEY": ENCRYPTION_KEY,
           "LOYALTY_SWEEP_AFTER_SECONDS": "1", "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen([sys.executable, "-c", "from plugin_app.cli import main; main()", "worker"],
                              env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=open(tmp_path / "worker.log", "wb"))
    log = lambda: (tmp_path / "worker.log").read_text(errors="replace")  # noqa: E731
    done = lambda i: rt.inbox.get(i).state == "done"  # noqa: E731
    try:
        time.sleep(12)  # idle for longer than any client timeout
        assert worker.poll() is None, f"the idle worker exited ({worker.returncode}):\n{log()}"
        first = review(rt, shop.id, 1)
        assert wait_for(lambda: done(first), 20), log()

        redis_proc.send_signal(signal.SIGTERM)
        redis_proc.wait(10)
        backlog = [review(rt, shop.id, n) for n in (2, 3)]  # stored durably; the doorbell fails
        time.sleep(30)
        assert worker.poll() is None, f"the worker exited while Redis was down ({worker.returncode}):\n{log()}"
        states = {b["state"] for b in Heartbeats(rt.db).recent() if b["alive"]}
        assert states == {"reconnecting"}, states
        assert "Redis is unreachable" in log()

        redis_proc = start_redis(port, tmp_path)
        assert wait_for(lambda: all(done(i) for i in backlog), 60), log()
        assert wait_for(lambda: "Redis is back" in log(), 15), log()
        with rt.db.transaction() as conn:
            assert conn.execute(text("select count(*) from ledger_entries")).scalar() == 3
        assert wait_for(lambda: {b["state"] for b in Heartbeats(rt.db).recent() if b["alive"]} == {"working"}, 15)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            code = "killed"
        redis_proc.kill()
        rt.close()
    assert code == 0, (code, log()[-3000:])
    assert [b["state"] for b in Heartbeats(rt.db).recent()] == ["stopped"]



def test_workers_heartbeats_show_on_readiness_and_the_operations_page(clean_db, redis_url):
    from plugin_app import create_app

    app = create_app({"database_url": clean_db, "jobs_mode": "rq", "redis_url": redis_url,
                      "encryption_keys": (ENCRYPTION_KEY,)})
    rt = app.extensions["loyalty"]
    shop, key = rt.shops.register("demo", "beats.example")
    beats = Heartbeats(rt.db)
    beats.beat("host-a.101.abc", "working")
    beats.beat("host-b.202.def", "reconnecting", "ConnectionError: Error 111 connecting to 127.0.0.1:6379")
    client = app.test_client()
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ok" and ready["checks"]["workers"] == "2 alive"
    assert {w["name"]: w["state"] for w in ready["workers"]} == {"host-a.101.abc": "working",
                                                                   "host-b.202.def": "reconnecting"}
    client.post("/admin/login", data={"key": key})
    page = client.get("/admin/operations").get_data(as_text=True)
    assert "waiting for Redis" in page and "Error 111" in page and page.count(">running<") >= 2
    beats.beat("host-a.101.abc", "stopped")
    assert client.get("/readyz").get_json()["checks"]["workers"] == "1 alive"
    rt.close()
