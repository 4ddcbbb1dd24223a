"""Targeting (issue 20): which of the shop's segments a member is in now (the materialised
`segment_members`), the segments' names, and which segment ids the shop has."""
from __future__ import annotations

from sqlalchemy import select

from . import tables as t
from .repos import ShopScoped

sm, s = t.segment_members.c, t.segments.c


class TargetingRepo(ShopScoped):
    def member_segments(self, member_id: int | None) -> frozenset[int]:
        if member_id is None:
            return frozenset()
        return frozenset(self.conn.execute(select(sm.segment_id).where(
            sm.shop_id == self.shop_id, sm.member_id == member_id)).scalars())

    def names(self, ids=None) -> dict[int, str]:
        """The shop's segments' names by id (only `ids` when given); another shop's ids find nothing."""
        q = select(s.id, s.name).where(s.shop_id == self.shop_id)
        if ids is not None:
            ids = [i for i in ids if isinstance(i, int)]
            if not ids:
                return {}
            q = q.where(s.id.in_(ids))
        return {row.id: row.name for row in self.conn.execute(q)}
