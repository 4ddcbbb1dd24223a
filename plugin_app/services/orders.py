"""Orders: points and cashback when an order is paid (or fulfilled), taken back in proportion
on refunds at the rates they were earned, all of it on cancellation, and redemptions made on a
cancelled order returned. One order's record and its postings commit together, under a lock
on the order's row, so deliveries for the same order in any order converge.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from ..domain.earning import (Earning, MemberContext, Order, Refund, RefundLine, Share, calculate,
                              refund_fractions, taken_back)
from ..domain.errors import InvalidState
from ..domain.ledger import Asset, Kind, Source
from ..domain.money import amount_text, plain
from ..domain.reasons import Reason, money as money_param
from ..domain.ports import Clock, SystemClock
from ..domain.expiry import expires_at
from ..domain.member_events import OrderChanged, OrderPointsEarned
from ..storage.db import Database
from ..storage.uow import UnitOfWork
from .ledger import Ledger
from .members import Members
from ..domain.targeting import campaign_segment_ids
from .program import Programs, ProgramVersion


@dataclass(frozen=True)
class OrderOutcome:
    order_id: str
    status: str  # earned, already_earned, waiting, cancelled, test, guest, refunded, duplicate, ...
    points: int = 0
    credit: Decimal = Decimal(0)
    explanation: str = ""


def _shares_json(shares: tuple[Share, ...]) -> list[dict]:
    return [{"key": s.key, "base": str(s.base), "quantity": s.quantity, "points": str(s.points),
             "credit": str(s.credit)} for s in shares]


def _shares(rows: list[dict]) -> tuple[Share, ...]:
    return tuple(Share(r["key"], Decimal(r["base"]), r["quantity"], Fraction(r["points"]),
                       Fraction(r["credit"])) for r in rows)


def _products_json(order: Order) -> list[list]:
    """The order's lines' products, [[line id, product id, quantity]]: what the member bought,
    for segments (gift cards and lines without a product are not products bought)."""
    return [[li.line_id, li.product_id, li.quantity] for li in order.lines if li.product_id and not li.gift_card]


def _refund_json(refund: Refund) -> dict:
    return {"lines": [asdict(rl) for rl in refund.lines], "shipping": str(refund.shipping),
            "amount": str(refund.amount), "of_total": str(refund.of_total)}


def stored_refund(refund_id: str, raw: dict) -> Refund:
    """A refund as an order's row keeps it (`orders.refunds.applied`), read back."""
    return Refund(refund_id, tuple(RefundLine(**rl) for rl in raw["lines"]),
                  Decimal(raw["shipping"]), Decimal(raw["amount"]), Decimal(raw.get("of_total", "0")))


class OrderService:
    catalog = None  # services.catalog.Catalog: completes lines with collections/tags/categories

    def __init__(self, db: Database, ledger: Ledger, members: Members, programs: Programs,
                 clock: Clock | None = None) -> None:
        self.db, self.ledger, self.members, self.programs = db, ledger, members, programs
        self.clock = clock or SystemClock()

    # -- reading ---------------------------------------------------------------------------
    def _context(self, uow: UnitOfWork, member_id: int | None, pv: ProgramVersion,
                 segments: frozenset[int] | None = None, member=None) -> MemberContext:
        """The member as the order earns: tier, birthday and (when a campaign is limited to
        segments) the segments they are in now, or `segments` as they were when it first earned.
        `member`: the member as just read in this transaction (its tier and birthday), if at hand."""
        if member_id is None:
            return MemberContext(pv.program.tiers.levels[0] if pv.program.tiers.enabled else None)
        m = member if member is not None else uow.members.tier_and_birthday(member_id)
        tier = None
        if pv.program.tiers.enabled:
            tier = pv.program.tiers.by_name(m.tier) or pv.program.tiers.levels[0]
        wanted = campaign_segment_ids(pv.program)
        if not wanted:
            return MemberContext(tier, m.birthday)
        if segments is None:
            segments = uow.targeting.member_segments(member_id)
        return MemberContext(tier, m.birthday, frozenset(segments), uow.targeting.names(wanted))

    @staticmethod
    def _segments_details(context: MemberContext, program) -> dict:
        """What the earning entry keeps of the member's segments, for a later edit of the order
        (its campaigns apply as they did when the order first earned): only when a campaign is
        limited to segments."""
        return {"segments": sorted(context.segments)} if campaign_segment_ids(program) else {}

    def preview(self, shop_id: int, order: Order, customer_id: str | None = None) -> Earning:
        """What this order would earn now, with the explanation; writes nothing."""
        if self.catalog is not None:  # what the products are, as the cart quote knows them (a miss
            # schedules a fetch: outside the transaction, like the quote)
            order = self.catalog.cached(shop_id, order, self.programs.current(shop_id).program)
        with self.db.uow(shop_id) as uow:
            pv = self.programs.current(shop_id)
            member = None
            if customer_id:
                found = uow.members.by_customer(customer_id)
                member = found.id if found is not None else None
            return calculate(pv.program, order, self._context(uow, member, pv), version=pv.version)

    # -- the order's row -------------------------------------------------------------------
    def _lock(self, uow: UnitOfWork, order_id: str, currency: str | None = None):
        """The order's row, locked until the use case ends (created if new)."""
        return uow.orders.lock(order_id, currency, self.clock.now())

    def _save(self, uow: UnitOfWork, row_id: int, **values) -> None:
        uow.orders.save(row_id, self.clock.now(), **values)

    # -- earning ---------------------------------------------------------------------------
    def on_paid(self, shop_id: int, order: Order, *, fulfilled: bool = False,
                guest_key: str | None = None, email: str | None = None,
                name: str | None = None, locale: str | None = None,
                occurred_at: datetime | None = None) -> OrderOutcome:
        """The order is paid (and maybe fulfilled): earn, if the program's trigger is met.
        `occurred_at`: when a past order (a history backfill) earned, for the ledger's tier
        windows and lot ages; None for an order paid now.
        `guest_key` tells a guest's orders apart for the repeat-purchase figures (a hash).
        `email` and `name` are the customer's as the order tells them: a member first seen
        here gets them, one we already know keeps what it has. `locale` is the language the
        customer ordered in (Shopify's `customer_locale`): their e-mails follow it."""
        if self.catalog is not None:  # may ask the platform: before, never inside, the transaction
            order = self.catalog.for_posting(shop_id, order)
        with self.db.uow(shop_id) as uow:
            row = self._lock(uow, order.order_id, order.currency)
            if row.history_only:  # recorded from the shop's past without points: it never earns
                return OrderOutcome(order.order_id, "history", explanation="a past order recorded without points")
            if row.earned and not row.cancelled:
                return self._on_edit(uow, row, order)
            if row.earned:
                return OrderOutcome(order.order_id, "already_earned", row.points, row.credit)
            if row.cancelled:
                return OrderOutcome(order.order_id, "cancelled")
            pv = self.programs.current(shop_id)
            program = pv.program
            if order.test and not program.earning.include_test_orders:
                return OrderOutcome(order.order_id, "test", explanation="test orders earn nothing")
            if not row.counted:
                self._count(uow, row.id, order, guest_key)
            if not order.customer_id:
                self._save(uow, row.id, placed_at=order.placed_at)
                return OrderOutcome(order.order_id, "guest", explanation="no customer account to credit")
            if program.earning.trigger == "fulfilled" and not fulfilled:
                return OrderOutcome(order.order_id, "waiting", explanation="earns when fulfilled")
            member = self._enrol(shop_id, order.customer_id, email, name, locale)
            context = self._context(uow, member.id, pv, member=member)  # enrolled (and read) just now
            earning = calculate(program, order, context, version=pv.version)
            now = self.clock.now()
            ref = f"order:{order.order_id}"
            details = {"notes": list(earning.notes), "base": str(earning.base), "currency": order.currency,
                       **self._segments_details(context, program)}
            if earning.points > 0:
                days = program.pending.orders_days
                self.ledger.earn(
                    shop_id, member.id, Asset.POINTS, earning.points, key=f"{ref}:points",
                    source=Source.ORDER, reason=earning.reason(order.order_id), external_ref=ref,
                    pending_until=now + timedelta(days=days) if days else None,
                    expires_at=expires_at(program, Asset.POINTS, now),
                    program_version=pv.version, details=details, occurred_at=occurred_at)
            if earning.credit > 0:
                days = program.cashback.pending_days
                self.ledger.earn(
                    shop_id, member.id, Asset.CREDIT, earning.credit, key=f"{ref}:cashback",
                    source=Source.ORDER, reason=earning.credit_reason(order.order_id), external_ref=ref,
                    pending_until=now + timedelta(days=days) if days else None,
                    expires_at=expires_at(program, Asset.CREDIT, now),
                    program_version=pv.version, details={**details, "notes": list(earning.credit_notes)},
                    occurred_at=occurred_at)
            self._save(uow, row.id, earned=True, member_id=member.id, base=earning.base,
                       points=earning.points, credit=earning.credit, placed_at=order.placed_at,
                       program_version=pv.version, shares=_shares_json(earning.shares), lines_at=order.updated_at,
                       products=_products_json(order))
            # Refunds that arrived before the payment are applied now, in one step.
            if row.refunds["applied"]:
                fractions = self._fractions(earning, row.refunds)
                self._take_back(uow, member.id, order.order_id, earning.points, earning.credit,
                                earning.shares, {}, fractions, "refunds-before-earning",
                                Reason("order.refund_before_payment", {"order": order.order_id}))
                self._save(uow, row.id, refunds={**row.refunds, "fractions": self._fractions_json(fractions)})
            uow.members.touch(member.id, self.clock.now())
            if earning.points > 0:
                uow.collect(OrderPointsEarned(shop_id=shop_id, member_id=member.id, at=now,
                                              order_id=order.order_id, points=earning.points,
                                              credit=earning.credit, pending=bool(program.pending.orders_days)))
            uow.collect(OrderChanged(shop_id=shop_id, member_id=member.id, at=now, order_id=order.order_id,
                                     cause=f"order {order.order_id}"))
            return OrderOutcome(order.order_id, "earned", earning.points, earning.credit,
                                f"{earning.summary}; {earning.credit_summary}" if earning.credit else earning.summary)

    def _enrol(self, shop_id: int, customer_id: str, email: str | None, name: str | None,
               locale: str | None = None):
        email = email.strip() if isinstance(email, str) and "@" in email and len(email.strip()) <= 320 else None
        # The e-mail and name where the member has none; the latest order's language.
        return self.members.enrol(shop_id, customer_id, email=email, name=name, locale=locale or None, fill=True)[0]

    # -- refunds and cancellation ----------------------------------------------------------
    @staticmethod
    def _fractions(earning_or_shares, refunds: dict) -> dict[str, Fraction]:
        shares = earning_or_shares.shares if isinstance(earning_or_shares, Earning) else earning_or_shares
        base = sum((s.base for s in shares), Decimal(0))
        fractions: dict[str, Fraction] = {}
        for rid in refunds.get("order", list(refunds["applied"])):
            fractions = refund_fractions(shares, base, stored_refund(rid, refunds["applied"][rid]), fractions)
        return fractions

    @staticmethod
    def _fractions_json(fractions: dict[str, Fraction]) -> dict[str, str]:
        return {k: str(v) for k, v in fractions.items()}

    def _take_back(self, uow: UnitOfWork, member_id, order_id, points, credit, shares, before, after,
                   tag: str, why: Reason) -> tuple[int, Decimal]:
        currency = uow.members.currency(member_id)
        keys = [s.key for s in shares]
        took_p = took_c = 0
        for asset, earned, weights in ((Asset.POINTS, points, [s.points for s in shares]),
                                       (Asset.CREDIT, credit, [s.credit for s in shares])):
            if not earned:
                continue
            cur = None if asset == Asset.POINTS else currency
            was = taken_back(earned, weights, [before.get(k, Fraction(0)) for k in keys], cur)
            now = taken_back(earned, weights, [after.get(k, Fraction(0)) for k in keys], cur)
            delta = now - was
            if delta > 0:
                share = Decimal(now) / Decimal(earned) * 100
                self._reverse_spread(uow, order_id, asset, delta, f"order:{order_id}:{tag}:{asset.value}",
                                     Reason(why.code, {**why.params, "share": plain(share.quantize(Decimal("0.1")))}))
                if asset == Asset.POINTS:
                    took_p = delta
                else:
                    took_c = delta
        return took_p, took_c

    def _reverse_spread(self, uow: UnitOfWork, order_id: str, asset: Asset, amount, key: str,
                        reason: Reason) -> None:
        """Take `amount` back from what the order earned in `asset`: its first earning, then the
        earnings its edits added, each up to what is left of it."""
        repo = uow.ledger
        first = repo.entry_by_key(f"order:{order_id}:{'points' if asset == Asset.POINTS else 'cashback'}")
        edits = [e for e in repo.entries_by_ref(f"order:{order_id}") if e.kind == Kind.EARN.value
                 and e.asset == asset.value and ":edit:" in (e.idempotency_key or "")]
        amount = Decimal(amount)
        for i, entry in enumerate(e for e in [first, *edits] if e is not None):
            part = min(amount, Decimal(entry.amount) - repo.reversed_so_far(entry.id))
            if part <= 0:
                continue
            self.ledger.reverse(uow.shop_id, entry.id, int(part) if asset == Asset.POINTS else part,
                                key=key if i == 0 else f"{key}:e{entry.id}", source=Source.REFUND,
                                reason=reason)
            amount -= part
            if amount <= 0:
                break

    @staticmethod
    def _net(earned, shares: tuple[Share, ...], fractions: dict[str, Fraction], asset: Asset, currency: str):
        """What the order keeps of `earned` after its refunds (the refunds' own take-back rule)."""
        if not earned:
            return earned
        weights = [s.points if asset == Asset.POINTS else s.credit for s in shares]
        cur = None if asset == Asset.POINTS else currency
        return earned - taken_back(earned, weights, [fractions.get(s.key, Fraction(0)) for s in shares], cur)

    def _on_edit(self, uow: UnitOfWork, row, order: Order) -> OrderOutcome:
        """A paid, earned order seen again. If this snapshot is newer than the lines it earned on
        and its lines differ (an order edit added or removed lines or units), earning converges on
        the current lines: the change in what the order keeps after its refunds is earned once, or
        taken back like a refund of those lines, under keys of the edit's own. A snapshot without
        a time (no `updated_at`) can only add, so that stale copies never take anything back."""
        same = OrderOutcome(order.order_id, "already_earned", row.points, row.credit)
        if order.updated_at is not None and row.lines_at is not None and order.updated_at <= row.lines_at:
            if row.products is None and order.lines:  # earned before 0028 recorded products: what it bought
                self._save(uow, row.id, products=_products_json(order))
            return same
        shop_id = uow.shop_id
        pv = self.programs.current(shop_id)
        program = pv.program
        first = uow.ledger.entry_by_key(f"order:{order.order_id}:points")
        kept = (first.details or {}).get("segments") if first is not None else None
        earning = calculate(program, order, self._context(uow, row.member_id, pv,
                                                          frozenset(kept) if isinstance(kept, list) else None),
                            version=pv.version)
        old = _shares(row.shares or [])
        unchanged = [(s.key, s.base, s.quantity) for s in earning.shares] == [(s.key, s.base, s.quantity) for s in old]
        if unchanged or (order.updated_at is None and earning.base <= Decimal(row.base or 0)):
            if order.updated_at is not None:
                self._save(uow, row.id, lines_at=order.updated_at, products=_products_json(order))
            return same
        before = {k: Fraction(v) for k, v in row.refunds.get("fractions", {}).items()}
        after = self._fractions(earning, row.refunds) if row.refunds["applied"] else {}
        currency = uow.members.currency(row.member_id)
        stamp = order.updated_at.isoformat() if order.updated_at else f"base-{earning.base}"
        ref, now = f"order:{order.order_id}", self.clock.now()
        moved = {}
        for asset, was, will, label in ((Asset.POINTS, row.points, earning.points, "points"),
                                        (Asset.CREDIT, Decimal(row.credit), earning.credit, "cashback")):
            delta = self._net(will, earning.shares, after, asset, currency) - self._net(was, old, before, asset, currency)
            moved[asset] = delta
            if delta > 0:
                if asset == Asset.POINTS:
                    pending = program.pending.orders_days
                else:
                    pending = program.cashback.pending_days
                expires = expires_at(program, asset, now)
                self.ledger.earn(
                    shop_id, row.member_id, asset, delta, key=f"{ref}:edit:{stamp}:{label}", source=Source.ORDER,
                    reason=Reason("order.edit_added", {
                        "order": order.order_id, "points" if asset == Asset.POINTS else "amount":
                        int(delta) if asset == Asset.POINTS else money_param(delta, currency),
                        "parts": [x.to_json() for x in (earning.parts if asset == Asset.POINTS else earning.credit_parts)]}),
                    external_ref=ref, pending_until=now + timedelta(days=pending) if pending else None,
                    expires_at=expires, program_version=pv.version,
                    details={"edit": True, "notes": list(earning.notes), "base": str(earning.base),
                             "previous_base": str(row.base), "currency": order.currency})
            elif delta < 0:
                self._reverse_spread(uow, order.order_id, asset, -delta,
                                     f"{ref}:edit:{stamp}:{asset.value}",
                                     Reason("order.edit_removed", {
                                         "order": order.order_id, "before": money_param(row.base, order.currency),
                                         "after": money_param(earning.base, order.currency)}))
        self._save(uow, row.id, base=earning.base, points=earning.points, credit=earning.credit,
                   shares=_shares_json(earning.shares), lines_at=order.updated_at, program_version=pv.version,
                   refunds={**row.refunds, "fractions": self._fractions_json(after)}, products=_products_json(order))
        uow.collect(OrderChanged(shop_id=shop_id, member_id=row.member_id, at=self.clock.now(),
                                 order_id=order.order_id, cause=f"order {order.order_id} edited"))
        return OrderOutcome(order.order_id, "edited", int(moved[Asset.POINTS]), moved[Asset.CREDIT],
                            f"order edited: base {amount_text(row.base, order.currency)} -> {amount_text(earning.base, order.currency)}; "
                            f"{earning.summary}")

    def on_refund(self, shop_id: int, order_id: str, refund: Refund) -> OrderOutcome:
        with self.db.uow(shop_id) as uow:
            row = self._lock(uow, order_id)
            refunds = row.refunds
            if refund.refund_id in refunds["applied"]:
                return OrderOutcome(order_id, "duplicate")
            refunds = {"applied": {**refunds["applied"], refund.refund_id: _refund_json(refund)},
                       "order": [*refunds.get("order", list(refunds["applied"])), refund.refund_id],
                       "fractions": refunds.get("fractions", {})}
            if row.history_only and not row.cancelled:  # a past order: only its kept share moves
                shares = _shares(row.shares or [])
                before = {k: Fraction(v) for k, v in row.refunds.get("fractions", {}).items()}
                after = refund_fractions(shares, Decimal(row.base or 0), refund, before) if shares else before
                self._save(uow, row.id, refunds={**refunds, "fractions": self._fractions_json(after)})
                if row.member_id is not None:
                    uow.collect(OrderChanged(shop_id=shop_id, member_id=row.member_id, at=self.clock.now(),
                                             order_id=order_id, cause=f"refund on {order_id}"))
                return OrderOutcome(order_id, "recorded", explanation="a past order recorded without points")
            if not row.earned or row.cancelled:
                self._save(uow, row.id, refunds=refunds)
                return OrderOutcome(order_id, "recorded", explanation="applied if the order earns later")
            shares = _shares(row.shares)
            before = {k: Fraction(v) for k, v in row.refunds.get("fractions", {}).items()}
            after = refund_fractions(shares, Decimal(row.base), refund, before)
            took_p, took_c = self._take_back(uow, row.member_id, order_id, row.points,
                                             Decimal(row.credit), shares, before, after,
                                             f"refund:{refund.refund_id}",
                                             Reason("order.refund", {"order": order_id, "refund": refund.refund_id}))
            refunds["fractions"] = self._fractions_json(after)
            self._save(uow, row.id, refunds=refunds)
            pv = self.programs.current(shop_id)
            uow.collect(OrderChanged(shop_id=shop_id, member_id=row.member_id, at=self.clock.now(),
                                     order_id=order_id, cause=f"refund on {order_id}"))
            return OrderOutcome(order_id, "refunded", -took_p, -took_c)

    def on_cancel(self, shop_id: int, order_id: str, *, reason: str = "order cancelled") -> OrderOutcome:
        """Take back everything the order earned and return what was spent on it."""
        with self.db.uow(shop_id) as uow:
            row = self._lock(uow, order_id)
            if row.cancelled:
                return OrderOutcome(order_id, "duplicate")
            ref = f"order:{order_id}"
            took = returned = 0
            for e in uow.ledger.entries_by_ref(ref):
                if e.kind == Kind.EARN.value:
                    action, code = "cancel", "order.cancelled"
                elif e.kind in (Kind.REDEEM.value, Kind.COMMIT.value):
                    action, code = "return", "order.cancelled_return"
                else:
                    continue
                try:
                    why = Reason(code, {"order": order_id, "entry": e.id,
                                        **({"note": reason} if reason != "order cancelled" else {})})
                    posted = self.ledger.reverse(shop_id, e.id, key=f"{ref}:{action}:{e.id}",
                                                 source=Source.REFUND, reason=why)
                    if not posted.replayed:
                        took += action == "cancel"
                        returned += action == "return"
                except InvalidState:
                    pass  # already fully reversed by refunds
            self._save(uow, row.id, cancelled=True)
            if row.counted:
                self._uncount(uow, row)
            if row.member_id is not None:
                pv = self.programs.current(shop_id)
                uow.collect(OrderChanged(shop_id=shop_id, member_id=row.member_id, at=self.clock.now(),
                                         order_id=order_id, cause=f"{order_id} cancelled"))
            return OrderOutcome(order_id, "cancelled", explanation=f"{took} earnings taken back, {returned} redemptions returned")

    def record_past(self, shop_id: int, order: Order, refunds: tuple[Refund, ...] = (), *,
                    guest_key: str | None = None, email: str | None = None, name: str | None = None,
                    locale: str | None = None) -> OrderOutcome:
        """A paid order from the shop's past (a history backfill), recorded without points: it
        is counted in the order figures (analytics) and, for a customer, in tiers on spend (its
        base, shares and refunds kept as an earned order keeps them), and the customer becomes a
        member (no welcome bonus); no ledger entry is made. The row says `history_only`: a later
        delivery for the order never earns (`on_paid`), a later refund only moves its kept share
        (`on_refund`), a cancellation takes it out of the figures (`on_cancel`). An order we
        already know (a delivery came first) is left as the live path made it: "known".
        Category rules are not looked up for it (no platform calls here): its base is its lines'."""
        if order.test:
            return OrderOutcome(order.order_id, "test", explanation="test orders are not history")
        with self.db.uow(shop_id) as uow:
            row = self._lock(uow, order.order_id, order.currency)
            if row.earned or row.counted or row.cancelled or row.history_only or row.placed_at is not None \
                    or row.refunds["applied"] or row.member_id is not None:
                if row.products is None and order.lines and (row.earned or row.history_only):
                    # recorded before 0028 kept products: a backfill run again fills in what it bought
                    # (the periodic segment pass then rebuilds the member's purchases)
                    self._save(uow, row.id, products=_products_json(order))
                return OrderOutcome(order.order_id, "known", explanation="already recorded")
            pv = self.programs.current(shop_id)
            self._count(uow, row.id, order, guest_key)
            member = self._enrol(shop_id, order.customer_id, email, name, locale) if order.customer_id else None
            earning = calculate(pv.program, order, self._context(uow, member.id if member else None, pv),
                                version=pv.version)
            applied, order_ids, fractions = {}, [], {}
            for r in refunds:
                if r.refund_id in applied:
                    continue
                fractions = refund_fractions(earning.shares, earning.base, r, fractions) if earning.shares else fractions
                applied[r.refund_id] = _refund_json(r)
                order_ids.append(r.refund_id)
            self._save(uow, row.id, history_only=True, member_id=member.id if member else None, base=earning.base,
                       points=0, credit=Decimal(0), placed_at=order.placed_at, program_version=pv.version,
                       shares=_shares_json(earning.shares), lines_at=order.updated_at, products=_products_json(order),
                       refunds={"applied": applied, "order": order_ids, "fractions": self._fractions_json(fractions)})
            return OrderOutcome(order.order_id, "history", explanation=f"recorded without points (base {earning.base})")

    def note(self, shop_id: int, order: Order) -> OrderOutcome:
        """An order we have seen but that does not earn yet (unpaid): keep its record."""
        with self.db.uow(shop_id) as uow:
            row = self._lock(uow, order.order_id, order.currency)
            if row.placed_at is None:
                self._save(uow, row.id, placed_at=order.placed_at)
        return OrderOutcome(order.order_id, "noted")

    # -- order rollups (analytics) --------------------------------------------------------
    @staticmethod
    def net_sales(order: Order) -> Decimal:
        """Lines after discounts plus shipping, without tax; gift cards sold are not sales."""
        lines = sum(((li.total - li.tax) if order.taxes_included else li.total
                     for li in order.lines if not li.gift_card), Decimal(0))
        shipping = order.shipping - order.shipping_tax if order.taxes_included else order.shipping
        return lines + shipping

    @staticmethod
    def _figures(total: Decimal, returning: bool, redeemed: bool) -> dict:
        """What one order adds to its day's rollup row."""
        return {"orders": 1, "revenue": total, "returning_orders": int(returning), "new_customers": int(not returning),
                "redemption_orders": int(redeemed), "redemption_revenue": total if redeemed else Decimal(0)}

    def _count(self, uow: UnitOfWork, row_id: int, order: Order, guest_key: str | None) -> None:
        """First time the order is seen paid: count it in its day's rollup, in the same
        transaction as the order's row (so a retry never counts it twice)."""
        key = f"c:{order.customer_id}" if order.customer_id else (f"g:{guest_key}" if guest_key else None)
        returning = key is not None and uow.orders.customer_has_counted_order(key, other_than=row_id)
        redeemed = uow.orders.redeemed_on(order.order_id)
        total = self.net_sales(order)
        day = self._local_day(uow, order.placed_at or self.clock.now())
        self._add_to_day(uow, day, "member" if order.customer_id else "guest", self._figures(total, returning, redeemed))
        self._save(uow, row_id, counted=True, total=total, customer_key=key, redeemed=redeemed,
                   returning_customer=returning, placed_at=order.placed_at)

    @staticmethod
    def _add_to_day(uow: UnitOfWork, day: date, segment: str, figures: dict) -> None:
        """The day's rollup row is shared by every order of the shop that day: it is written at
        the end of the transaction (same transaction, so still counted once), holding its lock
        for one statement instead of for the rest of the order's work."""
        orders = uow.orders
        uow.at_end(lambda conn: orders.add_to_day(day, segment, figures))

    def _local_day(self, uow: UnitOfWork, when) -> date:
        """The day of `when` in the shop's time zone: the rollups count shop days, not UTC days.
        Under the shared lock a time-zone change's rebuild of the order rollup takes exclusively,
        the zone read as committed now (not a cached program): an order is counted either before
        the rebuild (which then counts it again on the new day) or after it, on the new day."""
        from ..storage.analytics_repo import lock_order_days
        from .analytics import local_day

        lock_order_days(uow.conn, uow.orders.shop_id)
        return local_day(when, uow.rollups.zone(uow.orders.shop_id))

    def _uncount(self, uow: UnitOfWork, row) -> None:
        """A cancelled order leaves the figures (on the day it was counted)."""
        figures = self._figures(Decimal(row.total or 0), bool(row.returning_customer), bool(row.redeemed))
        self._add_to_day(uow, self._local_day(uow, row.placed_at or row.created_at),
                         "member" if (row.customer_key or "").startswith("c:") else "guest",
                         {k: -v for k, v in figures.items()})
        self._save(uow, row.id, counted=False)


def order_from_json(data: dict) -> Order:
    """The neutral order as the admin API and tests write it (connectors build it directly)."""
    from ..domain.earning import OrderLine

    lines = tuple(OrderLine(
        line_id=str(li["line_id"]), quantity=int(li.get("quantity", 1)), total=Decimal(str(li["total"])),
        tax=Decimal(str(li.get("tax", "0"))), product_id=li.get("product_id"),
        gift_card=bool(li.get("gift_card", False)), collections=frozenset(li.get("collections", [])),
        tags=frozenset(li.get("tags", [])), product_type=li.get("product_type"), title=li.get("title", ""),
    ) for li in data["lines"])
    return Order(order_id=str(data["order_id"]), currency=data["currency"], placed_at=data["placed_at"],
                 lines=lines, customer_id=data.get("customer_id"),
                 shipping=Decimal(str(data.get("shipping", "0"))),
                 shipping_tax=Decimal(str(data.get("shipping_tax", "0"))),
                 tips=Decimal(str(data.get("tips", "0"))), taxes_included=bool(data.get("taxes_included", False)),
                 test=bool(data.get("test", False)))


