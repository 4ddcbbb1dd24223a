"""The durable inbox's statements (`inbox`). CROSS-TENANT by nature, so NOT shop-scoped (not
in `uow._REPOS`): the inbox is one queue for every shop, and a worker claims, finishes and
sweeps messages by id whatever their shop. A statement for one shop's rows (storing a delivery
for shop X, listing or replaying shop X's failures) takes that shop's id explicitly.

Built on a connection: `InboxRepo(conn)` inside `db.transaction()` where the service must
commit on its own (accept, claim, finish), or `uow.inbox` in any unit of work, with or without
a shop. It runs no transaction of its own and decides nothing: the life of a message (leases,
backoff, giving up) is the service's (`services.inbox`)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import and_, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from . import tables as t
from .repos import insert_returning

c = t.inbox.c
_STORE_MANY_PG = (
    "INSERT INTO inbox (shop_id, source, topic, external_id, payload, headers, state, received_at) "
    "SELECT u.shop_id, u.source, u.topic, u.external_id, u.payload, u.headers::json, 'received', %(now)s "
    "FROM unnest(%(shop)b::bigint[], %(source)b::text[], %(topic)b::text[], %(external)b::text[], "
    "%(payload)b::bytea[], %(headers)b::text[]) AS u(shop_id, source, topic, external_id, payload, headers) "
    "ON CONFLICT (shop_id, source, external_id) DO NOTHING RETURNING id, shop_id, source, external_id")
DeliveryKey = tuple[int, str, str]  # (shop_id, source, external_id): a delivery's identity
Item = tuple[int, str, str, str, bytes, dict]  # (shop_id, source, topic, external_id, payload, headers)


class InboxRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- intake --------------------------------------------------------------------------------
    def store(self, shop_id: int, source: str, topic: str, external_id: str, payload: bytes,
              headers: dict, now: datetime) -> tuple[int, bool]:
        """Store a delivery for one shop, once: (inbox id, whether it is new). One INSERT … ON
        CONFLICT DO NOTHING RETURNING; only a duplicate costs a second statement (its id)."""
        inbox_id = insert_returning(self.conn, t.inbox, dict(
            shop_id=shop_id, source=source, topic=topic, external_id=external_id,
            payload=payload, headers=headers, state="received", received_at=now,
        ), ["shop_id", "source", "external_id"])
        if inbox_id is not None:
            return inbox_id, True
        return self.conn.execute(select(c.id).where(
            c.shop_id == shop_id, c.source == source, c.external_id == external_id)).scalar_one(), False

    def store_many(self, items: list[Item], now: datetime) -> dict[DeliveryKey, int]:
        """Store many deliveries (of any shops) with one INSERT … ON CONFLICT DO NOTHING: the ids
        of those inserted, by delivery key (a key repeated in `items` is inserted once)."""
        if self.conn.dialect.name == "postgresql":
            # One statement text whatever the batch's size (arrays, not N rows of VALUES): psycopg
            # prepares it once per connection, and nothing is compiled per batch. The arrays go in
            # PostgreSQL's binary format (%b): bodies are copied, not escaped into text.
            cols = list(zip(*items))
            result = self.conn.exec_driver_sql(_STORE_MANY_PG, dict(
                shop=list(cols[0]), source=list(cols[1]), topic=list(cols[2]), external=list(cols[3]),
                payload=list(cols[4]), headers=[json.dumps(h) for h in cols[5]], now=now))
            return {(shop_id, source, external_id): inbox_id for inbox_id, shop_id, source, external_id in result}
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        rows = [dict(shop_id=s, source=src, topic=tp, external_id=x, payload=p, headers=h,
                     state="received", received_at=now) for s, src, tp, x, p, h in items]
        stmt = dialect.insert(t.inbox).values(rows).on_conflict_do_nothing(
            index_elements=["shop_id", "source", "external_id"]).returning(c.id, c.shop_id, c.source, c.external_id)
        return {(r.shop_id, r.source, r.external_id): r.id for r in self.conn.execute(stmt)}

    def ids_of(self, keys: Iterable[DeliveryKey]) -> dict[DeliveryKey, int]:
        """The ids of deliveries already stored (one SELECT), by delivery key."""
        return {(r.shop_id, r.source, r.external_id): r.id for r in self.conn.execute(
            select(c.id, c.shop_id, c.source, c.external_id).where(
                tuple_(c.shop_id, c.source, c.external_id).in_(list(keys))))}

    # -- the workers' side ---------------------------------------------------------------------
    def due_in_slot(self, slot: int, slots: int, now: datetime, limit: int) -> list[int]:
        """Ids of received messages not waiting for a retry, of one slot (id mod slots), in
        id order."""
        return self.conn.execute(select(c.id).where(
            c.state == "received", or_(c.locked_until.is_(None), c.locked_until <= now),
            (c.id % slots) == slot).order_by(c.id).limit(limit)).scalars().all()

    def claim(self, inbox_id: int, token: str, now: datetime, locked_until: datetime) -> Row | None:
        """Take the message if it is free (received and due, or processing with a lease that ran
        out): one conditional UPDATE, so two workers never both win. It becomes `processing`
        under `token` until `locked_until`, its attempts counted; the whole row, or None."""
        return self.conn.execute(update(t.inbox).where(
            c.id == inbox_id,
            or_(and_(c.state == "received", or_(c.locked_until.is_(None), c.locked_until <= now)),
                and_(c.state == "processing", c.locked_until <= now)),
        ).values(state="processing", claim_token=token, locked_until=locked_until,
                 attempts=c.attempts + 1).returning(t.inbox)).first()

    def give_up(self, inbox_id: int, now: datetime, outcome: str) -> None:
        """Mark a message failed for good (too many attempts) and release its claim."""
        self.conn.execute(update(t.inbox).where(c.id == inbox_id).values(
            state="failed", claim_token=None, processed_at=now, outcome=outcome))

    def finish(self, inbox_id: int, token: str, **values: Any) -> bool:
        """Record what became of a claimed message and release the claim; False when the claim
        is no longer `token`'s (the lease ran out and another worker took it)."""
        return self.conn.execute(update(t.inbox).where(
            c.id == inbox_id, c.claim_token == token,
        ).values(claim_token=None, **values)).rowcount == 1

    def stuck(self, now: datetime, received_before: datetime, limit: int) -> list[Row]:
        """(id, state) in id order of messages no worker is on: never picked up since
        `received_before`, due for a retry (both `received`), or held under a lease that ran
        out (`processing`)."""
        return self.conn.execute(select(c.id, c.state).where(or_(
            and_(c.state == "received", c.locked_until.is_(None), c.received_at <= received_before),
            and_(c.state == "received", c.locked_until <= now),
            and_(c.state == "processing", c.locked_until <= now),
        )).order_by(c.id).limit(limit)).all()

    def get(self, inbox_id: int) -> Row | None:
        return self.conn.execute(select(t.inbox).where(c.id == inbox_id)).first()

    # -- one shop's failures -------------------------------------------------------------------
    def failed(self, shop_id: int, limit: int) -> list[Row]:
        """One shop's failed deliveries, newest first."""
        return self.conn.execute(select(c.id, c.source, c.topic, c.external_id, c.received_at, c.processed_at,
                                        c.attempts, c.outcome, c.last_error).where(
            c.shop_id == shop_id, c.state == "failed").order_by(c.id.desc()).limit(limit)).all()

    def replay(self, shop_id: int, inbox_id: int) -> bool:
        """Put one shop's failed delivery back to received, attempts reset; False when it is not
        a failed delivery of that shop."""
        return bool(self.conn.execute(update(t.inbox).where(c.id == inbox_id, c.shop_id == shop_id,
                                                            c.state == "failed")
                                      .values(state="received", attempts=0, locked_until=None,
                                              claim_token=None)).rowcount)
