"""What Shopify Flow told us about a shop's use of our triggers (`flow_trigger_usage`): the
latest lifecycle callback per trigger. Shop-scoped like every repository (`repos.ShopScoped`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from . import tables as t
from .repos import ShopScoped

u = t.flow_trigger_usage.c


class FlowUsageRepo(ShopScoped):
    def report(self, trigger: str, enabled: bool, at: datetime) -> None:
        """Keep what a callback said unless a newer one is already kept (callbacks may arrive
        out of order: the newer timestamp takes precedence)."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(t.flow_trigger_usage).values(shop_id=self.shop_id, trigger=trigger, enabled=enabled,
                                                             reported_at=at)
        self.conn.execute(stmt.on_conflict_do_update(
            index_elements=["shop_id", "trigger"], set_={"enabled": stmt.excluded.enabled,
                                                         "reported_at": stmt.excluded.reported_at},
            where=u.reported_at < stmt.excluded.reported_at))

    def usage(self) -> dict[str, bool]:
        return dict(self.conn.execute(select(u.trigger, u.enabled).where(u.shop_id == self.shop_id)).all())
