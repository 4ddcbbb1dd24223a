"""Shopify Flow trigger usage: per shop and trigger, whether the shop has an enabled workflow
that starts with it, as Flow's trigger lifecycle callback last said

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-01 00:10:00
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0021'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flow_trigger_usage',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('trigger', sa.String(length=60), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('reported_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_flow_trigger_usage_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'trigger', name=op.f('pk_flow_trigger_usage'))
    )


def downgrade() -> None:
    op.drop_table('flow_trigger_usage')
