"""The shop's members and ledger as CSV, in the layouts our importers named `members` and
`history` read, so that an export of one shop can be imported into another.

Both are streamed: the rows are read by id (keyset) a chunk at a time, each chunk in its own
short read, and turned into text as they go, so memory stays flat whatever the shop's size and
no transaction stays open while the client downloads. Text cells are made formula-safe
(services.csv_out); numbers and dates are ours and written as they are.

members.csv (also the balances export), one member per row:
  email, customer_id, name, points_balance (spendable now), store_credit (available, a plain
  decimal in the shop's currency), tier, birthday (YYYY-MM-DD, or --MM-DD when the year is not
  known), referral_code (as shoppers type it; empty when none was drawn yet), locale.

history.csv, one ledger entry per row, oldest first:
  email, customer_id, occurred_at (ISO 8601, UTC), points, store_credit, kind, expires_at (of the
  lot the entry made), order_id, transaction_id (our entry id), source (what made it: order,
  refund, action, admin, cart, referral, system), note (the reason, in English), status
  (pending while the entry's points are pending, else approved).

  `points` and `store_credit` are signed: the entry's change to what the member holds, available,
  pending and held together. So the rows of a member add up to their balance (available +
  pending + held), and a checkout's spend shows once, on the commit that spends it.
  Reservations at checkout, their release and the vesting of pending points only move value
  between those buckets (their change is always zero): they are internal and not listed.
  Kinds: earn -> earn; redeem and commit -> spend; expire -> expire; adjust -> adjust;
  reverse -> refund when it takes back points an order earned (an earn from an order), else
  adjust.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Iterator

from ..domain.birthdays import show as show_birthday
from ..domain.money import amount_text
from ..domain.referrals import display
from ..storage.db import Database
from ..storage.member_list_repo import MemberFilter
from .csv_out import csv_line, csv_text, safe_cell

CHUNK = 1000
MEMBER_COLUMNS = ("email", "customer_id", "name", "points_balance", "store_credit", "tier", "birthday",
                  "referral_code", "locale")
HISTORY_COLUMNS = ("email", "customer_id", "occurred_at", "points", "store_credit", "kind", "expires_at",
                   "order_id", "transaction_id", "source", "note", "status")
INTERNAL = {"reserve", "release", "vest"}
KINDS = {"earn": "earn", "redeem": "spend", "commit": "spend", "expire": "expire", "adjust": "adjust"}


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _order(ref: str | None) -> str:
    return ref[len("order:"):] if ref and ref.startswith("order:") else ""


def history_kind(kind: str, reversed_kind: str | None, reversed_source: str | None) -> str:
    if kind == "reverse":
        return "refund" if reversed_kind == "earn" and reversed_source == "order" else "adjust"
    return KINDS.get(kind, kind)


class Exports:
    def __init__(self, db: Database, programs) -> None:
        self.db, self.programs = db, programs

    def _entry_tier(self, shop_id: int) -> str | None:
        tiers = self.programs.for_reading(shop_id).program.tiers
        return tiers.levels[0].name if tiers.enabled and tiers.levels else None

    def members_csv(self, shop_id: int, *, tier: str | None = None, chunk: int = CHUNK) -> Iterator[str]:
        entry = self._entry_tier(shop_id)
        f = MemberFilter(tier=tier, entry_tier=entry)
        yield csv_line(MEMBER_COLUMNS)
        after = 0
        while True:
            with self.db.uow(shop_id, savepoint=False) as uow:
                rows = uow.member_list.chunk(f, after, chunk)
                codes = uow.member_export.referral_codes(rows[0].id, rows[-1].id) if rows else {}
            if not rows:
                return
            yield csv_text([safe_cell(v) for v in (
                r.email or "", r.platform_customer_id, r.name or "")] + [
                int(r.points), amount_text(r.credit, r.currency), safe_cell(r.tier or entry or ""),
                show_birthday(r.birthday) or "",  # ours: --MM-DD is a date, not a formula
                display(codes[r.id]) if r.id in codes else "", safe_cell(r.locale or "")]
                for r in rows)
            after = rows[-1].id

    def history_csv(self, shop_id: int, *, since: datetime | None = None, tier: str | None = None,
                    chunk: int = CHUNK) -> Iterator[str]:
        entry = self._entry_tier(shop_id)
        yield csv_line(HISTORY_COLUMNS)
        after = 0
        while True:
            with self.db.uow(shop_id, savepoint=False) as uow:
                currency = uow.shops.currency(shop_id) or "EUR"
                rows = uow.member_export.entries_chunk(after, chunk, since=since, tier=tier, entry_tier=entry)
                lots = uow.member_export.lots_of_entries([r.member_id for r in rows], [r.id for r in rows])
            if not rows:
                return
            yield csv_text(self._history_row(r, lots.get(r.id), currency) for r in rows if r.kind not in INTERNAL)
            after = rows[-1].id

    @staticmethod
    def _history_row(r, lot, currency: str) -> list:
        points = int(r.points + r.points_pending + r.points_held) if r.asset == "points" else 0
        credit = Decimal(r.credit + r.credit_pending + r.credit_held) if r.asset == "credit" else Decimal(0)
        return [safe_cell(r.email or ""), safe_cell(r.platform_customer_id), _when(r.created_at), points,
                amount_text(credit, currency), history_kind(r.kind, r.reversed_kind, r.reversed_source),
                _when(lot.expires_at if lot is not None else None),
                safe_cell(_order(r.external_ref) or _order(r.reversed_ref)), r.id, r.source,
                safe_cell(r.reason or ""), "pending" if lot is not None and lot.pending else "approved"]
