"""Finance: what the program owes its members in money, and how its movements are booked.

Pure rules; the figures come from `services.finance` over set-based queries of the ledger.

- Point value: a point is worth the money of the program's first fixed-amount reward divided by
  its points cost (the definition the analytics dashboard uses for its liability); a program with
  no fixed-amount reward gives points no money value (0) and says so.
- Liability: what members hold, available + pending + held (reserved by an open redemption), for
  points and store credit; debts (a balance taken below zero by a refund) reduce it.
- Journal: every entry's change of liability (available + pending + held) is one movement:
  issued (earned), redeemed (spent, committed holds), expired, reversed (an earning taken back or
  a spending given back), adjusted (by a person, either way), imported (brought from another app).
  Reserving, releasing and vesting move value between buckets and book nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LIABILITY = "Loyalty liability"
EXPENSE = "Loyalty expense"
DISCOUNTS = "Loyalty redemptions (sales discounts)"
BREAKAGE = "Breakage income"
OPENING = "Opening balance equity (imported balances)"

# (movement, direction) -> (debit account, credit account). Direction "+" when the movement adds
# to the liability, "-" when it takes from it.
ACCOUNTS: dict[tuple[str, str], tuple[str, str]] = {
    ("issued", "+"): (EXPENSE, LIABILITY),
    ("redeemed", "-"): (LIABILITY, DISCOUNTS),
    ("expired", "-"): (LIABILITY, BREAKAGE),
    ("reversed", "-"): (LIABILITY, EXPENSE),  # an earning taken back (refund)
    ("reversed", "+"): (DISCOUNTS, LIABILITY),  # a redemption given back
    ("adjusted", "+"): (EXPENSE, LIABILITY),
    ("adjusted", "-"): (LIABILITY, EXPENSE),
    ("imported", "+"): (OPENING, LIABILITY),
    ("imported", "-"): (LIABILITY, OPENING),
    ("issued", "-"): (LIABILITY, EXPENSE),  # not produced by the ledger; kept total for safety
    ("redeemed", "+"): (DISCOUNTS, LIABILITY),
    ("expired", "+"): (BREAKAGE, LIABILITY),
}
MOVEMENTS = ("issued", "redeemed", "expired", "reversed", "adjusted", "imported")

AGE_BUCKETS = (30, 90, 180, 365)  # days: 0-30, 31-90, 91-180, 181-365, over 365
FORECAST_DAYS = (30, 60, 90)
MIN_CLOSED_LOTS = 30  # fewer closed lots than this: too little history for a breakage rate


def point_value(program) -> tuple[Decimal, str]:
    """(money per point, the basis in words) under `program`."""
    fixed = next((r for r in program.rewards if r.type == "fixed_amount" and r.amount), None)
    if fixed is None:
        return Decimal(0), "no fixed-amount reward: points are given no money value"
    return (Decimal(fixed.amount) / fixed.points_cost,
            f"reward {fixed.id!r}: {fixed.amount} for {fixed.points_cost} points")


def movement(kind: str, source: str) -> str:
    """Which journal movement an entry of `kind` from `source` is (None: books nothing)."""
    if source == "import":
        return "imported"
    return {"earn": "issued", "redeem": "redeemed", "commit": "redeemed", "expire": "expired",
            "reverse": "reversed", "adjust": "adjusted"}.get(kind)


def zone(name: str | None):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def day_start(day: date, tz_name: str | None) -> datetime:
    """The first instant of the shop's day `day`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone(tz_name)).astimezone(timezone.utc)


def day_end(day: date, tz_name: str | None) -> datetime:
    """The last instant (inclusive, to the microsecond) of the shop's day `day`, in UTC."""
    return day_start(day + timedelta(days=1), tz_name) - timedelta(microseconds=1)


def shop_day(at: datetime, tz_name: str | None) -> date:
    return at.astimezone(zone(tz_name)).date()


@dataclass(frozen=True)
class Breakage:
    rate: Decimal | None  # share of value that lapsed unused; None: too little history
    closed_lots: int
    expired: Decimal
    used: Decimal


def breakage_rate(closed_lots: int, expired: Decimal, used: Decimal) -> Breakage:
    """Over lots whose expiry date has passed: the share that expired rather than being used.
    Too few such lots (or no value in them) gives no rate rather than an invented one."""
    total = expired + used
    if closed_lots < MIN_CLOSED_LOTS or total <= 0:
        return Breakage(None, closed_lots, expired, used)
    return Breakage((expired / total).quantize(Decimal("0.0001")), closed_lots, expired, used)
