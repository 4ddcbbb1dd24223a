"""One shop's finance figures, each one set-based aggregate over the ledger (no loop over entries
in Python): sums of entries up to an instant (index `ix_ledger_entries_shop_created`), lots and
what was drawn from them (`ix_lots_shop_expires`, `ix_lot_draws_lot`). Shop-scoped like every
repository (`repos.ShopScoped`); read on an autocommit connection (`Database.reading`)."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, literal, literal_column, or_, select

from . import tables as t
from .repos import ShopScoped

ASSETS = ("points", "credit")


ZERO = literal_column("0")  # a number, never a bound text: on SQLite an exact decimal is text


def _dec(value) -> Decimal:
    """A sum as an exact decimal (SQLite sums decimal text as a float: round off its noise)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.0001"))


class FinanceRepo(ShopScoped):
    def _delta(self):
        """An entry's change of what members hold (available + pending + held), either asset."""
        e = t.ledger_entries.c
        return case((e.asset == "points", e.points + e.points_pending + e.points_held),
                    else_=e.credit + e.credit_pending + e.credit_held)

    def buckets_at(self, at: datetime) -> dict[str, dict[str, Decimal]]:
        """Per asset, what members held at `at` (entries posted up to and including it):
        available, pending, held."""
        e = t.ledger_entries.c
        rows = self.conn.execute(select(
            e.asset, func.sum(e.points + e.credit), func.sum(e.points_pending + e.credit_pending),
            func.sum(e.points_held + e.credit_held)).where(
            e.shop_id == self.shop_id, e.created_at <= at).group_by(e.asset)).all()
        out = {a: {"available": Decimal(0), "pending": Decimal(0), "held": Decimal(0)} for a in ASSETS}
        for asset, available, pending, held in rows:
            out[asset] = {"available": _dec(available), "pending": _dec(pending), "held": _dec(held)}
        return out

    def buckets_at_both(self, opening: datetime, closing: datetime) -> tuple[dict, dict]:
        """`buckets_at(opening)` and `buckets_at(closing)` (opening <= closing) in one pass over
        the entries up to `closing`, not two (a period's journal: its opening and closing
        liability)."""
        e = t.ledger_entries.c
        early = e.created_at <= opening

        def sums(*columns):
            both = columns[0] if len(columns) == 1 else columns[0] + columns[1]
            return func.sum(both), func.sum(case((early, both), else_=ZERO))

        rows = self.conn.execute(select(
            e.asset, *sums(e.points, e.credit), *sums(e.points_pending, e.credit_pending),
            *sums(e.points_held, e.credit_held)).where(
            e.shop_id == self.shop_id, e.created_at <= closing).group_by(e.asset)).all()
        zero = {"available": Decimal(0), "pending": Decimal(0), "held": Decimal(0)}
        before, after = {a: dict(zero) for a in ASSETS}, {a: dict(zero) for a in ASSETS}
        for asset, available, available_0, pending, pending_0, held, held_0 in rows:
            after[asset] = {"available": _dec(available), "pending": _dec(pending), "held": _dec(held)}
            before[asset] = {"available": _dec(available_0), "pending": _dec(pending_0), "held": _dec(held_0)}
        return before, after

    def debts_at(self, at: datetime) -> dict[str, Decimal]:
        """Per asset, the sum of members' negative available balances at `at` (a refund took back
        what was already spent): value owed to the shop, not held in any lot."""
        e = t.ledger_entries.c
        per_member = select(e.asset.label("asset"), func.sum(e.points + e.credit).label("available")).where(
            e.shop_id == self.shop_id, e.created_at <= at).group_by(e.member_id, e.asset).subquery()
        rows = self.conn.execute(select(per_member.c.asset, func.sum(per_member.c.available)).where(
            per_member.c.available < ZERO).group_by(per_member.c.asset)).all()
        out = dict.fromkeys(ASSETS, Decimal(0))
        out.update({asset: _dec(v) for asset, v in rows})
        return out

    def lots_at(self, at: datetime, age_edges: tuple[int, ...], expiry_edges: tuple[int, ...]) -> list:
        """What every lot held at `at`, grouped by (asset, pending, age bucket, expiry bucket):
        rows of (asset, pending, age, expiry, amount, lots). A lot's value at `at` is its value
        now plus what entries after `at` drew from it; for a lot vested after `at`, the value it
        vested with plus what was drawn from it between `at` and the vesting (vesting moves no
        draw). Age buckets: index into `age_edges` (days since earned; len = older than all);
        expiry buckets: "never", "due" (passed, not yet lapsed), an index into `expiry_edges`
        (days ahead), or "later"."""
        lots, d, e = t.lots.c, t.lot_draws.c, t.ledger_entries.c
        later = and_(e.shop_id == self.shop_id, e.created_at > at)
        drawn_after = select(d.lot_id.label("lot_id"), func.sum(d.amount).label("amount")).select_from(
            t.lot_draws.join(t.ledger_entries, e.id == d.entry_id)).where(
            d.shop_id == self.shop_id, later).group_by(d.lot_id).subquery()
        vests = select(e.lot_id.label("lot_id"), func.min(e.id).label("entry_id"),
                       func.sum(e.points + e.credit).label("value")).where(
            later, e.kind == "vest").group_by(e.lot_id).subquery()
        before_vest = select(d.lot_id.label("lot_id"), func.sum(d.amount).label("amount")).select_from(
            t.lot_draws.join(t.ledger_entries, e.id == d.entry_id).join(vests, vests.c.lot_id == d.lot_id)).where(
            d.shop_id == self.shop_id, later, e.id < vests.c.entry_id).group_by(d.lot_id).subquery()
        made = t.ledger_entries.alias("made")
        value = case((vests.c.lot_id.is_not(None), vests.c.value + func.coalesce(before_vest.c.amount, 0)),
                     else_=lots.remaining + func.coalesce(drawn_after.c.amount, 0))
        pending = case((or_(vests.c.lot_id.is_not(None), lots.pending), literal(1)), else_=literal(0))
        age = case(*[(lots.created_at > at - timedelta(days=n), literal(i)) for i, n in enumerate(age_edges)],
                   else_=literal(len(age_edges)))
        expiry = case((lots.expires_at.is_(None), literal("never")), (lots.expires_at <= at, literal("due")),
                      *[(lots.expires_at <= at + timedelta(days=n), literal(str(i))) for i, n in enumerate(expiry_edges)],
                      else_=literal("later"))
        per_lot = select(lots.asset.label("asset"), pending.label("pending"), age.label("age"),
                         expiry.label("expiry"), value.label("value")).select_from(
            t.lots.join(made, made.c.id == lots.entry_id)
            .outerjoin(drawn_after, drawn_after.c.lot_id == lots.id)
            .outerjoin(vests, vests.c.lot_id == lots.id)
            .outerjoin(before_vest, before_vest.c.lot_id == lots.id)).where(
            lots.shop_id == self.shop_id, made.c.shop_id == self.shop_id, made.c.created_at <= at).subquery()
        p = per_lot.c
        rows = self.conn.execute(select(p.asset, p.pending, p.age, p.expiry, func.sum(p.value), func.count())
                                 .where(p.value != ZERO).group_by(p.asset, p.pending, p.age, p.expiry)).all()
        return [(asset, pend, age_, exp, _dec(amount), n) for asset, pend, age_, exp, amount, n in rows]

    def closed_lots(self, now: datetime) -> dict[str, tuple[int, Decimal, Decimal, Decimal]]:
        """Per asset, over lots whose expiry date has passed and that hold nothing any more:
        (lots, expired, taken back by reversals, everything drawn net)."""
        lots, d, e = t.lots.c, t.lot_draws.c, t.ledger_entries.c
        rows = self.conn.execute(select(
            lots.asset, func.count(func.distinct(lots.id)),
            func.sum(case((e.kind == "expire", d.amount), else_=0)),
            func.sum(case((and_(e.kind == "reverse", d.amount > 0), d.amount), else_=0)),
            func.sum(d.amount)).select_from(
            t.lots.join(t.lot_draws, d.lot_id == lots.id).join(t.ledger_entries, e.id == d.entry_id)).where(
            lots.shop_id == self.shop_id, d.shop_id == self.shop_id, e.shop_id == self.shop_id,
            lots.expires_at <= now, lots.remaining == 0, lots.pending.is_(False)).group_by(lots.asset)).all()
        return {asset: (n, _dec(expired), _dec(back), _dec(net)) for asset, n, expired, back, net in rows}

    def expiring_value(self, now: datetime) -> dict[str, Decimal]:
        """Per asset, the value now held in lots that carry an expiry date."""
        lots = t.lots.c
        rows = self.conn.execute(select(lots.asset, func.sum(lots.remaining)).where(
            lots.shop_id == self.shop_id, lots.remaining > 0, lots.expires_at.is_not(None)).group_by(lots.asset)).all()
        out = dict.fromkeys(ASSETS, Decimal(0))
        out.update({asset: _dec(v) for asset, v in rows})
        return out

    def expiring_by(self, now: datetime, limits: list[datetime]) -> dict[str, list[Decimal]]:
        """Per asset: [value lapsing at the next expiry run (already due), then the value held
        in lots expiring in (now, limit] for each limit]."""
        lots = t.lots.c
        cols = [func.sum(case((lots.expires_at <= now, lots.remaining), else_=0))]
        cols += [func.sum(case((and_(lots.expires_at > now, lots.expires_at <= lim), lots.remaining), else_=0))
                 for lim in limits]
        rows = self.conn.execute(select(lots.asset, *cols).where(
            lots.shop_id == self.shop_id, lots.remaining > 0, lots.expires_at.is_not(None),
            lots.expires_at <= max(limits)).group_by(lots.asset)).all()
        out = {a: [Decimal(0)] * (len(limits) + 1) for a in ASSETS}
        out.update({r[0]: [_dec(v) for v in r[1:]] for r in rows})
        return out

    def movements(self, since: datetime, until: datetime) -> list:
        """The entries posted in [since, until] grouped by (asset, kind, source, direction):
        rows of (asset, kind, source, direction "+"/"-", change of what members hold, entries)."""
        e = t.ledger_entries.c
        delta = self._delta()
        direction = case((delta > ZERO, literal("+")), (delta < ZERO, literal("-")), else_=literal("0"))
        rows = self.conn.execute(select(e.asset, e.kind, e.source, direction, func.sum(delta), func.count()).where(
            e.shop_id == self.shop_id, e.created_at >= since, e.created_at <= until)
            .group_by(e.asset, e.kind, e.source, direction)).all()
        return [(asset, kind, source, d, _dec(moved), n) for asset, kind, source, d, moved, n in rows]
