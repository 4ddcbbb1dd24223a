"""Referrals: a stable code per member, landings remembered for the program's days, one referrer
per friend (the first valid attribution wins), the friend's welcome code, fraud rules judged on
the friend's first qualifying order, the referrer rewarded after the pending period (a refund
or cancellation before then revokes it), optional extra cashback, and the merchant's review."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Callable

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..domain import referrals as R
from ..domain.errors import InvalidRequest, InvalidState, NotFound
from ..domain.ledger import Asset, Source
from ..domain.money import money_text, plain
from ..domain.ports import Clock, SystemClock
from ..domain.tiers import add_months
from ..storage import tables as t
from ..storage.db import Database
from ..storage.repos import insert_ignore, insert_returning
from ..domain.expiry import expires_at
from ..domain.member_events import ReferralJudged, ReferralLinkShared, ReferralRewarded
from .ledger import Ledger
from .members import Members
from .program import Programs
from .shops import Shops
from .tiers import refunded_share

KINDS = ("emails", "phones", "addresses", "payments", "ips", "devices")
KEEP = 20  # fingerprints kept per kind and member
REASONS = {"signed_up": "waiting for a first order", "pending": "ordered: rewarded when the return window ends",
           "review": "being checked by the shop", "rewarded": "rewarded"}


class ReferralService:
    def __init__(self, db: Database, ledger: Ledger, members: Members, programs: Programs, shops: Shops,
                 platform_for: Callable[[int], object], clock: Clock | None = None) -> None:
        self.db, self.ledger, self.members, self.programs = db, ledger, members, programs
        self.shops, self.platform_for, self.clock = shops, platform_for, clock or SystemClock()

    # -- fingerprints (hashed, salted per shop) ---------------------------------------------
    def _fp(self, shop_id: int, kind: str, value: str | None) -> str | None:
        return R.fingerprint(kind, value, self.shops.widget_secret(shop_id))

    def facts_from(self, shop_id: int, raw: dict) -> dict[str, set[str]]:
        """Raw order or session facts → fingerprints, normalised first (aliases, case, spaces)."""
        out = {k: set() for k in KINDS}
        for kind, value in (("emails", R.norm_email(raw.get("email"))), ("phones", R.norm_phone(raw.get("phone"))),
                            ("addresses", R.norm_address(raw.get("shipping_address"))),
                            ("addresses", R.norm_address(raw.get("billing_address"))),
                            ("payments", raw.get("payment")), ("ips", raw.get("ip")),
                            ("devices", raw.get("device"))):
            fp = self._fp(shop_id, kind, value)
            if fp:
                out[kind].add(fp)
        return out

    def remember(self, conn: Connection, shop_id: int, member_id: int, facts: dict[str, set[str]]) -> None:
        row = conn.execute(select(t.members.c.fingerprints).where(t.members.c.id == member_id)).scalar() or {}
        merged = {k: list(dict.fromkeys([*facts.get(k, ()), *row.get(k, [])]))[:KEEP] for k in KINDS}
        if merged != row:
            conn.execute(update(t.members).where(t.members.c.shop_id == shop_id, t.members.c.id == member_id)
                         .values(fingerprints=merged))

    def _facts(self, conn: Connection, member_id: int, customer_id: str, salt: str) -> R.Facts:
        """A member's fingerprints: those their orders and sessions left, and their own e-mail
        from the member record (so an account that never ordered is still recognised)."""
        row = conn.execute(select(t.members.c.fingerprints, t.members.c.email).where(t.members.c.id == member_id)).one()
        known = {k: frozenset((row.fingerprints or {}).get(k, [])) for k in KINDS}
        own = R.fingerprint("emails", R.norm_email(row.email), salt)
        known["emails"] |= {own} - {None}
        return R.Facts(customer_id, **known)

    # -- codes, sharing, landing, claiming ----------------------------------------------------
    def code_for(self, shop_id: int, member_id: int) -> str:
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            code = conn.execute(select(t.referral_codes.c.code).where(t.referral_codes.c.member_id == member_id)).scalar()
        while code is None:
            try:
                with self.db.uow(shop_id) as uow:
                    conn = uow.conn
                    fresh = R.new_code()
                    insert_ignore(conn, t.referral_codes, dict(member_id=member_id, shop_id=shop_id, code=fresh,
                                                               created_at=self.clock.now()), ["member_id"])
                    code = conn.execute(select(t.referral_codes.c.code).where(
                        t.referral_codes.c.member_id == member_id)).scalar()
            except IntegrityError:  # another member has that code: draw again
                code = None
        return code

    def assign_codes(self, shop_id: int, member_ids: list[int], batch: int = 5000) -> int:
        """Give codes to many members at once (imports, backfills). A drawn code that another
        member of the shop already has is simply drawn again: the unique constraint decides."""
        pending, assigned = list(dict.fromkeys(member_ids)), 0
        while pending:
            chunk, pending = pending[:batch], pending[batch:]
            with self.db.uow(shop_id) as uow:
                conn = uow.conn
                dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
                now = self.clock.now()
                rows = [dict(member_id=m, shop_id=shop_id, code=R.new_code(), created_at=now) for m in chunk]
                stmt = dialect.insert(t.referral_codes).values(rows).on_conflict_do_nothing()
                done = set(conn.execute(stmt.returning(t.referral_codes.c.member_id)).scalars())
                assigned += len(done)
                missed = [m for m in chunk if m not in done]
                have = set(conn.execute(select(t.referral_codes.c.member_id).where(
                    t.referral_codes.c.member_id.in_(missed))).scalars()) if missed else set()
            pending = [m for m in missed if m not in have] + pending  # their code collided: draw again
        return assigned

    def me(self, shop_id: int, shop_domain: str, customer_id: str) -> dict:
        program = self.programs.for_reading(shop_id).program
        member, _ = self.members.enrol(shop_id, customer_id)
        code = self.code_for(shop_id, member.id)
        base = shop_domain if "://" in shop_domain else f"https://{shop_domain}"
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            rows = conn.execute(select(t.referrals, t.members.c.email).join(
                t.members, t.members.c.id == t.referrals.c.friend_member_id).where(
                t.referrals.c.shop_id == shop_id, t.referrals.c.referrer_member_id == member.id)
                .order_by(t.referrals.c.id.desc()).limit(100)).all()
        return {"enabled": program.referrals.enabled, "code": R.display(code), "link": f"{base}/?ref={code}",
                "remember_days": program.referrals.remember_days,
                "referrals": [{"id": r.id, "friend": _mask(r.email), "status": _public_status(r.status),
                               "reason": r.reason if r.status == "rejected" else REASONS.get(r.status, r.status),
                               "since": r.created_at.isoformat()} for r in rows]}

    def share(self, shop_id: int, customer_id: str, channel: str) -> None:
        member, _ = self.members.enrol(shop_id, customer_id)
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            uow.collect(ReferralLinkShared(shop_id=shop_id, member_id=member.id, at=now, channel=channel))

    def _referrer(self, conn: Connection, shop_id: int, code: str | None):
        clean = R.clean_code(code or "")
        if clean is None:
            return None
        return conn.execute(select(t.referral_codes.c.member_id).where(
            t.referral_codes.c.shop_id == shop_id, t.referral_codes.c.code == clean)).scalar()

    def land(self, shop_id: int, code: str, visitor_id: str, *, ip: str | None, device: str | None) -> dict:
        program = self.programs.for_reading(shop_id).program
        if not program.referrals.enabled:
            raise InvalidRequest("referrals are off in this shop")
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            referrer = self._referrer(conn, shop_id, code)
            if referrer is None:
                raise NotFound("no such referral code")
            landing_id = conn.execute(insert(t.referral_landings).values(
                shop_id=shop_id, referrer_member_id=referrer, visitor_id=visitor_id[:64],
                ip_fp=self._fp(shop_id, "ips", ip), device_fp=self._fp(shop_id, "devices", device), landed_at=now,
                expires_at=now + timedelta(days=program.referrals.remember_days)).returning(t.referral_landings.c.id)).scalar_one()
        friend_code = None
        if program.referrals.friend.issue_on == "landing":
            friend_code = self._friend_code(shop_id, None, program)
            with self.db.uow(shop_id) as uow:
                conn = uow.conn
                conn.execute(update(t.referral_landings).where(t.referral_landings.c.id == landing_id)
                             .values(friend_code=friend_code[0]))
        return {"landing_id": landing_id, "remember_days": program.referrals.remember_days,
                "offer": _offer(program, shop_id), "friend_code": friend_code[0] if friend_code else None}

    def _friend_code(self, shop_id: int, customer_id: str | None, program) -> tuple[str, str]:
        reward = program.referrals.friend
        code = "WELCOME-" + secrets.token_hex(4).upper()
        ends = (self.clock.now() + timedelta(days=reward.code_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        discount_id = self.platform_for(shop_id).create_discount_code(
            code=code, title="Welcome from a friend", customer_id=customer_id, ends_at=ends,
            amount=reward.amount if reward.type == "fixed_amount" else None,
            percent=reward.percent if reward.type == "percentage" else None,
            free_shipping=reward.type == "free_shipping")
        return code, discount_id

    def claim(self, shop_id: int, customer_id: str, *, code: str | None = None, visitor_id: str | None = None,
              ip: str | None = None, device: str | None = None) -> dict:
        """The friend signs up (or types a code at the cart): attribute them, once, and give
        them their welcome code. The first valid attribution wins."""
        program = self.programs.for_reading(shop_id).program
        if not program.referrals.enabled:
            raise InvalidRequest("referrals are off in this shop")
        friend, _ = self.members.enrol(shop_id, customer_id)
        now = self.clock.now()
        facts = self.facts_from(shop_id, {"ip": ip, "device": device})
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            self.remember(conn, shop_id, friend.id, facts)
            existing = conn.execute(select(t.referrals).where(t.referrals.c.shop_id == shop_id,
                                                              t.referrals.c.friend_member_id == friend.id)).first()
            if existing is not None:
                return {"referral_id": existing.id, "status": _public_status(existing.status),
                        "friend_code": existing.friend_code}
            landing = None
            if visitor_id:
                landing = conn.execute(select(t.referral_landings).where(
                    t.referral_landings.c.shop_id == shop_id, t.referral_landings.c.visitor_id == visitor_id,
                    t.referral_landings.c.expires_at > now).order_by(t.referral_landings.c.id)).first()
            referrer = landing.referrer_member_id if landing else self._referrer(conn, shop_id, code)
            if referrer is None:
                raise NotFound("no referral to claim: the code is unknown or the landing expired")
        friend_code, discount_id = (landing.friend_code, None) if landing is not None and landing.friend_code else \
            self._friend_code(shop_id, customer_id, program)
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            row_id = insert_returning(conn, t.referrals, dict(
                shop_id=shop_id, referrer_member_id=referrer, friend_member_id=friend.id,
                landing_id=landing.id if landing else None, friend_code=friend_code, friend_discount_id=discount_id,
                status="signed_up", created_at=now, updated_at=now), ["shop_id", "friend_member_id"])
            if row_id is None:  # someone else attributed this friend a moment ago: theirs stands
                row = conn.execute(select(t.referrals).where(t.referrals.c.shop_id == shop_id,
                                                             t.referrals.c.friend_member_id == friend.id)).one()
                return {"referral_id": row.id, "status": _public_status(row.status), "friend_code": row.friend_code}
        return {"referral_id": row_id, "status": "invited", "friend_code": friend_code}

    # -- the friend's orders -------------------------------------------------------------------
    def on_order(self, shop_id: int, order_id: str, customer_id: str | None, codes: tuple[str, ...],
                 raw_facts: dict, *, paid: bool) -> list[str]:
        """Every order: remember its customer's fingerprints; a friend's first qualifying paid
        order is judged; later ones may pay the referrer extra cashback."""
        if not customer_id:
            return []
        pv = self.programs.current(shop_id)
        program = pv.program
        member, _ = self.members.enrol(shop_id, customer_id)
        notes: list[str] = []
        now = self.clock.now()
        facts = self.facts_from(shop_id, raw_facts)  # before the transaction: it may read the shop's secret
        salt = self.shops.widget_secret(shop_id)
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            self.remember(conn, shop_id, member.id, facts)
            row = conn.execute(select(t.referrals).where(t.referrals.c.shop_id == shop_id,
                                                         t.referrals.c.friend_member_id == member.id).with_for_update()).first()
            if row is None and codes:  # the friend's welcome code on an order nobody claimed
                row = conn.execute(select(t.referrals).where(t.referrals.c.shop_id == shop_id,
                                                             t.referrals.c.friend_code.in_(codes))).first()
                if row is not None and row.friend_member_id != member.id:
                    row = None  # someone else's welcome code: not this customer's referral
            if row is None or not paid or not program.referrals.enabled:
                return notes
            base = Decimal(conn.execute(select(t.orders.c.base).where(
                t.orders.c.shop_id == shop_id, t.orders.c.platform_order_id == order_id)).scalar() or 0)
            if row.status == "signed_up":
                if base < program.referrals.minimum_order:
                    return [f"referral {row.id}: order below the "
                            f"{money_text(program.referrals.minimum_order, _currency(conn, shop_id))} minimum"]
                prior = conn.execute(select(func.count()).select_from(t.orders).where(
                    t.orders.c.shop_id == shop_id, t.orders.c.member_id == member.id, t.orders.c.earned.is_(True),
                    t.orders.c.platform_order_id != order_id)).scalar()
                referrer_cid = conn.execute(select(t.members.c.platform_customer_id).where(
                    t.members.c.id == row.referrer_member_id)).scalar()
                friend_facts = self._facts(conn, member.id, customer_id, salt)
                landing = conn.execute(select(t.referral_landings).where(t.referral_landings.c.id == row.landing_id)).first() \
                    if row.landing_id else None
                if landing is not None:  # the landing's IP and device belong to the friend's side
                    friend_facts = R.Facts(friend_facts.customer_id, friend_facts.emails, friend_facts.phones,
                                           friend_facts.addresses, friend_facts.payments,
                                           friend_facts.ips | {landing.ip_fp} - {None},
                                           friend_facts.devices | {landing.device_fp} - {None})
                ctx = R.Context(prior_orders=int(prior or 0),
                                referrals_from_ip_7d=self._from_ip(conn, shop_id, landing, now),
                                referrer_referrals_today=self._today(conn, shop_id, row.referrer_member_id, now))
                verdict = R.judge(program.referrals.fraud, self._facts(conn, row.referrer_member_id, referrer_cid, salt),
                                  friend_facts, ctx, max_per_ip_7d=program.referrals.max_per_ip_7d,
                                  max_per_day=program.referrals.max_per_day)
                status = {"block": "rejected", "hold": "review", "ok": "pending"}[verdict.outcome]
                conn.execute(update(t.referrals).where(t.referrals.c.id == row.id).values(
                    status=status, order_id=order_id, order_base=base, updated_at=now,
                    reason=verdict.reason if verdict.outcome != "ok" else None,
                    verdict={"outcome": verdict.outcome, "findings": [f.__dict__ for f in verdict.findings],
                             "program_version": pv.version},
                    reward_due_at=now + timedelta(days=program.referrals.pending_days)))
                uow.collect(ReferralJudged(shop_id=shop_id, member_id=row.referrer_member_id, at=now,
                                           referral_id=row.id, outcome=verdict.outcome, reason=verdict.reason))
                notes.append(f"referral {row.id}: {status} ({verdict.reason})")
                row = conn.execute(select(t.referrals).where(t.referrals.c.id == row.id)).one()
            notes += self._extra_cashback(conn, shop_id, row, order_id, base, program, now)
        return notes

    def _from_ip(self, conn: Connection, shop_id: int, landing, now: datetime) -> int:
        """Referrals (this one included) that came through landings from this IP in 7 days."""
        if landing is None or landing.ip_fp is None:
            return 0
        return conn.execute(select(func.count()).select_from(t.referrals).join(
            t.referral_landings, t.referral_landings.c.id == t.referrals.c.landing_id).where(
            t.referrals.c.shop_id == shop_id, t.referral_landings.c.ip_fp == landing.ip_fp,
            t.referral_landings.c.landed_at >= now - timedelta(days=7))).scalar()

    def _today(self, conn: Connection, shop_id: int, referrer: int, now: datetime) -> int:
        """The referrer's referrals (this one included) started in the last 24 hours."""
        return conn.execute(select(func.count()).select_from(t.referrals).where(
            t.referrals.c.shop_id == shop_id, t.referrals.c.referrer_member_id == referrer,
            t.referrals.c.created_at >= now - timedelta(days=1))).scalar()

    def _extra_cashback(self, conn, shop_id, row, order_id, base, program, now) -> list[str]:
        cb = program.referrals.cashback
        if cb.rate <= 0 or row.status not in ("pending", "rewarded"):
            return []
        if cb.orders is not None and row.cashback_orders >= cb.orders:
            return []
        if cb.months is not None and now > add_months(row.created_at, cb.months):
            return []
        amount = (base * cb.rate / 100).quantize(Decimal("0.01"))
        if amount <= 0:
            return []
        posted = self.ledger.earn(shop_id, row.referrer_member_id, Asset.CREDIT, amount,
                                  key=f"referral:{row.id}:cashback:{order_id}", source=Source.REFERRAL,
                                  reason=f"{plain(cb.rate)}% of a friend's order ({money_text(base, _currency(conn, shop_id))})", external_ref=f"order:{order_id}",
                                  pending_until=now + timedelta(days=program.referrals.pending_days),
                                  expires_at=expires_at(program, Asset.CREDIT, now))
        if not posted.replayed:
            conn.execute(update(t.referrals).where(t.referrals.c.id == row.id).values(
                cashback_orders=t.referrals.c.cashback_orders + 1))
        return [f"referral {row.id}: {money_text(amount, _currency(conn, shop_id))} cashback for the referrer"]

    # -- after the pending period -------------------------------------------------------------
    def reward_due(self) -> int:
        now = self.clock.now()
        with self.db.uow() as uow:
            conn = uow.conn
            rows = conn.execute(select(t.referrals).where(t.referrals.c.status == "pending",
                                                          t.referrals.c.reward_due_at <= now)).all()
        return sum(self._settle(r) for r in rows)

    def _settle(self, r) -> int:
        program = self.programs.current(r.shop_id).program
        now = self.clock.now()
        with self.db.uow() as uow:
            conn = uow.conn
            order = conn.execute(select(t.orders).where(t.orders.c.shop_id == r.shop_id,
                                                        t.orders.c.platform_order_id == r.order_id)).first()
            kept = Fraction(1)
            if order is not None and order.cancelled:
                kept = Fraction(0)
            elif order is not None:
                kept = 1 - refunded_share(order.shares, (order.refunds or {}).get("fractions", {}))
            reversed_ = kept == 0 or Decimal(r.order_base or 0) * Decimal(kept.numerator) / Decimal(kept.denominator) \
                < program.referrals.minimum_order
            verdict = R.judge(program.referrals.fraud, R.Facts(), R.Facts(), R.Context(order_reversed=reversed_))
            if verdict.outcome != "ok":
                conn.execute(update(t.referrals).where(t.referrals.c.id == r.id, t.referrals.c.status == "pending")
                             .values(status="rejected" if verdict.outcome == "block" else "review",
                                     reason=verdict.reason, updated_at=now))
                return 0
        reward = self._pay(r, program)
        with self.db.uow(r.shop_id) as uow:
            uow.conn.execute(update(t.referrals).where(t.referrals.c.id == r.id).values(
                status="rewarded", reward=reward, updated_at=now))
            uow.collect(ReferralRewarded(shop_id=r.shop_id, member_id=r.referrer_member_id, at=now,
                                         referral_id=r.id, reward=reward))
        return 1

    def _credit_text(self, shop_id: int, amount) -> str:
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            return money_text(amount, _currency(conn, shop_id))

    def _pay(self, r, program) -> dict:
        give = program.referrals.referrer
        key = f"referral:{r.id}:reward"
        reason = "your friend's first order"
        if give.kind == "points":
            self.ledger.earn(r.shop_id, r.referrer_member_id, Asset.POINTS, give.points, key=key,
                             source=Source.REFERRAL, reason=f"{give.points} points: {reason}",
                             expires_at=expires_at(program, Asset.POINTS, self.clock.now()))
            return {"kind": "points", "points": give.points}
        if give.kind == "credit":
            self.ledger.earn(r.shop_id, r.referrer_member_id, Asset.CREDIT, give.amount, key=key,
                             source=Source.REFERRAL, reason=f"{self._credit_text(r.shop_id, give.amount)} store credit: {reason}",
                             expires_at=expires_at(program, Asset.CREDIT, self.clock.now()))
            return {"kind": "credit", "amount": str(give.amount)}
        with self.db.uow() as uow:
            conn = uow.conn
            referrer = conn.execute(select(t.members.c.platform_customer_id).where(
                t.members.c.id == r.referrer_member_id)).scalar()
        code = "THANKS-" + hashlib.sha256(key.encode()).hexdigest()[:8].upper()  # one per referral, stable
        ends = (self.clock.now() + timedelta(days=give.code_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.platform_for(r.shop_id).create_discount_code(code=code, title="Thanks for the referral",
                                                          customer_id=referrer, ends_at=ends, amount=give.amount)
        return {"kind": "code", "code": code, "amount": str(give.amount)}

    # -- the merchant ------------------------------------------------------------------------
    def decide(self, shop_id: int, referral_id: int, *, approve: bool, actor: str) -> dict:
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            row = conn.execute(select(t.referrals).where(t.referrals.c.shop_id == shop_id,
                                                         t.referrals.c.id == referral_id).with_for_update()).first()
            if row is None:
                raise NotFound("no such referral")
            if row.status != "review":
                raise InvalidState(f"the referral is {row.status}, not waiting for review")
            conn.execute(update(t.referrals).where(t.referrals.c.id == row.id).values(
                status="pending" if approve else "rejected", decided_by=actor[:255], updated_at=now,
                reason=row.reason if approve else f"rejected by the shop: {row.reason}"))
        if approve:
            self.reward_due()
        return self.get(shop_id, referral_id)

    def get(self, shop_id: int, referral_id: int) -> dict:
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            r = conn.execute(select(t.referrals).where(t.referrals.c.shop_id == shop_id,
                                                       t.referrals.c.id == referral_id)).first()
        if r is None:
            raise NotFound("no such referral")
        return {"id": r.id, "status": r.status, "reason": r.reason, "verdict": r.verdict, "order_id": r.order_id,
                "reward": r.reward, "decided_by": r.decided_by, "referrer_member_id": r.referrer_member_id,
                "friend_member_id": r.friend_member_id, "created_at": r.created_at.isoformat()}

    def list(self, shop_id: int, status: str | None = None, limit: int = 100) -> list[dict]:
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            stmt = select(t.referrals.c.id).where(t.referrals.c.shop_id == shop_id)
            if status:
                stmt = stmt.where(t.referrals.c.status == status)
            ids = conn.execute(stmt.order_by(t.referrals.c.id.desc()).limit(limit)).scalars().all()
        return [self.get(shop_id, i) for i in ids]

    def for_member(self, shop_id: int, member_id: int) -> dict:
        """The member's code (if one was made), the friends they referred, and who referred them."""
        r = t.referrals.c
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            code = conn.execute(select(t.referral_codes.c.code).where(
                t.referral_codes.c.shop_id == shop_id, t.referral_codes.c.member_id == member_id)).scalar()
            made = conn.execute(select(r.id).where(r.shop_id == shop_id, r.referrer_member_id == member_id)
                                .order_by(r.id.desc()).limit(100)).scalars().all()
            by = conn.execute(select(r.id).where(r.shop_id == shop_id, r.friend_member_id == member_id)).scalar()
        return {"code": code, "referred": [self.get(shop_id, i) for i in made],
                "referred_by": self.get(shop_id, by) if by else None}

    def funnel(self, shop_id: int, referral_credit=None) -> dict:
        """All-time counts. `referral_credit` (cashback paid to referrers) comes from the
        analytics rollups when the dashboard asks; else it is summed from the ledger."""
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            count = lambda stmt: int(conn.execute(stmt).scalar() or 0)  # noqa: E731
            r = t.referrals.c
            statuses = dict(conn.execute(select(r.status, func.count()).where(r.shop_id == shop_id).group_by(r.status)).all())
            rewards = conn.execute(select(r.reward).where(r.shop_id == shop_id, r.status == "rewarded")).scalars().all()
            cashback = referral_credit if referral_credit is not None else conn.execute(
                select(func.coalesce(func.sum(t.ledger_entries.c.credit + t.ledger_entries.c.credit_pending), 0))
                .where(t.ledger_entries.c.shop_id == shop_id, t.ledger_entries.c.source == Source.REFERRAL.value,
                       t.ledger_entries.c.asset == "credit")).scalar()
            out = {
                "links_shared": count(select(func.count()).select_from(t.events).where(
                    t.events.c.shop_id == shop_id, t.events.c.type == "referral_link_shared")),
                "landings": count(select(func.count()).select_from(t.referral_landings).where(
                    t.referral_landings.c.shop_id == shop_id)),
                "sign_ups": sum(statuses.values()),
                "first_orders": count(select(func.count()).select_from(t.referrals).where(
                    r.shop_id == shop_id, r.order_id.is_not(None))),
                "in_review": statuses.get("review", 0), "rejected": statuses.get("rejected", 0),
                "rewards_issued": statuses.get("rewarded", 0),
            }
        out["cost"] = {"points": sum(int(x.get("points", 0)) for x in rewards if x),
                       "credit_and_codes": str(sum((Decimal(x.get("amount", "0")) for x in rewards if x), Decimal(0))
                                               + Decimal(cashback))}
        return out


def _public_status(status: str) -> str:
    return {"signed_up": "invited", "pending": "pending", "review": "pending", "rewarded": "rewarded",
            "rejected": "rejected"}.get(status, status)


def _mask(email: str | None) -> str:
    if not email or "@" not in email:
        return "a friend"
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _offer(program, shop_id) -> dict:
    f = program.referrals.friend
    return {"type": f.type, "amount": str(f.amount) if f.type == "fixed_amount" else None,
            "percent": str(f.percent) if f.percent is not None else None}


def _currency(conn: Connection, shop_id: int) -> str:
    """The shop's currency, for amounts shown to people (a plain read: never a lock)."""
    return conn.execute(select(t.shops.c.currency).where(t.shops.c.id == shop_id)).scalar() or ""
