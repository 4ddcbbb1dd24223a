"""Loyalty fields back on the platform's customer (optional, `sync_customer_fields` in the
program): tier, points and store credit as Shopify customer metafields (namespace `loyalty`)
or WooCommerce customer meta, so themes and email tools can use them. A periodic job writes
only members whose balance or tier changed since the last write, in batches; when the
platform throttles, the shop waits for the next run (nothing is lost: the marker is unchanged)."""
from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy import String, cast, func, select, update

from ..domain.errors import PlatformUnavailable
from ..domain.ports import Clock, CustomerFieldsSink, SystemClock
from ..storage import tables as t
from ..storage.db import Database

log = logging.getLogger(__name__)


class CustomerFields:
    def __init__(self, db: Database, programs, shops, platform_for: Callable[[int], CustomerFieldsSink],
                 clock: Clock | None = None) -> None:
        self.db, self.programs, self.shops, self.platform_for = db, programs, shops, platform_for
        self.clock = clock or SystemClock()

    def due(self, shop_id: int, limit: int) -> list:
        m, b = t.members.c, t.balances.c
        marker = cast(b.version, String) + ":" + func.coalesce(m.tier, "")
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            return conn.execute(select(m.id, m.platform_customer_id, m.tier, b.points, b.credit, marker.label("marker"))
                                .join(t.balances, b.member_id == m.id)
                                .where(m.shop_id == shop_id, ~m.platform_customer_id.startswith("redacted-"),
                                       func.coalesce(m.fields_synced, "") != marker)
                                .order_by(m.id).limit(limit)).all()

    def sync(self, batch: int = 200, per_shop: int = 2000) -> int:
        written = 0
        with self.db.uow() as uow:
            conn = uow.conn
            shops = conn.execute(select(t.shops.c.id).where(t.shops.c.status == "installed",
                                                            t.shops.c.platform.in_(("shopify", "woocommerce")))).scalars().all()
        for shop_id in shops:
            if not self.programs.for_reading(shop_id).program.sync_customer_fields:
                continue
            done = 0
            while done < per_shop:
                rows = self.due(shop_id, batch)
                if not rows:
                    break
                items = [(r.platform_customer_id, {**({"tier": r.tier} if r.tier else {}),  # blank values are refused
                                                   "points": str(int(r.points)), "credit": str(r.credit)}) for r in rows]
                try:
                    self.platform_for(shop_id).set_customer_fields(items)
                except PlatformUnavailable as exc:  # throttled or down: the next run resumes here
                    log.info("customer fields for shop %s wait: %s", shop_id, exc)
                    break
                except Exception as exc:  # noqa: BLE001 - refused: logged, the next run tries again
                    log.warning("customer fields for shop %s refused: %s", shop_id, exc)
                    break
                with self.db.uow() as uow:
                    conn = uow.conn
                    for r in rows:
                        conn.execute(update(t.members).where(t.members.c.id == r.id).values(fields_synced=r.marker))
                done += len(rows)
            written += done
        return written
