"""privacy request log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 15:41:37.113800
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_domain', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=True),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_requests'))
    )
    op.create_index('ix_privacy_requests_shop', 'privacy_requests', ['shop_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_privacy_requests_shop', table_name='privacy_requests')
    op.drop_table('privacy_requests')
