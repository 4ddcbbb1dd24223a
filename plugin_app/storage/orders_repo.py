"""A shop's orders (`orders`: one row per platform order, what it earned and what was taken back)
and the daily order figures they feed (`stats_orders`). Shop-scoped like every repository
(`repos.ShopScoped`): each statement carries the shop's id."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Row

from . import tables as t
from .repos import ShopScoped, add_to, insert_ignore

o = t.orders.c


class OrdersRepo(ShopScoped):
    def lock(self, order_id: str, currency: str | None, now: datetime) -> Row:
        """The order's row, created if absent (in `currency`, or the shop's own when None),
        locked FOR UPDATE until the transaction ends: deliveries for one order serialise here."""
        if currency is None:
            currency = self.conn.execute(select(t.shops.c.currency).where(t.shops.c.id == self.shop_id)).scalar_one()
        insert_ignore(self.conn, t.orders, dict(shop_id=self.shop_id, platform_order_id=order_id, currency=currency,
                                                refunds={"applied": {}, "fractions": {}},
                                                created_at=now, updated_at=now), ["shop_id", "platform_order_id"])
        return self.conn.execute(select(t.orders).where(o.shop_id == self.shop_id, o.platform_order_id == order_id)
                                 .with_for_update()).one()

    def find(self, order_id: str) -> Row | None:
        """The order's row as it is (no lock, nothing created), or None."""
        return self.conn.execute(select(t.orders).where(o.shop_id == self.shop_id,
                                                        o.platform_order_id == order_id)).first()

    def save(self, row_id: int, now: datetime, **values: Any) -> None:
        """Set these columns of the order's row (by its row id), and `updated_at` to `now`."""
        self.conn.execute(update(t.orders).where(o.shop_id == self.shop_id, o.id == row_id)
                          .values(updated_at=now, **values))

    def customer_has_counted_order(self, customer_key: str, *, other_than: int) -> bool:
        """Whether another order of this customer (`c:<id>` or `g:<guest hash>`) is already
        counted in the figures: the order then comes from a returning customer."""
        return self.conn.execute(select(o.id).where(
            o.shop_id == self.shop_id, o.customer_key == customer_key, o.counted.is_(True),
            o.id != other_than).limit(1)).first() is not None

    def redeemed_on(self, order_id: str) -> bool:
        """Whether a redemption (a cart code) was committed on this order."""
        r = t.redemptions.c
        return self.conn.execute(select(r.id).where(
            r.shop_id == self.shop_id, r.order_id == order_id, r.status == "committed").limit(1)).first() is not None

    def add_to_day(self, day: date, segment: str, figures: dict) -> None:
        """Add `figures` (negative to take an order out) to the day's order rollup of a segment
        (`member` or `guest`), creating the row if absent."""
        add_to(self.conn, t.stats_orders, {"shop_id": self.shop_id, "day": day, "segment": segment}, figures)
