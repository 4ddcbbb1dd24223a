"""The ledger service: every posting is one transaction that locks the member's balance row,
checks the idempotency key, applies the domain rule, writes one append-only entry plus its lot
movements, and moves the cached balance by the same deltas.

Reasons: every posting says why, as a `Reason` (a code and its parameters, rendered in the
reader's language by services.explain) or, for a person's own words, as plain text (stored as the
code `note`). The English rendering is kept in the `reason` column for logs and the API. Neither
is part of a posting's fingerprint, so a replay that words its reason differently is the same
request.

Idempotency: a key names one posting per shop. Repeating a key with the same request returns
the original result (``replayed=True``) and changes nothing; the same key with a different
request is refused (`IdempotencyConflict`), in the manner of Stripe's idempotent requests.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Callable

from sqlalchemy.exc import IntegrityError

from ..domain.errors import IdempotencyConflict, InvalidRequest, InvalidState, NotFound
from ..domain.ledger import Account, Asset, Kind, Lot, Num, Reversal, Source, reversal
from ..domain.money import Money
from ..domain.ports import Clock, SystemClock, require_aware
from ..domain.reasons import Reason
from ..storage.db import Database
from ..storage.repos import LedgerRepo, MembersRepo, bucket_columns, to_num
from ..storage.uow import UnitOfWork
from ..domain.member_events import PointsPosted
from .explain import english

KEY_CONSTRAINT = "uq_ledger_entries_shop_key"


@dataclass(frozen=True)
class BalanceView:
    member_id: int
    points: int
    pending_points: int
    held_points: int
    lifetime_points: int
    credit: Money
    pending_credit: Money
    held_credit: Money
    lifetime_credit: Money
    version: int

    @classmethod
    def of(cls, row) -> "BalanceView":
        cur = row.currency
        return cls(row.member_id, int(row.points), int(row.points_pending), int(row.points_held),
                   int(row.points_lifetime), Money.of(row.credit, cur),
                   Money.of(row.credit_pending, cur), Money.of(row.credit_held, cur),
                   Money.of(row.credit_lifetime, cur), int(row.version))

    def to_json(self) -> dict:
        return {
            "points_balance": self.points, "pending_points": self.pending_points,
            "held_points": self.held_points, "lifetime_points": self.lifetime_points,
            "store_credit": self.credit.to_json(), "pending_credit": self.pending_credit.to_json(),
            "held_credit": self.held_credit.to_json(), "version": self.version,
        }


@dataclass(frozen=True)
class Posted:
    entry_id: int
    replayed: bool
    balance: BalanceView
    hold_id: int | None = None


def _fingerprint(request: dict) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _account(asset: Asset, bal, lots: list[Lot]) -> Account:
    avail, pending, held, lifetime = (to_num(asset, bal._mapping[c]) for c in bucket_columns(asset))
    return Account(asset, avail, pending, held, lifetime, lots)


class Ledger:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    # -- reading ---------------------------------------------------------------------------
    def entries(self, shop_id: int, member_id: int, *, before_id: int | None = None,
                limit: int = 50) -> list:
        """A member's entries, newest first, at most `limit`, older than `before_id` when given
        (rows with the `ledger_entries` columns). Empty for another shop's member."""
        with self.db.uow(shop_id) as uow:
            return uow.ledger.entries(member_id, before_id=before_id, limit=limit)

    def entry_asset(self, shop_id: int, entry_id: int) -> Asset | None:
        """What one of the shop's entries moved (points or credit); None when it has no such entry."""
        with self.db.uow(shop_id) as uow:
            entry = uow.ledger.entry(entry_id)
        return None if entry is None else Asset(entry.asset)

    # -- validation ------------------------------------------------------------------------
    @staticmethod
    def _check_common(key: str, source: Source | str, reason: str | Reason) -> Source:
        if not isinstance(key, str) or not 1 <= len(key) <= 255:
            raise InvalidRequest("idempotency key must be 1 to 255 characters")
        if not isinstance(reason, Reason) and (not isinstance(reason, str) or not reason.strip() or len(reason) > 500):
            raise InvalidRequest("reason must be 1 to 500 characters")
        try:
            return Source(source)
        except ValueError:
            raise InvalidRequest(f"unknown source {source!r}") from None

    @staticmethod
    def _amount(asset: Asset, amount: object, currency: str, *, signed: bool = False) -> Num:
        if asset == Asset.POINTS:
            if isinstance(amount, bool) or not isinstance(amount, int):
                raise InvalidRequest("points are whole numbers", amount=str(amount))
            value: Num = amount
        else:
            if isinstance(amount, Money):
                if amount.currency != currency:
                    raise InvalidRequest(f"store credit is kept in {currency}, not {amount.currency}")
                amount = amount.amount
            try:
                value = Money.of(amount, currency).amount
            except ValueError as exc:
                raise InvalidRequest(str(exc)) from None
        if value == 0 or (value < 0 and not signed):
            raise InvalidRequest("amount must be positive" if not signed else "amount must not be zero")
        return value

    # -- the one write path ----------------------------------------------------------------
    def _post(self, shop_id: int, member_id: int, key: str, request: dict,
              body: Callable[[UnitOfWork, object, datetime], tuple[int, int | None, object]]) -> Posted:
        """One posting, one unit of work (a savepoint of the caller's, when it has one open)."""
        fingerprint = _fingerprint(request)
        for attempt in range(2):
            uow = self.db.uow(shop_id)
            try:
                with uow:
                    bal = uow.members.lock_for_posting(member_id, key)
                    if bal is None:
                        raise NotFound("member not found")
                    if bal.prior_entry_id is None:
                        entry_id, hold_id, new_bal = body(uow, bal, self.clock.now())
                        return Posted(entry_id, False, BalanceView.of(new_bal), hold_id)
                    return self._replay(uow.ledger, uow.members, uow.ledger.entry(bal.prior_entry_id), fingerprint)
            except IntegrityError as exc:
                # The same key was taken at the same moment by a posting for another member
                # (postings for one member serialize on the balance lock). Look again.
                if attempt or not uow.retryable or (KEY_CONSTRAINT not in str(exc.orig)
                                                    and "idempotency_key" not in str(exc.orig)):
                    raise  # (in a flat transaction the whole delivery is tried again instead)
        with self.db.uow(shop_id) as uow:  # pragma: no cover - needs a two-member key race
            return self._replay(uow.ledger, uow.members, uow.ledger.entry_by_key(key), fingerprint)

    def _replay(self, repo: LedgerRepo, members: MembersRepo, prior, fingerprint: str) -> Posted:
        if prior.request_hash != fingerprint:
            raise IdempotencyConflict("idempotency key already used for a different request",
                                      entry_id=prior.id)
        hold_id = prior.hold_id
        if prior.kind == Kind.RESERVE:
            hold_id = repo.hold_of_reserve(prior.id).id
        return Posted(prior.id, True, BalanceView.of(members.balance(prior.member_id)), hold_id)

    def _write(self, uow: UnitOfWork, bal, asset: Asset, account: Account, effect, now: datetime,
               *, kind: Kind, key: str, request: dict, source: Source, reason: str | Reason, amount: Num,
               **fields) -> tuple[int, object]:
        """Insert the entry and apply its effect; returns the entry id and the new balance."""
        repo = uow.ledger
        why = reason if isinstance(reason, Reason) else Reason.note(reason.strip())
        reason = english(reason).strip()[:500] or why.code
        problems = [p for p in account.check() if "lots hold" not in p]  # lots are partial here
        if problems:  # pragma: no cover - a bug in the engine, never a user error
            raise AssertionError("; ".join(problems))
        entry_id = repo.insert_entry(
            member_id=bal.member_id, asset=asset, effect=effect, now=now, kind=kind.value,
            source=source.value, reason=reason, reason_code=why.code, reason_params=why.params, idempotency_key=key,
            request_hash=_fingerprint(request), amount=Decimal(amount), **fields)
        new_bal = repo.apply(member_id=bal.member_id, asset=asset, entry_id=entry_id, effect=effect, now=now)
        uow.collect(PointsPosted(
            shop_id=repo.shop_id, member_id=bal.member_id, at=now, entry_id=entry_id, kind=kind.value,
            asset=asset.value, available=Decimal(effect.available), pending=Decimal(effect.pending),
            held=Decimal(effect.held), lifetime=Decimal(effect.lifetime), balance=int(new_bal.points),
            balance_pending=int(new_bal.points_pending), reason=reason, source=source.value,
            credit_balance=Decimal(new_bal.credit) if asset == Asset.CREDIT else None))
        return entry_id, new_bal

    # -- operations on a member ------------------------------------------------------------
    def earn(self, shop_id: int, member_id: int, asset: Asset, amount: object, *, key: str,
             source: Source | str, reason: str | Reason, pending_until: datetime | None = None,
             expires_at: datetime | None = None, external_ref: str | None = None,
             program_version: int | None = None, details: dict | None = None,
             occurred_at: datetime | None = None) -> Posted:
        """Credit points or store credit; pending until `pending_until` if that is in the future.
        `occurred_at`: when the value was originally earned, if before now (imported history):
        its lot is that old for first-in-first-out spending, and tier windows count it then."""
        source = self._check_common(key, source, reason)
        require_aware(pending_until, "pending_until")
        require_aware(expires_at, "expires_at")
        require_aware(occurred_at, "occurred_at")
        asset = Asset(asset)
        # The pending and expiry dates are not part of the request's fingerprint: callers derive
        # them from the moment they post (domain.expiry), so a retry later is the same request.
        request = dict(op="earn", member=member_id, asset=asset, amount=str(amount), ref=external_ref)

        def body(uow: UnitOfWork, bal, now: datetime):
            repo = uow.ledger
            value = self._amount(asset, amount, bal.currency)
            account = _account(asset, bal, [])
            pending = pending_until is not None and pending_until > now
            earned = occurred_at if occurred_at is not None and occurred_at < now else None
            effect = account.earn(value, pending=pending, available_at=pending_until if pending else None,
                                  expires_at=expires_at, earned_at=earned)
            entry_id, new_bal = self._write(
                uow, bal, asset, account, effect, now, kind=Kind.EARN, key=key, request=request,
                source=source, reason=reason, amount=value, external_ref=external_ref,
                program_version=program_version, details=details, occurred_at=earned)
            return entry_id, None, new_bal

        return self._post(shop_id, member_id, key, request, body)

    def redeem(self, shop_id: int, member_id: int, asset: Asset, amount: object, *, key: str,
               source: Source | str, reason: str | Reason, external_ref: str | None = None) -> Posted:
        """Spend now, oldest lots first. Refused (`InsufficientBalance`) below zero."""
        return self._spend(Kind.REDEEM, shop_id, member_id, asset, amount, key=key, source=source,
                           reason=reason, external_ref=external_ref)

    def reserve(self, shop_id: int, member_id: int, asset: Asset, amount: object, *, key: str,
                source: Source | str, reason: str | Reason, expires_at: datetime | None = None,
                external_ref: str | None = None) -> Posted:
        """Hold value for a later commit or release (a cart discount awaiting its order)."""
        require_aware(expires_at, "expires_at")
        return self._spend(Kind.RESERVE, shop_id, member_id, asset, amount, key=key, source=source,
                           reason=reason, external_ref=external_ref, expires_at=expires_at)

    def _spend(self, kind: Kind, shop_id: int, member_id: int, asset: Asset, amount: object, *,
               key: str, source, reason: str | Reason, external_ref: str | None,
               expires_at: datetime | None = None) -> Posted:
        source = self._check_common(key, source, reason)
        asset = Asset(asset)
        request = dict(op=kind.value, member=member_id, asset=asset, amount=str(amount),
                       ref=external_ref, expires_at=expires_at)

        def body(uow: UnitOfWork, bal, now: datetime):
            repo = uow.ledger
            value = self._amount(asset, amount, bal.currency)
            account = _account(asset, bal, repo.active_lots(member_id, asset))
            effect = account.reserve(value) if kind == Kind.RESERVE else account.spend(value)
            entry_id, new_bal = self._write(uow, bal, asset, account, effect, now, kind=kind, key=key,
                                            request=request, source=source, reason=reason,
                                            amount=value, external_ref=external_ref)
            hold_id = None
            if kind == Kind.RESERVE:
                hold_id = repo.create_hold(member_id=member_id, asset=asset, entry_id=entry_id,
                                           amount=value, expires_at=expires_at, now=now)
            return entry_id, hold_id, new_bal

        return self._post(shop_id, member_id, key, request, body)

    def adjust(self, shop_id: int, member_id: int, asset: Asset, amount: object, *, key: str,
               actor: str, reason: str | Reason, expires_at: datetime | None = None) -> Posted:
        """A person's correction, up or down, recorded with who did it and why.

        Upward adjustments create a lot and count toward lifetime points; downward ones spend
        like a redemption and are refused below zero (use a reversal to claw back an earn).
        """
        source = self._check_common(key, Source.ADMIN, reason)
        if not isinstance(actor, str) or not actor.strip() or len(actor) > 255:
            raise InvalidRequest("an adjustment needs the person who made it (actor)")
        require_aware(expires_at, "expires_at")
        asset = Asset(asset)
        request = dict(op="adjust", member=member_id, asset=asset, amount=str(amount), actor=actor)

        def body(uow: UnitOfWork, bal, now: datetime):
            repo = uow.ledger
            value = self._amount(asset, amount, bal.currency, signed=True)
            if value > 0:
                account = _account(asset, bal, [])
                effect = account.earn(value, expires_at=expires_at)
            else:
                account = _account(asset, bal, repo.active_lots(member_id, asset))
                effect = account.spend(-value)
            entry_id, new_bal = self._write(
                uow, bal, asset, account, effect, now, kind=Kind.ADJUST, key=key, request=request,
                source=source, reason=reason, amount=abs(value), actor=actor.strip())
            return entry_id, None, new_bal

        return self._post(shop_id, member_id, key, request, body)

    # -- holds -----------------------------------------------------------------------------
    def commit(self, shop_id: int, hold_id: int, amount: object | None = None, *, key: str,
               source: Source | str, reason: str | Reason, external_ref: str | None = None,
               actor: str | None = None, details: dict | None = None) -> Posted:
        """Spend a hold, all of it or less (the rest returns to the member)."""
        return self._settle(shop_id, hold_id, amount, key=key, source=source, reason=reason,
                            external_ref=external_ref, commit=True, actor=actor, details=details)

    def release(self, shop_id: int, hold_id: int, *, key: str, source: Source | str,
                reason: str | Reason, actor: str | None = None,
                details: dict | None = None) -> Posted:
        """Give a hold back whole (the cart was abandoned or the order failed)."""
        return self._settle(shop_id, hold_id, None, key=key, source=source, reason=reason,
                            external_ref=None, commit=False, actor=actor, details=details)

    def _settle(self, shop_id: int, hold_id: int, amount, *, key: str, source, reason: str | Reason,
                external_ref: str | None, commit: bool,
                actor: str | None = None, details: dict | None = None) -> Posted:
        source = self._check_common(key, source, reason)
        with self.db.uow(shop_id) as uow:
            found = uow.ledger.hold(hold_id)
        if found is None:
            raise NotFound("hold not found")
        asset = Asset(found.asset)
        kind = Kind.COMMIT if commit else Kind.RELEASE
        request = dict(op=kind.value, hold=hold_id, amount=None if amount is None else str(amount))

        def body(uow: UnitOfWork, bal, now: datetime):
            repo = uow.ledger
            hold = repo.hold(hold_id, lock=True)
            if hold.state != "open":
                raise InvalidState(f"hold is already {hold.state}", hold_id=hold_id)
            held = to_num(asset, hold.amount)
            value = held if amount is None or not commit else self._amount(asset, amount, bal.currency)
            committed = value if commit else 0
            drawn = repo.drawn_lot_ids(hold.reserve_entry_id)
            lots_by_id = repo.lots_by_id(asset, drawn)
            account = _account(asset, bal, list(lots_by_id.values()))
            effect = account.settle_hold(held, committed, [lots_by_id[i] for i in dict.fromkeys(drawn)])
            entry_id, new_bal = self._write(
                uow, bal, asset, account, effect, now, kind=kind, key=key, request=request,
                source=source, reason=reason, amount=committed if commit else held,
                hold_id=hold_id, external_ref=external_ref,
                **({"actor": actor[:255]} if actor else {}), **({"details": details} if details else {}))
            repo.close_hold(hold_id, "committed" if commit else "released", committed, now)
            return entry_id, hold_id, new_bal

        return self._post(shop_id, found.member_id, key, request, body)

    # -- reversals -------------------------------------------------------------------------
    def reverse(self, shop_id: int, entry_id: int, amount: object | None = None, *, key: str,
                source: Source | str, reason: str | Reason, details: dict | None = None) -> Posted:
        """Undo all or part of an earn, redeem, commit or adjustment, pointing at it.

        Reversing a credit may take the balance below zero (see the domain's debt policy);
        the total reversed never exceeds the original amount.
        """
        source = self._check_common(key, source, reason)
        with self.db.uow(shop_id) as uow:
            found = uow.ledger.entry(entry_id)
        if found is None:
            raise NotFound("entry not found")
        asset = Asset(found.asset)
        request = dict(op="reverse", entry=entry_id, amount=None if amount is None else str(amount))

        def body(uow: UnitOfWork, bal, now: datetime):
            repo = uow.ledger
            orig = repo.entry(entry_id)
            kind = Kind(orig.kind)
            available, pending = bucket_columns(asset)[:2]
            takes_back = reversal(kind, orig._mapping[available] + orig._mapping[pending]) == Reversal.TAKE_BACK
            left = to_num(asset, Decimal(orig.amount) - repo.reversed_so_far(entry_id))
            if left <= 0:
                raise InvalidState("entry is already fully reversed", entry_id=entry_id)
            value = left if amount is None else self._amount(asset, amount, bal.currency)
            if value > left:
                raise InvalidRequest("reversal exceeds what is left of the entry",
                                     left=str(left), requested=str(value))
            lots = repo.active_lots(orig.member_id, asset)
            if takes_back:
                lot_row = repo.lot_of_entry(entry_id)
                lot = next((lot for lot in lots if lot.id == lot_row.id), None)
                if lot is None:
                    lot = repo.lots_by_id(asset, [lot_row.id])[lot_row.id]
                    lots.append(lot)
                account = _account(asset, bal, lots)
                effect = account.take_back(value, lot, counts_lifetime=orig._mapping[bucket_columns(asset)[3]] != 0)
            else:
                source_entry = repo.hold(orig.hold_id).reserve_entry_id if kind == Kind.COMMIT else entry_id
                drawn = list(dict.fromkeys(repo.drawn_lot_ids(source_entry)))
                known = {lot.id: lot for lot in lots}
                known.update({i: lot for i, lot in repo.lots_by_id(asset, [i for i in drawn if i not in known]).items()})
                account = _account(asset, bal, list(known.values()))
                effect = account.give_back(value, [known[i] for i in drawn])
            new_id, new_bal = self._write(
                uow, bal, asset, account, effect, now, kind=Kind.REVERSE, key=key, request=request,
                source=source, reason=reason, amount=value, reverses_entry_id=entry_id,
                details=details)
            return new_id, None, new_bal

        return self._post(shop_id, found.member_id, key, request, body)

    # -- periodic: vesting, expiry, stale holds --------------------------------------------
    # Periodic jobs find due work across every shop (named cross-tenant scans, ids only), then
    # do each item in its own shop's unit of work.
    def vest_due(self, limit: int = 500) -> int:
        """Make pending lots whose time has come spendable. Safe to run anywhere, any time."""
        with self.db.uow() as uow:
            rows = uow.due.lots_to_vest(self.clock.now(), limit)
        return sum(self._lot_job(r, Kind.VEST, f"vest:{r.id}") for r in rows)

    def expire_due(self, limit: int = 500) -> int:
        with self.db.uow() as uow:
            rows = uow.due.lots_to_expire(self.clock.now(), limit)
        return sum(self._lot_job(r, Kind.EXPIRE, None) for r in rows)

    def lapse_member(self, shop_id: int, member_id: int, *, key_prefix: str, reason: str | Reason) -> int:
        """Expire every lot with value now, whatever its date (expiry by inactivity)."""
        with self.db.uow(shop_id) as uow:
            rows = uow.ledger.lots_with_value(member_id)
        return sum(self._lot_job(r, Kind.EXPIRE, f"{key_prefix}:{r.id}", force=True, reason=reason)
                   for r in rows)

    def _lot_job(self, row, kind: Kind, key: str | None, *, force: bool = False,
                 reason: str | Reason = Reason("expiry.expired")) -> int:
        asset = Asset(row.asset)
        with self.db.uow(row.shop_id) as uow:
            repo = uow.ledger
            bal = uow.members.balance(row.member_id, lock=True)
            lot = repo.lots_by_id(asset, [row.id])[row.id]  # re-read under the member's lock
            now = self.clock.now()
            if kind == Kind.VEST:
                if not lot.pending or repo.entry_by_key(key) is not None:
                    return 0
                account = _account(asset, bal, [lot])
                effect, reason = account.vest(lot), Reason("pending.ended")
                amount = effect.available
            else:
                due = lot.expires_at is not None and lot.expires_at <= now
                if lot.pending or lot.remaining <= 0 or not (due or force):
                    return 0
                # A lot can lapse again if a released hold put value back into it later;
                # the balance version makes each lapse its own key.
                key = f"{key or 'expire'}:{lot.id}:{bal.version}" if not force else f"{key}:{bal.version}"
                account = _account(asset, bal, [lot])
                effect = account.expire(lot)
                amount = -effect.available
            self._write(uow, bal, asset, account, effect, now, kind=kind, key=key,
                        request=dict(op=kind.value, lot=lot.id), source=Source.SYSTEM,
                        reason=reason, amount=amount, lot_id=lot.id)
            return 1

    def release_stale_holds(self, limit: int = 500) -> int:
        with self.db.uow() as uow:
            rows = uow.due.stale_holds(self.clock.now(), limit)
        done = 0
        for r in rows:
            try:
                self.release(r.shop_id, r.id, key=f"hold-expired:{r.id}", source=Source.SYSTEM,
                             reason=Reason("hold.expired"))
                done += 1
            except InvalidState:
                pass  # committed or released meanwhile
        return done
