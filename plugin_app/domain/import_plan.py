"""What importing one member's rows does: the postings, the tier, the birthday, the code, and the
rows left out with why. Pure, so the dry run and the apply run the very same decision (the dry
run plans against the member as they are; applying plans again, then carries the plan out).

The rules (README, "Switching in"):
- A balance (`points` / `credit`) with mode "set" brings the member to it: the difference is
  credited (as the file's dated lots when the member has nothing yet) or spent; "add" credits or
  spends it as given (an adjustments file). A spend never goes below zero: a row that would is
  left out ("insufficient").
- A history file replays each member's lines in date order: credits become lots dated when they
  were earned (expiring when the file says, else by the program's rule from that date), spends,
  expiries and take-backs draw oldest first; a take-back larger than what is left is capped.
  Revoked and pending lines are left out.
- The same customer twice in a balance file: the first line counts, later ones are "duplicate";
  in a history file, a transaction id seen before is "duplicate". An adjustments file applies
  every line.
- A balance file's lot already past its expiry is left out ("expired"): the old app no longer
  counted it either.
- Tiers: "as_is" takes the file's tier by name (any case, or its name in any language);
  "recompute" decides it from the points earned in the program's window, counting imported
  points on the dates they were earned; "keep" leaves tiers alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from .expiry import expires_at as rule_expiry
from .imports import ImportRow
from .ledger import Asset
from .referrals import clean_any_code
from .tiers import decide, window_start

TIER_MODES = ("as_is", "recompute", "keep")
EXPIRY_FROM = ("earned", "import")
BALANCE_MODES = ("file", "add", "set")  # a balance adds to the member's or replaces it: as the file's app does, or as chosen


@dataclass(frozen=True)
class Options:
    tiers: str = "as_is"
    expiry_from: str = "earned"  # undated value's expiry counts from: earned (its date) or the import
    create_members: bool = True  # rows for customers not yet members become members
    balance: str = "file"  # "add" or "set" overrides what the file's importer says (Smile asks at upload)


@dataclass(frozen=True)
class MemberState:
    """The member as the import finds them (all zero/None for a member still to be created)."""
    member_id: int | None
    points: int = 0
    credit: Decimal = Decimal(0)
    tier: str | None = None
    tier_since: datetime | None = None
    tier_grace_until: datetime | None = None
    birthday: date | None = None
    code: str | None = None
    window_points: int = 0  # points earned in the tier window so far
    used_keys: frozenset[str] = frozenset()  # postings of this import already made (a re-run)


@dataclass(frozen=True)
class Op:
    """One posting: credit ("earn") or debit ("spend") of points or store credit."""
    line: int
    n: int  # its place among the row's postings (part of its key)
    direction: str  # earn | spend
    asset: str  # points | credit
    amount: int | Decimal
    why: str  # balance | history | adjustment
    earned_at: datetime | None = None
    expires_at: datetime | None = None
    label: str | None = None  # the old app's words, or the merchant's reason
    capped: bool = False


@dataclass
class GroupPlan:
    ops: list[Op] = field(default_factory=list)
    tier: str | None = None  # the tier to set (None: leave as is)
    birthday: date | None = None
    code: str | None = None
    profile: dict = field(default_factory=dict)  # e-mail, name, locale to fill in
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, outcome)
    notes: list[tuple[int, str]] = field(default_factory=list)  # (line, what was not taken: unknown_tier…)
    replayed: int = 0  # postings this import already made

    @property
    def changes(self) -> bool:
        return bool(self.ops or self.tier or self.birthday or self.code)


def key(prefix: str, op: Op) -> str:
    return f"{prefix}:{op.line}:{op.n}"


def tier_named(tiers, name: str | None) -> str | None:
    """The program's tier a file names: by name in any case, or by its name in any language."""
    if not name:
        return None
    wanted = " ".join(name.split()).casefold()
    for level in tiers.levels:
        if level.name.casefold() == wanted or any(v.strip().casefold() == wanted for v in level.names.values()):
            return level.name
    return None


def plan_member(state: MemberState, rows: list[ImportRow], *, program, options: Options, now: datetime,
                key_prefix: str, code_taken: bool = False) -> GroupPlan:
    """What importing `rows` (all for one member, in file order) does to `state`."""
    plan = GroupPlan()
    points, credit = state.points, state.credit
    window = state.window_points
    tz = ZoneInfo(program.timezone or "UTC")
    since = window_start(program.tiers, now, tz) if program.tiers.enabled else None
    seen_balance = False
    seen_txn: set[str] = set()
    ordered = sorted(rows, key=lambda r: ((r.txn.occurred_at or now) if r.txn else now, r.line))
    if options.balance != "file":
        ordered = [replace(r, mode=options.balance) if r.txn is None and r.reason is None else r for r in ordered]
    file_tier = None
    for row in ordered:
        if row.problems and _unusable(row):
            plan.skipped.append((row.line, row.problems[0][0]))
            continue
        for code, _column in row.problems:  # a value that could not be read; the rest of the row counts
            plan.notes.append((row.line, code))
        n = 0

        def add(direction: str, asset: str, amount, why: str, **kw) -> None:
            nonlocal n, points, credit, window
            op = Op(row.line, n, direction, asset, amount, why, **kw)
            n += 1
            if key(key_prefix, op) in state.used_keys:
                plan.replayed += 1
                return
            sign = 1 if direction == "earn" else -1
            if asset == "points":
                points += sign * amount
                if direction == "earn" and (since is None or (op.earned_at or now) >= since):
                    window += amount
            else:
                credit += sign * amount
            plan.ops.append(op)

        if row.txn is not None:
            t = row.txn
            if t.status != "approved":
                plan.skipped.append((row.line, t.status))
                continue
            if t.txn_id and t.txn_id in seen_txn:
                plan.skipped.append((row.line, "duplicate"))
                continue
            if t.txn_id:
                seen_txn.add(t.txn_id)
            when = t.occurred_at if t.occurred_at and t.occurred_at < now else None
            label = t.label or t.note
            for asset, value, have in (("points", t.points, points), ("credit", t.credit, credit)):
                if not value:
                    continue
                if value > 0:
                    exp = t.expires_at or _expiry(program, asset, when, now, options)
                    add("earn", asset, value, "history", earned_at=when, expires_at=exp, label=label)
                else:
                    take = min(-value, max(have, 0))
                    if take > 0:
                        add("spend", asset, take, "history", label=label, capped=take < -value)
                    if take < -value:
                        plan.notes.append((row.line, "capped"))
        elif row.mode == "add" and row.lots and sum(lot.points for lot in row.lots) == row.points:
            for lot in sorted(row.lots, key=lambda x: x.earned_at or now):  # dated credits, each its own lot
                if lot.expires_at and lot.expires_at <= now:
                    plan.notes.append((row.line, "expired"))
                    continue
                when = lot.earned_at if lot.earned_at and lot.earned_at < now else None
                add("earn", "points", lot.points, "balance", earned_at=when,
                    expires_at=lot.expires_at or _expiry(program, "points", when, now, options))
        elif row.mode == "add":
            why = "adjustment" if row.reason else "balance"  # a merchant's correction, or a balance added
            for asset, value, have in (("points", row.points, points), ("credit", row.credit, credit)):
                if not value:
                    continue
                if value > 0:
                    add("earn", asset, value, why, expires_at=_expiry(program, asset, None, now, options),
                        label=row.reason)
                elif -value > have:
                    plan.skipped.append((row.line, "insufficient"))
                    break
                else:
                    add("spend", asset, -value, why, label=row.reason)
        elif row.points is not None or row.lots or row.credit is not None:
            if seen_balance:
                plan.skipped.append((row.line, "duplicate"))
                continue
            seen_balance = True
            _balance(row, plan, add, program, options, now, points, credit)
        if row.tier and file_tier is None:
            file_tier = row.tier
        _profile(row, state, plan, code_taken)
    if options.tiers == "as_is" and file_tier:
        named = tier_named(program.tiers, file_tier)
        if named is None:
            plan.notes.append((rows[0].line, "unknown_tier"))
        elif named != state.tier:
            plan.tier = named
    elif options.tiers == "recompute" and program.tiers.enabled and program.tiers.basis == "points_earned":
        decision = decide(program.tiers, current=state.tier, since=state.tier_since,
                          grace_until=state.tier_grace_until, value=Decimal(window), now=now, tz=tz)
        if decision.tier != state.tier:
            plan.tier = decision.tier
    return plan


def _unusable(row: ImportRow) -> bool:
    """A row whose problems leave nothing to do: no customer, or the value it is about unreadable."""
    codes = {c for c, _ in row.problems}
    if "no_customer" in codes or "no_reason" in codes or "bad_email" in codes and not row.customer_id:
        return True
    if row.txn is None and row.points is None and row.credit is None and not row.lots:
        return bool(codes & {"bad_points", "bad_amount", "negative_balance", "no_reason"})
    return False


def _expiry(program, asset: str, earned: datetime | None, now: datetime, options: Options) -> datetime | None:
    start = earned if earned is not None and options.expiry_from == "earned" else now
    return rule_expiry(program, Asset(asset), start)


def _balance(row: ImportRow, plan: GroupPlan, add, program, options: Options, now: datetime,
             points: int, credit: Decimal) -> None:
    lots = [lot for lot in row.lots if lot.points > 0]
    live = [lot for lot in lots if not (lot.expires_at and lot.expires_at <= now)]
    if len(live) < len(lots):
        plan.notes.append((row.line, "expired"))
    target = row.points if row.points is not None else sum(lot.points for lot in live)
    if row.points is not None and live and sum(lot.points for lot in live) != row.points:
        live = []  # the lots do not add up to the balance: the balance wins, undated
    if target is not None:
        delta = target - points
        if delta > 0 and points == 0 and live:
            for lot in sorted(live, key=lambda x: x.earned_at or now):
                when = lot.earned_at if lot.earned_at and lot.earned_at < now else None
                add("earn", "points", lot.points, "balance", earned_at=when,
                    expires_at=lot.expires_at or _expiry(program, "points", when, now, options))
        elif delta > 0:
            add("earn", "points", delta, "balance", expires_at=_expiry(program, "points", None, now, options))
        elif delta < 0:
            add("spend", "points", -delta, "balance")
    if row.credit is not None:
        delta = row.credit - credit
        if delta > 0:
            add("earn", "credit", delta, "balance", expires_at=_expiry(program, "credit", None, now, options))
        elif delta < 0:
            add("spend", "credit", -delta, "balance")


def _profile(row: ImportRow, state: MemberState, plan: GroupPlan, code_taken: bool) -> None:
    if row.birthday and row.birthday != state.birthday and plan.birthday is None:
        plan.birthday = row.birthday
    if row.referral_code and plan.code is None:
        code = import_code(row.referral_code)
        if code is None:
            plan.notes.append((row.line, "bad_code"))
        elif code_taken:
            plan.notes.append((row.line, "code_taken"))
        elif code != state.code:
            plan.code = code
    for name in ("email", "name", "locale"):
        value = getattr(row, name)
        if value and name not in plan.profile:
            plan.profile[name] = value


def import_code(text: str | None) -> str | None:
    """A referral code brought from another app, as we store it: ours as they are; another
    app's kept when it is 4 to 32 letters, digits or underscores (dashes and spaces dropped, any
    case), so links already shared keep working. A link (…?ref=CODE, …/r/CODE) gives its code."""
    value = str(text or "").strip()
    if "/" in value or "=" in value:
        value = value.rstrip("/").rsplit("=", 1)[-1].rsplit("/", 1)[-1].split("?")[0].split("&")[0]
    return clean_any_code(value)

