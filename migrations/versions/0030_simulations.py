"""The program simulator (issue 21): saved runs and, per run, the members whose result differs

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-01 11:00:00

"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Time = plugin_app.storage.types.UTCDateTime(timezone=True)
Exact = plugin_app.storage.types.ExactDecimal(precision=18, scale=4)


def upgrade() -> None:
    op.create_table('simulations',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('program', sa.JSON(), nullable=False),
    sa.Column('draft_version', sa.Integer(), nullable=True),
    sa.Column('starts_at', Time, nullable=False),
    sa.Column('ends_at', Time, nullable=False),
    sa.Column('orders_total', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('orders_done', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', Time, nullable=False),
    sa.Column('updated_at', Time, nullable=False),
    sa.Column('finished_at', Time, nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_simulations_state')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_simulations_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_simulations'))
    )
    op.create_index('ix_simulations_shop', 'simulations', ['shop_id', 'id'], unique=False)
    op.create_table('simulation_members',
    sa.Column('simulation_id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('live_points', sa.BigInteger(), nullable=False),
    sa.Column('draft_points', sa.BigInteger(), nullable=False),
    sa.Column('live_credit', Exact, nullable=False),
    sa.Column('draft_credit', Exact, nullable=False),
    sa.Column('live_tier', sa.String(length=60), nullable=True),
    sa.Column('draft_tier', sa.String(length=60), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_simulation_members_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['simulation_id'], ['simulations.id'], name=op.f('fk_simulation_members_simulation_id_simulations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('simulation_id', 'member_id', name=op.f('pk_simulation_members'))
    )


def downgrade() -> None:
    op.drop_table('simulation_members')
    op.drop_index('ix_simulations_shop', table_name='simulations')
    op.drop_table('simulations')
