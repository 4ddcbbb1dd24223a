"""CROSS-TENANT scans for the periodic jobs, and only those: every method here reads or leases
rows of every shop. Each row found carries its `shop_id`, and the job then handles it in that
shop's unit of work (`db.uow(shop_id)`), through shop-scoped repositories. Nothing else may use
this repository: a use case for one shop goes through `repos.ShopScoped` repositories.

Not shop-scoped: a unit of work hands it out as `uow.jobs` (like `uow.due`, the ledger's scans),
typically one opened for no shop (`db.uow()`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection, Row

from . import tables as t


class JobsRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _skip_locked(self, stmt):
        """FOR UPDATE SKIP LOCKED on PostgreSQL, so that workers share a queue without waiting
        on each other (SQLite's one writer needs no row lock)."""
        return stmt.with_for_update(skip_locked=True) if self.conn.dialect.name == "postgresql" else stmt

    def unrelayed_events(self, limit: int) -> list[Row]:
        """CROSS-TENANT, for the outbox relay: up to `limit` outbox events of every shop not
        fanned out yet, oldest first, locked (skipping what another worker holds)."""
        e = t.events.c
        return self.conn.execute(self._skip_locked(
            select(t.events).where(e.relayed_at.is_(None)).order_by(e.id).limit(limit))).all()

    def lease_due_notifications(self, now: datetime, until: datetime, limit: int, *,
                                emails: bool) -> list[Row]:
        """CROSS-TENANT, for the delivery job: up to `limit` deliveries of every shop that are
        due (pending and due by `now`, or sending with a lease that ran out), soonest first,
        locked (skipping what another worker holds), then leased until `until` with one more
        attempt counted. Without `emails`, emails are left waiting. Returns the rows as they
        were before the lease (`attempts` not yet counted)."""
        n = t.notifications.c
        stmt = select(t.notifications).where(or_(
            and_(n.state == "pending", n.next_attempt_at <= now),
            and_(n.state == "sending", n.locked_until <= now))).order_by(n.next_attempt_at).limit(limit)
        if not emails:
            stmt = stmt.where(n.target != "email")
        rows = self.conn.execute(self._skip_locked(stmt)).all()
        for r in rows:
            self.conn.execute(update(t.notifications).where(n.id == r.id).values(
                state="sending", locked_until=until, attempts=r.attempts + 1))
        return rows

    def installed_shop_ids_on(self, platforms: tuple[str, ...]) -> list[int]:
        """CROSS-TENANT, for periodic jobs that write back to the platform (customer fields):
        the ids of every installed shop on one of these platforms."""
        s = t.shops.c
        return self.conn.execute(select(s.id).where(s.status == "installed", s.platform.in_(platforms))).scalars().all()
