"""Caps on earning for actions: per day, month, year (in the shop's time zone) and lifetime."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from .program import Caps


def caps_of(rule) -> Caps:
    """The caps an action's rule earns within: its own, or once a year (the birthday's)."""
    return getattr(rule, "caps", None) or Caps(per_year=1)


def cap_windows(caps: Caps, now: datetime, tz: ZoneInfo) -> list[tuple[str, int, datetime | None]]:
    """(label, limit, since) for each cap; `since` is aware UTC, None for lifetime."""
    here = now.astimezone(tz)
    day = here.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = {"per_day": day, "per_month": day.replace(day=1), "per_year": day.replace(month=1, day=1)}
    out = []
    for name in ("per_day", "per_month", "per_year"):
        limit = getattr(caps, name)
        if limit is not None:
            out.append((name.replace("per_", "a "), limit, starts[name].astimezone(timezone.utc)))
    if caps.lifetime is not None:
        out.append(("ever", caps.lifetime, None))
    return out
