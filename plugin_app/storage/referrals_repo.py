"""Referrals: members' codes, landings on a referral link, one referral per friend, and the facts
the fraud rules and rewards read (fingerprints, the friend's orders, the shop's currency).
Shop-scoped like every repository (`repos.ShopScoped`), except the one scan named as
cross-tenant, for the periodic reward job."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from . import tables as t
from .repos import ShopScoped, insert_ignore, insert_returning

c = t.referral_codes.c
lnd = t.referral_landings.c
r = t.referrals.c


class ReferralCodesRepo(ShopScoped):
    """One stable code per member, unique in the shop."""

    def of(self, member_id: int) -> str | None:
        return self.conn.execute(select(c.code).where(c.shop_id == self.shop_id, c.member_id == member_id)).scalar()

    def member_of(self, code: str) -> int | None:
        """The member whose (clean, `domain.referrals.clean_code`) code this is."""
        return self.conn.execute(select(c.member_id).where(c.shop_id == self.shop_id, c.code == code)).scalar()

    def add(self, member_id: int, code: str, now: datetime) -> bool:
        """False when the member has a code already. Another member's equal code raises
        IntegrityError (the caller draws again)."""
        return insert_ignore(self.conn, t.referral_codes, dict(member_id=member_id, shop_id=self.shop_id, code=code,
                                                              created_at=now), ["member_id"])

    def add_many(self, codes: dict[int, str], now: datetime) -> set[int]:
        """Give each member its code in one statement; the members that got theirs. A member
        left out has a code already, or drew one another member has."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        rows = [dict(member_id=m, shop_id=self.shop_id, code=code, created_at=now) for m, code in codes.items()]
        stmt = dialect.insert(t.referral_codes).values(rows).on_conflict_do_nothing()
        return set(self.conn.execute(stmt.returning(c.member_id)).scalars())

    def members_with_codes(self, member_ids: list[int]) -> set[int]:
        return set(self.conn.execute(select(c.member_id).where(
            c.shop_id == self.shop_id, c.member_id.in_(member_ids))).scalars())


class LandingsRepo(ShopScoped):
    """Visits through a referral link, remembered until `expires_at`."""

    def add(self, *, referrer_member_id: int, visitor_id: str, ip_fp: str | None, device_fp: str | None,
            landed_at: datetime, expires_at: datetime) -> int:
        return self.conn.execute(insert(t.referral_landings).values(
            shop_id=self.shop_id, referrer_member_id=referrer_member_id, visitor_id=visitor_id, ip_fp=ip_fp,
            device_fp=device_fp, landed_at=landed_at, expires_at=expires_at).returning(lnd.id)).scalar_one()

    def set_friend_code(self, landing_id: int, code: str) -> None:
        self.conn.execute(update(t.referral_landings).where(lnd.shop_id == self.shop_id, lnd.id == landing_id)
                          .values(friend_code=code))

    def by_id(self, landing_id: int) -> Row | None:
        return self._one(select(t.referral_landings).where(lnd.shop_id == self.shop_id, lnd.id == landing_id))

    def first_unexpired(self, visitor_id: str, now: datetime) -> Row | None:
        """The visitor's oldest landing still remembered at `now` (the first attribution wins)."""
        return self._one(select(t.referral_landings).where(
            lnd.shop_id == self.shop_id, lnd.visitor_id == visitor_id, lnd.expires_at > now).order_by(lnd.id))


class ReferralsRepo(ShopScoped):
    """One referral per friend (unique), from `signed_up` to `rewarded` or `rejected`."""

    def start(self, *, referrer_member_id: int, friend_member_id: int, landing_id: int | None,
              friend_code: str | None, friend_discount_id: str | None, now: datetime) -> int | None:
        """A new referral, `signed_up`; None when the friend has one already."""
        return insert_returning(self.conn, t.referrals, dict(
            shop_id=self.shop_id, referrer_member_id=referrer_member_id, friend_member_id=friend_member_id,
            landing_id=landing_id, friend_code=friend_code, friend_discount_id=friend_discount_id,
            status="signed_up", created_at=now, updated_at=now), ["shop_id", "friend_member_id"])

    def by_id(self, referral_id: int, *, lock: bool = False) -> Row | None:
        stmt = select(t.referrals).where(r.shop_id == self.shop_id, r.id == referral_id)
        return self._one(stmt.with_for_update() if lock else stmt)

    def for_friend(self, friend_member_id: int, *, lock: bool = False) -> Row | None:
        stmt = select(t.referrals).where(r.shop_id == self.shop_id, r.friend_member_id == friend_member_id)
        return self._one(stmt.with_for_update() if lock else stmt)

    def with_friend_code(self, codes: tuple[str, ...]) -> Row | None:
        """A referral whose welcome code is one of these."""
        return self._one(select(t.referrals).where(r.shop_id == self.shop_id, r.friend_code.in_(codes)))

    def update(self, referral_id: int, *, status_was: str | None = None, **values: Any) -> None:
        """Set exactly these columns; with `status_was`, only while the referral is in that status."""
        stmt = update(t.referrals).where(r.shop_id == self.shop_id, r.id == referral_id)
        if status_was is not None:
            stmt = stmt.where(r.status == status_was)
        self.conn.execute(stmt.values(**values))

    def count_cashback_order(self, referral_id: int) -> None:
        self.conn.execute(update(t.referrals).where(r.shop_id == self.shop_id, r.id == referral_id)
                          .values(cashback_orders=r.cashback_orders + 1))

    # -- velocity (fraud rules) --------------------------------------------------------------
    def through_ip_since(self, ip_fp: str, since: datetime) -> int:
        """Referrals that came through landings from this IP fingerprint since `since`."""
        return self.conn.execute(select(func.count()).select_from(t.referrals).join(
            t.referral_landings, lnd.id == r.landing_id).where(
            r.shop_id == self.shop_id, lnd.ip_fp == ip_fp, lnd.landed_at >= since)).scalar()

    def started_by_since(self, referrer_member_id: int, since: datetime) -> int:
        return self.conn.execute(select(func.count()).select_from(t.referrals).where(
            r.shop_id == self.shop_id, r.referrer_member_id == referrer_member_id, r.created_at >= since)).scalar()

    # -- lists -------------------------------------------------------------------------------
    def made_by_with_friend_email(self, referrer_member_id: int, limit: int) -> list[Row]:
        """The referrer's referrals, newest first, each with the friend's `email`."""
        m = t.members.c
        return self.conn.execute(select(t.referrals, m.email).join(t.members, m.id == r.friend_member_id).where(
            r.shop_id == self.shop_id, r.referrer_member_id == referrer_member_id)
            .order_by(r.id.desc()).limit(limit)).all()

    def ids(self, status: str | None, limit: int) -> list[int]:
        """Newest first, in one status or any."""
        stmt = select(r.id).where(r.shop_id == self.shop_id)
        if status:
            stmt = stmt.where(r.status == status)
        return self.conn.execute(stmt.order_by(r.id.desc()).limit(limit)).scalars().all()

    def ids_made_by(self, referrer_member_id: int, limit: int) -> list[int]:
        return self.conn.execute(select(r.id).where(
            r.shop_id == self.shop_id, r.referrer_member_id == referrer_member_id)
            .order_by(r.id.desc()).limit(limit)).scalars().all()

    # -- the funnel --------------------------------------------------------------------------
    def by_status(self) -> dict[str, int]:
        return dict(self.conn.execute(select(r.status, func.count()).where(r.shop_id == self.shop_id)
                                      .group_by(r.status)).all())

    def rewards_given(self) -> list[dict | None]:
        return self.conn.execute(select(r.reward).where(r.shop_id == self.shop_id, r.status == "rewarded")
                                 ).scalars().all()

    def cashback_posted(self, source: str) -> Decimal | int:
        """Store credit (available and pending) the ledger posted from this source."""
        e = t.ledger_entries.c
        return self.conn.execute(select(func.coalesce(func.sum(e.credit + e.credit_pending), 0)).where(
            e.shop_id == self.shop_id, e.source == source, e.asset == "credit")).scalar()

    def links_shared(self) -> int:
        return self._count(select(func.count()).select_from(t.events).where(
            t.events.c.shop_id == self.shop_id, t.events.c.type == "referral_link_shared"))

    def landings(self) -> int:
        return self._count(select(func.count()).select_from(t.referral_landings).where(lnd.shop_id == self.shop_id))

    def with_first_order(self) -> int:
        return self._count(select(func.count()).select_from(t.referrals).where(
            r.shop_id == self.shop_id, r.order_id.is_not(None)))

    def _count(self, stmt) -> int:
        return int(self.conn.execute(stmt).scalar() or 0)

    # -- cross-tenant ------------------------------------------------------------------------
    @staticmethod
    def due_for_reward_in_every_shop(conn: Connection, now: datetime) -> list[Row]:
        """CROSS-TENANT, for the periodic reward job only: the pending referrals of every shop
        whose reward is due at `now` (whole rows: each carries its `shop_id`, and is then
        handled in its own shop's unit of work)."""
        return conn.execute(select(t.referrals).where(r.status == "pending", r.reward_due_at <= now)).all()


class ReferralFactsRepo(ShopScoped):
    """What referrals read of members, orders and the shop: fingerprints (hashed, kept on the
    member), the friend's orders, and the currency amounts are shown in."""

    def fingerprints(self, member_id: int) -> dict | None:
        m = t.members.c
        return self.conn.execute(select(m.fingerprints).where(m.shop_id == self.shop_id, m.id == member_id)).scalar()

    def set_fingerprints(self, member_id: int, fingerprints: dict) -> None:
        m = t.members.c
        self.conn.execute(update(t.members).where(m.shop_id == self.shop_id, m.id == member_id)
                          .values(fingerprints=fingerprints))

    def known(self, member_id: int) -> Row:
        """The member's `fingerprints` and `email`."""
        m = t.members.c
        return self.conn.execute(select(m.fingerprints, m.email).where(m.shop_id == self.shop_id,
                                                                        m.id == member_id)).one()

    def order(self, platform_order_id: str) -> Row | None:
        o = t.orders.c
        return self._one(select(t.orders).where(o.shop_id == self.shop_id, o.platform_order_id == platform_order_id))

    def order_base(self, platform_order_id: str) -> Decimal:
        o = t.orders.c
        return Decimal(self.conn.execute(select(o.base).where(
            o.shop_id == self.shop_id, o.platform_order_id == platform_order_id)).scalar() or 0)

    def earned_orders_besides(self, member_id: int, platform_order_id: str) -> int:
        """The member's orders that earned, other than this one."""
        o = t.orders.c
        return int(self.conn.execute(select(func.count()).select_from(t.orders).where(
            o.shop_id == self.shop_id, o.member_id == member_id, o.earned.is_(True),
            o.platform_order_id != platform_order_id)).scalar() or 0)

    def currency(self) -> str:
        """The shop's currency, for amounts shown to people (a plain read: never a lock)."""
        return self.conn.execute(select(t.shops.c.currency).where(t.shops.c.id == self.shop_id)).scalar() or ""
