"""Cart redemptions (a reward or store credit turned into a one-use platform code) and the codes
each order carried. Shop-scoped like every repository (`repos.ShopScoped`), except the one scan
named as cross-tenant, for the periodic lapse job."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Row

from . import tables as t
from .repos import ShopScoped, insert_ignore, insert_returning

r = t.redemptions.c


class RedemptionsRepo(ShopScoped):
    # -- one redemption ----------------------------------------------------------------------
    def start(self, *, member_id: int, key: str, request_hash: str, reward_id: str | None, asset: str,
              amount: Decimal, expires_at: datetime, now: datetime) -> int | None:
        """A new redemption, `reserving`, under its idempotency key; None when the key is taken."""
        return insert_returning(self.conn, t.redemptions, dict(
            shop_id=self.shop_id, member_id=member_id, idempotency_key=key, request_hash=request_hash,
            reward_id=reward_id, asset=asset, amount=amount, status="reserving", expires_at=expires_at,
            created_at=now, updated_at=now), ["shop_id", "idempotency_key"])

    def by_id(self, redemption_id: int, *, lock: bool = False) -> Row | None:
        stmt = select(t.redemptions).where(r.shop_id == self.shop_id, r.id == redemption_id)
        return self._one(stmt.with_for_update() if lock else stmt)

    def by_key(self, idempotency_key: str) -> Row | None:
        return self._one(select(t.redemptions).where(r.shop_id == self.shop_id,
                                                     r.idempotency_key == idempotency_key))

    def by_code(self, code_key: str, *, lock: bool = False) -> Row | None:
        """By the lower-cased code (`services.cart.code_key`)."""
        stmt = select(t.redemptions).where(r.shop_id == self.shop_id, r.code_key == code_key)
        return self._one(stmt.with_for_update() if lock else stmt)

    def update(self, redemption_id: int, **values: Any) -> None:
        """Set exactly these columns (the caller says whether `updated_at` moves)."""
        self.conn.execute(update(t.redemptions).where(r.shop_id == self.shop_id, r.id == redemption_id)
                          .values(**values))

    # -- lists for the merchant --------------------------------------------------------------
    def failed(self, limit: int) -> list[Row]:
        """Refused by the platform, newest first (id, member_id, reward_id, amount, asset,
        answer, created_at)."""
        return self.conn.execute(select(r.id, r.member_id, r.reward_id, r.amount, r.asset, r.answer, r.created_at)
                                 .where(r.shop_id == self.shop_id, r.status == "failed")
                                 .order_by(r.id.desc()).limit(limit)).all()

    def flagged_or_decided(self, limit: int) -> list[Row]:
        """Flagged, or decided by the merchant, newest first; each row with its owner's
        `owner` (platform customer id) and `owner_email`."""
        m = t.members.c
        return self.conn.execute(
            select(t.redemptions, m.platform_customer_id.label("owner"), m.email.label("owner_email"))
            .join(t.members, m.id == r.member_id)
            .where(r.shop_id == self.shop_id, (r.status == "flagged") | r.decision.is_not(None))
            .order_by(r.id.desc()).limit(limit)).all()

    # -- the codes orders carried ------------------------------------------------------------
    def remember_order_codes(self, order_id: str, code_keys: Iterable[str], now: datetime) -> None:
        """Record that the order carried these (lower-cased) codes; once per code and order."""
        for key in code_keys:
            insert_ignore(self.conn, t.order_codes, dict(shop_id=self.shop_id, code_key=key, order_id=order_id,
                                                         seen_at=now), ["shop_id", "code_key", "order_id"])

    # -- cross-tenant ------------------------------------------------------------------------
    @staticmethod
    def due_to_lapse_in_every_shop(conn: Connection, issued_before: datetime) -> list[Row]:
        """CROSS-TENANT, for the periodic lapse job only: the issued redemptions of every shop
        whose code expired before `issued_before` (whole rows: each carries its `shop_id`, and
        is then handled in its own shop's unit of work)."""
        return conn.execute(select(t.redemptions).where(r.status == "issued", r.expires_at < issued_before)).all()
