"""History backfill: a shop's past orders pulled from its platform (Shopify's bulk export,
WooCommerce's REST pages) and recorded the way a delivery records an order, so that the
analytics, tiers on spend and the program simulator see the shop's history from the first day.

- `award_points` False (the default): each past paid order is recorded without points
  (`OrderService.record_past`): counted in the figures, its base, shares and refunds kept for
  tiers on spend, `history_only` on its row, no ledger entry. A later delivery for it never
  earns; a later refund moves only its kept share.
- `award_points` True: each goes through the normal earning path (`on_refund`, `on_paid`),
  keyed by the order as its webhook would be (`order:<id>:points`...), earned at the order's
  date (tier windows count it then): a delivery of the same order later replays, never adds.
- Either way the customers on those orders become members (no welcome bonus: that comes from a
  customer account being created, not from an order), nothing is told to anyone (the slice's
  transaction is quiet: no e-mail, merchant webhook or Flow trigger), and at the end the tiers
  of the members with orders in the period are settled once (no entry reward without points).
  Orders a delivery recorded first are left as the live path made them (counted as skipped),
  and so are orders placed since the shop installed the app: their webhooks (retried for up to
  two days) and the reconciliation job are theirs, and a past order recorded without points
  would otherwise keep a late webhook of a live order from earning.

Chunked and resumable: a job (`jobs.tasks.backfill_step`) does one bounded slice (one page or
one part of the export, at most `slice_orders` orders) in one transaction together with the
progress row, then enqueues the next; the row is locked FOR UPDATE SKIP LOCKED and its cursor
compared, so two workers never apply the same slice, and a slice that fails leaves nothing
behind. A backfill no worker has moved for `stale_after` (a killed worker, a lost job) is
enqueued again by the periodic `resume_backfills`."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from ..domain.errors import InvalidRequest, InvalidState, NotFound, PlatformError, PlatformUnavailable
from ..domain.events import OrderSeen
from ..domain.ports import Clock, OrderHistory, SystemClock
from ..storage.db import Database
from .orders import OrderService
from .platform import guest_key
from .program import Programs
from .tiers import TierService

log = logging.getLogger(__name__)
TASK = "backfill_step"
PLATFORMS = ("shopify", "woocommerce")


@dataclass
class _Counts:
    seen: int = 0
    recorded: int = 0
    skipped: int = 0
    members: int = 0
    points: int = 0
    notes: list[str] = field(default_factory=list)


def _shown(cursor: dict) -> dict:
    """The cursor without a download address: Shopify's is a signed URL to the shop's orders
    (anyone holding it can read them for a week), kept for the workers, never shown."""
    return {k: ("(signed address kept)" if k == "url" and v else v) for k, v in cursor.items()}


def progress(row) -> dict:
    """The merchant's view of a backfill (the admin API's and the CLI's)."""
    return {"id": row.id, "platform": row.platform, "since": row.since.isoformat() if row.since else None,
            "award_points": bool(row.award_points), "state": row.state, "phase": row.phase,
            "orders_seen": int(row.orders_seen), "orders_recorded": int(row.orders_recorded),
            "orders_skipped": int(row.orders_skipped), "members_created": int(row.members_created),
            "members_reevaluated": int(row.members_reevaluated), "points_awarded": int(row.points_awarded),
            "slices": int(row.slices), "cursor": _shown(row.cursor or {}), "note": row.note, "error": row.error,
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
            "finished_at": row.finished_at.isoformat() if row.finished_at else None}


class Backfills:
    def __init__(self, db: Database, orders: OrderService, tiers: TierService, programs: Programs,
                 history_for: Callable[[int], OrderHistory], platform_of: Callable[[int], str | None],
                 enqueue: Callable, clock: Clock | None = None, *, slice_orders: int = 100,
                 members_per_slice: int = 200, stale_after: timedelta = timedelta(minutes=15),
                 failpoint: Callable[[str], None] | None = None) -> None:
        self.db, self.orders, self.tiers, self.programs = db, orders, tiers, programs
        self.history_for, self.platform_of, self.enqueue = history_for, platform_of, enqueue
        self.clock = clock or SystemClock()
        self.slice_orders, self.members_per_slice, self.stale_after = slice_orders, members_per_slice, stale_after
        # `backfill.after_order` (plugin_app.failpoints): stop a slice midway, to prove it leaves nothing
        self.failpoint = failpoint or (lambda name: None)

    # -- the merchant's side -----------------------------------------------------------------
    def start(self, shop_id: int, since: date | None = None, award_points: bool = False) -> dict:
        """Start a backfill of the orders created since `since` (the shop's own day; None: all).
        One at a time per shop: InvalidState while another runs."""
        if since is not None and since > self.clock.now().date() + timedelta(days=1):
            raise InvalidRequest("since must not be in the future")
        platform = self.platform_of(shop_id)
        if platform not in PLATFORMS:
            raise InvalidRequest("this shop has no Shopify or WooCommerce store to read past orders from")
        with self.db.uow(shop_id) as uow:
            running = uow.backfills.running()
            if running is not None:
                raise InvalidState(f"backfill {running.id} is still running for this shop")
            backfill_id = uow.backfills.create(platform, since, award_points, self.clock.now())
        self.enqueue(TASK, shop_id, backfill_id)
        return self.status(shop_id, backfill_id)

    def status(self, shop_id: int, backfill_id: int) -> dict:
        with self.db.uow(shop_id, savepoint=False) as uow:
            row = uow.backfills.get(backfill_id)
        if row is None:
            raise NotFound("no such backfill")
        return progress(row)

    def resume(self, shop_id: int, backfill_id: int) -> dict:
        """Take up a failed backfill where it stopped (its cursor is where its last slice ended)."""
        with self.db.uow(shop_id) as uow:
            row = uow.backfills.get(backfill_id)
            if row is None:
                raise NotFound("no such backfill")
            if row.state == "done":
                raise InvalidState("the backfill is done")
            uow.backfills.save(backfill_id, self.clock.now(), state="running", error=None)
        self.enqueue(TASK, shop_id, backfill_id)
        return self.status(shop_id, backfill_id)

    # -- the jobs' side ------------------------------------------------------------------------
    def step(self, shop_id: int, backfill_id: int) -> str:
        """One slice, then the next is enqueued (unless done, failed, or taken by another worker)."""
        with self.db.uow(shop_id, savepoint=False) as uow:
            row = uow.backfills.get(backfill_id)
        if row is None or row.state != "running":
            return f"backfill {backfill_id}: nothing to do"
        if row.phase == "orders":
            outcome, delay = self._orders(shop_id, row)
        else:
            outcome, delay = self._tiers(shop_id, row)
        if outcome.startswith("continue"):
            self.enqueue(TASK, shop_id, backfill_id, delay=delay)
        return f"backfill {backfill_id}: {outcome}"

    def resume_stale(self) -> int:
        """The periodic pass: enqueue every running backfill nobody has moved for a while."""
        with self.db.uow() as uow:
            stale = uow.backfills_due.stale(self.clock.now() - self.stale_after)
        for shop_id, backfill_id in stale:
            self.enqueue(TASK, shop_id, backfill_id)
        return len(stale)

    # -- slices ---------------------------------------------------------------------------------
    def _since(self, shop_id: int, since: date | None) -> datetime | None:
        if since is None:
            return None
        with self.db.uow(shop_id, savepoint=False) as uow:
            tz = uow.shops.timezone(shop_id) or "UTC"
        return datetime.combine(since, time(), tzinfo=ZoneInfo(tz))

    def _fail(self, shop_id: int, backfill_id: int, error: str) -> None:
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            uow.backfills.save(backfill_id, now, state="failed", error=error[:2000], finished_at=now)

    def _orders(self, shop_id: int, row) -> tuple[str, float]:
        since = self._since(shop_id, row.since)
        try:  # the platform is read before the transaction: no locks held while it answers
            page = self.history_for(shop_id).history_page(since, dict(row.cursor or {}), self.slice_orders)
            if row.award_points and self.orders.catalog is not None:  # category facts, before the locks
                for e in page.orders:
                    if e.paid and not e.cancelled:
                        self.orders.catalog.for_posting(shop_id, e.order)
        except PlatformUnavailable as exc:  # try again later (the periodic pass takes it up)
            with self.db.uow(shop_id) as uow:
                uow.backfills.save(row.id, self.clock.now(), note=f"waiting: {type(exc).__name__}: {exc}"[:500])
            return "platform unavailable; resumed later", 0
        except (PlatformError, PermissionError, ValueError, KeyError) as exc:
            self._fail(shop_id, row.id, f"{type(exc).__name__}: {exc}")
            return "failed", 0
        counts = _Counts()
        try:
            with self.db.uow(shop_id) as uow:
                uow.quiet()  # nothing of a backfill is told to shoppers, merchants' endpoints or Flow
                current = uow.backfills.get(row.id, lock=True)
                if current is None or current.state != "running" or current.phase != "orders" \
                        or (current.cursor or {}) != (row.cursor or {}):
                    return "taken by another worker", 0
                installed = uow.backfills.installed_at()
                for event in page.orders:
                    self._apply(uow, shop_id, bool(row.award_points), event, counts, installed)
                    self.failpoint("backfill.after_order")
                self._save_slice(uow, row, current, page, counts)
        except Exception as exc:  # the slice rolled back whole: say why, keep the cursor where it was
            log.exception("backfill %s of shop %s stopped", row.id, shop_id)
            self._fail(shop_id, row.id, f"{type(exc).__name__}: {exc}")
            return "failed", 0
        return f"continue: {counts.seen} orders read, {counts.recorded} recorded", page.wait

    def _save_slice(self, uow, row, current, page, counts: _Counts) -> None:
        uow.backfills.save(
                row.id, self.clock.now(), cursor=page.cursor, phase="tiers" if page.done else "orders",
                orders_seen=current.orders_seen + counts.seen, orders_recorded=current.orders_recorded + counts.recorded,
                orders_skipped=current.orders_skipped + counts.skipped,
                members_created=current.members_created + counts.members,
                points_awarded=current.points_awarded + counts.points, slices=current.slices + 1,
                note=page.note[:500] or None, error=None)

    def _apply(self, uow, shop_id: int, award: bool, event: OrderSeen, counts: _Counts,
               installed: datetime) -> None:
        o = event.order
        counts.seen += 1
        if not event.paid or event.cancelled or o.test or o.placed_at >= installed:
            counts.skipped += 1  # never paid, cancelled, a test, or the live path's: nothing to do
            return
        new_member = bool(o.customer_id) and uow.members.by_customer(o.customer_id) is None
        guest = guest_key(shop_id, (event.facts or {}).get("email") or event.email) if not o.customer_id else None
        if award:
            for refund in event.refunds:  # before the earning, as a delivery does: applied with it
                self.orders.on_refund(shop_id, o.order_id, refund)
            out = self.orders.on_paid(shop_id, o, fulfilled=event.fulfilled, guest_key=guest, email=event.email,
                                      name=event.name, locale=event.locale, occurred_at=o.placed_at)
            done = out.status in ("earned", "guest", "waiting")
            counts.points += out.points if out.status == "earned" else 0
        else:
            out = self.orders.record_past(shop_id, o, event.refunds, guest_key=guest, email=event.email,
                                          name=event.name, locale=event.locale)
            done = out.status == "history"
        counts.recorded += done
        counts.skipped += not done
        counts.members += new_member and uow.members.by_customer(o.customer_id) is not None

    def _tiers(self, shop_id: int, row) -> tuple[str, float]:
        since = self._since(shop_id, row.since)
        pv = self.programs.current(shop_id)
        with self.db.uow(shop_id) as uow:
            uow.quiet()
            current = uow.backfills.get(row.id, lock=True)
            if current is None or current.state != "running" or current.phase != "tiers" \
                    or current.member_cursor != row.member_cursor:
                return "taken by another worker", 0
            ids = uow.backfills.members_with_orders_since(since, current.member_cursor, self.members_per_slice)
            for member_id in ids:
                uow.members.balance(member_id, lock=True)
                self.tiers.evaluate(uow, member_id, pv.program, pv.version, why="history backfill",
                                    entry_reward=bool(row.award_points))
            last = len(ids) < self.members_per_slice
            now = self.clock.now()
            uow.backfills.save(row.id, now, member_cursor=ids[-1] if ids else current.member_cursor,
                               members_reevaluated=current.members_reevaluated + len(ids),
                               slices=current.slices + 1, phase="done" if last else "tiers",
                               state="done" if last else "running", finished_at=now if last else None,
                               note="done" if last else f"tiers of {len(ids)} members settled")
        return ("done" if last else "continue: tiers"), 0
