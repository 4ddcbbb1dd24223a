"""WooCommerce refund lines: an order's `refunds[]` carries only id, reason and a gross total, so
before such a delivery is translated the lines of the refunds its row has not applied yet are
read from the store (`orders/<id>/refunds`) and merged in. A refund is then taken back line by
line; when the store cannot be read it is taken back as its gross share of what the order paid
(never more than that share), which the translation does on its own."""
from __future__ import annotations

import json
import logging
from typing import Callable

from ..domain import jsondepth
from ..domain.ports import WooOrderSource
from ..storage.db import Database

log = logging.getLogger(__name__)
ORDER_TOPICS = {"order.created", "order.updated", "order.restored", "order.reconcile"}


class RefundLines:
    def __init__(self, db: Database, admin_for: Callable[[int], WooOrderSource]) -> None:
        self.db, self.admin_for = db, admin_for

    def enrich(self, shop_id: int, topic: str, body: bytes) -> bytes:
        if topic not in ORDER_TOPICS:
            return body
        try:
            payload = jsondepth.loads(body)
            order_id = str(payload["id"])
            refunds = [r for r in payload.get("refunds") or [] if isinstance(r, dict) and "id" in r]
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return body  # the translation says what is wrong with it
        bare = {str(r["id"]) for r in refunds if "line_items" not in r}
        with self.db.uow(shop_id) as uow:
            applied = uow.applied_refunds.by_order([order_id]).get(order_id, set())
        missing = bare - applied
        if not missing:
            return body
        try:
            found = {str(r["id"]): r for r in self.admin_for(shop_id).order_refunds(order_id)}
        except Exception as exc:  # unreachable or refused: gross against gross
            log.warning("refund lines of order %s (shop %s) not read: %s", order_id, shop_id, exc)
            return body
        payload["refunds"] = [{**r, **{k: found[str(r["id"])][k] for k in ("line_items", "shipping_lines")
                                       if k in found.get(str(r["id"]), {})}} if str(r["id"]) in missing else r
                              for r in refunds]
        return json.dumps(payload, separators=(",", ":")).encode()
