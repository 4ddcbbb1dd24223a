"""What member exports read beyond the members and ledger repositories: one member's orders (the
privacy export), and, for the shop-wide CSV exports, referral codes and the ledger walked by id
in chunks with what each entry's row needs (its member, the entry it reverses, its lot).
Shop-scoped like every repository (see `storage.repos`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Row

from . import tables as t
from .repos import ShopScoped


class MemberExportRepo(ShopScoped):
    def orders(self, member_id: int) -> list[Row]:
        """The member's orders, in the order they were first recorded."""
        o = t.orders.c
        return list(self.conn.execute(select(t.orders).where(o.shop_id == self.shop_id, o.member_id == member_id)
                                      .order_by(o.id)))

    def engagement(self, member_id: int) -> dict:
        """What the engagement features hold on the member (issue 20), for their data export:
        their leaderboard entry (the display name they chose), survey answers, badges earned,
        challenges joined or settled, segments they are in and their order profile."""
        lm, sa, ba, cm = (t.leaderboard_members.c, t.survey_answers.c, t.badge_awards.c, t.challenge_members.c)
        sm, sg, p = t.segment_members.c, t.segments.c, t.member_profiles.c
        when = lambda v: v.isoformat() if v is not None else None  # noqa: E731
        plain = lambda v: str(v) if v is not None else None  # noqa: E731
        board = self.conn.execute(select(lm.display_name, lm.opted_in_at).where(
            lm.shop_id == self.shop_id, lm.member_id == member_id)).first()
        profile = self.conn.execute(select(t.member_profiles).where(
            p.shop_id == self.shop_id, p.member_id == member_id)).first()
        return {
            "leaderboard": {"display_name": board.display_name, "opted_in_at": when(board.opted_in_at)} if board else None,
            "survey_answers": [{"survey_id": r.survey_id, "answers": r.answers, "points": int(r.points),
                                "answered_at": when(r.answered_at)} for r in self.conn.execute(
                select(sa.survey_id, sa.answers, sa.points, sa.answered_at).where(
                    sa.shop_id == self.shop_id, sa.member_id == member_id).order_by(sa.id))],
            "badges": [{"badge_id": r.badge_id, "times": r.seq, "points": int(r.points), "earned_at": when(r.earned_at)}
                       for r in self.conn.execute(select(ba.badge_id, ba.seq, ba.points, ba.earned_at).where(
                           ba.shop_id == self.shop_id, ba.member_id == member_id).order_by(ba.id))],
            "challenges": [{"challenge_id": r.challenge_id, "opted_in_at": when(r.opted_in_at), "outcome": r.outcome,
                            "progress": plain(r.progress), "points": int(r.points), "settled_at": when(r.settled_at)}
                           for r in self.conn.execute(select(cm.challenge_id, cm.opted_in_at, cm.outcome, cm.progress,
                                                             cm.points, cm.settled_at).where(
                               cm.shop_id == self.shop_id, cm.member_id == member_id).order_by(cm.id))],
            "segments": [{"segment_id": r.id, "segment": r.name, "since": when(r.since)}
                         for r in self.conn.execute(select(sg.id, sg.name, sm.since).join(
                             t.segment_members, sm.segment_id == sg.id).where(
                             sg.shop_id == self.shop_id, sm.shop_id == self.shop_id, sm.member_id == member_id)
                             .order_by(sg.id))],
            "profile": None if profile is None else {
                "orders_count": profile.orders_count, "lifetime_value": plain(profile.lifetime_value),
                "first_order_at": when(profile.first_order_at), "last_order_at": when(profile.last_order_at),
                "average_days_between_orders": plain(profile.average_days_between), "lifecycle": profile.lifecycle,
                "lifecycle_since": when(profile.lifecycle_since)},
        }

    def referral_codes(self, first_id: int, last_id: int) -> dict[int, str]:
        """member id -> referral code, for the members from `first_id` to `last_id` that already
        have one (none is drawn here: an export only reads). A range of the primary key, so a
        chunk of the export costs one short index scan (not a list of a thousand ids)."""
        rc = t.referral_codes.c
        return dict(self.conn.execute(select(rc.member_id, rc.code).where(
            rc.shop_id == self.shop_id, rc.member_id >= first_id, rc.member_id <= last_id)).all())

    def entries_chunk(self, after_id: int, limit: int, *, since: datetime | None = None,
                      tier: str | None = None, entry_tier: str | None = None) -> list[Row]:
        """Ledger entries with an id above `after_id`, by id: the entry, its member's e-mail and
        customer id, and the kind, source and reference of the entry it reverses. `since`: made
        at or after; `tier`: of members in that tier (`entry_tier` also matches members with
        none stored yet)."""
        e, m = t.ledger_entries.c, t.members.c
        rev = t.ledger_entries.alias("reversed")
        conds = [e.shop_id == self.shop_id, e.id > after_id, m.shop_id == self.shop_id]
        if since is not None:
            conds.append(e.created_at >= since)
        if tier is not None:
            conds.append(or_(m.tier == tier, m.tier.is_(None)) if tier == entry_tier else m.tier == tier)
        stmt = (select(e.id, e.member_id, e.asset, e.kind, e.source, e.reason, e.external_ref,
                       e.points, e.points_pending, e.points_held, e.credit, e.credit_pending, e.credit_held,
                       e.created_at, m.email, m.platform_customer_id,
                       rev.c.kind.label("reversed_kind"), rev.c.source.label("reversed_source"),
                       rev.c.external_ref.label("reversed_ref"))
                .select_from(t.ledger_entries.join(t.members, m.id == e.member_id)
                             .outerjoin(rev, and_(rev.c.id == e.reverses_entry_id, rev.c.shop_id == self.shop_id)))
                .where(*conds).order_by(e.id).limit(limit))
        return self.conn.execute(stmt).all()

    def lots_of_entries(self, member_ids: list[int], entry_ids: list[int]) -> dict[int, Row]:
        """entry id -> (expires_at, pending) of the lot the entry created, for those that made one
        (found through the members' lots index, not a scan of the shop's lots)."""
        lo = t.lots.c
        if not entry_ids:
            return {}
        rows = self.conn.execute(select(lo.entry_id, lo.expires_at, lo.pending).where(
            lo.shop_id == self.shop_id, lo.member_id.in_(sorted(set(member_ids))),
            lo.entry_id >= min(entry_ids), lo.entry_id <= max(entry_ids)))
        return {r.entry_id: r for r in rows}
