"""Table-driven checks of every earning rule: base options, rounding, minimum order,
exclusions, multipliers, tiers, campaigns (window edges in the shop's time zone), cashback."""
from datetime import date, datetime, timezone
from decimal import Decimal as D

import pytest
from pydantic import TypeAdapter

from plugin_app.domain.earning import MemberContext, Order, OrderLine, calculate
from plugin_app.domain.program import Program

pytestmark = pytest.mark.fast  # no database, Redis or network: the fast lane

P = TypeAdapter(Program)
NOON = datetime(2026, 3, 4, 12, 0, tzinfo=timezone.utc)  # a Wednesday


def program(**doc):
    return P.validate_python(doc)


def order(*lines, **kw):
    base = dict(order_id="1001", currency="EUR", placed_at=NOON, customer_id="c1")
    base.update(kw)
    return Order(lines=tuple(lines), **base)


def line(total, line_id="l1", **kw):
    return OrderLine(line_id=line_id, quantity=kw.pop("quantity", 1), total=D(total), **kw)


def tier(prog, name):
    return MemberContext(prog.tiers.by_name(name))


CASES = [
    # (name, program document, order kwargs and lines, expected points)
    ("default: 1 per EUR, rounded down", {}, dict(lines=[line("120.99")]), 120),
    ("shipping out by default", {}, dict(lines=[line("50")], shipping=D("9.90")), 50),
    ("shipping in", {"earning": {"base": {"include_shipping": True}}},
     dict(lines=[line("50")], shipping=D("9.90")), 59),
    ("tips out by default, in on request", {"earning": {"base": {"include_tips": True}}},
     dict(lines=[line("50")], tips=D("5")), 55),
    ("taxes excluded from tax-inclusive prices", {},
     dict(lines=[line("119", tax=D("19"))], taxes_included=True), 100),
    ("taxes included when asked (inclusive prices)", {"earning": {"base": {"include_taxes": True}}},
     dict(lines=[line("119", tax=D("19"))], taxes_included=True), 119),
    ("taxes added when asked (exclusive prices)", {"earning": {"base": {"include_taxes": True}}},
     dict(lines=[line("100", tax=D("19"))]), 119),
    ("gift cards earn nothing", {}, dict(lines=[line("50"), line("25", "g", gift_card=True)]), 50),
    ("rounding nearest", {"earning": {"rounding": "nearest"}}, dict(lines=[line("10.50")]), 11),
    ("rounding up", {"earning": {"rounding": "up"}}, dict(lines=[line("10.01")]), 11),
    ("rounding down", {"earning": {"rounding": "down"}}, dict(lines=[line("10.99")]), 10),
    ("points per unit 2.5", {"earning": {"points_per_unit": "2.5"}}, dict(lines=[line("10")]), 25),
    ("minimum order reached exactly", {"earning": {"minimum_order": "20"}}, dict(lines=[line("20.00")]), 20),
    ("minimum order missed by a cent", {"earning": {"minimum_order": "20"}}, dict(lines=[line("19.99")]), 0),
    ("excluded by product", {"earning": {"exclude": {"products": ["p9"]}}},
     dict(lines=[line("30"), line("70", "l2", product_id="p9")]), 30),
    ("excluded by collection", {"earning": {"exclude": {"collections": ["sale"]}}},
     dict(lines=[line("30"), line("70", "l2", collections=frozenset({"sale"}))]), 30),
    ("excluded by tag", {"earning": {"exclude": {"tags": ["no-points"]}}},
     dict(lines=[line("30", tags=frozenset({"no-points"}))]), 0),
    ("per-category multiplier", {"earning": {"multipliers": [
        {"match": {"collections": ["boards"]}, "factor": "2", "label": "Snowboards"}]}},
     dict(lines=[line("40", collections=frozenset({"boards"})), line("60", "l2")]), 140),
    ("highest line multiplier wins", {"earning": {"multipliers": [
        {"match": {"tags": ["a"]}, "factor": "2"}, {"match": {"product_types": ["t"]}, "factor": "3"}]}},
     dict(lines=[line("10", tags=frozenset({"a"}), product_type="t")]), 30),
    ("earning off", {"earning": {"enabled": False}}, dict(lines=[line("100")]), 0),
]


@pytest.mark.parametrize("name,doc,spec,expected", CASES, ids=[c[0] for c in CASES])
def test_order_earning_rules(name, doc, spec, expected):
    prog = program(**doc)
    lines = spec.pop("lines")
    result = calculate(prog, order(*lines, **spec), MemberContext())
    assert result.points == expected, result.summary


def test_tier_and_campaigns_stack_and_explain():
    prog = program(campaigns=[{"name": "Double Weekend", "factor": "2", "window": {
        "starts_at": "2026-03-04T00:00:00", "ends_at": "2026-03-05T00:00:00"}}])
    result = calculate(prog, order(line("120.00")), tier(prog, "Silver"))
    assert result.points == 300  # 120 x 1.25 x 2
    assert result.summary == "300 points: 1 per EUR on 120.00, Silver x1.25, Double Weekend x2"


@pytest.mark.parametrize("placed,active", [
    (datetime(2026, 3, 6, 22, 59, tzinfo=timezone.utc), False),  # 23:59 Friday in Berlin
    (datetime(2026, 3, 6, 23, 0, tzinfo=timezone.utc), True),  # 00:00 Saturday in Berlin
    (datetime(2026, 3, 8, 22, 59, tzinfo=timezone.utc), True),  # 23:59 Sunday in Berlin
    (datetime(2026, 3, 8, 23, 0, tzinfo=timezone.utc), False),  # 00:00 Monday in Berlin
])
def test_weekend_campaign_edges_in_the_shops_time_zone(placed, active):
    prog = program(timezone="Europe/Berlin", campaigns=[{
        "name": "Double Weekend", "factor": "2", "days_of_week": [5, 6],
        "window": {"starts_at": "2026-03-01T00:00:00", "ends_at": "2026-04-01T00:00:00"}}])
    result = calculate(prog, order(line("10"), placed_at=placed), MemberContext())
    assert result.points == (20 if active else 10)


def test_category_boost_campaign_applies_to_matching_lines_only():
    prog = program(campaigns=[{"name": "Shoe week", "factor": "3", "match": {"collections": ["shoes"]},
                               "window": {"starts_at": "2026-03-01T00:00:00", "ends_at": "2026-03-08T00:00:00"}}])
    result = calculate(prog, order(line("10", collections=frozenset({"shoes"})), line("10", "l2")), MemberContext())
    assert result.points == 40 and "Shoe week x3 on 10.00" in result.summary


@pytest.mark.parametrize("birthday,when,expected", [
    (date(1990, 3, 4), "day", 20), (date(1990, 3, 5), "day", 10),
    (date(1990, 3, 28), "month", 20), (date(1990, 4, 4), "month", 10),
])
def test_birthday_multiplier(birthday, when, expected):
    prog = program(campaigns=[{"name": "Birthday", "factor": "2", "kind": "birthday", "birthday_when": when}])
    assert calculate(prog, order(line("10")), MemberContext(None, birthday)).points == expected


def test_leap_day_birthdays_are_celebrated_on_28_february():
    prog = program(campaigns=[{"name": "Birthday", "factor": "2", "kind": "birthday"}])
    feb28 = datetime(2027, 2, 28, 12, tzinfo=timezone.utc)
    assert calculate(prog, order(line("10"), placed_at=feb28), MemberContext(None, date(2000, 2, 29))).points == 20


def test_cashback_default_rate_tier_rate_and_boost():
    prog = program(cashback={"enabled": True, "boosts": [
        {"match": {"tags": ["eco"]}, "rate": "10", "label": "Eco boost",
         "window": {"starts_at": "2026-03-01T00:00:00", "ends_at": "2026-03-31T00:00:00"}}]},
        tiers={"levels": [{"name": "Bronze", "threshold": 0},
                          {"name": "Gold", "threshold": 1000, "cashback_rate": "7"}]})
    assert calculate(prog, order(line("120.00")), MemberContext()).credit == D("6.00")  # 5% default
    assert calculate(prog, order(line("120.00")), tier(prog, "Gold")).credit == D("8.40")
    boosted = calculate(prog, order(line("100", tags=frozenset({"eco"})), line("100", "l2")), MemberContext())
    assert boosted.credit == D("15.00") and "Eco boost 10% on 100.00" in boosted.credit_summary


def test_cashback_is_rounded_down_to_the_cent():
    prog = program(cashback={"enabled": True, "rate": "5"})
    assert calculate(prog, order(line("10.19")), MemberContext()).credit == D("0.50")  # 0.5095


def test_cashback_off_by_default():
    assert calculate(program(), order(line("100")), MemberContext()).credit == D("0.00")


def test_a_paused_program_earns_nothing_new():
    prog = program(live=False, cashback={"enabled": True})
    paused = calculate(prog, order(line("100")), tier(prog, "Gold"))
    assert (paused.points, paused.credit) == (0, D("0.00")) and "the program is paused" in paused.summary
    assert program().live is True  # live unless the merchant pauses it
    live = calculate(program(cashback={"enabled": True}), order(line("100")), MemberContext())
    assert (live.points, live.credit) == (100, D("5.00"))
