"""Switching in, the shapes: the row every importer yields (`ImportRow`, with its `ImportLot`s and
`Transaction`), why a cell cannot be used (PROBLEMS), and the registry of importers (`Format`,
`register`). Importers (domain.import_formats, domain.import_formats_woo) import from here;
domain.imports reads files with them and re-exports all of this, so callers need only
domain.imports. (The split keeps the importers' modules free of an import cycle with
domain.imports, which loads them.) Pure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Callable

# Why a row, or one of its values, cannot be used. The dry run and the report show these,
# translated (services.imports renders them in the reader's language).
PROBLEMS = {
    "no_customer": "neither an e-mail nor a customer id",
    "bad_email": "not an e-mail address",
    "bad_points": "not a whole number of points",
    "bad_amount": "not an amount of money",
    "bad_date": "not a date",
    "bad_birthday": "not a birthday",
    "bad_code": "not a usable referral code",
    "negative_balance": "a balance below zero",
    "bad_status": "a status this importer does not know",
    "bad_kind": "a kind of transaction this importer does not know",
    "no_amount": "neither points nor store credit",
    "no_reason": "no reason given for the adjustment",
}

MAX_CELL = 1000  # characters: a longer cell is cut (a CSV is not a place for essays)


@dataclass(frozen=True)
class ImportLot:
    """Points (or store credit) credited at `earned_at`, lapsing at `expires_at` (None: the
    program's rule from `earned_at`, or never)."""
    points: int
    earned_at: datetime | None = None  # aware UTC
    expires_at: datetime | None = None  # aware UTC


@dataclass(frozen=True)
class Transaction:
    """One line of a points history: signed points (and/or store credit), when, why."""
    points: int = 0  # signed: > 0 credited, < 0 spent, expired or taken back
    credit: Decimal = Decimal(0)  # signed, in the shop's currency
    occurred_at: datetime | None = None  # aware UTC
    expires_at: datetime | None = None  # for a credit: when it lapses, as the old app said
    txn_id: str | None = None  # the old app's id for the line, when it has one
    kind: str = "other"  # earn | spend | expire | adjust | refund | other (the old app's meaning)
    label: str | None = None  # the old app's words for the source ("Placed an order")
    note: str | None = None
    order_id: str | None = None
    status: str = "approved"  # approved | pending | revoked ("revoked" lines are skipped)


@dataclass(frozen=True)
class ImportRow:
    line: int  # the row's line number in the file (the header is line 1)
    email: str | None = None  # stripped, lower-cased
    customer_id: str | None = None  # the platform's customer id (Shopify's numeric id, Woo user id)
    name: str | None = None
    points: int | None = None  # a balance: with mode "add" added to, with "set" replacing, the member's
    mode: str = "set"  # for `points` and `credit`: "set" or "add"
    lots: tuple[ImportLot, ...] = ()  # the balance as dated lots (their sum is the balance)
    credit: Decimal | None = None  # store credit balance (with `mode`)
    txn: Transaction | None = None  # a history file: one transaction per row
    tier: str | None = None  # the tier's name in the old app
    birthday: date | None = None  # year 1904 (domain.birthdays.NO_YEAR): day and month only
    referral_code: str | None = None  # as the old app wrote it (checked when applied)
    locale: str | None = None
    reason: str | None = None  # an adjustments file: the merchant's words
    problems: tuple[tuple[str, str], ...] = ()  # (code in PROBLEMS, column)
    source_id: str | None = None  # the old app's own id for the customer, for the report

    @property
    def who(self) -> str:
        return self.email or self.customer_id or f"line {self.line}"


# -- reading a file by header names --------------------------------------------------------

def norm_header(text: str) -> str:
    """'Customer E-mail ' -> 'customer_e_mail': headers compare this way, whatever the case,
    spacing or punctuation (and a UTF-8 byte-order mark) the exporting app used."""
    return re.sub(r"[^a-z0-9]+", "_", text.replace("\ufeff", "").strip().lower()).strip("_")


@dataclass(frozen=True)
class Format:
    """An importer: its name, what it is called for people, the headers that identify its file
    (all of `required`, normalised), and how one record (normalised header -> cell text) becomes
    an `ImportRow`. A required entry may name alternatives, "email|customer_email": any one of
    them present satisfies it (vendors' own importers accept such header variants)."""
    name: str
    title: str
    required: frozenset[str]
    build: Callable[[int, dict[str, str]], ImportRow]
    optional: frozenset[str] = frozenset()
    doc: str = ""  # where its columns are documented

    @property
    def known(self) -> frozenset[str]:
        """Every header this importer reads: each alternative of `required`, and `optional`."""
        return frozenset(n for entry in self.required for n in entry.split("|")) | self.optional

    def missing(self, headers: set[str]) -> list[str]:
        """The required entries none of whose alternatives is among `headers`."""
        return sorted(e for e in self.required if not any(n in headers for n in e.split("|")))

    def unmet(self, headers: set[str]) -> int:
        """How many of the optional columns the file lacks (between equal fits, the importer
        that expects less of what is not there is the closer one)."""
        return len(self.optional - headers)

    def score(self, headers: set[str]) -> int:
        """How well a file's headers fit: -1 when a required one is missing, else how many of
        the known headers are present (the best fit wins detection)."""
        if self.missing(headers):
            return -1
        return len(headers & self.known)


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    if fmt.name in FORMATS:
        raise ValueError(f"format {fmt.name!r} registered twice")
    FORMATS[fmt.name] = fmt
    return fmt
