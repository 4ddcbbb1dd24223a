"""Segments (issue 20): member profiles kept per order event, merchant segments and their
materialised membership

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01 05:30:00
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Time = plugin_app.storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('member_profiles',
    sa.Column('member_id', Id, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('orders_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lifetime_value', plugin_app.storage.types.ExactDecimal(), server_default='0', nullable=False),
    sa.Column('first_order_at', Time, nullable=True),
    sa.Column('prev_order_at', Time, nullable=True),
    sa.Column('last_order_at', Time, nullable=True),
    sa.Column('last_gap_days', sa.Integer(), nullable=True),
    sa.Column('average_days_between', plugin_app.storage.types.ExactDecimal(), nullable=True),
    sa.Column('lifecycle', sa.String(length=10), nullable=True),
    sa.Column('lifecycle_since', Time, nullable=True),
    sa.Column('updated_at', Time, nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_profiles_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_member_profiles_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_profiles'))
    )
    op.create_index('ix_member_profiles_shop', 'member_profiles', ['shop_id', 'member_id'], unique=False)
    op.create_table('segments',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('members_count', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('computed_at', Time, nullable=True),
    sa.Column('created_at', Time, nullable=False),
    sa.Column('updated_at', Time, nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_segments_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments'))
    )
    op.create_index('ix_segments_shop', 'segments', ['shop_id', 'id'], unique=False)
    op.create_table('segment_members',
    sa.Column('segment_id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('since', Time, nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_segment_members_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_segment_members_segment_id_segments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('segment_id', 'member_id', name=op.f('pk_segment_members'))
    )
    op.create_index('ix_segment_members_member', 'segment_members', ['shop_id', 'member_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_segment_members_member', table_name='segment_members')
    op.drop_table('segment_members')
    op.drop_index('ix_segments_shop', table_name='segments')
    op.drop_table('segments')
    op.drop_index('ix_member_profiles_shop', table_name='member_profiles')
    op.drop_table('member_profiles')
