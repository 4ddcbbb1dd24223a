"""Analytics in the shop's time zone (issue 21): the rollups are counted again in shop days
(they were UTC days), and indexes for the dashboard's period figures (orders and codes of a
period, points about to expire).

The ledger rollups (stats_daily, stats_active) are emptied and their watermark set back to 0:
the next run of the rollup job folds every entry again, each on its shop's day. The order
rollup (stats_orders) is rebuilt here from the counted orders, each on its shop's day.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-01 11:00:00
"""
import json
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

OPEN_LOTS = sa.text("remaining > 0 AND NOT pending")


def _zones(conn) -> dict:
    """Each shop's time zone: its current program's, else the shop's own."""
    zones = dict(conn.execute(sa.text("SELECT id, timezone FROM shops")).all())
    for shop_id, document in conn.execute(sa.text("SELECT shop_id, document FROM programs ORDER BY shop_id, version")):
        doc = json.loads(document) if isinstance(document, str) else (document or {})
        if doc.get("timezone"):
            zones[shop_id] = doc["timezone"]
    return zones


def _rebuild(conn) -> None:
    zones = _zones(conn)
    conn.execute(sa.text("DELETE FROM stats_daily"))
    conn.execute(sa.text("DELETE FROM stats_active"))
    conn.execute(sa.text("UPDATE stats_progress SET last_id = 0 WHERE name = 'ledger'"))
    days = defaultdict(lambda: [0, Decimal(0), 0, 0, 0, Decimal(0)])
    rows = conn.execute(sa.text(
        "SELECT shop_id, placed_at, created_at, total, customer_key, redeemed, returning_customer "
        "FROM orders WHERE counted"))
    for shop_id, placed, created, total, key, redeemed, returning in rows:
        when = placed or created
        if isinstance(when, str):  # SQLite hands back text
            from datetime import datetime, timezone
            when = datetime.fromisoformat(when)
            when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        try:
            zone = ZoneInfo(zones.get(shop_id) or "UTC")
        except Exception:  # noqa: BLE001
            zone = ZoneInfo("UTC")
        day = when.astimezone(zone).date()
        x = days[(shop_id, day, "member" if (key or "").startswith("c:") else "guest")]
        money = Decimal(str(total or 0))
        x[0] += 1
        x[1] += money
        x[2] += bool(returning)
        x[3] += not returning
        x[4] += bool(redeemed)
        x[5] += money if redeemed else 0
    conn.execute(sa.text("DELETE FROM stats_orders"))
    insert = sa.text("INSERT INTO stats_orders (shop_id, day, segment, orders, revenue, returning_orders, new_customers, "
                     "redemption_orders, redemption_revenue) VALUES (:s, :d, :g, :o, :r, :ro, :n, :rd, :rr)")
    for (shop_id, day, segment), x in days.items():
        conn.execute(insert, {"s": shop_id, "d": day, "g": segment, "o": x[0], "r": str(x[1]), "ro": x[2], "n": x[3],
                              "rd": x[4], "rr": str(x[5])})


def upgrade() -> None:
    op.create_index('ix_orders_shop_placed', 'orders', ['shop_id', 'placed_at'], unique=False)
    op.create_index('ix_redemptions_shop_created', 'redemptions', ['shop_id', 'created_at'], unique=False)
    op.create_index('ix_lots_open_expiry', 'lots', ['shop_id', 'asset', 'expires_at'], unique=False,
                    postgresql_where=OPEN_LOTS, sqlite_where=OPEN_LOTS)
    _rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_lots_open_expiry', table_name='lots')
    op.drop_index('ix_redemptions_shop_created', table_name='redemptions')
    op.drop_index('ix_orders_shop_placed', table_name='orders')
    # the rollups stay in shop days: a UTC rebuild would need the old code; the job refolds the ledger
