"""`loyalty audit`: rebuild every balance from the ledger and check every invariant.

Read-only. Entries are streamed in id order per member and summed in Python with exact
integers and Decimals, so the result is the same on PostgreSQL and on SQLite.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from ..domain import ledger as ledger_rules
from ..domain.ledger import Asset, Kind
from ..storage.audit_repo import AuditRepo
from ..storage.db import Database
from ..storage.repos import bucket_columns

SPENDING = {Kind.REDEEM.value, Kind.RESERVE.value, Kind.EXPIRE.value}
REVERSIBLE = {k.value for k in ledger_rules.REVERSIBLE}
COLUMNS = bucket_columns(Asset.POINTS) + bucket_columns(Asset.CREDIT)


@dataclass
class AuditReport:
    shops: int = 0
    members: int = 0
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        return {"ok": self.ok, "shops": self.shops, "members": self.members,
                "entries": self.entries, "problems": self.problems[:1000],
                "problem_count": len(self.problems)}


def run_audit(db: Database, shop_id: int | None = None) -> AuditReport:
    """Audit one shop's books, or every shop's when `shop_id` is None."""
    report = AuditReport()
    with db.engine.connect() as conn:  # read-only; streams the ledger (see AuditRepo)
        books = AuditRepo(conn, shop_id)
        report.shops = books.shop_count()
        balances = {r.member_id: r._mapping for r in books.balances()}
        report.members = len(balances)
        sums: dict[int, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(COLUMNS, Decimal(0)))
        entries = {}
        reversed_total: dict[int, Decimal] = defaultdict(Decimal)
        reversals = []
        for e in books.entries():
            m = e._mapping
            report.entries += 1
            entries[e.id] = (e.shop_id, e.member_id, e.asset, e.kind, Decimal(e.amount),
                             m[bucket_columns(Asset(e.asset))[0]])
            running = sums[e.member_id]
            for col in COLUMNS:
                running[col] += Decimal(m[col])
            avail, pending, held, _ = bucket_columns(Asset(e.asset))
            spent = e.kind in SPENDING or (e.kind == Kind.ADJUST.value and m[avail] < 0)
            if spent and running[avail] < 0:
                report.problems.append(f"entry {e.id}: {e.kind} took member {e.member_id}'s "
                                       f"{e.asset} below zero ({running[avail]})")
            if running[pending] < 0 or running[held] < 0:
                report.problems.append(f"entry {e.id}: pending or held below zero")
            if e.reverses_entry_id is not None:
                reversals.append(e)
                reversed_total[e.reverses_entry_id] += Decimal(e.amount)

        for member_id, bal in balances.items():
            got = sums.get(member_id, dict.fromkeys(COLUMNS, Decimal(0)))
            for col in COLUMNS:
                if Decimal(bal[col]) != got[col]:
                    report.problems.append(f"member {member_id}: balance {col} is {bal[col]}, "
                                           f"its entries add up to {got[col]}")
        for member_id in sums.keys() - balances.keys():
            report.problems.append(f"member {member_id} has entries but no balance row")

        for e in reversals:
            orig = entries.get(e.reverses_entry_id)
            if orig is None:
                report.problems.append(f"reversal {e.id} points at missing entry {e.reverses_entry_id}")
                continue
            o_shop, o_member, o_asset, o_kind, o_amount, _ = orig
            if (o_shop, o_member, o_asset) != (e.shop_id, e.member_id, e.asset):
                report.problems.append(f"reversal {e.id} points at entry {e.reverses_entry_id} "
                                       "of another member or asset")
            if o_kind not in REVERSIBLE:
                report.problems.append(f"reversal {e.id} reverses a {o_kind} entry")
        for orig_id, total in reversed_total.items():
            if orig_id in entries and total > entries[orig_id][4]:
                report.problems.append(f"entry {orig_id} reversed by {total}, more than its "
                                       f"{entries[orig_id][4]}")

        for d in books.duplicate_keys():
            report.problems.append(f"shop {d.shop_id}: idempotency key {d.idempotency_key!r} used twice")

        _check_lots_and_holds(books, balances, report)
        _check_released_codes(books, report)
    return report


def _check_released_codes(books: AuditRepo, report: AuditReport) -> None:
    """No hold was given back whose code an order used (the shopper would have both the discount
    and the points). A merchant's recorded decision to give it back is not a leak."""
    for x in books.released_holds_of_used_codes():
        report.problems.append(f"shop {x.shop_id}: redemption {x.id}'s hold was released, but order "
                               f"{x.order_id} used its code {x.code}")


def _check_lots_and_holds(books: AuditRepo, balances, report: AuditReport) -> None:
    active: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    pending: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for lot in books.lots():
        remaining, amount = Decimal(lot.remaining), Decimal(lot.amount)
        if not 0 <= remaining <= amount:
            report.problems.append(f"lot {lot.id}: remaining {remaining} outside 0..{amount}")
        (pending if lot.pending else active)[(lot.member_id, lot.asset)] += remaining
    held: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for h in books.open_holds():
        held[(h.member_id, h.asset)] += Decimal(h.amount)
    for member_id, bal in balances.items():
        for asset in Asset:
            avail, pend, hold, _ = bucket_columns(asset)
            key = (member_id, asset.value)
            if active[key] != max(Decimal(bal[avail]), Decimal(0)):
                report.problems.append(f"member {member_id}: {asset} lots hold {active[key]}, "
                                       f"available is {bal[avail]}")
            if pending[key] != Decimal(bal[pend]):
                report.problems.append(f"member {member_id}: pending {asset} lots hold "
                                       f"{pending[key]}, pending is {bal[pend]}")
            if held[key] != Decimal(bal[hold]):
                report.problems.append(f"member {member_id}: open {asset} holds add up to "
                                       f"{held[key]}, held is {bal[hold]}")
