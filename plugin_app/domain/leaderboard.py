"""Leaderboards (issue 20): the program's `leaderboard` section and its pure rules.

Opt-in only: a shopper appears under a display name they chose (never their e-mail, name or
customer id). The merchant turns the board on (off by default). The board ranks opted-in members
by the points they earned in the period (`month`, `year` or `all_time`, as calendar periods in the
shop's time zone): the sum of the ledger's lifetime deltas of points posted in the period, so a
refund that takes earned points back counts against the period it is posted in. History brought
from another app (imports, `source = import`) and any entry carrying an original date before its
posting (`occurred_at`: imported or backfilled value) are left out: the board is a contest of what
was earned here, while the board was possible, not of who had the longest history elsewhere.
Members with nothing earned in the period are not ranked. Ties share a rank (1, 2, 2, 4).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal
from zoneinfo import ZoneInfo

FORBID = {"extra": "forbid"}
NAME_MIN, NAME_MAX = 2, 24
_PUNCT = set(" ._-")
# 'shop.example', 'www.x', 'name.com': a word, a dot, two or more letters (a host name)
_HOST = re.compile(r"(?i)(?:^|[^\w])www\.|\w\.[a-z]{2,}(?:$|[^\w]|\.)")
_MAILISH = re.compile(r"(?i)\b(?:at|dot)\b.*\b(?:at|dot)\b|\b(?:https?|ftp|mailto)\b")


def _check(cond: bool, name: str, message: str) -> None:
    if not cond:
        raise ValueError(f"{name}: {message}")


@dataclass(frozen=True)
class Leaderboard:
    __pydantic_config__ = FORBID
    enabled: bool = False  # the merchant turns it on; off: the board answers 404 and /me says nothing
    period: Literal["month", "year", "all_time"] = "month"
    metric: Literal["points_earned"] = "points_earned"
    size: int = 10  # the top N shown

    def __post_init__(self) -> None:
        _check(1 <= self.size <= 100, "size", "must be between 1 and 100")


def window(period: str, now: datetime, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the period holding `now`, as aware UTC; (None, None) for all time."""
    if period == "all_time":
        return None, None
    local = now.astimezone(tz)
    if period == "month":
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    else:
        start = local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        end = start.replace(year=start.year + 1)
    return (start.replace(tzinfo=tz).astimezone(timezone.utc), end.replace(tzinfo=tz).astimezone(timezone.utc))


class BadName(ValueError):
    """A display name refused; `code` says why (the HTTP layer answers 422 with it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def display_name(raw: object) -> str:
    """The display name as kept: trimmed, inner runs of spaces made one. Letters (any script),
    digits, spaces and . _ - only, 2-24 characters; nothing that is or looks like an e-mail
    address or a web address. Raises BadName."""
    if not isinstance(raw, str):
        raise BadName("display_name_characters", "the display name must be text")
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if "@" in name:
        raise BadName("display_name_email", "a display name cannot be an e-mail address")
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise BadName("display_name_length", f"a display name has {NAME_MIN} to {NAME_MAX} characters")
    for ch in name:
        if ch in _PUNCT:
            continue
        if unicodedata.category(ch)[0] != "L" and unicodedata.category(ch) != "Nd":
            raise BadName("display_name_characters", "use letters, digits, spaces and . _ - only")
    if not any(unicodedata.category(ch)[0] == "L" or unicodedata.category(ch) == "Nd" for ch in name):
        raise BadName("display_name_characters", "a display name needs a letter or a digit")
    if _HOST.search(name) or _MAILISH.search(name):
        raise BadName("display_name_address", "a display name cannot be an e-mail or web address")
    return name


def name_key(name: str) -> str:
    """What makes two names the same in a shop: case-insensitively (caseless matching)."""
    return unicodedata.normalize("NFC", name.casefold())
