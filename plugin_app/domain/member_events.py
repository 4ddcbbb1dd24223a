"""What happened to a member, as typed past-tense events.

A use case collects these in its unit of work; the handlers registered for each type
(`services.handlers`) react inside the same transaction. Two kinds:

- `DomainEvent`: a fact for the core's own rules (a posting was made, an order changed). It is
  not stored; the ledger entry or the order row is the record.
- `OutboxEvent`: a fact worth telling people and other systems (emails, merchant webhooks,
  later Shopify Flow). It is written to the outbox (`events`) when collected, once per dedupe
  key, with the same `type` and payload the notifications and the public API have always used.

(`domain.events` holds the other direction: what a platform tells us.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    shop_id: int
    member_id: int | None
    at: datetime


@dataclass(frozen=True, kw_only=True)
class OutboxEvent(DomainEvent):
    type: ClassVar[str]

    def key(self) -> str:  # pragma: no cover - every subclass says
        raise NotImplementedError

    def payload(self) -> dict:  # pragma: no cover
        raise NotImplementedError

    def outbox_row(self) -> dict:
        return dict(shop_id=self.shop_id, member_id=self.member_id, type=self.type,
                    dedupe_key=self.key()[:255], payload=self.payload(), created_at=self.at)


# -- facts for the core's rules -------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class PointsPosted(DomainEvent):
    """A ledger entry was written (points or store credit), with its effect and the balance after."""
    entry_id: int
    kind: str  # earn, redeem, reserve, commit, release, adjust, reverse, vest, expire
    asset: str  # points or credit
    available: Decimal
    pending: Decimal
    held: Decimal
    lifetime: Decimal
    balance: int  # available points after the entry
    balance_pending: int
    reason: str = ""
    credit_balance: Decimal | None = None  # available store credit after the entry (credit postings)
    source: str = ""  # the entry's source (domain.ledger.Source): an import's postings tell no shopper

    @property
    def moves_lifetime(self) -> bool:
        return self.lifetime != 0


@dataclass(frozen=True, kw_only=True)
class OrderChanged(DomainEvent):
    """An order counted for a member was earned, edited, refunded or cancelled."""
    order_id: str
    cause: str


@dataclass(frozen=True, kw_only=True)
class TagsChanged(DomainEvent):
    """The platform's tags for the customer changed (services.segments.set_tags)."""


# -- facts for people and other systems (the outbox) ----------------------------------------
@dataclass(frozen=True, kw_only=True)
class MemberEnrolled(OutboxEvent):
    type: ClassVar[str] = "member_enrolled"
    customer_id: str
    welcome: bool = True  # False: enrolled by the merchant (API, import), not a sign-up: no welcome e-mail

    def key(self) -> str:
        return f"enrolled:{self.member_id}"

    def payload(self) -> dict:
        return {"customer_id": self.customer_id} if self.welcome else {"customer_id": self.customer_id, "welcome": False}


@dataclass(frozen=True, kw_only=True)
class OrderPointsEarned(OutboxEvent):
    type: ClassVar[str] = "points_earned"
    order_id: str
    points: int
    credit: Decimal
    pending: bool

    def key(self) -> str:
        return f"earned:{self.order_id}"

    def payload(self) -> dict:
        return {"order_id": self.order_id, "points": self.points, "credit": str(self.credit),
                "pending": self.pending}


@dataclass(frozen=True, kw_only=True)
class PointsChanged(OutboxEvent):
    """For merchants subscribed to `points.changed`."""
    type: ClassVar[str] = "points_changed"
    entry_id: int
    kind: str
    available_change: int
    pending_change: int
    held_change: int
    balance: int
    pending: int

    def key(self) -> str:
        return f"entry:{self.entry_id}"

    def payload(self) -> dict:
        return {"entry_id": self.entry_id, "kind": self.kind, "available_change": self.available_change,
                "pending_change": self.pending_change, "held_change": self.held_change,
                "balance": self.balance, "pending": self.pending}


@dataclass(frozen=True, kw_only=True)
class CashbackAvailable(OutboxEvent):
    type: ClassVar[str] = "cashback_available"
    entry_id: int
    amount: Decimal

    def key(self) -> str:
        return f"cashback:{self.entry_id}"

    def payload(self) -> dict:
        return {"amount": str(self.amount), "entry_id": self.entry_id}


@dataclass(frozen=True, kw_only=True)
class RewardUnlocked(OutboxEvent):
    type: ClassVar[str] = "reward_unlocked"
    entry_id: int
    reward_id: str
    reward: str
    points_cost: int
    balance: int

    def key(self) -> str:
        return f"unlocked:{self.entry_id}:{self.reward_id}"

    def payload(self) -> dict:
        return {"reward_id": self.reward_id, "reward": self.reward, "points_cost": self.points_cost,
                "balance": self.balance}


@dataclass(frozen=True, kw_only=True)
class TierChanged(OutboxEvent):
    type: ClassVar[str] = "tier_changed"
    from_tier: str | None
    to_tier: str
    reason: str
    up: bool
    value: Decimal
    cause: str
    program_version: int

    def key(self) -> str:
        return f"tier:{self.member_id}:{self.from_tier}->{self.to_tier}:{self.at.isoformat()}"

    def payload(self) -> dict:
        return {"from": self.from_tier, "to": self.to_tier, "reason": self.reason,
                "direction": "up" if self.up else "down", "value": str(self.value), "cause": self.cause,
                "program_version": self.program_version}


@dataclass(frozen=True, kw_only=True)
class RewardRedeemed(OutboxEvent):
    """A reward code was used on an order: its points are spent for good."""
    type: ClassVar[str] = "reward_redeemed"
    redemption_id: int
    reward_id: str
    code: str
    order_id: str | None
    asset: str
    amount: Decimal

    def key(self) -> str:
        return f"redeemed:{self.redemption_id}"

    def payload(self) -> dict:
        return {"redemption_id": self.redemption_id, "reward_id": self.reward_id, "code": self.code,
                "order_id": self.order_id, "asset": self.asset, "amount": str(self.amount)}


@dataclass(frozen=True, kw_only=True)
class RedemptionFlagged(OutboxEvent):
    """A reward code was used where it should not have been (by someone else, or after it lapsed)."""
    type: ClassVar[str] = "redemption_flagged"
    redemption_id: int
    code: str
    order_id: str
    reason: str

    def key(self) -> str:
        return f"flag:{self.redemption_id}:{self.order_id}"

    def payload(self) -> dict:
        return {"code": self.code, "order_id": self.order_id, "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class ReferralLinkShared(OutboxEvent):
    type: ClassVar[str] = "referral_link_shared"
    channel: str

    def key(self) -> str:
        return f"share:{self.member_id}:{self.channel}:{self.at.isoformat()}"

    def payload(self) -> dict:
        return {"channel": self.channel[:30]}


@dataclass(frozen=True, kw_only=True)
class ReferralJudged(OutboxEvent):
    type: ClassVar[str] = "referral_judged"
    referral_id: int
    outcome: str
    reason: str

    def key(self) -> str:
        return f"judged:{self.referral_id}"

    def payload(self) -> dict:
        return {"referral_id": self.referral_id, "outcome": self.outcome, "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class ReferralRewarded(OutboxEvent):
    type: ClassVar[str] = "referral_rewarded"
    referral_id: int
    reward: dict = field(default_factory=dict)  # what the referrer received, as stored on the referral

    def key(self) -> str:
        return f"rewarded:{self.referral_id}"

    def payload(self) -> dict:
        return dict(self.reward)


@dataclass(frozen=True, kw_only=True)
class BirthdayRewarded(OutboxEvent):
    type: ClassVar[str] = "birthday_reward"
    event_id: str
    points: int

    def key(self) -> str:
        return f"birthday:{self.event_id}:{self.member_id}"

    def payload(self) -> dict:
        return {"points": self.points, "kind": "points"}


@dataclass(frozen=True, kw_only=True)
class PointsExpiring(OutboxEvent):
    """A reminder, `days` before value lapses: by age (the oldest lot's date) or by inactivity
    (`dated` is then the member's last activity)."""
    type: ClassVar[str] = "points_expiring"
    asset: str
    amount: Decimal | int
    days: int
    expires_at: datetime
    by_inactivity: bool
    dated: date  # the oldest lot's expiry date, or the last activity

    def key(self) -> str:
        if self.by_inactivity:
            return f"inactive:{self.member_id}:{self.dated}:{self.days}"
        return f"expiring:{self.member_id}:{self.asset}:{self.dated}:{self.days}"

    def payload(self) -> dict:
        return {"asset": self.asset, "amount": str(self.amount), "days": self.days,
                "expires_at": self.expires_at.isoformat()}


@dataclass(frozen=True, kw_only=True)
class BadgeEarned(OutboxEvent):
    """A member earned a badge (the `seq`-th time, for a repeatable one). `name`: the badge's
    name in the program when it was earned (webhooks and Flow show it)."""
    type: ClassVar[str] = "badge_earned"
    badge_id: str
    seq: int
    points: int
    name: str = ""

    def key(self) -> str:
        return f"badge:{self.member_id}:{self.badge_id}:{self.seq}"

    def payload(self) -> dict:
        return {"badge_id": self.badge_id, "name": self.name, "times": self.seq, "points": self.points}


@dataclass(frozen=True, kw_only=True)
class ChallengeCompleted(OutboxEvent):
    """A member reached a challenge's goal, told once when the challenge is settled."""
    type: ClassVar[str] = "challenge_completed"
    challenge_id: str
    points: int
    name: str = ""  # the challenge's name in the program when it was settled

    def key(self) -> str:
        return f"challenge:{self.member_id}:{self.challenge_id}"

    def payload(self) -> dict:
        return {"challenge_id": self.challenge_id, "name": self.name, "points": self.points}


@dataclass(frozen=True, kw_only=True)
class SegmentEntered(OutboxEvent):
    """A member came to match a merchant's segment (issue 20)."""
    type: ClassVar[str] = "segment_entered"
    segment_id: int
    segment: str

    def key(self) -> str:
        return f"segment:{self.segment_id}:{self.member_id}:in:{self.at.isoformat()}"

    def payload(self) -> dict:
        return {"segment_id": self.segment_id, "segment": self.segment}


@dataclass(frozen=True, kw_only=True)
class SegmentLeft(SegmentEntered):
    type: ClassVar[str] = "segment_left"

    def key(self) -> str:
        return f"segment:{self.segment_id}:{self.member_id}:out:{self.at.isoformat()}"


@dataclass(frozen=True, kw_only=True)
class LifecycleChanged(OutboxEvent):
    """A member's lifecycle state moved (new, active, at_risk, win_back, loyal, lapsed)."""
    type: ClassVar[str] = "lifecycle_changed"
    from_state: str | None
    to_state: str

    def key(self) -> str:
        return f"lifecycle:{self.member_id}:{self.from_state}->{self.to_state}:{self.at.isoformat()}"

    def payload(self) -> dict:
        return {"from": self.from_state, "to": self.to_state}


OUTBOX_TYPES = {cls.type: cls for cls in (
    MemberEnrolled, OrderPointsEarned, PointsChanged, CashbackAvailable, RewardUnlocked, TierChanged,
    RewardRedeemed, RedemptionFlagged, ReferralLinkShared, ReferralJudged, ReferralRewarded,
    BirthdayRewarded, PointsExpiring, BadgeEarned, ChallengeCompleted, SegmentEntered, SegmentLeft,
    LifecycleChanged)}
