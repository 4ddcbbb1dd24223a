"""Reading one cell of an imported file: e-mails, points, money, dates, birthdays, codes.

Each reader returns the value, or None for an empty cell, and raises `BadCell(code)` (a code of
`domain.imports.PROBLEMS`) for a cell it cannot read; `Cells` collects those as the row's
problems so that an importer reads a record in a few lines. Pure.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from .birthdays import NO_YEAR

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class BadCell(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def email(text: str) -> str | None:
    value = (text or "").strip().strip("<>").lower()
    if not value:
        return None
    if len(value) > 320 or not EMAIL.match(value):
        raise BadCell("bad_email")
    return value


def points(text: str) -> int | None:
    """A whole number of points: '1,250', '1250', '1250.0', '-40', '+40'; not '12.5'."""
    value = (text or "").strip().replace(",", "").replace("_", "").replace(" ", "")
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise BadCell("bad_points") from None
    if not number.is_finite() or number != number.to_integral_value() or abs(number) >= 10 ** 12:
        raise BadCell("bad_points")
    return int(number)


def amount(text: str) -> Decimal | None:
    """Money as exporters write it: '12.50', '-3', '€12.50', '12,50' (a decimal comma when
    it is the only separator), '1,234.50'."""
    value = re.sub(r"[^\d,.\-+]", "", (text or "").strip())
    if not value:
        if (text or "").strip():
            raise BadCell("bad_amount")
        return None
    if "," in value and "." not in value and re.fullmatch(r"[-+]?\d+,\d{1,2}", value):
        value = value.replace(",", ".")
    value = value.replace(",", "")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise BadCell("bad_amount") from None
    if not number.is_finite() or abs(number) >= 10 ** 12:
        raise BadCell("bad_amount")
    return number


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d",
                 "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%d.%m.%Y")


def moment(text: str) -> datetime | None:
    """A date or date-time, as aware UTC: ISO 8601 with or without an offset ('Z' too), the
    'YYYY-MM-DD HH:MM:SS' of MySQL exports, US 'MM/DD/YYYY', Unix seconds. Without an offset
    it is taken as UTC."""
    value = (text or "").strip()
    if not value:
        return None
    if re.fullmatch(r"\d{9,10}", value):
        return datetime.fromtimestamp(int(value), timezone.utc)
    parsed = None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" UTC", "+00:00"))
    except ValueError:
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None or parsed.year < 1970 or parsed.year > 2200:
        raise BadCell("bad_date")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def birthday(text: str) -> date | None:
    """A birthday: 'YYYY-MM-DD' (a date-time's date part too), '--MM-DD' or 'MM-DD', and the
    placeholder years apps use for "year unknown" (Smile writes 1004-MM-DD; 0000, 1900, 1904)
    read as day and month only (stored with year 1904, domain.birthdays.NO_YEAR)."""
    value = (text or "").strip()
    if not value:
        return None
    m = re.fullmatch(r"(?:(\d{4})-|--)?(\d{1,2})-(\d{1,2})(?:[T ].*)?", value)
    if not m:
        m2 = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value)  # US month/day/year
        if not m2:
            raise BadCell("bad_birthday")
        year, month, day = int(m2[3]), int(m2[1]), int(m2[2])
    else:
        year = int(m[1]) if m[1] else NO_YEAR
        month, day = int(m[2]), int(m[3])
    if year < 1905 or year > 2200:
        year = NO_YEAR  # 1004, 0000, 1900, 1904: the app did not know the year
    try:
        return date(year, month, day)
    except ValueError:
        raise BadCell("bad_birthday") from None


def text(value: str, limit: int = 255) -> str | None:
    value = " ".join((value or "").split())
    return value[:limit] or None


def customer_id(value: str) -> str | None:
    """A platform customer id: Shopify's numeric id or its GID ('gid://shopify/Customer/123'
    -> '123'), a WordPress user id. 0 and empty mean none (guests)."""
    value = (value or "").strip()
    if value.startswith("gid://"):
        value = value.rsplit("/", 1)[-1]
    if value.endswith(".0") and value[:-2].isdigit():  # a spreadsheet made it a float
        value = value[:-2]
    if not value or value == "0":
        return None
    return value[:64]


class Cells:
    """One record's cells, read by name; what cannot be read becomes a problem, not an error.

        c = Cells(record)
        row = ImportRow(line, email=c.get(email, "email"), points=c.get(points, "points_balance"),
                        problems=c.problems)
    """

    def __init__(self, record: dict[str, str]) -> None:
        self.record = record
        self.problems: list[tuple[str, str]] = []

    def raw(self, *names: str) -> str:
        """The first non-empty cell among `names` (normalised header names)."""
        for name in names:
            value = self.record.get(name, "")
            if value:
                return value
        return ""

    def get(self, reader, *names: str):
        value = self.raw(*names)
        try:
            return reader(value)
        except BadCell as bad:
            self.problems.append((bad.code, next((n for n in names if self.record.get(n)), names[0])))
            return None

    @property
    def found(self) -> tuple[tuple[str, str], ...]:
        return tuple(self.problems)
