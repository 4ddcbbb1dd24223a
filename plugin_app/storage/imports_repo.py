"""Imports of one shop: the uploaded file in chunks, its rows staged by member, the plan and the
report, and the set-based writes that bring many new members in at once."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Row

from ..domain.ledger import Asset
from . import tables as t
from .bulk import copy_rows, custom_plans, next_ids, update_json_by_id, where_among
from .repos import ShopScoped, earned_at

i, r, c = t.imports.c, t.import_rows.c, t.import_chunks.c


class ImportsRepo(ShopScoped):
    # -- the import ------------------------------------------------------------------------
    def create(self, **values: Any) -> int:
        return self.conn.execute(insert(t.imports).values(shop_id=self.shop_id, **values)
                                 .returning(i.id)).scalar_one()

    def get(self, import_id: int, *, lock: bool = False) -> Row | None:
        stmt = select(t.imports).where(i.shop_id == self.shop_id, i.id == import_id)
        return self._one(stmt.with_for_update() if lock else stmt)

    def recent(self, limit: int = 20) -> list[Row]:
        return self.conn.execute(select(t.imports).where(i.shop_id == self.shop_id)
                                 .order_by(i.id.desc()).limit(limit)).all()

    def update(self, import_id: int, **values: Any) -> None:
        self.conn.execute(update(t.imports).where(i.shop_id == self.shop_id, i.id == import_id).values(**values))

    def advance(self, import_id: int, by: int, now: datetime) -> None:
        self.conn.execute(update(t.imports).where(i.shop_id == self.shop_id, i.id == import_id)
                          .values(done=i.done + by, updated_at=now))

    def same_file(self, sha: str, before_id: int) -> list[Row]:
        """Earlier imports of the same file (id, state), oldest first."""
        return self.conn.execute(select(i.id, i.state, i.applied_at).where(
            i.shop_id == self.shop_id, i.file_sha256 == sha, i.id < before_id).order_by(i.id)).all()

    # -- the file --------------------------------------------------------------------------
    def add_chunk(self, import_id: int, seq: int, data: bytes) -> None:
        self.conn.execute(insert(t.import_chunks).values(import_id=import_id, seq=seq, shop_id=self.shop_id, data=data))

    def chunk(self, import_id: int, seq: int) -> bytes | None:
        return self.conn.execute(select(c.data).where(c.shop_id == self.shop_id, c.import_id == import_id,
                                                      c.seq == seq)).scalar()

    # -- staged rows -----------------------------------------------------------------------
    def clear_rows(self, import_id: int) -> None:
        self.conn.execute(delete(t.import_rows).where(r.shop_id == self.shop_id, r.import_id == import_id))

    def stage(self, import_id: int, rows: list[dict]) -> None:
        copy_rows(self.conn, t.import_rows, [dict(import_id=import_id, shop_id=self.shop_id, **row) for row in rows])

    def groups_after(self, import_id: int, after: str | None, limit: int) -> list[Row]:
        """Staged rows from the group after `after` on, in (group, line) order, at most `limit`
        (plus the rest of the last group, so no group is cut)."""
        stmt = select(t.import_rows).where(r.shop_id == self.shop_id, r.import_id == import_id)
        if after is not None:
            stmt = stmt.where(r.group_key > after)
        rows = self.conn.execute(stmt.order_by(r.group_key, r.line).limit(limit)).all()
        if len(rows) == limit:
            last = rows[-1].group_key
            rows = [row for row in rows if row.group_key != last]
            rows += self.conn.execute(select(t.import_rows).where(
                r.shop_id == self.shop_id, r.import_id == import_id, r.group_key == last)
                .order_by(r.line)).all()
        return rows

    def mark(self, outcomes: list[tuple[int, str]]) -> None:
        """Say why rows (by staged id) were left out."""
        for row_id, outcome in outcomes:
            self.conn.execute(update(t.import_rows).where(r.shop_id == self.shop_id, r.id == row_id)
                              .values(outcome=outcome[:40]))

    def set_prior(self, row_id: int, prior: dict) -> None:
        self.conn.execute(update(t.import_rows).where(r.shop_id == self.shop_id, r.id == row_id).values(prior=prior))

    def set_priors(self, priors: list[tuple[int, dict]]) -> None:
        """(Staged row id, prior) of this shop's import rows (ids the caller read in this shop)."""
        update_json_by_id(self.conn, t.import_rows, "prior", priors)

    def bulk_mode(self) -> None:
        custom_plans(self.conn)

    def with_prior(self, import_id: int, after_id: int, limit: int) -> list[Row]:
        return self.conn.execute(select(r.id, r.member_id, r.prior).where(
            r.shop_id == self.shop_id, r.import_id == import_id, r.prior.is_not(None), r.id > after_id)
            .order_by(r.id).limit(limit)).all()

    def left_out(self, import_id: int, limit: int = 200) -> list[Row]:
        return self.conn.execute(select(r.line, r.data, r.outcome).where(
            r.shop_id == self.shop_id, r.import_id == import_id, r.outcome.is_not(None))
            .order_by(r.line).limit(limit)).all()

    def contested_codes(self, import_id: int) -> dict[str, str]:
        """Codes the file gives to more than one member: code -> the first group that has it."""
        rows = self.conn.execute(select(r.code, func.min(r.group_key)).where(
            r.shop_id == self.shop_id, r.import_id == import_id, r.code.is_not(None))
            .group_by(r.code).having(func.count(func.distinct(r.group_key)) > 1)).all()
        return {row[0]: row[1] for row in rows}

    # -- who the rows are for --------------------------------------------------------------
    def members_by_customer(self, ids: list[str]) -> dict[str, int]:
        if not ids:
            return {}
        m = t.members.c
        return {row.platform_customer_id: row.id for row in self.conn.execute(
            select(m.id, m.platform_customer_id).where(m.shop_id == self.shop_id,
                                                       where_among(self.conn, m.platform_customer_id, ids)))}

    def members_by_email(self, emails: list[str]) -> dict[str, int]:
        """Lower-cased e-mail -> member (the oldest member when two share one)."""
        if not emails:
            return {}
        m = t.members.c
        found: dict[str, int] = {}
        for row in self.conn.execute(select(m.id, func.lower(m.email).label("e")).where(
                m.shop_id == self.shop_id, where_among(self.conn, func.lower(m.email), emails)).order_by(m.id)):
            found.setdefault(row.e, row.id)
        return found

    def states(self, member_ids: list[int], since: datetime | None) -> dict[int, Row]:
        """For each member: tier, its dates, birthday, code, available points and credit, and the
        points earned since `since` (all time when None)."""
        if not member_ids:
            return {}
        m, b, e, rc = t.members.c, t.balances.c, t.ledger_entries.c, t.referral_codes.c
        window = select(func.coalesce(func.sum(e.points_lifetime), 0)).where(
            e.shop_id == self.shop_id, e.member_id == m.id, e.asset == Asset.POINTS.value)
        if since is not None:
            window = window.where(earned_at() >= since)
        stmt = (select(m.id, m.tier, m.tier_since, m.tier_grace_until, m.birthday, m.email, m.name, m.locale,
                       b.points, b.credit, rc.code, window.scalar_subquery().label("window"))
                .join(t.balances, b.member_id == m.id)
                .outerjoin(t.referral_codes, and_(rc.member_id == m.id, rc.shop_id == m.shop_id))
                .where(m.shop_id == self.shop_id, where_among(self.conn, m.id, member_ids)))
        return {row.id: row for row in self.conn.execute(stmt)}

    def keys_with_prefix(self, prefix: str, member_ids: list[int]) -> dict[int, set[str]]:
        """Idempotency keys starting with `prefix` of these members' entries, per member."""
        e = t.ledger_entries.c
        found: dict[int, set[str]] = {}
        for start in range(0, len(member_ids), 1000):
            for row in self.conn.execute(select(e.member_id, e.idempotency_key).where(
                    e.shop_id == self.shop_id, where_among(self.conn, e.member_id, member_ids[start:start + 1000]),
                    e.idempotency_key.startswith(prefix + ":", autoescape=True))):
                found.setdefault(row.member_id, set()).add(row.idempotency_key)
        return found

    def code_holders(self, codes: list[str]) -> dict[str, int]:
        if not codes:
            return {}
        rc = t.referral_codes.c
        return {row.code: row.member_id for row in self.conn.execute(
            select(rc.code, rc.member_id).where(rc.shop_id == self.shop_id, where_among(self.conn, rc.code, codes)))}

    def set_code(self, member_id: int, code: str | None, now: datetime) -> None:
        """Give the member this referral code (replacing theirs), or take theirs away (None)."""
        rc = t.referral_codes.c
        self.conn.execute(delete(t.referral_codes).where(rc.shop_id == self.shop_id, rc.member_id == member_id))
        if code:
            self.conn.execute(insert(t.referral_codes).values(member_id=member_id, shop_id=self.shop_id,
                                                              code=code, created_at=now))

    # -- many new members at once ----------------------------------------------------------
    def _new(self, table, rows: list[dict], key: str) -> dict[str, int]:
        """Insert rows none of which exists yet; their ids by `key`."""
        ids = next_ids(self.conn, table, len(rows))
        if ids is not None:
            copy_rows(self.conn, table, [dict(id=i_, shop_id=self.shop_id, **row) for i_, row in zip(ids, rows)])
            return {row[key]: i_ for i_, row in zip(ids, rows)}
        self.conn.execute(insert(table), [dict(shop_id=self.shop_id, **row) for row in rows])
        col = table.c[key]
        return {row[1]: row[0] for row in self.conn.execute(select(table.c.id, col).where(
            table.c.shop_id == self.shop_id, col.in_([row[key] for row in rows])))}

    def new_members(self, rows: list[dict]) -> dict[str, int]:
        """Insert members (none of them exists yet); their ids by platform customer id."""
        return self._new(t.members, rows, "platform_customer_id")

    def new_entries(self, rows: list[dict]) -> dict[str, int]:
        """Insert ledger entries; their ids by idempotency key."""
        return self._new(t.ledger_entries, rows, "idempotency_key")

    def new_balances(self, rows: list[dict]) -> None:
        copy_rows(self.conn, t.balances, [dict(shop_id=self.shop_id, **row) for row in rows])

    def new_lots(self, rows: list[dict]) -> None:
        ids = next_ids(self.conn, t.lots, len(rows))
        rows = [dict(shop_id=self.shop_id, **row) for row in rows]
        if ids is not None:
            rows = [dict(id=i_, **row) for i_, row in zip(ids, rows)]
        copy_rows(self.conn, t.lots, rows)

    def new_codes(self, rows: list[dict]) -> None:
        copy_rows(self.conn, t.referral_codes, [dict(shop_id=self.shop_id, **row) for row in rows])

    # -- undoing ---------------------------------------------------------------------------
    def entries_of(self, ref: str, after_id: int, limit: int) -> list[Row]:
        """The import's own postings (external_ref `ref`), in posting order."""
        e = t.ledger_entries.c
        return self.conn.execute(select(e.id, e.member_id, e.kind, e.asset).where(
            e.shop_id == self.shop_id, e.external_ref == ref, e.id > after_id, e.kind != "reverse")
            .order_by(e.id).limit(limit)).all()


