"""CSV as the merchant's exports write it: text cells a spreadsheet will not run as formulas,
CRLF line ends, rows turned into text a chunk at a time (streamed responses)."""
from __future__ import annotations

import csv
import io
from typing import Iterable


def safe_cell(value):
    """A CSV cell a spreadsheet will not run as a formula (=, +, -, @, tab or CR at the start of
    text gets a leading apostrophe). Numbers are left alone: a negative amount is not a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_line(values) -> str:
    return csv_text([values])


def csv_text(rows: Iterable) -> str:
    """Rows (each a sequence of cells, already made safe) as CSV text."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(rows)
    return buf.getvalue()
