"""Badges (achievements) and challenges: the program's sections and their pure rules.

A badge is earned from a member's history: kept orders (after refunds and cancellations),
actions done (reviews, custom events) and referrals rewarded. A challenge is a time-boxed goal
settled once after its end, counting only what is still kept then (a refund inside the window
counts against it). Everything here is computed from facts handed in (`Facts`), so each rule
is table-testable; the services gather the facts and post the rewards with deterministic keys.

Challenge windows are local wall-clock times in the shop's time zone; `ends_at` is exclusive
(an order at 23:59 on the last day counts when `ends_at` is midnight after it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

FORBID = {"extra": "forbid"}
_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_EVENT = re.compile(r"[A-Za-z0-9_-]{1,64}")

BadgeKind = Literal["first_order", "orders_count", "spend", "reviews", "referrals",
                    "order_streak_months", "custom_event"]


def _check(cond: bool, name: str, message: str) -> None:
    if not cond:
        raise ValueError(f"{name}: {message}")


def _check_names(names: dict[str, str], limit: int) -> None:
    for lang, text in names.items():
        _check(re.fullmatch(r"[a-z]{2}", lang) is not None, "names", f"{lang!r}: a language code like it or de")
        _check(isinstance(text, str) and len(text.strip()) <= limit, "names",
               f"{lang}: a name is at most {limit} characters")


@dataclass(frozen=True)
class BadgeRule:
    __pydantic_config__ = FORBID
    kind: BadgeKind
    n: int = 1  # orders, reviews, referrals, months in a row, custom events
    amount: Decimal = Decimal(0)  # spend: money in the shop's currency
    period: Literal["lifetime", "calendar_year", "rolling_12_months"] = "lifetime"
    event: str = ""  # custom_event: the event's name

    def __post_init__(self) -> None:
        _check(1 <= self.n <= 10_000, "n", "must be between 1 and 10000")
        if self.kind == "spend":
            _check(Decimal(0) < self.amount <= Decimal(10_000_000), "amount", "a spend badge needs an amount above 0")
        if self.kind == "custom_event":
            _check(_EVENT.fullmatch(self.event or "") is not None, "event",
                   "name the custom event: 1-64 letters, digits, - or _")

    @property
    def target(self) -> Decimal:
        if self.kind == "first_order":
            return Decimal(1)
        return self.amount if self.kind == "spend" else Decimal(self.n)


@dataclass(frozen=True)
class BadgeReward:
    __pydantic_config__ = FORBID
    kind: Literal["points", "none"] = "none"
    points: int = 0

    def __post_init__(self) -> None:
        _check(0 <= self.points <= 1_000_000, "points", "must be between 0 and 1000000")
        _check(self.kind != "points" or self.points > 0, "points", "a points reward needs points")


@dataclass(frozen=True)
class Badge:
    __pydantic_config__ = FORBID
    id: str
    name: str
    rule: BadgeRule
    reward: BadgeReward = field(default_factory=BadgeReward)
    repeatable: bool = False
    max_times: int | None = None  # repeatable: at most this many times (None: no limit)
    names: dict[str, str] = field(default_factory=dict)  # 'it' -> the name in that language
    enabled: bool = True

    def __post_init__(self) -> None:
        _check(_ID.fullmatch(self.id or "") is not None, "id", "must be 1-40 letters, digits, - or _")
        _check(0 < len(self.name.strip()) <= 60, "name", "must be 1 to 60 characters")
        _check_names(self.names, 60)
        _check(not (self.repeatable and self.rule.kind == "first_order"), "repeatable",
               "a first order happens once")
        _check(self.max_times is None or 1 <= self.max_times <= 1000, "max_times", "must be between 1 and 1000")
        _check(self.max_times is None or self.repeatable, "max_times", "only a repeatable badge has a limit")

    def name_for(self, locale: str | None) -> str:
        return self.names.get((locale or "")[:2].lower(), "").strip() or self.name


@dataclass(frozen=True)
class ChallengeGoal:
    __pydantic_config__ = FORBID
    kind: Literal["orders_count", "spend", "custom_event"]
    n: int = 1
    amount: Decimal = Decimal(0)
    event: str = ""

    def __post_init__(self) -> None:
        _check(1 <= self.n <= 10_000, "n", "must be between 1 and 10000")
        if self.kind == "spend":
            _check(Decimal(0) < self.amount <= Decimal(10_000_000), "amount", "a spend goal needs an amount above 0")
        if self.kind == "custom_event":
            _check(_EVENT.fullmatch(self.event or "") is not None, "event",
                   "name the custom event: 1-64 letters, digits, - or _")

    @property
    def target(self) -> Decimal:
        return self.amount if self.kind == "spend" else Decimal(self.n)


@dataclass(frozen=True)
class Challenge:
    __pydantic_config__ = FORBID
    id: str
    name: str
    starts_at: datetime  # local wall-clock time in the shop's time zone, no offset
    ends_at: datetime  # exclusive
    goal: ChallengeGoal
    points: int
    enrollment: Literal["automatic", "opt_in"] = "automatic"
    names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check(_ID.fullmatch(self.id or "") is not None, "id", "must be 1-40 letters, digits, - or _")
        _check(0 < len(self.name.strip()) <= 60, "name", "must be 1 to 60 characters")
        _check_names(self.names, 60)
        _check(self.starts_at.tzinfo is None and self.ends_at.tzinfo is None, "starts_at",
               "give local times in the shop's time zone, without an offset")
        _check(self.ends_at > self.starts_at, "ends_at", "must be after starts_at")
        _check(1 <= self.points <= 1_000_000, "points", "must be between 1 and 1000000")

    def name_for(self, locale: str | None) -> str:
        return self.names.get((locale or "")[:2].lower(), "").strip() or self.name

    def window(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """Start (inclusive) and end (exclusive), aware UTC."""
        return (self.starts_at.replace(tzinfo=tz).astimezone(timezone.utc),
                self.ends_at.replace(tzinfo=tz).astimezone(timezone.utc))


def check_sections(badges: list[Badge], challenges: list[Challenge]) -> None:
    """Checks across the list (called by the program)."""
    ids = [b.id for b in badges]
    _check(len(set(ids)) == len(ids), "badges", "badge ids must be unique")
    ids = [c.id for c in challenges]
    _check(len(set(ids)) == len(ids), "challenges", "challenge ids must be unique")


# -- facts and rules -----------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderFact:
    placed_at: datetime  # aware UTC
    value: Decimal  # the kept earning base: after refunds; 0 when cancelled or fully refunded

    @property
    def kept(self) -> bool:
        return self.value > 0


@dataclass(frozen=True)
class ActionFact:
    kind: str  # review, signup, ..., or a custom event's name
    at: datetime


@dataclass(frozen=True)
class Facts:
    orders: tuple[OrderFact, ...] = ()
    actions: tuple[ActionFact, ...] = ()
    referrals: int = 0  # referrals rewarded


@dataclass(frozen=True)
class Progress:
    current: Decimal  # capped at nothing: the reader caps for display
    target: Decimal
    times: int  # how many times the badge is earned by these facts (limit applied)
    done: bool = False  # nothing more to earn: earned once (one-time), or the limit reached

    @property
    def shown(self) -> Decimal:
        """The progress toward the next time (for "2 of 3 orders"); full when done."""
        if self.done:
            return self.target
        return min(self.current - self.target * self.times, self.target)


def _spend_since(period: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    if period == "lifetime":
        return None
    if period == "calendar_year":
        here = now.astimezone(tz)
        return here.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
    # A year back (29 February falls back to the 28th), as tier windows count rolling 12 months.
    return now.replace(year=now.year - 1, day=28) if (now.month, now.day) == (2, 29) else now.replace(year=now.year - 1)


def month_streaks(orders: tuple[OrderFact, ...], tz: ZoneInfo) -> list[int]:
    """Lengths of the runs of consecutive calendar months (in the shop's time zone) with a kept order."""
    months = sorted({(lambda d: d.year * 12 + d.month - 1)(o.placed_at.astimezone(tz)) for o in orders if o.kept})
    runs: list[int] = []
    for i, m in enumerate(months):
        if i and m == months[i - 1] + 1:
            runs[-1] += 1
        else:
            runs.append(1)
    return runs


def badge_progress(badge: Badge, facts: Facts, now: datetime, tz: ZoneInfo) -> Progress:
    rule = badge.rule
    kept = [o for o in facts.orders if o.kept]
    target = rule.target
    if rule.kind == "order_streak_months":
        runs = month_streaks(facts.orders, tz)
        current = Decimal(max(runs, default=0))
        times = sum(r // rule.n for r in runs) if badge.repeatable else int(current >= target)
        return _limited(badge, current, target, times)
    if rule.kind == "first_order":
        current = Decimal(min(len(kept), 1))
    elif rule.kind == "orders_count":
        current = Decimal(len(kept))
    elif rule.kind == "spend":
        since = _spend_since(rule.period, now, tz)
        current = sum((o.value for o in kept if since is None or o.placed_at >= since), Decimal(0))
    elif rule.kind == "reviews":
        current = Decimal(sum(1 for a in facts.actions if a.kind == "review"))
    elif rule.kind == "referrals":
        current = Decimal(facts.referrals)
    else:  # custom_event
        current = Decimal(sum(1 for a in facts.actions if a.kind == rule.event))
    times = int(current // target) if badge.repeatable else int(current >= target)
    return _limited(badge, current, target, times)


def _limited(badge: Badge, current: Decimal, target: Decimal, times: int) -> Progress:
    if badge.max_times is not None:
        times = min(times, badge.max_times)
    done = times > 0 and (not badge.repeatable or times == badge.max_times)
    return Progress(current=current, target=target, times=times, done=done)


def challenge_progress(challenge: Challenge, facts: Facts, tz: ZoneInfo) -> Decimal:
    """What counts toward the goal: only what happened inside the window and is still kept."""
    start, end = challenge.window(tz)
    goal = challenge.goal
    inside = [o for o in facts.orders if o.kept and start <= o.placed_at < end]
    if goal.kind == "orders_count":
        return Decimal(len(inside))
    if goal.kind == "spend":
        return sum((o.value for o in inside), Decimal(0))
    return Decimal(sum(1 for a in facts.actions if a.kind == goal.event and start <= a.at < end))


def challenge_outcome(challenge: Challenge, facts: Facts, now: datetime, tz: ZoneInfo) -> str:
    """'upcoming', 'open' (inside the window), or once it has ended 'achieved' or 'missed'."""
    start, end = challenge.window(tz)
    if now < start:
        return "upcoming"
    if now < end:
        return "open"
    return "achieved" if challenge_progress(challenge, facts, tz) >= challenge.goal.target else "missed"
