"""Repositories. Each is built for one shop and adds `shop_id` to every statement it issues,
so a query for another shop's row cannot be written through it (tenancy by construction)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, literal_column, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from ..domain.ledger import Asset, Effect, Kind, Lot
from . import tables as t

BUCKETS = ("", "_pending", "_held", "_lifetime")


def bucket_columns(asset: Asset) -> tuple[str, str, str, str]:
    """Column names of (available, pending, held, lifetime) for an asset."""
    base = "points" if asset == Asset.POINTS else "credit"
    return tuple(base + suffix for suffix in BUCKETS)  # type: ignore[return-value]


def to_num(asset: Asset, value: Decimal | int) -> int | Decimal:
    if asset == Asset.POINTS:
        as_int = int(value)
        if as_int != value:
            raise ValueError(f"fractional points in storage: {value}")
        return as_int
    return Decimal(value)


def insert_ignore(conn: Connection, table, values: dict, conflict: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was inserted. (RETURNING, because
    the driver's rowcount is not reliable for this statement.)"""
    return insert_returning(conn, table, values, conflict) is not None


# The generic upserts below are built once per shape (dialect, table, conflict columns, updated
# columns) and executed with their values as parameters: the same SQL as a statement built per
# call, without building and cache-keying one for every row (a fifth of an order's CPU went to
# SQLAlchemy constructing statements). The columns inserted are the parameters' keys.
_UPSERTS: dict[tuple, Any] = {}


def _upsert(conn: Connection, table, conflict: tuple[str, ...], increments: tuple[str, ...] | None):
    name = conn.dialect.name
    key = (name, table.name, conflict, increments)
    stmt = _UPSERTS.get(key)
    if stmt is None:
        ins = (postgresql if name == "postgresql" else sqlite).insert(table)
        if increments is None:
            stmt = ins.on_conflict_do_nothing(index_elements=list(conflict)).returning(*table.primary_key.columns)
        else:
            stmt = ins.on_conflict_do_update(index_elements=list(conflict),
                                             set_={k: table.c[k] + ins.excluded[k] for k in increments})
        _UPSERTS[key] = stmt
    return stmt


def insert_returning(conn: Connection, table, values: dict, conflict: list[str]):
    """INSERT … ON CONFLICT DO NOTHING RETURNING the primary key; None on a conflict."""
    return conn.execute(_upsert(conn, table, tuple(conflict), None), values).scalar()


def add_to(conn: Connection, table, keys: dict, increments: dict) -> None:
    """Add `increments` to the row named by `keys`, creating it if absent (a rollup row):
    INSERT … ON CONFLICT (keys) DO UPDATE SET column = column + excluded.column."""
    conn.execute(_upsert(conn, table, tuple(keys), tuple(increments)), {**keys, **increments})



def open_lot(lots):
    """A lot with spendable value, written as the partial index `ix_lots_open_expiry` states it
    (`remaining > 0 AND NOT pending`, the 0 a literal): a prepared statement's generic plan can
    use that index only when the query implies its predicate without parameters."""
    return and_(lots.remaining > literal_column("0"), not_(lots.pending))

class ShopScoped:
    def __init__(self, conn: Connection, shop_id: int) -> None:
        if not isinstance(shop_id, int) or isinstance(shop_id, bool):
            raise TypeError("shop_id must be an int")
        self.conn = conn
        self.shop_id = shop_id

    def _one(self, stmt) -> Row | None:
        return self.conn.execute(stmt).first()


def earned_at():
    """When an entry's value was earned: its original date (imported history), else its posting's."""
    e = t.ledger_entries.c
    return func.coalesce(e.occurred_at, e.created_at)


def points_earned(shop, since):
    """Points the member of the row earned since `since` (all time when None), as a column: what
    tiers on points earned count. `shop` and `since` are values or bound parameters."""
    e = t.ledger_entries.c
    earned = select(func.coalesce(func.sum(e.points_lifetime), 0)).where(
        e.shop_id == shop, e.member_id == t.members.c.id, e.asset == Asset.POINTS.value)
    if since is not None:
        earned = earned.where(earned_at() >= since)
    return earned.scalar_subquery().label("points_earned")


def _shopper_read_statement(widget: bool, with_points_earned: bool, since: bool):
    """What a cart quote (`widget=False`) or the widget (`widget=True`) reads of a shopper, with
    its values as parameters (`shopper_shop_id`, `shopper_customer`, `shopper_since`): built once
    per shape, the same SQL as one built per call."""
    m, b = t.members.c, t.balances.c
    shop = bindparam("shopper_shop_id", type_=m.shop_id.type)
    cols = ([m.id, m.tier, m.birthday, b.points, b.points_pending, b.credit, b.credit_pending, t.referral_codes.c.code]
            if widget else [m.id, m.tier, m.birthday, b.points, b.credit])
    if with_points_earned:
        cols.append(points_earned(shop, bindparam("shopper_since", type_=t.ledger_entries.c.created_at.type)
                                  if since else None))
    stmt = select(*cols).join(t.balances, b.member_id == m.id)
    if widget:
        stmt = stmt.outerjoin(t.referral_codes, t.referral_codes.c.member_id == m.id)
    return stmt.where(m.shop_id == shop,
                      m.platform_customer_id == bindparam("shopper_customer", type_=m.platform_customer_id.type))


_SHOPPER_READS: dict[tuple[bool, bool, bool], Any] = {}


def _lock_for_posting_statement():
    """LedgerRepo.lock_for_posting's statement, built once (every posting runs it)."""
    e, b = t.ledger_entries.c, t.balances.c
    shop = bindparam("post_shop_id", type_=b.shop_id.type)
    prior = select(e.id).where(e.shop_id == shop, e.idempotency_key == bindparam(
        "post_key", type_=e.idempotency_key.type)).scalar_subquery().label("prior_entry_id")
    return select(t.balances, prior).where(
        b.shop_id == shop, b.member_id == bindparam("post_member_id", type_=b.member_id.type),
    ).with_for_update(of=t.balances)


def _move_balance_statement(moved: tuple[str, ...]):
    """The balance move of a posting for the columns it changes (each `col = col + :move_col`),
    built once per set of columns; returns the new row."""
    b = t.balances.c
    return update(t.balances).where(
        b.shop_id == bindparam("move_shop_id", type_=b.shop_id.type),
        b.member_id == bindparam("move_member_id", type_=b.member_id.type),
    ).values({**{col: b[col] + bindparam(f"move_{col}", type_=b[col].type) for col in moved},
              "version": b.version + 1,
              "updated_at": bindparam("move_now", type_=b.updated_at.type)}).returning(t.balances)


_LOCK_FOR_POSTING = _lock_for_posting_statement()
_INSERT_ENTRY = insert(t.ledger_entries).returning(t.ledger_entries.c.id)
_INSERT_LOT = insert(t.lots).returning(t.lots.c.id)
_MOVE_BALANCE: dict[tuple[str, ...], Any] = {}


class MembersRepo(ShopScoped):
    def by_id(self, member_id: int) -> Row | None:
        return self._one(select(t.members).where(t.members.c.shop_id == self.shop_id,
                                                 t.members.c.id == member_id))

    def by_customer(self, platform_customer_id: str) -> Row | None:
        return self._one(select(t.members).where(
            t.members.c.shop_id == self.shop_id,
            t.members.c.platform_customer_id == platform_customer_id))

    def create(self, platform_customer_id: str, email: str | None, birthday, currency: str,
               now: datetime) -> tuple[int, bool]:
        row, inserted = self.create_row(platform_customer_id, email, birthday, currency, now)
        return row.id, inserted

    def create_row(self, platform_customer_id: str, email: str | None, birthday, currency: str,
                   now: datetime) -> tuple[Row, bool]:
        """The member's row (created with an empty balance when new) and whether it was new."""
        inserted = insert_ignore(self.conn, t.members, dict(
            shop_id=self.shop_id, platform_customer_id=platform_customer_id, email=email,
            birthday=birthday, created_at=now, updated_at=now), ["shop_id", "platform_customer_id"])
        row = self.by_customer(platform_customer_id)
        assert row is not None
        if inserted:
            self.conn.execute(insert(t.balances).values(
                member_id=row.id, shop_id=self.shop_id, currency=currency, updated_at=now))
        return row, bool(inserted)

    def by_emails(self, emails: list[str]) -> list[Row]:
        """(id, platform_customer_id, email) of the members whose e-mail, in any case, is one of
        `emails` (lower-cased); several members may share one (e-mails are not unique)."""
        m = t.members.c
        if not emails:
            return []
        return self.conn.execute(select(m.id, m.platform_customer_id, m.email).where(
            m.shop_id == self.shop_id, func.lower(m.email).in_(emails)).order_by(m.id)).all()

    def by_customers(self, platform_customer_ids: list[str]) -> list[Row]:
        """(id, platform_customer_id, email) of the members with these customer ids."""
        m = t.members.c
        if not platform_customer_ids:
            return []
        return self.conn.execute(select(m.id, m.platform_customer_id, m.email).where(
            m.shop_id == self.shop_id, m.platform_customer_id.in_(platform_customer_ids))).all()

    def update_profile(self, member_id: int, now: datetime, **fields: Any) -> None:
        if fields:
            self.conn.execute(update(t.members).where(
                t.members.c.shop_id == self.shop_id, t.members.c.id == member_id
            ).values(updated_at=now, **fields))

    def with_points_earned(self, member_id: int, since: datetime | None) -> Row:
        """The member's row and, in the same round trip, the points they earned since `since`."""
        return self.conn.execute(select(t.members, points_earned(self.shop_id, since)).where(
            t.members.c.shop_id == self.shop_id, t.members.c.id == member_id)).one()

    def for_quote(self, platform_customer_id: str, *, points_since: datetime | None = None,
                  with_points_earned: bool = False) -> Row | None:
        """What a cart quote needs of a shopper, in one round trip: id, tier, birthday, balance,
        and (for tiers on points) the points earned since `points_since`. The statement is built
        once per shape (a quote is a hot path) and bound to this shop and shopper."""
        return self._shopper(False, platform_customer_id, points_since, with_points_earned)

    def for_widget(self, platform_customer_id: str, *, points_since: datetime | None = None,
                   with_points_earned: bool = False) -> Row | None:
        """What the storefront widget shows of a shopper, in one round trip: id, tier, birthday,
        balances (points, points_pending, credit, credit_pending), their referral `code` (None
        without one), and (for tiers on points) the points earned since `points_since`."""
        return self._shopper(True, platform_customer_id, points_since, with_points_earned)

    def _shopper(self, widget: bool, platform_customer_id: str, points_since: datetime | None,
                 with_points_earned: bool) -> Row | None:
        shape = (widget, with_points_earned, with_points_earned and points_since is not None)
        stmt = _SHOPPER_READS.get(shape)
        if stmt is None:
            stmt = _SHOPPER_READS[shape] = _shopper_read_statement(*shape)
        params = {"shopper_shop_id": self.shop_id, "shopper_customer": platform_customer_id}
        if shape[2]:
            params["shopper_since"] = points_since
        return self.conn.execute(stmt, params).first()

    def ids_after(self, last: int, limit: int) -> list[int]:
        m = t.members.c
        return list(self.conn.execute(select(m.id).where(m.shop_id == self.shop_id, m.id > last)
                                      .order_by(m.id).limit(limit)).scalars())

    def balance(self, member_id: int, *, lock: bool = False) -> Row | None:
        stmt = select(t.balances).where(t.balances.c.shop_id == self.shop_id,
                                        t.balances.c.member_id == member_id)
        return self._one(stmt.with_for_update() if lock else stmt)

    def lock_for_posting(self, member_id: int, key: str) -> Row | None:
        """Lock the member's balance row and, in the same round trip, look the key up:
        the row carries ``prior_entry_id`` when the key was already used in this shop."""
        return self.conn.execute(_LOCK_FOR_POSTING, {"post_shop_id": self.shop_id, "post_member_id": member_id,
                                                     "post_key": key}).first()

    # -- what the services read and write of members (issue 16: orders, actions, expiry, birthdays)
    def tier_and_birthday(self, member_id: int) -> Row:
        """(tier, birthday) of a member who must exist: what earning needs to know of them."""
        m = t.members.c
        return self.conn.execute(select(m.tier, m.birthday).where(m.shop_id == self.shop_id,
                                                                   m.id == member_id)).one()

    def touch(self, member_id: int, now: datetime) -> None:
        """The member was active (earned or spent) at `now`: inactivity expiry counts from here."""
        self.conn.execute(update(t.members).where(t.members.c.shop_id == self.shop_id, t.members.c.id == member_id)
                          .values(last_activity_at=now))

    def currency(self, member_id: int) -> str:
        """The currency of the member's balance (store credit is kept in it)."""
        return self.conn.execute(select(t.balances.c.currency).where(
            t.balances.c.shop_id == self.shop_id, t.balances.c.member_id == member_id)).scalar_one()

    def with_birthday(self, *, except_shopper_changes_since: datetime) -> list[Row]:
        """(platform_customer_id, birthday) of the members with a birthday, except those who
        gave or changed it themselves (source `shopper`) after the given time."""
        m, bc = t.members.c, t.birthday_changes.c
        just_given = select(bc.member_id).where(bc.shop_id == self.shop_id, bc.source == "shopper",
                                                bc.created_at > except_shopper_changes_since)
        return self.conn.execute(select(m.platform_customer_id, m.birthday).where(
            m.shop_id == self.shop_id, m.birthday.is_not(None), m.id.not_in(just_given))).all()

    def inactive_with_value(self, inactive_since: datetime) -> list[int]:
        """Ids of the members with points or credit whose last activity is before the given time
        (inactivity expiry)."""
        m, b = t.members.c, t.balances.c
        return self.conn.execute(select(m.id).join(t.balances, b.member_id == m.id).where(
            m.shop_id == self.shop_id, m.last_activity_at < inactive_since, (b.points > 0) | (b.credit > 0)
        )).scalars().all()

    def with_points_and_activity(self) -> list[Row]:
        """(id, last_activity_at, points) of the members with points and a last activity."""
        m, b = t.members.c, t.balances.c
        return self.conn.execute(select(m.id, m.last_activity_at, b.points).join(t.balances, b.member_id == m.id)
                                 .where(and_(m.shop_id == self.shop_id, b.points > 0,
                                             m.last_activity_at.is_not(None)))).all()

    def search(self, q: str, limit: int) -> list[int]:
        """Ids of the members whose email starts with `q`, whose name contains it (any case;
        `%` and `_` are matched as themselves), or whose customer id is `q` (stripped)."""
        m = t.members.c
        needle = q.strip()
        pattern = needle.lower().replace("%", r"\%").replace("_", r"\_") + "%"
        return self.conn.execute(select(m.id).where(
            m.shop_id == self.shop_id,
            or_(func.lower(m.email).like(pattern, escape="\\"),
                func.lower(m.name).like("%" + pattern, escape="\\"),
                m.platform_customer_id == needle))
            .order_by(m.id).limit(limit)).scalars().all()

    # -- birthdays -------------------------------------------------------------------------
    def lock_birthday(self, member_id: int):
        """The member's birthday, its row locked FOR UPDATE (changes serialise here)."""
        m = t.members.c
        return self.conn.execute(select(m.birthday).where(m.shop_id == self.shop_id, m.id == member_id)
                                 .with_for_update()).scalar()

    def record_birthday_change(self, member_id: int, old, new, source: str, actor: str | None,
                               now: datetime) -> None:
        self.conn.execute(insert(t.birthday_changes).values(
            shop_id=self.shop_id, member_id=member_id, old=old, new=new, source=source, actor=actor,
            created_at=now))

    def birthday_changes(self, member_id: int) -> list[Row]:
        """The member's birthday changes, newest first."""
        bc = t.birthday_changes.c
        return list(self.conn.execute(select(t.birthday_changes).where(
            bc.shop_id == self.shop_id, bc.member_id == member_id).order_by(bc.id.desc())))

    def all_ids(self) -> list[int]:
        """Every member's id (in no particular order)."""
        return self.conn.execute(select(t.members.c.id).where(t.members.c.shop_id == self.shop_id)).scalars().all()


class LedgerRepo(ShopScoped):
    def entry(self, entry_id: int) -> Row | None:
        return self._one(select(t.ledger_entries).where(
            t.ledger_entries.c.shop_id == self.shop_id, t.ledger_entries.c.id == entry_id))

    def entry_by_key(self, key: str) -> Row | None:
        return self._one(select(t.ledger_entries).where(
            t.ledger_entries.c.shop_id == self.shop_id,
            t.ledger_entries.c.idempotency_key == key))

    def entries(self, member_id: int, *, before_id: int | None = None, limit: int = 50) -> list[Row]:
        stmt = select(t.ledger_entries).where(
            t.ledger_entries.c.shop_id == self.shop_id, t.ledger_entries.c.member_id == member_id)
        if before_id is not None:
            stmt = stmt.where(t.ledger_entries.c.id < before_id)
        return list(self.conn.execute(stmt.order_by(t.ledger_entries.c.id.desc()).limit(limit)))

    def history(self, member_id: int) -> list[Row]:
        """Every entry of a member, oldest first (exports)."""
        e = t.ledger_entries.c
        return list(self.conn.execute(select(t.ledger_entries).where(
            e.shop_id == self.shop_id, e.member_id == member_id).order_by(e.id)))

    def entries_by_ref(self, external_ref: str) -> list[Row]:
        return list(self.conn.execute(select(t.ledger_entries).where(
            t.ledger_entries.c.shop_id == self.shop_id,
            t.ledger_entries.c.external_ref == external_ref).order_by(t.ledger_entries.c.id)))

    def count_earned(self, member_id: int, external_ref: str, *, since: datetime | None = None) -> int:
        """How many earnings the member has under `external_ref` (created at or after `since`)."""
        e = t.ledger_entries.c
        stmt = select(func.count()).where(e.shop_id == self.shop_id, e.member_id == member_id,
                                          e.external_ref == external_ref, e.kind == Kind.EARN.value)
        if since is not None:
            stmt = stmt.where(e.created_at >= since)
        return self.conn.execute(stmt).scalar_one()

    def reversed_so_far(self, entry_id: int) -> Decimal:
        value = self.conn.execute(select(func.coalesce(func.sum(t.ledger_entries.c.amount), 0)).where(
            t.ledger_entries.c.shop_id == self.shop_id,
            t.ledger_entries.c.reverses_entry_id == entry_id)).scalar_one()
        return Decimal(str(value))

    # -- lots ------------------------------------------------------------------------------
    def _lot(self, asset: Asset, row: Row) -> Lot:
        return Lot(row.id, to_num(asset, row.amount), to_num(asset, row.remaining), row.pending,
                   row.available_at, row.expires_at)

    def active_lots(self, member_id: int, asset: Asset) -> list[Lot]:
        """Lots with spendable value, oldest first (first in, first out): by the date their value
        was earned (an imported lot keeps its age), then in posting order."""
        rows = self.conn.execute(select(t.lots).where(
            t.lots.c.shop_id == self.shop_id, t.lots.c.member_id == member_id,
            t.lots.c.asset == asset.value, open_lot(t.lots.c),
        ).order_by(t.lots.c.created_at, t.lots.c.id))
        return [self._lot(asset, r) for r in rows]

    def lots_with_value(self, member_id: int) -> list[Row]:
        """Every spendable lot of a member, whatever its asset (id, shop_id, member_id, asset)."""
        lots = t.lots.c
        return self.conn.execute(select(lots.id, lots.shop_id, lots.member_id, lots.asset).where(
            lots.shop_id == self.shop_id, lots.member_id == member_id, open_lot(lots))).all()

    def lots_expiring(self, after: datetime, until: datetime) -> list[Row]:
        """Per member and asset, the spendable lots expiring in (after, until]: (member_id, asset,
        first: the earliest expiry, amount: what they hold)."""
        lots = t.lots.c
        return self.conn.execute(select(lots.member_id, lots.asset, func.min(lots.expires_at).label("first"),
                                        func.sum(lots.remaining).label("amount"))
                                 .where(lots.shop_id == self.shop_id, open_lot(lots),
                                        lots.expires_at > after, lots.expires_at <= until)
                                 .group_by(lots.member_id, lots.asset)).all()

    def lots_by_id(self, asset: Asset, ids: list[int]) -> dict[int, Lot]:
        if not ids:
            return {}
        rows = self.conn.execute(select(t.lots).where(
            t.lots.c.shop_id == self.shop_id, t.lots.c.id.in_(ids)))
        return {r.id: self._lot(asset, r) for r in rows}

    def lot_of_entry(self, entry_id: int) -> Row | None:
        return self._one(select(t.lots).where(t.lots.c.shop_id == self.shop_id,
                                              t.lots.c.entry_id == entry_id).order_by(t.lots.c.id))

    def drawn_lot_ids(self, entry_id: int) -> list[int]:
        rows = self.conn.execute(select(t.lot_draws.c.lot_id).where(
            t.lot_draws.c.shop_id == self.shop_id, t.lot_draws.c.entry_id == entry_id,
            t.lot_draws.c.amount > 0).order_by(t.lot_draws.c.id))
        return [r.lot_id for r in rows]

    # -- writes ----------------------------------------------------------------------------
    def insert_entry(self, *, member_id: int, asset: Asset, effect: Effect, now: datetime,
                     **fields: Any) -> int:
        cols = bucket_columns(asset)
        deltas = dict(zip(cols, (effect.available, effect.pending, effect.held, effect.lifetime)))
        # One statement object, its values given at execution: compiled once per set of columns.
        return self.conn.execute(_INSERT_ENTRY, dict(
            shop_id=self.shop_id, member_id=member_id, asset=asset.value, created_at=now,
            **deltas, **fields)).scalar_one()

    def apply(self, *, member_id: int, asset: Asset, entry_id: int, effect: Effect,
              now: datetime) -> Row:
        """Persist the lot side of an effect, then move the cached balance by its deltas;
        returns the new balance row."""
        for lot in effect.touched():
            self.conn.execute(update(t.lots).where(
                t.lots.c.shop_id == self.shop_id, t.lots.c.id == lot.id,
            ).values(remaining=lot.remaining, pending=lot.pending))
        new = effect.new_lot
        if new is not None:
            new.id = self.conn.execute(_INSERT_LOT, dict(
                shop_id=self.shop_id, member_id=member_id, asset=asset.value, entry_id=entry_id,
                amount=new.amount, remaining=new.remaining, pending=new.pending,
                available_at=new.available_at, expires_at=new.expires_at, created_at=new.earned_at or now,
            )).scalar_one()
        moves = [(lot, amount) for lot, amount in effect.draws]
        moves += [(lot, -amount) for lot, amount in effect.restores]
        if moves:
            self.conn.execute(insert(t.lot_draws), [
                dict(shop_id=self.shop_id, entry_id=entry_id, lot_id=lot.id, amount=amount)
                for lot, amount in moves])
        cols = bucket_columns(asset)
        moved = tuple(col for col, delta in zip(cols, (effect.available, effect.pending, effect.held,
                                                       effect.lifetime)) if delta)
        stmt = _MOVE_BALANCE.get(moved)
        if stmt is None:
            stmt = _MOVE_BALANCE[moved] = _move_balance_statement(moved)
        params = {f"move_{col}": delta for col, delta in
                  zip(cols, (effect.available, effect.pending, effect.held, effect.lifetime)) if delta}
        return self.conn.execute(stmt, {**params, "move_shop_id": self.shop_id, "move_member_id": member_id,
                                        "move_now": now}).one()

    # -- holds -----------------------------------------------------------------------------
    def hold(self, hold_id: int, *, lock: bool = False) -> Row | None:
        stmt = select(t.holds).where(t.holds.c.shop_id == self.shop_id, t.holds.c.id == hold_id)
        return self._one(stmt.with_for_update() if lock else stmt)

    def create_hold(self, *, member_id: int, asset: Asset, entry_id: int, amount, expires_at,
                    now: datetime) -> int:
        return self.conn.execute(insert(t.holds).values(
            shop_id=self.shop_id, member_id=member_id, asset=asset.value, reserve_entry_id=entry_id,
            amount=amount, state="open", expires_at=expires_at, created_at=now,
        ).returning(t.holds.c.id)).scalar_one()

    def close_hold(self, hold_id: int, state: str, committed, now: datetime) -> None:
        self.conn.execute(update(t.holds).where(
            t.holds.c.shop_id == self.shop_id, t.holds.c.id == hold_id,
        ).values(state=state, committed=committed, closed_at=now))

    def hold_of_reserve(self, entry_id: int) -> Row | None:
        return self._one(select(t.holds).where(t.holds.c.shop_id == self.shop_id,
                                               t.holds.c.reserve_entry_id == entry_id))


class OutboxRepo(ShopScoped):
    """The shop's outbox (`events`): written through `UnitOfWork.collect`, read here."""

    def for_member(self, member_id: int, limit: int = 50) -> list[dict]:
        e = t.events.c
        rows = self.conn.execute(select(t.events).where(e.shop_id == self.shop_id, e.member_id == member_id)
                                 .order_by(e.id.desc()).limit(limit))
        return [{"id": r.id, "type": r.type, "payload": r.payload, "created_at": r.created_at.isoformat()}
                for r in rows]

    def mark_relayed_many(self, event_ids: list[int], now: datetime) -> None:
        """The events were fanned out into deliveries (the relay takes them no more)."""
        self.conn.execute(update(t.events).where(t.events.c.shop_id == self.shop_id, t.events.c.id.in_(event_ids))
                          .values(relayed_at=now))


class DueWork:
    """Cross-tenant, on purpose: the periodic jobs' scans of every shop for work that is due
    (ids and the shop each belongs to, nothing more). Each item is then done in its own shop's
    unit of work, through the shop-scoped repositories."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def stalled_imports(self, before: datetime, limit: int = 100) -> list[Row]:
        """Imports whose running phase has not moved since `before` (its worker died):
        (shop_id, id, state), to be queued again."""
        i = t.imports.c
        return self.conn.execute(select(i.shop_id, i.id, i.state).where(
            i.state.in_(("analyzing", "applying", "reverting")), i.updated_at < before).limit(limit)).all()

    def lots_to_vest(self, now: datetime, limit: int) -> list[Row]:
        lots = t.lots.c
        return self.conn.execute(select(lots.id, lots.shop_id, lots.member_id, lots.asset).where(
            lots.pending.is_(True), lots.available_at <= now).order_by(lots.available_at).limit(limit)).all()

    def lots_to_expire(self, now: datetime, limit: int) -> list[Row]:
        lots = t.lots.c
        return self.conn.execute(select(lots.id, lots.shop_id, lots.member_id, lots.asset).where(
            open_lot(lots), lots.expires_at <= now,
        ).order_by(lots.expires_at).limit(limit)).all()

    def stale_holds(self, now: datetime, limit: int) -> list[Row]:
        holds = t.holds.c
        return self.conn.execute(select(holds.id, holds.shop_id).where(
            holds.state == "open", holds.expires_at <= now).limit(limit)).all()
