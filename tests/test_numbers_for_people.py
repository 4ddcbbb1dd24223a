"""Numbers people read never come out in exponent form (str(Decimal('5E+1')) is '5E+1'):
one helper formats them; money is shown to its currency's minor unit."""
from decimal import Decimal as D

import pytest
from pydantic import TypeAdapter

from plugin_app.domain.earning import MemberContext, Order, OrderLine, calculate
from plugin_app.domain.money import Money, amount_text, money_text, plain
from plugin_app.domain.program import Program, Reward
from plugin_app.domain.rewards import quote
from plugin_app.services.widget import program_view

P = TypeAdapter(Program)
R = TypeAdapter(Reward)


@pytest.mark.parametrize("value, expected", [
    (D("5E+1"), "50"), (D("1E+1"), "10"), (D("0.50"), "0.5"), (D("10"), "10"), (D("-5E+1"), "-50"),
    (D("0E-8"), "0"), (D("-0"), "0"), (D("1.2300"), "1.23"), (D("12345678901234567890123456789012"), "12345678901234567890123456789012"),
    (7, "7"), ("3.10", "3.1"),
])
def test_plain_never_gives_exponent_form(value, expected):
    assert plain(value) == expected


@pytest.mark.parametrize("value, currency, expected", [
    (D("5E+1"), "EUR", "50.00"), (D("1E+1"), "JPY", "10"), (D("0.50"), "EUR", "0.50"), (D("0.5"), "KWD", "0.500"),
    (D("-0.001"), "EUR", "0.00"), (D("1E+2"), None, "100"),
])
def test_money_is_shown_to_its_currency(value, currency, expected):
    assert amount_text(value, currency) == expected


def test_money_reads_as_amount_and_currency():
    assert money_text(D("5E+1"), "EUR") == "50.00 EUR"
    assert str(Money.of(D("1E+1"), "EUR")) == "10.00 EUR"
    assert Money.of(D("5E+1"), "EUR").to_json() == {"amount": "50.00", "currency": "EUR"}


@pytest.mark.parametrize("percent", ["10", "1E+1", "10.0"])
def test_a_ten_percent_reward_reads_ten_percent(percent):
    reward = R.validate_python({"id": "ten", "name": "10% off", "type": "percentage", "points_cost": 300,
                                "percent": percent})
    q = quote(reward, Money.of("50", "EUR"), points_available=500, tier=None)
    assert q.explanation == "300 points for 10% off"


def test_fixed_and_variable_rewards_read_in_money():
    fixed = R.validate_python({"id": "f", "name": "off", "type": "fixed_amount", "points_cost": 100, "amount": "5E+1"})
    assert quote(fixed, Money.of("80", "EUR"), points_available=100, tier=None).explanation == "100 points for 50.00 EUR off"
    var = R.validate_python({"id": "v", "name": "off", "type": "variable_amount", "points_cost": 100, "amount": "1E+1"})
    assert quote(var, Money.of("80", "EUR"), points_available=300, tier=None, steps=2).explanation == \
        "200 points for 20.00 EUR off"
    half = R.validate_python({"id": "h", "name": "off", "type": "percentage", "points_cost": 10, "percent": "0.50"})
    assert quote(half, Money.of("80", "EUR"), points_available=10, tier=None).explanation == "10 points for 0.5% off"


def test_earning_notes_and_the_widget_show_plain_numbers():
    program = P.validate_python({"earning": {"points_per_unit": "1E+1"}, "cashback": {"enabled": True, "rate": "1E+1"},
                                 "rewards": [{"id": "p", "name": "pct", "type": "percentage", "points_cost": 300,
                                              "percent": "1E+1"},
                                             {"id": "f", "name": "off", "type": "fixed_amount", "points_cost": 100,
                                              "amount": "5E+1"}]})
    from datetime import datetime, timezone

    order = Order("o1", "EUR", datetime(2026, 3, 1, tzinfo=timezone.utc), (OrderLine("l1", 1, D("5E+1")),), "c1")
    earning = calculate(program, order, MemberContext())
    assert "E+" not in earning.summary + earning.credit_summary, (earning.summary, earning.credit_summary)
    assert "10 per EUR on 50.00" in earning.summary and "10% " in earning.credit_summary
    view = program_view(program, "EUR")
    assert {r["id"]: (r["amount"], r["percent"]) for r in view["rewards"]} == {"p": (None, "10"), "f": ("50.00", None)}
    assert [w.get("percent") for w in view["ways_to_earn"] if w["kind"] == "cashback"] == ["10"]


def test_the_admin_ledger_shows_fifty_points_as_50(client, app):
    rt = app.extensions["loyalty"]
    shop, key = rt.shops.register("demo", "numbers.example", currency="EUR")
    member, _ = rt.members.enrol(shop.id, "c1")
    rt.ledger.earn(shop.id, member.id, "points", 50, key="o1", source="order", reason="order #1")
    entries = client.get(f"/admin/api/v1/members/{member.id}/entries",
                         headers={"Authorization": f"Bearer {key}"}).get_json()["entries"]
    assert entries[0]["amount"] == "50"
