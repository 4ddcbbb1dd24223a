"""The shops themselves (`shops`): the tenant table, which has no shop_id of its own. So this
repository is NOT shop-scoped: it finds a shop by id, domain or key, and it is there in every
unit of work, with or without a shop (`uow.shops`). Methods that read every shop are the
periodic jobs' scans, named and documented as CROSS-TENANT."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Row

from . import tables as t

s = t.shops.c


class ShopsRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- one shop ------------------------------------------------------------------------------
    def by_id(self, shop_id: int) -> Row | None:
        return self.conn.execute(select(t.shops).where(s.id == shop_id)).first()

    def by_domain(self, platform: str, domain: str, *, lock: bool = False) -> Row | None:
        """With `lock`, the row is locked FOR NO KEY UPDATE (re-installs serialise; foreign-key
        checks of the shop's postings still pass)."""
        stmt = select(t.shops).where(s.platform == platform, s.domain == domain)
        return self.conn.execute(stmt.with_for_update(key_share=True) if lock else stmt).first()

    def installed_by_api_key_hash(self, key_hash: str) -> Row | None:
        return self.conn.execute(select(t.shops).where(s.admin_api_key_hash == key_hash,
                                                       s.status == "installed")).first()

    def installed_by_widget_key(self, widget_key: str) -> Row | None:
        return self.conn.execute(select(t.shops).where(s.widget_key == widget_key, s.status == "installed")).first()

    def credentials(self, shop_id: int) -> bytes:
        """The shop's encrypted secrets (the shop must exist)."""
        return self.conn.execute(select(s.credentials).where(s.id == shop_id)).scalar_one()

    def currency(self, shop_id: int) -> str | None:
        """The shop's currency; None when there is no such shop."""
        return self.conn.execute(select(s.currency).where(s.id == shop_id)).scalar()

    def timezone(self, shop_id: int) -> str | None:
        """The shop's time zone; None when there is no such shop."""
        return self.conn.execute(select(s.timezone).where(s.id == shop_id)).scalar()

    # -- writing -------------------------------------------------------------------------------
    def create(self, **values: Any) -> int:
        """A new shop; returns its id."""
        return self.conn.execute(insert(t.shops).values(**values).returning(s.id)).scalar_one()

    def update(self, shop_id: int, **values: Any) -> None:
        self.conn.execute(update(t.shops).where(s.id == shop_id).values(**values))

    # -- cross-tenant ------------------------------------------------------------------------
    def installed_shop_ids(self) -> list[int]:
        """CROSS-TENANT, for periodic jobs (expiry, birthdays): the ids of every installed shop;
        each is then handled in its own shop's unit of work."""
        return self.conn.execute(select(s.id).where(s.status == "installed")).scalars().all()

    def oldest_and_newest_credentials(self) -> list[Row]:
        """CROSS-TENANT, for the start-up check of the encryption keys: (id, credentials) of the
        oldest and the newest shop that has secrets stored (none, one or two rows)."""
        ids = [i for i in self.conn.execute(select(func.min(s.id), func.max(s.id))
                                            .where(s.credentials.is_not(None))).one() if i is not None]
        return self.conn.execute(select(s.id, s.credentials).where(s.id.in_(ids))).all() if ids else []
