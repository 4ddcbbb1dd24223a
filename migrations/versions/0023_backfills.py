"""History backfills: one row per backfill of a shop's past orders (its progress, resumable),
and `orders.history_only` for orders recorded from the past without points

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 04:10:00
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0023'
down_revision = '0022'  # the lead's 0022; fixed at merge if the chain differs
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('history_only', sa.Boolean(), server_default='0', nullable=False))
    op.create_table('backfills',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('since', sa.Date(), nullable=True),
    sa.Column('award_points', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('phase', sa.String(length=10), nullable=False),
    sa.Column('cursor', sa.JSON(), nullable=False),
    sa.Column('member_cursor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('orders_seen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('orders_recorded', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('orders_skipped', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('members_created', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('members_reevaluated', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_awarded', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('slices', sa.Integer(), server_default='0', nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('running', 'done', 'failed')", name=op.f('ck_backfills_state')),
    sa.CheckConstraint("phase IN ('orders', 'tiers', 'done')", name=op.f('ck_backfills_phase')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_backfills_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backfills'))
    )
    op.create_index('ix_backfills_shop', 'backfills', ['shop_id', 'id'], unique=False)
    op.create_index('ix_backfills_state', 'backfills', ['state', 'updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_backfills_state', table_name='backfills')
    op.drop_index('ix_backfills_shop', table_name='backfills')
    op.drop_table('backfills')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('history_only')
