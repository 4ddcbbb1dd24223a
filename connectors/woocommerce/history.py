"""A WooCommerce store's past orders for a history backfill (the `OrderHistory` port): the
REST orders created after a day, a page of up to 100 per call, oldest id first; the cursor is
the next page's number. A refund's lines are read from `orders/<id>/refunds` (the order's own
`refunds[]` has only the id and a gross total), as the webhook path does (services.woo_refunds)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from plugin_app.domain.ports import HistoryPage

from . import translate
from .admin import WooAdmin


class WooHistory:
    def __init__(self, admin: WooAdmin) -> None:
        self.admin = admin

    def history_page(self, since: datetime | None, cursor: dict, limit: int) -> HistoryPage:
        page = int(cursor.get("page") or 1)
        # `after` is exclusive: a second earlier takes in an order placed at `since` itself.
        after = (since.astimezone(timezone.utc) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S") \
            if since is not None else None
        orders, pages, total = self.admin.orders_created_after(after, page, limit)
        events = []
        for order in orders:
            event = translate.order(self._with_refund_lines(order))
            if event is not None:
                events.append(event)
        done = page >= pages or not orders
        return HistoryPage(tuple(events), {"page": page + 1}, done,
                           note=f"page {page} of {pages} ({total} orders)")

    def _with_refund_lines(self, order: dict) -> dict:
        bare = [r for r in order.get("refunds") or [] if isinstance(r, dict) and "line_items" not in r]
        if not bare:
            return order
        found = {str(r["id"]): r for r in self.admin.order_refunds(order["id"])}
        refunds = [{**r, **{k: found[str(r["id"])][k] for k in ("line_items", "shipping_lines")
                            if k in found.get(str(r["id"]), {})}} for r in order.get("refunds") or []]
        return {**order, "refunds": refunds}
