"""What the storefront widget shows a signed-in member beyond their row and balances
(`MembersRepo.for_widget`): the points that expire next and their recent activity. Shop-scoped
like every repository (`repos.ShopScoped`). It works on a plain reading connection
(`Database.reading`): each method is one query, one round trip, with no BEGIN/COMMIT."""
from __future__ import annotations

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.engine import Row

from . import tables as t
from .repos import ShopScoped, open_lot


def _statements():
    """Both reads built once, their values bound at execution (the widget is a hot path)."""
    lots, e = t.lots.c, t.ledger_entries.c
    shop = bindparam("shop_id", type_=lots.shop_id.type)
    member = bindparam("member_id", type_=lots.member_id.type)
    expiry = (select(lots.expires_at, func.sum(lots.remaining)).where(
        lots.shop_id == shop, lots.member_id == member, lots.asset == "points",
        open_lot(lots), lots.expires_at.is_not(None))
        .group_by(lots.expires_at).order_by(lots.expires_at).limit(1))
    activity = (select(e.reason, e.reason_code, e.reason_params, e.asset, e.points, e.points_pending, e.credit,
                       e.credit_pending, e.kind, e.created_at)
                .where(e.shop_id == shop, e.member_id == member, e.kind.not_in(("reserve", "release")))
                .order_by(e.id.desc()).limit(bindparam("limit", type_=Integer())))
    return expiry, activity


_NEXT_EXPIRY, _ACTIVITY = _statements()


class WidgetRepo(ShopScoped):
    def next_expiry(self, member_id: int) -> Row | None:
        """The member's spendable points that expire first: (expires_at, the sum expiring then);
        None when none expire."""
        return self.conn.execute(_NEXT_EXPIRY, {"shop_id": self.shop_id, "member_id": member_id}).first()

    def activity(self, member_id: int, limit: int) -> list[Row]:
        """The member's newest ledger entries a shopper reads (holds taken and given back are
        left out): (reason, reason_code, reason_params, asset, points, points_pending, credit,
        credit_pending, kind, created_at)."""
        return self.conn.execute(_ACTIVITY, {"shop_id": self.shop_id, "member_id": member_id, "limit": limit}).all()
