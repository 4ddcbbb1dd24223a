"""Which members' loyalty fields the platform's customer record still lacks, and the marker of
what was last written there. Shop-scoped like every repository (`repos.ShopScoped`)."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import String, cast, func, select, update
from sqlalchemy.engine import Row

from . import tables as t
from .repos import ShopScoped


class CustomerFieldsRepo(ShopScoped):
    def due(self, limit: int) -> list[Row]:
        """Up to `limit` members (not redacted) whose balance, tier or segments changed since
        their fields were last written, by id: (id, platform_customer_id, tier, points, credit,
        marker). The marker (balance version, tier, segments revision) is what `mark_synced`
        records once they are written: a move after it was read leaves the member due."""
        m, b = t.members.c, t.balances.c
        marker = (cast(b.version, String) + ":" + func.coalesce(m.tier, "") + ":"
                  + cast(m.segments_rev, String))
        return self.conn.execute(select(m.id, m.platform_customer_id, m.tier, b.points, b.credit, marker.label("marker"))
                                 .join(t.balances, b.member_id == m.id)
                                 .where(m.shop_id == self.shop_id, ~m.platform_customer_id.startswith("redacted-"),
                                        func.coalesce(m.fields_synced, "") != marker)
                                 .order_by(m.id).limit(limit)).all()

    def segment_names(self) -> list[tuple[int, str]]:
        """(id, name) of the shop's segments."""
        sg = t.segments.c
        return [(r.id, r.name) for r in self.conn.execute(select(sg.id, sg.name).where(sg.shop_id == self.shop_id))]

    def segments_of(self, member_ids: list[int]) -> dict[int, list[int]]:
        """{member id: the ids of the segments they are in now} for these members."""
        sm = t.segment_members.c
        out: dict[int, list[int]] = {}
        for r in self.conn.execute(select(sm.member_id, sm.segment_id).where(
                sm.shop_id == self.shop_id, sm.member_id.in_(member_ids)).order_by(sm.member_id, sm.segment_id)):
            out.setdefault(r.member_id, []).append(r.segment_id)
        return out

    def mark_synced(self, rows: Iterable[Row]) -> None:
        """The fields of these rows (as `due` returned them) are on the platform now."""
        m = t.members.c
        for r in rows:
            self.conn.execute(update(t.members).where(m.shop_id == self.shop_id, m.id == r.id)
                              .values(fields_synced=r.marker))
