"""What `loyalty audit` reads: the books of one shop, or CROSS-TENANT, of every shop (the
operator's audit with no `--shop`). Read-only. Built on a plain connection of the audit's own
(`Database.engine.connect()`), so that the ledger can be streamed (`yield_per`); every statement
is limited to the shop when one is given."""
from __future__ import annotations

from typing import Iterator

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Row

from . import tables as t


class AuditRepo:
    def __init__(self, conn: Connection, shop_id: int | None = None) -> None:
        """`shop_id` None: every shop (cross-tenant, on purpose: the whole database's audit)."""
        if shop_id is not None and (not isinstance(shop_id, int) or isinstance(shop_id, bool)):
            raise TypeError("shop_id must be an int")
        self.conn, self.shop_id = conn, shop_id

    def _scope(self, table):
        return table.c.shop_id == self.shop_id if self.shop_id is not None else True

    def shop_count(self) -> int:
        return self.conn.execute(select(func.count()).select_from(t.shops).where(
            t.shops.c.id == self.shop_id if self.shop_id is not None else True)).scalar_one()

    def balances(self) -> list[Row]:
        return self.conn.execute(select(t.balances).where(self._scope(t.balances))).all()

    def entries(self) -> Iterator[Row]:
        """Every ledger entry, by member then id, streamed 5000 at a time."""
        return self.conn.execution_options(yield_per=5000).execute(
            select(t.ledger_entries).where(self._scope(t.ledger_entries))
            .order_by(t.ledger_entries.c.member_id, t.ledger_entries.c.id))

    def duplicate_keys(self) -> list[Row]:
        """(shop_id, idempotency_key) used by more than one entry (none, if the books are sound)."""
        e = t.ledger_entries.c
        return self.conn.execute(select(e.shop_id, e.idempotency_key).where(self._scope(t.ledger_entries))
                                 .group_by(e.shop_id, e.idempotency_key).having(func.count() > 1)).all()

    def lots(self) -> Iterator[Row]:
        return self.conn.execute(select(t.lots).where(self._scope(t.lots)))

    def open_holds(self) -> Iterator[Row]:
        return self.conn.execute(select(t.holds).where(self._scope(t.holds), t.holds.c.state == "open"))

    def released_holds_of_used_codes(self) -> Iterator[Row]:
        """(id, shop_id, code, order_id) of the redemptions whose hold was released with no
        merchant's decision although an order used their code, by redemption id."""
        r, h, oc = t.redemptions, t.holds, t.order_codes
        return self.conn.execute(select(r.c.id, r.c.shop_id, r.c.code, oc.c.order_id)
                                 .join(h, h.c.id == r.c.hold_id)
                                 .join(oc, (oc.c.shop_id == r.c.shop_id) & (oc.c.code_key == r.c.code_key))
                                 .where(self._scope(r), h.c.state == "released", r.c.decision.is_(None))
                                 .order_by(r.c.id))
