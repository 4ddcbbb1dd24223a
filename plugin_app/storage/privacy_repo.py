"""What the platforms' privacy webhooks change: the log of privacy requests answered, a
customer's pseudonymisation, the scrubbing of what still names them, and a shop's erasure.
Shop-scoped like every repository (`repos.ShopScoped`): every statement carries the shop's id
(the log, `privacy_requests`, outlives the shop's erasure: it has no foreign key)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row

from . import tables as t
from .repos import ShopScoped

pr = t.privacy_requests.c

# What a shop's erasure deletes, in this order (children before parents); the tables left out
# go with the shop row through their foreign keys (ON DELETE CASCADE).
_ERASED = (t.store_credit_checks, t.store_credit_mirror, t.lot_draws, t.holds, t.lots, t.events, t.orders, t.programs, t.inbox, t.ledger_entries, t.balances,
           t.members)


class PrivacyRepo(ShopScoped):
    # -- the log -----------------------------------------------------------------------------
    def record(self, kind: str, customer_id: str | None, request: dict, result: dict, now: datetime) -> None:
        """Log a privacy request and what was done ("?" for the domain of a shop already gone)."""
        domain = self.conn.execute(select(t.shops.c.domain).where(t.shops.c.id == self.shop_id)).scalar() or "?"
        self.conn.execute(insert(t.privacy_requests).values(
            shop_id=self.shop_id, shop_domain=domain, kind=kind, customer_id=customer_id, request=request,
            result=result, created_at=now))

    def data_requests(self, customer_id: str) -> list[Row]:
        """(id, request) of the data requests answered for this customer (their exports)."""
        return self.conn.execute(select(pr.id, pr.request).where(
            pr.shop_id == self.shop_id, pr.kind == "data_request", pr.customer_id == customer_id)).all()

    def rewrite_request(self, request_id: int, *, customer_id: str, request: dict, result: dict) -> None:
        self.conn.execute(update(t.privacy_requests).where(pr.shop_id == self.shop_id, pr.id == request_id)
                          .values(customer_id=customer_id, request=request, result=result))

    # -- a customer's redaction ------------------------------------------------------------------
    def pseudonymise(self, customer_id: str, alias: str, now: datetime) -> int:
        """The member known as `customer_id` becomes `alias`, without e-mail, name, birthday or
        customer tags (their ledger stays); how many members changed (0 or 1)."""
        m = t.members.c
        # the platform's tags for them may say something of them too (the platform redacts its own)
        self.conn.execute(delete(t.member_tags).where(t.member_tags.c.shop_id == self.shop_id, t.member_tags.c.member_id.in_(
            select(m.id).where(m.shop_id == self.shop_id, m.platform_customer_id == customer_id))))
        return self.conn.execute(update(t.members).where(
            m.shop_id == self.shop_id, m.platform_customer_id == customer_id,
        ).values(platform_customer_id=alias, email=None, name=None, birthday=None, updated_at=now)).rowcount

    def rename_code_user(self, customer_id: str, alias: str) -> None:
        """Redemptions record who used a code (another customer's): they now say `alias`."""
        r = t.redemptions.c
        self.conn.execute(update(t.redemptions).where(r.shop_id == self.shop_id, r.used_by == customer_id)
                          .values(used_by=alias))

    def forget_engagement(self, member_id: int) -> dict:
        """What engagement features derived from a redacted member goes: their segment
        memberships (the segments' counts follow; no move is told of someone who is no longer
        anyone), their order profile and lifecycle, and challenges they joined that are not
        settled. Badges earned and settled challenges stay, keyed to the alias like the ledger
        entries that paid them: they are what makes sure nothing is awarded twice."""
        sm, sg, p, cm = t.segment_members.c, t.segments.c, t.member_profiles.c, t.challenge_members.c
        segs = self.conn.execute(delete(t.segment_members).where(
            sm.shop_id == self.shop_id, sm.member_id == member_id).returning(sm.segment_id)).scalars().all()
        for sid in segs:
            self.conn.execute(update(t.segments).where(sg.shop_id == self.shop_id, sg.id == sid)
                              .values(members_count=sg.members_count - 1))
        profiles = self.conn.execute(delete(t.member_profiles).where(
            p.shop_id == self.shop_id, p.member_id == member_id)).rowcount
        joined = self.conn.execute(delete(t.challenge_members).where(
            cm.shop_id == self.shop_id, cm.member_id == member_id, cm.settled_at.is_(None))).rowcount
        return {"segments": len(segs), "profiles": profiles, "challenges_joined": joined}

    def processed_deliveries(self) -> list[Row]:
        """(id, payload) of the shop's stored webhook deliveries already taken up (those still
        `received` have yet to be processed, and keep their body)."""
        i = t.inbox.c
        return self.conn.execute(select(i.id, i.payload).where(i.shop_id == self.shop_id, i.state != "received")).all()

    def scrub_delivery(self, delivery_id: int) -> None:
        """Keep the delivery's row, drop its body and headers."""
        i = t.inbox.c
        self.conn.execute(update(t.inbox).where(i.shop_id == self.shop_id, i.id == delivery_id)
                          .values(payload=b"{}", headers={}))

    # -- a shop's erasure ------------------------------------------------------------------------
    def member_count(self) -> int:
        m = t.members.c
        return self.conn.execute(select(func.count()).select_from(t.members).where(m.shop_id == self.shop_id)).scalar_one()

    def erase_shop(self) -> None:
        """Delete everything the shop holds, then the shop itself (the privacy log stays)."""
        for table in _ERASED:
            self.conn.execute(delete(table).where(table.c.shop_id == self.shop_id))
        self.conn.execute(delete(t.shops).where(t.shops.c.id == self.shop_id))
