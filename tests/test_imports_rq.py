"""Imports on the real queue: the dry run and the apply run in `loyalty worker` processes (RQ on
Redis, PostgreSQL), with the slices of an apply shared between workers; a worker killed half way
through an apply leaves a committed prefix, and the sweeper's re-queue lets another worker finish
with the report equal to the dry run."""
import io
import os
import signal
import subprocess
import sys
import time

from redis import Redis
from rq import Queue, SimpleWorker

from plugin_app.jobs import context
from plugin_app.jobs.queues import QUEUE_NAME, QUEUE_NAMES, URGENT_QUEUE
from plugin_app.runtime import Runtime
from plugin_app.services.audit import run_audit
from plugin_app.services.imports import Summary

from .conftest import ENCRYPTION_KEY, make_settings
from .test_worker_kill import wait_for

HEADER = "email,customer_id,name,points_balance,store_credit,tier,birthday,referral_code,locale\n"


def test_an_import_through_real_workers_survives_one_killed_mid_apply(clean_db, redis_url, tmp_path):
    rows = "".join(f"w{i}@example.com,{800000 + i},W {i},{i + 1},,,,,\n" for i in range(3000))
    rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=redis_url))
    shop, _ = rt.shops.register("demo", "rq-import.example")
    view = rt.imports.upload(shop.id, "big.csv", io.BytesIO((HEADER + rows).encode()))
    assert view["state"] == "uploaded"  # queued, not done in the request
    env = {**os.environ, "DATABASE_URL": clean_db, "REDIS_URL": redis_url, "LOYALTY_ENCRYPTION_KEY": ENCRYPTION_KEY,
           "LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-c", "from plugin_app.cli import main; main()", "worker"]
    subprocess.run([*cmd, "--burst"], env=env, timeout=300, check=True, stdout=subprocess.DEVNULL)
    view = rt.imports.view(shop.id, view["id"])
    assert view["state"] == "analyzed" and view["plan"]["members"]["create"] == 3000

    # Slices of 100 rows; the worker stops for good after its first slice committed, and is killed
    marker = tmp_path / "hit"
    env.update(LOYALTY_IMPORT_SLICE_ROWS="100", LOYALTY_FAILPOINTS=f"import.after_slice=pause:{marker}")
    rt.imports.apply(shop.id, view["id"])
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(marker.exists, timeout=120), proc.stderr.read1(4000) if proc.poll() is not None else "no hit"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    mid = rt.imports.view(shop.id, view["id"])
    assert mid["state"] == "applying" and mid["progress"]["done"] == 100
    assert run_audit(rt.db).ok  # what the dead worker committed is whole slices: sound books

    # Another host's sweeper notices the import stopped moving, and its worker finishes it
    from plugin_app.domain.ports import FixedClock

    rt.imports.clock = FixedClock(rt.clock.now() + __import__("datetime").timedelta(minutes=10))
    Queue(QUEUE_NAME, connection=Redis.from_url(redis_url)).empty()  # the killed job's leftovers, if any
    assert rt.imports.resume_stalled() == 1
    context.install(rt)
    redis = Redis.from_url(redis_url)
    SimpleWorker([Queue(n, connection=redis) for n in QUEUE_NAMES], connection=redis).work(burst=True)
    done = rt.imports.view(shop.id, view["id"])
    assert done["state"] == "applied", done
    assert Summary.comparable(done["report"]) == Summary.comparable(view["plan"]) and done["matches_plan"]
    assert sum(rt.members.by_customer(shop.id, str(800000 + i))[1].points for i in range(0, 3000, 500)) == \
        sum(i + 1 for i in range(0, 3000, 500))
    assert run_audit(rt.db).ok
    rt.close()
