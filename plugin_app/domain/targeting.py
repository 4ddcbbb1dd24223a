"""Targeting (issue 20): who a reward, a campaign or an e-mail is for, and from when. Pure.

A member's *audience* is their tier and the segments they are in now (the materialised
`segment_members`, kept per event and by the periodic pass: services.segments).

- A reward's `tiers` and `segments` both restrict: a member must be in one of the tiers (when
  some are named) and in one of the segments (when some are named).
- `available_from` opens a reward to everyone at that instant; `early_access` opens it sooner
  (its own `available_from`) to members of any of its tiers or segments. The instant is
  compared as is (aware, UTC underneath); it is shown in the shop's time zone.
- A campaign or an e-mail kind with `segments` applies only to members in one of them.

Every refusal is a `Reason` (domain.reasons), so the shopper reads it in their language and the
API gets its code: `reward.tiers`, `reward.segments` (with the segments' names), `reward.not_yet`
(with the instant and the shop's time zone)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

from .program import Program, Reward
from .reasons import Reason


@dataclass(frozen=True)
class Audience:
    tier: str | None = None
    segments: frozenset[int] = frozenset()
    names: Mapping[int, str] = field(default_factory=dict)  # segment id -> name, for the reasons


def in_segments(wanted: list[int] | tuple[int, ...], have: frozenset[int] | set[int]) -> bool:
    """Empty `wanted` is everyone; else at least one segment in common."""
    return not wanted or bool(set(wanted) & set(have))


def early(reward: Reward, audience: Audience) -> bool:
    ea = reward.early_access
    return ea is not None and ((audience.tier is not None and audience.tier in ea.tiers)
                               or bool(set(ea.segments) & set(audience.segments)))


def opens_at(reward: Reward, audience: Audience) -> datetime | None:
    """When this member may first redeem the reward (None: no date limit)."""
    if reward.available_from is None:
        return None
    if early(reward, audience):
        assert reward.early_access is not None
        return reward.early_access.available_from
    return reward.available_from


def segment_names(ids, audience: Audience) -> list[str]:
    return [audience.names.get(i) or f"#{i}" for i in ids]


def reward_gate(reward: Reward, audience: Audience, now: datetime | None, timezone: str = "UTC") -> Reason | None:
    """Why this member may not redeem the reward (None: they may). `now` None skips the date
    (examples of a reward's value); the refusals come in this order: tiers, segments, date."""
    if reward.tiers and audience.tier not in reward.tiers:
        return Reason("reward.tiers", {"tiers": list(reward.tiers)})
    if not in_segments(reward.segments, audience.segments):
        return Reason("reward.segments", {"segments": segment_names(reward.segments, audience),
                                          "segment_ids": list(reward.segments)})
    at = opens_at(reward, audience)
    if now is not None and at is not None and now < at:
        return Reason("reward.not_yet", {"at": at.isoformat(), "timezone": timezone})
    return None


def segment_refs(program: Program) -> dict[int, list[tuple[str, str]]]:
    """Segment id -> the places of the program that name it, each as (field path, what it is):
    ('rewards.0.segments', 'reward five-off'), ('campaigns.1.segments', 'campaign Double weekend'),
    ('notifications.welcome.segments', 'e-mail welcome'). What refuses a segment's deletion, and
    what a save checks against the shop's segments."""
    from .notifications import KINDS

    out: dict[int, list[tuple[str, str]]] = {}

    def add(ids, path: str, what: str) -> None:
        for i in ids:
            out.setdefault(i, []).append((path, what))

    for n, r in enumerate(program.rewards):
        add(r.segments, f"rewards.{n}.segments", f"reward {r.id}")
        if r.early_access is not None:
            add(r.early_access.segments, f"rewards.{n}.early_access.segments", f"reward {r.id} (early access)")
    for n, c in enumerate(program.campaigns):
        add(c.segments, f"campaigns.{n}.segments", f"campaign {c.name}")
    for kind in KINDS:
        add(program.notifications.email(kind).segments, f"notifications.{kind}.segments", f"e-mail {kind}")
    return out


def uses_segments(program: Program) -> bool:
    """Whether any part of the program depends on segment membership (readers skip the query when not)."""
    return bool(segment_refs(program))


def reward_segment_ids(program: Program) -> set[int]:
    ids: set[int] = set()
    for r in program.rewards:
        ids |= set(r.segments) | set(r.early_access.segments if r.early_access else [])
    return ids


def campaign_segment_ids(program: Program) -> set[int]:
    return {i for c in program.campaigns for i in c.segments}
