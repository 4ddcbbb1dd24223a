"""Ledger explanations: stored as a reason code with parameters, rendered in the reader's
language from the same row; rows from before reason codes show their stored English reason."""
from decimal import Decimal as D

import pytest
from sqlalchemy import text

from plugin_app.domain.reasons import Reason
from plugin_app.i18n import translator
from plugin_app.services.explain import REASONS, explain, render

from . import factories as F

EN, IT, DE = translator("en"), translator("it"), translator("de")


def rows(rt, where="true"):
    with rt.db.transaction() as conn:
        return conn.execute(text(f"select * from ledger_entries where {where} order by id")).all()


def test_an_order_entry_explains_itself_in_italian_and_english_from_the_same_row(runtime, shop):
    runtime.programs.put(shop.id, {"cashback": {"enabled": True, "rate": "5"},
                                   "tiers": {"levels": [{"name": "Bronze", "threshold": "0", "earn_multiplier": "1.5"}]}},
                         author="test")
    runtime.orders.on_paid(shop.id, F.order(F.line(total="1234.50"), order_id="1001", customer="ada"))
    points = rows(runtime, "kind = 'earn' and asset = 'points'")[0]
    credit = rows(runtime, "kind = 'earn' and asset = 'credit'")[0]
    assert points.reason_code == "order.points" and credit.reason_code == "order.cashback"
    # raw values only: no English, no formatted amounts
    assert points.reason_params["parts"][0] == {"code": "earn.base", "params": {
        "rate": "1", "currency": "EUR", "base": {"amount": "1234.50", "currency": "EUR"}}}
    assert points.reason_params["parts"][1] == {"code": "earn.tier", "params": {"tier": "Bronze", "factor": "1.5"}}
    assert explain(points, IT) == "Ordine 1001" and explain(points, EN) == "Order 1001"
    assert explain(points, IT, detail=True) == "Ordine 1001: 1 punto ogni 1,00\xa0€ su 1.234,50\xa0€, livello Bronze ×1,5"
    assert explain(points, EN, detail=True) == "Order 1001: 1 point per €1.00 on €1,234.50, Bronze tier ×1.5"
    assert points.reason == explain(points, EN, detail=True)  # the English column, from the same code
    assert explain(credit, IT, detail=True) == "Cashback sull'ordine 1001: 5% di cashback su 1.234,50\xa0€"
    assert explain(credit, DE, detail=True) == f"Cashback für Bestellung 1001: {DE.rate(5)} Cashback auf 1.234,50\xa0€"


def test_refunds_actions_and_merchant_notes(runtime, shop, member):
    runtime.orders.on_paid(shop.id, F.order(F.line(total="100.00", quantity=2, line_id="a"), order_id="7", customer="cust-1"))
    runtime.orders.on_refund(shop.id, "7", F.refund(("a", 1), refund_id="r1"))
    refund = rows(runtime, "kind = 'reverse'")[0]
    assert refund.reason_code == "order.refund" and refund.reason_params["share"] == "50"
    assert explain(refund, IT) == "Rimborso sull'ordine 7: stornato il 50% di quanto guadagnato"
    assert explain(refund, EN) == "Refund on order 7: 50% of what it earned taken back"
    runtime.adjustments.adjust(shop.id, member.id, "points", 5, key="k-note", actor="ann", reason="Sorry for the delay")
    note = rows(runtime, "idempotency_key = 'k-note'")[0]
    assert (note.reason_code, note.reason_params) == ("note", {"text": "Sorry for the delay"})
    assert explain(note, IT) == explain(note, EN) == "Sorry for the delay"  # the merchant's words, as written


def test_a_replay_with_a_reason_worded_differently_is_the_same_request(runtime, shop, member):
    """The reason (code, parameters, English text) is not part of a posting's fingerprint."""
    first = runtime.ledger.earn(shop.id, member.id, "points", 10, key="same", source="action",
                                reason=Reason("action", {"kind": "review", "points": 10}))
    again = runtime.ledger.earn(shop.id, member.id, "points", 10, key="same", source="action", reason="review")
    assert again.replayed and again.entry_id == first.entry_id
    assert len(rows(runtime, "idempotency_key = 'same'")) == 1


def test_rows_from_before_reason_codes_still_render(runtime, shop, member):
    runtime.ledger.earn(shop.id, member.id, "points", 10, key="old", source="action", reason="welcome bonus")
    with runtime.db.transaction() as conn:  # as a row written before migration 0018's columns were filled
        conn.execute(text("update ledger_entries set reason_code = null, reason_params = null where idempotency_key = 'old'"))
    old = rows(runtime, "idempotency_key = 'old'")[0]
    assert explain(old, IT) == "welcome bonus" and explain({"reason": "x", "reason_code": None}, EN) == "x"


@pytest.mark.fast
@pytest.mark.parametrize("code", sorted(REASONS))
def test_every_reason_code_renders_in_every_language_without_its_placeholders(code):
    params = {"order": "1001", "points": 50, "amount": {"amount": "6.00", "currency": "EUR"}, "share": "50",
              "kind": "signup", "tier": "Gold", "rate": "5", "base": {"amount": "120.00", "currency": "EUR"},
              "currency": "EUR", "reward": "Mug", "names": {"it": "Tazza"}, "code": "LOY-1", "months": 12,
              "factor": "2", "name": "Weekend", "label": "Boost", "minimum": {"amount": "10.00", "currency": "EUR"},
              "tiers": ["Gold"], "missing": 20, "most": 3, "text": "as written",
              "parts": [{"code": "earn.base", "params": {"rate": "1", "currency": "EUR",
                                                         "base": {"amount": "120.00", "currency": "EUR"}}}]}
    for lang in ("en", "it", "de", "fr", "es"):
        out = render(Reason(code, params), translator(lang))
        assert out and "%(" not in out and "EUR" not in out, (lang, out)
    assert render(Reason("cart.hold", params), IT) == "Riservato nel carrello per «Tazza»"  # the reward's Italian name


@pytest.mark.fast
def test_unknown_codes_and_bad_parameters_do_not_break_a_page():
    assert render(Reason("from.the.future", {"text": "hello"}), IT) == "hello"
    assert render(Reason("expiry.inactive", {"months": "lots"}), IT) == "expiry.inactive"
    assert render(Reason("earn.base", {"rate": D("1.5"), "currency": "EUR", "base": "7"}), IT) == "1,5 punti ogni 1,00\xa0€ su 7"
