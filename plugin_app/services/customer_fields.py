"""Loyalty fields back on the platform's customer (optional, `sync_customer_fields` in the
program): tier, points and store credit as Shopify customer metafields (namespace `loyalty`)
or WooCommerce customer meta, so themes and email tools can use them; and the member's tier and
segments as labels a theme or discount can test for exclusive offers and early access
(`domain.customer_tags`: Shopify customer tags `loyalty:tier:<tier>`, `loyalty:segment:<handle>`;
WooCommerce user meta `loyalty_segments`). A periodic job writes only members whose balance,
tier or segments changed since the last write (a segment move bumps the member's
`segments_rev`), in batches; when the platform throttles, the shop waits for the next run
(nothing is lost: the marker is unchanged)."""
from __future__ import annotations

import logging
from typing import Callable

from ..domain.customer_tags import segment_handles
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
                items = self._items(shop_id, rows)
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

    def _items(self, shop_id: int, rows: list) -> list[tuple[str, dict[str, str]]]:
        """What each due member's customer record gets: tier (a blank value is refused, so none
        without a tier), points, credit, and `segments`: the handles of their segments, comma-
        separated (empty when they are in none: their labels are then cleared)."""
        with self.db.uow(shop_id) as uow:
            handles = segment_handles(uow.customer_fields.segment_names())
            of = uow.customer_fields.segments_of([r.id for r in rows])
        return [(r.platform_customer_id, {**({"tier": r.tier} if r.tier else {}), "points": str(int(r.points)),
                                          "credit": str(r.credit),
                                          "segments": ",".join(sorted(handles[s] for s in of.get(r.id, [])
                                                                      if s in handles))})
                for r in rows]
