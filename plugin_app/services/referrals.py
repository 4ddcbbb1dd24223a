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

from sqlalchemy.exc import IntegrityError

from ..domain import referrals as R
from ..domain.errors import InvalidRequest, InvalidState, NotFound
from ..domain.ledger import Asset, Source
from ..domain.money import money_text, plain
from ..domain.reasons import Reason, money as money_param, num
from ..domain.ports import Clock, SystemClock
from ..domain.tiers import add_months
from ..storage.db import Database
from ..storage.referrals_repo import ReferralsRepo
from ..storage.uow import UnitOfWork
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

    def remember(self, uow: UnitOfWork, member_id: int, facts: dict[str, set[str]]) -> None:
        """Keep the newest fingerprints of each kind on the member (KEEP per kind)."""
        row = uow.referral_facts.fingerprints(member_id) or {}
        merged = {k: list(dict.fromkeys([*facts.get(k, ()), *row.get(k, [])]))[:KEEP] for k in KINDS}
        if merged != row:
            uow.referral_facts.set_fingerprints(member_id, merged)

    def _facts(self, uow: UnitOfWork, member_id: int, customer_id: str, salt: str) -> R.Facts:
        """A member's fingerprints: those their orders and sessions left, and their own e-mail
        from the member record (so an account that never ordered is still recognised)."""
        row = uow.referral_facts.known(member_id)
        known = {k: frozenset((row.fingerprints or {}).get(k, [])) for k in KINDS}
        own = R.fingerprint("emails", R.norm_email(row.email), salt)
        known["emails"] |= {own} - {None}
        return R.Facts(customer_id, **known)

    # -- codes, sharing, landing, claiming ----------------------------------------------------
    def code_for(self, shop_id: int, member_id: int) -> str:
        with self.db.uow(shop_id) as uow:
            code = uow.referral_codes.of(member_id)
        while code is None:
            try:
                with self.db.uow(shop_id) as uow:
                    uow.referral_codes.add(member_id, R.new_code(), self.clock.now())
                    code = uow.referral_codes.of(member_id)
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
                done = uow.referral_codes.add_many({m: R.new_code() for m in chunk}, self.clock.now())
                assigned += len(done)
                missed = [m for m in chunk if m not in done]
                have = uow.referral_codes.members_with_codes(missed) if missed else set()
            pending = [m for m in missed if m not in have] + pending  # their code collided: draw again
        return assigned

    def me(self, shop_id: int, shop_domain: str, customer_id: str) -> dict:
        program = self.programs.for_reading(shop_id).program
        member, _ = self.members.enrol(shop_id, customer_id)
        code = self.code_for(shop_id, member.id)
        base = shop_domain if "://" in shop_domain else f"https://{shop_domain}"
        with self.db.uow(shop_id) as uow:
            rows = uow.referrals.made_by_with_friend_email(member.id, limit=100)
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

    def _referrer(self, uow: UnitOfWork, code: str | None) -> int | None:
        clean = R.clean_any_code(code or "")  # ours, or one a member brought from another app
        if clean is None:
            return None
        return uow.referral_codes.member_of(clean)

    def land(self, shop_id: int, code: str, visitor_id: str, *, ip: str | None, device: str | None) -> dict:
        program = self.programs.for_reading(shop_id).program
        if not program.referrals.enabled:
            raise InvalidRequest("referrals are off in this shop")
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            referrer = self._referrer(uow, code)
            if referrer is None:
                raise NotFound("no such referral code")
            landing_id = uow.referral_landings.add(
                referrer_member_id=referrer, visitor_id=visitor_id[:64], ip_fp=self._fp(shop_id, "ips", ip),
                device_fp=self._fp(shop_id, "devices", device), landed_at=now,
                expires_at=now + timedelta(days=program.referrals.remember_days))
        friend_code = None
        if program.referrals.friend.issue_on == "landing":
            friend_code = self._friend_code(shop_id, None, program)
            with self.db.uow(shop_id) as uow:
                uow.referral_landings.set_friend_code(landing_id, friend_code[0])
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
            self.remember(uow, friend.id, facts)
            existing = uow.referrals.for_friend(friend.id)
            if existing is not None:
                return {"referral_id": existing.id, "status": _public_status(existing.status),
                        "friend_code": existing.friend_code}
            landing = None
            if visitor_id:
                landing = uow.referral_landings.first_unexpired(visitor_id, now)
            referrer = landing.referrer_member_id if landing else self._referrer(uow, code)
            if referrer is None:
                raise NotFound("no referral to claim: the code is unknown or the landing expired")
        friend_code, discount_id = (landing.friend_code, None) if landing is not None and landing.friend_code else \
            self._friend_code(shop_id, customer_id, program)
        with self.db.uow(shop_id) as uow:
            row_id = uow.referrals.start(referrer_member_id=referrer, friend_member_id=friend.id,
                                         landing_id=landing.id if landing else None, friend_code=friend_code,
                                         friend_discount_id=discount_id, now=now)
            if row_id is None:  # someone else attributed this friend a moment ago: theirs stands
                row = uow.referrals.for_friend(friend.id)
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
        member_id = self.members.id_of(shop_id, customer_id)
        notes: list[str] = []
        now = self.clock.now()
        facts = self.facts_from(shop_id, raw_facts)  # before the transaction: it may read the shop's secret
        salt = self.shops.widget_secret(shop_id)
        with self.db.uow(shop_id) as uow:
            self.remember(uow, member_id, facts)
            row = uow.referrals.for_friend(member_id, lock=True)
            if row is None and codes:  # the friend's welcome code on an order nobody claimed
                row = uow.referrals.with_friend_code(codes)
                if row is not None and row.friend_member_id != member_id:
                    row = None  # someone else's welcome code: not this customer's referral
            if row is None or not paid or not program.referrals.enabled or not program.live:
                return notes
            base = uow.referral_facts.order_base(order_id)
            if row.status == "signed_up":
                if base < program.referrals.minimum_order:
                    return [f"referral {row.id}: order below the "
                            f"{money_text(program.referrals.minimum_order, uow.referral_facts.currency())} minimum"]
                prior = uow.referral_facts.earned_orders_besides(member_id, order_id)
                referrer_cid = uow.members.by_id(row.referrer_member_id).platform_customer_id
                friend_facts = self._facts(uow, member_id, customer_id, salt)
                landing = uow.referral_landings.by_id(row.landing_id) if row.landing_id else None
                if landing is not None:  # the landing's IP and device belong to the friend's side
                    friend_facts = R.Facts(friend_facts.customer_id, friend_facts.emails, friend_facts.phones,
                                           friend_facts.addresses, friend_facts.payments,
                                           friend_facts.ips | {landing.ip_fp} - {None},
                                           friend_facts.devices | {landing.device_fp} - {None})
                ctx = R.Context(prior_orders=prior,
                                referrals_from_ip_7d=self._from_ip(uow, landing, now),
                                referrer_referrals_today=self._today(uow, row.referrer_member_id, now))
                verdict = R.judge(program.referrals.fraud, self._facts(uow, row.referrer_member_id, referrer_cid, salt),
                                  friend_facts, ctx, max_per_ip_7d=program.referrals.max_per_ip_7d,
                                  max_per_day=program.referrals.max_per_day)
                status = {"block": "rejected", "hold": "review", "ok": "pending"}[verdict.outcome]
                uow.referrals.update(
                    row.id, status=status, order_id=order_id, order_base=base, updated_at=now,
                    reason=verdict.reason if verdict.outcome != "ok" else None,
                    verdict={"outcome": verdict.outcome, "findings": [f.__dict__ for f in verdict.findings],
                             "program_version": pv.version},
                    reward_due_at=now + timedelta(days=program.referrals.pending_days))
                uow.collect(ReferralJudged(shop_id=shop_id, member_id=row.referrer_member_id, at=now,
                                           referral_id=row.id, outcome=verdict.outcome, reason=verdict.reason))
                notes.append(f"referral {row.id}: {status} ({verdict.reason})")
                row = uow.referrals.by_id(row.id)
            notes += self._extra_cashback(uow, row, order_id, base, program, now)
        return notes

    def _from_ip(self, uow: UnitOfWork, landing, now: datetime) -> int:
        """Referrals (this one included) that came through landings from this IP in 7 days."""
        if landing is None or landing.ip_fp is None:
            return 0
        return uow.referrals.through_ip_since(landing.ip_fp, now - timedelta(days=7))

    def _today(self, uow: UnitOfWork, referrer: int, now: datetime) -> int:
        """The referrer's referrals (this one included) started in the last 24 hours."""
        return uow.referrals.started_by_since(referrer, now - timedelta(days=1))

    def _extra_cashback(self, uow: UnitOfWork, row, order_id: str, base: Decimal, program,
                        now: datetime) -> list[str]:
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
        currency = uow.referral_facts.currency()
        posted = self.ledger.earn(row.shop_id, row.referrer_member_id, Asset.CREDIT, amount,
                                  key=f"referral:{row.id}:cashback:{order_id}", source=Source.REFERRAL,
                                  reason=Reason("referral.cashback", {"rate": num(cb.rate), "base": money_param(base, currency),
                                                                      "order": order_id}),
                                  external_ref=f"order:{order_id}",
                                  pending_until=now + timedelta(days=program.referrals.pending_days),
                                  expires_at=expires_at(program, Asset.CREDIT, now))
        if not posted.replayed:
            uow.referrals.count_cashback_order(row.id)
        return [f"referral {row.id}: {money_text(amount, currency)} cashback for the referrer"]

    # -- after the pending period -------------------------------------------------------------
    def reward_due(self) -> int:
        now = self.clock.now()
        with self.db.uow() as uow:  # every shop's: each referral is then settled in its own shop's unit of work
            rows = ReferralsRepo.due_for_reward_in_every_shop(uow.conn, now)
        return sum(self._settle(r) for r in rows)

    def _settle(self, r) -> int:
        program = self.programs.current(r.shop_id).program
        now = self.clock.now()
        with self.db.uow(r.shop_id) as uow:
            order = uow.referral_facts.order(r.order_id)
            kept = Fraction(1)
            if order is not None and order.cancelled:
                kept = Fraction(0)
            elif order is not None:
                kept = 1 - refunded_share(order.shares, (order.refunds or {}).get("fractions", {}))
            reversed_ = kept == 0 or Decimal(r.order_base or 0) * Decimal(kept.numerator) / Decimal(kept.denominator) \
                < program.referrals.minimum_order
            verdict = R.judge(program.referrals.fraud, R.Facts(), R.Facts(), R.Context(order_reversed=reversed_))
            if verdict.outcome != "ok":
                uow.referrals.update(r.id, status_was="pending",
                                     status="rejected" if verdict.outcome == "block" else "review",
                                     reason=verdict.reason, updated_at=now)
                return 0
        reward = self._pay(r, program)
        with self.db.uow(r.shop_id) as uow:
            uow.referrals.update(r.id, status="rewarded", reward=reward, updated_at=now)
            uow.collect(ReferralRewarded(shop_id=r.shop_id, member_id=r.referrer_member_id, at=now,
                                         referral_id=r.id, reward=reward))
        return 1

    def _currency(self, shop_id: int) -> str:
        with self.db.uow(shop_id) as uow:
            return uow.referral_facts.currency()

    def _pay(self, r, program) -> dict:
        give = program.referrals.referrer
        key = f"referral:{r.id}:reward"
        if give.kind == "points":
            self.ledger.earn(r.shop_id, r.referrer_member_id, Asset.POINTS, give.points, key=key,
                             source=Source.REFERRAL, reason=Reason("referral.reward", {"points": give.points}),
                             expires_at=expires_at(program, Asset.POINTS, self.clock.now()))
            return {"kind": "points", "points": give.points}
        if give.kind == "credit":
            self.ledger.earn(r.shop_id, r.referrer_member_id, Asset.CREDIT, give.amount, key=key,
                             source=Source.REFERRAL,
                             reason=Reason("referral.reward", {"amount": money_param(give.amount, self._currency(r.shop_id))}),
                             expires_at=expires_at(program, Asset.CREDIT, self.clock.now()))
            return {"kind": "credit", "amount": str(give.amount)}
        with self.db.uow(r.shop_id) as uow:
            referrer = uow.members.by_id(r.referrer_member_id).platform_customer_id
        code = "THANKS-" + hashlib.sha256(key.encode()).hexdigest()[:8].upper()  # one per referral, stable
        ends = (self.clock.now() + timedelta(days=give.code_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.platform_for(r.shop_id).create_discount_code(code=code, title="Thanks for the referral",
                                                          customer_id=referrer, ends_at=ends, amount=give.amount)
        return {"kind": "code", "code": code, "amount": str(give.amount)}

    # -- the merchant ------------------------------------------------------------------------
    def decide(self, shop_id: int, referral_id: int, *, approve: bool, actor: str) -> dict:
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            row = uow.referrals.by_id(referral_id, lock=True)
            if row is None:
                raise NotFound("no such referral")
            if row.status != "review":
                raise InvalidState(f"the referral is {row.status}, not waiting for review")
            uow.referrals.update(row.id, status="pending" if approve else "rejected", decided_by=actor[:255],
                                 updated_at=now,
                                 reason=row.reason if approve else f"rejected by the shop: {row.reason}")
        if approve:
            self.reward_due()
        return self.get(shop_id, referral_id)

    def get(self, shop_id: int, referral_id: int) -> dict:
        with self.db.uow(shop_id) as uow:
            r = uow.referrals.by_id(referral_id)
        if r is None:
            raise NotFound("no such referral")
        return {"id": r.id, "status": r.status, "reason": r.reason, "verdict": r.verdict, "order_id": r.order_id,
                "reward": r.reward, "decided_by": r.decided_by, "referrer_member_id": r.referrer_member_id,
                "friend_member_id": r.friend_member_id, "created_at": r.created_at.isoformat()}

    def list(self, shop_id: int, status: str | None = None, limit: int = 100) -> list[dict]:
        with self.db.uow(shop_id) as uow:
            ids = uow.referrals.ids(status, limit)
        return [self.get(shop_id, i) for i in ids]

    def for_member(self, shop_id: int, member_id: int) -> dict:
        """The member's code (if one was made), the friends they referred, and who referred them."""
        with self.db.uow(shop_id) as uow:
            code = uow.referral_codes.of(member_id)
            made = uow.referrals.ids_made_by(member_id, limit=100)
            friend_of = uow.referrals.for_friend(member_id)
            by = friend_of.id if friend_of else None
        return {"code": code, "referred": [self.get(shop_id, i) for i in made],
                "referred_by": self.get(shop_id, by) if by else None}

    def funnel(self, shop_id: int, referral_credit=None) -> dict:
        """All-time counts. `referral_credit` (cashback paid to referrers) comes from the
        analytics rollups when the dashboard asks; else it is summed from the ledger."""
        with self.db.uow(shop_id) as uow:
            repo = uow.referrals
            statuses = repo.by_status()
            rewards = repo.rewards_given()
            cashback = referral_credit if referral_credit is not None else repo.cashback_posted(Source.REFERRAL.value)
            out = {
                "links_shared": repo.links_shared(), "landings": repo.landings(),
                "sign_ups": sum(statuses.values()), "first_orders": repo.with_first_order(),
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
