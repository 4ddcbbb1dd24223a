"""Birthdays as people give them: a full date (YYYY-MM-DD) or, year left out, a day of the year
(--MM-DD or MM-DD). 29 February is a real birthday (celebrated on 28 February in common years,
see earning.is_birthday). Pure: no storage, no clock."""
from __future__ import annotations

import re
from datetime import date

from .errors import DomainError, InvalidRequest

NO_YEAR = 1904  # stored year for "year not given": a leap year, so 29 February fits
OLDEST = 120  # years: nobody older gives a birthday
SHOPPER_WAIT_DAYS = 30  # a date a shopper gives earns nothing until this many days later
_FULL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DAY = re.compile(r"^(?:--)?(\d{2})-(\d{2})$")


class BirthdayLocked(DomainError):
    """A shopper gives their birthday once; after that only the shop corrects it."""

    code = "birthday_already_set"
    status = 409


def parse(value: object, today: date) -> date:
    """The birthday in `value`, or InvalidRequest saying what is wrong with it."""
    text = str(value or "").strip()
    full, day = _FULL.match(text), _DAY.match(text)
    if not (full or day):
        raise InvalidRequest("a birthday is YYYY-MM-DD, or --MM-DD without the year", field="birthday")
    year, month, dom = (int(full[1]), int(full[2]), int(full[3])) if full else (NO_YEAR, int(day[1]), int(day[2]))
    try:
        when = date(year, month, dom)
    except ValueError:
        raise InvalidRequest(f"{text} is not a real date", field="birthday") from None
    if full:
        if when > today:
            raise InvalidRequest("a birthday cannot be in the future", field="birthday")
        if year < today.year - OLDEST or year == NO_YEAR:
            raise InvalidRequest(f"a birthday is within the last {OLDEST} years", field="birthday")
    return when


def show(value: date | None) -> str | None:
    """As given: YYYY-MM-DD, or --MM-DD when the year was left out."""
    if value is None:
        return None
    return f"--{value:%m-%d}" if value.year == NO_YEAR else value.isoformat()


def lenient(value: object) -> date | None:
    """A birthday as a platform stores it (YYYY-MM-DD, a date-time, or --MM-DD), or None when it
    is not one; the full checks run when it is applied (Members.set_birthday)."""
    text = str(value or "").strip()[:10] if not str(value or "").strip().startswith("--") else str(value).strip()
    full, day = _FULL.match(text), _DAY.match(text)
    try:
        if full:
            return date(int(full[1]), int(full[2]), int(full[3]))
        if day:
            return date(NO_YEAR, int(day[1]), int(day[2]))
    except ValueError:
        return None
    return None
