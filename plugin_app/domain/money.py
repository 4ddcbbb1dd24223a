"""Money is a Decimal amount with an ISO 4217 currency, quantized to the currency's minor unit."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# Currencies whose minor unit is not two decimals (ISO 4217). Everything else uses 2.
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0, "HUF": 2,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}


# The largest amount one order, line, refund or posting may carry: amounts are stored as
# NUMERIC(18, 4), which holds less than 10^14; sums of many must still fit.
MAX_AMOUNT = Decimal(10) ** 12


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def plain(value: object) -> str:
    """A number as a person reads it: never exponent form (str(Decimal('5E+1')) is '5E+1'),
    no trailing zeros ('50', '12.5', '0.5', '-3'). Exact: nothing is rounded away."""
    d = _decimal(value)
    if d is None:
        return str(value)
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def amount_text(value: object, currency: str | None) -> str:
    """A money amount as a person reads it: quantized to the currency's minor unit
    ('50.00', '1000' in JPY), never exponent form. Without a currency, like `plain`."""
    d = _decimal(value)
    if d is None or not currency:
        return plain(value)
    try:
        q = d.quantize(quantum(currency), rounding=ROUND_HALF_EVEN)
        return format(q if q else abs(q), "f")
    except InvalidOperation:  # more digits than the context holds: show it exactly instead
        return plain(d)


def money_text(value: object, currency: str) -> str:
    """'50.00 EUR'."""
    return f"{amount_text(value, currency)} {currency}".strip()


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, Money):
        value = value.amount
    if isinstance(value, bool) or isinstance(value, float):
        return None  # never money; shown as Python shows it
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def valid_currency(code: object) -> bool:
    return isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not valid_currency(self.currency):
            raise ValueError(f"invalid currency code {self.currency!r}")
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValueError("money amount must be a finite Decimal")

    @classmethod
    def of(cls, amount: object, currency: str) -> "Money":
        """Parse a str/int/Decimal amount (never a float) and quantize it exactly.

        Raises ValueError when the amount has more decimals than the currency allows,
        so that no fraction of a cent is silently created or lost.
        """
        if isinstance(amount, float) or isinstance(amount, bool):
            raise ValueError("money amounts are never floats")
        try:
            value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
        except InvalidOperation:
            raise ValueError(f"not a number: {amount!r}") from None
        if not value.is_finite():
            raise ValueError("money amount must be finite")
        q = quantum(currency)
        quantized = value.quantize(q)
        if quantized != value:
            raise ValueError(f"{currency} allows {exponent(currency)} decimals, got {amount!r}")
        return cls(quantized, currency)

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(Decimal(0).quantize(quantum(currency)), currency)

    def round(self, rounding: str = ROUND_HALF_EVEN) -> "Money":
        return Money(self.amount.quantize(quantum(self.currency), rounding=rounding), self.currency)

    def _same(self, other: "Money") -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise ValueError("cannot combine money of different currencies")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def to_json(self) -> dict:
        return {"amount": amount_text(self.amount, self.currency), "currency": self.currency}

    def __str__(self) -> str:
        return money_text(self.amount, self.currency)
