"""Cashback paid as Shopify's native store credit (`cashback.payout = "shopify_store_credit"`,
Shopify shops only): the ledger stays the record; the customer's Shopify store credit account
mirrors it, so the shopper spends the credit at Shopify's own checkout.

What mirrors (asset `credit` only; every posting, whatever its source: cashback, a referral's
credit, a person's adjustment, a cart hold):
- The mirror keeps Shopify's balance equal to our *available* credit, never below zero. Every
  credit posting that moves ``max(available, 0)`` gets one mirror row for its ledger entry: a
  rise is a `storeCreditAccountCredit`, a fall a `storeCreditAccountDebit`. So an earn that is
  available at once and a vest credit; a pending earn moves nothing (it credits when it vests); a
  reversal of available credit (refund, cancellation), a redemption and a cart hold debit; a
  released hold or a reversed redemption credits again. The part of a credit that pays off a debt
  (a reversal took the balance below zero) moves nothing on Shopify, whose balance cannot be
  negative.
- A credit carries its lot's expiry as `expiresAt` (earn, vest, upward adjustment). Shopify then
  expires it itself ("Expiration transactions are created automatically when a store credit
  account credit transaction expires"), so our own `expire` entry of such a lot, when its date has
  come, is not mirrored (no double debit). A lot lapsed before its date (expiry by inactivity) or
  one credited without a date is debited. A credit whose expiry is already past when it is sent
  is skipped (Shopify refuses EXPIRES_AT_IN_PAST; our ledger lapses it too).
- Not mirrored: points; entries of shops on another platform or with the payout set to the
  ledger; members without a Shopify customer id (guests, pseudonymised members: a row `skipped`).

How (transactional outbox): the posting's handler (services.handlers, inside the ledger's
transaction, no HTTP) writes one `store_credit_mirror` row per entry, keyed by (shop, entry id),
so a replayed webhook, a retried job or a duplicate event never makes a second row. The periodic
job `mirror_store_credit` sends rows after the commit, a member's rows in ledger order (a debit
never overtakes the credit it takes back), each call in its own short transaction:
1. claim the row (state `sending`, a lease, one more attempt) and commit;
2. call Shopify, then record the outcome at once: `done` with Shopify's transaction id, or
   `failed` (Shopify refused: a definite answer, nothing happened there), or back to `pending`
   with a backoff when the outcome is unknown (timeout, 5xx, throttled).
Shopify's store credit mutations take no idempotency key (StoreCreditAccountCreditInput:
creditAmount, expiresAt, notify; StoreCreditAccountDebitInput: debitAmount) and no reference of
ours, so a blind retry could pay twice. Hence: a row that was ever tried before (attempts > 0: an
unknown outcome, a crash between the call and its record, a lease that ran out) is first
*resolved* by reading the account's latest transactions: a transaction of the same type, amount
(and expiry, for a credit), made as an ADJUSTMENT (an API or admin change, not checkout's own)
after the row was made, and not already claimed by another row (`shopify_txn_id` is unique per
shop) is this row's, and the row is `done` without a second call. Only when none is there is the
call made again. (Residual risk, documented: a merchant's manual adjustment of the very same
amount in that window could be taken for ours.)

Reconciliation (`reconcile_store_credit`, periodic): for each Shopify shop with the payout on,
refused rows and rows in their backoff are tried again (each resolved first, as above; a refused
one at most MAX_ATTEMPTS times), then for each mirrored member:
- what Shopify's checkout did to the account comes into the ledger: a payment with store credit
  (a debit with event ORDER_PAYMENT or RECURRING_PAYMENT) is a `redeem`, a reverted payment (a
  debit revert naming that debit) reverses it; keyed `shopify-sc:<transaction id>`, so each lands
  once, and never mirrored back (the account moved already);
- our available credit is compared with the account's balance, and the result kept
  (`store_credit_checks`); the Operations page and the admin API show every difference.
Differences it does not repair: changes made by hand in Shopify's admin (not ours to undo), more
spent at checkout than the ledger holds (the redemption is refused and the reason kept), balances
earned before the payout was switched on (not pushed), and lots that Shopify and we drain in a
different order (Shopify spends "the soonest expiring credit first", our reversals take back their
own lot first) and so expire different amounts. A row refused MAX_ATTEMPTS times stays `failed`
and holds the member's later rows back (shown to the merchant).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable

from ..domain.errors import DomainError, PlatformError, PlatformUnavailable
from ..domain.ledger import Asset, Source
from ..domain.member_events import PointsPosted
from ..domain.money import Money
from ..domain.ports import Clock, StoreCreditAccounts, SystemClock
from ..domain.reasons import Reason
from ..i18n import N_
from ..storage.db import Database
from .explain import fixed

log = logging.getLogger(__name__)

PAYOUT = "shopify_store_credit"
LEASE = timedelta(seconds=120)  # longer than a call with the SDK's retries can take
MATCH_SKEW = timedelta(minutes=5)  # clocks: ours and Shopify's createdAt
MAX_ATTEMPTS = 10
RESOLVE_WINDOW = 50  # latest transactions read to resolve an unknown outcome
IMPORTED = "shopify-sc:"  # ledger keys of what Shopify's checkout did to the account (never mirrored back)
CHECKOUT_EVENTS = {"ORDER_PAYMENT", "RECURRING_PAYMENT"}  # the shopper paid with store credit


fixed("store_credit.spent", N_("Spent at the Shopify checkout"))
fixed("store_credit.returned", N_("Given back: the Shopify checkout payment was reverted"))


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … up to 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


@dataclass(frozen=True)
class MirrorOutcome:
    sent: int = 0  # calls that succeeded
    resolved: int = 0  # unknown outcomes found already applied on Shopify (no second call)
    failed: int = 0  # refused
    waiting: int = 0  # unknown outcome or throttled: tried again later


class StoreCreditMirror:
    def __init__(self, db: Database, programs, accounts_for: Callable[[int], StoreCreditAccounts],
                 clock: Clock | None = None, ledger=None) -> None:
        self.db, self.programs, self.accounts_for, self.ledger = db, programs, accounts_for, ledger
        self.clock = clock or SystemClock()

    # -- the handler of postings (in the ledger's transaction: rows only, no calls) ------
    def enabled(self, uow, shop_id: int) -> bool:
        shop = uow.shops.by_id(shop_id)
        if shop is None or shop.platform != "shopify":
            return False
        return self.programs.current(shop_id).program.cashback.payout == PAYOUT

    def after_posting(self, uow, e: PointsPosted) -> None:
        if e.asset != "credit" or e.credit_balance is None or e.available == 0:
            return
        after = Decimal(e.credit_balance)
        change = max(after, Decimal(0)) - max(after - Decimal(e.available), Decimal(0))
        if change == 0 or not self.enabled(uow, e.shop_id):
            return
        repo = uow.store_credit
        entry = uow.ledger.entry(e.entry_id)
        if entry.idempotency_key.startswith(IMPORTED):
            return  # Shopify's checkout did it to the account already
        lot_id = expires_at = None
        if change < 0 and e.kind == "expire" and entry.lot_id is not None:
            credited = repo.credit_of_lot(entry.lot_id)
            if credited is not None and (credited.state == "skipped" or (
                    credited.expires_at is not None and credited.expires_at <= e.at)):
                return  # Shopify expires that credit itself (or never had it): no second debit
        if change > 0 and e.kind in ("earn", "vest", "adjust"):  # a new lot's value: send its expiry
            if e.kind == "vest":
                lot_id = entry.lot_id
            else:
                lot_row = uow.ledger.lot_of_entry(e.entry_id)
                lot_id = lot_row.id if lot_row is not None else None
            if lot_id is not None:
                lot = uow.ledger.lots_by_id(Asset.CREDIT, [lot_id]).get(lot_id)
                expires_at = lot.expires_at if lot is not None else None
        member = uow.members.by_id(e.member_id)
        balance = uow.members.balance(e.member_id)
        customer = (member.platform_customer_id if member is not None else "") or ""
        state, error = "pending", None
        if not customer.isdigit():
            state, error = "skipped", "no Shopify customer"
        elif expires_at is not None and expires_at <= e.at:
            state, error = "skipped", "expired before it was sent"
        repo.add(member_id=e.member_id, entry_id=e.entry_id, direction="credit" if change > 0 else "debit",
                 amount=abs(change), currency=balance.currency, expires_at=expires_at, lot_id=lot_id,
                 now=e.at, state=state, error=error)

    # -- sending (periodic job, after the commit) ---------------------------------------
    def _shops(self) -> list[int]:
        with self.db.uow() as uow:
            return uow.jobs.installed_shop_ids_on(("shopify",))  # cross-tenant: ids only

    def run(self, *, include_failed: bool = False, limit: int = 200) -> int:
        """Send what is due in every Shopify shop; the number of rows settled."""
        done = 0
        for shop_id in self._shops():
            out = self.mirror(shop_id, include_failed=include_failed, limit=limit)
            done += out.sent + out.resolved
        return done

    def mirror(self, shop_id: int, *, include_failed: bool = False, limit: int = 200) -> MirrorOutcome:
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            members = uow.store_credit.members_with_unsettled(now, include_failed=include_failed, limit=limit)
        totals = _Tally()
        if not members:
            return totals.outcome()
        try:
            accounts = self.accounts_for(shop_id)
        except PermissionError:  # uninstalled: nothing goes out
            return totals.outcome()
        for member_id in members:
            out = self._member(shop_id, member_id, accounts, include_failed)
            totals.add(out)
            if out.throttled:
                break  # the shop is throttled or down: the next run goes on
        return totals.outcome()

    def _member(self, shop_id: int, member_id: int, accounts: StoreCreditAccounts,
                include_failed: bool) -> "_Tally":
        tally = _Tally()
        with self.db.uow(shop_id) as uow:
            rows = uow.store_credit.unsettled_of(member_id)
            member = uow.members.by_id(member_id)
        customer = member.platform_customer_id if member is not None else ""
        for row in rows:  # in ledger order; the first row not settled stops the member's queue
            now = self.clock.now()
            if row.state == "failed" and (not include_failed or row.attempts >= MAX_ATTEMPTS):
                break
            if row.state == "pending" and row.next_attempt_at > now and not include_failed:
                break
            if not (customer or "").isdigit():  # pseudonymised since (customers/redact): nobody to pay
                self._settle(shop_id, row.id, "skipped", error="no Shopify customer")
                continue
            with self.db.uow(shop_id) as uow:
                before = uow.store_credit.claim(row.id, now, LEASE)
            if before is None:
                break  # another worker has it
            try:
                txn = self._resolve(accounts, customer, before) if before.attempts > 0 else None
                if txn is not None:
                    self._settle(shop_id, row.id, "done", txn_id=txn)
                    tally.resolved += 1
                    continue
                txn = self._call(accounts, customer, before)
            except PlatformUnavailable as exc:  # outcome unknown: read before any retry
                self._settle(shop_id, row.id, "pending", error=f"outcome unknown: {exc}"[:500],
                             retry_at=now + backoff(before.attempts + 1))
                tally.waiting += 1
                tally.throttled = True
                break
            except PlatformError as exc:  # refused: nothing happened on Shopify
                text = str(exc)[:500]
                if before.direction == "credit" and "EXPIRES_AT_IN_PAST" in text:
                    self._settle(shop_id, row.id, "skipped", error=text)
                    continue
                self._settle(shop_id, row.id, "failed", error=text)
                tally.failed += 1
                break
            self._settle(shop_id, row.id, "done", txn_id=txn)
            tally.sent += 1
        return tally

    def _settle(self, shop_id: int, row_id: int, state: str, *, txn_id: str | None = None,
                error: str | None = None, retry_at: datetime | None = None) -> None:
        with self.db.uow(shop_id) as uow:
            uow.store_credit.settle(row_id, state=state, now=self.clock.now(), txn_id=txn_id, error=error,
                                    retry_at=retry_at)

    @staticmethod
    def _call(accounts: StoreCreditAccounts, customer: str, row) -> str:
        amount = Money.of(row.amount, row.currency).amount
        if row.direction == "credit":
            return accounts.store_credit_credit(customer, amount, row.currency, expires_at=row.expires_at)
        return accounts.store_credit_debit(customer, amount, row.currency)

    def _resolve(self, accounts: StoreCreditAccounts, customer: str, row) -> str | None:
        """The Shopify transaction an earlier attempt of `row` made, if it made one."""
        account = accounts.store_credit_account(customer, row.currency, transactions=RESOLVE_WINDOW)
        if account is None:
            return None
        with self.db.uow(row.shop_id) as uow:
            claimed = uow.store_credit.claimed_txn_ids(row.member_id)
        amount = Money.of(row.amount, row.currency).amount
        since = row.created_at - MATCH_SKEW
        for tx in reversed(account["transactions"]):  # oldest first
            if tx["id"] in claimed or tx["type"] != row.direction or tx["amount"] != amount:
                continue
            if tx.get("event") not in (None, "ADJUSTMENT") or (tx["created_at"] and tx["created_at"] < since):
                continue
            if row.direction == "credit" and not _same_instant(tx.get("expires_at"), row.expires_at):
                continue
            return tx["id"]
        return None

    # -- reconciliation (periodic) --------------------------------------------------------
    def reconcile(self, *, per_shop: int = 200) -> int:
        """Repair, then compare: returns the number of members compared."""
        compared = 0
        for shop_id in self._shops():
            if self.programs.current(shop_id).program.cashback.payout != PAYOUT:
                self.mirror(shop_id)  # rows made while it was on are still owed
                continue
            compared += self.reconcile_shop(shop_id, per_shop=per_shop)
        return compared

    def reconcile_shop(self, shop_id: int, *, per_shop: int = 200) -> int:
        self.mirror(shop_id, include_failed=True, limit=per_shop)
        with self.db.uow(shop_id) as uow:
            members = uow.store_credit.mirrored_members(per_shop)
        try:
            accounts = self.accounts_for(shop_id)
        except PermissionError:
            return 0
        compared = 0
        for m in members:
            customer = m.platform_customer_id or ""
            if not customer.isdigit():
                continue
            theirs = error = None
            try:
                account = accounts.store_credit_account(customer, m.currency, transactions=RESOLVE_WINDOW)
                theirs = account["balance"] if account is not None else Decimal(0)
                if account is not None:
                    error = self._import_checkout(shop_id, m.member_id, m.currency, account)
            except PlatformUnavailable as exc:
                log.info("store credit check of shop %s waits: %s", shop_id, exc)
                break
            except PlatformError as exc:
                error = str(exc)[:500]
            with self.db.uow(shop_id) as uow:
                ours = max(Decimal(uow.members.balance(m.member_id).credit), Decimal(0))
                unsettled = len(uow.store_credit.unsettled_of(m.member_id))
                uow.store_credit.record_check(m.member_id, ours=ours, theirs=theirs, currency=m.currency,
                                              unsettled=unsettled, error=error, now=self.clock.now())
            compared += 1
        return compared

    def _import_checkout(self, shop_id: int, member_id: int, currency: str, account: dict) -> str | None:
        """What the shopper did with the credit at Shopify's checkout, into the ledger (the record):
        a payment with store credit is a redemption, a reverted payment (refund, cancellation,
        failed payment) gives it back. Keyed by Shopify's transaction id, so each lands once; these
        entries are not mirrored back. Returns why one could not be recorded, if one could not."""
        if self.ledger is None:
            return None
        with self.db.uow(shop_id) as uow:
            ours = uow.store_credit.claimed_txn_ids(member_id)
        problem = None
        for tx in reversed(account["transactions"]):  # oldest first
            if tx["id"] in ours or not tx.get("id"):
                continue
            try:
                if tx["type"] == "debit" and tx.get("event") in CHECKOUT_EVENTS:
                    self.ledger.redeem(shop_id, member_id, Asset.CREDIT, Money.of(tx["amount"], currency),
                                       key=f"{IMPORTED}{tx['id']}", source=Source.ORDER,
                                       reason=Reason("store_credit.spent"), external_ref=tx["id"][-255:])
                elif tx["type"] == "debit_revert" and tx.get("reverts"):
                    with self.db.uow(shop_id) as uow:
                        spent = uow.ledger.entry_by_key(f"{IMPORTED}{tx['reverts']}")
                    if spent is not None:
                        self.ledger.reverse(shop_id, spent.id, Money.of(tx["amount"], currency),
                                            key=f"{IMPORTED}{tx['id']}", source=Source.REFUND,
                                            reason=Reason("store_credit.returned"))
            except DomainError as exc:  # more spent there than we hold here: shown as a difference
                problem = f"{tx['id']}: {exc.message}"[:500]
        return problem

    # -- what the merchant sees ----------------------------------------------------------
    def overview(self, shop_id: int) -> dict:
        with self.db.uow(shop_id, savepoint=False) as uow:
            counts = uow.store_credit.counts()
            failed = uow.store_credit.failed()
            differences = uow.store_credit.differences()
            last = uow.store_credit.last_check()
        return {
            "counts": counts, "last_check": last,
            "failed": [{"member_id": r.member_id, "entry_id": r.entry_id, "direction": r.direction,
                        "amount": str(r.amount), "currency": r.currency, "attempts": r.attempts,
                        "error": r.last_error, "at": r.last_attempt_at or r.created_at} for r in failed],
            "differences": [{"member_id": r.member_id, "customer_id": r.platform_customer_id, "email": r.email,
                             "ours": str(r.ours), "theirs": None if r.theirs is None else str(r.theirs),
                             "difference": str(r.difference), "currency": r.currency, "unsettled": r.unsettled,
                             "error": r.error, "checked_at": r.checked_at} for r in differences],
        }


class _Tally:
    def __init__(self) -> None:
        self.sent = self.resolved = self.failed = self.waiting = 0
        self.throttled = False

    def add(self, other: "_Tally") -> None:
        self.sent += other.sent
        self.resolved += other.resolved
        self.failed += other.failed
        self.waiting += other.waiting

    def outcome(self) -> MirrorOutcome:
        return MirrorOutcome(self.sent, self.resolved, self.failed, self.waiting)


def _same_instant(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) < 1
