"""Member profiles, lifecycle states and segments (issue 20), kept current three ways:

- per event, bounded: an order change (`OrderChanged`) rebuilds that one member's profile and
  purchases (`member_purchases`: products, and their collections or categories as the catalog
  cache knows them) from their own orders and re-evaluates that member against the shop's
  segments (one query with a column per segment, at most `MAX_SEGMENTS`); a posting
  (`PointsPosted`: balance, tier) or a change of the customer's tags (`set_tags`) re-evaluates
  the member against the segments;
- by a periodic pass (`refresh_all`), for what moves as days pass (lifecycle states, recency,
  days since, points expiring, bought within N days, birthdays changed without a posting):
  set-based SQL per shop; it also rebuilds members whose orders changed without an event (a
  backfill) or whose products changed collections (`regroup_due`);
- on a segment's creation or edit: a full, set-based recompute, quietly (no event for every
  member the new rule happens to match; moves after that are told); in the request for a shop
  of up to `sync_members` members, otherwise by a job (`compute`), the segment marked
  `computing_since` meanwhile (per-event moves leave it alone; `resume_computing` and the
  periodic pass take up one whose job was lost).

Every rule compiles to one SQL predicate (`predicate`) over members, their profile and their
balance, with the time-dependent parts turned into instants computed here from the shop's time
zone (`domain.segments.older_than`): the per-member path and the recompute use the same
predicate, so they cannot disagree on what a rule means.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, and_, case, exists, false, func, insert, literal, or_, select, true, update
from sqlalchemy.sql import ColumnElement

from ..domain.customer_tags import segment_handles
from ..domain.errors import DomainError, InvalidRequest, NotFound
from ..domain.targeting import segment_refs
from ..domain.member_events import (LifecycleChanged, OrderChanged, PointsPosted, SegmentEntered, SegmentLeft,
                                    TagsChanged)
from ..domain.ports import Clock, SystemClock
from ..domain.program import Program
from ..domain.segments import (BOUGHT, Condition, Facts, Rule, bought, bought_groups, days_since, dump_rule,
                               fact_key, lifecycle_state, names_field, older_than, parse_rule, rfm_scores, tag_list)
from ..storage import tables as t
from ..storage.db import Database
from .tiers import refunded_share

class SegmentInUse(DomainError):
    code = "segment_in_use"
    status = 409


MAX_SEGMENTS = 100  # per shop: the per-event work is one query with a column per segment
m, p, b = t.members.c, t.member_profiles.c, t.balances.c
JOINED = t.members.outerjoin(t.member_profiles, t.member_profiles.c.member_id == t.members.c.id) \
    .outerjoin(t.balances, t.balances.c.member_id == t.members.c.id)
CENT4 = Decimal("0.0001")
# A redacted customer (customers/redact) is no longer anyone: in no segment, with no profile
# (storage.privacy_repo.forget_engagement erases them; nothing here brings them back).
LIVE = ~m.platform_customer_id.startswith("redacted-")


# -- the SQL meaning of a rule ----------------------------------------------------------------
class Compiler:
    def __init__(self, shop_id: int, program: Program, now: datetime) -> None:
        self.shop_id, self.now, self.tz = shop_id, now, ZoneInfo(program.timezone)
        self.cfg = program.segments

    def cut(self, days: int) -> datetime:
        return older_than(days, self.now, self.tz)

    def _days(self, col, op: str, v) -> ColumnElement:
        """`days since col` compared with v, as comparisons of col with instants."""
        gt = lambda n: col < self.cut(n)  # noqa: E731 - days since > n
        le = lambda n: col >= self.cut(n)  # noqa: E731 - days since <= n
        if op == "none":
            return col.is_(None)
        if op == "gt":
            return gt(v)
        if op == "gte":
            return gt(v - 1)
        if op == "lt":
            return le(v - 1)
        if op == "lte":
            return le(v)
        if op == "eq":
            return and_(le(v), gt(v - 1))
        if op == "neq":
            return and_(col.isnot(None), or_(gt(v), le(v - 1)))
        low, high = v  # between
        return and_(gt(low - 1), le(high))

    @staticmethod
    def _compare(expr, op: str, v) -> ColumnElement:
        if op == "eq":
            return expr == v
        if op == "neq":
            return expr != v
        if op == "gt":
            return expr > v
        if op == "gte":
            return expr >= v
        if op == "lt":
            return expr < v
        if op == "lte":
            return expr <= v
        if op == "in":
            return expr.in_(list(v))
        if op == "not_in":
            return expr.not_in(list(v))
        low, high = v
        return expr.between(low, high)

    def orders_count(self):
        return func.coalesce(p.orders_count, 0)

    def lifetime_value(self):
        return func.coalesce(p.lifetime_value, 0)

    def recency_score(self):
        r = self.cfg.rfm.recency_days
        return case((p.last_order_at.is_(None), 0), (p.last_order_at >= self.cut(r[0]), 5),
                    (p.last_order_at >= self.cut(r[1]), 4), (p.last_order_at >= self.cut(r[2]), 3),
                    (p.last_order_at >= self.cut(r[3]), 2), else_=1)

    def _up(self, expr, th):
        return case((self.orders_count() == 0, 0), (expr >= th[3], 5), (expr >= th[2], 4), (expr >= th[1], 3),
                    (expr >= th[0], 2), else_=1)

    def frequency_score(self):
        return self._up(self.orders_count(), self.cfg.rfm.frequency_orders)

    def monetary_score(self):
        return self._up(self.lifetime_value(), self.cfg.rfm.monetary_value)

    def lifecycle(self):
        lc = self.cfg.lifecycle
        count = self.orders_count()
        return case(
            (or_(count == 0, p.last_order_at.is_(None)),
             case((m.created_at >= self.cut(lc.new_days), "new"), else_="lapsed")),
            (p.last_order_at < self.cut(lc.lapsed_days), "lapsed"),
            (p.last_order_at < self.cut(lc.at_risk_days), "at_risk"),
            (and_(count >= 2, p.last_gap_days > lc.at_risk_days), "win_back"),
            (count >= lc.loyal_orders, "loyal"),
            (and_(count == 1, p.last_order_at >= self.cut(lc.new_days)), "new"),
            else_="active")

    def _fact(self, c: Condition) -> ColumnElement:
        """has / has_not any of the values: a tag, a product or a group bought (within N days)."""
        keys = sorted({fact_key(v) for v in c.value}) if c.field != "bought_product" else sorted(set(c.value))
        if c.field == "tag":
            tg = t.member_tags.c
            found = exists().where(tg.shop_id == self.shop_id, tg.member_id == m.id, tg.tag_key.in_(keys))
        else:
            mp = t.member_purchases.c
            found = exists().where(mp.shop_id == self.shop_id, mp.member_id == m.id,
                                   mp.kind == ("product" if c.field == "bought_product" else "group"),
                                   mp.ref.in_(keys),
                                   *([mp.last_at >= self.cut(c.days)] if c.days is not None else []))
        return found if c.op == "has" else ~found

    def condition(self, c: Condition) -> ColumnElement:
        f, op, v = c.field, c.op, c.value
        if f == "tag" or f in BOUGHT:
            return self._fact(c)
        if f == "days_since_last_order":
            return self._days(p.last_order_at, op, v)
        if f == "days_since_first_order":
            return self._days(p.first_order_at, op, v)
        if f == "days_since_enrolled":
            return self._days(m.created_at, op, v)
        if f == "points_expiring_within_days":
            lo = t.lots.c
            return exists().where(lo.shop_id == self.shop_id, lo.member_id == m.id, lo.asset == "points",
                                  lo.remaining > 0, lo.expires_at.isnot(None),
                                  lo.expires_at <= self.now + timedelta(days=v))
        if f == "tier":
            if op == "none":
                return m.tier.is_(None)
            if op in ("neq", "not_in"):  # a member without a tier is in none of them
                return or_(m.tier.is_(None), self._compare(m.tier, op, v))
            return self._compare(m.tier, op, v)
        if f == "birthday_month":
            if op == "none":
                return m.birthday.is_(None)
            month = func.extract("month", m.birthday)
            if op in ("neq", "not_in"):
                return or_(m.birthday.is_(None), self._compare(month, op, v))
            return self._compare(month, op, v)
        expr = {"orders_count": self.orders_count, "lifetime_value": self.lifetime_value,
                "average_days_between_orders": lambda: p.average_days_between,
                "recency_score": self.recency_score, "frequency_score": self.frequency_score,
                "monetary_score": self.monetary_score, "lifecycle": self.lifecycle,
                "points_balance": lambda: func.coalesce(b.points, 0)}[f]()
        return self._compare(expr, op, v)

    def predicate(self, rule: Rule) -> ColumnElement:
        parts = [self.predicate(i) if isinstance(i, Rule) else self.condition(i) for i in rule.items]
        return and_(true(), *parts) if rule.mode == "all" else or_(false(), *parts)


# -- the profile of one member, from their orders -------------------------------------------
def _counted_orders(conn, shop_id: int, member_id: int):
    o = t.orders.c
    return conn.execute(select(o.base, o.shares, o.refunds, o.placed_at, o.created_at, o.products).where(
        o.shop_id == shop_id, o.member_id == member_id, or_(o.earned.is_(True), o.history_only.is_(True)),
        o.cancelled.is_(False), o.base.isnot(None))).all()


def profile_from_orders(conn, shop_id: int, member_id: int, tz: ZoneInfo, rows=None) -> dict:
    rows = _counted_orders(conn, shop_id, member_id) if rows is None else rows
    value, times = Fraction(0), []
    for row in rows:
        kept = 1 - refunded_share(row.shares, (row.refunds or {}).get("fractions", {}))
        value += Fraction(row.base) * kept
        times.append(row.placed_at or row.created_at)
    times.sort()
    n = len(times)
    ltv = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENT4)
    avg = None
    if n >= 2:
        avg = (Decimal((times[-1] - times[0]).total_seconds()) / Decimal(86400) / (n - 1)).quantize(CENT4)
    return dict(orders_count=n, lifetime_value=ltv, first_order_at=times[0] if n else None,
                prev_order_at=times[-2] if n >= 2 else None, last_order_at=times[-1] if n else None,
                last_gap_days=days_since(times[-2], times[-1], tz) if n >= 2 else None,
                average_days_between=avg)


def group_keys(row) -> frozenset[str]:
    """The case-folded keys a cached product's collections (id, gid, handle) or categories
    (id, slug) are named by."""
    groups = list(row.collections or []) + list(row.categories or [])
    return frozenset(fact_key(str(g[k])) for g in groups if isinstance(g, dict)
                     for k in ("id", "gid", "handle", "slug") if g.get(k) not in (None, ""))


def groups_digest(keys) -> str:
    """What a product row remembers of the groups it was grouped under (so that the periodic
    pass regroups only the members of a product whose collections or categories changed)."""
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]


def write_purchases(conn, shop_id: int, member_id: int, rows) -> None:
    """The member's purchases (products and their groups) brought to what their counted orders
    say: one read of what is stored, one of the catalog for their products, at most one delete
    and one insert (rows that did not change are not touched)."""
    products = bought([(r.placed_at or r.created_at, r.products, (r.refunds or {}).get("applied"))
                       for r in rows])
    keys: dict[str, frozenset[str]] = {}
    if products:
        cp = t.catalog_products.c
        keys = {r.product_id: group_keys(r) for r in conn.execute(
            select(cp.product_id, cp.collections, cp.categories).where(
                cp.shop_id == shop_id, cp.product_id.in_(sorted(products))))}
    wanted = {("product", pid): (*span, groups_digest(keys.get(pid, ()))) for pid, span in products.items()}
    for key, span in bought_groups(products, keys).items():
        wanted[("group", key)] = (*span, None)
    mp = t.member_purchases.c
    stored = {(r.kind, r.ref): (r.first_at, r.last_at, r.groups) for r in conn.execute(
        select(mp.kind, mp.ref, mp.first_at, mp.last_at, mp.groups).where(mp.shop_id == shop_id,
                                                                          mp.member_id == member_id))}
    gone = [k for k, v in stored.items() if wanted.get(k) != v]
    new = [k for k, v in wanted.items() if stored.get(k) != v]
    if gone:
        by_kind = {kind: [ref for k2, ref in gone if k2 == kind] for kind in ("product", "group")}
        conn.execute(t.member_purchases.delete().where(mp.shop_id == shop_id, mp.member_id == member_id, or_(
            *[and_(mp.kind == kind, mp.ref.in_(refs)) for kind, refs in by_kind.items() if refs])))
    if new:
        conn.execute(insert(t.member_purchases), [
            dict(member_id=member_id, shop_id=shop_id, kind=kind, ref=ref, first_at=wanted[(kind, ref)][0],
                 last_at=wanted[(kind, ref)][1], groups=wanted[(kind, ref)][2]) for kind, ref in new])


def regroup_due(conn, shop_id: int) -> set[int]:
    """Members who bought a product whose collections or categories (as the catalog knows them
    now) are not those their purchases were grouped under: a product joined or left a
    collection, or the catalog learnt of it. Reads the distinct (product, digest) pairs of the
    shop and the catalog's rows for those products; members only where something changed."""
    mp, cp = t.member_purchases.c, t.catalog_products.c
    pairs = conn.execute(select(mp.ref, mp.groups).distinct().where(mp.shop_id == shop_id,
                                                                     mp.kind == "product")).all()
    refs = sorted({ref for ref, _ in pairs})
    now: dict[str, str] = {}
    for at in range(0, len(refs), 1000):
        now.update({r.product_id: groups_digest(group_keys(r)) for r in conn.execute(
            select(cp.product_id, cp.collections, cp.categories).where(
                cp.shop_id == shop_id, cp.product_id.in_(refs[at:at + 1000])))})
    empty = groups_digest(())
    changed = [(ref, g) for ref, g in pairs if now.get(ref, empty) != g]
    due: set[int] = set()
    for at in range(0, len(changed), 200):
        part = changed[at:at + 200]
        due.update(conn.execute(select(mp.member_id).distinct().where(
            mp.shop_id == shop_id, mp.kind == "product",
            or_(*[and_(mp.ref == ref, mp.groups == g if g is not None else mp.groups.is_(None))
                  for ref, g in part]))).scalars())
    return due


def _upsert_profile(conn, values: dict) -> None:
    if conn.execute(update(t.member_profiles).where(p.member_id == values["member_id"])
                    .values(**values)).rowcount == 0:
        conn.execute(insert(t.member_profiles).values(**values))


def touch(conn, shop_id: int, member_ids, *, syncing: bool = True) -> None:
    """These members' segments changed (a move, or a segment renamed or deleted): bump their
    `segments_rev` so the customer-fields sync writes their platform labels again
    (services.customer_fields). `member_ids`: a list, or a select of ids.

    `syncing`: whether the shop's program has the sync on. When it is off, only members whose
    fields were written before (`fields_synced` set) are bumped: for the others the sync's
    marker compares with nothing, so they are due whatever their revision once the sync is
    turned on (or the shop becomes a platform shop), and meanwhile no sync is in flight that a
    move could slip under. This spares the UPDATE of a wide, indexed table for every member
    moved in a shop that does not sync. When it is on, every moved member is bumped (a move
    while a batch is being written must leave that member due)."""
    only = [] if syncing else [m.fields_synced.isnot(None)]
    if not syncing and not conn.execute(select(exists().where(m.shop_id == shop_id, *only))).scalar():
        return  # nobody's fields were ever written: one look instead of an UPDATE per 5,000 moved
    if not isinstance(member_ids, list):
        conn.execute(update(t.members).where(m.shop_id == shop_id, *only, m.id.in_(member_ids))
                     .values(segments_rev=m.segments_rev + 1))
        return
    for start in range(0, len(member_ids), 5000):  # bound the statement's parameters
        conn.execute(update(t.members).where(m.shop_id == shop_id, *only,
                                             m.id.in_(member_ids[start:start + 5000]))
                     .values(segments_rev=m.segments_rev + 1))


ADVISORY = 20 << 40  # a segment's job holds the advisory lock ADVISORY + the segment's id (one bigint key)
RESUME_AFTER = timedelta(minutes=15)  # a segment computing longer than this lost its job (a worker died)


class SegmentService:
    catalog = None  # services.catalog.Catalog: asked for products a collection rule needs (set by the runtime)
    enqueue = None  # the job queue's enqueue (set by the runtime); without it every segment is computed in the request
    sync_members = 20_000  # a shop with more members gets its new or edited segments computed by a job

    def __init__(self, db: Database, programs, clock: Clock | None = None) -> None:
        self.db, self.programs, self.clock = db, programs, clock or SystemClock()

    # -- handlers (registered in services.handlers) ------------------------------------------
    @staticmethod
    def _order_change_follows(uow, event) -> bool:
        """Whether this transaction also changed one of the member's orders after `event` (a
        cancellation's reversals come before its OrderChanged; a delivery may refund, then
        cancel): that handler evaluates the member with everything settled, so evaluating now
        would only tell moves the transaction undoes (in, then out again)."""
        events = uow.events
        at = next((i for i, e in enumerate(events) if e is event), len(events))
        return any(isinstance(e, OrderChanged) and e.member_id == event.member_id for e in events[at + 1:])

    def after_order(self, uow, event: OrderChanged) -> None:
        if event.member_id is None or self._order_change_follows(uow, event):
            return
        self.refresh_member(uow, event.member_id, profile=True)

    def after_tags(self, uow, event: TagsChanged) -> None:
        """The tags are written before any handler of the transaction runs: an order change of
        the member's in it evaluates them with everything else (so this one need not)."""
        if any(isinstance(e, OrderChanged) and e.member_id == event.member_id for e in uow.events):
            return
        self.refresh_member(uow, event.member_id, profile=False)

    def after_posting(self, uow, event: PointsPosted) -> None:
        if event.member_id is None or event.asset != "points":
            return
        if event.source == "import":  # an import moves many balances at once: the periodic pass follows
            return
        if self._order_change_follows(uow, event):
            return
        self.refresh_member(uow, event.member_id, profile=False)

    def set_tags(self, shop_id: int, customer_id: str, tags, at: datetime | None = None) -> str | None:
        """The customer's tags as the platform gives them now (all of them: a tag not given is
        gone), as of `at` (the platform's updated_at of the customer): an older state than the
        one stored changes nothing. The member's segments follow before the transaction commits
        (`TagsChanged`). None: no such member."""
        tags = tag_list(tags)
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            row = conn.execute(select(m.id, m.tags_at).where(m.shop_id == shop_id,
                                                            m.platform_customer_id == customer_id)).first()
            if row is None:
                return None
            if at is not None and row.tags_at is not None and at < row.tags_at:
                return "tags: an older state, ignored"
            tg = t.member_tags.c
            stored = dict(conn.execute(select(tg.tag_key, tg.tag).where(tg.shop_id == shop_id,
                                                                        tg.member_id == row.id)).all())
            wanted = {fact_key(tag): tag for tag in tags}
            gone = [k for k, tag in stored.items() if wanted.get(k) != tag]
            new = [k for k, tag in wanted.items() if stored.get(k) != tag]
            if gone:
                conn.execute(t.member_tags.delete().where(tg.shop_id == shop_id, tg.member_id == row.id,
                                                          tg.tag_key.in_(gone)))
            if new:
                conn.execute(insert(t.member_tags), [dict(member_id=row.id, shop_id=shop_id, tag_key=k, tag=wanted[k])
                                                     for k in new])
            if at is not None and at != row.tags_at:
                conn.execute(update(t.members).where(m.shop_id == shop_id, m.id == row.id).values(tags_at=at))
            if gone or new:
                uow.collect(TagsChanged(shop_id=shop_id, member_id=row.id, at=self.clock.now()))
        return f"tags: {len(wanted)}" + (" (changed)" if gone or new else "")

    # -- one member ----------------------------------------------------------------------------
    def refresh_member(self, uow, member_id: int, *, profile: bool) -> None:
        """Bounded work: this member's orders (when `profile`), one row of profile, one query
        evaluating every segment of the shop for this member, and the moves it finds."""
        shop_id, conn, now = uow.shop_id, uow.conn, self.clock.now()
        program = self.programs.current(shop_id).program
        tz = ZoneInfo(program.timezone)
        if profile:
            member = conn.execute(select(m.created_at).where(m.shop_id == shop_id, m.id == member_id, LIVE)).first()
            if member is None:
                return
            rows = _counted_orders(conn, shop_id, member_id)
            values = profile_from_orders(conn, shop_id, member_id, tz, rows)
            write_purchases(conn, shop_id, member_id, rows)
            old = conn.execute(select(p.lifecycle).where(p.member_id == member_id, p.shop_id == shop_id)).first()
            facts = Facts(values["orders_count"], values["lifetime_value"], values["first_order_at"],
                          values["prev_order_at"], values["last_order_at"], member.created_at)
            state = lifecycle_state(facts, program.segments.lifecycle, now, tz)
            values.update(member_id=member_id, shop_id=shop_id, updated_at=now)
            if old is None or old.lifecycle != state:
                values.update(lifecycle=state, lifecycle_since=now)
                if old is not None and old.lifecycle is not None:
                    uow.collect(LifecycleChanged(shop_id=shop_id, member_id=member_id, at=now,
                                                 from_state=old.lifecycle, to_state=state))
            _upsert_profile(conn, values)
        self._evaluate_member(uow, program, member_id, now)

    def _segments(self, conn, shop_id: int):
        s = t.segments.c
        return conn.execute(select(s.id, s.name, s.rule, s.computing_since).where(s.shop_id == shop_id)
                            .order_by(s.id)).all()

    def _evaluate_member(self, uow, program: Program, member_id: int, now: datetime) -> None:
        conn, shop_id = uow.conn, uow.shop_id
        # A segment being computed (by a job) has no membership to move from yet: the job's
        # recompute sets it from what the member is when it runs.
        segs = [sg for sg in self._segments(conn, shop_id) if sg.computing_since is None]
        if not segs:
            return
        comp = Compiler(shop_id, program, now)
        cols = [case((comp.predicate(parse_rule(s.rule)), 1), else_=0).label(f"s{s.id}") for s in segs]
        row = conn.execute(select(*cols).select_from(JOINED).where(m.shop_id == shop_id, m.id == member_id, LIVE)).first()
        if row is None:
            return
        sm = t.segment_members.c
        current = set(conn.execute(select(sm.segment_id).where(sm.shop_id == shop_id, sm.member_id == member_id))
                      .scalars())
        if any(bool(hit) != (s.id in current) for s, hit in zip(segs, row)):
            touch(conn, shop_id, [member_id], syncing=program.sync_customer_fields)
        for s, hit in zip(segs, row):
            if hit and s.id not in current:
                conn.execute(insert(t.segment_members).values(segment_id=s.id, member_id=member_id,
                                                              shop_id=shop_id, since=now))
                self._count(conn, s.id, +1)
                uow.collect(SegmentEntered(shop_id=shop_id, member_id=member_id, at=now, segment_id=s.id,
                                           segment=s.name))
            elif not hit and s.id in current:
                conn.execute(t.segment_members.delete().where(sm.segment_id == s.id, sm.member_id == member_id))
                self._count(conn, s.id, -1)
                uow.collect(SegmentLeft(shop_id=shop_id, member_id=member_id, at=now, segment_id=s.id,
                                        segment=s.name))

    @staticmethod
    def _count(conn, segment_id: int, delta: int) -> None:
        s = t.segments.c
        conn.execute(update(t.segments).where(s.id == segment_id).values(members_count=s.members_count + delta))

    # -- set-based ----------------------------------------------------------------------------
    def matching(self, conn, shop_id: int, program: Program, rule: Rule, now: datetime):
        """The select of the ids of the shop's members the rule matches now."""
        return select(m.id).select_from(JOINED).where(m.shop_id == shop_id, LIVE,
                                                      Compiler(shop_id, program, now).predicate(rule))

    def recompute(self, uow, segment_id: int, *, quiet: bool = False) -> tuple[int, int]:
        """Bring one segment's membership to what its rule says now: (entered, left)."""
        conn, shop_id, now = uow.conn, uow.shop_id, self.clock.now()
        s, sm = t.segments.c, t.segment_members.c
        seg = conn.execute(select(s.id, s.name, s.rule, s.computing_since).where(s.shop_id == shop_id,
                                                                                s.id == segment_id)).first()
        if seg is None:
            raise NotFound("no such segment")
        program = self.programs.current(shop_id).program
        match = self.matching(conn, shop_id, program, parse_rule(seg.rule), now)
        stored = select(sm.member_id).where(sm.segment_id == segment_id)
        # Set operations (EXCEPT), not correlated anti-joins: the planner hashes or sorts each side
        # once, however large, and an empty segment's row estimate cannot mislead it into a loop.
        gone = stored.except_(match).subquery()
        left = conn.execute(t.segment_members.delete().where(
            sm.segment_id == segment_id, sm.member_id.in_(select(gone.c.member_id)))
            .returning(sm.member_id)).scalars().all()
        new = match.except_(select(sm.member_id).where(sm.segment_id == segment_id)).subquery()
        entered = conn.execute(insert(t.segment_members).from_select(
            ["segment_id", "member_id", "shop_id", "since"],
            select(literal(segment_id, sm.segment_id.type), new.c.id, literal(shop_id, sm.shop_id.type),
                   literal(now, sm.since.type)))
            .returning(t.segment_members.c.member_id)).scalars().all()
        touch(conn, shop_id, [*entered, *left], syncing=program.sync_customer_fields)
        count = conn.execute(select(func.count()).select_from(t.segment_members).where(
            sm.segment_id == segment_id)).scalar_one()
        # Computed, unless the segment was edited meanwhile (its rule, or the time it was marked
        # computing, is not what was read here): then it stays computing, for the edit's job.
        cur = conn.execute(select(s.rule, s.computing_since).where(s.id == segment_id).with_for_update()).first()
        same = cur is not None and cur.rule == seg.rule and cur.computing_since == seg.computing_since
        conn.execute(update(t.segments).where(s.id == segment_id).values(
            members_count=count, computed_at=now, **({"computing_since": None} if same else {})))
        if not quiet:
            for mid in entered:
                uow.collect(SegmentEntered(shop_id=shop_id, member_id=mid, at=now, segment_id=segment_id,
                                           segment=seg.name))
            for mid in left:
                uow.collect(SegmentLeft(shop_id=shop_id, member_id=mid, at=now, segment_id=segment_id,
                                        segment=seg.name))
        return len(entered), len(left)

    def refresh_shop(self, shop_id: int) -> int:
        """The periodic pass for one shop: profiles rebuilt where orders changed without an event,
        profiles for members without one, lifecycle states moved by the days (told), and every
        segment recomputed (moves told). Returns the moves told by the last two steps."""
        now = self.clock.now()
        moves, unknown = 0, []
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            program = self.programs.current(shop_id).program
            comp = Compiler(shop_id, program, now)
            # Orders changed without an order event (a history backfill records the past quietly):
            # those members' profiles are rebuilt, as an event would have.
            o = t.orders.c
            stale = conn.execute(select(o.member_id).distinct().select_from(t.orders.outerjoin(
                t.member_profiles, p.member_id == o.member_id)).where(
                o.shop_id == shop_id, o.member_id.isnot(None),
                or_(p.member_id.is_(None), o.updated_at > p.updated_at),
                o.member_id.in_(select(m.id).where(m.shop_id == shop_id, LIVE)))).scalars().all()
            # Members who bought a product whose collections or categories changed since their
            # purchases were grouped (a product joined a collection; the catalog learnt of it).
            mp, cp = t.member_purchases.c, t.catalog_products.c
            for member_id in sorted(set(stale) | regroup_due(conn, shop_id)):
                self.refresh_member(uow, member_id, profile=True)
            segs = self._segments(conn, shop_id)
            if self.catalog is not None and any(names_field(parse_rule(sg.rule), ("bought_collection",))
                                                for sg in segs):
                # Collection rules need the catalog to know the products bought: those it has never
                # read, or marked to read again, are fetched after this pass (by a job), and the
                # next pass regroups the members who bought them (above).
                unknown = conn.execute(select(mp.ref).distinct().select_from(t.member_purchases.outerjoin(
                    t.catalog_products, and_(cp.shop_id == mp.shop_id, cp.product_id == mp.ref))).where(
                    mp.shop_id == shop_id, mp.kind == "product",
                    or_(cp.product_id.is_(None), cp.stale.is_(True))).order_by(mp.ref).limit(250)).scalars().all()
            conn.execute(insert(t.member_profiles).from_select(
                ["member_id", "shop_id", "updated_at"],
                select(m.id, literal(shop_id, p.shop_id.type), literal(now, p.updated_at.type)).where(
                    m.shop_id == shop_id, LIVE, ~exists().where(p.member_id == m.id))))
            state = comp.lifecycle()
            moved = select(m.id.label("mid"), p.lifecycle.label("old"), state.label("new")).select_from(JOINED) \
                .where(m.shop_id == shop_id, LIVE, or_(p.lifecycle.is_(None), p.lifecycle != state)).subquery()
            if conn.dialect.name == "postgresql":
                rows = conn.execute(update(t.member_profiles).where(p.member_id == moved.c.mid).values(
                    lifecycle=moved.c.new, lifecycle_since=now).returning(p.member_id, moved.c.old, moved.c.new)).all()
            else:  # SQLite (the demo): RETURNING cannot name the FROM's columns; read the moves, then write them
                rows = conn.execute(select(moved.c.mid, moved.c.old, moved.c.new)).all()
                for mid, _old, new in rows:
                    conn.execute(update(t.member_profiles).where(p.member_id == mid).values(
                        lifecycle=new, lifecycle_since=now))
            for mid, old, new in rows:  # a first state (a profile just made) is no move
                if old is not None:
                    uow.collect(LifecycleChanged(shop_id=shop_id, member_id=mid, at=now, from_state=old, to_state=new))
                    moves += 1
            for seg in segs:  # one left computing (its job lost) is computed quietly, as its job would
                quiet = seg.computing_since is not None
                told = sum(self.recompute(uow, seg.id, quiet=quiet))
                moves += 0 if quiet else told
        if unknown:
            self.catalog.schedule(shop_id, list(unknown))
        return moves

    def refresh_all(self) -> int:
        with self.db.uow() as uow:
            shop_ids = uow.conn.execute(select(t.shops.c.id).where(t.shops.c.status == "installed")).scalars().all()
        return sum(self.refresh_shop(shop_id) for shop_id in shop_ids)

    # -- the merchant's segments ------------------------------------------------------------------
    @staticmethod
    def _parse(name, rule) -> tuple[str, Rule]:
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 80:
            raise InvalidRequest("name: 1 to 80 characters", field="name")
        try:
            return name.strip(), parse_rule(rule)
        except ValueError as exc:
            raise InvalidRequest(str(exc), field="rule") from None

    def _out(self, row) -> dict:
        computing = row.computing_since is not None
        return {"id": row.id, "name": row.name, "rule": row.rule,
                "status": "computing" if computing else "ready",
                "members_count": None if computing else row.members_count,
                "computed_at": row.computed_at.isoformat() if row.computed_at else None,
                "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}

    def list(self, shop_id: int) -> list[dict]:
        with self.db.uow(shop_id) as uow:
            rows = uow.conn.execute(select(t.segments).where(t.segments.c.shop_id == shop_id)
                                    .order_by(t.segments.c.id)).all()
        return [self._out(r) for r in rows]

    def get(self, shop_id: int, segment_id: int) -> dict:
        with self.db.uow(shop_id) as uow:
            row = uow.conn.execute(select(t.segments).where(t.segments.c.shop_id == shop_id,
                                                            t.segments.c.id == segment_id)).first()
        if row is None:
            raise NotFound("no such segment")
        return self._out(row)

    def create(self, shop_id: int, name, rule) -> dict:
        name, parsed = self._parse(name, rule)
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            n = uow.conn.execute(select(func.count()).select_from(t.segments)
                                 .where(t.segments.c.shop_id == shop_id)).scalar_one()
            if n >= MAX_SEGMENTS:
                raise InvalidRequest(f"a shop has at most {MAX_SEGMENTS} segments", field="name")
            later = self._large(uow.conn, shop_id)
            sid = uow.conn.execute(insert(t.segments).values(
                shop_id=shop_id, name=name, rule=dump_rule(parsed), created_at=now, updated_at=now,
                computing_since=now if later else None).returning(t.segments.c.id)).scalar_one()
            if not later:
                self.recompute(uow, sid, quiet=True)
        if later:
            self.enqueue("compute_segment", shop_id, sid)
        return self.get(shop_id, sid)

    def update(self, shop_id: int, segment_id: int, name, rule) -> dict:
        name, parsed = self._parse(name, rule)
        with self.db.uow(shop_id) as uow:
            s = t.segments.c
            before = self._handles(uow.conn, shop_id)
            now = self.clock.now()
            later = self._large(uow.conn, shop_id)
            done = uow.conn.execute(update(t.segments).where(s.shop_id == shop_id, s.id == segment_id).values(
                name=name, rule=dump_rule(parsed), updated_at=now,
                **({"computing_since": now} if later else {}))).rowcount
            if not done:
                raise NotFound("no such segment")
            if not later:
                self.recompute(uow, segment_id, quiet=True)
            self._touch_renamed(uow.conn, shop_id, before)
        if later:
            self.enqueue("compute_segment", shop_id, segment_id)
        return self.get(shop_id, segment_id)

    def _large(self, conn, shop_id: int) -> bool:
        """Whether the shop has more than `sync_members` members (counted no further than that),
        so that a new or edited segment is computed by a job rather than in the request."""
        if self.enqueue is None:
            return False
        some = select(m.id).where(m.shop_id == shop_id).limit(self.sync_members + 1).subquery()
        return conn.execute(select(func.count()).select_from(some)).scalar_one() > self.sync_members

    def compute(self, shop_id: int, segment_id: int) -> str:
        """The job: a segment left computing, computed quietly (as in the request for a small
        shop). Runs for one segment take turns (a transaction-level advisory lock, not the
        segment's row, which an edit must be able to write meanwhile): the second finds it
        computed, unless it was edited meanwhile; safe to run again at any time."""
        with self.db.uow(shop_id) as uow:
            s = t.segments.c
            if uow.conn.dialect.name == "postgresql":  # one job per segment at a time; the requests never wait on it
                uow.conn.execute(select(func.pg_advisory_xact_lock(literal(ADVISORY + segment_id, BigInteger()))))
            row = uow.conn.execute(select(s.computing_since).where(s.shop_id == shop_id, s.id == segment_id)).first()
            if row is None:
                return "gone"
            if row.computing_since is None:
                return "computed already"
            entered, left = self.recompute(uow, segment_id, quiet=True)
        return f"computed: {entered} entered, {left} left"

    def resume_computing(self) -> int:
        """The periodic pass after a worker died: enqueue again every segment computing for longer
        than RESUME_AFTER (the job is safe to run twice, so one still running does no harm)."""
        if self.enqueue is None:
            return 0
        s = t.segments.c
        with self.db.uow() as uow:
            rows = uow.conn.execute(select(s.shop_id, s.id).where(
                s.computing_since.isnot(None), s.computing_since < self.clock.now() - RESUME_AFTER)).all()
        for shop_id, segment_id in rows:
            self.enqueue("compute_segment", shop_id, segment_id)
        return len(rows)

    def delete(self, shop_id: int, segment_id: int) -> None:
        """Delete a segment and its membership. Refused (SegmentInUse, 409) while the program
        names it (a reward, an early access, a campaign, an e-mail): the merchant takes it out
        there first, so nothing limited to it silently opens to everyone. Under the lock that
        program saves take, so a save cannot name it meanwhile."""
        with self.db.uow(shop_id) as uow:
            s = t.segments.c
            uow.programs.lock_writers()
            places = segment_refs(self.programs.current(shop_id).program).get(segment_id)
            if places and uow.conn.execute(select(s.id).where(s.shop_id == shop_id, s.id == segment_id)).first():
                what = "; ".join(w for _, w in places)
                raise SegmentInUse(f"this segment is used by {what}: take it out there first", used_by=what)
            before = self._handles(uow.conn, shop_id)
            touch(uow.conn, shop_id, select(t.segment_members.c.member_id).where(  # their labels lose it
                t.segment_members.c.shop_id == shop_id, t.segment_members.c.segment_id == segment_id),
                syncing=self._syncing(shop_id))
            uow.conn.execute(t.segment_members.delete().where(t.segment_members.c.shop_id == shop_id,
                                                              t.segment_members.c.segment_id == segment_id))
            if not uow.conn.execute(t.segments.delete().where(s.shop_id == shop_id, s.id == segment_id)).rowcount:
                raise NotFound("no such segment")
            self._touch_renamed(uow.conn, shop_id, before)

    def _syncing(self, shop_id: int) -> bool:
        return self.programs.current(shop_id).program.sync_customer_fields

    def _handles(self, conn, shop_id: int) -> dict[int, str]:
        s = t.segments.c
        return segment_handles([(r.id, r.name) for r in conn.execute(select(s.id, s.name).where(s.shop_id == shop_id))])

    def _touch_renamed(self, conn, shop_id: int, before: dict[int, str]) -> None:
        """Members of every segment whose handle (domain.customer_tags) is not what it was: a
        rename changes that segment's, and a rename or deletion may free a handle another
        segment of the same name was kept from."""
        changed = [sid for sid, h in self._handles(conn, shop_id).items() if before.get(sid) != h]
        if changed:
            sm = t.segment_members.c
            touch(conn, shop_id, select(sm.member_id).where(sm.shop_id == shop_id, sm.segment_id.in_(changed)),
                  syncing=self._syncing(shop_id))

    def members(self, shop_id: int, segment_id: int, *, preview: bool = False, limit: int = 50,
                after: int = 0) -> dict:
        """The segment's members (materialised), or with `preview` what its rule matches right
        now (computed, not stored): ids, e-mails and names, `limit` at a time after member `after`."""
        self.get(shop_id, segment_id)
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            if preview:
                rule = parse_rule(conn.execute(select(t.segments.c.rule).where(
                    t.segments.c.shop_id == shop_id, t.segments.c.id == segment_id)).scalar_one())
                ids = self.matching(conn, shop_id, self.programs.current(shop_id).program, rule, now).subquery()
            else:
                sm = t.segment_members.c
                ids = select(sm.member_id.label("id")).where(sm.shop_id == shop_id, sm.segment_id == segment_id) \
                    .subquery()
            total = conn.execute(select(func.count()).select_from(ids)).scalar_one()
            rows = conn.execute(select(m.id, m.platform_customer_id, m.email, m.name).where(
                m.shop_id == shop_id, m.id.in_(select(ids.c.id)), m.id > after).order_by(m.id).limit(limit)).all()
        return {"count": total, "preview": preview,
                "members": [{"id": r.id, "customer_id": r.platform_customer_id, "email": r.email, "name": r.name}
                            for r in rows]}

    def preview_rule(self, shop_id: int, rule, limit: int = 10) -> dict:
        """What a rule not saved yet matches right now: the count and the first members (the admin's
        preview before saving). An invalid rule raises InvalidRequest, as saving it would."""
        _, parsed = self._parse("preview", rule)
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            ids = self.matching(conn, shop_id, self.programs.current(shop_id).program, parsed, self.clock.now()).subquery()
            total = conn.execute(select(func.count()).select_from(ids)).scalar_one()
            rows = conn.execute(select(m.id, m.platform_customer_id, m.email, m.name).where(
                m.shop_id == shop_id, m.id.in_(select(ids.c.id))).order_by(m.id).limit(limit)).all()
        return {"count": total, "members": [{"id": r.id, "customer_id": r.platform_customer_id, "email": r.email,
                                             "name": r.name} for r in rows]}

    def of_member(self, shop_id: int, member_id: int) -> list[dict]:
        """The segments a member is in now (their stored membership), with since when."""
        s, sm = t.segments.c, t.segment_members.c
        with self.db.uow(shop_id) as uow:
            rows = uow.conn.execute(select(s.id, s.name, sm.since).select_from(
                t.segment_members.join(t.segments, s.id == sm.segment_id)).where(
                sm.shop_id == shop_id, s.shop_id == shop_id, sm.member_id == member_id).order_by(s.name)).all()
        return [{"id": r.id, "name": r.name, "since": r.since} for r in rows]

    def profile(self, shop_id: int, member_id: int) -> dict:
        """A member's profile as the merchant reads it: the stored figures, scores and state now."""
        now = self.clock.now()
        program = self.programs.current(shop_id).program
        tz = ZoneInfo(program.timezone)
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            row = conn.execute(select(m.created_at, m.tier, m.tier_since, p.orders_count, p.lifetime_value,
                                      p.first_order_at, p.prev_order_at, p.last_order_at, p.average_days_between)
                               .select_from(JOINED).where(m.shop_id == shop_id, m.id == member_id)).first()
            if row is None:
                raise NotFound("no such member")
            tg, mp = t.member_tags.c, t.member_purchases.c
            tags = conn.execute(select(tg.tag).where(tg.shop_id == shop_id, tg.member_id == member_id)
                                .order_by(tg.tag_key)).scalars().all()
            products = conn.execute(select(func.count()).select_from(t.member_purchases).where(
                mp.shop_id == shop_id, mp.member_id == member_id, mp.kind == "product")).scalar_one()
            history = tier_history(conn, shop_id, member_id, row.tier, row.tier_since)
        f = Facts(row.orders_count or 0, row.lifetime_value or Decimal(0), row.first_order_at, row.prev_order_at,
                  row.last_order_at, row.created_at)
        r, fr, mo = rfm_scores(f, program.segments.rfm, now, tz)
        return {"member_id": member_id, "orders_count": f.orders_count, "lifetime_value": str(f.lifetime_value),
                "first_order_at": f.first_order_at.isoformat() if f.first_order_at else None,
                "last_order_at": f.last_order_at.isoformat() if f.last_order_at else None,
                "average_days_between_orders": str(row.average_days_between) if row.average_days_between is not None
                else None, "recency_score": r, "frequency_score": fr, "monetary_score": mo,
                "lifecycle": lifecycle_state(f, program.segments.lifecycle, now, tz),
                "tier": row.tier, "tier_since": row.tier_since.isoformat() if row.tier_since else None,
                "tier_history": history, "tags": list(tags), "products_bought": products}


TIER_HISTORY = 100  # the most recent changes a profile shows


def tier_history(conn, shop_id: int, member_id: int, tier: str | None, tier_since: datetime | None) -> list[dict]:
    """When the member reached and left each tier, most recent first: from the `tier_changed`
    events (the outbox keeps them: every change the tier rules, the merchant or Shopify Flow
    made), the most recent `TIER_HISTORY`. An import sets a tier without an event: a current
    tier the events do not end on is shown as reached at its `tier_since`, `recorded: false`."""
    e = t.events.c
    rows = conn.execute(select(e.payload, e.created_at).where(
        e.shop_id == shop_id, e.member_id == member_id, e.type == "tier_changed")
        .order_by(e.id.desc()).limit(TIER_HISTORY)).all()
    spans: list[dict] = []
    left = None  # when the tier reached by the (later) change was left
    for payload, at in rows:  # newest first
        spans.append({"tier": payload.get("to"), "reached_at": at.isoformat(), "left_at": left,
                      "direction": payload.get("direction"), "reason": payload.get("reason"), "recorded": True})
        left = at.isoformat()
    if rows and len(rows) < TIER_HISTORY and rows[-1].payload.get("from"):  # the tier held before the first change
        spans.append({"tier": rows[-1].payload["from"], "reached_at": None, "left_at": left, "direction": None,
                      "reason": None, "recorded": False})
    if tier is not None and (not spans or spans[0]["tier"] != tier):
        if spans:
            spans[0]["left_at"] = spans[0]["left_at"] or (tier_since.isoformat() if tier_since else None)
        spans.insert(0, {"tier": tier, "reached_at": tier_since.isoformat() if tier_since else None, "left_at": None,
                         "direction": None, "reason": None, "recorded": False})
    return spans


__all__ = ["SegmentService", "Compiler", "profile_from_orders"]
