"""Reading one cell of an imported file: e-mails, points, money, dates, birthdays, codes.

Each reader returns the value, or None for an empty cell, and raises `BadCell(code)` (a code of
`domain.imports.PROBLEMS`) for a cell it cannot read; `Cells` collects those as the row's
problems so that an importer reads a record in a few lines. Pure.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlsplit

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


_GROUPS = re.compile(r"[-+]?\d{1,3}(?:([,.' ])\d{3})(?:\1\d{3})*")  # 1,250 / 1.250 / 1'250 / 1 250


def _number(text: str) -> str:
    """A number as exporters write it, in Python's notation: thousands separators (',', '.',
    an apostrophe, a space, Excel's no-break space) dropped, a decimal comma made a point.
    '1,250' and '1.250' are thousands; '12,5' and '1.234,50' carry a decimal comma; the last
    of ',' and '.' in a cell that has both is the decimal separator. Not checked further."""
    value = text.strip().replace("\u00a0", " ").replace("\u202f", " ").replace("_", "")
    sign = ""
    if value[:1] in "+-":
        sign, value = value[0], value[1:].strip()
    if _GROUPS.fullmatch(value):
        return sign + re.sub(r"[,.' ]", "", value)
    if "," in value and "." in value:
        decimal = "," if value.rfind(",") > value.rfind(".") else "."
        grouping = "." if decimal == "," else ","
        value = value.replace(grouping, "").replace("'", "").replace(" ", "").replace(decimal, ".")
    elif value.count(",") == 1:
        value = value.replace("'", "").replace(" ", "").replace(",", ".")
    return sign + value


def points(text: str) -> int | None:
    """A whole number of points: '1,250', '1.250' (European thousands), "1'250", '1250',
    '1250.0', '-40', '+40'; not '12.5' nor '12,5' (a decimal comma, not a thousands one)."""
    if not (text or "").strip():
        return None
    try:
        number = Decimal(_number(text))
    except InvalidOperation:
        raise BadCell("bad_points") from None
    if not number.is_finite() or number != number.to_integral_value() or abs(number) >= 10 ** 12:
        raise BadCell("bad_points")
    return int(number)


_SYMBOL = r"(?:[A-Z]{3}|kr|zł|[$€£¥₹₽₩₺₪฿₫₴₦₱¢])"  # a currency's code or sign, either side
_CURRENCY = re.compile(rf"^{_SYMBOL}?\s*([-+]?)\s*{_SYMBOL}?\s*([\d.,' \u00a0\u202f]*\d)\s*{_SYMBOL}?$")


def amount(text: str) -> Decimal | None:
    """Money as exporters write it: '12.50', '-3', '€12.50', '-€12.50', '12.50 EUR', '12,50'
    (a decimal comma), '1,234.50', '1.234,50', '1.234' (thousands, as for points). Anything
    else in the cell ('12abc') is not money."""
    raw = (text or "").strip()
    if not raw:
        return None
    m = _CURRENCY.match(raw)
    if not m:
        raise BadCell("bad_amount")
    value = _number(m[2])
    try:
        number = Decimal(m[1] + value)
    except InvalidOperation:
        raise BadCell("bad_amount") from None
    if not number.is_finite() or abs(number) >= 10 ** 12:
        raise BadCell("bad_amount")
    return number


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d",
                 "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%d.%m.%Y",
                 "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M")


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
    """A birthday: 'YYYY-MM-DD' (or with '/'; a date-time's date part too), '--MM-DD' or 'MM-DD',
    US 'MM/DD/YYYY' and 'MM/DD' (Yotpo's two documented forms), German 'DD.MM.YYYY', and the
    placeholder years apps use for "year unknown" (Smile writes 1004-MM-DD; 0000, 1900, 1904)
    read as day and month only (stored with year 1904, domain.birthdays.NO_YEAR)."""
    value = (text or "").strip()
    if not value:
        return None
    if m := re.fullmatch(r"(?:(\d{4})[-/]|--)?(\d{1,2})[-/](\d{1,2})(?:[T ].*)?", value):
        if m[1] is None and "/" in value:  # 'MM/DD' (US order, as Yotpo documents it)
            year, month, day = NO_YEAR, int(m[2]), int(m[3])
        else:
            year, month, day = (int(m[1]) if m[1] else NO_YEAR), int(m[2]), int(m[3])
    elif m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[T ].*)?", value):  # US month/day/year
        year, month, day = int(m[3]), int(m[1]), int(m[2])
    elif m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", value):  # day.month.year
        year, month, day = int(m[3]), int(m[2]), int(m[1])
    else:
        raise BadCell("bad_birthday")
    if year < 1905 or year > 2200:
        year = NO_YEAR  # 1004, 0000, 1900, 1904: the app did not know the year
    try:
        return date(year, month, day)
    except ValueError:
        raise BadCell("bad_birthday") from None


def text(value: str, limit: int = 255) -> str | None:
    value = " ".join((value or "").split())
    return value[:limit] or None


_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{1,63}")


def referral_code(value: str) -> str | None:
    """A referral code as the old app wrote it, or taken from its referral link: a query
    parameter naming a referral ('?ref=', Swell's '?sref_id=', '?code='), else the link's last
    path part (Smile's 'http://i.refs.cc/9qr5Pw' -> '9qr5Pw'). Whether the code is free in this
    shop is checked when it is applied."""
    value = (value or "").strip()
    if not value:
        return None
    if "://" in value or value.lower().startswith("www."):
        link = urlsplit(value if "://" in value else "https://" + value)
        found = [v for k, v in parse_qsl(link.query) if "ref" in k.lower() or k.lower() == "code"]
        parts = [part for part in link.path.split("/") if part]
        value = found[0] if found else (parts[-1] if parts else "")
    if not _CODE.fullmatch(value):
        raise BadCell("bad_code")
    return value


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
