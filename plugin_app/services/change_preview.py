"""Before a program change is saved: what changes for whom. Members' tiers are re-decided under
the proposed rules (from the same qualifying values), and sample orders are priced both ways."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..domain.earning import MemberContext, Order, OrderLine, calculate
from ..domain.money import money_text
from ..domain.program import Program
from ..domain.tiers import level_for
from ..storage.db import Database
from ..storage.repos import MembersRepo
from .program import Programs, parse
from .tiers import TierService

SAMPLES = (Decimal("25.00"), Decimal("100.00"), Decimal("250.00"))


def _tier_of(program: Program, value: Decimal) -> str | None:
    return level_for(program.tiers, value).name if program.tiers.enabled else None


class ChangePreview:
    def __init__(self, db: Database, programs: Programs, tiers: TierService, clock) -> None:
        self.db, self.programs, self.tiers, self.clock = db, programs, tiers, clock

    def preview(self, shop_id: int, currency: str, document: dict) -> dict:
        proposed = parse(document)  # the same validation as saving
        current = self.programs.current(shop_id).program
        now = self.clock.now()
        moves: Counter = Counter()
        with self.db.reading() as conn:  # read-only: autocommit; TierService still reads through `conn`
            ids = MembersRepo(conn, shop_id).all_ids()
            for member_id in ids:
                before = _tier_of(current, self.tiers.qualifying_value(conn, current, shop_id, member_id, now))
                after = _tier_of(proposed, self.tiers.qualifying_value(conn, proposed, shop_id, member_id, now))
                if before != after:
                    moves[(before, after)] += 1
        samples = []
        placed = datetime.now(timezone.utc)
        for total in SAMPLES:
            order = Order("preview", currency, placed, (OrderLine("l", 1, total),), "preview")
            tier_now = current.tiers.levels[0] if current.tiers.enabled else None
            tier_new = proposed.tiers.levels[0] if proposed.tiers.enabled else None
            a = calculate(current, order, MemberContext(tier_now))
            b = calculate(proposed, order, MemberContext(tier_new))
            if (a.points, a.credit) != (b.points, b.credit):
                samples.append({"order": str(total), "points_before": a.points, "points_after": b.points,
                                "cashback_before": str(a.credit), "cashback_after": str(b.credit),
                                "text": f"a {money_text(total, currency)} order would earn {b.points} points instead of {a.points}"
                                        + (f" and {money_text(b.credit, currency)} instead of {money_text(a.credit, currency)} cashback"
                                           if a.credit != b.credit else "")})
        return {
            "tier_moves": [{"from": f, "to": to, "members": n,
                            "text": f"{n} member{'s' if n != 1 else ''} would move from {f} to {to}"}
                           for (f, to), n in sorted(moves.items(), key=lambda kv: -kv[1])],
            "orders": samples,
            "members_checked": len(ids),
            "note": f"tiers as of {now.astimezone(ZoneInfo(proposed.timezone)).date()}; orders priced at the entry tier",
        }
