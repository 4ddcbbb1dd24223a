"""What an order earns, and what a refund takes back: pure functions over neutral orders.

Connectors translate platform payloads into `Order` and `Refund`; nothing here knows a
platform. Every result carries its explanation, the same text for a preview and a posting.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal, getcontext
from fractions import Fraction
from zoneinfo import ZoneInfo

from .errors import InvalidRequest
from .money import MAX_AMOUNT, amount_text, exponent, plain, quantum
from .program import Campaign, Match, Program, Tier
from .reasons import Reason, money as money_param, num

ZERO = Decimal(0)


@dataclass(frozen=True)
class OrderLine:
    line_id: str
    quantity: int
    total: Decimal  # after line and allocated order discounts; includes tax if taxes_included
    tax: Decimal = ZERO
    product_id: str | None = None
    gift_card: bool = False
    collections: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    product_type: str | None = None
    title: str = ""


@dataclass(frozen=True)
class Order:
    order_id: str
    currency: str
    placed_at: datetime
    lines: tuple[OrderLine, ...]
    customer_id: str | None = None
    shipping: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    tips: Decimal = ZERO
    taxes_included: bool = False
    test: bool = False
    updated_at: datetime | None = None  # when the platform last changed it (orders the snapshots)
    unallocated_discount: Decimal = ZERO  # an order discount no line carried: spread over the lines

    def __post_init__(self) -> None:
        """An amount no shop charges (or a column can hold) is bad input, said once, here:
        a platform payload with such a price fails as invalid instead of overflowing a column."""
        if _all_plain_amounts(self):
            return  # the common case, checked without naming every amount (a 100-line cart quote)
        amounts = {"shipping": self.shipping, "shipping_tax": self.shipping_tax, "tips": self.tips,
                   "unallocated_discount": self.unallocated_discount}
        for line in self.lines:
            amounts[f"line {line.line_id} total"] = line.total
            amounts[f"line {line.line_id} tax"] = line.tax
        for name, value in amounts.items():
            if not (isinstance(value, (int, Decimal)) and Decimal(value).is_finite()
                    and abs(Decimal(value)) <= MAX_AMOUNT):
                raise InvalidRequest(f"order {self.order_id}: {name} {value} is not an amount "
                                     f"(at most {MAX_AMOUNT:,} per amount)", field=name)


def _all_plain_amounts(order: Order) -> bool:
    """Every amount of the order a finite Decimal (or int) within MAX_AMOUNT: then the check
    below passes, and need not be made. False says nothing (the check below decides)."""
    low, high = -MAX_AMOUNT, MAX_AMOUNT
    for value in (order.shipping, order.shipping_tax, order.tips, order.unallocated_discount):
        kind = type(value)
        if not ((kind is int or (kind is Decimal and value.is_finite())) and low <= value <= high):
            return False
    for line in order.lines:
        total, tax = line.total, line.tax
        if not (type(total) is Decimal and type(tax) is Decimal and total.is_finite() and tax.is_finite()
                and low <= total <= high and low <= tax <= high):
            return False
    return True


@dataclass(frozen=True)
class RefundLine:
    line_id: str
    quantity: int


@dataclass(frozen=True)
class Refund:
    refund_id: str
    lines: tuple[RefundLine, ...] = ()
    shipping: Decimal = ZERO  # shipping refunded (same tax basis as the order's shipping)
    amount: Decimal = ZERO  # refunded without naming lines: shared over the whole base
    # When set, `amount` is gross (tax and shipping included) and `of_total` is what the order
    # paid, gross too: the refunded share is amount / of_total of every part of the base
    # (WooCommerce's `refunds[].total`). Unset, `amount` is net and divided by the base.
    of_total: Decimal = ZERO


class Share:
    """One part of the base (an order line, shipping or tips) and what it earned, unrounded.

    `points` and `credit` are exact Fractions. `calculate` hands them over as exact scaled
    integers (`Scaled`) and they become Fractions only when read (a posting keeps them; a cart
    quote never reads them, so it never pays for the Fractions)."""
    __slots__ = ("key", "base", "quantity", "_points", "_credit")

    def __init__(self, key: str, base: Decimal, quantity: int, points: Fraction | Scaled,
                 credit: Fraction | Scaled) -> None:
        set_ = object.__setattr__
        set_(self, "key", key)
        set_(self, "base", base)
        set_(self, "quantity", quantity)
        set_(self, "_points", points)
        set_(self, "_credit", credit)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}")  # immutable, as the dataclass was

    @property
    def points(self) -> Fraction:
        value = self._points
        if type(value) is Scaled:
            value = value.fraction()
            object.__setattr__(self, "_points", value)
        return value

    @property
    def credit(self) -> Fraction:
        value = self._credit
        if type(value) is Scaled:
            value = value.fraction()
            object.__setattr__(self, "_credit", value)
        return value

    def _fields(self) -> tuple:
        return self.key, self.base, self.quantity, self.points, self.credit

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __reduce__(self):  # copy, deepcopy and pickle rebuild it through __init__
        return Share, self._fields()

    def __repr__(self) -> str:
        return (f"Share(key={self.key!r}, base={self.base!r}, quantity={self.quantity!r}, "
                f"points={self.points!r}, credit={self.credit!r})")


@dataclass(frozen=True)
class Earning:
    points: int
    credit: Decimal
    base: Decimal
    shares: tuple[Share, ...]
    notes: tuple[str, ...]  # the rules that applied, in order
    credit_notes: tuple[str, ...] = ()
    program_version: int | None = None
    # The same explanations as data (code + parameters per rule), for the reader's language:
    parts: tuple[Reason, ...] = ()
    credit_parts: tuple[Reason, ...] = ()
    currency: str = ""

    def reason(self, order_id: str) -> Reason:
        """The points entry's reason: the order, the points and each rule that applied."""
        return Reason("order.points", {"order": order_id, "points": self.points,
                                       "parts": [p.to_json() for p in self.parts]})

    def credit_reason(self, order_id: str) -> Reason:
        return Reason("order.cashback", {"order": order_id, "amount": money_param(self.credit, self.currency),
                                         "parts": [p.to_json() for p in self.credit_parts]})

    @property
    def summary(self) -> str:
        return f"{self.points} points: " + ", ".join(self.notes) if self.notes else f"{self.points} points"

    @property
    def credit_summary(self) -> str:
        return f"{format(self.credit, 'f')} credit: " + ", ".join(self.credit_notes)


@dataclass(frozen=True)
class MemberContext:
    tier: Tier | None = None
    birthday: date | None = None
    # The segments the member is in when the order earns (issue 20: a campaign limited to
    # segments applies only to them), and those segments' names for the explanation.
    segments: frozenset[int] = frozenset()
    segment_names: dict[int, str] = field(default_factory=dict)

    def for_campaign(self, c: Campaign) -> dict:
        """The reason's mention of the segments a campaign is limited to ({} when it is not):
        the names of those the member is in, so the bonus explains itself."""
        if not c.segments:
            return {}
        hit = [i for i in c.segments if i in self.segments]
        return {"segments": [self.segment_names.get(i) or f"#{i}" for i in hit], "segment_ids": hit}


def _folded(values) -> set[str]:
    return {str(v).strip().casefold() for v in values if v is not None}


def _for(seg: dict) -> str:
    """' (for VIP)' after a campaign limited to segments, in the English notes."""
    return f" (for {', '.join(seg['segments'])})" if seg.get("segments") else ""


def _fmt(value: Decimal) -> str:
    return plain(value)


def _money(value: Decimal, currency: str) -> str:
    return amount_text(value, currency)


def local(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(tz).replace(tzinfo=None)


def is_birthday(birthday: date | None, on: date, when: str) -> bool:
    if birthday is None:
        return False
    if when == "month":
        return birthday.month == on.month
    if (birthday.month, birthday.day) == (2, 29):  # celebrated on 28 February in common years
        leap = on.year % 4 == 0 and (on.year % 100 != 0 or on.year % 400 == 0)
        return (on.month, on.day) == ((2, 29) if leap else (2, 28))
    return (birthday.month, birthday.day) == (on.month, on.day)


def campaign_active(c: Campaign, at: datetime, tz: ZoneInfo, birthday: date | None,
                    segments: frozenset[int] | None = None) -> bool:
    """Whether the campaign applies to an order at `at` for a member with `birthday` in
    `segments` (None: segments not known, a campaign limited to segments does not apply)."""
    if c.segments and not (set(c.segments) & set(segments or ())):
        return False
    here = local(at, tz)
    if c.window is not None and not (c.window.starts_at <= here < c.window.ends_at):
        return False
    if c.days_of_week and here.weekday() not in c.days_of_week:
        return False
    if c.kind == "birthday":
        return is_birthday(birthday, here.date(), c.birthday_when)
    return True


def order_base(order: Order, program: Program) -> list[tuple[str, Decimal, int, OrderLine | None]]:
    """The parts of the base: (key, amount, quantity, line) for each counted line, shipping, tips."""
    rules = program.earning.base
    parts = []
    for line in order.lines:
        net = line.total - line.tax if order.taxes_included else line.total
        amount = net + (line.tax if rules.include_taxes else ZERO)
        parts.append((line.line_id, amount, line.quantity, line))
    if rules.include_shipping and order.shipping:
        net = order.shipping - order.shipping_tax if order.taxes_included else order.shipping
        parts.append(("shipping", net + (order.shipping_tax if rules.include_taxes else ZERO), 1, None))
    if rules.include_tips and order.tips:
        parts.append(("tips", order.tips, 1, None))
    return parts


# -- exact arithmetic -------------------------------------------------------------------------
# Every amount, rate and factor is a Decimal, so every product of them is exactly n x 10^e for
# integers n and e: `calculate` works on such pairs (Python ints are exact at any size) instead
# of Fractions (whose every operation is a gcd in Python code). The rounding at the end is the
# one the Fractions had: the exact value divided out in the default decimal context (28 digits,
# half-even), then rounded to an integer (points) or down to the currency's minor unit (credit).
# tests/unit/test_earning_arithmetic.py holds it to the Fraction formulas over random orders.


class Scaled(tuple):
    """n x 10^e, exactly: (n, e)."""
    __slots__ = ()

    def fraction(self) -> Fraction:
        n, e = self
        return Fraction(n * 10 ** e) if e >= 0 else Fraction(n, 10 ** -e)


def _scaled(value: Decimal | int) -> tuple[int, int]:
    """(n, e) with value == n x 10^e exactly (NaN and infinities refused as the Fraction refused
    them: both go through `as_integer_ratio`)."""
    if isinstance(value, int):
        return value, 0
    num, den = value.as_integer_ratio()  # den = 2^a x 5^b
    if den == 1:
        return num, 0
    twos = (den & -den).bit_length() - 1
    fives, rest = 0, den >> twos
    while rest > 1:
        rest //= 5
        fives += 1
    k = twos if twos > fives else fives
    return num * (10 ** k // den), -k


# A program's rates and factors are the same few Decimals on every line: converted once.
_constant = lru_cache(maxsize=1024)(_scaled)


def _product(*values: tuple[int, int]) -> tuple[int, int]:
    n, e = 1, 0
    for vn, ve in values:
        n *= vn
        e += ve
    return n, e


def _sum(values: list[tuple[int, int]]) -> tuple[int, int]:
    if not values:
        return 0, 0
    low = min(e for _, e in values)
    return sum(n * 10 ** (e - low) for n, e in values), low


def _divided(n: int, e: int) -> Decimal:
    """n x 10^e as the Fraction formula made it a Decimal: numerator / denominator in the
    current context (the same rational, so the same correctly rounded quotient)."""
    return Decimal(n * 10 ** e) / Decimal(1) if e >= 0 else Decimal(n) / Decimal(10 ** -e)


def _round_scaled(n: int, e: int, mode: str) -> int:
    """Fraction(n x 10^e) divided out in the decimal context, then rounded by `mode`, in integers."""
    limit = 10 ** getcontext().prec  # a value of fewer digits divides out exactly
    if e >= 0:
        value = n * 10 ** e
        if -limit < value < limit:
            return value
        return _round_decimal(_divided(n, e), mode)
    if not -limit < n < limit:  # the division would round first: do as it did
        return _round_decimal(_divided(n, e), mode)
    unit = 10 ** -e
    if mode == "down":
        return n // unit
    if mode == "up":
        return -(-n // unit)
    if mode == "nearest":  # half away from zero
        q, r = divmod(abs(n), unit)
        if 2 * r >= unit:
            q += 1
        return q if n >= 0 else -q
    raise KeyError(mode)


def _round_decimal(d: Decimal, mode: str) -> int:
    rounding = {"down": ROUND_FLOOR, "up": ROUND_CEILING, "nearest": ROUND_HALF_UP}[mode]
    return int(d.to_integral_value(rounding=rounding))


def _credit_scaled(n: int, e: int, currency: str) -> Decimal:
    """The Fraction formula's `(numerator / denominator).quantize(quantum, ROUND_DOWN)` in integers."""
    q = -exponent(currency)
    limit = 10 ** getcontext().prec  # a value of fewer digits divides out exactly
    if not -limit < n < limit or e > q:  # as the Fraction formula did
        return _divided(n, e).quantize(quantum(currency), rounding=ROUND_DOWN)
    c = abs(n) // 10 ** (q - e)  # toward zero
    return Decimal(f"{'-' if n < 0 else ''}{c}E{q}")


class _Matcher:
    """`matches` for one calculation: each rule's folded names once, each line's once."""

    def __init__(self) -> None:
        self._rules: dict[int, tuple] = {}

    def rule(self, match: Match) -> tuple:
        folded = self._rules.get(id(match))
        if folded is None:
            folded = (match, match.products, frozenset(_folded(match.collections)), frozenset(_folded(match.tags)),
                      frozenset(_folded(match.product_types)))
            self._rules[id(match)] = folded  # the match object is held: its id stays its own
        return folded

    @staticmethod
    def line(line: OrderLine) -> tuple:
        return (line.product_id, _folded(line.collections), _folded(line.tags),
                _folded([line.product_type]) if line.product_type else set())

    def __call__(self, match: Match | None, folded_line: tuple) -> bool:
        if match is None:
            return False
        _, products, collections, tags, types = self.rule(match)
        pid, lc, lt, lp = folded_line
        return bool((pid and pid in products) or not collections.isdisjoint(lc) or not tags.isdisjoint(lt)
                    or not types.isdisjoint(lp))


def matches(match: Match | None, line: OrderLine) -> bool:
    """Product ids compare exactly; collections, tags and product types without regard to case
    (a Shopify handle or tag and a WooCommerce slug are the same word in any case)."""
    return _Matcher()(match, _Matcher.line(line))


def calculate(program: Program, order: Order, member: MemberContext, *,
              version: int | None = None) -> Earning:
    """Points and cashback for an order under `program`, for a member in `member.tier`."""
    tz = ZoneInfo(program.timezone)
    rules = program.earning
    cur = order.currency
    notes: list[str] = []
    why: list[Reason] = []  # the notes as data, in the same order
    parts = order_base(order, program)
    match = _Matcher()
    line_campaigns = [c for c in program.campaigns if c.match is not None]
    # A line's names are folded only when a rule names some (the matcher reads them, nothing else).
    matching = bool(rules.exclude is not None or rules.multipliers or line_campaigns or program.cashback.boosts)
    counted, skipped_gift, skipped_excl = [], ZERO, ZERO
    for key, amount, qty, line in parts:
        folded = match.line(line) if line is not None and matching else None
        if line is not None and line.gift_card and rules.base.exclude_gift_cards:
            skipped_gift += amount
        elif line is not None and match(rules.exclude, folded):
            skipped_excl += amount
        else:
            counted.append((key, amount, qty, line, folded))
    base = sum((c[1] for c in counted), ZERO)

    campaigns = [c for c in program.campaigns
                 if campaign_active(c, order.placed_at, tz, member.birthday, member.segments)]
    global_factor = (1, 0)  # exact: n x 10^e (see Scaled)
    global_notes, global_why = [], []
    if member.tier is not None and member.tier.earn_multiplier != 1:
        global_factor = _product(global_factor, _constant(member.tier.earn_multiplier))
        global_notes.append(f"{member.tier.name} x{_fmt(member.tier.earn_multiplier)}")
        global_why.append(Reason("earn.tier", {"tier": member.tier.name, "factor": num(member.tier.earn_multiplier)}))
    for c in campaigns:
        if c.match is None:
            global_factor = _product(global_factor, _constant(c.factor))
            seg = member.for_campaign(c)
            global_notes.append(f"{c.name}{_for(seg)} x{_fmt(c.factor)}")
            global_why.append(Reason("earn.campaign", {"name": c.name, "factor": num(c.factor), **seg}))

    cash = program.cashback
    tier_rate = member.tier.cashback_rate if member.tier and member.tier.cashback_rate is not None else None
    base_rate = tier_rate if tier_rate is not None else cash.rate
    shares: list[Share] = []
    line_notes: list[str] = []
    boost_notes: list[str] = []
    line_why: list[Reason] = []
    boost_why: list[Reason] = []
    earning_on = program.live and rules.enabled and base >= rules.minimum_order and base > 0
    crediting = cash.enabled and program.live
    per_unit = _product(_constant(rules.points_per_unit), global_factor)
    here = local(order.placed_at, tz) if cash.boosts else None
    points_parts: list[tuple[int, int]] = []
    credit_parts: list[tuple[int, int]] = []
    for key, amount, qty, line, folded in counted:
        factor = (1, 0)
        if line is not None and matching:
            best = max((m for m in rules.multipliers if match(m.match, folded)),
                       key=lambda m: m.factor, default=None)
            if best is not None and best.factor != 1:
                factor = _product(factor, _constant(best.factor))
                line_notes.append(f"{best.label or line.title or key} x{_fmt(best.factor)} on {_money(amount, cur)}")
                line_why.append(Reason("earn.multiplier", {"label": best.label or line.title or key,
                                                           "factor": num(best.factor), "amount": money_param(amount, cur)}))
            for c in campaigns:
                if c.match is not None and match(c.match, folded):
                    factor = _product(factor, _constant(c.factor))
                    seg = member.for_campaign(c)
                    line_notes.append(f"{c.name}{_for(seg)} x{_fmt(c.factor)} on {_money(amount, cur)}")
                    line_why.append(Reason("earn.campaign_line", {"name": c.name, "factor": num(c.factor),
                                                                  "amount": money_param(amount, cur), **seg}))
        exact_amount = _scaled(amount) if earning_on or crediting else (0, 0)
        points = Scaled(_product(exact_amount, factor, per_unit) if earning_on else (0, 0))
        rate = base_rate
        if line is not None and cash.boosts:
            boosts = [b for b in cash.boosts if match(b.match, folded) and (
                b.window is None or b.window.starts_at <= here < b.window.ends_at)]
            if boosts:
                top = max(boosts, key=lambda b: b.rate)
                rate = top.rate
                boost_notes.append(f"{top.label or 'boost'} {_fmt(top.rate)}% on {_money(amount, cur)}")
                boost_why.append(Reason("cashback.boost", {"label": top.label, "rate": num(top.rate),
                                                           "amount": money_param(amount, cur)}))
        credit = _product(exact_amount, _constant(rate), (1, -2)) if crediting else (0, 0)  # rate / 100
        credit = Scaled(credit)
        points_parts.append(points)
        credit_parts.append(credit)
        shares.append(Share(key, amount, qty, points, credit))

    if not program.live:
        notes.append("the program is paused")
        why.append(Reason("earn.paused"))
    elif not rules.enabled:
        notes.append("earning on orders is off")
        why.append(Reason("earn.off"))
    elif base <= 0:
        notes.append("nothing in this order earns points")
        why.append(Reason("earn.nothing"))
    elif base < rules.minimum_order:
        notes.append(f"base {_money(base, cur)} is under the {_money(rules.minimum_order, cur)} minimum")
        why.append(Reason("earn.under_minimum", {"base": money_param(base, cur),
                                                 "minimum": money_param(rules.minimum_order, cur)}))
    else:
        notes.append(f"{_fmt(rules.points_per_unit)} per {cur} on {_money(base, cur)}")
        why.append(Reason("earn.base", {"rate": num(rules.points_per_unit), "currency": cur,
                                        "base": money_param(base, cur)}))
        notes.extend(line_notes)
        notes.extend(global_notes)
        why.extend(line_why)
        why.extend(global_why)
    if order.unallocated_discount:
        notes.append(f"order discount {_money(order.unallocated_discount, cur)} not allocated to lines, "
                     f"spread over them in proportion")
        why.append(Reason("earn.unallocated_discount", {"amount": money_param(order.unallocated_discount, cur)}))
    if skipped_gift:
        notes.append(f"gift cards ({_money(skipped_gift, cur)}) excluded")
        why.append(Reason("earn.gift_cards", {"amount": money_param(skipped_gift, cur)}))
    if skipped_excl:
        notes.append(f"excluded products ({_money(skipped_excl, cur)}) excluded")
        why.append(Reason("earn.excluded", {"amount": money_param(skipped_excl, cur)}))

    total_points = _round_scaled(*_sum(points_parts), rules.rounding)
    credit = _credit_scaled(*_sum(credit_parts), cur)
    credit_notes: list[str] = []
    credit_why: list[Reason] = []
    if cash.enabled and program.live:
        label = f"{member.tier.name} rate" if tier_rate is not None and member.tier else "cashback"
        credit_notes.append(f"{_fmt(base_rate)}% {label} on {_money(base, cur)}")
        credit_notes.extend(boost_notes)
        if tier_rate is not None and member.tier:
            credit_why.append(Reason("cashback.tier", {"tier": member.tier.name, "rate": num(base_rate),
                                                       "base": money_param(base, cur)}))
        else:
            credit_why.append(Reason("cashback.base", {"rate": num(base_rate), "base": money_param(base, cur)}))
        credit_why.extend(boost_why)
    return Earning(total_points, credit, base, tuple(shares), tuple(notes), tuple(credit_notes), version,
                   tuple(why), tuple(credit_why), cur)


# -- refunds -------------------------------------------------------------------------------
def refund_fractions(shares: tuple[Share, ...], base: Decimal, refund: Refund,
                     before: dict[str, Fraction]) -> dict[str, Fraction]:
    """Cumulative refunded fraction of each share after `refund` (each capped at 1)."""
    after = dict(before)
    by_key = {s.key: s for s in shares}
    for rl in refund.lines:
        share = by_key.get(rl.line_id)
        if share is not None and share.quantity > 0:
            after[share.key] = min(Fraction(1), after.get(share.key, Fraction(0)) + Fraction(rl.quantity, share.quantity))
    if refund.shipping and "shipping" in by_key and by_key["shipping"].base > 0:
        after["shipping"] = min(Fraction(1), after.get("shipping", Fraction(0))
                                + Fraction(refund.shipping) / Fraction(by_key["shipping"].base))
    if refund.amount and (refund.of_total > 0 or base > 0):
        part = Fraction(refund.amount) / Fraction(refund.of_total if refund.of_total > 0 else base)
        for s in shares:
            after[s.key] = min(Fraction(1), after.get(s.key, Fraction(0)) + part)
    return after


def taken_back(earned: int | Decimal, weights: list[Fraction], fractions: list[Fraction],
               currency: str | None = None) -> int | Decimal:
    """How much of `earned` the refunds so far take back, in total: the earned amount times
    the refunded share of its weight, rounded down, and all of it once everything is refunded.
    Monotone in the fractions, so each refund takes the difference and the sum never exceeds
    what was earned."""
    total = sum(weights, Fraction(0))
    if total == 0 or all(f >= 1 for w, f in zip(weights, fractions) if w):
        return earned
    share = sum((w * f for w, f in zip(weights, fractions)), Fraction(0)) / total
    value = Fraction(earned) * share
    if currency is None:
        return int(value.numerator // value.denominator)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(quantum(currency), rounding=ROUND_DOWN)
