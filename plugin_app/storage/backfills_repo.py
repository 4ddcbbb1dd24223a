"""History backfills (`backfills`): one row per backfill of a shop's past orders, its progress
and the platform adapter's cursor. Shop-scoped (`BackfillsRepo`), except `BackfillsDue`, the
CROSS-TENANT scan for running backfills that no worker has moved for a while (resumed)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Row

from . import tables as t
from .repos import ShopScoped

b = t.backfills.c


class BackfillsRepo(ShopScoped):
    def create(self, platform: str, since: date | None, award_points: bool, now: datetime) -> int:
        return self.conn.execute(insert(t.backfills).values(
            shop_id=self.shop_id, platform=platform, since=since, award_points=award_points, state="running",
            phase="orders", cursor={}, created_at=now, updated_at=now).returning(b.id)).scalar_one()

    def get(self, backfill_id: int, *, lock: bool = False) -> Row | None:
        """The backfill, or None (another shop's is None too). `lock`: FOR UPDATE SKIP LOCKED, so
        that a worker finding it taken by another gets None instead of waiting."""
        stmt = select(t.backfills).where(b.shop_id == self.shop_id, b.id == backfill_id)
        if lock:
            stmt = stmt.with_for_update(skip_locked=True)
        return self.conn.execute(stmt).first()

    def running(self) -> Row | None:
        """The shop's backfill still running, if any (one at a time per shop)."""
        return self.conn.execute(select(t.backfills).where(b.shop_id == self.shop_id, b.state == "running")
                                 .order_by(b.id).limit(1)).first()

    def save(self, backfill_id: int, now: datetime, **values: Any) -> None:
        self.conn.execute(update(t.backfills).where(b.shop_id == self.shop_id, b.id == backfill_id)
                          .values(updated_at=now, **values))

    def installed_at(self) -> datetime:
        """When the shop installed the app: orders from then on are the live path's."""
        return self.conn.execute(select(t.shops.c.installed_at).where(t.shops.c.id == self.shop_id)).scalar_one()

    def members_with_orders_since(self, since: datetime | None, after: int, limit: int) -> list[int]:
        """Members with an order placed since `since` (None: any), by id after `after`: the ones
        a backfill touched, whose tiers it settles at the end."""
        o = t.orders.c
        stmt = select(o.member_id).distinct().where(o.shop_id == self.shop_id, o.member_id.is_not(None),
                                                   o.member_id > after)
        if since is not None:
            stmt = stmt.where(o.placed_at >= since)
        return list(self.conn.execute(stmt.order_by(o.member_id).limit(limit)).scalars())


class BackfillsDue:
    """CROSS-TENANT: running backfills not moved since `before` (their worker died, or their
    next job was lost with Redis): (shop id, backfill id) pairs to enqueue again."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def stale(self, before: datetime, limit: int = 100) -> list[tuple[int, int]]:
        rows = self.conn.execute(select(b.shop_id, b.id).where(b.state == "running", b.updated_at < before)
                                 .order_by(b.updated_at).limit(limit))
        return [(r.shop_id, r.id) for r in rows]
