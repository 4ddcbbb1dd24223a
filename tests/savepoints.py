"""A test's database work, rolled back at its end: one connection, one outer transaction, and
every unit of work inside it a savepoint.

`rolled_back(engine)` yields a `PinnedDatabase`: a `storage.db.Database` whose transactions,
units of work and reads all happen on that one connection. A unit of work finds the connection
already open (`open_connection()`) and joins it as a savepoint, as it does inside any caller's
transaction; `transaction()` opens a savepoint too; `reading()` and `engine.connect()` lend the
same connection, so reads see the test's uncommitted writes. Nothing is committed: when the
test ends the outer transaction is rolled back, and the tables are as they were, with no
TRUNCATE. Sequences are not transactional: they are set back to just past the highest id left
in their table, so a later test that counts ids from 1 after a TRUNCATE still does.

One thread only: the connection is the test's thread's (jobs must run eagerly; a server in
another thread needs a real database).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from plugin_app.storage.db import Database

# Each sequence owned by a column goes back to max(column) + 1 (1 for an empty table).
RESTART_SEQUENCES = text("""
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT d.objid::regclass AS seq, d.refobjid::regclass AS tbl, a.attname AS col
           FROM pg_depend d
           JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
           JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
           JOIN pg_class c ON c.oid = d.refobjid
           JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
           WHERE d.deptype IN ('a', 'i')
  LOOP
    EXECUTE format('SELECT setval(%L, coalesce((SELECT max(%I) FROM %s), 0) + 1, false)', r.seq, r.col, r.tbl);
  END LOOP;
END $$""")


class _Lent:
    """The pinned connection, lent to code that asked for a connection of its own: execution
    options it sets (the audit streams with `yield_per`) apply to its statements only, where on
    the connection itself they would stay for the rest of the test."""

    def __init__(self, conn: Connection, options: dict | None = None) -> None:
        self._conn, self._options = conn, dict(options or {})

    def execution_options(self, **options) -> "_Lent":
        return _Lent(self._conn, {**self._options, **options})

    def execute(self, statement, parameters=None, *, execution_options=None):
        return self._conn.execute(statement, parameters,
                                  execution_options={**self._options, **(execution_options or {})})

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


class _PinnedEngine:
    """What code reaches through `db.engine`: its dialect, and `connect()` lending the pinned
    connection (the audit and the health check read through it)."""

    def __init__(self, conn: Connection) -> None:
        self._conn, self.dialect, self.url = conn, conn.dialect, conn.engine.url

    @contextmanager
    def connect(self) -> Iterator[_Lent]:
        yield _Lent(self._conn)

    def dispose(self) -> None:
        pass


class PinnedDatabase(Database):
    def __init__(self, conn: Connection) -> None:  # no engine of its own: no Database.__init__
        self.url = str(conn.engine.url)
        self.engine = _PinnedEngine(conn)
        self._conn, self._thread = conn, threading.get_ident()
        self._open = threading.local()

    def _mine(self) -> Connection:
        if threading.get_ident() != self._thread:
            raise RuntimeError("a PinnedDatabase serves the test's own thread only (run jobs eagerly)")
        return self._conn

    def open_connection(self) -> Connection:
        return self._mine()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        conn = self._mine()
        with conn.begin_nested():
            yield conn

    @contextmanager
    def reading(self) -> Iterator[_Lent]:
        yield _Lent(self._mine())

    def dispose(self) -> None:
        pass  # the connection is the fixture's to close


@contextmanager
def rolled_back(engine: Engine) -> Iterator[PinnedDatabase]:
    conn = engine.connect()
    outer = conn.begin()
    try:
        yield PinnedDatabase(conn)
    finally:
        if outer.is_active:
            outer.rollback()
        conn.execute(RESTART_SEQUENCES)
        conn.commit()
        conn.close()
