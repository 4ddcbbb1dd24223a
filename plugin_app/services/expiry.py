"""Expiry the program way: by age (each lot N months after earning; the ledger's expiry job
lapses them) or by inactivity (the whole balance after N months without earning or spending),
with reminder events a configurable number of days before."""
from __future__ import annotations

from datetime import timedelta

from ..domain.ports import Clock, SystemClock
from ..domain.tiers import add_months
from ..storage.db import Database
from ..domain.member_events import PointsExpiring
from ..domain.reasons import Reason
from .ledger import Ledger
from .program import Programs


class ExpiryService:
    def __init__(self, db: Database, ledger: Ledger, programs: Programs, clock: Clock | None = None) -> None:
        self.db, self.ledger, self.programs, self.clock = db, ledger, programs, clock or SystemClock()

    def _shops(self) -> list[int]:
        """Every installed shop (each is then handled in its own unit of work)."""
        with self.db.uow() as uow:
            return uow.shops.installed_shop_ids()

    def expire_inactive(self) -> int:
        lapsed = 0
        now = self.clock.now()
        for shop_id in self._shops():
            expiry = self.programs.current(shop_id).program.expiry
            if expiry.mode != "inactivity":
                continue
            cutoff = add_months(now, -expiry.months)
            with self.db.uow(shop_id) as uow:
                ids = uow.members.inactive_with_value(cutoff)
            for member_id in ids:
                lapsed += self.ledger.lapse_member(shop_id, member_id, key_prefix=f"inactive:{member_id}",
                                                   reason=Reason("expiry.inactive", {"months": expiry.months})) > 0
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
                for days in sorted(expiry.reminder_days):
                    horizon = now + timedelta(days=days)
                    if expiry.mode == "age":
                        for r in uow.ledger.lots_expiring(now, horizon):
                            sent += uow.collect(PointsExpiring(
                                shop_id=shop_id, member_id=r.member_id, at=now, asset=r.asset, amount=r.amount,
                                days=days, expires_at=r.first, by_inactivity=False, dated=r.first.date()))
                    else:
                        for r in uow.members.with_points_and_activity():
                            lapse_at = add_months(r.last_activity_at, expiry.months)
                            if now < lapse_at <= horizon:
                                sent += uow.collect(PointsExpiring(
                                    shop_id=shop_id, member_id=r.id, at=now, asset="points", amount=r.points,
                                    days=days, expires_at=lapse_at, by_inactivity=True,
                                    dated=r.last_activity_at.date()))
        return sent
