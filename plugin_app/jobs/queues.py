"""Where `enqueue` sends a task: RQ (Redis), an in-process thread, or right away (eager)."""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

from .tasks import Task, name_of

log = logging.getLogger(__name__)
QUEUE_NAME = "loyalty"
# Work a shopper or a merchant is waiting for right now: the inbox's drains (a webhook's points
# on a balance). Workers always look here first, so a drain never waits behind a queue of
# periodic and bulk jobs (a relay of a backlog's events, an analytics fold, an import slice);
# it waits at most for the job each worker has in hand.
URGENT_QUEUE = "loyalty-inbox"
URGENT_TASKS = frozenset({"drain_inbox", "process_inbox"})
QUEUE_NAMES = (URGENT_QUEUE, QUEUE_NAME)  # the order a worker listens in
TASK_MODULE = "plugin_app.jobs.tasks"
JOB_TIMEOUT = 600  # seconds a job may run before RQ stops it
# Tasks that read a whole file in one go (an import's dry run reads up to 512 MB: about five
# million rows): RQ would stop them half way, and they would start over for ever.
LONG_JOBS = {"import_analyze": 4 * 3600, "import_pull": 4 * 3600, "compute_segment": 3600}


def dotted(task: Task) -> str:
    """The path RQ imports a task by: its function's, or for a bare name, TASK_MODULE's."""
    if isinstance(task, str):
        return f"{TASK_MODULE}.{task}"
    return f"{task.__module__}.{task.__qualname__}"


class RQQueue:
    def __init__(self, redis_url: str) -> None:
        from redis import Redis
        from rq import Queue

        self.redis = Redis.from_url(redis_url)
        self.queue = Queue(QUEUE_NAME, connection=self.redis)
        self.urgent = Queue(URGENT_QUEUE, connection=self.redis)

    def _for(self, task: Task):
        return self.urgent if name_of(task) in URGENT_TASKS else self.queue

    def enqueue(self, task: Task, *args: object, job_id: str | None = None, delay: float = 0) -> None:
        """`delay`: seconds before the task may run (RQ's scheduler, which `loyalty worker` runs)."""
        if delay > 0:
            from datetime import timedelta

            self._for(task).enqueue_in(timedelta(seconds=delay), dotted(task), *args, job_id=job_id, result_ttl=60,
                                  failure_ttl=7 * 24 * 3600, job_timeout=LONG_JOBS.get(name_of(task), JOB_TIMEOUT))
            return
        self._for(task).enqueue(dotted(task), *args, job_id=job_id, result_ttl=60,
                           failure_ttl=7 * 24 * 3600, job_timeout=LONG_JOBS.get(name_of(task), JOB_TIMEOUT))

    def ping(self) -> bool:
        return bool(self.redis.ping())

    def failed(self, limit: int = 100) -> list[dict]:
        """Jobs RQ gave up on (kept a week): which task, when, and the last line of the error.
        Shop work itself is durable in the inbox; these are the job runs around it."""
        from rq.job import Job
        from rq.registry import FailedJobRegistry

        ids = [i for q in (self.urgent, self.queue) for i in FailedJobRegistry(queue=q).get_job_ids(0, limit - 1)]
        out = []
        for job in Job.fetch_many(ids[:limit], connection=self.redis):
            if job is None:
                continue
            error = (job.latest_result().exc_string if job.latest_result() else "") or ""
            out.append({"id": job.id, "task": job.func_name.rsplit(".", 1)[-1], "args": list(job.args),
                        "failed_at": job.ended_at.isoformat() if job.ended_at else None,
                        "error": (error.strip().splitlines() or [""])[-1][:500]})
        return out

    def requeue_failed(self) -> int:
        from rq.registry import FailedJobRegistry

        count = 0
        for q in (self.urgent, self.queue):
            registry = FailedJobRegistry(queue=q)
            ids = registry.get_job_ids()
            for job_id in ids:
                registry.requeue(job_id)
            count += len(ids)
        return count


class RedisBell:
    """The intake's doorbell on Redis: one drain job per slot at a time. The first message of a
    slot wins `SET NX` and enqueues a drain; the rest find the bell already rung (one Redis
    round trip instead of a whole RQ enqueue). The key expires, so a drain that died frees it."""

    # Slots are how many drains can run at once: well above the number of workers, or a worker
    # whose slot ran dry sits idle while another works through its own (with 4 slots, a third
    # worker added nothing: the last slot ran alone). Each slot costs one short read per drain.
    SLOTS = 16

    def __init__(self, queue: "RQQueue", slots: int = SLOTS, ttl: int = 30) -> None:
        self.queue, self.slots, self.ttl = queue, slots, ttl

    def ring(self, inbox_id: int) -> None:
        slot = inbox_id % self.slots
        if self.queue.redis.set(f"loyalty:drain:{slot}", "1", nx=True, ex=self.ttl):
            self.queue.enqueue("drain_inbox", slot, self.slots)

    def ring_many(self, inbox_ids: list[int]) -> None:
        """A batch of new messages: every slot they fall in is rung in one round trip (a
        pipeline of SET NX), and a drain enqueued for each slot that was not rung yet."""
        slots = sorted({i % self.slots for i in inbox_ids})
        pipe = self.queue.redis.pipeline(transaction=False)
        for slot in slots:
            pipe.set(f"loyalty:drain:{slot}", "1", nx=True, ex=self.ttl)
        for slot, won in zip(slots, pipe.execute()):
            if won:
                self.queue.enqueue("drain_inbox", slot, self.slots)

    def settle(self, slot: int) -> None:
        self.queue.redis.delete(f"loyalty:drain:{slot}")


class EagerQueue:
    """Runs the task at once, in the caller's thread: deterministic tests."""

    def __init__(self, run: Callable[[Task, tuple], object]) -> None:
        self._run = run

    def enqueue(self, task: Task, *args: object, job_id: str | None = None, delay: float = 0) -> None:
        self._run(task, args)  # `delay` is not waited for: tests run everything at once


class ThreadQueue:
    """One daemon thread per process working through tasks in order (the offline demo)."""

    def __init__(self, run: Callable[[Task, tuple], object]) -> None:
        self._run = run
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="loyalty-jobs", daemon=True)
        self._thread.start()

    def enqueue(self, task: Task, *args: object, job_id: str | None = None, delay: float = 0) -> None:
        self._queue.put((task, args))  # `delay` is not waited for (one thread: it would block the rest)

    def _loop(self) -> None:
        while True:
            task, args = self._queue.get()
            try:
                self._run(task, args)
            except Exception:
                log.exception("in-process task %s failed", name_of(task))
            finally:
                self._queue.task_done()

    def join(self) -> None:
        self._queue.join()
