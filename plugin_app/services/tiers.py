"""Tier evaluation: after every posting that can move a member, and by a periodic job for
windows that roll over. A change updates the member, emits a `tier_changed` event with its
reason, and pays the new tier's entry reward once per member and tier."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from ..domain.ledger import Asset, Source
from ..domain.ports import Clock, SystemClock
from ..domain.program import Program
from ..domain.member_events import OrderChanged, PointsPosted, TierChanged
from ..domain.expiry import expires_at
from ..domain.tiers import TierDecision, decide, window_start
from ..domain.reasons import Reason
from ..storage import tables as t
from ..storage.db import Database
from ..storage.repos import earned_at
from .ledger import Ledger


def refunded_share(shares: list[dict] | None, fractions: dict[str, str]) -> Fraction:
    """The refunded share of an order's base, from its stored shares and refund fractions."""
    if not shares:
        return Fraction(0)
    total = sum((Fraction(s["base"]) for s in shares), Fraction(0))
    if total == 0:
        return Fraction(0)
    return sum((Fraction(s["base"]) * Fraction(fractions.get(s["key"], "0")) for s in shares),
               Fraction(0)) / total


class TierService:
    def __init__(self, db: Database, ledger: Ledger, programs, clock: Clock | None = None) -> None:
        self.db, self.ledger, self.programs, self.clock = db, ledger, programs, clock or SystemClock()

    def points_in_window(self, program: Program, shop_id: int, member_id, now: datetime):
        """The SQL expression of points earned in the tier window (to embed in a larger query)."""
        e = t.ledger_entries.c
        since = window_start(program.tiers, now, ZoneInfo(program.timezone))
        stmt = select(func.coalesce(func.sum(e.points_lifetime), 0)).where(
            e.shop_id == shop_id, e.member_id == member_id, e.asset == Asset.POINTS.value)
        if since is not None:
            stmt = stmt.where(earned_at() >= since)
        return stmt.scalar_subquery()

    def qualifying_value(self, conn: Connection, program: Program, shop_id: int, member_id: int,
                         now: datetime) -> Decimal:
        since = window_start(program.tiers, now, ZoneInfo(program.timezone))
        if program.tiers.basis == "points_earned":
            e = t.ledger_entries.c
            stmt = select(func.coalesce(func.sum(e.points_lifetime), 0)).where(
                e.shop_id == shop_id, e.member_id == member_id, e.asset == Asset.POINTS.value)
            if since is not None:
                stmt = stmt.where(earned_at() >= since)
            return Decimal(conn.execute(stmt).scalar_one())
        o = t.orders.c
        # An earned order counts, and so does a past one recorded without points (a history backfill).
        stmt = select(o.base, o.shares, o.refunds).where(
            o.shop_id == shop_id, o.member_id == member_id, or_(o.earned.is_(True), o.history_only.is_(True)),
            o.cancelled.is_(False))
        if since is not None:
            stmt = stmt.where(o.placed_at >= since)
        spent = Fraction(0)
        for row in conn.execute(stmt):
            kept = 1 - refunded_share(row.shares, (row.refunds or {}).get("fractions", {}))
            spent += Fraction(row.base) * kept
        return Decimal(spent.numerator) / Decimal(spent.denominator)

    def evaluate(self, uow, member_id: int, program: Program, version: int, *,
                 why: str = "", entry_reward: bool = True) -> TierDecision | None:
        """Decide the member's tier now, in the caller's unit of work (which holds the member's
        balance lock): a change is written, told (`TierChanged`) and pays the entry reward
        (unless `entry_reward` is False: a history backfill that awards no points)."""
        if not program.tiers.enabled:
            return None
        now, shop_id, conn = self.clock.now(), uow.shop_id, uow.conn
        if program.tiers.basis == "points_earned":  # the member and the window's sum: one round trip
            m = uow.members.with_points_earned(member_id, window_start(program.tiers, now, ZoneInfo(program.timezone)))
            value = Decimal(m.points_earned)
        else:
            m = uow.members.by_id(member_id)
            value = self.qualifying_value(conn, program, shop_id, member_id, now)
        decision = decide(program.tiers, current=m.tier, since=m.tier_since,
                          grace_until=m.tier_grace_until, value=value, now=now,
                          tz=ZoneInfo(program.timezone))
        if not decision.changed:
            if decision.grace_until != m.tier_grace_until:
                uow.members.update_profile(member_id, m.updated_at, tier_grace_until=decision.grace_until)
            return decision
        uow.members.update_profile(member_id, now, tier=decision.tier, tier_since=now, tier_grace_until=None)
        names = [lvl.name for lvl in program.tiers.levels]
        up = m.tier not in names or names.index(decision.tier) > names.index(m.tier)
        uow.collect(TierChanged(shop_id=shop_id, member_id=member_id, at=now, from_tier=m.tier,
                                to_tier=decision.tier, reason=decision.reason, up=up, value=value,
                                cause=why, program_version=version))
        tier = program.tiers.by_name(decision.tier)
        if up and entry_reward and tier is not None and tier.entry_reward_points > 0:
            self.ledger.earn(shop_id, member_id, Asset.POINTS, tier.entry_reward_points,
                             key=f"tier-entry:{member_id}:{tier.name}", source=Source.ACTION,
                             reason=Reason("tier.entry", {"tier": tier.name, "points": tier.entry_reward_points}),
                             expires_at=expires_at(program, Asset.POINTS, now), program_version=version)
        return decision

    # -- handlers (registered in services.handlers) ------------------------------------------
    def after_posting(self, uow, event: PointsPosted) -> None:
        """Tiers on points earned follow every posting that moves the points counted toward
        them (earned, taken back) and every adjustment, whatever the entry point."""
        if event.asset != Asset.POINTS.value or not (event.moves_lifetime or event.kind == "adjust"):
            return
        if event.source == Source.IMPORT.value:  # an import settles tiers itself, once, quietly
            return
        pv = self.programs.current(event.shop_id)
        if pv.program.tiers.enabled and pv.program.tiers.basis == "points_earned":
            self.evaluate(uow, event.member_id, pv.program, pv.version, why=event.reason)

    def after_order(self, uow, event: OrderChanged) -> None:
        """Tiers on spend follow every change to an order counted for the member (earned,
        edited, refunded, cancelled); tiers on points follow the order's postings instead."""
        pv = self.programs.current(event.shop_id)
        if pv.program.tiers.enabled and pv.program.tiers.basis != "points_earned":
            self.evaluate(uow, event.member_id, pv.program, pv.version, why=event.cause)

    def reevaluate_all(self, programs, batch: int = 500) -> int:
        """The periodic pass: windows roll over and grace periods end without any posting."""
        changed = 0
        with self.db.uow() as uow:
            shop_ids = uow.conn.execute(select(t.shops.c.id).where(t.shops.c.status == "installed")).scalars().all()
        for shop_id in shop_ids:
            pv = programs.current(shop_id)
            if not pv.program.tiers.enabled:
                continue
            last = 0
            while True:
                with self.db.uow(shop_id) as uow:
                    ids = uow.members.ids_after(last, batch)
                if not ids:
                    break
                for member_id in ids:
                    with self.db.uow(shop_id) as uow:
                        uow.members.balance(member_id, lock=True)
                        d = self.evaluate(uow, member_id, pv.program, pv.version, why="periodic")
                        changed += bool(d and d.changed)
                last = ids[-1]
        return changed
