"""The shop's program document: validated on write, every change a new version with its
author; the current version is the newest. Restoring copies an old version as a new one."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from ..domain.errors import InvalidRequest, NotFound, VersionConflict
from ..domain.ports import Clock, SystemClock
from ..domain.program import Program
from ..storage import tables as t
from ..storage.db import Database
from ..storage.repos import insert_ignore

ADAPTER = TypeAdapter(Program)


class ProgramInvalid(InvalidRequest):
    code = "invalid_program"

    def __init__(self, fields: list[dict]) -> None:
        super().__init__("the program document is not valid")
        self.fields = fields


def field_errors(exc: ValidationError) -> list[dict]:
    """One message per bad field; `__post_init__` messages name their field as 'name: …'."""
    out = []
    for err in exc.errors():
        path = [str(p) for p in err["loc"]]
        message = err["msg"].removeprefix("Value error, ")
        head, sep, rest = message.partition(": ")
        if sep and head.replace("_", "").isalnum() and " " not in head:
            path.append(head)
            message = rest
        out.append({"field": ".".join(path) or "program", "message": message})
    return out


def parse(document: object) -> Program:
    if not isinstance(document, dict):
        raise ProgramInvalid([{"field": "program", "message": "must be a JSON object"}])
    try:
        return ADAPTER.validate_python(document)
    except ValidationError as exc:
        raise ProgramInvalid(field_errors(exc)) from None


def dump(program: Program) -> dict:
    return ADAPTER.dump_python(program, mode="json")


def ensure_default(conn: Connection, shop_id: int, now: datetime, timezone: str | None = None) -> None:
    """Give the shop its default program as version 1 unless it has one. Shops get it when they
    register (`Shops.register`); for older shops the first reader makes it. Never locks the
    shop row: postings run this inside their own transaction, and every insert that references
    the shop shares that row (a FOR UPDATE there deadlocked a new shop's concurrent first
    postings). Two first readers race on the (shop, version) key; one insert wins."""
    if timezone is None:
        timezone = conn.execute(select(t.shops.c.timezone).where(t.shops.c.id == shop_id)).scalar()
        if timezone is None:
            raise NotFound("shop not found")
    insert_ignore(conn, t.programs, dict(
        shop_id=shop_id, version=1, document=dump(Program(timezone=timezone)), author="system",
        note="default program", restored_from=None, created_at=now), ["shop_id", "version"])


@dataclass(frozen=True)
class ProgramVersion:
    version: int
    program: Program
    author: str
    created_at: datetime
    note: str | None = None
    restored_from: int | None = None


class Programs:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db, self.clock = db, clock or SystemClock()
        self._cache: dict[tuple[int, int], Program] = {}
        self._current_cache: dict[int, tuple[float, ProgramVersion]] = {}
        self._lock = threading.Lock()

    def _row_to_version(self, shop_id: int, row) -> ProgramVersion:
        key = (shop_id, row.version)
        program = self._cache.get(key)
        if program is None:
            program = parse(row.document)
            with self._lock:
                self._cache[key] = program
        return ProgramVersion(row.version, program, row.author, row.created_at, row.note, row.restored_from)

    def current(self, shop_id: int) -> ProgramVersion:
        """The newest version; a shop without one gets the default program as version 1. Read
        in the caller's unit of work when it has one (one connection per use case)."""
        with self.db.uow(shop_id, savepoint=False) as uow:
            hit = uow.memo.get(("program", shop_id))
            if hit is None:
                hit = uow.memo[("program", shop_id)] = self._current(uow.conn, shop_id)
            return hit

    def _current(self, conn: Connection, shop_id: int) -> ProgramVersion:
        row = self._newest(conn, shop_id)
        if row is None:  # a shop registered before programs were made at registration
            self.ensure_default(conn, shop_id)
            row = self._newest(conn, shop_id)
        return self._row_to_version(shop_id, row)

    @staticmethod
    def _newest(conn: Connection, shop_id: int):
        return conn.execute(select(t.programs).where(t.programs.c.shop_id == shop_id)
                            .order_by(t.programs.c.version.desc()).limit(1)).first()

    def ensure_default(self, conn: Connection, shop_id: int) -> None:
        ensure_default(conn, shop_id, self.clock.now())

    def for_reading(self, shop_id: int, ttl: float = 5.0) -> ProgramVersion:
        """The current program for read-only, hot paths (cart quotes): cached per process for a
        few seconds, so a merchant's change reaches quotes within `ttl`. Postings never use it."""
        import time

        now = time.monotonic()
        hit = self._current_cache.get(shop_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        pv = self.current(shop_id)
        self._current_cache[shop_id] = (now + ttl, pv)
        return pv

    def version(self, shop_id: int, version: int) -> ProgramVersion:
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            row = conn.execute(select(t.programs).where(t.programs.c.shop_id == shop_id,
                                                        t.programs.c.version == version)).first()
        if row is None:
            raise NotFound(f"program version {version} not found")
        return self._row_to_version(shop_id, row)

    def _save(self, conn: Connection, shop_id: int, program: Program, author: str,
              note: str | None, restored_from: int | None = None, expected: int | None = None) -> ProgramVersion:
        # Serialise writers per shop on the shop row, so versions are gap-free and unique. FOR NO
        # KEY UPDATE: it excludes other program writers but not the key-share locks that
        # foreign-key checks take, so postings for the shop never queue behind a program edit.
        conn.execute(select(t.shops.c.id).where(t.shops.c.id == shop_id).with_for_update(key_share=True))
        latest = conn.execute(select(func.max(t.programs.c.version)).where(
            t.programs.c.shop_id == shop_id)).scalar() or 0
        if expected is not None and expected != latest:
            raise VersionConflict(f"the program changed since you read it (version {expected}; now {latest})",
                                  current=latest)
        now = self.clock.now()
        conn.execute(insert(t.programs).values(
            shop_id=shop_id, version=latest + 1, document=dump(program), author=author[:255],
            note=(note or None) and note[:500], restored_from=restored_from, created_at=now))
        return ProgramVersion(latest + 1, program, author, now, note, restored_from)

    def put(self, shop_id: int, document: object, *, author: str, note: str | None = None,
            expected: int | None = None) -> ProgramVersion:
        """Save a new version. With `expected`, only if the newest version is still that one
        (checked under the same lock that numbers versions, so two editors cannot both win)."""
        program = parse(document)  # nothing is written unless the whole document is valid
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            self._current(conn, shop_id)  # make sure version 1 (the default) exists first
            uow.memo.pop(("program", shop_id), None)  # this transaction now reads the new version
            return self._save(conn, shop_id, program, author, note, expected=expected)

    def restore(self, shop_id: int, version: int, *, author: str) -> ProgramVersion:
        old = self.version(shop_id, version)
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            uow.memo.pop(("program", shop_id), None)
            return self._save(conn, shop_id, old.program, author, f"restored version {version}", version)

    def history(self, shop_id: int, limit: int = 100) -> list[dict]:
        self.current(shop_id)
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            rows = conn.execute(select(t.programs.c.version, t.programs.c.author, t.programs.c.note,
                                       t.programs.c.restored_from, t.programs.c.created_at)
                                .where(t.programs.c.shop_id == shop_id)
                                .order_by(t.programs.c.version.desc()).limit(limit)).all()
        return [{"version": r.version, "author": r.author, "note": r.note,
                 "restored_from": r.restored_from, "created_at": r.created_at.isoformat()} for r in rows]
