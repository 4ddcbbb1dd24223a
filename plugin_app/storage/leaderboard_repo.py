"""The shop's leaderboard: who opted in under which name, and the board itself (ranks by the
points earned in a period; see domain.leaderboard for what counts)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from ..domain.ledger import Asset, Source
from . import tables as t
from .repos import ShopScoped

lm, e = t.leaderboard_members.c, t.ledger_entries.c


class LeaderboardRepo(ShopScoped):
    def entry(self, member_id: int):
        return self._one(select(t.leaderboard_members).where(lm.shop_id == self.shop_id, lm.member_id == member_id))

    def holder_of(self, name_key: str) -> int | None:
        """The member who has this name in the shop, if any."""
        return self.conn.execute(select(lm.member_id).where(
            lm.shop_id == self.shop_id, lm.name_key == name_key)).scalar()

    def put(self, member_id: int, display_name: str, name_key: str, now: datetime) -> None:
        """Opt in, or change the name of a member who is in (the first opt-in time stays)."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(t.leaderboard_members).values(
            shop_id=self.shop_id, member_id=member_id, display_name=display_name, name_key=name_key, opted_in_at=now)
        self.conn.execute(stmt.on_conflict_do_update(index_elements=["shop_id", "member_id"], set_={
            "display_name": stmt.excluded.display_name, "name_key": stmt.excluded.name_key}))

    def remove(self, member_id: int) -> bool:
        return bool(self.conn.execute(delete(t.leaderboard_members).where(
            lm.shop_id == self.shop_id, lm.member_id == member_id)).rowcount)

    def _ranked(self, start: datetime | None, end: datetime | None):
        """Opted-in members with points earned in [start, end), their value and rank."""
        on = [e.shop_id == lm.shop_id, e.member_id == lm.member_id, e.asset == Asset.POINTS.value,
              e.source != Source.IMPORT.value, e.occurred_at.is_(None)]
        if start is not None:
            on.append(e.created_at >= start)
        if end is not None:
            on.append(e.created_at < end)
        value = func.coalesce(func.sum(e.points_lifetime), 0)
        per = (select(lm.member_id, lm.display_name, value.label("value"))
               .select_from(t.leaderboard_members.join(t.ledger_entries, and_(*on)))
               .where(lm.shop_id == self.shop_id)
               .group_by(lm.member_id, lm.display_name).having(value > 0)).subquery()
        return select(per.c.member_id, per.c.display_name, per.c.value,
                      func.rank().over(order_by=per.c.value.desc()).label("rank")).subquery()

    def board(self, start: datetime | None, end: datetime | None, size: int) -> list:
        ranked = self._ranked(start, end)
        return self.conn.execute(select(ranked).order_by(ranked.c.rank, ranked.c.display_name).limit(size)).all()

    def rank_of(self, member_id: int, start: datetime | None, end: datetime | None):
        """(rank, value) of the member, or None when not ranked (not in, or nothing earned)."""
        ranked = self._ranked(start, end)
        return self.conn.execute(select(ranked.c.rank, ranked.c.value).where(ranked.c.member_id == member_id)).first()
