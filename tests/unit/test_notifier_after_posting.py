"""`Notifier.after_posting`, the handler of every posting: store credit ready to spend, the
first reward a posting brings within reach, and `points.changed` for shops whose endpoints
want it, collected into the posting's unit of work (fakes: no database, no transport)."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from plugin_app.domain.member_events import CashbackAvailable, PointsChanged, PointsPosted, RewardUnlocked
from plugin_app.adapters.http import RecordingPoster
from plugin_app.adapters.mail import RecordingMailer
from plugin_app.services.notify import Notifier

from .. import factories as F
from ..fakes import FakeDb, FakePrograms

AT = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
REWARDS = F.program(rewards=[
    F.reward("ship", 250, type="free_shipping"),
    F.reward("five-off", 100, amount="5"),
    F.reward("big", 1000, amount="50"),
    F.reward("off", 150, amount="8", enabled=False),
    F.reward("steps", 50, type="variable_amount", amount="1"),
])


def notifier(program=REWARDS, topics=()):
    """The notifier with nothing it could send through: only its handler is under test. Which
    topics the shop's endpoints want is a SQL read in production; here it is given."""
    n = Notifier(FakeDb(), FakePrograms(program), shops=None, mailer=RecordingMailer(),
                 poster=RecordingPoster(), app_url="http://test", secret_key="k")
    n.subscribed = lambda uow: set(topics)
    return n


def posted(kind="earn", asset="points", available=0, pending=0, held=0, balance=0, balance_pending=0):
    return PointsPosted(shop_id=1, member_id=7, at=AT, entry_id=42, kind=kind, asset=asset,
                        available=Decimal(available), pending=Decimal(pending), held=Decimal(held),
                        lifetime=Decimal(max(available, 0)), balance=balance, balance_pending=balance_pending)


def label(value) -> str:
    if isinstance(value, PointsPosted):
        return f"{value.asset}-{value.kind}-{value.available}-to-{value.balance}"
    return str(value)


def collected(n, event):
    db = FakeDb()
    with db.uow(1) as uow:
        n.after_posting(uow, event)
    return list(uow.events), db.outbox


@pytest.mark.parametrize("kind", ["earn", "vest"])
def test_store_credit_credited_or_vested_is_cashback_available(kind):
    events, rows = collected(notifier(), posted(kind, "credit", available=Decimal("3.50")))
    assert events == [CashbackAvailable(shop_id=1, member_id=7, at=AT, entry_id=42, amount=Decimal("3.50"))]
    assert [(r["type"], r["dedupe_key"], r["payload"]) for r in rows] == [
        ("cashback_available", "cashback:42", {"amount": "3.50", "entry_id": 42})]


@pytest.mark.parametrize("event", [
    posted("adjust", "credit", available=5),  # a person's credit: no cashback email
    posted("earn", "credit", pending=5),  # not spendable yet
    posted("reverse", "credit", available=-5),
], ids=label)
def test_other_credit_postings_tell_nothing(event):
    assert collected(notifier(topics={"points.changed"}), event) == ([], [])  # nor points.changed


def test_the_cheapest_reward_newly_within_reach_is_unlocked_once():
    # 80 -> 300 crosses five-off (100) and ship (250): the cheapest is told; the disabled (150)
    # and the variable one (50 per step) never are.
    events, rows = collected(notifier(), posted("earn", available=220, balance=300))
    assert events == [RewardUnlocked(shop_id=1, member_id=7, at=AT, entry_id=42, reward_id="five-off",
                                     reward="five-off reward", points_cost=100, balance=300)]
    assert [(r["type"], r["dedupe_key"]) for r in rows] == [("reward_unlocked", "unlocked:42:five-off")]


@pytest.mark.parametrize("event, reward", [
    (posted("adjust", available=800, balance=1200), "big"),  # 400 -> 1200: ship and five-off were reached
    (posted("vest", available=150, balance=260), "ship"),
    (posted("earn", available=100, balance=100), "five-off"),  # exactly the cost
    (posted("earn", available=10, balance=99), None),
    (posted("earn", available=50, balance=1050), None),  # already past every cost
    (posted("earn", pending=500, balance=0, balance_pending=500), None),  # pending is not spendable
    (posted("reverse", available=-100, balance=0), None),
], ids=label)
def test_which_postings_unlock_which_reward(event, reward):
    events, _ = collected(notifier(), event)
    assert [e.reward_id for e in events if isinstance(e, RewardUnlocked)] == ([reward] if reward else [])


def test_points_changed_only_for_shops_that_subscribed():
    event = posted("reserve", available=-30, held=30, balance=70, balance_pending=5)
    assert collected(notifier(topics={"tier.changed"}), event) == ([], [])
    events, rows = collected(notifier(topics={"points.changed", "tier.changed"}), event)
    assert events == [PointsChanged(shop_id=1, member_id=7, at=AT, entry_id=42, kind="reserve", available_change=-30,
                                    pending_change=0, held_change=30, balance=70, pending=5)]
    assert rows[0]["type"] == "points_changed" and rows[0]["dedupe_key"] == "entry:42"
    assert rows[0]["payload"] == {"entry_id": 42, "kind": "reserve", "available_change": -30, "pending_change": 0,
                                  "held_change": 30, "balance": 70, "pending": 5}


def test_a_posting_can_unlock_and_change_at_once_in_that_order():
    events, _ = collected(notifier(topics={"points.changed"}), posted("earn", available=120, balance=120))
    assert [type(e).__name__ for e in events] == ["RewardUnlocked", "PointsChanged"]
