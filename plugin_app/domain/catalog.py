"""What the platform knows about a product that earning rules can match on: its collections
(Shopify) or categories (WooCommerce), tags and product type. Order lines and carts carry only
product ids; the same `enrich` puts these facts on the lines of a quote and of a posting, so the
two agree whenever they see the same facts."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from .earning import Order
from .program import Match, Program


@dataclass(frozen=True)
class Group:
    """A Shopify collection or a WooCommerce product category."""
    id: str  # numeric id as a string (Shopify legacyResourceId, WooCommerce term id)
    handle: str = ""  # Shopify handle or WooCommerce slug
    title: str = ""
    gid: str = ""  # Shopify's gid://shopify/Collection/…; empty on WooCommerce


@dataclass(frozen=True)
class ProductFacts:
    product_id: str
    groups: tuple[Group, ...] = ()  # collections (Shopify) or categories (WooCommerce)
    tags: tuple[str, ...] = ()
    product_type: str | None = None
    updated_at: datetime | None = None  # the platform's own modification time, when known

    def group_keys(self) -> frozenset[str]:
        """What a rule's `collections` may name: id, gid and handle (Shopify), id and slug (Woo)."""
        return frozenset(k for g in self.groups for k in (g.id, g.gid, g.handle) if k)


def enrich(order: Order, facts: dict[str, ProductFacts]) -> Order:
    """The order with each line's collections, tags and product type completed from `facts`
    (what the line already carries is kept)."""
    lines = []
    changed = False
    for line in order.lines:
        f = facts.get(line.product_id or "")
        if f is None:
            lines.append(line)
            continue
        changed = True
        lines.append(replace(line, collections=line.collections | f.group_keys(),
                             tags=line.tags | frozenset(f.tags),
                             product_type=line.product_type or f.product_type or None))
    return replace(order, lines=tuple(lines)) if changed else order


def rule_matches(program: Program) -> list[Match]:
    """Every match of the program's earning rules: exclusion, multipliers, campaigns, boosts."""
    found = [program.earning.exclude] + [m.match for m in program.earning.multipliers]
    found += [c.match for c in program.campaigns] + [b.match for b in program.cashback.boosts]
    return [m for m in found if m is not None]


def needs_facts(program: Program) -> bool:
    """Whether any rule names a collection, category, tag or product type (rules that name
    only product ids need nothing from the platform)."""
    return any(m.collections or m.tags or m.product_types for m in rule_matches(program))


def names_group(program: Program, group: Group) -> bool:
    keys = {k.casefold() for k in (group.id, group.gid, group.handle) if k}
    return any(keys & {str(c).casefold() for c in m.collections} for m in rule_matches(program))
