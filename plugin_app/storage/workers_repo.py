"""Worker heartbeats (`workers`): one row per `loyalty worker` process. Not about any shop (a
worker serves every shop), so NOT shop-scoped (not in `uow._REPOS`): `WorkersRepo(conn)`, or
`uow.workers` in any unit of work, with or without a shop. It runs no transaction of its own."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, Row

from . import tables as t
from .repos import insert_ignore

w = t.workers.c


class WorkersRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def beat(self, name: str, host: str, pid: int, state: str, detail: str | None, now: datetime) -> None:
        """The worker's row, created on its first beat (started now), else its state and last
        sight updated: INSERT … ON CONFLICT DO NOTHING, then an UPDATE only when it existed."""
        if not insert_ignore(self.conn, t.workers, dict(name=name, host=host, pid=pid, state=state, detail=detail,
                                                        started_at=now, last_seen=now), ["name"]):
            self.conn.execute(update(t.workers).where(w.name == name).values(state=state, detail=detail,
                                                                             last_seen=now))

    def forget_unseen_since(self, before: datetime) -> None:
        """Delete the rows of workers not seen since `before` (long gone)."""
        self.conn.execute(delete(t.workers).where(w.last_seen < before))

    def recent(self, limit: int) -> list[Row]:
        """The workers' rows, the most recently seen first."""
        return self.conn.execute(select(t.workers).order_by(w.last_seen.desc()).limit(limit)).all()
