"""Which platform refunds an order's row has already applied (the `orders.refunds` document
keeps their ids under "applied"). Shop-scoped like every repository (`repos.ShopScoped`)."""
from __future__ import annotations

from sqlalchemy import select

from . import tables as t
from .repos import ShopScoped


class AppliedRefundsRepo(ShopScoped):
    def by_order(self, order_ids: list[str]) -> dict[str, set[str]]:
        """The refund ids already applied to each of these orders (platform order ids); orders
        the shop has no row for are absent."""
        o = t.orders.c
        rows = self.conn.execute(select(o.platform_order_id, o.refunds).where(
            o.shop_id == self.shop_id, o.platform_order_id.in_(order_ids))).all()
        return {r.platform_order_id: set((r.refunds or {}).get("applied", {})) for r in rows}
