"""Member profiles, lifecycle states and rule-built segments (issue 20): the pure part.

Profile (one row per member, `member_profiles`): orders counted (earned or recorded from the
past, not cancelled), lifetime value (each order's base less its refunded share, in the shop's
currency), first, previous and last order times, and the average days between orders.

RFM scores are 1 to 5 against merchant-tunable thresholds (`segments.rfm`), not quintiles:
a quintile moves with every other member's orders, so it cannot be kept by touching only the
member an event is about; a threshold can. A member without orders scores 0 on all three.

- recency: days since the last order (in the shop's time zone); `recency_days` [a, b, c, d]
  ascending: <= a is 5, <= b is 4, <= c is 3, <= d is 2, older is 1.
- frequency: orders counted; `frequency_orders` [a, b, c, d] ascending: >= d is 5, >= c is 4,
  >= b is 3, >= a is 2, fewer is 1.
- monetary: lifetime value; `monetary_value` likewise (>= d is 5 ...).

Lifecycle states (`segments.lifecycle`, days counted in the shop's time zone: a day is a
calendar day there, so a member moves at the shop's midnight), first match wins:

1. no orders: `new` while enrolled for at most `new_days` days, then `lapsed`;
2. `lapsed`: the last order more than `lapsed_days` days ago;
3. `at_risk`: the last order more than `at_risk_days` days ago;
4. `win_back`: at least two orders and more than `at_risk_days` days between the last two;
5. `loyal`: at least `loyal_orders` orders;
6. `new`: one order, placed at most `new_days` days ago;
7. `active`: otherwise.

Rules: `{"all": [...]}` or `{"any": [...]}` of conditions `{"field", "op", "value"}` or of
nested rules (depth at most 3, 50 conditions at most). Fields and their operators: `FIELDS`.

Facts beyond the profile (0028):

- `tag`: the customer's tags as the platform gives them (Shopify: the customer's `tags`, on
  customers/* and on the order's `customer`; WooCommerce has no customer tags: the customer's
  WordPress `role` is kept as the tag `role:<role>`). `has` any of the values / `has_not` any.
  Matched without regard to case.
- `bought_product`, `bought_collection`: what the member bought on orders counted for the
  profile (earned or recorded from the past, not cancelled), a line fully refunded by quantity
  not counted; collections (Shopify) or categories (WooCommerce) as the product catalog cache
  knows the products (id, handle or gid; id or slug). `has` / `has_not` any of the values,
  optionally `"days": N`: bought within the last N days (the shop's days, like
  `days_since_last_order` lte N).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

FORBID = {"extra": "forbid"}
STATES = ("new", "active", "at_risk", "win_back", "loyal", "lapsed")


def _check(cond: bool, name: str, message: str) -> None:
    if not cond:
        raise ValueError(f"{name}: {message}")


def _ascending(values: list, name: str) -> None:
    _check(len(values) == 4, name, "four thresholds, ascending")
    _check(all(values[i] < values[i + 1] for i in range(3)), name, "four thresholds, strictly ascending")
    _check(values[0] >= 0, name, "thresholds must not be negative")


@dataclass(frozen=True)
class Lifecycle:
    __pydantic_config__ = FORBID
    new_days: int = 30
    at_risk_days: int = 90
    lapsed_days: int = 365
    loyal_orders: int = 5

    def __post_init__(self) -> None:
        _check(1 <= self.new_days <= 3650, "new_days", "must be between 1 and 3650")
        _check(1 <= self.at_risk_days <= 3650, "at_risk_days", "must be between 1 and 3650")
        _check(self.at_risk_days < self.lapsed_days <= 3650, "lapsed_days",
               "must be above at_risk_days and at most 3650")
        _check(2 <= self.loyal_orders <= 10000, "loyal_orders", "must be between 2 and 10000")


@dataclass(frozen=True)
class Rfm:
    __pydantic_config__ = FORBID
    recency_days: list[int] = field(default_factory=lambda: [30, 90, 180, 365])
    frequency_orders: list[int] = field(default_factory=lambda: [2, 3, 5, 10])
    monetary_value: list[Decimal] = field(default_factory=lambda: [Decimal(50), Decimal(200), Decimal(500),
                                                                   Decimal(1000)])

    def __post_init__(self) -> None:
        _ascending(self.recency_days, "recency_days")
        _ascending(self.frequency_orders, "frequency_orders")
        _ascending(self.monetary_value, "monetary_value")


@dataclass(frozen=True)
class Segments:
    """The program's `segments` section: thresholds the merchant tunes."""
    __pydantic_config__ = FORBID
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    rfm: Rfm = field(default_factory=Rfm)


# -- days in the shop's time zone -------------------------------------------------------------
def local_day(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def days_since(at: datetime, now: datetime, tz: ZoneInfo) -> int:
    return (local_day(now, tz) - local_day(at, tz)).days


def older_than(days: int, now: datetime, tz: ZoneInfo) -> datetime:
    """The instant before which a time is more than `days` days ago (in the shop's days): the
    shop's midnight starting day `today - days`. `days_since(at) > days` iff `at < older_than(days)`."""
    start = local_day(now, tz) - timedelta(days=days)
    return datetime.combine(start, time(0), tz).astimezone(ZoneInfo("UTC"))


# -- scores and states (the incremental path decides with these) -----------------------------
def score_up(value, thresholds) -> int:
    """Higher is better: >= the 4th threshold is 5 ... below the 1st is 1."""
    return 1 + sum(value >= th for th in thresholds)


def score_recency(days: int, thresholds: list[int]) -> int:
    """Fewer days is better: <= the 1st threshold is 5 ... above the 4th is 1."""
    return 1 + sum(days <= th for th in thresholds)


@dataclass(frozen=True)
class Facts:
    orders_count: int
    lifetime_value: Decimal
    first_order_at: datetime | None
    prev_order_at: datetime | None
    last_order_at: datetime | None
    enrolled_at: datetime


def lifecycle_state(f: Facts, cfg: Lifecycle, now: datetime, tz: ZoneInfo) -> str:
    if f.orders_count == 0 or f.last_order_at is None:
        return "new" if days_since(f.enrolled_at, now, tz) <= cfg.new_days else "lapsed"
    since = days_since(f.last_order_at, now, tz)
    if since > cfg.lapsed_days:
        return "lapsed"
    if since > cfg.at_risk_days:
        return "at_risk"
    if f.orders_count >= 2 and f.prev_order_at is not None and \
            days_since(f.prev_order_at, f.last_order_at, tz) > cfg.at_risk_days:
        return "win_back"
    if f.orders_count >= cfg.loyal_orders:
        return "loyal"
    if f.orders_count == 1 and since <= cfg.new_days:
        return "new"
    return "active"


def rfm_scores(f: Facts, cfg: Rfm, now: datetime, tz: ZoneInfo) -> tuple[int, int, int]:
    if f.orders_count == 0 or f.last_order_at is None:
        return 0, 0, 0
    return (score_recency(days_since(f.last_order_at, now, tz), cfg.recency_days),
            score_up(f.orders_count, cfg.frequency_orders), score_up(f.lifetime_value, cfg.monetary_value))


# -- what a member bought ---------------------------------------------------------------------
def bought(orders) -> dict[str, tuple[datetime, datetime]]:
    """Product id -> (first, last) time a counted order bought it. `orders`: (time, products,
    refunds) of each order counted for the profile; products [[line id, product id, quantity]]
    as recorded (None for orders recorded before products were); refunds the order's
    `refunds["applied"]` (refund id -> {"lines": [{"line_id", "quantity"}], ...}). A line whose
    units are all refunded is not a purchase; a refund of an amount, naming no line, refunds
    no line."""
    out: dict[str, tuple[datetime, datetime]] = {}
    for at, products, refunds in orders:
        if not products:
            continue
        back: dict[str, int] = {}
        for r in (refunds or {}).values():
            for rl in r.get("lines") or []:
                back[str(rl["line_id"])] = back.get(str(rl["line_id"]), 0) + int(rl["quantity"])
        for line_id, product_id, quantity in products:
            if not product_id or quantity <= 0 or back.get(str(line_id), 0) >= quantity:
                continue
            first, last = out.get(product_id, (at, at))
            out[product_id] = (min(first, at), max(last, at))
    return out


def bought_groups(products: dict[str, tuple[datetime, datetime]],
                  keys: dict[str, frozenset[str]]) -> dict[str, tuple[datetime, datetime]]:
    """Group key -> (first, last) over the products bought in it; `keys`: product id -> the
    (case-folded) keys of its collections or categories."""
    out: dict[str, tuple[datetime, datetime]] = {}
    for pid, (first, last) in products.items():
        for key in keys.get(pid, ()):
            a, b = out.get(key, (first, last))
            out[key] = (min(a, first), max(b, last))
    return out


# -- rules --------------------------------------------------------------------------------------
NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
SET_OPS = ("eq", "neq", "in", "not_in")
FACT_OPS = ("has", "has_not")  # has any of the values / has none of them
# field -> (kind, operators). kinds: int, money, state, tier, month, days, none_ok
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "orders_count": ("int", NUMBER_OPS),
    "lifetime_value": ("money", NUMBER_OPS),
    "average_days_between_orders": ("money", NUMBER_OPS),
    "days_since_last_order": ("int", NUMBER_OPS + ("none",)),  # none: never ordered
    "days_since_first_order": ("int", NUMBER_OPS + ("none",)),
    "recency_score": ("score", NUMBER_OPS),
    "frequency_score": ("score", NUMBER_OPS),
    "monetary_score": ("score", NUMBER_OPS),
    "lifecycle": ("state", SET_OPS),
    "tier": ("text", SET_OPS + ("none",)),  # none: no tier
    "points_balance": ("int", NUMBER_OPS),
    "points_expiring_within_days": ("int", ("lte",)),  # some points lapse within N days
    "birthday_month": ("month", SET_OPS + ("none",)),
    "days_since_enrolled": ("int", NUMBER_OPS),
    "tag": ("tag", FACT_OPS),
    "bought_product": ("product", FACT_OPS),
    "bought_collection": ("group", FACT_OPS),
}
BOUGHT = ("bought_product", "bought_collection")
MAX_DEPTH, MAX_CONDITIONS = 3, 50


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: object  # int, Decimal, str, list of those, (low, high) for between, None for none
    days: int | None = None  # bought_*: within the last N days (None: ever)


def fact_key(value: str) -> str:
    """How a tag, product id or collection key is matched: trimmed, case-folded."""
    return value.strip().casefold()[:255]


def tag_list(raw) -> tuple[str, ...]:
    """A platform's tags, comma-separated text (Shopify REST) or a list, as distinct tags in
    their first spelling (case-insensitively distinct), at most 250 of 1 to 255 characters."""
    items = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, (list, tuple)) else []
    seen, out = set(), []
    for item in items:
        tag = str(item).strip()[:255] if isinstance(item, (str, int)) else ""
        if tag and fact_key(tag) not in seen:
            seen.add(fact_key(tag))
            out.append(tag)
    return tuple(out[:250])


def _fact(name: str, kind: str, op: str, doc: dict, where: str) -> Condition:
    value = doc.get("value")
    values = value if isinstance(value, list) else [value]
    _check(0 < len(values) <= 100, f"{where}.value", "a value or a list of 1 to 100 values")
    out = []
    for v in values:
        if kind == "product" and isinstance(v, int) and not isinstance(v, bool):
            v = str(v)  # Shopify's ids are 64-bit integers: kept as digits
        _check(isinstance(v, str) and 0 < len(v.strip()) <= 255, f"{where}.value", "text of 1 to 255 characters")
        if kind == "product":
            _check(len(v.strip()) <= 64, f"{where}.value", "a product id (at most 64 characters)")
        out.append(v.strip())
    days = doc.get("days")
    if days is not None:
        _check(kind != "tag", f"{where}.days", "only bought_product and bought_collection take days")
        _check(isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= 3650, f"{where}.days",
               "days are 1 to 3650")
    return Condition(name, op, tuple(out), days)


@dataclass(frozen=True)
class Rule:
    mode: str  # all, any
    items: tuple  # of Condition or Rule


def _number(kind: str, value, where: str):
    if isinstance(value, bool):
        raise ValueError(f"{where}: must be a number")
    if kind in ("int", "score", "month"):
        _check(isinstance(value, int), where, "must be a whole number")
        if kind == "score":
            _check(0 <= value <= 5, where, "scores are 0 to 5")
        if kind == "month":
            _check(1 <= value <= 12, where, "months are 1 to 12")
        _check(-10 ** 12 <= value <= 10 ** 12, where, "out of range")
        return value
    try:
        d = Decimal(str(value)) if isinstance(value, (int, float, str)) else None
    except InvalidOperation:
        d = None
    _check(d is not None and d.is_finite() and abs(d) < Decimal(10) ** 12, where, "must be a number")
    return d


def _condition(doc, where: str) -> Condition:
    _check(isinstance(doc, dict), where, "a condition is an object with field, op and value")
    extra = set(doc) - {"field", "op", "value", "days"}
    _check(not extra, where, f"unknown keys {sorted(extra)}")
    name, op = doc.get("field"), doc.get("op")
    _check(isinstance(name, str) and name in FIELDS, f"{where}.field", f"one of {', '.join(FIELDS)}")
    kind, ops = FIELDS[name]
    _check(isinstance(op, str) and op in ops, f"{where}.op", f"for {name}: one of {', '.join(ops)}")
    if kind in ("tag", "product", "group"):
        return _fact(name, kind, op, doc, where)
    _check("days" not in doc, f"{where}.days", "only bought_product and bought_collection take days")
    value = doc.get("value")
    if op == "none":
        _check(value is None, f"{where}.value", "none takes no value")
        return Condition(name, op, None)
    if kind in ("state", "text"):
        values = value if op in ("in", "not_in") else [value]
        _check(isinstance(values, list) and 0 < len(values) <= 100, f"{where}.value",
               "a list of 1 to 100 values" if op in ("in", "not_in") else "a value")
        for v in values:
            _check(isinstance(v, str) and 0 < len(v) <= 40, f"{where}.value", "text of 1 to 40 characters")
            if kind == "state":
                _check(v in STATES, f"{where}.value", f"a lifecycle state: {', '.join(STATES)}")
        return Condition(name, op, tuple(values) if op in ("in", "not_in") else values[0])
    if op in ("in", "not_in"):
        _check(isinstance(value, list) and 0 < len(value) <= 100, f"{where}.value", "a list of 1 to 100 values")
        return Condition(name, op, tuple(_number(kind, v, f"{where}.value") for v in value))
    if op == "between":
        _check(isinstance(value, list) and len(value) == 2, f"{where}.value", "[low, high]")
        low, high = (_number(kind, v, f"{where}.value") for v in value)
        _check(low <= high, f"{where}.value", "low must not be above high")
        return Condition(name, op, (low, high))
    value = _number(kind, value, f"{where}.value")
    if name == "points_expiring_within_days":
        _check(1 <= value <= 3650, f"{where}.value", "days are 1 to 3650")
    return Condition(name, op, value)


def parse_rule(doc, where: str = "rule", depth: int = 1, counter: list | None = None) -> Rule:
    """The merchant's JSON rule, validated; ValueError names the first problem."""
    counter = counter if counter is not None else [0]
    _check(depth <= MAX_DEPTH, where, f"rules nest at most {MAX_DEPTH} deep")
    _check(isinstance(doc, dict) and len(doc) == 1 and next(iter(doc)) in ("all", "any"), where,
           'an object with one key, "all" or "any", holding a list of conditions')
    mode, items = next(iter(doc.items()))
    _check(isinstance(items, list) and items, f"{where}.{mode}", "a non-empty list")
    out = []
    for i, item in enumerate(items):
        at = f"{where}.{mode}[{i}]"
        if isinstance(item, dict) and len(item) == 1 and next(iter(item)) in ("all", "any"):
            out.append(parse_rule(item, at, depth + 1, counter))
        else:
            counter[0] += 1
            _check(counter[0] <= MAX_CONDITIONS, at, f"at most {MAX_CONDITIONS} conditions")
            out.append(_condition(item, at))
    return Rule(mode, tuple(out))


def dump_rule(rule: Rule) -> dict:
    def value(c: Condition):
        v = c.value
        if isinstance(v, tuple):
            return [str(x) if isinstance(x, Decimal) else x for x in v]
        return str(v) if isinstance(v, Decimal) else v

    def cond(c: Condition) -> dict:
        out = {"field": c.field, "op": c.op, "value": value(c)}
        return {**out, "days": c.days} if c.days is not None else out

    return {rule.mode: [dump_rule(i) if isinstance(i, Rule) else cond(i) for i in rule.items]}


def names_field(rule: Rule, names) -> bool:
    """Whether any condition of the rule (at any depth) is on one of these fields."""
    return any(names_field(i, names) if isinstance(i, Rule) else i.field in names for i in rule.items)
