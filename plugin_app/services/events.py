"""Domain events worth telling someone about (tier changes, expiry reminders, …), written to
an outbox table in the same transaction as what caused them; the notifications work reads
them. Each has a dedupe key, so re-running whatever emitted it emits nothing new."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..storage import tables as t
from ..storage.repos import insert_ignore


def emit(conn: Connection, shop_id: int, member_id: int | None, type_: str, key: str,
         payload: dict, now: datetime) -> bool:
    return insert_ignore(conn, t.events, dict(shop_id=shop_id, member_id=member_id, type=type_,
                                              dedupe_key=key[:255], payload=payload, created_at=now),
                         ["shop_id", "dedupe_key"])


def for_member(conn: Connection, shop_id: int, member_id: int, limit: int = 50) -> list[dict]:
    rows = conn.execute(select(t.events).where(t.events.c.shop_id == shop_id,
                                               t.events.c.member_id == member_id)
                        .order_by(t.events.c.id.desc()).limit(limit))
    return [{"id": r.id, "type": r.type, "payload": r.payload, "created_at": r.created_at.isoformat()}
            for r in rows]
