"""The ledger's rules, as pure functions over one member's account in one asset.

An account has three buckets: *available* (spendable now), *pending* (earned, spendable later)
and *held* (reserved by an open hold). Spendable value lives in *lots*, one per credit, so that
expiry by age and first-in-first-out spending work.

Invariants (checked by `Account.check()` and by `loyalty audit` on the stored rows):
- the remaining amounts of active lots add up to ``max(available, 0)``;
- the remaining amounts of pending lots add up to ``pending``;
- ``0 <= lot.remaining <= lot.amount`` for every lot; ``pending >= 0`` and ``held >= 0``;
- spending (redeem, reserve, downward adjust, expiry) never takes ``available`` below zero.

Negative balance policy: only a *reversal* of something earned may take ``available`` below zero
(the shopper already spent the points an order earned, then the order was refunded). The
shortfall is a debt: the balance shows negative, nothing can be spent, and later credits pay the
debt off first (the part of a credit that pays debt creates no lot).

The engine mutates the `Account` it is given and returns an `Effect` describing what changed,
which the storage layer persists as one ledger entry plus lot rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from .errors import InsufficientBalance, InvalidRequest

Num = int | Decimal


class Asset(StrEnum):
    POINTS = "points"
    CREDIT = "credit"  # store credit, money in the shop's currency


class Kind(StrEnum):
    EARN = "earn"  # credit, immediately available or pending
    VEST = "vest"  # pending -> available when the pending period ends
    REDEEM = "redeem"  # spend
    RESERVE = "reserve"  # available -> held
    COMMIT = "commit"  # held -> spent (the uncommitted rest goes back to available)
    RELEASE = "release"  # held -> available
    REVERSE = "reverse"  # partial or full undo of an earlier entry
    ADJUST = "adjust"  # manual correction by a person, with who and why
    EXPIRE = "expire"  # a lot's remaining value lapses


class Source(StrEnum):
    ORDER = "order"
    REFUND = "refund"
    ACTION = "action"
    ADMIN = "admin"
    CART = "cart"
    REFERRAL = "referral"
    SYSTEM = "system"  # the ledger's own jobs: vesting and expiry
    IMPORT = "import"  # brought from the app a shop used before (services.imports)


# Entries that can be reversed, and which direction the reversal moves value.
REVERSIBLE_CREDITS = {Kind.EARN}  # reversal takes value back
REVERSIBLE_DEBITS = {Kind.REDEEM, Kind.COMMIT}  # reversal gives value back
# An adjustment goes either way: its sign decides (see `reversal`).
REVERSIBLE = frozenset(REVERSIBLE_CREDITS | REVERSIBLE_DEBITS | {Kind.ADJUST})


class Reversal(StrEnum):
    """Which way reversing an entry moves value."""
    TAKE_BACK = "take_back"  # the entry credited the member: value leaves again
    GIVE_BACK = "give_back"  # the entry debited the member: value returns


def reversal(kind: Kind | str, delta: Num) -> Reversal:
    """How an entry of `kind` is reversed. `delta` is what the entry added to the member's
    value (available plus pending; negative for a debit): only an adjustment needs it, to tell
    an upward correction from a downward one. Refused (`InvalidRequest`) for a kind that
    cannot be reversed (vest, reserve, release, reverse, expire)."""
    kind = Kind(kind)
    if kind in REVERSIBLE_CREDITS or (kind == Kind.ADJUST and delta > 0):
        return Reversal.TAKE_BACK
    if kind in REVERSIBLE_DEBITS or (kind == Kind.ADJUST and delta < 0):
        return Reversal.GIVE_BACK
    raise InvalidRequest(f"a {kind.value} entry cannot be reversed")


@dataclass(eq=False)
class Lot:
    id: int | None
    amount: Num
    remaining: Num
    pending: bool = False
    available_at: datetime | None = None
    expires_at: datetime | None = None
    earned_at: datetime | None = None  # set when older than its posting (imported history)


@dataclass
class Effect:
    """What one posting changes: bucket deltas, lot movements and at most one new lot."""

    available: Num = 0
    pending: Num = 0
    held: Num = 0
    lifetime: Num = 0
    draws: list[tuple[Lot, Num]] = field(default_factory=list)  # value taken out of lots
    restores: list[tuple[Lot, Num]] = field(default_factory=list)  # value put back into lots
    new_lot: Lot | None = None
    vested: Lot | None = None

    def touched(self) -> list[Lot]:
        seen: dict[int, Lot] = {}
        for lot, _ in self.draws + self.restores:
            seen[id(lot)] = lot
        if self.vested is not None:
            seen[id(self.vested)] = self.vested
        return [lot for lot in seen.values() if lot is not self.new_lot]


def _positive(amount: Num) -> None:
    if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)):
        raise InvalidRequest("amount must be an integer (points) or a Decimal (credit)")
    if amount <= 0:
        raise InvalidRequest("amount must be positive", amount=str(amount))


class Account:
    """One member's balance in one asset, with the lots the operation may touch.

    The caller loads every active lot with value (FIFO order: oldest first), and any specific
    lot an operation names (the lot of an earn being reversed, the lots a hold drew from).
    """

    def __init__(self, asset: Asset, available: Num = 0, pending: Num = 0, held: Num = 0,
                 lifetime: Num = 0, lots: list[Lot] | None = None) -> None:
        self.asset = asset
        self.available = available
        self.pending = pending
        self.held = held
        self.lifetime = lifetime
        self.lots: list[Lot] = list(lots or [])

    # -- building blocks -------------------------------------------------------------------
    def _take(self, amount: Num, effect: Effect, first: Lot | None = None) -> Num:
        """Draw `amount` from active lots (`first` before the FIFO order); return the shortfall."""
        need = amount
        order = [first] if first is not None and not first.pending else []
        order += [lot for lot in self.lots if lot is not first and not lot.pending]
        for lot in order:
            if need <= 0:
                break
            take = min(lot.remaining, need)
            if take > 0:
                lot.remaining -= take
                need -= take
                effect.draws.append((lot, take))
        return need

    def _give(self, amount: Num, effect: Effect, targets: list[Lot]) -> None:
        """Credit `amount` to available; the part above zero goes back into `targets`' free
        space (latest first), and what does not fit there into a new lot without expiry."""
        old = self.available
        self.available = old + amount
        effect.available += amount
        into_lots = max(self.available, 0) - max(old, 0)
        for lot in reversed(targets):
            if into_lots <= 0:
                break
            put = min(lot.amount - lot.remaining, into_lots)
            if put > 0:
                lot.remaining += put
                into_lots -= put
                effect.restores.append((lot, put))
        if into_lots > 0:
            lot = Lot(None, into_lots, into_lots)
            self.lots.append(lot)
            effect.new_lot = lot

    # -- operations ------------------------------------------------------------------------
    def earn(self, amount: Num, *, pending: bool = False, available_at: datetime | None = None,
             expires_at: datetime | None = None, counts_lifetime: bool = True,
             earned_at: datetime | None = None) -> Effect:
        _positive(amount)
        effect = Effect(lifetime=amount if counts_lifetime else 0)
        self.lifetime += effect.lifetime
        if pending:
            lot = Lot(None, amount, amount, True, available_at, expires_at, earned_at)
            self.pending += amount
            effect.pending = amount
        else:
            old = self.available
            self.available = old + amount
            effect.available = amount
            # The part of the credit that pays off a debt creates no spendable value.
            remaining = max(self.available, 0) - max(old, 0)
            lot = Lot(None, amount, remaining, False, available_at, expires_at, earned_at)
        self.lots.append(lot)
        effect.new_lot = lot
        return effect

    def vest(self, lot: Lot) -> Effect:
        if not lot.pending:
            raise InvalidRequest("lot is not pending")
        value = lot.remaining
        effect = Effect(pending=-value, available=value, vested=lot)
        self.pending -= value
        old = self.available
        self.available = old + value
        lot.pending = False
        lot.remaining = max(self.available, 0) - max(old, 0)
        return effect

    def spend(self, amount: Num) -> Effect:
        """Redeem (or adjust down): FIFO over lots; refused if it would go below zero."""
        _positive(amount)
        if amount > self.available:
            raise InsufficientBalance(
                "not enough balance", asset=str(self.asset), available=str(self.available),
                requested=str(amount))
        effect = Effect(available=-amount)
        shortfall = self._take(amount, effect)
        assert shortfall == 0, "lots out of step with the available balance"
        self.available -= amount
        return effect

    def reserve(self, amount: Num) -> Effect:
        effect = self.spend(amount)
        effect.held = amount
        self.held += amount
        return effect

    def settle_hold(self, held_amount: Num, commit_amount: Num, hold_lots: list[Lot]) -> Effect:
        """Close a hold: `commit_amount` is spent, the rest returns to the lots it came from."""
        if commit_amount < 0 or commit_amount > held_amount:
            raise InvalidRequest("commit amount must be between 0 and the held amount",
                                 held=str(held_amount), commit=str(commit_amount))
        effect = Effect(held=-held_amount)
        self.held -= held_amount
        rest = held_amount - commit_amount
        if rest > 0:
            self._give(rest, effect, hold_lots)
        return effect

    def take_back(self, amount: Num, lot: Lot, *, counts_lifetime: bool = True) -> Effect:
        """Reverse (part of) a credit: from its own lot first, then FIFO, then into debt."""
        _positive(amount)
        effect = Effect(lifetime=-amount if counts_lifetime else 0)
        self.lifetime += effect.lifetime
        if lot.pending:
            if amount > lot.remaining:
                raise InvalidRequest("reversal exceeds the pending lot")
            lot.remaining -= amount
            self.pending -= amount
            effect.pending = -amount
            effect.draws.append((lot, amount))
            return effect
        self._take(amount, effect, first=lot)  # the shortfall, if any, becomes debt
        self.available -= amount
        effect.available = -amount
        return effect

    def give_back(self, amount: Num, lots: list[Lot]) -> Effect:
        """Reverse (part of) a spend: value returns to the lots it was drawn from."""
        _positive(amount)
        effect = Effect()
        self._give(amount, effect, lots)
        return effect

    def expire(self, lot: Lot) -> Effect:
        value = lot.remaining
        if lot.pending or value <= 0:
            return Effect()
        lot.remaining = 0
        self.available -= value
        return Effect(available=-value, draws=[(lot, value)])

    # -- invariants ------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Return the invariants this account breaks (empty when sound). Needs every lot."""
        problems = []
        active = sum((lot.remaining for lot in self.lots if not lot.pending), 0)
        pending = sum((lot.remaining for lot in self.lots if lot.pending), 0)
        if active != max(self.available, 0):
            problems.append(f"active lots hold {active}, available is {self.available}")
        if pending != self.pending:
            problems.append(f"pending lots hold {pending}, pending is {self.pending}")
        if self.held < 0 or self.pending < 0:
            problems.append("held or pending below zero")
        for lot in self.lots:
            if not 0 <= lot.remaining <= lot.amount:
                problems.append(f"lot {lot.id} remaining {lot.remaining} outside 0..{lot.amount}")
        return problems
