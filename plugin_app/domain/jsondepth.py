"""JSON that cannot blow the stack: a bracket-depth scan of the raw text before `json.loads`.

`json.loads` recurses once per nesting level, so a few kilobytes of `[[[[...` raise
RecursionError (not ValueError) and every caller that expected ValueError answers 500. The scan
drops string literals first (brackets inside strings do not nest), then keeps a running depth
over the remaining brackets in C-speed builtins. A body refused here is reported as a
ValueError, like any other body that is not JSON."""
from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64  # no payload the product reads comes close (Shopify orders: about 6)

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_KEEP = b"[]{}"
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class TooDeep(ValueError):
    """The JSON text nests deeper than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the JSON body is nested deeper than {limit} levels")
        self.limit = limit


_PARENS = bytes.maketrans(b"[{]}", b"(())")


def _brackets(raw: bytes) -> bytes:
    """The brackets outside string literals, in order."""
    if b"\\" not in raw and raw.count(b'"') % 2 == 0:
        # Without escapes, the string literals are exactly the text between pairs of quotes (what
        # the pattern finds too), and splitting is much cheaper than the pattern's matches.
        outside = b"".join(raw.split(b'"')[::2])
    else:
        outside = _STRING.sub(b"", raw)
    return outside.translate(None, _DROP)


def _depth(brackets: bytes) -> int:
    if not brackets:
        return 0
    return max(0, max(accumulate(_STEP[b] for b in brackets)))


def _balanced_within(brackets: bytes, limit: int) -> bool:
    """True when the brackets pair up and nest at most `limit` deep (False: maybe not). Each
    pass of removing the adjacent pairs takes one level off balanced brackets, in C."""
    rest = brackets.translate(_PARENS)
    for _ in range(limit):
        if not rest:
            return True
        rest = rest.replace(b"()", b"")
    return not rest


def depth(data: bytes | bytearray | memoryview | str) -> int:
    """The deepest bracket nesting of a JSON text (an over-estimate for text that is not JSON,
    e.g. an unterminated string; never an under-estimate for text that is)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    return _depth(_brackets(raw))


def check(data: bytes | bytearray | memoryview | str, limit: int = MAX_DEPTH) -> None:
    """Raise TooDeep when `data` nests deeper than `limit`."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if raw.count(b"[") + raw.count(b"{") <= limit:  # cannot be deeper: skip the scan
        return
    brackets = _brackets(raw)
    if _balanced_within(brackets, limit):  # the common case: well-formed and shallow
        return
    if _depth(brackets) > limit:
        raise TooDeep(limit)


def loads(data: bytes | bytearray | memoryview | str, limit: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """`json.loads` that refuses (ValueError) what nests deeper than `limit` instead of
    recursing into RecursionError."""
    check(data, limit)
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    return json.loads(data, **kwargs)
