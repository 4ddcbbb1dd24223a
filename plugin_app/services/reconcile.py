"""Reconciliation: Shopify drops deliveries and deletes failing subscriptions, so a periodic
job reads the orders updated since the shop's watermark and stores each as an inbox message
(the same durable, exactly-once path as a webhook), then, for custom-app shops only, re-creates
missing shop-scoped subscriptions (Shopify deletes them after repeated failures; app-scoped ones
from shopify.app.toml are never deleted and are not ours to re-create)."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Callable

from ..domain.ports import Clock, ShopifyOrderSource, SystemClock, WooOrderSource
from ..storage.db import Database
from .inbox import Inbox

log = logging.getLogger(__name__)


# Watermarks and refunds are read and written in units of work: nothing here must commit apart
# from a caller (reconciliation runs outside any transaction; each delivery it stores commits on
# its own in the inbox). Alone on the thread, a unit of work is the same transaction as before.

def read_watermark(db: Database, shop_id: int) -> str | None:
    with db.uow(shop_id) as uow:  # needs no commit apart from a caller: one unit of work
        return uow.reconcile.watermark(shop_id)


def sync_status(db: Database, shop_id: int) -> dict | None:
    """How far reconciliation got for a shop, and its last error (for the merchant)."""
    with db.uow(shop_id, savepoint=False) as uow:  # a read: no savepoint of its own
        row = uow.reconcile.status(shop_id)
    if row is None:
        return None
    return {"watermark": row.watermark, "checked_at": row.checked_at and row.checked_at.isoformat(),
            "last_error": row.last_error}


def save_watermark(db: Database, shop_id: int, watermark: str, checked_at, error: str | None) -> None:
    with db.uow(shop_id) as uow:  # needs no commit apart from a caller: one unit of work
        uow.reconcile.save_watermark(shop_id, watermark, checked_at, error)


class Reconciler:
    def __init__(self, db: Database, inbox: Inbox, admin_for: Callable[[int], ShopifyOrderSource], *,
                 callback_url: str, topic: str, clock: Clock | None = None, pages: int = 4,
                 page_size: int = 25, first_look_days: int = 3,
                 custom_app: Callable[[int], bool] = lambda shop_id: False) -> None:
        self.db, self.inbox, self.admin_for, self.custom_app = db, inbox, admin_for, custom_app
        self.callback_url, self.topic, self.clock = callback_url, topic, clock or SystemClock()
        self.pages, self.page_size, self.first_look = pages, page_size, timedelta(days=first_look_days)

    def run(self) -> int:
        with self.db.uow() as uow:
            shop_ids = uow.reconcile.installed_shop_ids_on("shopify")  # cross-tenant: every shop
        return sum(self.shop(shop_id) for shop_id in shop_ids)

    def shop(self, shop_id: int) -> int:
        """Pull at most `pages` pages (a bounded cost per run), advance the watermark."""
        now = self.clock.now()
        watermark = read_watermark(self.db, shop_id)
        since = watermark or (now - self.first_look).strftime("%Y-%m-%dT%H:%M:%SZ")
        stored, newest, error = 0, since, None
        try:
            admin = self.admin_for(shop_id)
            cursor = None
            for _ in range(self.pages):
                ids, cursor = admin.orders_updated_since(since, cursor, self.page_size)
                for order_id in ids:
                    node = admin.order(order_id)
                    if node is None:
                        continue
                    body = json.dumps(node, separators=(",", ":")).encode()
                    _, created = self.inbox.accept(shop_id, "shopify", self.topic,
                                                   f"reconcile:{order_id}:{node['updatedAt']}", body, {})
                    stored += created
                    newest = max(newest, node["updatedAt"])
                if cursor is None:
                    break
            if self.custom_app(shop_id):  # a public app's topics are app-scoped (shopify.app.toml)
                admin.subscribe(self.callback_url)  # re-creates what Shopify deleted
        except Exception as exc:  # throttled or refused: keep what was read, try next run
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("reconciliation of shop %s stopped: %s", shop_id, error)
        save_watermark(self.db, shop_id, newest, now, error)
        return stored


def applied_refunds(db: Database, shop_id: int, order_ids: list[str]) -> dict[str, set[str]]:
    """The refund ids already recorded on each of these orders (the orders row keeps them)."""
    if not order_ids:
        return {}
    with db.uow(shop_id, savepoint=False) as uow:  # a read: no savepoint of its own
        return uow.applied_refunds.by_order(order_ids)


class WooReconciler:
    """WooCommerce never retries and disables failing webhooks, so this is essential. Orders
    come newest-modified first; each modified after the watermark, or carrying a refund the
    order's row has not applied, comes in as an `order.updated` delivery with the key a webhook
    of the same state would have had (a state already delivered is a duplicate). Paging stops
    once the orders are older than the watermark less `refund_lookback` (WooCommerce 5.x does
    not touch `date_modified` on a partial refund, so a missed refund is looked for that far
    back), at the latest after `pages` pages. `modified_after` is sent, but WooCommerce 5.5
    ignores it (it answers every order): nothing here depends on it. Our webhooks are
    re-enabled or re-created."""

    def __init__(self, db: Database, inbox: Inbox, admin_for: Callable[[int], WooOrderSource], shops, *,
                 delivery_url: Callable[[int], str], dedupe: Callable[[str, bytes], str],
                 clock: Clock | None = None, pages: int = 10, first_look_days: int = 3,
                 refund_lookback_days: int = 14) -> None:
        self.db, self.inbox, self.admin_for, self.shops, self.dedupe = db, inbox, admin_for, shops, dedupe
        self.delivery_url, self.clock = delivery_url, clock or SystemClock()
        self.pages, self.first_look = pages, timedelta(days=first_look_days)
        self.refund_lookback = timedelta(days=refund_lookback_days)

    def run(self) -> int:
        with self.db.uow() as uow:
            shop_ids = uow.reconcile.installed_shop_ids_on("woocommerce")  # cross-tenant: every shop
        return sum(self.shop(shop_id) for shop_id in shop_ids)

    def shop(self, shop_id: int) -> int:
        now = self.clock.now()
        watermark = read_watermark(self.db, shop_id)
        since = watermark or (now - self.first_look).strftime("%Y-%m-%dT%H:%M:%S")
        floor = (datetime.fromisoformat(since) - self.refund_lookback).strftime("%Y-%m-%dT%H:%M:%S")
        stored, newest, error, crossed = 0, since, None, False
        try:
            admin = self.admin_for(shop_id)
            for page in range(1, self.pages + 1):
                orders, more = admin.orders_modified_since(floor, page)
                applied = applied_refunds(self.db, shop_id, [str(o["id"]) for o in orders])
                for order in orders:
                    modified = str(order.get("date_modified_gmt") or "")
                    refunds = {str(r.get("id")) for r in order.get("refunds") or []}
                    if modified > since or refunds - applied.get(str(order["id"]), set()):
                        body = json.dumps(order, separators=(",", ":")).encode()
                        _, created = self.inbox.accept(shop_id, "woocommerce", "order.updated",
                                                       self.dedupe("order.updated", body), body, {})
                        stored += created
                    newest = max(newest, modified)
                    crossed = crossed or (bool(modified) and modified < floor)
                if not more or crossed:
                    crossed = True
                    break
            if not crossed:  # more changed than one run reads: keep the watermark, say so
                newest = since
                error = f"more than {self.pages} pages of orders changed; the rest is read next run"
            admin.subscribe(self.delivery_url(shop_id), self.shops.credentials(shop_id)["webhook_secret"])
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("reconciliation of shop %s stopped: %s", shop_id, error)
        save_watermark(self.db, shop_id, newest, now, error)
        return stored
