"""Why a ledger entry happened, as data: a reason code and its parameters, rendered in the
reader's language where it is shown (services.explain), never stored as an English sentence.

Parameters hold raw values only, so any language can format them: points as int, money as
``{"amount": "6.00", "currency": "EUR"}``, rates and factors as plain decimal strings ("1.25"),
ids and the merchant's own names (tiers, campaigns, rewards) as they are. A merchant's free text
(an adjustment's note) is the code ``note`` with the text as a parameter, shown as it was written.

Earning explanations are a list of parts (one per rule that applied), each itself a code and
its parameters; the order's entry carries them as ``parts``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .money import amount_text, plain

NOTE = "note"


@dataclass(frozen=True)
class Reason:
    """A reason code (at most 40 characters, ``[a-z_.]``) and its JSON parameters."""
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (0 < len(self.code) <= 40 and self.code.replace("_", "").replace(".", "").isalnum()
                and self.code == self.code.lower()):
            raise ValueError(f"reason code {self.code!r}: 1-40 lower-case letters, digits, _ or .")

    @classmethod
    def note(cls, text: str) -> "Reason":
        """A person's own words (a merchant's adjustment): shown as written, in every language."""
        return cls(NOTE, {"text": text})

    def to_json(self) -> dict:
        return {"code": self.code, "params": self.params}

    @classmethod
    def of(cls, data: dict) -> "Reason":
        return cls(str(data["code"]), dict(data.get("params") or {}))


def money(amount: object, currency: str) -> dict:
    """A money parameter: the amount at the currency's minor unit, as a string, and the currency."""
    return {"amount": amount_text(amount, currency), "currency": currency}


def num(value: object) -> str:
    """A rate, factor or other decimal parameter as an exact plain string ('1.25', '5')."""
    return plain(value if not isinstance(value, float) else Decimal(str(value)))
