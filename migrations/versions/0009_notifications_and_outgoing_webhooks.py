"""notifications and outgoing webhooks

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 17:40:32.524187
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ref', sa.String(length=100), nullable=False),
    sa.Column('target', sa.String(length=40), nullable=False),
    sa.Column('topic', sa.String(length=60), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recipient', sa.String(length=500), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_notifications_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('shop_id', 'ref', 'target', name='uq_notifications_shop_ref')
    )
    op.create_index('ix_notifications_due', 'notifications', ['state', 'next_attempt_at'], unique=False)
    op.create_index('ix_notifications_shop', 'notifications', ['shop_id', 'id'], unique=False)
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_webhook_endpoints_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    op.create_index('ix_webhook_endpoints_shop', 'webhook_endpoints', ['shop_id'], unique=False)
    op.add_column('members', sa.Column('email_opt_out', sa.Boolean(), server_default='0', nullable=False))
    op.add_column('members', sa.Column('fields_synced', sa.String(length=80), nullable=True))
    op.add_column('stats_daily', sa.Column('referral_credit', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False))
    op.create_index('ix_events_type', 'events', ['shop_id', 'type'], unique=False)
    op.add_column('events', sa.Column('relayed_at', plugin_app.storage.types.UTCDateTime(), nullable=True))
    op.execute("UPDATE events SET relayed_at = created_at")  # events from before notifications: never sent
    op.create_index('ix_events_unrelayed', 'events', ['id'], unique=False,
                    postgresql_where=sa.text('relayed_at IS NULL'), sqlite_where=sa.text('relayed_at IS NULL'))
    op.create_index('ix_stats_active_member', 'stats_active', ['shop_id', 'member_id', 'day'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_stats_active_member', table_name='stats_active')
    op.drop_index('ix_events_unrelayed', table_name='events')
    op.drop_column('events', 'relayed_at')
    op.drop_index('ix_events_type', table_name='events')
    op.drop_column('stats_daily', 'referral_credit')
    op.drop_column('members', 'fields_synced')
    op.drop_column('members', 'email_opt_out')
    op.drop_index('ix_webhook_endpoints_shop', table_name='webhook_endpoints')
    op.drop_table('webhook_endpoints')
    op.drop_index('ix_notifications_shop', table_name='notifications')
    op.drop_index('ix_notifications_due', table_name='notifications')
    op.drop_table('notifications')
