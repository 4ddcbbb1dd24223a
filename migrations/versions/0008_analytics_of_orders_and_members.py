"""analytics of orders and members

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 17:26:53.454442
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stats_active',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_stats_active_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'day', 'member_id', name=op.f('pk_stats_active'))
    )
    op.create_table('stats_orders',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('segment', sa.String(length=8), nullable=False),
    sa.Column('orders', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('revenue', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('returning_orders', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('new_customers', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('redemption_orders', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('redemption_revenue', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.CheckConstraint("segment IN ('member', 'guest')", name=op.f('ck_stats_orders_segment')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_stats_orders_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'day', 'segment', name=op.f('pk_stats_orders'))
    )
    op.add_column('members', sa.Column('name', sa.String(length=120), nullable=True))
    op.create_index('ix_members_shop_created', 'members', ['shop_id', 'created_at'], unique=False)
    op.add_column('orders', sa.Column('total', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), nullable=True))
    op.add_column('orders', sa.Column('customer_key', sa.String(length=64), nullable=True))
    op.add_column('orders', sa.Column('redeemed', sa.Boolean(), server_default='0', nullable=False))
    op.add_column('orders', sa.Column('returning_customer', sa.Boolean(), server_default='0', nullable=False))
    op.add_column('orders', sa.Column('counted', sa.Boolean(), server_default='0', nullable=False))
    op.create_index('ix_orders_customer', 'orders', ['shop_id', 'customer_key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_orders_customer', table_name='orders')
    op.drop_column('orders', 'counted')
    op.drop_column('orders', 'returning_customer')
    op.drop_column('orders', 'redeemed')
    op.drop_column('orders', 'customer_key')
    op.drop_column('orders', 'total')
    op.drop_index('ix_members_shop_created', table_name='members')
    op.drop_column('members', 'name')
    op.drop_table('stats_orders')
    op.drop_table('stats_active')
