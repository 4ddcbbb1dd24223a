"""What a member bought and the customer's tags, from facts (domain.segments): lines refunded
whole by quantity drop out, partial refunds and refunds of an amount do not; tags keep their
first spelling and are matched in any case."""
from datetime import datetime, timedelta, timezone

from plugin_app.domain.segments import bought, bought_groups, fact_key, tag_list

T0 = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
T1 = T0 + timedelta(days=10)


def test_bought_first_and_last_net_of_lines_refunded_whole():
    orders = [
        (T0, [["l1", "p1", 2], ["l2", "p2", 1], ["l3", "p3", 1]],
         {"r1": {"lines": [{"line_id": "l1", "quantity": 1}, {"line_id": "l2", "quantity": 1}]},
          "r2": {"lines": [], "amount": "5.00"}}),  # an amount names no line
        (T1, [["m1", "p1", 1], ["m2", "p3", 1]], {"r3": {"lines": [{"line_id": "m2", "quantity": 1}]}}),
        (T1, None, {}),  # recorded before products were kept
        (T1, [["n1", "p4", 0], ["n2", None, 1]], {}),  # removed by an edit; no product
    ]
    assert bought(orders) == {"p1": (T0, T1), "p3": (T0, T0)}
    # the second unit of l1 refunded too: p1 bought only at T1
    orders[0][2]["r4"] = {"lines": [{"line_id": "l1", "quantity": 1}]}
    assert bought(orders)["p1"] == (T1, T1)


def test_groups_span_their_products():
    products = {"p1": (T0, T0), "p2": (T1, T1), "p3": (T0, T1)}
    keys = {"p1": frozenset({"11", "summer"}), "p2": frozenset({"11"}), "p9": frozenset({"12"})}
    assert bought_groups(products, keys) == {"11": (T0, T1), "summer": (T0, T0)}


def test_tags_from_text_or_list():
    assert tag_list("VIP, wholesale ,, vip,Loyalty-Gold") == ("VIP", "wholesale", "Loyalty-Gold")
    assert tag_list(["a", " b ", "A", 7, None, ""]) == ("a", "b", "7")
    assert tag_list("") == () and tag_list(None) == ()
    assert len(tag_list(",".join(f"t{i}" for i in range(300)))) == 250
    assert fact_key("  Summer Sale ") == "summer sale"
