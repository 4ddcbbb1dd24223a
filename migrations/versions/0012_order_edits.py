"""orders: when the lines an order earned on were last changed by the platform (order edits)

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30 15:30:00
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('orders', sa.Column('lines_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('orders', 'lines_at')
