"""The shops themselves (`shops`): the tenant table, which has no shop_id of its own. So this
repository is NOT shop-scoped: it finds a shop by id, domain or key, and it is there in every
unit of work, with or without a shop (`uow.shops`). Methods that read every shop are the
periodic jobs' scans, named and documented as CROSS-TENANT."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from . import tables as t

s = t.shops.c


class ShopsRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- one shop, by id ----------------------------------------------------------------------
    def currency(self, shop_id: int) -> str | None:
        """The shop's currency; None when there is no such shop."""
        return self.conn.execute(select(s.currency).where(s.id == shop_id)).scalar()

    def timezone(self, shop_id: int) -> str | None:
        """The shop's time zone; None when there is no such shop."""
        return self.conn.execute(select(s.timezone).where(s.id == shop_id)).scalar()

    # -- cross-tenant ------------------------------------------------------------------------
    def installed_shop_ids(self) -> list[int]:
        """CROSS-TENANT, for periodic jobs (expiry, birthdays): the ids of every installed shop;
        each is then handled in its own shop's unit of work."""
        return self.conn.execute(select(s.id).where(s.status == "installed")).scalars().all()
