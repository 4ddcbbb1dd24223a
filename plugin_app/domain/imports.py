"""Switching in: the rows a merchant brings from the loyalty app they leave, in one shape.

Every importer (a *format*: Smile's import CSV or customer export, LoyaltyLion's, Yotpo's, Rivo's,
the WooCommerce plugins', our own template, a per-transaction history file, an adjustments file)
reads its file by header names and yields `ImportRow`s. Everything after that — matching rows to
customers, the dry run, applying, reverting — works on `ImportRow`s only and knows no vendor.

A row carries what its file has: who (e-mail and/or the platform's customer id), and any of a
balance (`points`, with `mode` add or set), dated lots (`lots`), one history transaction (`txn`),
store credit, a tier name, a birthday, a referral code. What cannot be read is a `problem` on the
row (a code from PROBLEMS and the column), never an exception: the dry run lists it.

Pure: no storage, no clock, no I/O beyond the text stream it is given.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Callable, Iterable, Iterator

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


class UnknownFormat(ValueError):
    """The headers fit no importer (or not the one asked for)."""


class BadFile(UnknownFormat):
    """The file is not readable CSV past its header (a broken quote, a NUL byte, a giant cell)."""


def detect(headers: Iterable[str]) -> Format:
    """The importer whose headers fit best; UnknownFormat when none fits. Between equal fits the
    more specific importer (more required columns) wins; a tie beyond that is UnknownFormat
    rather than a guess (the merchant names the format instead)."""
    _load_formats()
    seen = {norm_header(h) for h in headers}
    scored = sorted(((f.score(seen), len(f.required), f.name) for f in FORMATS.values()), reverse=True)
    if not scored or scored[0][0] < 0:
        raise UnknownFormat("the file's columns match no importer")
    if len(scored) > 1 and scored[1][:2] == scored[0][:2]:
        raise UnknownFormat(f"the file's columns fit {scored[0][2]} and {scored[1][2]} equally well")
    return FORMATS[scored[0][2]]


class _Dialect(csv.excel):
    """Excel's CSV conventions ("" inside a quoted cell is a quote), with the sniffed delimiter."""


def sniff_dialect(sample: str) -> type[csv.Dialect]:
    """The file's dialect: Excel's, with the delimiter the header line uses (',', ';' as European
    Excel writes, or a tab). Only the delimiter is taken from csv.Sniffer: its guess of the rest
    (doublequote False when the header has no quotes) misreads quoted cells further down."""
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    return type("SniffedDialect", (_Dialect,), {"delimiter": delimiter})


def read(stream: io.TextIOBase, fmt: str | None = None) -> tuple[Format, Iterator[ImportRow]]:
    """The importer for the file on `stream` (named, or detected from its header) and its rows,
    read one at a time (memory stays flat whatever the file's size)."""
    _load_formats()
    sample = stream.read(64 * 1024).removeprefix("\ufeff")  # a UTF-8 BOM read as text
    dialect = sniff_dialect(sample.split("\n", 1)[0] + "\n")
    text = _Chain(sample, stream)
    reader = csv.reader(text, dialect)
    try:
        header = next(reader, None)
    except csv.Error as err:
        raise BadFile(f"the header is not readable CSV: {err}") from None
    if not header:
        raise UnknownFormat("the file is empty")
    names = [norm_header(h) for h in header]
    if fmt is None:
        chosen = detect(header)
    else:
        if fmt not in FORMATS:
            raise UnknownFormat(f"no importer named {fmt!r}")
        chosen = FORMATS[fmt]
        if chosen.score(set(names)) < 0:
            missing = ", ".join(chosen.missing(set(names)))
            raise UnknownFormat(f"the file lacks the columns {chosen.title} needs: {missing}")

    def rows() -> Iterator[ImportRow]:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise BadFile(f"line {reader.line_num}: not readable CSV ({err})") from None
            if not any(c.strip() for c in cells):
                continue
            record: dict[str, str] = {}
            for i, n in enumerate(names):
                if n and not record.get(n):  # two headers alike: the first non-empty cell
                    record[n] = (cells[i] if i < len(cells) else "")[:MAX_CELL].strip()
            yield chosen.build(reader.line_num, record)

    return chosen, rows()


class _Chain(io.TextIOBase):
    """A text stream that first gives back the sample already read, then the rest."""

    def __init__(self, head: str, rest: io.TextIOBase) -> None:
        self._lines = iter(io.StringIO(head))
        self._rest, self._pending = rest, ""

    def __iter__(self):
        return self

    def __next__(self) -> str:
        for line in self._lines:
            if line.endswith("\n"):
                return line
            self._pending = line  # the sample ended mid-line: finish it from the stream
            break
        line = self._pending + (self._rest.readline() or "")
        self._pending = ""
        if not line:
            raise StopIteration
        return line


_loaded = False


def _load_formats() -> None:
    """Register the importers (their modules register themselves on import)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from . import import_formats  # noqa: F401  (registers Smile, LoyaltyLion, Yotpo, Rivo, ours)
    try:
        from . import import_formats_woo  # noqa: F401  (the WooCommerce plugins')
    except ImportError:  # pragma: no cover - while it is being written
        pass
