"""`loyalty worker`: an RQ worker plus a ticker that enqueues the periodic jobs.

Any number of workers may run on any hosts: each period, the first worker to win a Redis
``SET NX EX`` for a job enqueues it, so a periodic job runs once per period cluster-wide.
"""
from __future__ import annotations

import logging
import threading
import time

from .queues import QUEUE_NAME, TASK_MODULE
from .schedule import PERIODIC

log = logging.getLogger(__name__)


def tick(redis, enqueue, now: float | None = None) -> list[str]:
    """Enqueue each periodic job whose slot this worker wins; returns the ones it enqueued."""
    now = time.time() if now is None else now
    fired = []
    for job in PERIODIC:
        slot = int(now // job.every_seconds)
        if redis.set(f"loyalty:periodic:{job.task}:{slot}", "1", nx=True, ex=job.every_seconds * 2):
            enqueue(job.task)
            fired.append(job.task)
    return fired


def run_worker(runtime, *, burst: bool = False, fork: bool = False) -> None:
    from rq import Queue, SimpleWorker, Worker

    queue_obj = runtime.queue
    redis = queue_obj.redis
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            try:
                tick(redis, lambda task: queue_obj.enqueue(task, job_id=None))
            except Exception:
                log.warning("periodic tick failed", exc_info=True)
            stop.wait(1.0)

    if not burst:
        threading.Thread(target=ticker, name="loyalty-ticker", daemon=True).start()
    worker_cls = Worker if fork else SimpleWorker  # no fork per job: ~20x the throughput
    worker = worker_cls([Queue(QUEUE_NAME, connection=redis)], connection=redis)
    log.info("worker starting", extra={"queue": QUEUE_NAME, "tasks": TASK_MODULE, "fork": fork})
    try:
        worker.work(burst=burst, with_scheduler=not burst, logging_level="WARNING")
    finally:
        stop.set()


def run_periodic_in_process(run, stop: threading.Event) -> threading.Thread:
    """Without Redis (the offline demo): one thread runs each periodic job on its interval."""
    def loop() -> None:
        last = {job.task: 0.0 for job in PERIODIC}
        while not stop.is_set():
            now = time.monotonic()
            for job in PERIODIC:
                if now - last[job.task] >= job.every_seconds:
                    last[job.task] = now
                    try:
                        run(job.task, ())
                    except Exception:
                        log.exception("periodic job %s failed", job.task)
            stop.wait(1.0)

    thread = threading.Thread(target=loop, name="loyalty-periodic", daemon=True)
    thread.start()
    return thread
