"""Builders for what tests need, instead of rows and payloads written out by hand.

- Shops and members go through the services (`rt.shops.register`, `rt.members.enrol`), so they
  are what production makes: a shop has its default program, a member a balance. Domains and
  customer ids are unique unless given, so tests sharing a database never collide.
- Programs are documents: `program_doc(...)` (the partial document `Programs.put` takes),
  `program(...)` (the parsed `Program`, for code that needs no database) and `use_program(rt,
  shop, ...)` (saved as the shop's next version). `tiers`, `expiry` and `reward` build their
  sections; anything not given keeps the program's default.
- Orders are neutral `domain.earning.Order`s as the connectors hand them over: a line's `total`
  is after its discounts, tax is carried beside it (inside the total when prices include tax),
  shipping and its tax are separate, and a refund names lines and quantities, shipping, or an
  amount.
"""
from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from plugin_app.domain.earning import Order, OrderLine, Refund, RefundLine
from plugin_app.domain.program import Program
from plugin_app.services.program import dump, parse

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)  # the `clock` fixture's now
_seq = itertools.count(1)
CENT = Decimal("0.01")


def _unique(prefix: str) -> str:
    return f"{prefix}-{next(_seq)}-{uuid.uuid4().hex[:6]}"


# -- shops and members ------------------------------------------------------------------------
def shop_and_key(rt, *, platform: str = "demo", domain: str | None = None, currency: str = "EUR",
                 timezone: str = "UTC", name: str = "", credentials: dict | None = None, **program_sections):
    """A registered shop and its admin API key; with program sections, its program too."""
    shop, key = rt.shops.register(platform, domain or f"{_unique('shop')}.example", currency=currency,
                                  timezone=timezone, name=name, credentials=credentials)
    if program_sections:
        use_program(rt, shop, **program_sections)
    return shop, key


def shop(rt, **kw):
    return shop_and_key(rt, **kw)[0]


def member(rt, shop, customer: str | None = None, *, email: str | None = None, name: str | None = None,
           birthday: date | None = None):
    """An enrolled member (a `services.members.Member`), with a unique customer id unless given."""
    made, _ = rt.members.enrol(shop.id, customer or _unique("cust"), email=email, name=name, birthday=birthday)
    return made


# -- programs ---------------------------------------------------------------------------------
def tiers(*levels, basis: str | None = None, window: str | None = None, downgrade: str | None = None,
          grace_days: int | None = None, entry_rewards: dict[str, int] | None = None,
          enabled: bool | None = None) -> dict:
    """The `tiers` section. A level is (name, threshold) or (name, threshold, {other fields});
    `entry_rewards` maps tier names to the points paid on reaching them."""
    section: dict[str, Any] = {k: v for k, v in dict(basis=basis, window=window, downgrade=downgrade,
                                                   grace_days=grace_days, enabled=enabled).items()
                               if v is not None}
    if levels:
        section["levels"] = []
        for name, threshold, *extra in levels:
            level = {"name": name, "threshold": threshold, **(extra[0] if extra else {})}
            if entry_rewards and name in entry_rewards:
                level["entry_reward_points"] = entry_rewards[name]
            section["levels"].append(level)
    return section


def expiry(mode: str = "age", months: int | None = None, reminder_days: list[int] | None = None) -> dict:
    """The `expiry` section: "none", "age" (every credit lapses `months` later) or "inactivity"."""
    section: dict[str, Any] = {"mode": mode}
    if months is not None:
        section["months"] = months
    if reminder_days is not None:
        section["reminder_days"] = list(reminder_days)
    return section


def reward(reward_id: str, points_cost: int, *, type: str = "fixed_amount", amount: str | None = None,
           name: str | None = None, **kw) -> dict:
    """A reward for the `rewards` list (fixed and variable amounts need `amount`)."""
    out = {"id": reward_id, "name": name or f"{reward_id} reward", "type": type, "points_cost": points_cost, **kw}
    if amount is not None:
        out["amount"] = amount
    return out


def program_doc(**sections) -> dict:
    """A partial program document: only the sections given (the rest are the defaults)."""
    return {k: v for k, v in sections.items() if v is not None}


def program(**sections) -> Program:
    """The parsed program, validated exactly as `Programs.put` validates it."""
    return parse(program_doc(**sections))


def use_program(rt, shop, *, author: str = "factory", **sections):
    """Save the sections as the shop's next program version (others keep their defaults)."""
    return rt.programs.put(shop.id, program_doc(**sections), author=author)


def with_sections(current: Program, **sections) -> dict:
    """The whole document of `current` with some sections replaced."""
    return {**dump(current), **sections}


# -- orders -----------------------------------------------------------------------------------
def _money(value) -> Decimal:
    return Decimal(str(value))


def line(price=None, quantity: int = 1, *, total=None, discount="0", tax_rate=None, taxes_included: bool = False,
         line_id: str | None = None, **kw) -> OrderLine:
    """An order line: `price` a unit (or the line's `total` before discounts given directly),
    less `discount`; with `tax_rate` (0.22 for 22 %) its tax, inside the total when the shop's
    prices include tax, beside it when they do not. Other OrderLine fields pass through."""
    gross = _money(total) if total is not None else _money(price) * quantity
    net = gross - _money(discount)
    tax = Decimal(0)
    if tax_rate is not None:
        rate = _money(tax_rate)
        if taxes_included:
            tax = (net - net / (1 + rate)).quantize(CENT, ROUND_HALF_UP)
        else:
            tax = (net * rate).quantize(CENT, ROUND_HALF_UP)
    return OrderLine(line_id or _unique("line"), quantity, net, tax, **kw)


def order(*lines: OrderLine, order_id: str | None = None, customer: str | None = "cust-1", currency: str = "EUR",
          placed_at: datetime = NOON, shipping="0", shipping_tax="0", tips="0", taxes_included: bool = False,
          unallocated_discount="0", test: bool = False, updated_at: datetime | None = None) -> Order:
    """A neutral order of `lines` (one line of 100.00 when none are given)."""
    return Order(order_id or _unique("order"), currency, placed_at, tuple(lines) or (line("100.00"),), customer,
                 shipping=_money(shipping), shipping_tax=_money(shipping_tax), tips=_money(tips),
                 taxes_included=taxes_included, test=test, updated_at=updated_at,
                 unallocated_discount=_money(unallocated_discount))


def refund(*lines: tuple[str, int], refund_id: str | None = None, shipping="0", amount="0", of_total="0") -> Refund:
    """A refund of (line id, quantity) pairs, and/or shipping, and/or an amount (net of the
    base; gross of the order's `of_total` when that is given, as WooCommerce reports it)."""
    return Refund(refund_id or _unique("refund"), tuple(RefundLine(lid, qty) for lid, qty in lines),
                  shipping=_money(shipping), amount=_money(amount), of_total=_money(of_total))


def segment_matching(rt, shop, rule: dict) -> set[int]:
    """The members a segment rule matches now, computed from scratch (set-based)."""
    from plugin_app.domain.segments import parse_rule

    program = rt.programs.current(shop.id).program
    with rt.db.uow(shop.id) as uow:
        return set(uow.conn.execute(rt.segments.matching(uow.conn, shop.id, program, parse_rule(rule),
                                                         rt.clock.now())).scalars())


def segment_stored(rt, shop, segment_id: int) -> set[int]:
    """The members the segment's stored membership holds."""
    from sqlalchemy import select

    from plugin_app.storage import tables as t

    sm = t.segment_members.c
    with rt.db.uow(shop.id) as uow:
        return set(uow.conn.execute(select(sm.member_id).where(sm.shop_id == shop.id,
                                                               sm.segment_id == segment_id)).scalars())
