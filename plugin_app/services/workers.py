"""Worker heartbeats: each `loyalty worker` writes its row every few seconds, so the web side
(readiness, the operations page) can tell live workers from dead ones without asking Redis."""
from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import delete, select, update

from ..domain.ports import Clock, SystemClock
from ..storage import tables as t
from ..storage.db import Database
from ..storage.repos import insert_ignore

ALIVE_SECONDS = 60  # six missed heartbeats
FORGET_AFTER = timedelta(days=1)


class Heartbeats:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db, self.clock = db, clock or SystemClock()

    def beat(self, name: str, state: str, detail: str | None = None) -> None:
        now = self.clock.now()
        w = t.workers.c
        with self.db.transaction() as conn:
            if not insert_ignore(conn, t.workers, dict(name=name, host=socket.gethostname()[:255], pid=os.getpid(),
                                                       state=state, detail=detail, started_at=now, last_seen=now),
                                 ["name"]):
                conn.execute(update(t.workers).where(w.name == name).values(state=state, detail=detail, last_seen=now))
            conn.execute(delete(t.workers).where(w.last_seen < now - FORGET_AFTER))

    def recent(self) -> list[dict]:
        """Workers seen in the last day, newest first, each marked alive or not."""
        now = self.clock.now()
        w = t.workers.c
        with self.db.transaction() as conn:
            rows = conn.execute(select(t.workers).order_by(w.last_seen.desc()).limit(50)).all()
        return [{"name": r.name, "host": r.host, "pid": r.pid, "state": r.state, "detail": r.detail,
                 "started_at": r.started_at.isoformat(), "last_seen": r.last_seen.isoformat(),
                 "alive": r.state != "stopped" and (now - r.last_seen).total_seconds() <= ALIVE_SECONDS}
                for r in rows]
