"""Analytics rollups. `RollupsRepo` folds every shop's new ledger entries into the daily rollups
(`stats_daily`, `stats_active`) behind one watermark (`stats_progress`: an entry id, and on
PostgreSQL the snapshot of the fold's last round, see `FoldRound`): CROSS-TENANT by nature,
for the periodic fold job only, so not shop-scoped. `DashboardRepo` reads one shop's rollups and
O(1) figures for its dashboard; shop-scoped like every repository (`repos.ShopScoped`). The
order rollup (`stats_orders`) is written with the order itself (`orders_repo.OrdersRepo`).

A shop whose time zone changed has its rollups rebuilt on the new zone's days (the job
`rebuild_analytics`); its progress is kept in `stats_progress` too, in two rows named for the shop:
`rebuild:<shop_id>` (the last entry id the rebuild has folded; -1 until it starts) and
`rebuild-to:<shop_id>` (what the fold had folded when it started, an id bound and the fold's
snapshot: those entries are the rebuild's, the others the fold's; `start_rebuild`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Iterator

from sqlalchemy import BigInteger, Boolean, Text, and_, case, cast, func, literal, not_, or_, select, text, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlalchemy.types import UserDefinedType

from . import tables as t
from .repos import ShopScoped, add_to, insert_ignore, open_lot
from .tables import Xid8

LEDGER = "ledger"  # the watermark's name in stats_progress
NOT_STARTED = -1  # a rebuild asked for, not started yet


def rebuild_names(shop_id: int) -> tuple[str, str]:
    """The `stats_progress` rows of a shop's rebuild: (how far it got, where it stops)."""
    return f"rebuild:{int(shop_id)}", f"rebuild-to:{int(shop_id)}"


@dataclass(frozen=True)
class FoldMark:
    """What the fold has folded. `last_id`: the last entry folded by id (every entry on SQLite;
    on PostgreSQL the entries posted before 0034, whose `txid` is NULL). PostgreSQL: `snapshot`,
    the pg_snapshot (text) of the fold's last round (None before the first): every entry whose
    transaction is visible in it has been folded, except those of `own` (the last round's own
    transaction, marked visible in it) with an id above `own_last`: posted in that transaction
    after its fold (the next round folds them)."""
    last_id: int
    snapshot: str | None = None
    own: int | None = None
    own_last: int = 0

    @classmethod
    def parse(cls, last_id: int, stored: str | None) -> "FoldMark":
        if not stored:
            return cls(last_id)
        snapshot, *own = stored.split(" ")
        return cls(last_id, snapshot, *(int(x) for x in own))

    def text(self) -> str | None:
        """As kept in `stats_progress.snapshot`: the snapshot, then the own transaction and id."""
        if self.snapshot is None or self.own is None:
            return self.snapshot
        return f"{self.snapshot} {self.own} {self.own_last}"

    def folded(self):
        """PostgreSQL, `snapshot` set: the condition "the entry is among those folded" (its id aside)."""
        e = t.ledger_entries.c
        cond = or_(e.txid.is_(None), _visible(self.snapshot))
        if self.own is not None:
            cond = and_(cond, not_(and_(e.txid == _xid(self.own), e.id > self.own_last)))
        return cond


class PgSnapshot(UserDefinedType):
    """PostgreSQL's pg_snapshot (kept as its text, `xmin:xmax:xip,...`)."""
    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "pg_snapshot"


def _snapshot(snapshot: str):
    return cast(literal(snapshot, Text()), PgSnapshot())


def _xid(xid: int):
    return cast(literal(str(xid), Text()), Xid8())


def _visible(snapshot: str):
    """The entry's transaction is visible in `snapshot` (committed before it was taken)."""
    return func.pg_visible_in_snapshot(t.ledger_entries.c.txid, _snapshot(snapshot), type_=Boolean())


def with_transaction(snapshot: str, xid: int, visible: bool) -> str:
    """`snapshot` (pg_snapshot text) in which the transaction `xid` (the fold's own) is visible,
    or in progress. A snapshot never lists its own transaction as in progress, and says "not yet"
    to every id at or past its xmax, its own included: the fold says which it means."""
    xmin, xmax, xip = snapshot.split(":")
    low, high = int(xmin), int(xmax)
    running = {int(x) for x in xip.split(",") if x}
    if visible:
        running.discard(xid)
        if xid >= high:  # every transaction between xmax and it was in progress (none had ended)
            running |= set(range(high, xid))
            high = xid + 1
    elif xid < high:
        running.add(xid)
        low = min(low, xid)
    return f"{low}:{high}:{','.join(map(str, sorted(running)))}"


class FoldRound:
    """One round of the fold, in the caller's transaction under the watermark's lock: its entries
    (`chunks`, lists of at most `batch` rows, streamed), then `mark` (what has been folded after
    it) and `complete` (no further round needed now).

    PostgreSQL: the entries whose transaction is visible in the snapshot taken now and was not in
    the last round's, in id order. Every entry becomes visible between exactly one pair of
    consecutive snapshots, so each is folded once, whatever order ids commit in. Before the first
    such round, the id watermark: that round folds every entry after it, posted before 0034 (all
    committed before it: later rounds look only at transactions) or visible now. The round's own
    transaction (a fold run inside a caller's transaction that has posted entries) is visible in
    the snapshot it keeps and its entries folded with it; those it posts after the fold are the
    next round's, by id (`FoldMark`). Without entries of its own, it is in progress in it.
    SQLite: the next `batch` entries after `last_id` (one writer at a time: ids commit in order)."""

    def __init__(self, conn: Connection, mark: FoldMark, batch: int) -> None:
        self.conn, self.start, self.batch = conn, mark, batch
        self.mark, self.complete = mark, True
        self.postgres = conn.dialect.name == "postgresql"
        if self.postgres:  # after the lock: every earlier round committed, and is visible in it
            now, own = conn.execute(text("SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned()::text")).one()
            own = int(own) if own is not None else None
            e = t.ledger_entries.c
            if own is not None and self.conn.execute(select(e.id).where(e.txid == _xid(own)).limit(1)).first():
                self.own, self.now = own, with_transaction(now, own, visible=True)
            else:
                self.own, self.now = None, now if own is None else with_transaction(now, own, visible=False)

    def chunks(self) -> Iterator[list[Row]]:
        e = t.ledger_entries.c
        cols = (e.id, e.shop_id, e.member_id, e.asset, e.kind, e.source, e.amount, e.points, e.points_pending,
                e.credit, e.credit_pending, e.created_at)
        start, last_id = self.start, self.start.last_id
        if not self.postgres:
            rows = self.conn.execute(select(*cols).where(e.id > last_id).order_by(e.id).limit(self.batch)).all()
            if rows:
                yield rows
                last_id = rows[-1].id
            self.mark, self.complete = FoldMark(last_id), len(rows) < self.batch
            return
        if start.snapshot is None:  # the first round: the entries after the id watermark, legacy or visible now
            where = and_(e.id > last_id, or_(e.txid.is_(None), _visible(self.now)))
        else:
            where = and_(e.txid >= func.pg_snapshot_xmin(_snapshot(start.snapshot)),
                         not_(_visible(start.snapshot)), _visible(self.now))
        if start.own is not None:  # the last round's own transaction's entries posted after its fold
            where = or_(where, and_(e.txid == _xid(start.own), e.id > start.own_last))
        mine = None if self.own is None else str(self.own)
        own_last = start.own_last if start.own is not None and start.own == self.own else 0
        result = self.conn.execute(select(*cols, e.txid.is_(None).label("legacy"), cast(e.txid, Text()).label("tx"))
                                   .where(where).order_by(e.id), execution_options={"yield_per": self.batch})
        for rows in result.partitions():
            for r in rows:
                if r.legacy:
                    last_id = max(last_id, r.id)
                elif r.tx == mine:
                    own_last = max(own_last, r.id)
            yield rows
        self.mark = FoldMark(last_id, self.now, self.own, own_last)


class RollupsRepo:
    """CROSS-TENANT, for the periodic analytics fold only: every shop's entries past the
    watermark, and every shop's rollup rows (each keyed by its shop_id)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lock_watermark(self) -> FoldMark:
        """What has been folded (nothing at first), its row locked FOR UPDATE until the
        transaction ends: two workers never fold the same entries."""
        p = t.stats_progress.c
        insert_ignore(self.conn, t.stats_progress, {"name": LEDGER, "last_id": 0}, ["name"])
        row = self.conn.execute(select(p.last_id, p.snapshot).where(p.name == LEDGER).with_for_update()).one()
        return FoldMark.parse(row.last_id, row.snapshot)

    def fold_round(self, mark: FoldMark, batch: int) -> FoldRound:
        """The entries to fold after `mark` (`lock_watermark`'s, in this transaction)."""
        return FoldRound(self.conn, mark, batch)

    def move_watermark(self, mark: FoldMark) -> None:
        self.conn.execute(t.stats_progress.update().where(t.stats_progress.c.name == LEDGER)
                          .values(last_id=mark.last_id, snapshot=mark.text()))

    def add_to_day(self, shop_id: int, day: date, values: dict) -> None:
        add_to(self.conn, t.stats_daily, {"shop_id": shop_id, "day": day}, values)

    def zones(self, shop_ids: Iterable[int]) -> dict[int, str]:
        """Each shop's time zone as committed now (its newest program's, else the shop's own),
        read from the database, never from a process's cache: the fold and the rebuild must
        agree on the zone the moment a change is committed."""
        ids = sorted(set(shop_ids))
        if not ids:
            return {}
        p, s = t.programs.c, t.shops.c
        newest = (select(p.shop_id, func.max(p.version).label("version")).where(p.shop_id.in_(ids))
                  .group_by(p.shop_id).subquery())
        out = dict(self.conn.execute(select(s.id, s.timezone).where(s.id.in_(ids))).all())
        out.update(self.conn.execute(
            select(p.shop_id, p.document["timezone"].as_string())
            .join(newest, (newest.c.shop_id == p.shop_id) & (newest.c.version == p.version))).all())
        return {k: v or "UTC" for k, v in out.items()}

    def zone(self, shop_id: int) -> str:
        """One shop's zone as `zones` reads it (one indexed query when it has a program)."""
        p = t.programs.c
        tz = self.conn.execute(select(p.document["timezone"].as_string()).where(p.shop_id == shop_id)
                               .order_by(p.version.desc()).limit(1)).scalar()
        return tz or self.zones([shop_id]).get(shop_id, "UTC")

    # -- a shop's rebuild after its time zone changed (see the module's docstring) -------------
    def request_rebuild(self, shop_id: int) -> None:
        """Ask for the shop's rollups to be rebuilt (again, from the start, if one is running)."""
        done, _ = rebuild_names(shop_id)
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(t.stats_progress).values(name=done, last_id=NOT_STARTED)
        self.conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"last_id": NOT_STARTED}))

    def lock_rebuild(self, shop_id: int) -> tuple[int, FoldMark | None] | None:
        """(done, split) of the shop's rebuild, its row locked until the transaction ends (two
        jobs take turns); None when there is none. `split` (None until it starts): the entries
        the fold had folded when it started are the rebuild's (`shop_entries`)."""
        done, to = rebuild_names(shop_id)
        p = t.stats_progress.c
        last = self.conn.execute(select(p.last_id).where(p.name == done).with_for_update()).scalar()
        if last is None:
            return None
        split = self.conn.execute(select(p.last_id, p.snapshot).where(p.name == to)).first()
        return last, (None if last == NOT_STARTED or split is None else FoldMark.parse(split.last_id, split.snapshot))

    def start_rebuild(self, shop_id: int, folded: FoldMark) -> None:
        """Empty the shop's ledger rollups; the rebuild folds the shop's entries the fold has
        folded (`folded`: `lock_watermark`'s, its lock held), the fold the others. Kept as
        (an id bound, the snapshot): before the fold's first round by snapshot, the entries up
        to its `last_id`; after, every entry up to the highest id now whose transaction is
        visible in its snapshot (or posted before 0034: all folded in that first round)."""
        done, to = rebuild_names(shop_id)
        bound = folded.last_id
        if folded.snapshot is not None:
            e = t.ledger_entries.c
            bound = max(bound, self.conn.execute(select(func.coalesce(func.max(e.id), 0))).scalar_one())
        self.conn.execute(t.stats_daily.delete().where(t.stats_daily.c.shop_id == shop_id))
        self.conn.execute(t.stats_active.delete().where(t.stats_active.c.shop_id == shop_id))
        insert_ignore(self.conn, t.stats_progress, {"name": to, "last_id": bound}, ["name"])
        self.conn.execute(t.stats_progress.update().where(t.stats_progress.c.name == to)
                          .values(last_id=bound, snapshot=folded.text()))
        self.move_rebuild(shop_id, 0)

    def move_rebuild(self, shop_id: int, last_id: int) -> None:
        self.conn.execute(t.stats_progress.update().where(t.stats_progress.c.name == rebuild_names(shop_id)[0])
                          .values(last_id=last_id))

    def end_rebuild(self, shop_id: int) -> None:
        self.conn.execute(t.stats_progress.delete().where(t.stats_progress.c.name.in_(rebuild_names(shop_id))))

    def rebuilding(self) -> list[int]:
        """CROSS-TENANT: the shops whose rebuild is asked for or under way."""
        p = t.stats_progress.c
        names = self.conn.execute(select(p.name).where(p.name.like("rebuild:%"))).scalars()
        return sorted(int(n.split(":", 1)[1]) for n in names)

    def shop_entries(self, shop_id: int, after: int, split: FoldMark, limit: int) -> list[Row]:
        """The next `limit` of the shop's entries after id `after` that are the rebuild's (see
        `start_rebuild`: a fixed set, all committed), in id order (as `FoldRound`'s rows)."""
        e = t.ledger_entries.c
        where = [e.shop_id == shop_id, e.id > after, e.id <= split.last_id]
        if split.snapshot is not None:
            where.append(split.folded())
        return self.conn.execute(select(e.id, e.shop_id, e.member_id, e.asset, e.kind, e.source, e.amount, e.points,
                                        e.points_pending, e.credit, e.credit_pending, e.created_at)
                                 .where(*where).order_by(e.id).limit(limit)).all()

    def rebuild_orders(self, shop_id: int, tz: str) -> None:
        """The shop's order rollup counted again from its counted orders, each on its day in
        `tz` (as `OrderService._count` counts it: placed, else recorded). The caller holds the
        shop's order-rollup lock (`lock_order_days`), so no order is counted meanwhile."""
        o = t.orders.c
        self.conn.execute(t.stats_orders.delete().where(t.stats_orders.c.shop_id == shop_id))
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text(
                "INSERT INTO stats_orders (shop_id, day, segment, orders, revenue, returning_orders, new_customers, "
                "redemption_orders, redemption_revenue) "
                "SELECT shop_id, date(timezone(:tz, coalesce(placed_at, created_at))) AS day, "
                "CASE WHEN customer_key LIKE 'c:%' THEN 'member' ELSE 'guest' END AS segment, count(*), "
                "coalesce(sum(total), 0), count(*) FILTER (WHERE returning_customer), "
                "count(*) FILTER (WHERE NOT coalesce(returning_customer, false)), count(*) FILTER (WHERE redeemed), "
                "coalesce(sum(total) FILTER (WHERE redeemed), 0) "
                "FROM orders WHERE shop_id = :shop AND counted GROUP BY 1, 2, 3"), {"shop": shop_id, "tz": tz})
            return
        from collections import defaultdict
        from decimal import Decimal
        from zoneinfo import ZoneInfo

        zone, days = ZoneInfo(tz), defaultdict(lambda: [0, Decimal(0), 0, 0, 0, Decimal(0)])
        for placed, created, total, key, redeemed, returning in self.conn.execute(
                select(o.placed_at, o.created_at, o.total, o.customer_key, o.redeemed,
                       o.returning_customer).where(o.shop_id == shop_id, o.counted.is_(True))):
            when = placed or created
            x = days[(when.astimezone(zone).date(), "member" if (key or "").startswith("c:") else "guest")]
            money = Decimal(total or 0)
            x[0] += 1
            x[1] += money
            x[2] += bool(returning)
            x[3] += not returning
            x[4] += bool(redeemed)
            x[5] += money if redeemed else 0
        if days:
            self.conn.execute(t.stats_orders.insert(), [
                {"shop_id": shop_id, "day": d, "segment": g, "orders": x[0], "revenue": x[1], "returning_orders": x[2],
                 "new_customers": x[3], "redemption_orders": x[4], "redemption_revenue": x[5]}
                for (d, g), x in days.items()])

    def mark_active(self, shop_day_members: Iterable[tuple[int, date, int]]) -> None:
        """Record these (shop_id, day, member_id) as active that day (once each)."""
        rows = [{"shop_id": s, "day": d, "member_id": m} for s, d, m in shop_day_members]
        if rows:
            dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
            self.conn.execute(dialect.insert(t.stats_active).on_conflict_do_nothing(), rows)


ORDER_DAYS_LOCK = 0x0A17 << 40  # + shop_id: the advisory lock of a shop's order-rollup days (no other key space near)


def lock_order_days(conn: Connection, shop_id: int, *, exclusive: bool = False) -> None:
    """The lock between counting an order on its day (shared: orders never wait for each other)
    and rebuilding the shop's order rollup on a new zone's days (exclusive): an order counted
    under the old zone is in the rebuild's snapshot; one counted after reads the new zone.
    SQLite has a single writer: nothing to take."""
    if conn.dialect.name == "postgresql":
        fn = func.pg_advisory_xact_lock if exclusive else func.pg_advisory_xact_lock_shared
        conn.execute(select(fn(literal(ORDER_DAYS_LOCK + int(shop_id), BigInteger()))))


class DashboardRepo(ShopScoped):
    """One shop's dashboard figures (read on an autocommit connection: `Database.reading`)."""

    def recomputing(self) -> bool:
        """Whether the shop's rollups are being rebuilt on its new time zone's days."""
        p = t.stats_progress.c
        return self.conn.execute(select(p.name).where(p.name == rebuild_names(self.shop_id)[0])).first() is not None

    def daily(self, start: date, end: date) -> list[Row]:
        s = t.stats_daily.c
        return self.conn.execute(select(t.stats_daily).where(s.shop_id == self.shop_id, s.day >= start, s.day <= end)
                                 .order_by(s.day)).all()

    def orders_daily(self, start: date, end: date) -> list[Row]:
        o = t.stats_orders.c
        return self.conn.execute(select(t.stats_orders).where(o.shop_id == self.shop_id, o.day >= start, o.day <= end)
                                 .order_by(o.day, o.segment)).all()

    def outstanding(self) -> Row:
        """(points, credit, members): what the shop's members hold, and how many they are."""
        b = t.balances.c
        return self.conn.execute(select(func.coalesce(func.sum(b.points), 0), func.coalesce(func.sum(b.credit), 0),
                                        func.count()).where(b.shop_id == self.shop_id)).one()

    def enrolments(self, since: datetime, before: datetime, tz: str = "UTC") -> dict:
        """Members who joined in [since, before), per day in the time zone `tz` (the shop's)."""
        m = t.members.c
        where = (m.shop_id == self.shop_id, m.created_at >= since, m.created_at < before)
        if self.conn.dialect.name == "postgresql":
            joined = func.date(func.timezone(tz, m.created_at))
            return dict(self.conn.execute(select(joined, func.count()).where(*where).group_by(joined)).all())
        from zoneinfo import ZoneInfo  # SQLite keeps no time zones: the members of the period, counted here

        zone, out = ZoneInfo(tz), {}
        for (at,) in self.conn.execute(select(m.created_at).where(*where)):
            day = at.astimezone(zone).date()
            out[day] = out.get(day, 0) + 1
        return out

    def active_members(self, start: date, end: date) -> int:
        """Members active (earned or spent) on any day of the period."""
        m, a = t.members.c, t.stats_active.c
        # One index probe per member (members, not ledger rows, set the cost). On PostgreSQL a
        # LATERAL ... LIMIT 1 keeps it so: an EXISTS may be planned as a semi-join reading every
        # (member, day) row of the period, which grows with the ledger (issue 21's bound).
        probe = select(a.member_id).where(a.shop_id == self.shop_id, a.member_id == m.id, a.day >= start, a.day <= end)
        if self.conn.dialect.name == "postgresql":
            first = probe.limit(1).lateral("active")
            return self.conn.execute(select(func.count()).select_from(t.members.join(first, true())).where(
                m.shop_id == self.shop_id)).scalar() or 0
        return self.conn.execute(select(func.count()).select_from(t.members).where(
            m.shop_id == self.shop_id, probe.exists())).scalar() or 0

    def members_per_tier(self) -> dict:
        m = t.members.c
        return dict(self.conn.execute(select(m.tier, func.count()).where(m.shop_id == self.shop_id)
                                      .group_by(m.tier)).all())

    # -- issue 21: segments, tiers, lifetime value, codes, cohorts, pending and expiring -------------
    def order_groups(self, since: datetime, before: datetime) -> list[Row]:
        """The shop's counted orders placed in [since, before), grouped by (member?, the member's
        tier now, redeemer?): orders, net sales, returning orders, orders that earned. A redeemer
        is a member who used a reward on an order placed before `before`. Indexed on (shop_id,
        placed_at): the period's orders set the cost, never the ledger."""
        o, m = t.orders.c, t.members.c
        r = t.orders.alias("r")
        redeemer = select(r.c.id).where(r.c.shop_id == self.shop_id, r.c.member_id == o.member_id,
                                        r.c.redeemed.is_(True), r.c.counted.is_(True), r.c.placed_at < before).exists()
        is_member = o.member_id.is_not(None)
        one = lambda cond: func.sum(case((cond, 1), else_=0))  # noqa: E731
        member_flag = case((is_member, 1), else_=0).label("member")
        redeemer_flag = case((redeemer, 1), else_=0).label("redeemer")
        return self.conn.execute(
            select(member_flag, m.tier, redeemer_flag, func.count().label("orders"),
                   func.coalesce(func.sum(o.total), 0).label("revenue"),
                   one(o.returning_customer.is_(True)).label("repeats"), one(o.earned.is_(True)).label("earned"))
            .select_from(t.orders.outerjoin(t.members, m.id == o.member_id))
            .where(o.shop_id == self.shop_id, o.counted.is_(True), o.placed_at >= since, o.placed_at < before)
            .group_by(member_flag, m.tier, redeemer_flag)).all()

    def tiers(self) -> list[Row]:
        """Per tier (None: the first): members, their points and pending points."""
        m, b = t.members.c, t.balances.c
        return self.conn.execute(
            select(m.tier, func.count().label("members"), func.coalesce(func.sum(b.points), 0).label("points"),
                   func.coalesce(func.sum(b.points_pending), 0).label("pending"))
            .select_from(t.members.outerjoin(t.balances, b.member_id == m.id))
            .where(m.shop_id == self.shop_id).group_by(m.tier)).all()

    def profiles(self) -> Row:
        """From the member profiles: (members with a profile who ordered, their orders, their lifetime value)."""
        p = t.member_profiles.c
        return self.conn.execute(
            select(func.count(), func.coalesce(func.sum(p.orders_count), 0), func.coalesce(func.sum(p.lifetime_value), 0))
            .where(p.shop_id == self.shop_id, p.orders_count > 0)).one()

    def codes(self, since: datetime, before: datetime) -> dict:
        """Reward codes issued in [since, before), counted by status now."""
        d = t.redemptions.c
        return dict(self.conn.execute(select(d.status, func.count()).where(
            d.shop_id == self.shop_id, d.created_at >= since, d.created_at < before,
            d.code.is_not(None)).group_by(d.status)).all())

    def cohort_members(self, since: datetime, before: datetime) -> list[Row]:
        """Members who joined in [since, before): (joined, first order, second order), each
        order found by one index probe (shop_id, member_id, placed_at)."""
        m, o = t.members.c, t.orders.c

        def nth(n: int):
            return (select(o.placed_at).where(o.shop_id == self.shop_id, o.member_id == m.id, o.counted.is_(True),
                                              o.placed_at.is_not(None))
                    .order_by(o.placed_at).offset(n).limit(1).scalar_subquery())

        return self.conn.execute(select(m.created_at, nth(0).label("first"), nth(1).label("second")).where(
            m.shop_id == self.shop_id, m.created_at >= since, m.created_at < before)).all()

    def expiring(self, since: datetime, before: datetime) -> int:
        """Points in open lots that expire in [since, before)."""
        lo = t.lots.c
        return int(self.conn.execute(select(func.coalesce(func.sum(lo.remaining), 0)).where(
            lo.shop_id == self.shop_id, lo.asset == "points", open_lot(lo),
            lo.expires_at >= since, lo.expires_at < before)).scalar() or 0)

    def referral_credit(self):
        """Store credit paid to referrers, all time."""
        s = t.stats_daily.c
        return self.conn.execute(select(func.coalesce(func.sum(s.referral_credit), 0)).where(
            s.shop_id == self.shop_id)).scalar()
