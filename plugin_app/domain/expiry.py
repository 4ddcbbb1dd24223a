"""Where expiry applies: one rule for every posting that credits value.

Points: with expiry by age (`program.expiry.mode == "age"`), every point credited carries the
date it lapses, `months` after it was credited, whatever the reason it was credited: an order, an
action (sign-up, birthday, review…), a referral, a tier's entry reward, or a person's upward
adjustment. A point is a point: the member spends the oldest first and cannot tell one from
another, and a liability that never lapses for some sources would never clear. With expiry by
inactivity there is no date per lot: the whole balance lapses after `months` without activity.
With no expiry, nothing lapses.

Store credit: every credit credited (cashback, a referral's credit reward, a credit adjustment)
lapses `cashback.expiry_days` after it was credited when that is set.

The date is computed from the moment of posting; the ledger leaves such dates out of a posting's
idempotency fingerprint, so a posting retried later (a webhook delivered again, a job run again)
is the same request and replays.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from .ledger import Asset
from .tiers import add_months


def expires_at(program, asset: Asset | str, now: datetime) -> datetime | None:
    """When value of `asset` credited at `now` under `program` lapses, or None."""
    if Asset(asset) == Asset.POINTS:
        return add_months(now, program.expiry.months) if program.expiry.mode == "age" else None
    days = program.cashback.expiry_days
    return now + timedelta(days=days) if days else None
