"""What telling people reads and writes: the deliveries (`notifications`: one email or one signed
webhook each, fanned out from the outbox), the merchant's webhook endpoints, and what a
shopper's unsubscribe link changes. Shop-scoped like every repository (`repos.ShopScoped`): every
statement carries the shop's id. The delivery job's lease over every shop is in `jobs_repo`."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Row

from . import tables as t
from .repos import ShopScoped, insert_ignore

n = t.notifications.c
w = t.webhook_endpoints.c


class WebhookEndpointsRepo(ShopScoped):
    """The shop's webhook endpoints. Removing one deactivates it: its deliveries keep their
    target, and a delivery still queued for it fails ("endpoint removed or disabled")."""

    def by_id(self, endpoint_id: int) -> Row | None:
        return self._one(select(t.webhook_endpoints).where(w.shop_id == self.shop_id, w.id == endpoint_id))

    def ids(self) -> list[int]:
        """Every endpoint's id, active or not, oldest first."""
        return self.conn.execute(select(w.id).where(w.shop_id == self.shop_id).order_by(w.id)).scalars().all()

    def active(self) -> list[Row]:
        return self.conn.execute(select(t.webhook_endpoints).where(
            w.shop_id == self.shop_id, w.active.is_(True))).all()

    def active_topics(self) -> list[list[str]]:
        """The topic lists of the active endpoints (one list per endpoint)."""
        return self.conn.execute(select(w.topics).where(w.shop_id == self.shop_id, w.active.is_(True))).scalars().all()

    def add(self, *, url: str, secret: str, topics: list[str], now: datetime) -> int:
        """A new active endpoint (`secret` already encrypted); returns its id."""
        return self.conn.execute(t.webhook_endpoints.insert().values(
            shop_id=self.shop_id, url=url, secret=secret, topics=topics, active=True, created_at=now,
        ).returning(w.id)).scalar_one()

    def deactivate(self, endpoint_id: int) -> bool:
        """False when the shop has no such endpoint."""
        return bool(self.conn.execute(update(t.webhook_endpoints).where(
            w.shop_id == self.shop_id, w.id == endpoint_id).values(active=False)).rowcount)


class NotificationsRepo(ShopScoped):
    """The shop's deliveries, each keyed once per (cause, target): a fan-out that runs twice
    queues nothing new."""

    def shop(self) -> Row | None:
        """The shop's own row (its name, domain and currency go into the emails)."""
        return self._one(select(t.shops).where(t.shops.c.id == self.shop_id))

    def queue(self, *, ref: str, target: str, topic: str, member_id: int | None, recipient: str,
              payload: dict, state: str, now: datetime) -> bool:
        """Queue a delivery due now; False when (ref, target) was already queued."""
        return insert_ignore(self.conn, t.notifications, dict(
            shop_id=self.shop_id, ref=ref, target=target, topic=topic, member_id=member_id, recipient=recipient,
            payload=payload, state=state, next_attempt_at=now, created_at=now), ["shop_id", "ref", "target"])

    # -- the outcome of a leased delivery (state `sending`; anything else is left alone) --------
    def _settle(self, notification_id: int, **values) -> None:
        self.conn.execute(update(t.notifications).where(
            n.shop_id == self.shop_id, n.id == notification_id, n.state == "sending").values(**values))

    def mark_sent(self, notification_id: int, now: datetime) -> None:
        self._settle(notification_id, state="sent", sent_at=now, locked_until=None, last_error=None)

    def mark_failed(self, notification_id: int, error: str) -> None:
        """Given up: no more tries."""
        self._settle(notification_id, state="failed", locked_until=None, last_error=error)

    def retry_at(self, notification_id: int, error: str, when: datetime) -> None:
        self._settle(notification_id, state="pending", locked_until=None, last_error=error, next_attempt_at=when)

    # -- the merchant's delivery log ------------------------------------------------------------
    def log(self, target: str | None, limit: int) -> list[Row]:
        """Newest first; `target` "email" or "webhook" keeps only that channel."""
        stmt = select(t.notifications).where(n.shop_id == self.shop_id)
        if target == "email":
            stmt = stmt.where(n.target == "email")
        elif target == "webhook":
            stmt = stmt.where(n.target != "email")
        return self.conn.execute(stmt.order_by(n.id.desc()).limit(limit)).all()

    def replay(self, notification_id: int, now: datetime) -> bool:
        """A failed or sent delivery goes out again from its first try; False when there is no
        such delivery in a state to replay."""
        return bool(self.conn.execute(update(t.notifications).where(
            n.shop_id == self.shop_id, n.id == notification_id, n.state.in_(("failed", "sent")),
        ).values(state="pending", attempts=0, next_attempt_at=now, locked_until=None)).rowcount)

    # -- unsubscribing ----------------------------------------------------------------------------
    def email_opt_out(self, member_id: int) -> bool | None:
        """Whether the member opted out of emails; None when the shop has no such member."""
        m = t.members.c
        row = self._one(select(m.email_opt_out).where(m.shop_id == self.shop_id, m.id == member_id))
        return None if row is None else bool(row.email_opt_out)

    def unsubscribe(self, member_id: int) -> None:
        """Opt the member out of emails, and skip every email still queued for them."""
        m = t.members.c
        self.conn.execute(update(t.members).where(m.shop_id == self.shop_id, m.id == member_id)
                          .values(email_opt_out=True))
        self.conn.execute(update(t.notifications).where(
            n.shop_id == self.shop_id, n.member_id == member_id, n.target == "email", n.state == "pending",
        ).values(state="skipped", last_error="unsubscribed"))
