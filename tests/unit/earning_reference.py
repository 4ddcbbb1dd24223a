"""The earning calculation as it was before issue 22 (exact Fractions throughout), kept as the
reference tests/unit/test_earning_arithmetic.py holds the integer arithmetic to. A verbatim
copy of `calculate` from plugin_app/domain/earning.py at 2ed8353; do not "improve" it."""
from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from plugin_app.domain.earning import (ZERO, Earning, MemberContext, Order, Share, _for, _fmt, _money,
                                       _round_decimal, campaign_active, local, matches, order_base)
from plugin_app.domain.money import quantum
from plugin_app.domain.program import Program
from plugin_app.domain.reasons import Reason, money as money_param, num


def _round(value: Fraction, mode: str) -> int:
    """The pre-issue rounding of an exact Fraction: divided out in the decimal context."""
    return _round_decimal(Decimal(value.numerator) / Decimal(value.denominator), mode)



def calculate(program: Program, order: Order, member: MemberContext, *,
              version: int | None = None) -> Earning:
    """Points and cashback for an order under `program`, for a member in `member.tier`."""
    tz = ZoneInfo(program.timezone)
    rules = program.earning
    cur = order.currency
    notes: list[str] = []
    why: list[Reason] = []  # the notes as data, in the same order
    parts = order_base(order, program)
    counted, skipped_gift, skipped_excl = [], ZERO, ZERO
    for key, amount, qty, line in parts:
        if line is not None and line.gift_card and rules.base.exclude_gift_cards:
            skipped_gift += amount
        elif line is not None and matches(rules.exclude, line):
            skipped_excl += amount
        else:
            counted.append((key, amount, qty, line))
    base = sum((a for _, a, _, _ in counted), ZERO)

    campaigns = [c for c in program.campaigns
                 if campaign_active(c, order.placed_at, tz, member.birthday, member.segments)]
    global_factor = Fraction(1)
    global_notes, global_why = [], []
    if member.tier is not None and member.tier.earn_multiplier != 1:
        global_factor *= Fraction(member.tier.earn_multiplier)
        global_notes.append(f"{member.tier.name} x{_fmt(member.tier.earn_multiplier)}")
        global_why.append(Reason("earn.tier", {"tier": member.tier.name, "factor": num(member.tier.earn_multiplier)}))
    for c in campaigns:
        if c.match is None:
            global_factor *= Fraction(c.factor)
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
    for key, amount, qty, line in counted:
        factor = Fraction(1)
        if line is not None:
            best = max((m for m in rules.multipliers if matches(m.match, line)),
                       key=lambda m: m.factor, default=None)
            if best is not None and best.factor != 1:
                factor *= Fraction(best.factor)
                line_notes.append(f"{best.label or line.title or key} x{_fmt(best.factor)} on {_money(amount, cur)}")
                line_why.append(Reason("earn.multiplier", {"label": best.label or line.title or key,
                                                           "factor": num(best.factor), "amount": money_param(amount, cur)}))
            for c in campaigns:
                if c.match is not None and matches(c.match, line):
                    factor *= Fraction(c.factor)
                    seg = member.for_campaign(c)
                    line_notes.append(f"{c.name}{_for(seg)} x{_fmt(c.factor)} on {_money(amount, cur)}")
                    line_why.append(Reason("earn.campaign_line", {"name": c.name, "factor": num(c.factor),
                                                                  "amount": money_param(amount, cur), **seg}))
        points = Fraction(amount) * Fraction(rules.points_per_unit) * factor * global_factor if earning_on else Fraction(0)
        rate = base_rate
        if line is not None:
            boosts = [b for b in cash.boosts if matches(b.match, line) and (
                b.window is None or b.window.starts_at <= local(order.placed_at, tz) < b.window.ends_at)]
            if boosts:
                top = max(boosts, key=lambda b: b.rate)
                rate = top.rate
                boost_notes.append(f"{top.label or 'boost'} {_fmt(top.rate)}% on {_money(amount, cur)}")
                boost_why.append(Reason("cashback.boost", {"label": top.label, "rate": num(top.rate),
                                                           "amount": money_param(amount, cur)}))
        credit = Fraction(amount) * Fraction(rate) / 100 if cash.enabled and program.live else Fraction(0)
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

    total_points = _round(sum((s.points for s in shares), Fraction(0)), rules.rounding)
    raw_credit = sum((s.credit for s in shares), Fraction(0))
    credit = (Decimal(raw_credit.numerator) / Decimal(raw_credit.denominator)).quantize(
        quantum(cur), rounding=ROUND_DOWN)
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


