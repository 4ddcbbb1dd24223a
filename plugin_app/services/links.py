"""One-time links (`loyalty admin-link`): a signed token is good for one sign-in. Each use is
recorded by the token's digest until the token would have expired anyway; the primary key
makes the first use win, so two concurrent uses cannot both sign in."""
from __future__ import annotations

import hashlib
from datetime import datetime

from ..domain.ports import Clock, SystemClock
from ..storage.db import Database


class OneTimeLinks:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db, self.clock = db, clock or SystemClock()

    def use(self, token: str, shop_id: int, expires_at: datetime) -> bool:
        """True for the first use of `token`, False for every later one."""
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            uow.link_uses.forget_expired_in_every_shop(now)
            return uow.link_uses.record_first_use(hashlib.sha256(token.encode()).hexdigest(), now,
                                                  max(expires_at, now))
