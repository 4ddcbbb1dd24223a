"""program versions, orders, events, member tiers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 15:32:12.736646
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('programs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('author', sa.String(length=255), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('restored_from', sa.Integer(), nullable=True),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_programs_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programs')),
    sa.UniqueConstraint('shop_id', 'version', name='uq_programs_shop_version')
    )
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('type', sa.String(length=60), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_events_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_events_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('shop_id', 'dedupe_key', name='uq_events_shop_key')
    )
    op.create_index('ix_events_member', 'events', ['shop_id', 'member_id', 'id'], unique=False)
    op.create_table('orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform_order_id', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('placed_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('earned', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('cancelled', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('base', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('points', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('credit', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('program_version', sa.Integer(), nullable=True),
    sa.Column('shares', sa.JSON(), nullable=True),
    sa.Column('refunds', sa.JSON(), nullable=False),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_orders_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_orders_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('shop_id', 'platform_order_id', name='uq_orders_shop_order')
    )
    op.create_index('ix_orders_member', 'orders', ['shop_id', 'member_id', 'placed_at'], unique=False)
    op.create_index('ix_ledger_entries_ref', 'ledger_entries', ['shop_id', 'external_ref'], unique=False)
    op.add_column('ledger_entries', sa.Column('program_version', sa.Integer(), nullable=True))
    op.add_column('ledger_entries', sa.Column('details', sa.JSON(), nullable=True))
    op.add_column('members', sa.Column('tier', sa.String(length=40), nullable=True))
    op.add_column('members', sa.Column('tier_since', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column('members', sa.Column('tier_grace_until', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column('members', sa.Column('last_activity_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('members', 'last_activity_at')
    op.drop_column('members', 'tier_grace_until')
    op.drop_column('members', 'tier_since')
    op.drop_column('members', 'tier')
    op.drop_column('ledger_entries', 'details')
    op.drop_index('ix_ledger_entries_ref', table_name='ledger_entries')
    op.drop_column('ledger_entries', 'program_version')
    op.drop_index('ix_orders_member', table_name='orders')
    op.drop_table('orders')
    op.drop_index('ix_events_member', table_name='events')
    op.drop_table('events')
    op.drop_table('programs')
