"""Analytics from rollups: a job folds new ledger entries into per-shop, per-day totals
(incrementally, by entry id), so a dashboard reads a few hundred rows however long the ledger
grows. Outstanding balances and tiers come from the O(1) balance rows."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from ..domain.money import Money
from ..storage import tables as t
from ..storage.db import Database
from ..storage.repos import insert_ignore

METRICS = ("points_issued", "points_redeemed", "points_expired", "points_reversed",
           "credit_issued", "credit_spent", "credit_expired", "entries")


def fold(entry) -> dict[str, Decimal | int]:
    """What one entry adds to its day. Issued = earned and upward adjustments (pending included,
    at earning); redeemed = redemptions, committed holds and downward adjustments, less what
    reversals gave back; reversed = earnings taken back; holds and vesting move nothing here."""
    points = int(entry.points + entry.points_pending)
    credit = Decimal(entry.credit) + Decimal(entry.credit_pending)
    out: dict = {"entries": 1}
    kind, is_points = entry.kind, entry.asset == "points"
    if kind in ("earn", "adjust") and (points > 0 or credit > 0):
        out["points_issued" if is_points else "credit_issued"] = points if is_points else credit
    elif kind in ("redeem", "adjust"):
        out["points_redeemed" if is_points else "credit_spent"] = -points if is_points else -credit
    elif kind == "commit":  # the committed part of a hold is spent (the rest went back)
        spent = Decimal(entry.amount)
        out["points_redeemed" if is_points else "credit_spent"] = int(spent) if is_points else spent
    elif kind == "expire":
        out["points_expired" if is_points else "credit_expired"] = -points if is_points else -credit
    elif kind == "reverse":
        if points < 0 or credit < 0:  # an earning taken back (credit_issued is kept net of these)
            out["points_reversed" if is_points else "credit_issued"] = -points if is_points else credit
        else:  # spending given back
            out["points_redeemed" if is_points else "credit_spent"] = -points if is_points else -credit
    return out


class Analytics:
    def __init__(self, db: Database, programs) -> None:
        self.db, self.programs = db, programs

    def refresh(self, batch: int = 50_000) -> int:
        """Fold every entry newer than the watermark into the daily rollups; returns how many.
        Runs under a row lock on its progress row, so two workers never fold the same entries."""
        folded = 0
        while True:
            with self.db.transaction() as conn:
                insert_ignore(conn, t.stats_progress, {"name": "ledger", "last_id": 0}, ["name"])
                last = conn.execute(select(t.stats_progress.c.last_id).where(
                    t.stats_progress.c.name == "ledger").with_for_update()).scalar_one()
                e = t.ledger_entries.c
                rows = conn.execute(select(e.id, e.shop_id, e.asset, e.kind, e.amount, e.points, e.points_pending,
                                           e.credit, e.credit_pending, e.created_at)
                                    .where(e.id > last).order_by(e.id).limit(batch)).all()
                if not rows:
                    return folded
                days: dict[tuple[int, date], dict] = defaultdict(lambda: dict.fromkeys(METRICS, 0))
                for row in rows:
                    bucket = days[(row.shop_id, row.created_at.date())]
                    for k, v in fold(row).items():
                        bucket[k] += v
                dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
                for (shop_id, day), values in days.items():
                    stmt = dialect.insert(t.stats_daily).values(shop_id=shop_id, day=day, **values)
                    conn.execute(stmt.on_conflict_do_update(
                        index_elements=["shop_id", "day"],
                        set_={k: t.stats_daily.c[k] + stmt.excluded[k] for k in METRICS}))
                conn.execute(t.stats_progress.update().where(t.stats_progress.c.name == "ledger")
                             .values(last_id=rows[-1].id))
                folded += len(rows)

    def dashboard(self, shop_id: int, currency: str, start: date, end: date) -> dict:
        program = self.programs.current(shop_id).program
        s = t.stats_daily.c
        with self.db.reading() as conn:
            daily = conn.execute(select(t.stats_daily).where(s.shop_id == shop_id, s.day >= start, s.day <= end)
                                 .order_by(s.day)).all()
            b = t.balances.c
            outstanding = conn.execute(select(func.coalesce(func.sum(b.points), 0), func.coalesce(func.sum(b.credit), 0),
                                              func.count()).where(b.shop_id == shop_id)).one()
            m = t.members.c
            enrolled = conn.execute(select(func.count()).where(
                m.shop_id == shop_id, func.date(m.created_at) >= start, func.date(m.created_at) <= end)).scalar()
            tiers = dict(conn.execute(select(m.tier, func.count()).where(m.shop_id == shop_id).group_by(m.tier)).all())
        totals = {k: sum((getattr(r, k) for r in daily), Decimal(0) if k.startswith("credit") else 0) for k in METRICS}
        fixed = next((r for r in program.rewards if r.type == "fixed_amount" and r.amount), None)
        point_value = (fixed.amount / fixed.points_cost) if fixed else Decimal(0)
        liability = Money.of((Decimal(outstanding[0]) * point_value + Decimal(outstanding[1])).quantize(Decimal("0.01")),
                             currency)
        issued = totals["points_issued"] - totals["points_reversed"]
        return {
            "period": {"from": start.isoformat(), "to": end.isoformat()},
            "members": {"total": outstanding[2], "enrolled_in_period": enrolled,
                        "per_tier": {str(k or program.tiers.levels[0].name): v for k, v in tiers.items()}},
            "points": {"issued": totals["points_issued"], "reversed": totals["points_reversed"],
                       "redeemed": totals["points_redeemed"], "expired": totals["points_expired"],
                       "outstanding": int(outstanding[0]),
                       "redemption_rate": round(totals["points_redeemed"] / issued, 4) if issued > 0 else None},
            "credit": {"issued": str(totals["credit_issued"]), "spent": str(totals["credit_spent"]),
                       "expired": str(totals["credit_expired"]), "outstanding": str(Decimal(outstanding[1]))},
            "liability": {**liability.to_json(), "point_value": str(point_value)},
            "daily": [{"day": r.day.isoformat(), **{k: (str(getattr(r, k)) if k.startswith("credit") else getattr(r, k))
                                                    for k in METRICS}} for r in daily],
        }

    @staticmethod
    def daily_csv(dashboard: dict) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["day", *METRICS])
        writer.writeheader()
        writer.writerows(dashboard["daily"])
        return out.getvalue()
