"""One-time links (`loyalty admin-link`): a signed token is good for one sign-in. Each use is
recorded by the token's digest until the token would have expired anyway; the primary key
makes the first use win, so two concurrent uses cannot both sign in."""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete

from ..domain.ports import Clock, SystemClock
from ..storage import tables as t
from ..storage.db import Database
from ..storage.repos import insert_ignore


class OneTimeLinks:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db, self.clock = db, clock or SystemClock()

    def use(self, token: str, shop_id: int, expires_at: datetime) -> bool:
        """True for the first use of `token`, False for every later one."""
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            conn = uow.conn
            conn.execute(delete(t.admin_link_uses).where(t.admin_link_uses.c.expires_at < now))
            return insert_ignore(conn, t.admin_link_uses, {
                "token_hash": hashlib.sha256(token.encode()).hexdigest(), "shop_id": shop_id,
                "used_at": now, "expires_at": max(expires_at, now)}, ["token_hash"])
