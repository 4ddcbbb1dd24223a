"""Expiry the program way: by age (each lot N months after earning; the ledger's expiry job
lapses them) or by inactivity (the whole balance after N months without earning or spending),
with reminder events a configurable number of days before."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, func, select

from ..domain.ports import Clock, SystemClock
from ..domain.tiers import add_months
from ..storage import tables as t
from ..storage.db import Database
from ..domain.member_events import PointsExpiring
from .ledger import Ledger
from .program import Programs


class ExpiryService:
    def __init__(self, db: Database, ledger: Ledger, programs: Programs, clock: Clock | None = None) -> None:
        self.db, self.ledger, self.programs, self.clock = db, ledger, programs, clock or SystemClock()

    def _shops(self) -> list[int]:
        with self.db.uow() as uow:
            conn = uow.conn
            return conn.execute(select(t.shops.c.id).where(t.shops.c.status == "installed")).scalars().all()

    def expire_inactive(self) -> int:
        lapsed = 0
        now = self.clock.now()
        for shop_id in self._shops():
            expiry = self.programs.current(shop_id).program.expiry
            if expiry.mode != "inactivity":
                continue
            cutoff = add_months(now, -expiry.months)
            with self.db.uow(shop_id) as uow:
                conn = uow.conn
                ids = conn.execute(select(t.members.c.id).join(t.balances, t.balances.c.member_id == t.members.c.id)
                                   .where(t.members.c.shop_id == shop_id, t.members.c.last_activity_at < cutoff,
                                          (t.balances.c.points > 0) | (t.balances.c.credit > 0))).scalars().all()
            for member_id in ids:
                lapsed += self.ledger.lapse_member(shop_id, member_id, key_prefix=f"inactive:{member_id}",
                                                   reason=f"no activity for {expiry.months} months") > 0
        return lapsed

    def reminders(self) -> int:
        """Emit `points_expiring` events; the dedupe key makes each reminder happen once."""
        sent = 0
        now = self.clock.now()
        for shop_id in self._shops():
            expiry = self.programs.current(shop_id).program.expiry
            if expiry.mode == "none":
                continue
            with self.db.uow(shop_id) as uow:
                conn = uow.conn
                for days in sorted(expiry.reminder_days):
                    horizon = now + timedelta(days=days)
                    if expiry.mode == "age":
                        rows = conn.execute(select(t.lots.c.member_id, t.lots.c.asset,
                                                   func.min(t.lots.c.expires_at).label("first"),
                                                   func.sum(t.lots.c.remaining).label("amount"))
                                            .where(t.lots.c.shop_id == shop_id, t.lots.c.pending.is_(False),
                                                   t.lots.c.remaining > 0, t.lots.c.expires_at > now,
                                                   t.lots.c.expires_at <= horizon)
                                            .group_by(t.lots.c.member_id, t.lots.c.asset)).all()
                        for r in rows:
                            sent += uow.collect(PointsExpiring(
                                shop_id=shop_id, member_id=r.member_id, at=now, asset=r.asset, amount=r.amount,
                                days=days, expires_at=r.first, by_inactivity=False, dated=r.first.date()))
                    else:
                        rows = conn.execute(select(t.members.c.id, t.members.c.last_activity_at, t.balances.c.points)
                                            .join(t.balances, t.balances.c.member_id == t.members.c.id)
                                            .where(and_(t.members.c.shop_id == shop_id, t.balances.c.points > 0,
                                                        t.members.c.last_activity_at.is_not(None)))).all()
                        for r in rows:
                            lapse_at = add_months(r.last_activity_at, expiry.months)
                            if now < lapse_at <= horizon:
                                sent += uow.collect(PointsExpiring(
                                    shop_id=shop_id, member_id=r.id, at=now, asset="points", amount=r.points,
                                    days=days, expires_at=lapse_at, by_inactivity=True,
                                    dated=r.last_activity_at.date()))
        return sent
