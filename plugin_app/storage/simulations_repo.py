"""The program simulator's storage (`simulations`): saved runs, the members whose result differs,
and the reads a run makes of the shop's past (its orders in id order, its redemption history).
Shop-scoped: every statement names the shop (`SimulationsRepo`), except `SimulationsDue`, the
CROSS-TENANT scan for runs no worker has moved for a while (enqueued again). Reads only of the
ledger and orders."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from . import tables as t
from .repos import ShopScoped

s = t.simulations.c
sm = t.simulation_members.c
o = t.orders.c
e = t.ledger_entries.c


class SimulationsRepo(ShopScoped):
    def create(self, program: dict, draft_version: int | None, starts_at: datetime, ends_at: datetime,
               now: datetime, based_on: int | None = None) -> int:
        return self.conn.execute(insert(t.simulations).values(
            shop_id=self.shop_id, state="queued", program=program, draft_version=draft_version, based_on=based_on,
            starts_at=starts_at, ends_at=ends_at, created_at=now, updated_at=now).returning(s.id)).scalar_one()

    def get(self, simulation_id: int) -> Row | None:
        return self.conn.execute(select(t.simulations).where(s.shop_id == self.shop_id,
                                                             s.id == simulation_id)).first()

    def recent(self, limit: int) -> list[Row]:
        """The shop's latest runs, newest first."""
        return list(self.conn.execute(select(t.simulations).where(s.shop_id == self.shop_id)
                                      .order_by(s.id.desc()).limit(limit)))

    def save(self, simulation_id: int, now: datetime, **values: Any) -> None:
        self.conn.execute(update(t.simulations).where(s.shop_id == self.shop_id, s.id == simulation_id)
                          .values(updated_at=now, **values))

    def clear_members(self, simulation_id: int) -> None:
        self.conn.execute(t.simulation_members.delete().where(sm.shop_id == self.shop_id,
                                                              sm.simulation_id == simulation_id))

    def add_members(self, simulation_id: int, rows: list[dict]) -> None:
        if rows:
            self.conn.execute(insert(t.simulation_members),
                              [{**r, "simulation_id": simulation_id, "shop_id": self.shop_id} for r in rows])

    def members(self, simulation_id: int, after: int, limit: int) -> list[Row]:
        """The members whose result differs, by member id after `after`, with their customer id."""
        m = t.members.c
        return list(self.conn.execute(
            select(sm.member_id, m.platform_customer_id, sm.live_points, sm.draft_points, sm.live_credit,
                   sm.draft_credit, sm.live_tier, sm.draft_tier)
            .select_from(t.simulation_members.outerjoin(t.members, and_(m.id == sm.member_id,
                                                                       m.shop_id == sm.shop_id)))
            .where(sm.shop_id == self.shop_id, sm.simulation_id == simulation_id, sm.member_id > after)
            .order_by(sm.member_id).limit(limit)))

    # -- the shop's past, read ------------------------------------------------------------
    @staticmethod
    def _past(until: datetime):
        """A member's order that earned or was recorded from the past, not cancelled, placed before `until`."""
        return and_(o.member_id.is_not(None), o.cancelled.is_(False), o.shares.is_not(None),
                    or_(o.earned.is_(True), o.history_only.is_(True)), o.placed_at.is_not(None),
                    o.placed_at < until)

    def count_orders(self, since: datetime | None, until: datetime) -> int:
        stmt = select(func.count()).select_from(t.orders).where(o.shop_id == self.shop_id, self._past(until))
        if since is not None:
            stmt = stmt.where(o.placed_at >= since)
        return int(self.conn.execute(stmt).scalar_one())

    def past_orders(self, since: datetime | None, until: datetime, after_id: int, limit: int) -> list[Row]:
        """The shop's past member orders placed in [since, until), in id order after `after_id`."""
        stmt = (select(o.id, o.platform_order_id, o.member_id, o.placed_at, o.currency, o.shares, o.products,
                       o.refunds, o.history_only, o.program_version, o.base)
                .where(o.shop_id == self.shop_id, self._past(until), o.id > after_id))
        if since is not None:
            stmt = stmt.where(o.placed_at >= since)
        return list(self.conn.execute(stmt.order_by(o.id).limit(limit)))

    def refund_dates(self, keys: list[str]) -> dict[str, datetime]:
        """When the ledger posted each of these take-backs (`order:<id>:refund:<refund>:<asset>`)."""
        if not keys:
            return {}
        return {r[0]: r[1] for r in self.conn.execute(
            select(e.idempotency_key, e.created_at).where(e.shop_id == self.shop_id, e.idempotency_key.in_(keys)))}

    def past_actions(self, until: datetime, after_id: int, limit: int) -> list[Row]:
        """The actions the live path rewarded (sign-up, birthday, review, ...: the ledger's
        `action:<kind>:<event>` earnings) credited before `until`, in id order after `after_id`."""
        at = func.coalesce(e.occurred_at, e.created_at)
        return list(self.conn.execute(
            select(e.id, e.member_id, e.amount, e.idempotency_key, e.program_version, at.label("at"))
            .where(e.shop_id == self.shop_id, e.source == "action", e.kind == "earn", e.asset == "points",
                   e.idempotency_key.like("action:%"), at < until, e.id > after_id)
            .order_by(e.id).limit(limit)))

    def past_referrals(self, until: datetime) -> list[Row]:
        """The referrals judged on a friend's order placed before `until`, with what that order
        kept (its shares, refunds, cancellation) and when it was placed."""
        r = t.referrals.c
        return list(self.conn.execute(
            select(r.id, r.referrer_member_id, r.friend_member_id, r.status, r.verdict, r.order_base, r.reward,
                   r.reward_due_at, r.decided_by, r.created_at, r.friend_code, o.placed_at, o.shares, o.refunds,
                   o.cancelled)
            .select_from(t.referrals.join(t.orders, and_(o.shop_id == r.shop_id, o.platform_order_id == r.order_id)))
            .where(r.shop_id == self.shop_id, r.order_id.is_not(None), o.placed_at < until)
            .order_by(r.id)))

    def referral_postings(self, until: datetime) -> list[Row]:
        """What the ledger credited referrers before `until`: rewards (`referral:<id>:reward`) and
        extra cashback (`referral:<id>:cashback:<order>`), in id order."""
        at = func.coalesce(e.occurred_at, e.created_at)
        return list(self.conn.execute(
            select(e.id, e.member_id, e.asset, e.amount, e.idempotency_key, e.reason_params, e.program_version,
                   at.label("at"))
            .where(e.shop_id == self.shop_id, e.source == "referral", e.kind == "earn",
                   e.idempotency_key.like("referral:%"), at < until)
            .order_by(e.id)))

    def friend_codes(self, since: datetime, until: datetime) -> int:
        """Referrals started in the period that gave the friend a welcome code."""
        r = t.referrals.c
        return int(self.conn.execute(select(func.count()).select_from(t.referrals).where(
            r.shop_id == self.shop_id, r.friend_code.is_not(None), r.created_at >= since,
            r.created_at < until)).scalar_one())

    def redemption_history(self, since: datetime, until: datetime) -> dict[str, tuple[Decimal, Decimal]]:
        """Per asset, (earned, spent) in the period: what the ledger credited (earnings) and what
        members spent (redemptions and commits)."""
        at = func.coalesce(e.occurred_at, e.created_at)
        base = and_(e.shop_id == self.shop_id, at >= since, at < until)
        earned = func.coalesce(func.sum(case((e.kind == "earn", e.amount), else_=0)), 0)
        spent = func.coalesce(func.sum(case((e.kind.in_(("redeem", "commit")), e.amount), else_=0)), 0)
        out = {}
        for row in self.conn.execute(select(e.asset, earned, spent).where(base).group_by(e.asset)):
            out[row[0]] = (Decimal(row[1]), Decimal(row[2]))
        return out


class SimulationsDue:
    """CROSS-TENANT: queued or running simulations not moved since `before` (their worker died,
    or their job was lost with Redis): (shop id, simulation id) pairs to enqueue again."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def stale(self, before: datetime, limit: int = 100) -> list[tuple[int, int]]:
        rows = self.conn.execute(select(s.shop_id, s.id).where(s.state.in_(("queued", "running")), s.updated_at < before)
                                 .order_by(s.updated_at).limit(limit))
        return [(r.shop_id, r.id) for r in rows]
