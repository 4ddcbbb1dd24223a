"""Engine set-up and transactions. PostgreSQL in production; SQLite for the offline demo."""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

# The storage layer's failures, named here so that callers outside storage (the HTTP layer's
# error handlers, the webhook intake, readiness) can catch them without importing SQLAlchemy.
# It is SQLAlchemy's own base class, not a wrapper: every database error is one of these.
StorageError = sa_exc.SQLAlchemyError


def database_unavailable(exc: BaseException) -> bool:
    """PostgreSQL is down or the connection broke: the request may succeed later (503), as
    opposed to a bug or bad data (500 / 4xx)."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):  # pragma: no cover - exercised by the demo
            # Let SQLAlchemy issue BEGIN itself, so that every transaction can take the write
            # lock up front (BEGIN IMMEDIATE) instead of deadlocking on a lock upgrade.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url,
        pool_size=int(os.environ.get("DB_POOL_SIZE", "10")),
        max_overflow=int(os.environ.get("DB_MAX_OVERFLOW", "20")),
        # No ping per checkout: it costs a round trip on every transaction. A connection that
        # died (database restart) fails its statement, SQLAlchemy invalidates the whole pool on
        # that disconnect, and the caller's retry (webhook redelivery, job retry) succeeds.
        pool_pre_ping=False,
        pool_recycle=1800,
    )


log = logging.getLogger(__name__)


class NestedTransaction(RuntimeError):
    """A thread opened a second transaction while holding one. On SQLite every transaction
    takes the write lock (BEGIN IMMEDIATE), so the second would wait for the first for ever:
    the caller must pass its connection along instead."""


class Database:
    """Owns the engine; `transaction()` is the unit of work: commit on success, else rollback.
    A thread holds one transaction at a time: opening another inside it is refused on SQLite
    (it would deadlock) and logged on PostgreSQL (it is a second connection from the pool)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._open = threading.local()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        depth = getattr(self._open, "depth", 0)
        if depth:
            if self.dialect == "sqlite":
                raise NestedTransaction("a second transaction was opened while this thread holds one; "
                                        "pass the open connection along")
            log.warning("a second transaction was opened while this thread holds one", stack_info=True)
        self._open.depth = depth + 1
        outer = getattr(self._open, "conn", None)
        try:
            with self.engine.begin() as conn:
                self._open.conn = conn
                yield conn
        finally:
            self._open.depth = depth
            self._open.conn = outer

    def open_connection(self) -> Connection | None:
        """The connection of the transaction this thread holds, if any: a unit of work entered
        inside it joins it (a savepoint) instead of opening a second one."""
        return getattr(self._open, "conn", None)

    def uow(self, shop_id: int | None = None, *, savepoint: bool = True):
        """A unit of work on this database (see `storage.uow`), for one shop or none."""
        from .uow import UnitOfWork

        return UnitOfWork(self, shop_id, self.dispatch, savepoint=savepoint)

    dispatch = None  # the handlers of domain events: set by the composition root

    def ping(self) -> None:
        """One round trip (`SELECT 1`) on a fresh checkout, outside any transaction: raises
        when the database cannot be reached (readiness)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for a single consistent read on a hot path: autocommit, so a one-query
        read costs one round trip (no BEGIN/COMMIT). Never for writes."""
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        """A connection for ONE writing statement that is its own transaction: on PostgreSQL in
        autocommit, so the statement is committed (durably, as any commit) when its answer
        arrives, in one round trip instead of three (BEGIN, the statement, COMMIT). On SQLite a
        normal transaction. Only for a single statement: two would be two transactions."""
        if self.dialect != "postgresql":
            with self._begin() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def unit(self, outer: Connection | None = None) -> Iterator[Connection]:
        """A transaction of our own, or a savepoint inside the caller's: services take an
        optional connection so that one use case can compose others in one unit of work."""
        if outer is None:
            with self._begin() as conn:
                yield conn
        else:
            with outer.begin_nested():
                yield outer

    def dispose(self) -> None:
        self.engine.dispose()
