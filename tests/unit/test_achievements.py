"""Badge and challenge rules at their boundaries (domain.achievements), from facts."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from plugin_app.domain.achievements import (ActionFact, Badge, BadgeReward, BadgeRule, Challenge, ChallengeGoal,
                                            Facts, OrderFact, badge_progress, challenge_outcome, challenge_progress,
                                            month_streaks)

UTC = timezone.utc
ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


def at(y, m, d, h=12, mi=0, tz=UTC):
    return datetime(y, m, d, h, mi, tzinfo=tz).astimezone(UTC)


def orders(*values_and_days):
    return tuple(OrderFact(placed_at=when, value=Decimal(v)) for v, when in values_and_days)


def badge(kind, repeatable=False, max_times=None, **rule):
    return Badge(id="b", name="B", rule=BadgeRule(kind=kind, **rule), repeatable=repeatable, max_times=max_times)


KEPT = [("10", at(2026, 1, 5)), ("20", at(2026, 2, 5)), ("30", at(2026, 3, 5))]


@pytest.mark.parametrize("kind, rule, facts, times, current", [
    ("first_order", {}, Facts(), 0, 0),
    ("first_order", {}, Facts(orders=orders(KEPT[0])), 1, 1),
    ("first_order", {}, Facts(orders=orders(("0", at(2026, 1, 5)))), 0, 0),  # refunded in full: not an order kept
    ("orders_count", {"n": 3}, Facts(orders=orders(*KEPT[:2])), 0, 2),  # 2 of 3
    ("orders_count", {"n": 3}, Facts(orders=orders(*KEPT)), 1, 3),  # exactly N
    ("orders_count", {"n": 3}, Facts(orders=orders(*KEPT[:2], ("0", at(2026, 3, 5)))), 0, 2),  # refund undoes the third
    ("spend", {"amount": Decimal("60")}, Facts(orders=orders(*KEPT)), 1, 60),  # exactly the amount
    ("spend", {"amount": Decimal("60.01")}, Facts(orders=orders(*KEPT)), 0, 60),
    ("spend", {"amount": Decimal("50"), "period": "calendar_year"},
     Facts(orders=orders(("40", at(2025, 12, 31, 22, 59, ROME)), ("20", at(2026, 1, 1, 0, 0, ROME)))), 0, 20),
    ("spend", {"amount": Decimal("50"), "period": "rolling_12_months"},
     Facts(orders=orders(("40", at(2025, 6, 15, 12, 1)), ("20", at(2026, 1, 1)))), 1, 60),
    ("spend", {"amount": Decimal("50"), "period": "rolling_12_months"},
     Facts(orders=orders(("40", at(2025, 6, 15, 11, 59)), ("20", at(2026, 1, 1)))), 0, 20),
    ("reviews", {"n": 2}, Facts(actions=(ActionFact("review", NOW), ActionFact("signup", NOW))), 0, 1),
    ("reviews", {"n": 2}, Facts(actions=(ActionFact("review", NOW),) * 2), 1, 2),
    ("referrals", {"n": 2}, Facts(referrals=1), 0, 1),
    ("referrals", {"n": 2}, Facts(referrals=2), 1, 2),
    ("custom_event", {"n": 2, "event": "quiz"}, Facts(actions=(ActionFact("quiz", NOW), ActionFact("poll", NOW))), 0, 1),
    ("custom_event", {"n": 2, "event": "quiz"}, Facts(actions=(ActionFact("quiz", NOW),) * 2), 1, 2),
    ("order_streak_months", {"n": 3}, Facts(orders=orders(*KEPT)), 1, 3),  # Jan, Feb, Mar
    ("order_streak_months", {"n": 3},  # February missed: the streak is broken
     Facts(orders=orders(KEPT[0], ("5", at(2026, 3, 5)), ("5", at(2026, 4, 5)))), 0, 2),
    ("order_streak_months", {"n": 3},  # a refunded February order breaks it too
     Facts(orders=orders(KEPT[0], ("0", at(2026, 2, 5)), KEPT[2])), 0, 1),
])
def test_badge_rules_at_their_boundaries(kind, rule, facts, times, current):
    p = badge_progress(badge(kind, **rule), facts, NOW, ROME)
    assert (p.times, p.current) == (times, Decimal(current))
    assert p.done == bool(times) and p.shown == (p.target if times else Decimal(current))


def test_streak_months_are_the_shops_months():
    # 23:30 on 31 January in Rome is still January there (22:30 UTC); 00:30 on 1 March is March.
    facts = orders(("5", at(2026, 1, 31, 23, 30, ROME)), ("5", at(2026, 2, 10)), ("5", at(2026, 3, 1, 0, 30, ROME)))
    assert month_streaks(facts, ROME) == [3]
    assert month_streaks(facts, UTC) == [2]  # in UTC the last one is still February


@pytest.mark.parametrize("count, max_times, times, shown", [(5, None, 2, 1), (6, None, 3, 0), (9, 2, 2, 2)])
def test_repeatable_badges_count_up_to_their_limit(count, max_times, times, shown):
    b = badge("orders_count", repeatable=True, max_times=max_times, n=2)
    p = badge_progress(b, Facts(orders=orders(*[("1", at(2026, 1, d + 1)) for d in range(count)])), NOW, UTC)
    assert (p.times, p.shown) == (times, shown)


MARCH = Challenge(id="march", name="March", starts_at=datetime(2026, 3, 1), ends_at=datetime(2026, 4, 1),
                  goal=ChallengeGoal(kind="orders_count", n=3), points=200)


@pytest.mark.parametrize("placed, counts", [
    (at(2026, 3, 31, 23, 59, ROME), True),  # the last minute of the window, in the shop's time zone
    (at(2026, 4, 1, 0, 0, ROME), False),  # the end is exclusive
    (at(2026, 3, 1, 0, 0, ROME), True),  # the first minute
    (at(2026, 2, 28, 23, 59, ROME), False),
    (datetime(2026, 3, 31, 22, 30, tzinfo=UTC), False),  # 00:30 on 1 April in Rome (summer time)
])
def test_challenge_window_in_the_shops_time_zone(placed, counts):
    facts = Facts(orders=orders(("10", at(2026, 3, 10)), ("10", at(2026, 3, 11)), ("10", placed)))
    after = datetime(2026, 4, 2, tzinfo=UTC)
    assert challenge_progress(MARCH, facts, ROME) == (3 if counts else 2)
    assert challenge_outcome(MARCH, facts, after, ROME) == ("achieved" if counts else "missed")


def test_a_refund_inside_the_window_counts_against_the_goal():
    kept = orders(("10", at(2026, 3, 10)), ("10", at(2026, 3, 11)), ("10", at(2026, 3, 12)))
    refunded = kept[:2] + orders(("0", at(2026, 3, 12)))
    after = datetime(2026, 4, 2, tzinfo=UTC)
    assert challenge_outcome(MARCH, Facts(orders=kept), after, ROME) == "achieved"
    assert challenge_outcome(MARCH, Facts(orders=refunded), after, ROME) == "missed"


def test_a_challenge_is_decided_only_after_its_end():
    facts = Facts(orders=orders(*[("10", at(2026, 3, d)) for d in (2, 3, 4)]))
    assert challenge_outcome(MARCH, facts, at(2026, 2, 28), ROME) == "upcoming"
    assert challenge_outcome(MARCH, facts, at(2026, 3, 31, 23, 59, ROME), ROME) == "open"
    assert challenge_outcome(MARCH, facts, at(2026, 4, 1, 0, 0, ROME), ROME) == "achieved"


def test_spend_and_custom_event_goals():
    spend = Challenge(id="s", name="S", starts_at=datetime(2026, 3, 1), ends_at=datetime(2026, 4, 1),
                      goal=ChallengeGoal(kind="spend", amount=Decimal("100")), points=5)
    facts = Facts(orders=orders(("60", at(2026, 3, 2)), ("39.99", at(2026, 3, 3)), ("500", at(2026, 4, 2))))
    assert challenge_progress(spend, facts, UTC) == Decimal("99.99")
    quiz = Challenge(id="q", name="Q", starts_at=datetime(2026, 3, 1), ends_at=datetime(2026, 4, 1),
                     goal=ChallengeGoal(kind="custom_event", n=2, event="quiz"), points=5)
    acts = Facts(actions=(ActionFact("quiz", at(2026, 3, 2)), ActionFact("quiz", at(2026, 4, 1, 0, 0))))
    assert challenge_progress(quiz, acts, UTC) == 1


@pytest.mark.parametrize("make, field", [
    (lambda: BadgeRule(kind="spend"), "amount"),
    (lambda: BadgeRule(kind="orders_count", n=0), "n"),
    (lambda: BadgeRule(kind="custom_event"), "event"),
    (lambda: BadgeReward(kind="points"), "points"),
    (lambda: Badge(id="a b", name="x", rule=BadgeRule(kind="first_order")), "id"),
    (lambda: Badge(id="a", name="x", rule=BadgeRule(kind="first_order"), repeatable=True), "repeatable"),
    (lambda: Badge(id="a", name="x", rule=BadgeRule(kind="orders_count"), max_times=2), "max_times"),
    (lambda: Challenge(id="c", name="C", starts_at=datetime(2026, 4, 1), ends_at=datetime(2026, 4, 1),
                       goal=ChallengeGoal(kind="orders_count"), points=1), "ends_at"),
    (lambda: Challenge(id="c", name="C", starts_at=datetime(2026, 3, 1, tzinfo=UTC), ends_at=datetime(2026, 4, 1, tzinfo=UTC),
                       goal=ChallengeGoal(kind="orders_count"), points=1), "starts_at"),
    (lambda: Challenge(id="c", name="C", starts_at=datetime(2026, 3, 1), ends_at=datetime(2026, 4, 1),
                       goal=ChallengeGoal(kind="orders_count"), points=0), "points"),
])
def test_bad_fields_name_themselves(make, field):
    with pytest.raises(ValueError, match=f"^{field}: "):
        make()


def test_rolling_twelve_months_agree_with_the_tier_windows():
    from plugin_app.domain.achievements import _spend_since
    from plugin_app.domain.tiers import add_months

    for now in (NOW, datetime(2028, 2, 29, 10, tzinfo=UTC), datetime(2026, 12, 31, 23, tzinfo=UTC)):
        assert _spend_since("rolling_12_months", now, UTC) == add_months(now, -12)


@pytest.mark.parametrize("locale, code, params, text", [
    ("en", "badge.earned", {"name": "Three orders", "times": 1}, "Badge earned: Three orders"),
    ("it", "badge.earned", {"name": "Tre ordini", "times": 2}, "Badge ottenuto: Tre ordini (2 volte)"),
    ("de", "challenge.completed", {"name": "März"}, "Challenge geschafft: März"),
    ("fr", "challenge.completed", {"name": "Mars"}, "Défi réussi : Mars"),
])
def test_the_ledger_explains_badges_and_challenges_in_the_readers_language(locale, code, params, text):
    from plugin_app.domain.reasons import Reason
    from plugin_app.i18n import translator
    from plugin_app.services.explain import render

    assert render(Reason(code, params), translator(locale)) == text


@pytest.mark.parametrize("locale, kind, current, target, text", [
    ("en", "orders_count", 2, 3, "2 of 3 orders"),
    ("en", "first_order", 0, 1, "0 of 1 order"),
    ("it", "reviews", 1, 2, "1 di 2 recensioni"),
    ("es", "order_streak_months", 2, 3, "2 de 3 meses seguidos con un pedido"),
    ("en", "spend", Decimal("40"), Decimal("100"), "€40.00 of €100.00 spent"),
])
def test_progress_texts(locale, kind, current, target, text):
    from plugin_app.i18n import translator
    from plugin_app.services.achievements import progress_text

    assert progress_text(translator(locale), kind, Decimal(current), Decimal(target), "EUR") == text
