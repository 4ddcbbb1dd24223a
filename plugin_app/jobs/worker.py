"""`loyalty worker`: an RQ worker plus a ticker that enqueues the periodic jobs.

Any number of workers may run on any hosts: each period, the first worker to win a Redis
``SET NX EX`` for a job enqueues it, so a periodic job runs once per period cluster-wide.

The worker outlives Redis: RQ's own loop quits on a socket timeout or a lost connection, so
it runs inside a loop of ours that reconnects with backoff (and says so in the log) until it
is asked to stop. Its connection carries no socket timeout shorter than RQ's blocking dequeue
(redis-py 8 gives every client a 5 s default, which would end an idle worker after 5 s). A
heartbeat row in the database says it is alive, even while Redis is away.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid

from . import context
from .queues import QUEUE_NAMES, TASK_MODULE
from .schedule import PERIODIC

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 5
BACKOFF_MAX = 30.0


def tick(redis, enqueue, now: float | None = None) -> list[str]:
    """Enqueue each periodic job whose slot this worker wins; returns the names it enqueued.
    `enqueue` gets the task's name: what RQ's dotted path and the slot's lock are made of."""
    now = time.time() if now is None else now
    fired = []
    for job in PERIODIC:
        slot = int(now // job.every_seconds)
        if redis.set(f"loyalty:periodic:{job.name}:{slot}", "1", nx=True, ex=job.every_seconds * 2):
            enqueue(job.name)
            fired.append(job.name)
    return fired


def worker_connection(redis_url: str):
    """A client for RQ's blocking dequeue: no read timeout of its own (RQ sets one longer than
    its dequeue), a bounded connect timeout, and a keepalive so dead peers are noticed."""
    from redis import Redis

    return Redis.from_url(redis_url, socket_timeout=None, socket_connect_timeout=5,
                          socket_keepalive=True, health_check_interval=30)


class Backoff:
    def __init__(self, first: float = 0.5, limit: float = BACKOFF_MAX) -> None:
        self.first, self.limit, self.next = first, limit, first

    def wait(self, stop: threading.Event) -> float:
        delay = self.next
        self.next = min(self.next * 2, self.limit)
        stop.wait(delay)
        return delay

    def reset(self) -> None:
        self.next = self.first


def run_worker(runtime, *, burst: bool = False, fork: bool = False) -> None:
    """Work the queue with `runtime`, which becomes the process's runtime for its jobs (and,
    with `fork`, for the work-horses RQ forks per job: they inherit it)."""
    from redis.exceptions import RedisError
    from rq import Queue, SimpleWorker, Worker

    from ..services.workers import Heartbeats

    context.install(runtime)
    if fork:
        # A forked work-horse must not share the parent's pooled database connections (the
        # heartbeat thread keeps using them): it starts a pool of its own (SQLAlchemy's recipe).
        os.register_at_fork(after_in_child=lambda: runtime.db.engine.dispose(close=False))
    url = runtime.settings.redis_url
    stop = threading.Event()
    name = f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
    beats = Heartbeats(runtime.db, runtime.clock)
    beats.beat(name, "starting")

    def ticker() -> None:
        queue_obj = runtime.queue
        while not stop.is_set():
            try:
                tick(queue_obj.redis, lambda task: queue_obj.enqueue(task, job_id=None))
            except Exception as exc:  # Redis away: the heartbeat says so, the main loop reconnects
                log.debug("periodic tick failed: %s", exc)
            stop.wait(1.0)

    def heartbeat() -> None:
        """Redis as this worker sees it, written to the database every few seconds."""
        probe = probe_connection(url)
        was = "working"
        while not stop.is_set():
            try:
                probe.ping()
                state, detail = "working", None
            except RedisError as exc:
                state, detail = "reconnecting", f"{type(exc).__name__}: {exc}"[:500]
            if state != was:
                log.warning("Redis is unreachable (%s); the worker keeps trying" % detail if detail
                            else "Redis is back; the worker resumes")
                was = state
            try:
                beats.beat(name, state, detail)
            except Exception:
                log.warning("worker heartbeat could not be written", exc_info=True)
            stop.wait(HEARTBEAT_SECONDS)

    if not burst:
        threading.Thread(target=ticker, name="loyalty-ticker", daemon=True).start()
        threading.Thread(target=heartbeat, name="loyalty-heartbeat", daemon=True).start()
    worker_cls = Worker if fork else SimpleWorker  # no fork per job: ~20x the throughput
    backoff = Backoff()

    def on_signal(signum, frame) -> None:
        """Between RQ loops (reconnecting), a stop request ends the worker; RQ installs its
        own handlers while its loop runs and we read its verdict when it returns."""
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    log.info("worker starting", extra={"queues": QUEUE_NAMES, "tasks": TASK_MODULE, "fork": fork, "worker": name})
    try:
        while not stop.is_set():
            redis = worker_connection(url)
            try:
                redis.ping()
            except RedisError as exc:
                delay = backoff.wait(stop)
                log.info("Redis is unreachable (%s: %s); trying again in %.1f s", type(exc).__name__, exc, delay)
                if stop.is_set():
                    break
                continue
            backoff.reset()
            worker = worker_cls([Queue(n, connection=redis) for n in QUEUE_NAMES], connection=redis,
                                name=f"{name}.{uuid.uuid4().hex[:4]}")
            try:
                worker.work(burst=burst, with_scheduler=not burst, logging_level="WARNING")
            except RedisError as exc:  # RQ's own teardown can fail while Redis is away
                log.warning("the worker's loop ended without Redis: %s", exc)
            finally:
                _forget(worker)
                if threading.current_thread() is threading.main_thread():
                    signal.signal(signal.SIGTERM, on_signal)
                    signal.signal(signal.SIGINT, on_signal)
            if burst or stop.is_set() or _asked_to_stop(worker):
                break
            log.warning("the worker lost its connection to Redis; reconnecting")
            backoff.wait(stop)
    finally:
        stop.set()
        try:
            beats.beat(name, "stopped")
        except Exception:
            pass


def probe_connection(redis_url: str):
    """A short-fused client for the heartbeat's ping: no retries, two seconds at most."""
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))


def _asked_to_stop(worker) -> bool:
    """RQ's own signal handlers ran (a warm or cold shutdown): its loop ended on request, not
    because Redis went away. (RQ marks an idle worker's stop only by its request date.)"""
    return bool(getattr(worker, "_stop_requested", False) or getattr(worker, "_shutdown_requested_date", None))


def _forget(worker) -> None:
    """RQ's pubsub thread outlives a loop that ended on a lost connection: stop it, so a
    reconnecting worker does not pile them up."""
    thread = getattr(worker, "pubsub_thread", None)
    if thread is not None and thread.is_alive():
        thread.stop()
        thread.join(timeout=1)


def run_periodic_in_process(run, stop: threading.Event) -> threading.Thread:
    """Without Redis (the offline demo): one thread calls `run(task_function, ())` for each
    periodic job on its interval (`Runtime.run_task`, which lends the runtime to the call)."""
    def loop() -> None:
        last = {job.name: 0.0 for job in PERIODIC}
        while not stop.is_set():
            now = time.monotonic()
            for job in PERIODIC:
                if now - last[job.name] >= job.every_seconds:
                    last[job.name] = now
                    try:
                        run(job.task, ())
                    except Exception:
                        log.exception("periodic job %s failed", job.name)
            stop.wait(1.0)

    thread = threading.Thread(target=loop, name="loyalty-periodic", daemon=True)
    thread.start()
    return thread
