"""The mirror of ledger entries to Shopify's native store credit, and the last comparison of
each member's credit with the Shopify account (services.store_credit). Shop-scoped."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.engine import Row

from . import tables as t
from .repos import ShopScoped, insert_ignore


class StoreCreditRepo(ShopScoped):
    # -- the mirror ----------------------------------------------------------------------
    def add(self, *, member_id: int, entry_id: int, direction: str, amount: Decimal, currency: str,
            expires_at: datetime | None, lot_id: int | None, now: datetime, state: str = "pending",
            error: str | None = None) -> bool:
        """One row per ledger entry: a second add for the same entry changes nothing (False)."""
        return insert_ignore(self.conn, t.store_credit_mirror, dict(
            shop_id=self.shop_id, member_id=member_id, entry_id=entry_id, direction=direction, amount=amount,
            currency=currency, expires_at=expires_at, lot_id=lot_id, state=state, attempts=0,
            next_attempt_at=now, last_error=error, created_at=now), ["shop_id", "entry_id"])

    def get(self, row_id: int, *, lock: bool = False) -> Row | None:
        c = t.store_credit_mirror.c
        stmt = select(t.store_credit_mirror).where(c.shop_id == self.shop_id, c.id == row_id)
        if lock and self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return self.conn.execute(stmt).first()

    def credit_of_lot(self, lot_id: int) -> Row | None:
        """The credit row that put a lot's value on the Shopify account (earn or vest)."""
        c = t.store_credit_mirror.c
        return self.conn.execute(select(t.store_credit_mirror).where(
            c.shop_id == self.shop_id, c.lot_id == lot_id, c.direction == "credit").order_by(c.id).limit(1)).first()

    def members_with_unsettled(self, now: datetime, *, include_failed: bool, limit: int) -> list[int]:
        """Members with a row to send now: pending and due, sending with a lease that ran out
        (an outcome never recorded), and with `include_failed` (the repair), refused ones and
        pending ones still in their backoff."""
        c = t.store_credit_mirror.c
        due = [and_(c.state == "pending", c.next_attempt_at <= now),
               and_(c.state == "sending", c.locked_until <= now)]
        if include_failed:  # the repair: refused rows, and pending ones without waiting out their backoff
            due += [c.state == "failed", c.state == "pending"]
        return self.conn.execute(select(c.member_id).where(c.shop_id == self.shop_id, or_(*due))
                                 .group_by(c.member_id).order_by(func.min(c.id)).limit(limit)).scalars().all()

    def unsettled_of(self, member_id: int) -> list[Row]:
        """A member's rows not done yet, oldest first (they are sent in the ledger's order)."""
        c = t.store_credit_mirror.c
        return self.conn.execute(select(t.store_credit_mirror).where(
            c.shop_id == self.shop_id, c.member_id == member_id, c.state.in_(("pending", "sending", "failed")))
            .order_by(c.id)).all()

    def claim(self, row_id: int, now: datetime, lease: timedelta) -> Row | None:
        """Take a row for one call (sending, leased); None if another worker has it or it is settled."""
        row = self.get(row_id, lock=True)
        if row is None or row.state in ("done", "skipped"):
            return None
        if row.state == "sending" and row.locked_until is not None and row.locked_until > now:
            return None
        self.conn.execute(update(t.store_credit_mirror).where(t.store_credit_mirror.c.id == row_id).values(
            state="sending", locked_until=now + lease, attempts=row.attempts + 1, last_attempt_at=now))
        return row

    def settle(self, row_id: int, *, state: str, now: datetime, txn_id: str | None = None,
               error: str | None = None, retry_at: datetime | None = None) -> None:
        values: dict = dict(state=state, locked_until=None, last_error=error)
        if state in ("done", "skipped"):
            values.update(done_at=now, shopify_txn_id=txn_id)
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        self.conn.execute(update(t.store_credit_mirror).where(
            t.store_credit_mirror.c.shop_id == self.shop_id, t.store_credit_mirror.c.id == row_id).values(**values))

    def claimed_txn_ids(self, member_id: int) -> set[str]:
        c = t.store_credit_mirror.c
        return set(self.conn.execute(select(c.shopify_txn_id).where(
            c.shop_id == self.shop_id, c.member_id == member_id, c.shopify_txn_id.is_not(None))).scalars())

    def mirrored_members(self, limit: int) -> list[Row]:
        """Members with mirroring (any row), least recently checked first: (member_id,
        platform_customer_id, credit, currency)."""
        c, k, m, b = t.store_credit_mirror.c, t.store_credit_checks.c, t.members.c, t.balances.c
        ids = select(c.member_id).where(c.shop_id == self.shop_id).distinct().subquery()
        return self.conn.execute(
            select(m.id.label("member_id"), m.platform_customer_id, b.credit, b.currency)
            .join(ids, ids.c.member_id == m.id).join(t.balances, b.member_id == m.id)
            .outerjoin(t.store_credit_checks, and_(k.shop_id == self.shop_id, k.member_id == m.id))
            .where(m.shop_id == self.shop_id)
            .order_by(k.checked_at.is_not(None), k.checked_at, m.id).limit(limit)).all()

    def counts(self) -> dict[str, int]:
        c = t.store_credit_mirror.c
        rows = self.conn.execute(select(c.state, func.count()).where(c.shop_id == self.shop_id).group_by(c.state)).all()
        return {state: int(n) for state, n in rows}

    def failed(self, limit: int = 50) -> list[Row]:
        c = t.store_credit_mirror.c
        return self.conn.execute(select(t.store_credit_mirror).where(
            c.shop_id == self.shop_id, c.state == "failed").order_by(c.id.desc()).limit(limit)).all()

    # -- comparisons ---------------------------------------------------------------------
    def record_check(self, member_id: int, *, ours: Decimal, theirs: Decimal | None, currency: str,
                     unsettled: int, error: str | None, now: datetime) -> None:
        k = t.store_credit_checks.c
        self.conn.execute(delete(t.store_credit_checks).where(k.shop_id == self.shop_id, k.member_id == member_id))
        self.conn.execute(t.store_credit_checks.insert().values(
            shop_id=self.shop_id, member_id=member_id, ours=ours, theirs=theirs, currency=currency,
            difference=(theirs - ours) if theirs is not None else Decimal(0), unsettled=unsettled,
            error=error, checked_at=now))

    def differences(self, limit: int = 100) -> list[Row]:
        """The members whose last check found the two sides apart (or could not read Shopify's)."""
        k, m = t.store_credit_checks.c, t.members.c
        return self.conn.execute(
            select(t.store_credit_checks, m.platform_customer_id, m.email)
            .join(t.members, m.id == k.member_id)
            .where(k.shop_id == self.shop_id, or_(k.difference != 0, k.error.is_not(None)))
            .order_by(k.checked_at.desc()).limit(limit)).all()

    def last_check(self) -> datetime | None:
        k = t.store_credit_checks.c
        return self.conn.execute(select(func.max(k.checked_at)).where(k.shop_id == self.shop_id)).scalar()
