"""reconciliation watermark

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 15:56:05.966896
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('platform_sync',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('watermark', sa.String(length=40), nullable=True),
    sa.Column('checked_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_platform_sync_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_platform_sync'))
    )


def downgrade() -> None:
    op.drop_table('platform_sync')
