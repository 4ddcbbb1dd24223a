"""indexes for the admin's list of members: each sort and filter within a shop

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_members_shop_activity", "members", ["shop_id", "LAST_ACTIVITY_DESC", sa.text("id DESC")]),  # most recent first
    ("ix_members_shop_name", "members", ["shop_id", "name", "id"]),
    ("ix_members_shop_tier", "members", ["shop_id", "tier"]),
    ("ix_balances_shop_points", "balances", ["shop_id", "points", "member_id"]),
    ("ix_balances_shop_lifetime", "balances", ["shop_id", "points_lifetime", "member_id"]),
)


def upgrade() -> None:
    # SQLite puts NULLs last in a descending order already, and allows no NULLS LAST in an index
    postgres = op.get_bind().dialect.name == "postgresql"
    recent_first = sa.text("last_activity_at DESC NULLS LAST" if postgres else "last_activity_at DESC")
    for name, table, columns in INDEXES:
        op.create_index(name, table, [recent_first if c == "LAST_ACTIVITY_DESC" else c for c in columns])


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
