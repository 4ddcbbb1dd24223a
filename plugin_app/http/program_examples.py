"""Worked examples for the program pages, computed by the same code that prices real orders
(`domain.earning.calculate`, `domain.rewards.quote`) under the program being edited, and said in
the admin's language: "A €100.00 order earns 125 points at Silver"."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from .. import i18n
from ..domain.targeting import Audience
from ..domain.earning import MemberContext, Order, OrderLine, calculate
from ..domain.errors import InvalidRequest
from ..domain.money import Money, quantum
from ..domain.program import Program
from ..domain.rewards import quote
from ..i18n import N_

SAMPLE = Decimal("100")


def _order(currency: str, amount: Decimal = SAMPLE, at: datetime | None = None, **line) -> Order:
    return Order("example", currency, at or datetime.now(timezone.utc), (OrderLine("l", 1, amount, **line),), "example")


def _tiers(program: Program) -> list:
    return list(program.tiers.levels) if program.tiers.enabled else [None]


def earn(program: Program, currency: str) -> list[str]:
    """What a sample order earns, at each tier."""
    t = i18n.current()
    order = _order(currency)
    out = []
    for tier in _tiers(program):
        e = calculate(program, order, MemberContext(tier))
        if tier is None:
            out.append(t.ngettext("A %(order)s order earns %(points)s point", "A %(order)s order earns %(points)s points",
                                  e.points, order=t.money(SAMPLE, currency), points=t.number(e.points)))
        else:
            out.append(t.ngettext("A %(order)s order earns %(points)s point at %(tier)s",
                                  "A %(order)s order earns %(points)s points at %(tier)s",
                                  e.points, order=t.money(SAMPLE, currency), points=t.number(e.points), tier=tier.name))
    return out


def cashback(program: Program, currency: str) -> list[str]:
    t = i18n.current()
    order = _order(currency)
    out = []
    for tier in _tiers(program):
        e = calculate(program, order, MemberContext(tier))
        params = dict(order=t.money(SAMPLE, currency), credit=t.money(e.credit, currency))
        out.append(t.gettext(N_("A %(order)s order gives %(credit)s back as store credit"), **params) if tier is None else
                   t.gettext(N_("A %(order)s order gives %(credit)s back as store credit at %(tier)s"), tier=tier.name, **params))
    return out


def campaign(program: Program, index: int, currency: str) -> str | None:
    """What a sample order earns while the campaign runs, against a day without it."""
    t = i18n.current()
    try:
        c = program.campaigns[index]
    except IndexError:
        return None
    tz = ZoneInfo(program.timezone)
    at = datetime.now(tz)
    if c.window is not None:
        at = c.window.starts_at.replace(tzinfo=tz) + timedelta(hours=1)
    for _ in range(7):
        if not c.days_of_week or at.weekday() in c.days_of_week:
            break
        at += timedelta(days=1)
    birthday = at.date() if c.kind == "birthday" else None
    entry = program.tiers.levels[0] if program.tiers.enabled else None
    line = {"product_id": (c.match.products or [None])[0], "collections": frozenset(c.match.collections[:1]),
            "tags": frozenset(c.match.tags[:1])} if c.match else {}
    inside = MemberContext(entry, birthday, frozenset(c.segments))  # a member of its segments, if it has some
    during = calculate(program, _order(currency, at=at.astimezone(timezone.utc), **line), inside)
    without = Program(**{**program.__dict__, "campaigns": []})
    usual = calculate(without, _order(currency, at=at.astimezone(timezone.utc), **line), inside)
    key = N_("On the customer's birthday a %(order)s order earns %(points)s points instead of %(usual)s") \
        if c.kind == "birthday" else N_("During this campaign a %(order)s order earns %(points)s points instead of %(usual)s")
    return t.gettext(key, order=t.money(SAMPLE, currency), points=t.number(during.points), usual=t.number(usual.points))


def reward(program: Program, index: int, currency: str) -> str | None:
    """What the reward takes off a sample cart, and how much a customer spends to earn it."""
    t = i18n.current()
    try:
        r = program.rewards[index]
    except IndexError:
        return None
    cart = Money.of(max(SAMPLE, r.minimum_cart), currency)
    try:
        q = quote(r, cart, points_available=10_000_000, tier=r.tiers[0] if r.tiers else None, steps=1,
                  audience=Audience(r.tiers[0] if r.tiers else None, frozenset(r.segments)))
    except InvalidRequest:
        return None
    per_unit = program.earning.points_per_unit
    spend = (Decimal(r.points_cost) / per_unit).quantize(quantum(currency), rounding=ROUND_DOWN) if per_unit else None
    spent = t.money(spend, currency) if spend is not None else "–"
    if q.discount is not None:
        return t.gettext(N_("%(points)s points take %(off)s off a %(cart)s cart; a customer earns them by spending about %(spend)s"),
                         points=t.number(q.points), off=t.money(q.discount.amount, currency),
                         cart=t.money(cart.amount, currency), spend=spent)
    if q.percent is not None:
        return t.gettext(N_("%(points)s points take %(off)s off a %(cart)s cart; a customer earns them by spending about %(spend)s"),
                         points=t.number(q.points), off=t.money(cart.amount * q.percent / 100, currency),
                         cart=t.money(cart.amount, currency), spend=spent)
    return t.gettext(N_("A customer earns these %(points)s points by spending about %(spend)s"),
                     points=t.number(q.points), spend=spent)


def referral(program: Program, currency: str) -> str | None:
    """The referrer's extra cashback on a sample order of the friend (the rule the referral
    service pays: the order's earning base times the rate, to the cent)."""
    t = i18n.current()
    rate = program.referrals.cashback.rate
    if rate <= 0:
        return None
    base = calculate(Program(**{**program.__dict__, "live": True}), _order(currency), MemberContext()).base
    amount = (base * rate / 100).quantize(Decimal("0.01"))
    return t.gettext(N_("When the friend places a %(order)s order, the referrer gets %(credit)s store credit"),
                     order=t.money(SAMPLE, currency), credit=t.money(amount, currency))
