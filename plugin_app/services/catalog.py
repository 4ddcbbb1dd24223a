"""The product catalog cache: each product's collections (Shopify) or categories (WooCommerce),
tags and product type, so earning rules on them match orders and carts that carry only product
ids. Quotes read the cache only (a miss schedules a fetch); postings fetch what is missing or
stale from the platform in the worker, before the order's transaction, and a platform that
cannot be asked makes the delivery retry rather than earn without its categories. Webhooks keep
the cache current: products/update (Shopify) and product.* (WooCommerce) rewrite a product,
collections/update marks that collection's products stale, a deleted product is forgotten."""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Callable

from ..domain.catalog import Group, ProductFacts, enrich, names_group, needs_facts
from ..domain.earning import Order
from ..domain.events import CollectionChanged, ProductGone, ProductSeen
from ..domain.errors import PlatformUnavailable
from ..domain.ports import CatalogSource, Clock, SystemClock
from ..domain.program import Program
from ..storage.catalog_repo import CatalogRepo
from ..storage.db import Database

log = logging.getLogger(__name__)
TTL = timedelta(hours=24)  # a product's facts are read again after this, webhooks or not


class CatalogUnavailable(PlatformUnavailable, RuntimeError):
    """The platform could not tell us a product's collections or categories. Not a DomainError:
    the inbox retries the delivery with backoff instead of earning without them."""


def _group_json(g: Group, platform: str) -> dict:
    if platform == "woocommerce":
        return {"id": g.id, "slug": g.handle, "name": g.title}
    return {"id": g.id, "gid": g.gid, "handle": g.handle, "title": g.title}


def _groups(row) -> tuple[Group, ...]:
    return tuple(Group(str(c["id"]), c.get("handle") or "", c.get("title") or "", c.get("gid") or "")
                 for c in row.collections or []) + tuple(
        Group(str(c["id"]), c.get("slug") or "", c.get("name") or "") for c in row.categories or [])


class Catalog:
    def __init__(self, db: Database, source_for: Callable[[int], CatalogSource | None],
                 platform_of: Callable[[int], str | None], current_program: Callable[[int], Program],
                 enqueue: Callable[..., None], clock: Clock | None = None,
                 recent_program: Callable[[int], Program] | None = None) -> None:
        self.db, self.source_for, self.platform_of = db, source_for, platform_of
        self.current_program, self.enqueue = current_program, enqueue
        # Outside a transaction, whether a posting needs product facts is read from a program a
        # few seconds old (`Programs.for_reading`): the order's transaction asks again with the
        # current one, so a program changed meanwhile still gets its facts (fetched then).
        self.recent_program = recent_program or current_program
        self.clock = clock or SystemClock()

    # -- reading ---------------------------------------------------------------------------
    def _read(self, repo: CatalogRepo, ids: list[str]) -> tuple[dict[str, ProductFacts], list[str]]:
        """(known facts, ids to fetch again: never seen, stale, or older than the TTL)."""
        if not ids:
            return {}, []
        rows = repo.products(ids)
        cutoff = self.clock.now() - TTL
        facts, due = {}, []
        for pid in ids:
            row = rows.get(pid)
            if row is not None:
                facts[pid] = ProductFacts(pid, _groups(row), tuple(row.tags or ()), row.product_type,
                                          row.source_updated_at)
            if row is None or row.stale or row.fetched_at is None or row.fetched_at < cutoff:
                due.append(pid)
        return facts, due

    @staticmethod
    def _ids(order: Order) -> list[str]:
        return sorted({li.product_id for li in order.lines if li.product_id and li.product_id.isdigit()})

    def cached(self, shop_id: int, order: Order, program: Program, conn=None) -> Order:
        """The quote's path: the order completed from the cache only (read on the caller's
        reading connection, when it passes one). What is missing or due is scheduled for a
        fetch; no platform call is made here."""
        if not needs_facts(program):
            return order
        ids = self._ids(order)
        if conn is None:
            with self.db.reading() as c:
                facts, due = self._read(CatalogRepo(c, shop_id), ids)
        else:
            facts, due = self._read(CatalogRepo(conn, shop_id), ids)
        if due:
            self.schedule(shop_id, due)
        return enrich(order, facts)

    def for_posting(self, shop_id: int, order: Order) -> Order:
        """The posting's path (a worker, before the order's transaction): what is missing or
        due is fetched from the platform now; if it cannot be, CatalogUnavailable (retryable)."""
        outside = self.db.open_connection() is None
        if not order.lines or not needs_facts((self.recent_program if outside else self.current_program)(shop_id)):
            return order
        ids = self._ids(order)
        with self.db.reading() as conn:
            repo = CatalogRepo(conn, shop_id)
            done = repo.order_state(order.order_id)
            if done is not None and done.cancelled:
                return order  # nothing will be calculated: ask the platform nothing
            facts, due = self._read(repo, ids)
        if done is not None and done.earned:
            # An earned order is only recalculated when an edit changed its lines: it must see
            # the facts it earned with, so it takes the cache as it is (stale or not) and asks
            # the platform only about products it has never seen (a line the edit added).
            due = [pid for pid in due if pid not in facts]
        if due:
            source = self.source_for(shop_id)
            if source is not None:
                try:
                    fetched = source.product_facts(due)
                except Exception as exc:
                    raise CatalogUnavailable(f"could not read products {', '.join(due[:10])} from the platform: "
                                             f"{type(exc).__name__}: {str(exc)[:200]}") from exc
                self.store(shop_id, fetched)
                facts.update(fetched)
        return enrich(order, facts)

    # -- fetching --------------------------------------------------------------------------
    def schedule(self, shop_id: int, ids: list[str]) -> None:
        """Ask a worker to fetch these products (never fails the caller)."""
        ids = sorted(set(ids))[:250]
        digest = hashlib.sha256(",".join(ids).encode()).hexdigest()[:16]
        try:
            self.enqueue("refresh_catalog", shop_id, ids, job_id=f"catalog-{shop_id}-{digest}")
        except Exception:
            log.warning("could not schedule a catalog refresh for shop %s", shop_id, exc_info=True)

    def refresh(self, shop_id: int, ids: list[str]) -> int:
        """The scheduled fetch: read these products from the platform and store them."""
        try:
            source = self.source_for(shop_id)
        except PermissionError:  # uninstalled meanwhile
            return 0
        if source is None:
            return 0
        with self.db.reading() as conn:
            _, due = self._read(CatalogRepo(conn, shop_id), [str(i) for i in ids])
        if not due:
            return 0
        fetched = source.product_facts(due)
        self.store(shop_id, fetched)
        return len(fetched)

    def store(self, shop_id: int, facts: dict[str, ProductFacts]) -> None:
        """Facts read in full from the platform: fresh, not stale."""
        if not facts:
            return
        platform = self.platform_of(shop_id) or "shopify"
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            for f in facts.values():
                groups = [_group_json(g, platform) for g in f.groups]
                uow.catalog.upsert(f.product_id, dict(
                    tags=list(f.tags), product_type=f.product_type,
                    collections=groups if platform != "woocommerce" else [],
                    categories=groups if platform == "woocommerce" else [],
                    source_updated_at=f.updated_at, fetched_at=now, stale=False))

    # -- webhooks --------------------------------------------------------------------------
    def on_product(self, shop_id: int, event: ProductSeen) -> str:
        platform = self.platform_of(shop_id) or "shopify"
        with self.db.uow(shop_id) as uow:
            if event.tags is None and event.groups is None:  # only "this product changed"
                uow.catalog.mark_stale(event.product_id)
                return f"product {event.product_id}: marked for a fresh look"
            values = dict(source_updated_at=event.updated_at)
            if event.tags is not None:
                values.update(tags=list(event.tags), product_type=event.product_type)
            if event.groups is not None:  # the whole product (WooCommerce): fresh
                groups = [_group_json(g, platform) for g in event.groups]
                values.update(collections=[] if platform == "woocommerce" else groups,
                              categories=groups if platform == "woocommerce" else [],
                              fetched_at=self.clock.now(), stale=False)
            else:  # Shopify's products/update has no collections; smart collections follow tags,
                values.update(stale=True)  # type, vendor…: read them again before the next posting
            uow.catalog.upsert(event.product_id, values, only_if_newer=True)  # an older delivery loses
        return f"product {event.product_id}: tags and categories updated"

    def on_gone(self, shop_id: int, event: ProductGone) -> str:
        with self.db.uow(shop_id) as uow:
            uow.catalog.forget(event.product_id)
        return f"product {event.product_id}: forgotten"

    def on_collection(self, shop_id: int, event: CollectionChanged) -> str:
        """Its cached products are read again before their next posting; if a rule names this
        collection, every cached product of the shop is (a product may have joined it)."""
        group = Group(event.collection_id, event.handle, gid=f"gid://shopify/Collection/{event.collection_id}")
        whole_shop = names_group(self.current_program(shop_id), group)
        with self.db.uow(shop_id) as uow:
            marked = uow.catalog.mark_collection_stale(None if whole_shop else event.collection_id)
        return f"collection {event.collection_id}: {marked} products to read again"
