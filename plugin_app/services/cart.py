"""Cart time: what a cart will earn and what can be spent on it (quote), turning points or store
credit into a one-use platform code (apply: a ledger hold first, then the code), taking it back
(remove), and settling it when the paid order arrives with the code (commit the hold), or
letting it lapse (release the hold)."""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Callable, Protocol
from zoneinfo import ZoneInfo


from ..domain.earning import MemberContext, Order, OrderLine, calculate
from ..domain.errors import (DomainError, IdempotencyConflict, InsufficientBalance, InvalidRequest, InvalidState,
                             NotFound)
from ..domain.ledger import Asset, Source
from ..domain.money import Money, plain, quantum
from ..domain.ports import Clock, SystemClock
from ..domain.reasons import Reason, money as money_param
from ..domain.rewards import RewardUnavailable, credit_spend, gate, quote, reward_params
from ..domain.targeting import Audience, campaign_segment_ids, reward_segment_ids, uses_segments
from ..storage.targeting_repo import TargetingRepo
from ..domain.tiers import progress as tier_progress
from ..domain.tiers import window_start
from ..storage.db import Database
from ..storage.redemptions_repo import RedemptionsRepo
from ..storage.repos import MembersRepo
from ..storage.uow import UnitOfWork
from ..domain.member_events import RedemptionFlagged, RewardRedeemed
from .ledger import Ledger
from .members import Members
from .explain import render, tier_label_map, tier_labels
from .program import Programs
from .widget_texts import Texts, shopper_locale
from .tiers import TierService

CODE_MINUTES = 120  # how long a cart code lives on the platform
SETTLE_GRACE = timedelta(hours=6)  # the paid order may arrive late (Shopify retries for 4 hours)
LAPSE_GIVE_UP = timedelta(days=14)  # a platform that cannot be asked for this long: release anyway

log = logging.getLogger(__name__)


class PlatformUnavailable(DomainError):
    code = "platform_unavailable"
    status = 502


class InProgress(DomainError):
    code = "in_progress"
    status = 409


class CodeMaker(Protocol):
    def create_discount_code(self, *, code: str, title: str, customer_id: str, ends_at: str,
                             amount=None, percent=None, free_shipping: bool = False) -> str: ...

    def delete_discount(self, discount_id: str) -> None: ...

    def discount_usage(self, discount_id: str) -> int | None: ...


def code_key(code: str) -> str:
    """Discount codes are case-insensitive on both platforms (WooCommerce stores and returns them
    lower-cased; Shopify matches them in any case): every comparison goes through this."""
    return code.strip().lower()


@dataclass(frozen=True)
class CartLine:
    line_id: str
    quantity: int
    price: Decimal  # unit price, in the cart's currency
    discount: Decimal = Decimal(0)  # on the whole line
    product_id: str | None = None
    collections: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    product_type: str | None = None
    gift_card: bool = False


@dataclass(frozen=True)
class Cart:
    currency: str
    lines: tuple[CartLine, ...]
    discount: Decimal = Decimal(0)  # order-level, in the cart's currency
    rate: Decimal | None = None  # cart currency units per 1 unit of the shop's currency


def to_order(cart: Cart, shop_currency: str, now: datetime, customer_id: str | None) -> Order:
    """The cart as a neutral order in the shop's currency; the order-level discount is spread
    over the lines in proportion to their totals (the last line takes the rounding)."""
    if cart.currency != shop_currency and not cart.rate:
        raise InvalidRequest(f"the cart is in {cart.currency}; send the rate to {shop_currency}", field="rate")
    rate = cart.rate if cart.currency != shop_currency else None
    zero = Decimal(0)
    totals = [max(li.price * li.quantity - li.discount, zero) for li in cart.lines]
    gross = sum(totals, zero)
    if cart.discount > gross:
        raise InvalidRequest("the cart discount is larger than the cart", field="discount")
    if cart.discount:
        shares, left, cart_unit, last = [], cart.discount, quantum(cart.currency), len(totals) - 1
        for i, total in enumerate(totals):
            part = left if i == last else (cart.discount * total / gross if gross else zero).quantize(cart_unit)
            shares.append(part)
            left -= part
    else:  # no order discount: every line's share is nothing (what the spreading gives)
        shares = [cart.discount] * len(totals)
    unit = quantum(shop_currency)
    lines = tuple(OrderLine(li.line_id, li.quantity,
                            ((total - share) / rate if rate else total - share).quantize(unit, rounding=ROUND_HALF_EVEN),
                            product_id=li.product_id, gift_card=li.gift_card, collections=li.collections,
                            tags=li.tags, product_type=li.product_type)
                  for li, total, share in zip(cart.lines, totals, shares))
    return Order("cart", shop_currency, now, lines, customer_id)


class CartService:
    catalog = None  # services.catalog.Catalog: quotes read product facts from its cache only

    def __init__(self, db: Database, ledger: Ledger, members: Members, programs: Programs,
                 tiers: TierService, platform_for: Callable[[int], CodeMaker], clock: Clock | None = None) -> None:
        self.db, self.ledger, self.members, self.programs = db, ledger, members, programs
        self.tiers, self.platform_for, self.clock = tiers, platform_for, clock or SystemClock()

    @staticmethod
    def audience(repo: TargetingRepo, program, member_id: int | None, tier: str | None) -> Audience:
        """The member's tier and segments (read only when the program targets segments), with
        the names of the segments its rewards name (for the reasons)."""
        if member_id is None or not uses_segments(program):
            return Audience(tier)
        return Audience(tier, repo.member_segments(member_id), repo.names(reward_segment_ids(program)
                                                                          | campaign_segment_ids(program)))

    # -- quote -------------------------------------------------------------------------------
    def quote(self, shop_id: int, shop_currency: str, cart: Cart, customer_id: str | None,
              locale: str | None = None) -> dict:
        """What the cart earns and what can be spent on it. English explanations for API clients;
        beside them the shopper's texts (`text`, `name`, `reason_text`, `texts`) in `locale`, else
        the shop's language."""
        now = self.clock.now()
        pv = self.programs.for_reading(shop_id)
        program = pv.program
        lang = shopper_locale(program, locale)
        T = Texts(lang, program.widget.texts)
        t = T.t
        points_basis = program.tiers.enabled and program.tiers.basis == "points_earned"
        with self.db.reading() as conn:  # one query, one round trip
            member = None
            if customer_id:
                member = MembersRepo(conn, shop_id).for_quote(
                    customer_id, with_points_earned=points_basis,
                    points_since=window_start(program.tiers, now, ZoneInfo(program.timezone)))
            tier = None
            if program.tiers.enabled:
                tier = program.tiers.by_name(member.tier if member else None) or program.tiers.levels[0]
            audience = self.audience(TargetingRepo(conn, shop_id), program, member.id if member else None,
                                     tier.name if tier else None)
            order = to_order(cart, shop_currency, now, customer_id)
            if self.catalog is not None:
                order = self.catalog.cached(shop_id, order, program, conn)
            earning = calculate(program, order, MemberContext(tier, member.birthday if member else None,
                                                              audience.segments, dict(audience.names)),
                                version=pv.version)
            points = 0
            credit = Money.zero(shop_currency)
            progress = None
            if member is not None:
                points, credit = int(member.points), Money.of(member.credit, shop_currency)
            if program.tiers.enabled:
                if member is None:
                    value = Decimal(0)
                elif points_basis:
                    value = Decimal(member.points_earned)
                else:
                    value = self.tiers.qualifying_value(conn, program, shop_id, member.id, now)
                value += Decimal(earning.points) if program.tiers.basis == "points_earned" else earning.base
                after = tier_progress(program.tiers, value)  # where this cart's earning takes the member
                progress = {"tier_now": tier.name if tier else None, "tier_after": after.tier.name,
                            "next_tier": after.next.name if after.next else None,
                            "to_next": plain(after.to_next) if after.next else None,
                            "basis": program.tiers.basis}
        subtotal = Money.of(sum((li.total for li in order.lines), Decimal(0)), shop_currency)
        rewards = []
        labels = None  # the tier names in the shopper's language, for the refusals (once per quote)
        for reward in program.rewards:
            entry = {"id": reward.id, "name": reward.name_for(lang), "type": reward.type}
            try:
                q = quote(reward, subtotal, points_available=max(points, 0), tier=tier.name if tier else None,
                          audience=audience, now=now, timezone=program.timezone)
                entry.update(available=True, points=q.points, explanation=q.explanation,
                             value=q.discount.to_json() if q.discount else None,
                             percent=plain(q.percent) if q.percent is not None else None,
                             free_shipping=q.free_shipping)
                shown = q.discount
                if q.discount and cart.rate and cart.currency != shop_currency:
                    shown = Money((q.discount.amount * cart.rate).quantize(quantum(cart.currency)), cart.currency)
                    entry["value_in_cart_currency"] = shown.to_json()
                entry["value_text"] = (t.money(shown.amount, shown.currency) if shown else
                                       T("percent_off", percent=t.rate(q.percent)) if q.percent is not None else
                                       T("free_shipping") if q.free_shipping else T("free_product"))
                entry["cost_text"] = T("reward_cost", n=q.points)
            except InvalidRequest as why:
                code = why.why if isinstance(why, RewardUnavailable) and member else Reason("reward.sign_in")
                entry.update(available=False, reason=why.message if member else "sign in to use rewards",
                             reason_code=code.code)
                if labels is None:
                    labels = tier_label_map(program, lang)
                with tier_labels(labels):  # "Only for members at Argento"
                    entry["reason_text"] = render(code, t)
            rewards.append(entry)
        credit_usable = None
        if member is not None and program.store_credit.enabled:
            credit_usable = credit_spend(credit, subtotal, program.store_credit.max_cart_share).to_json()
        earn_text = T("cart_earn", n=earning.points)
        if earning.credit > 0:
            earn_text += " " + T("cart_cashback", amount=t.money(earning.credit, shop_currency))
        answer = {
            "locale": lang, "texts": T.table(),
            "earn": {"points": earning.points, "explanation": earning.summary, "text": earn_text,
                     "cashback": Money.of(earning.credit, shop_currency).to_json(),
                     "cashback_explanation": earning.credit_summary if earning.credit_notes else None},
            "tier": progress, "member": member is not None,
            "balance": {"points": points, "store_credit": credit.to_json()} if member else None,
            "store_credit_usable": credit_usable, "rewards": rewards,
            "subtotal": subtotal.to_json(), "program_version": pv.version,
        }
        if cart.currency != shop_currency:
            answer["currency_note"] = (f"cart in {cart.currency} converted to {shop_currency} at "
                                       f"{plain(cart.rate)} {cart.currency} per {shop_currency}")
        return answer

    # -- apply -------------------------------------------------------------------------------
    def apply(self, shop_id: int, shop_currency: str, customer_id: str, key: str, *, cart: Cart,
              reward_id: str | None = None, steps: int | None = None, credit: Decimal | None = None) -> dict:
        """Reserve, then create the platform code; the same key returns the same answer."""
        if (reward_id is None) == (credit is None):
            raise InvalidRequest("send either a reward_id or a store credit amount")
        fingerprint = hashlib.sha256(json.dumps([customer_id, reward_id, steps, str(credit)]).encode()).hexdigest()
        stored = self._stored(shop_id, key, fingerprint)
        if stored is not None:
            return stored
        member, _ = self.members.enrol(shop_id, customer_id)
        now = self.clock.now()
        program = self.programs.current(shop_id).program
        subtotal = Money.of(sum((li.total for li in to_order(cart, shop_currency, now, customer_id).lines),
                                Decimal(0)), shop_currency)
        _, bal = self.members.get(shop_id, member.id)
        if reward_id is not None:
            reward = program.reward(reward_id)
            if reward is None:
                raise NotFound(f"no reward {reward_id!r}")
            tier = (member.tier or program.tiers.levels[0].name) if program.tiers.enabled else None
            with self.db.uow(shop_id) as uow:  # who the member is now: tier, segments (server-enforced)
                audience = self.audience(uow.targeting, program, member.id, tier)
            gate(reward, audience, now, program.timezone)  # before the points: "not for you" says more
            if bal.points < reward.points_cost * (steps or 1):  # the same refusal as the ledger's
                raise InsufficientBalance("not enough points for this reward", available=str(bal.points),
                                          requested=str(reward.points_cost * (steps or 1)))
            q = quote(reward, subtotal, points_available=max(bal.points, 0), tier=tier, steps=steps,
                      audience=audience, now=now, timezone=program.timezone)
            asset, amount, title = Asset.POINTS, q.points, q.explanation
            what = reward_params(reward)
            value = {"amount": q.discount.amount if q.discount else None, "percent": q.percent,
                     "free_shipping": q.free_shipping}
        else:
            if not program.store_credit.enabled:
                raise InvalidRequest("store credit cannot be spent in this shop")
            money = credit_spend(bal.credit, subtotal, program.store_credit.max_cart_share,
                                 requested=Money.of(credit, shop_currency))
            asset, amount, title = Asset.CREDIT, money.amount, f"{money} store credit"
            what = {"credit": money_param(money.amount, shop_currency)}
            value = {"amount": money.amount, "percent": None, "free_shipping": False}
        expires = now + timedelta(minutes=CODE_MINUTES)
        with self.db.uow(shop_id) as uow:
            row_id = uow.redemptions.start(member_id=member.id, key=key, request_hash=fingerprint,
                                           reward_id=reward_id, asset=asset.value, amount=Decimal(amount),
                                           expires_at=expires, now=now)
            if row_id is None:
                raise InProgress("a request with this key is in progress; ask again")
            held = self.ledger.reserve(shop_id, member.id, asset, amount, key=f"redeem:{key}", source=Source.CART,
                                       reason=Reason("cart.hold", what))  # InsufficientBalance undoes it all
            uow.redemptions.update(row_id, hold_id=held.hold_id)
        code = "LOY-" + secrets.token_hex(5).upper()
        try:
            discount_id = self.platform_for(shop_id).create_discount_code(
                code=code, title=title, customer_id=customer_id, ends_at=expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                amount=value["amount"], percent=value["percent"], free_shipping=value["free_shipping"])
        except Exception as exc:
            self.ledger.release(shop_id, held.hold_id, key=f"redeem:{key}:failed", source=Source.CART,
                                reason=Reason("cart.not_created", what))
            answer = {"error": {"code": "platform_unavailable", "message": f"the discount code could not be created: {exc}"[:300]}}
            self._finish(shop_id, row_id, "failed", answer)
            raise PlatformUnavailable(answer["error"]["message"]) from None
        answer = {"redemption_id": row_id, "code": code, "expires_at": expires.isoformat(),
                  "asset": asset.value, "amount": str(amount), "title": title, "reward": what,
                  "value": {"amount": str(value["amount"]) if value["amount"] is not None else None,
                            "percent": plain(value["percent"]) if value["percent"] is not None else None,
                            "free_shipping": value["free_shipping"], "currency": shop_currency}}
        self._finish(shop_id, row_id, "issued", answer, code=code, code_key=code_key(code), platform_discount_id=discount_id)
        return answer

    def _stored(self, shop_id: int, key: str, fingerprint: str) -> dict | None:
        with self.db.uow(shop_id) as uow:
            row = uow.redemptions.by_key(key)
        if row is None:
            return None
        if row.request_hash != fingerprint:
            raise IdempotencyConflict("this idempotency key was used for a different redemption")
        if row.answer is None:
            raise InProgress("a request with this key is in progress; ask again")
        if "error" in row.answer:
            raise PlatformUnavailable(row.answer["error"]["message"])
        return row.answer

    def _finish(self, shop_id: int, row_id: int, status: str, answer: dict | None, **values) -> None:
        with self.db.uow(shop_id) as uow:
            uow.redemptions.update(row_id, status=status, answer=answer, updated_at=self.clock.now(), **values)

    # -- remove, settle, lapse ---------------------------------------------------------------
    def _row(self, shop_id: int, redemption_id: int):
        with self.db.uow(shop_id) as uow:
            return uow.redemptions.by_id(redemption_id)

    def remove(self, shop_id: int, customer_id: str, redemption_id: int) -> dict:
        """Before checkout: ask the platform whether an order used the code (then it is spent),
        else take the code off the platform first (so it cannot be used for free), then release."""
        row = self._row(shop_id, redemption_id)
        member = self.members.by_customer(shop_id, customer_id)[0] if row else None
        if row is None or member.id != row.member_id:
            raise NotFound("no such redemption")
        if row.status != "issued":
            return {"redemption_id": row.id, "status": row.status}
        platform = self.platform_for(shop_id)
        try:
            used = platform.discount_usage(row.platform_discount_id)
            if used is not None and not used:
                platform.delete_discount(row.platform_discount_id)
        except Exception as exc:
            raise PlatformUnavailable(f"the code could not be disabled: {exc}"[:300]) from None
        if used:  # an order was placed with it meanwhile: spent, not given back
            with self.db.uow(shop_id) as uow:
                current = uow.redemptions.by_id(row.id, lock=True)
                if current.status == "issued":
                    self._commit(uow, current, None, None, self._used(current), f"code:{current.code}")
            row = self._row(shop_id, redemption_id)
            return {"redemption_id": row.id, "status": row.status}
        self.ledger.release(shop_id, row.hold_id, key=f"redemption:{row.id}:removed", source=Source.CART,
                            reason=Reason("cart.removed", self._what(row)))
        self._finish(shop_id, row.id, "released", row.answer)
        return {"redemption_id": row.id, "status": "released"}

    def settle(self, shop_id: int, order_id: str, customer_id: str | None, codes: tuple[str, ...],
               cancelled: bool = False) -> list[str]:
        """The paid (or cancelled) order carries codes: remember them, and commit their holds to
        this order, once. Codes are compared case-insensitively (WooCommerce lower-cases them)."""
        notes = []
        now = self.clock.now()
        keys = list(dict.fromkeys(code_key(c) for c in codes if c and c.strip()))
        if keys:
            with self.db.uow(shop_id) as uow:
                uow.redemptions.remember_order_codes(order_id, keys, now)
        for key in keys:
            with self.db.uow(shop_id) as uow:
                row = uow.redemptions.by_code(key, lock=True)
                if row is None:
                    continue
                code = row.code
                owner = uow.members.by_id(row.member_id).platform_customer_id
                ref = f"order:{order_id}"
                if row.status == "committed" and row.order_id in (order_id, None):
                    if row.order_id is None:
                        # Committed when the platform said the code was used; now we know the order.
                        uow.redemptions.update(row.id, order_id=order_id, used_by=customer_id, updated_at=now)
                        if owner != customer_id:
                            uow.collect(RedemptionFlagged(shop_id=shop_id, member_id=row.member_id, at=now,
                                                          redemption_id=row.id, code=code, order_id=order_id,
                                                          reason="used by another customer"))
                        notes.append(f"{code} committed earlier; order {order_id} recorded")
                    if cancelled:
                        self._return_unlinked(uow, row, order_id)
                    continue
                if row.status != "issued" or owner != customer_id:
                    why = ("used by another customer" if owner != customer_id else
                           f"used on order {order_id} after it was {row.status}")
                    uow.collect(RedemptionFlagged(shop_id=shop_id, member_id=row.member_id, at=now, redemption_id=row.id,
                                                  code=code, order_id=order_id, reason=why))
                    if row.status == "issued":
                        uow.redemptions.update(row.id, status="flagged", order_id=order_id, used_by=customer_id,
                                               updated_at=now)
                    notes.append(f"{code} flagged: {why}")
                    continue
                self._commit(uow, row, order_id, customer_id, self._used(row, order_id), ref)
                notes.append(f"{code} committed")
        return notes

    def _return_unlinked(self, uow: UnitOfWork, row, order_id: str) -> None:
        """A commit made before its order was known is not tied to the order in the ledger, so
        the order's cancellation would not find it: return it here (with the key the order's
        cancellation uses, so it happens once)."""
        entry = uow.ledger.entry_by_key(f"redemption:{row.id}:commit")
        if entry is None or entry.external_ref == f"order:{order_id}":
            return  # tied to the order: its cancellation returns it
        try:
            self.ledger.reverse(row.shop_id, entry.id, key=f"order:{order_id}:return:{entry.id}", source=Source.REFUND,
                                reason=Reason("order.cancelled_return", {"order": order_id, "entry": entry.id}))
        except InvalidState:
            pass  # already returned

    @staticmethod
    def _what(row) -> dict:
        """What a redemption was for, as reason parameters (rows from before: the English title)."""
        answer = row.answer or {}
        return dict(answer.get("reward") or {"reward": answer.get("title", "reward")})

    def _used(self, row, order_id: str | None = None) -> Reason:
        return Reason("cart.used", {**self._what(row), **({"order": order_id} if order_id else {})})

    def _commit(self, uow: UnitOfWork, row, order_id: str | None, used_by: str | None, reason: Reason,
                ref: str) -> None:
        """Spend the held points for good (in the caller's unit of work, which holds the row's lock)."""
        now = self.clock.now()
        self.ledger.commit(row.shop_id, row.hold_id, key=f"redemption:{row.id}:commit", source=Source.ORDER,
                           reason=reason, external_ref=ref)
        uow.redemptions.update(row.id, status="committed", order_id=order_id, used_by=used_by, updated_at=now)
        uow.collect(RewardRedeemed(shop_id=row.shop_id, member_id=row.member_id, at=now, redemption_id=row.id,
                                   reward_id=row.reward_id, code=row.code, order_id=order_id, asset=row.asset,
                                   amount=row.amount))

    def failed(self, shop_id: int, limit: int = 50) -> list[dict]:
        """Redemptions the platform refused (the points went back), newest first."""
        with self.db.uow(shop_id) as uow:
            rows = uow.redemptions.failed(limit)
        return [{"id": x.id, "member_id": x.member_id, "reward_id": x.reward_id, "asset": x.asset,
                 "amount": str(int(x.amount)) if x.asset == "points" else str(x.amount), "at": x.created_at.isoformat(),
                 "reason": ((x.answer or {}).get("error") or {}).get("message", "")} for x in rows]

    def lapse(self) -> int:
        """Periodic: codes never used are taken off the platform and their holds released (after
        a grace for late orders). The platform is asked first: a code it says was used is
        committed instead (its order may still be on its way); a platform that cannot be asked
        keeps the hold until the next run (at most LAPSE_GIVE_UP)."""
        now = self.clock.now()
        with self.db.uow() as uow:  # every shop's: each row is then handled in its own shop's unit of work
            rows = RedemptionsRepo.due_to_lapse_in_every_shop(uow.conn, now - SETTLE_GRACE)
        done = 0
        for row in rows:
            try:
                done += self._lapse_one(row, now)
            except Exception as exc:  # noqa: BLE001 - one shop's platform must not stop the others
                log.warning("redemption %s not lapsed yet: %s", row.id, exc)
        return done

    def _lapse_one(self, row, now: datetime) -> int:
        platform = self.platform_for(row.shop_id)
        reason = Reason("cart.expired", self._what(row))
        try:
            used = platform.discount_usage(row.platform_discount_id) if row.platform_discount_id else None
        except Exception as exc:  # noqa: BLE001
            if row.expires_at > now - LAPSE_GIVE_UP:
                raise
            used, reason = None, Reason("cart.expired", {**self._what(row), "error": str(exc)[:200]})
        with self.db.uow(row.shop_id) as uow:
            current = uow.redemptions.by_id(row.id, lock=True)
            if current is None or current.status != "issued":
                return 0  # settled meanwhile
            if used:
                self._commit(uow, current, None, None, self._used(current), f"code:{current.code}")
                return 1
        if used is not None:  # still on the platform, unused: take it off before giving the points back
            platform.delete_discount(row.platform_discount_id)
        with self.db.uow(row.shop_id) as uow:
            current = uow.redemptions.by_id(row.id, lock=True)
            if current.status != "issued":
                return 0
            self.ledger.release(row.shop_id, row.hold_id, key=f"redemption:{row.id}:lapsed", source=Source.SYSTEM,
                                reason=reason)
            uow.redemptions.update(row.id, status="released", updated_at=now)
        return 1

    # -- flagged: the merchant decides -------------------------------------------------------
    def flagged(self, shop_id: int, limit: int = 100) -> list[dict]:
        """Codes used by another customer: the owner's points are still held, awaiting the
        merchant (and the ones decided, with who, when and why), newest first."""
        with self.db.uow(shop_id) as uow:
            rows = uow.redemptions.flagged_or_decided(limit)
        return [self._flag_json(x) for x in rows]

    @staticmethod
    def _flag_json(x) -> dict:
        return {"id": x.id, "code": x.code, "member_id": x.member_id, "owner_customer_id": x.owner,
                "owner_email": x.owner_email, "used_by_customer_id": x.used_by, "order_id": x.order_id,
                "reward_id": x.reward_id, "asset": x.asset,
                "amount": str(int(x.amount)) if x.asset == "points" else str(x.amount),
                "status": x.status, "decision": x.decision, "decided_by": x.decided_by,
                "decided_at": x.decided_at.isoformat() if x.decided_at else None, "reason": x.decision_reason,
                "flagged_at": x.updated_at.isoformat()}

    def decide(self, shop_id: int, redemption_id: int, *, decision: str, reason: str, actor: str) -> dict:
        """The merchant's decision on a flagged redemption: commit the hold (the owner pays for
        the code another customer used) or release it (the owner gets the points back). Once."""
        reason = (reason or "").strip()
        if decision not in ("commit", "release"):
            raise InvalidRequest("decide commit or release", field="decision")
        if not reason:
            raise InvalidRequest("say why", field="reason")
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            row = uow.redemptions.by_id(redemption_id, lock=True)
            if row is None:
                raise NotFound("no such redemption")
            if row.decision is not None or row.status != "flagged":
                raise InvalidState(f"this redemption is {row.status}"
                                   + (f" (decided by {row.decided_by})" if row.decided_by else "") + "; nothing to decide")
            flag = {"code": row.code, "order": row.order_id, "customer": row.used_by, "note": reason}
            details = {"redemption_id": row.id, "decision": decision, "decided_by": actor, "reason": reason,
                       "decided_at": now.isoformat(), "order_id": row.order_id, "used_by": row.used_by,
                       "code": row.code}
            common = dict(key=f"redemption:{row.id}:decision", source=Source.ADMIN, actor=actor,
                          details=details)
            if decision == "commit":
                self.ledger.commit(shop_id, row.hold_id, reason=Reason("cart.flag_charged", {**flag, "charged": True}),
                                   external_ref=f"order:{row.order_id}", **common)
                status = "committed"
            else:
                self.ledger.release(shop_id, row.hold_id, reason=Reason("cart.flag_returned", flag),
                                    **common)
                status = "released"
            uow.redemptions.update(row.id, status=status, decision=decision, decided_by=actor[:255],
                                   decided_at=now, decision_reason=reason[:500], updated_at=now)
            owner = uow.members.by_id(row.member_id)
            fresh = uow.redemptions.by_id(row.id)
        return self._flag_json(_Joined(fresh, owner.platform_customer_id, owner.email))


class _Joined:
    """A redemption row with its owner's customer id and email, like the list's joined rows."""

    def __init__(self, row, owner: str, owner_email: str | None) -> None:
        self._row, self.owner, self.owner_email = row, owner, owner_email

    def __getattr__(self, name):
        return getattr(self._row, name)
