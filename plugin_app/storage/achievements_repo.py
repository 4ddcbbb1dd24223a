"""Badges earned, members in challenges, and the facts their rules read, for one shop."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import func, or_, select, update

from ..domain.achievements import ActionFact, Facts, OrderFact
from . import tables as t
from .repos import ShopScoped, insert_ignore

b, cm, cs = t.badge_awards.c, t.challenge_members.c, t.challenge_settlements.c


def _refunded_share(shares, fractions) -> Fraction:
    if not shares:
        return Fraction(0)
    total = sum((Fraction(s["base"]) for s in shares), Fraction(0))
    if total == 0:
        return Fraction(0)
    return sum((Fraction(s["base"]) * Fraction(fractions.get(s["key"], "0")) for s in shares), Fraction(0)) / total


class AchievementsRepo(ShopScoped):
    # -- facts -----------------------------------------------------------------------------------
    def facts(self, member_id: int) -> Facts:
        """The member's kept orders (base after refunds, 0 when cancelled), actions and rewarded
        referrals: what every badge and challenge rule reads."""
        o = t.orders.c
        orders = []
        for row in self.conn.execute(select(o.placed_at, o.created_at, o.base, o.shares, o.refunds, o.cancelled).where(
                o.shop_id == self.shop_id, o.member_id == member_id,
                or_(o.earned.is_(True), o.history_only.is_(True)))):
            value = Decimal(0)
            if not row.cancelled and row.base is not None:
                kept = (1 - _refunded_share(row.shares, (row.refunds or {}).get("fractions", {}))) * Fraction(row.base)
                value = Decimal(kept.numerator) / Decimal(kept.denominator)
            orders.append(OrderFact(placed_at=row.placed_at or row.created_at, value=value))
        e = t.ledger_entries.c
        actions = []
        for row in self.conn.execute(select(e.reason_params, e.created_at).where(
                e.shop_id == self.shop_id, e.member_id == member_id, e.reason_code == "action", e.kind == "earn")):
            kind = (row.reason_params or {}).get("kind")
            if kind:
                actions.append(ActionFact(kind=str(kind), at=row.created_at))
        r = t.referrals.c
        referrals = self.conn.execute(select(func.count()).where(
            r.shop_id == self.shop_id, r.referrer_member_id == member_id, r.status == "rewarded")).scalar_one()
        return Facts(orders=tuple(orders), actions=tuple(actions), referrals=int(referrals))

    # -- badges ----------------------------------------------------------------------------------
    def earned(self, member_id: int) -> dict[str, int]:
        """Badge id -> how many times the member earned it."""
        rows = self.conn.execute(select(b.badge_id, func.count()).where(
            b.shop_id == self.shop_id, b.member_id == member_id).group_by(b.badge_id))
        return {row[0]: int(row[1]) for row in rows}

    def award(self, member_id: int, badge_id: str, seq: int, points: int, version: int | None,
              now: datetime) -> bool:
        """Record the `seq`-th time; False when it was already recorded (nothing is paid twice)."""
        return insert_ignore(self.conn, t.badge_awards, dict(
            shop_id=self.shop_id, member_id=member_id, badge_id=badge_id, seq=seq, points=points,
            program_version=version, earned_at=now), ["shop_id", "member_id", "badge_id", "seq"])

    # -- challenges ------------------------------------------------------------------------------
    def opt_in(self, member_id: int, challenge_id: str, now: datetime) -> bool:
        return insert_ignore(self.conn, t.challenge_members, dict(
            shop_id=self.shop_id, member_id=member_id, challenge_id=challenge_id, opted_in_at=now),
            ["shop_id", "member_id", "challenge_id"])

    def challenge_rows(self, member_id: int) -> dict[str, object]:
        return {row.challenge_id: row for row in self.conn.execute(select(t.challenge_members).where(
            cm.shop_id == self.shop_id, cm.member_id == member_id))}

    def opted_in(self, challenge_id: str) -> list[int]:
        return list(self.conn.execute(select(cm.member_id).where(
            cm.shop_id == self.shop_id, cm.challenge_id == challenge_id, cm.opted_in_at.is_not(None))).scalars())

    def members_with_orders(self, start: datetime, end: datetime) -> list[int]:
        o = t.orders.c
        return list(self.conn.execute(select(o.member_id).distinct().where(
            o.shop_id == self.shop_id, o.member_id.is_not(None), o.placed_at >= start, o.placed_at < end)).scalars())

    def members_with_action(self, kind: str, start: datetime, end: datetime) -> list[int]:
        e = t.ledger_entries.c
        return sorted({row.member_id for row in self.conn.execute(select(e.member_id, e.reason_params).where(
            e.shop_id == self.shop_id, e.reason_code == "action", e.created_at >= start, e.created_at < end))
            if (row.reason_params or {}).get("kind") == kind})

    def settle_member(self, member_id: int, challenge_id: str, outcome: str, progress: Decimal, points: int,
                      now: datetime) -> bool:
        """Record the member's outcome once: False when it was already settled."""
        insert_ignore(self.conn, t.challenge_members, dict(
            shop_id=self.shop_id, member_id=member_id, challenge_id=challenge_id),
            ["shop_id", "member_id", "challenge_id"])
        done = self.conn.execute(update(t.challenge_members).where(
            cm.shop_id == self.shop_id, cm.member_id == member_id, cm.challenge_id == challenge_id,
            cm.settled_at.is_(None)).values(outcome=outcome, progress=progress, points=points, settled_at=now)
            .returning(cm.id)).first()
        return done is not None

    def settled(self, challenge_id: str) -> bool:
        return self.conn.execute(select(cs.id).where(
            cs.shop_id == self.shop_id, cs.challenge_id == challenge_id)).first() is not None

    def mark_settled(self, challenge_id: str, members: int, achieved: int, now: datetime) -> bool:
        return insert_ignore(self.conn, t.challenge_settlements, dict(
            shop_id=self.shop_id, challenge_id=challenge_id, members=members, achieved=achieved, settled_at=now),
            ["shop_id", "challenge_id"])
