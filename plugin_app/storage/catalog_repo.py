"""The shop's product catalog cache (collections or categories, tags, product type per product).
Shop-scoped like every repository (`repos.ShopScoped`). It also works on a plain reading
connection (`Database.reading`): the quote reads the cache in its single round trip."""
from __future__ import annotations

from sqlalchemy import cast, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Row

from . import tables as t
from .repos import ShopScoped

c = t.catalog_products.c


class CatalogRepo(ShopScoped):
    def products(self, product_ids: list[str]) -> dict[str, Row]:
        """The cached rows of these products, by product id (missing ones are absent)."""
        return {row.product_id: row for row in self.conn.execute(select(t.catalog_products).where(
            c.shop_id == self.shop_id, c.product_id.in_(product_ids)))}

    def order_state(self, platform_order_id: str) -> Row | None:
        """Whether the order was `earned` or `cancelled` (a posting's fetch depends on it)."""
        o = t.orders.c
        return self._one(select(o.earned, o.cancelled).where(
            o.shop_id == self.shop_id, o.platform_order_id == platform_order_id))

    def upsert(self, product_id: str, values: dict, *, only_if_newer: bool = False) -> None:
        """Insert the product (what `values` leaves out starts empty and stale) or change only
        the columns `values` names; with `only_if_newer`, an older state (by the platform's
        `source_updated_at`) never overwrites a newer one."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        keys = {"shop_id": self.shop_id, "product_id": product_id}
        row = {"collections": [], "categories": [], "tags": [], "stale": True, **values, **keys}
        stmt = dialect.insert(t.catalog_products).values(**row)
        changes = {k: stmt.excluded[k] for k in values if k not in keys}
        where = None
        if only_if_newer:
            where = (c.source_updated_at.is_(None) | stmt.excluded.source_updated_at.is_(None)
                     | (c.source_updated_at <= stmt.excluded.source_updated_at))
        self.conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=changes, where=where))

    def mark_stale(self, product_id: str) -> None:
        self.conn.execute(update(t.catalog_products).where(c.shop_id == self.shop_id, c.product_id == product_id)
                          .values(stale=True))

    def forget(self, product_id: str) -> None:
        self.conn.execute(delete(t.catalog_products).where(c.shop_id == self.shop_id, c.product_id == product_id))

    def mark_collection_stale(self, collection_id: str | None) -> int:
        """Mark the cached products of this collection stale (every product of the shop when
        None); how many were marked."""
        stmt = update(t.catalog_products).where(c.shop_id == self.shop_id).values(stale=True)
        if collection_id is not None:
            if self.conn.dialect.name == "postgresql":
                stmt = stmt.where(cast(c.collections, JSONB).contains([{"id": collection_id}]))
            else:
                ids = [r.product_id for r in self.conn.execute(select(c.product_id, c.collections).where(
                    c.shop_id == self.shop_id)) if any(str(g.get("id")) == collection_id for g in r.collections or [])]
                stmt = stmt.where(c.product_id.in_(ids))
        return self.conn.execute(stmt).rowcount
