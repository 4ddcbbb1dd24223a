"""A Shopify shop's past orders for a history backfill (the `OrderHistory` port): one bulk
export of the orders since a day, polled until Shopify has written it, then read a slice at a
time from a byte offset (the stored cursor), each order translated like the reconciliation's.

The cursor: {} to begin; {"op": id} while the export runs; {"op", "url", "offset"} while
reading (offset: where the next order's line starts). Shopify keeps the file seven days
(https://shopify.dev/docs/api/admin-graphql/latest/objects/BulkOperation: `url` "expires 7 days
after the operation completes"), far longer than a backfill takes."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from plugin_app.domain.ports import HistoryPage

from . import translate
from .admin import ShopifyAdmin, Terminal

WAITING = {"CREATED", "RUNNING"}


class ShopifyHistory:
    def __init__(self, admin: ShopifyAdmin, *, poll_seconds: float = 5.0) -> None:
        self.admin, self.poll = admin, poll_seconds

    def history_page(self, since: datetime | None, cursor: dict, limit: int) -> HistoryPage:
        if not cursor.get("op"):
            op = self.admin.start_orders_export(since.date().isoformat() if since else None)
            return HistoryPage((), {"op": op["id"]}, False, wait=self.poll,
                               note=f"Shopify's export of the orders started ({op.get('status', 'CREATED')})")
        if "url" not in cursor:
            op = self.admin.bulk_operation(cursor["op"])
            if op is None:
                raise Terminal(f"Shopify no longer knows the export {cursor['op']}")
            status = op.get("status")
            if status in WAITING:
                return HistoryPage((), cursor, False, wait=self.poll,
                                   note=f"Shopify's export is {status.lower()}: {op.get('objectCount') or 0} objects so far")
            if status != "COMPLETED":
                raise Terminal(f"Shopify's export ended {status} ({op.get('errorCode') or 'no error code'})")
            if not op.get("url"):  # COMPLETED with nothing found: no file
                return HistoryPage((), {**cursor, "url": None, "offset": 0}, True, note="no orders in the period")
            cursor = {**cursor, "url": op["url"], "offset": 0}
        if cursor["url"] is None:
            return HistoryPage((), cursor, True)
        nodes, offset, done = [], cursor["offset"], True
        for node, next_offset in self.admin.bulk_orders(cursor["url"], cursor["offset"]):
            nodes.append(node)
            offset = next_offset
            if len(nodes) >= limit and next_offset >= 0:
                done = False
                break
        events = tuple(self._event(node) for node in nodes)
        return HistoryPage(events, {**cursor, "offset": offset if offset >= 0 else cursor["offset"]}, done,
                           note=f"read {len(events)} orders of Shopify's export")

    def _event(self, node: dict):
        if node.get("refunds"):  # the refund lines: through the order query (see admin.BULK_ORDERS)
            full = self.admin.order(node["legacyResourceId"])
            if full is not None:
                node = {**node, "refunds": full.get("refunds") or []}
        event = translate.graphql_order(node)
        email = node.get("email") or None
        return replace(event, email=email, facts={"email": email})
