"""Exclusive access on the platforms (issue 20): the labels a theme, a discount or a WordPress
plugin can read to tell a member's tier and segments, written back with the customer fields
(`services.customer_fields`).

A segment is named by its handle: its name lowercased, accents dropped, anything but letters
and digits turned into hyphens (at most 40 characters); two segments of a shop whose names give
the same handle are told apart by the later one's id (`vip`, `vip-12`), and a name that gives
none is `segment-<id>`. A rename changes the handle (the members' labels are rewritten).

On Shopify the labels are customer tags, all under our prefix so that we only ever remove our
own: `loyalty:tier:<tier>` and `loyalty:segment:<handle>` (a discount's customer eligibility or
a Function can test them; Liquid reads `customer.tags`). On WooCommerce they are the user meta
`loyalty_segments` (the handles, comma-separated) beside `loyalty_tier`."""
from __future__ import annotations

import re
import unicodedata

PREFIX = "loyalty:"
HANDLE_MAX = 40


def slug(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:HANDLE_MAX].strip("-")


def segment_handles(segments: list[tuple[int, str]]) -> dict[int, str]:
    """{segment id: handle} for a shop's segments, unique within the shop (earlier ids keep the
    plain handle)."""
    out: dict[int, str] = {}
    taken: set[str] = set()
    for sid, name in sorted(segments):
        handle = slug(name) or f"segment-{sid}"
        if handle in taken:
            handle = f"{handle[:HANDLE_MAX - len(str(sid)) - 1]}-{sid}"
        taken.add(handle)
        out[sid] = handle
    return out


def tags(tier: str | None, segments: list[str]) -> list[str]:
    """The Shopify customer tags for a member in `tier` and in the segments with these handles."""
    out = [f"{PREFIX}tier:{slug(tier)}"] if tier and slug(tier) else []
    return out + [f"{PREFIX}segment:{h}" for h in sorted(set(segments)) if h]


def ours(tag: str) -> bool:
    """A tag we wrote (and so may remove): it carries our prefix (Shopify's tags ignore case)."""
    return tag.strip().casefold().startswith(PREFIX)


def tag_changes(current: list[str], wanted: list[str]) -> tuple[list[str], list[str]]:
    """(to add, to remove): what makes `current` carry exactly `wanted` among our own tags;
    a tag without our prefix is never removed."""
    have = {t.strip().casefold() for t in current}
    want = {t.casefold() for t in wanted}
    add = [t for t in wanted if t.casefold() not in have]
    remove = [t for t in current if ours(t) and t.strip().casefold() not in want]
    return add, remove
