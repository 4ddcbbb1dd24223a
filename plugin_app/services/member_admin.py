"""The merchant's view of members: the list (filtered, sorted, paged, counted), its CSV export,
a member's tier standing, and how the people and systems behind ledger entries read on screen.

Texts a person reads are marked with `N_` here and translated where they are shown."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Iterator
from zoneinfo import ZoneInfo

from ..domain.birthdays import show as show_birthday
from ..domain.errors import NotFound
from ..domain.ports import Clock, SystemClock
from ..domain.tiers import progress, window_start
from ..i18n import N_
from ..storage.db import Database
from ..storage.member_list_repo import SORTS, MemberFilter
from .csv_out import csv_line, csv_text, safe_cell

PER_PAGE = 50
EXPORT_CHUNK = 1000
# Last-activity filters: key -> (label, active within these days, or inactive for them)
ACTIVITY = {
    "active30": (N_("Active in the last 30 days"), 30, True),
    "active90": (N_("Active in the last 90 days"), 90, True),
    "inactive90": (N_("Inactive for 90 days or more"), 90, False),
    "inactive365": (N_("Inactive for a year or more"), 365, False),
}
SORT_LABELS = {"joined": N_("Joined"), "balance": N_("Points"), "lifetime": N_("Lifetime points"),
               "activity": N_("Last activity"), "name": N_("Name")}
EXPORT_COLUMNS = ("customer_id", "name", "email", "tier", "points", "store_credit", "currency", "lifetime_points",
                  "birthday", "last_activity", "joined")


@dataclass(frozen=True)
class MemberQuery:
    """The list as the merchant asked for it (already parsed and checked)."""
    q: str = ""
    tier: str | None = None  # None: any; "": no tier
    points_min: int | None = None
    points_max: int | None = None
    activity: str | None = None  # a key of ACTIVITY
    sort: str = "joined"
    descending: bool = True
    page: int = 1
    per_page: int = PER_PAGE

    def __post_init__(self):
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}")
        if self.activity is not None and self.activity not in ACTIVITY:
            raise ValueError(f"unknown activity filter {self.activity!r}")


class MemberDirectory:
    def __init__(self, db: Database, programs, tiers, clock: Clock | None = None) -> None:
        self.db, self.programs, self.tiers, self.clock = db, programs, tiers, clock or SystemClock()

    def _filter(self, query: MemberQuery) -> MemberFilter:
        active_since = inactive_since = None
        if query.activity:
            _, days, active = ACTIVITY[query.activity]
            since = self.clock.now() - timedelta(days=days)
            active_since, inactive_since = (since, None) if active else (None, since)
        return MemberFilter(q=query.q.strip() or None, tier=query.tier, points_min=query.points_min,
                            points_max=query.points_max, active_since=active_since, inactive_since=inactive_since)

    def list(self, shop_id: int, query: MemberQuery) -> dict:
        """One page of the shop's members and the count of all that match; `pages` ≥ 1. A page
        past the end shows the last one."""
        f = self._filter(query)
        with self.db.uow(shop_id, savepoint=False) as uow:
            repo = uow.member_list
            total = repo.count(f)
            pages = max(1, -(-total // query.per_page))
            page = min(max(1, query.page), pages)
            rows = repo.page(f, query.sort, query.descending, (page - 1) * query.per_page, query.per_page)
            tiers = repo.tiers_in_use()
        return {"total": total, "page": page, "pages": pages, "first": (page - 1) * query.per_page + 1 if total else 0,
                "last": (page - 1) * query.per_page + len(rows), "members": [_row(r) for r in rows],
                "tiers_in_use": tiers}

    def export_csv(self, shop_id: int, query: MemberQuery) -> Iterator[str]:
        """The filtered members as CSV lines (header first), read in chunks by id: each chunk its
        own short read, so a large shop streams without holding a transaction open."""
        f = self._filter(query)
        yield csv_line(EXPORT_COLUMNS)
        after = 0
        while True:
            with self.db.uow(shop_id, savepoint=False) as uow:
                rows = uow.member_list.chunk(f, after, EXPORT_CHUNK)
            if not rows:
                return
            yield csv_text([safe_cell(v) for v in (
                r.platform_customer_id, r.name or "", r.email or "", r.tier or "")] + [int(r.points),
                f"{Decimal(r.credit):.2f}", r.currency, int(r.points_lifetime),
                show_birthday(r.birthday) or "",  # ours: --MM-DD (no year) is a date, not a formula
                r.last_activity_at.isoformat() if r.last_activity_at else "", r.created_at.isoformat()]
                for r in rows)
            after = rows[-1].id

    def standing(self, shop_id: int, member_id: int) -> dict | None:
        """The member's tier and how far they are from the next one (None without tiers):
        tier, value (points earned or money spent in the tier window), basis, next, threshold
        of the next, to_next, and `done`/`span` for a progress bar from the current level."""
        pv = self.programs.for_reading(shop_id)
        program = pv.program
        if not program.tiers.enabled or not program.tiers.levels:
            return None
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            row = uow.members.by_id(member_id)
            if row is None:
                raise NotFound("member not found")
            if program.tiers.basis == "points_earned":
                since = window_start(program.tiers, now, ZoneInfo(program.timezone))
                value = Decimal(uow.members.with_points_earned(member_id, since).points_earned)
            else:
                value = self.tiers.qualifying_value(uow.conn, program, shop_id, member_id, now)
        at = progress(program.tiers, value, row.tier)
        span = (at.next.threshold - at.tier.threshold) if at.next else None
        done = min(max(value - at.tier.threshold, Decimal(0)), span) if span else None
        return {"tier": at.tier.name, "value": value, "basis": program.tiers.basis,
                "next": at.next.name if at.next else None, "threshold": at.next.threshold if at.next else None,
                "to_next": max(at.to_next, Decimal(0)) if at.next else None, "done": done, "span": span}


def _row(r) -> dict:
    return {"id": r.id, "customer_id": r.platform_customer_id, "name": r.name, "email": r.email, "tier": r.tier,
            "points": int(r.points), "lifetime": int(r.points_lifetime), "credit": Decimal(r.credit),
            "currency": r.currency, "birthday": r.birthday, "last_activity": r.last_activity_at,
            "joined": r.created_at}


# -- who did it -------------------------------------------------------------------------------
PLATFORMS = {"shopify": "Shopify", "woocommerce": "WooCommerce", "demo": N_("Demo store")}
KINDS = {"earn": N_("Earned"), "vest": N_("Became available"), "redeem": N_("Redeemed"),
         "reserve": N_("Reserved at checkout"), "commit": N_("Used at checkout"),
         "release": N_("Returned from checkout"), "reverse": N_("Taken back"), "adjust": N_("Adjusted"),
         "expire": N_("Expired")}
SOURCES = {"order": N_("Automatic, from an order"), "refund": N_("Automatic, from a refund"),
           "action": N_("Automatic, from the program"), "cart": N_("The customer, at checkout"),
           "referral": N_("Automatic, from a referral"), "system": N_("Automatic"),
           "admin": N_("Someone in the admin"), "platform": N_("The shop's platform")}


def who(actor: str | None, source: str | None, t, platform: str | None = None) -> str:
    """The person or system behind an entry or a change, as a person reads it, in `t`'s
    language: "You, in the admin", "API", "Shopify", "Demo"… never an internal id."""
    a = (actor or "").strip()
    head, _, rest = a.partition(":")
    if head == "admin-page":
        return t.gettext("You, in the admin")
    if head == "api-key":
        return t.gettext("API (%(who)s)", who=rest) if rest else t.gettext("API")
    if head in ("shopify-user", "shopify-session"):
        return t.gettext("You, in the Shopify admin")
    if head == "customer":
        return t.gettext("The customer")
    if a == "platform customer record":
        return t.gettext(PLATFORMS.get(platform or "", "")) if platform in PLATFORMS else t.gettext("The shop's platform")
    if a == "demo":
        return t.gettext("Demo")
    if a in ("cli", "loyalty"):
        return t.gettext("Command line")
    if a:
        return a  # a name someone gave (the API's `actor`), shown as given
    if source in SOURCES:
        return t.gettext(SOURCES[source])
    if source == "merchant":
        return t.gettext("Someone in the admin")
    if source == "shopper":
        return t.gettext("The customer")
    return "–"


def kind_label(kind: str, t) -> str:
    return t.gettext(KINDS[kind]) if kind in KINDS else kind
