"""Loyalty fields back on the platform's customer (optional, `sync_customer_fields` in the
program): tier, points and store credit as Shopify customer metafields (namespace `loyalty`)
or WooCommerce customer meta, so themes and email tools can use them. A periodic job writes
only members whose balance or tier changed since the last write, in batches; when the
platform throttles, the shop waits for the next run (nothing is lost: the marker is unchanged)."""
from __future__ import annotations

import logging
from typing import Callable

from ..domain.errors import PlatformUnavailable
from ..domain.ports import Clock, CustomerFieldsSink, SystemClock
from ..storage.db import Database

log = logging.getLogger(__name__)


class CustomerFields:
    def __init__(self, db: Database, programs, shops, platform_for: Callable[[int], CustomerFieldsSink],
                 clock: Clock | None = None) -> None:
        self.db, self.programs, self.shops, self.platform_for = db, programs, shops, platform_for
        self.clock = clock or SystemClock()

    def due(self, shop_id: int, limit: int) -> list:
        """The shop's next `limit` members whose fields are out of date (see CustomerFieldsRepo.due)."""
        with self.db.uow(shop_id) as uow:
            return uow.customer_fields.due(limit)

    def sync(self, batch: int = 200, per_shop: int = 2000) -> int:
        """Write the fields of every installed Shopify and WooCommerce shop that asks for them,
        `batch` members at a time, at most `per_shop` per shop per run; each batch is marked
        written in its shop's unit of work once the platform took it."""
        written = 0
        with self.db.uow() as uow:
            shops = uow.jobs.installed_shop_ids_on(("shopify", "woocommerce"))
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
                with self.db.uow(shop_id) as uow:
                    uow.customer_fields.mark_synced(rows)
                done += len(rows)
            written += done
        return written
