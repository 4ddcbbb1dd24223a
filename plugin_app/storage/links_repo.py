"""Uses of one-time admin links (`admin_link_uses`), by the token's digest. Shop-scoped like
every repository (`repos.ShopScoped`), except the housekeeping named as cross-tenant."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from . import tables as t
from .repos import ShopScoped, insert_ignore


class LinkUsesRepo(ShopScoped):
    def record_first_use(self, token_hash: str, now: datetime, keep_until: datetime) -> bool:
        """Record a use of the token; True when it is the first (the digest is the primary key,
        so of two concurrent uses one wins). Kept until `keep_until`."""
        return insert_ignore(self.conn, t.admin_link_uses, {
            "token_hash": token_hash, "shop_id": self.shop_id, "used_at": now, "expires_at": keep_until},
            ["token_hash"])

    def forget_expired_in_every_shop(self, now: datetime) -> None:
        """CROSS-TENANT housekeeping: delete every shop's uses whose token has expired (an
        expired token is refused anyway, so its use need not be remembered)."""
        self.conn.execute(delete(t.admin_link_uses).where(t.admin_link_uses.c.expires_at < now))
