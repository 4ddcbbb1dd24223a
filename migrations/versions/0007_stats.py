"""analytics rollups

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 16:55:02.495290
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stats_progress',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('last_id', sa.BigInteger(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_stats_progress'))
    )
    op.create_table('stats_daily',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('points_issued', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_redeemed', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_expired', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_reversed', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('credit_issued', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('credit_spent', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('credit_expired', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('entries', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_stats_daily_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'day', name=op.f('pk_stats_daily'))
    )


def downgrade() -> None:
    op.drop_table('stats_daily')
    op.drop_table('stats_progress')
