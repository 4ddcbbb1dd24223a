"""Every outbox event's row: its `type`, dedupe key and payload are the strings the outbox,
the notifications and the public API used before the events were typed (an event written
twice under another key would be told twice)."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from plugin_app.domain import member_events as E

AT = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)
ISO = AT.isoformat()
EXPIRES = datetime(2026, 4, 1, tzinfo=timezone.utc)
BASE = dict(shop_id=3, member_id=7, at=AT)

CASES = [
    (E.MemberEnrolled(**BASE, customer_id="c-7"),
     "member_enrolled", "enrolled:7", {"customer_id": "c-7"}),
    (E.OrderPointsEarned(**BASE, order_id="1001", points=120, credit=Decimal("6.00"), pending=True),
     "points_earned", "earned:1001", {"order_id": "1001", "points": 120, "credit": "6.00", "pending": True}),
    (E.PointsChanged(**BASE, entry_id=42, kind="redeem", available_change=-100, pending_change=0, held_change=0,
                     balance=20, pending=5),
     "points_changed", "entry:42", {"entry_id": 42, "kind": "redeem", "available_change": -100,
                                    "pending_change": 0, "held_change": 0, "balance": 20, "pending": 5}),
    (E.CashbackAvailable(**BASE, entry_id=43, amount=Decimal("3.50")),
     "cashback_available", "cashback:43", {"amount": "3.50", "entry_id": 43}),
    (E.RewardUnlocked(**BASE, entry_id=44, reward_id="five-off", reward="5.00 off", points_cost=100, balance=130),
     "reward_unlocked", "unlocked:44:five-off", {"reward_id": "five-off", "reward": "5.00 off", "points_cost": 100,
                                                 "balance": 130}),
    (E.TierChanged(**BASE, from_tier="Bronze", to_tier="Silver", reason="reached 500", up=True, value=Decimal("600"),
                   cause="adjust", program_version=2),
     "tier_changed", f"tier:7:Bronze->Silver:{ISO}", {"from": "Bronze", "to": "Silver", "reason": "reached 500",
                                                      "direction": "up", "value": "600", "cause": "adjust",
                                                      "program_version": 2}),
    (E.TierChanged(**BASE, from_tier=None, to_tier="Bronze", reason="r", up=False, value=Decimal("0.5"), cause="",
                   program_version=1),
     "tier_changed", f"tier:7:None->Bronze:{ISO}", {"from": None, "to": "Bronze", "reason": "r", "direction": "down",
                                                    "value": "0.5", "cause": "", "program_version": 1}),
    (E.RewardRedeemed(**BASE, redemption_id=9, reward_id="five-off", code="LOY-AB", order_id="1002", asset="points",
                      amount=Decimal("100")),
     "reward_redeemed", "redeemed:9", {"redemption_id": 9, "reward_id": "five-off", "code": "LOY-AB",
                                       "order_id": "1002", "asset": "points", "amount": "100"}),
    (E.RedemptionFlagged(**BASE, redemption_id=9, code="LOY-AB", order_id="1003", reason="used by another customer"),
     "redemption_flagged", "flag:9:1003", {"code": "LOY-AB", "order_id": "1003",
                                           "reason": "used by another customer"}),
    (E.ReferralLinkShared(**BASE, channel="whatsapp"),
     "referral_link_shared", f"share:7:whatsapp:{ISO}", {"channel": "whatsapp"}),
    (E.ReferralJudged(**BASE, referral_id=5, outcome="approved", reason="ok"),
     "referral_judged", "judged:5", {"referral_id": 5, "outcome": "approved", "reason": "ok"}),
    (E.ReferralRewarded(**BASE, referral_id=5, reward={"asset": "points", "amount": "200"}),
     "referral_rewarded", "rewarded:5", {"asset": "points", "amount": "200"}),
    (E.BirthdayRewarded(**BASE, event_id="2026", points=50),
     "birthday_reward", "birthday:2026:7", {"points": 50, "kind": "points"}),
    (E.PointsExpiring(**BASE, asset="points", amount=Decimal("80"), days=30, expires_at=EXPIRES, by_inactivity=False,
                      dated=date(2026, 4, 1)),
     "points_expiring", "expiring:7:points:2026-04-01:30", {"asset": "points", "amount": "80", "days": 30,
                                                             "expires_at": EXPIRES.isoformat()}),
    (E.PointsExpiring(**BASE, asset="points", amount=120, days=7, expires_at=EXPIRES, by_inactivity=True,
                      dated=date(2025, 4, 1)),
     "points_expiring", "inactive:7:2025-04-01:7", {"asset": "points", "amount": "120", "days": 7,
                                                    "expires_at": EXPIRES.isoformat()}),
    (E.BadgeEarned(**BASE, badge_id="three", seq=2, points=100, name="Three orders"),
     "badge_earned", "badge:7:three:2", {"badge_id": "three", "name": "Three orders", "times": 2, "points": 100}),
    (E.ChallengeCompleted(**BASE, challenge_id="march", points=200, name="March madness"),
     "challenge_completed", "challenge:7:march", {"challenge_id": "march", "name": "March madness", "points": 200}),
    (E.SegmentEntered(**BASE, segment_id=4, segment="At risk"),
     "segment_entered", f"segment:4:7:in:{ISO}", {"segment_id": 4, "segment": "At risk"}),
    (E.SegmentLeft(**BASE, segment_id=4, segment="At risk"),
     "segment_left", f"segment:4:7:out:{ISO}", {"segment_id": 4, "segment": "At risk"}),
    (E.LifecycleChanged(**BASE, from_state="active", to_state="at_risk"),
     "lifecycle_changed", f"lifecycle:7:active->at_risk:{ISO}", {"from": "active", "to": "at_risk"}),
]


@pytest.mark.parametrize("event, type_, key, payload", CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_the_row_of_every_outbox_event(event, type_, key, payload):
    assert event.outbox_row() == dict(shop_id=3, member_id=7, type=type_, dedupe_key=key, payload=payload,
                                      created_at=AT)


def test_every_outbox_type_is_covered_above_and_named_once():
    assert {type(c[0]) for c in CASES} == set(E.OUTBOX_TYPES.values())
    assert all(E.OUTBOX_TYPES[cls.type] is cls for cls in E.OUTBOX_TYPES.values())


def test_a_long_key_is_cut_to_the_column():
    row = E.ReferralLinkShared(**BASE, channel="x" * 400).outbox_row()
    assert len(row["dedupe_key"]) == 255 and row["payload"] == {"channel": "x" * 30}


def test_the_core_facts_are_not_outbox_events():
    assert not issubclass(E.PointsPosted, E.OutboxEvent) and not issubclass(E.OrderChanged, E.OutboxEvent)
