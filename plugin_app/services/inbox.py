"""The durable inbox: the database row is the source of truth for anything accepted from
outside; a job queue only wakes a worker to look at it.

Life of a message: ``received`` → (claimed with a lease) ``processing`` → ``done`` | ``ignored``
| ``failed``. A worker that dies mid-job leaves the row ``processing`` with an expired lease;
the sweeper puts it back on the queue. Handlers must be idempotent: every ledger posting they
make uses a key derived from the message, so running a message twice posts once.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Protocol

from sqlalchemy.exc import DataError

from ..domain.errors import DomainError
from ..domain.ports import Clock, SystemClock
from ..storage.db import Database
from ..storage.inbox_repo import InboxRepo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    id: int
    shop_id: int
    source: str
    topic: str
    external_id: str
    payload: bytes
    headers: dict
    attempts: int


# Errors that running the same message again reproduces: the payload holds something a column or
# the arithmetic cannot take (a price beyond NUMERIC(18, 4)). Retrying a poison message only
# delays its verdict: it fails at once, with the reason, for a replay after a fix. (A payload that
# does not translate is already a DomainError. Generic ValueError/KeyError/TypeError are not here:
# raised in the services they can depend on what arrived first, and a retry converges; a message
# that keeps failing is still given up after `max_attempts`, with its last error.)
POISON = (DataError, ArithmeticError, RecursionError)


def poisoned(exc: BaseException) -> bool:
    return isinstance(exc, POISON)


def _text(value: str, limit: int = 500) -> str:
    """A reason fit for a text column (PostgreSQL refuses NUL characters)."""
    return value.replace("\x00", "\\x00")[:limit]


class Ignored(Exception):
    """A handler's way to say: nothing to do for this message, and here is why."""


Handler = Callable[[Message], str]


class Enqueue(Protocol):
    def __call__(self, task: str, *args: object, job_id: str | None = None) -> None: ...


class Doorbell(Protocol):
    """How a new message wakes a worker. `ring` is on the intake's hot path."""

    def ring(self, inbox_id: int) -> None: ...

    # Optional: `ring_many(inbox_ids)` rings for a batch of new messages at once.

    def settle(self, slot: int) -> None: ...


class DirectBell:
    """One job per message (in-process modes, and the sweeper's recovery path)."""

    def __init__(self, enqueue: Enqueue) -> None:
        self.enqueue = enqueue

    def ring(self, inbox_id: int) -> None:
        self.enqueue("process_inbox", inbox_id, job_id=f"inbox-{inbox_id}")

    def settle(self, slot: int) -> None:
        pass


class Inbox:
    def __init__(self, db: Database, enqueue: Enqueue, *, clock: Clock | None = None,
                 lease_seconds: int = 300, max_attempts: int = 8, sweep_after_seconds: int = 60,
                 failpoint: Callable[[str], None] = lambda name: None,
                 doorbell: Doorbell | None = None) -> None:
        self.db = db
        self.enqueue = enqueue
        self.doorbell = doorbell or DirectBell(enqueue)
        self.clock = clock or SystemClock()
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.sweep_after = timedelta(seconds=sweep_after_seconds)
        self.failpoint = failpoint
        self.handlers: dict[tuple[str, str], Handler] = {}

    def register(self, source: str, topic: str, handler: Handler) -> None:
        self.handlers[(source, topic)] = handler

    # -- intake ----------------------------------------------------------------------------
    def accept(self, shop_id: int, source: str, topic: str, external_id: str, payload: bytes,
               headers: dict) -> tuple[int, bool]:
        """Store a delivery durably (a duplicate changes nothing), then ring the doorbell.
        Returns (inbox id, whether it is new). Raises if the row could not be committed."""
        # Its own transaction, never a caller's savepoint: the row is committed before the 200.
        with self.db.transaction() as conn:
            inbox_id, created = InboxRepo(conn).store(shop_id, source, topic, external_id, payload, headers,
                                                      self.clock.now())
        if created:
            self._ring(inbox_id, self.doorbell.ring)
        return inbox_id, created

    def accept_many(self, items: list[tuple[int, str, str, str, bytes, dict]]) -> list[tuple[int, bool]]:
        """Store many deliveries with one INSERT that is its own transaction (group commit: one
        round trip on PostgreSQL), then ring once per doorbell slot. Returns (inbox id, new?) per
        item, in order. Raises if the rows could not be committed."""
        now = self.clock.now()
        with self.db.statement() as conn:  # committed before any 200 is answered
            created = InboxRepo(conn).store_many(items, now)
        missing = [(s, src, x) for s, src, _, x, _, _ in items if (s, src, x) not in created]
        known = {}
        if missing:  # only duplicates cost a second statement; their rows are committed already
            with self.db.reading() as conn:
                known = InboxRepo(conn).ids_of(missing)
        out, fresh, seen = [], [], set()
        for s, src, _, x, _, _ in items:
            key = (s, src, x)
            new = key in created and key not in seen  # a repeat inside the batch is a duplicate
            seen.add(key)
            inbox_id = created.get(key) or known[key]
            out.append((inbox_id, new))
            if new:
                fresh.append(inbox_id)
        if fresh:
            ring_many = getattr(self.doorbell, "ring_many", None)
            if ring_many is not None:  # one round trip for the whole batch
                self._ring(fresh, ring_many)
            else:
                for inbox_id in fresh:
                    self._ring(inbox_id, self.doorbell.ring)
        return out

    def _ring(self, inbox_id, ring: Callable | None = None) -> None:
        try:
            (ring or DirectBell(self.enqueue).ring)(inbox_id)
        except Exception:  # the row is safe; the sweeper will find it
            log.warning("could not enqueue inbox %s; the sweeper will retry", inbox_id, exc_info=True)

    def drain(self, slot: int, slots: int, batch: int = 200) -> int:
        """Process every due message of one slot (id mod slots), then let the bell ring again.
        The bell is settled before a last look, so a message that arrives meanwhile either is
        seen by that look or rings a new drain: none is left waiting for the sweeper."""
        done = 0
        settled = False
        while True:
            now = self.clock.now()
            # A short read of its own, closed before processing (each message commits on its own).
            with self.db.transaction() as conn:
                ids = InboxRepo(conn).due_in_slot(slot, slots, now, batch)
            if not ids:
                if settled:
                    return done
                self.doorbell.settle(slot)
                settled = True
                continue
            settled = False
            for inbox_id in ids:
                done += self.process(inbox_id) == "done"

    # -- processing ------------------------------------------------------------------------
    def _claim(self, inbox_id: int) -> tuple[Message, str] | None:
        now = self.clock.now()
        token = str(uuid.uuid4())
        # One statement that is its own transaction: the lease is committed before the handler
        # runs (other workers see it), in one round trip.
        with self.db.statement() as conn:
            row = InboxRepo(conn).claim(inbox_id, token, now, now + self.lease)
        if row is None:
            return None
        if row.attempts > self.max_attempts:
            # Dying between the claim and this leaves a lease that runs out: the next claim
            # counts one more attempt and gives up here again.
            last = (row.last_error or "").splitlines()[0][:300] if row.last_error else "no error recorded"
            with self.db.statement() as conn:
                InboxRepo(conn).give_up(inbox_id, now, f"gave up after {self.max_attempts} attempts: {last}"[:500])
            return None
        return Message(row.id, row.shop_id, row.source, row.topic, row.external_id,
                       bytes(row.payload), dict(row.headers), row.attempts), token

    def _finish(self, inbox_id: int, token: str, **values) -> bool:
        # Its own transaction (one statement, one round trip): the verdict commits whatever the
        # handler's transactions did.
        with self.db.statement() as conn:
            return InboxRepo(conn).finish(inbox_id, token, **values)

    def process(self, inbox_id: int) -> str:
        """Claim the message and run its handler. Returns what happened, for logs and tests."""
        claimed = self._claim(inbox_id)
        if claimed is None:
            return "skipped"
        message, token = claimed
        now = self.clock.now
        handler = self.handlers.get((message.source, message.topic))
        if handler is None:
            self._finish(inbox_id, token, state="ignored", processed_at=now(),
                         outcome=f"no handler for {message.source} {message.topic}")
            return "ignored"
        try:
            self.failpoint("inbox.before_handler")
            outcome = handler(message)
            self.failpoint("inbox.after_handler")
        except Ignored as why:
            self._finish(inbox_id, token, state="ignored", processed_at=now(), outcome=_text(str(why)))
            return "ignored"
        except DomainError as exc:  # deterministic: retrying gives the same answer
            self._finish(inbox_id, token, state="failed", processed_at=now(),
                         outcome=_text(f"{exc.code}: {exc.message}"), last_error=repr(exc)[:2000])
            return "failed"
        except Exception as exc:
            if poisoned(exc):
                log.warning("inbox %s failed for good (%s): it waits for a replay", inbox_id, type(exc).__name__,
                            exc_info=True)
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__
                self._finish(inbox_id, token, state="failed", processed_at=now(),
                             outcome=_text(f"cannot be processed ({type(exc).__name__}): {reason}"),
                             last_error=repr(exc)[:2000])
                return "failed"
            backoff = timedelta(seconds=min(3600, 2 ** message.attempts))
            log.exception("inbox %s attempt %s failed", inbox_id, message.attempts)
            self._finish(inbox_id, token, state="received", locked_until=now() + backoff,
                         last_error=repr(exc)[:2000])
            return "retry"
        self._finish(inbox_id, token, state="done", processed_at=now(), outcome=_text(str(outcome)),
                     last_error=None)
        return "done"

    def sweep(self, limit: int = 1000) -> int:
        """Re-enqueue what is stuck: never picked up (a lost doorbell, a Redis wipe), due for
        a retry, or held by a worker whose lease ran out (killed mid-job)."""
        now = self.clock.now()
        # A short read of its own (every shop's messages), closed before the doorbell rings.
        with self.db.transaction() as conn:
            rows = InboxRepo(conn).stuck(now, now - self.sweep_after, limit)
        waiting = [r.id for r in rows if r.state == "received"]
        ring_many = getattr(self.doorbell, "ring_many", None)
        if ring_many is not None and waiting:
            # Waiting messages are a drain's work: ring their slots. A slot whose drain is queued
            # or running is left to it (a backlog older than `sweep_after` is not stuck, and one
            # job per message would queue thousands of jobs in front of the drains); a bell whose
            # drain was lost (Redis wiped) is free again, or frees itself within its TTL.
            self._ring(waiting, ring_many)
        else:
            for inbox_id in waiting:
                self._ring(inbox_id)
        for r in rows:  # a lease that ran out: a drain only takes `received`, so a job of its own
            if r.state != "received":
                self._ring(r.id)
        return len(rows)

    def failed(self, shop_id: int, limit: int = 100) -> list[dict]:
        """Deliveries that could not be processed, newest first, with the reason."""
        with self.db.uow(shop_id, savepoint=False) as uow:  # a read: joining a caller's transaction is fine
            rows = uow.inbox.failed(shop_id, limit)
        return [{"id": r.id, "source": r.source, "topic": r.topic, "delivery": r.external_id,
                 "received_at": r.received_at.isoformat(), "failed_at": r.processed_at and r.processed_at.isoformat(),
                 "attempts": r.attempts, "reason": r.outcome, "error": (r.last_error or "")[:500]} for r in rows]

    def replay(self, shop_id: int, inbox_id: int) -> str:
        """Give a failed delivery another go (after a fix): back to received, attempts reset."""
        # Its own transaction: committed before the doorbell rings, or the worker would not see it.
        with self.db.transaction() as conn:
            done = InboxRepo(conn).replay(shop_id, inbox_id)
        if not done:
            return "not_failed"
        self._ring(inbox_id)
        return self.get(inbox_id).state

    def get(self, inbox_id: int):
        with self.db.uow(savepoint=False) as uow:  # a read: joining a caller's transaction is fine
            return uow.inbox.get(inbox_id)
