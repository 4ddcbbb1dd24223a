"""Tiers: which level a member's qualifying value reaches, over which window, and when a
member moves down. Decisions carry the reason that becomes the tier-change event."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from .money import plain
from .program import Tier, Tiers


def add_months(at: datetime, months: int) -> datetime:
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31][month - 1]
    return at.replace(year=year, month=month, day=min(at.day, days))


def window_start(tiers: Tiers, now: datetime, tz: ZoneInfo) -> datetime | None:
    """Start of the qualification window (aware UTC), or None for lifetime."""
    if tiers.window == "lifetime":
        return None
    if tiers.window == "calendar_year":
        here = now.astimezone(tz)
        return here.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
    return add_months(now, -12)


def window_end(tiers: Tiers, since: datetime, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When a tier reached at `since` may be lost under the end-of-window policy."""
    if tiers.window == "lifetime":
        return None
    if tiers.window == "calendar_year":
        here = now.astimezone(tz)
        return here.replace(year=here.year + 1, month=1, day=1, hour=0, minute=0, second=0,
                            microsecond=0).astimezone(timezone.utc) if since.astimezone(tz).year == here.year else now
    return add_months(since, 12)


def level_for(tiers: Tiers, value: Decimal) -> Tier:
    reached = tiers.levels[0]
    for tier in tiers.levels:
        if value >= tier.threshold:
            reached = tier
    return reached


@dataclass(frozen=True)
class Progress:
    """Where a qualifying value stands among a program's levels: the level the member is at,
    the level above it (None at the top), and the value itself."""
    tier: Tier
    next: Tier | None
    value: Decimal

    @property
    def to_next(self) -> Decimal | None:
        """What is still missing to reach the next level (None at the top)."""
        return self.next.threshold - self.value if self.next is not None else None


def progress(tiers: Tiers, value: Decimal, current: str | None = None) -> Progress:
    """Tier progress for `value`. The member is at `current` when the program has a level of
    that name (a tier held is kept, whatever the value says: downgrades are `decide`'s
    business), else at the level the value reaches; the next level is the one above that."""
    tier = tiers.by_name(current) or level_for(tiers, value)
    above = [lvl.name for lvl in tiers.levels].index(tier.name) + 1
    return Progress(tier, tiers.levels[above] if above < len(tiers.levels) else None, value)


@dataclass(frozen=True)
class TierDecision:
    tier: str
    changed: bool
    reason: str
    grace_until: datetime | None = None


def decide(tiers: Tiers, *, current: str | None, since: datetime | None, grace_until: datetime | None,
           value: Decimal, now: datetime, tz: ZoneInfo) -> TierDecision:
    unit = "points earned" if tiers.basis == "points_earned" else "spent"
    window = {"lifetime": "in total", "calendar_year": "this year",
              "rolling_12_months": "in the last 12 months"}[tiers.window]
    target = level_for(tiers, value)
    names = [t.name for t in tiers.levels]
    if current not in names:  # new member, or a tier the program no longer has
        return TierDecision(target.name, target.name != current,
                            f"{_v(value)} {unit} {window} reaches {target.name}")
    here, there = names.index(current), names.index(target.name)
    if there > here:
        return TierDecision(target.name, True, f"{_v(value)} {unit} {window} reaches {target.name}")
    if there == here:
        return TierDecision(current, False, "unchanged")
    # Below the current tier's threshold: the downgrade policy decides.
    if tiers.downgrade == "never":
        return TierDecision(current, False, "tiers are kept for good")
    if tiers.downgrade == "end_of_window":
        end = window_end(tiers, since or now, now, tz)
        if end is None or now < end:
            return TierDecision(current, False, "kept until the end of the qualification window")
        return TierDecision(target.name, True, f"{_v(value)} {unit} {window} is below "
                            f"{current}; the window ended")
    if grace_until is None:
        return TierDecision(current, False, "below the threshold: grace period started",
                            now + timedelta(days=tiers.grace_days))
    if now < grace_until:
        return TierDecision(current, False, "in the grace period", grace_until)
    return TierDecision(target.name, True, f"{_v(value)} {unit} {window} is below {current} "
                        f"after a {tiers.grace_days}-day grace period")


def _v(value: Decimal) -> str:
    return plain(value)
