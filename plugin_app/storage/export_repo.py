"""What a member export reads beyond the members and ledger repositories: the member's orders.
Shop-scoped like every repository (see `storage.repos`)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Row

from . import tables as t
from .repos import ShopScoped


class MemberExportRepo(ShopScoped):
    def orders(self, member_id: int) -> list[Row]:
        """The member's orders, in the order they were first recorded."""
        o = t.orders.c
        return list(self.conn.execute(select(t.orders).where(o.shop_id == self.shop_id, o.member_id == member_id)
                                      .order_by(o.id)))
