"""Switching in: the rows a merchant brings from the loyalty app they leave, in one shape.

Every importer (a *format*: Smile's import CSV or customer export, LoyaltyLion's, Yotpo's, Rivo's,
the WooCommerce plugins', our own template, a per-transaction history file, an adjustments file)
reads its file by header names and yields `ImportRow`s. Everything after that — matching rows to
customers, the dry run, applying, reverting — works on `ImportRow`s only and knows no vendor.

A row carries what its file has: who (e-mail and/or the platform's customer id), and any of a
balance (`points`, with `mode` add or set), dated lots (`lots`), one history transaction (`txn`),
store credit, a tier name, a birthday, a referral code. What cannot be read is a `problem` on the
row (a code from PROBLEMS and the column), never an exception: the dry run lists it.

The shapes (ImportRow, ImportLot, Transaction, PROBLEMS, Format, register) live in
domain.import_rows, which importers import; they are re-exported here for everyone else.

Pure: no storage, no clock, no I/O beyond the text stream it is given.
"""
from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator

from .import_rows import (FORMATS, MAX_CELL, PROBLEMS, Format, ImportLot, ImportRow,  # noqa: F401
                          Transaction, norm_header, register)


class UnknownFormat(ValueError):
    """The headers fit no importer (or not the one asked for)."""


class BadFile(UnknownFormat):
    """The file is not readable CSV past its header (a broken quote, a NUL byte, a giant cell)."""


def detect(headers: Iterable[str]) -> Format:
    """The importer whose headers fit best; UnknownFormat when none fits. Between equal fits the
    more specific importer wins: more required columns, then fewer optional columns missing
    ('email,points' is Smile's import, not an export that also has an 'id'). A tie beyond that
    is UnknownFormat rather than a guess (the merchant names the format instead)."""
    _load_formats()
    seen = {norm_header(h) for h in headers}
    scored = sorted(((f.score(seen), len(f.required), -f.unmet(seen), f.name) for f in FORMATS.values()),
                    reverse=True)
    if not scored or scored[0][0] < 0:
        raise UnknownFormat("the file's columns match no importer")
    if len(scored) > 1 and scored[1][:3] == scored[0][:3]:
        raise UnknownFormat(f"the file's columns fit {scored[0][3]} and {scored[1][3]} equally well")
    return FORMATS[scored[0][3]]


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
    from . import import_formats_woo  # noqa: F401  (the WooCommerce plugins')
