"""Group commit for webhook intake. Request threads hand their delivery to one writer thread
per process and wait; the writer takes whatever arrived within a short window, stores it all
with one INSERT and one commit, and wakes each request with its own answer. A request is
answered only after its row is committed, so a 200 always means stored; if the commit fails,
every request of that batch gets the error (and answers 503)."""
from __future__ import annotations

import queue
import threading
import time

from .inbox import Inbox


class _Pending:
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item) -> None:
        self.item, self.done, self.result, self.error = item, threading.Event(), None, None


class GroupCommit:
    def __init__(self, inbox: Inbox, *, window: float = 0.002, max_batch: int = 256) -> None:
        self.inbox, self.window, self.max_batch = inbox, window, max_batch
        self._queue: queue.Queue[_Pending] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _start(self) -> None:
        with self._lock:  # started lazily, so a forking server starts one per worker process
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="inbox-group-commit", daemon=True)
                self._thread.start()

    def accept(self, shop_id: int, source: str, topic: str, external_id: str, payload: bytes,
               headers: dict, timeout: float = 4.0) -> tuple[int, bool]:
        self._start()
        pending = _Pending((shop_id, source, topic, external_id, payload, headers))
        self._queue.put(pending)
        if not pending.done.wait(timeout):
            raise TimeoutError("the delivery was not stored in time")
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + self.window
            while len(batch) < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
            try:
                results = self.inbox.accept_many([p.item for p in batch])
                for p, r in zip(batch, results):
                    p.result = r
            except Exception as exc:  # nothing of this batch is stored: all of it answers 503
                for p in batch:
                    p.error = exc
            for p in batch:
                p.done.set()
