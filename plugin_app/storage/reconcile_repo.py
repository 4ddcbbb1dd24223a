"""Reconciliation's statements: each shop's watermark (`platform_sync`), the refunds its orders
have applied, and the scan of the shops to reconcile. NOT shop-scoped (not in `uow._REPOS`): the
periodic reconciliation walks every shop, so `installed_shop_ids_on` is CROSS-TENANT by name,
and every other method is for one shop, whose id it takes explicitly (`uow.reconcile` in any
unit of work, with or without a shop). It runs no transaction of its own."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Row

from . import tables as t
from .repos import insert_ignore

sync = t.platform_sync.c


class ReconcileRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- cross-tenant --------------------------------------------------------------------------
    def installed_shop_ids_on(self, platform: str) -> list[int]:
        """CROSS-TENANT, for the periodic reconciliation only: the ids of every installed shop
        of one platform; each is then reconciled on its own."""
        return self.conn.execute(select(t.shops.c.id).where(
            t.shops.c.platform == platform, t.shops.c.status == "installed")).scalars().all()

    # -- one shop ------------------------------------------------------------------------------
    def watermark(self, shop_id: int) -> str | None:
        """The shop's watermark (None before its first run); its sync row is created if absent."""
        insert_ignore(self.conn, t.platform_sync, {"shop_id": shop_id}, ["shop_id"])
        return self.conn.execute(select(sync.watermark).where(sync.shop_id == shop_id)).scalar()

    def status(self, shop_id: int) -> Row | None:
        """The shop's sync row (watermark, checked_at, last_error), or None."""
        return self.conn.execute(select(t.platform_sync).where(sync.shop_id == shop_id)).first()

    def save_watermark(self, shop_id: int, watermark: str, checked_at: datetime, error: str | None) -> None:
        """Record how far the shop's run got, when, and its error (None: it went well)."""
        self.conn.execute(update(t.platform_sync).where(sync.shop_id == shop_id).values(
            watermark=watermark, checked_at=checked_at, last_error=error))

    def applied_refunds(self, shop_id: int, order_ids: list[str]) -> dict[str, set[str]]:
        """The refund ids already applied to each of these orders of the shop (by platform order
        id; an order without a row is absent)."""
        rows = self.conn.execute(select(t.orders.c.platform_order_id, t.orders.c.refunds).where(
            t.orders.c.shop_id == shop_id, t.orders.c.platform_order_id.in_(order_ids))).all()
        return {r.platform_order_id: set((r.refunds or {}).get("applied", {})) for r in rows}
