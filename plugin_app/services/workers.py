"""Worker heartbeats: each `loyalty worker` writes its row every few seconds, so the web side
(readiness, the operations page) can tell live workers from dead ones without asking Redis."""
from __future__ import annotations

import os
import socket
from datetime import timedelta

from ..domain.ports import Clock, SystemClock
from ..storage.db import Database
from ..storage.workers_repo import WorkersRepo

ALIVE_SECONDS = 60  # six missed heartbeats
FORGET_AFTER = timedelta(days=1)


class Heartbeats:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db, self.clock = db, clock or SystemClock()

    def beat(self, name: str, state: str, detail: str | None = None) -> None:
        now = self.clock.now()
        # Its own transaction, never a caller's savepoint: a heartbeat commits on its own.
        with self.db.transaction() as conn:
            workers = WorkersRepo(conn)
            workers.beat(name, socket.gethostname()[:255], os.getpid(), state, detail, now)
            workers.forget_unseen_since(now - FORGET_AFTER)

    def recent(self) -> list[dict]:
        """Workers seen in the last day, newest first, each marked alive or not."""
        now = self.clock.now()
        with self.db.uow(savepoint=False) as uow:  # a read: joining a caller's transaction is fine
            rows = uow.workers.recent(50)
        return [{"name": r.name, "host": r.host, "pid": r.pid, "state": r.state, "detail": r.detail,
                 "started_at": r.started_at.isoformat(), "last_seen": r.last_seen.isoformat(),
                 "alive": r.state != "stopped" and (now - r.last_seen).total_seconds() <= ALIVE_SECONDS}
                for r in rows]
