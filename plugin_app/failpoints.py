"""Failpoints: named places where an operator or a test can make the process stop or stall,
to prove recovery (a worker killed between the ledger commit and marking the message done).

Configured only through `LOYALTY_FAILPOINTS`, e.g. ``inbox.after_handler=pause:/tmp/hit``:
touch the file, then sleep until killed. Unset in production; costs one dict lookup.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable


def parse(spec: str) -> dict[str, str]:
    points = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, action = item.partition("=")
        points[name.strip()] = action.strip()
    return points


def make(spec: str) -> Callable[[str], None]:
    points = parse(spec)
    if not points:
        return lambda name: None

    def hit(name: str) -> None:
        action = points.get(name)
        if not action:
            return
        kind, _, arg = action.partition(":")
        if kind == "pause":
            if arg:
                Path(arg).write_text(name)
            while True:
                time.sleep(3600)
        elif kind == "sleep":
            time.sleep(float(arg or 1))
        elif kind == "raise":
            raise RuntimeError(f"failpoint {name}")

    return hit
