"""foundation: shops, members, ledger, lots, holds, inbox

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 15:12:03.158305
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shops',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('domain', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), server_default='', nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False),
    sa.Column('status', sa.String(length=20), server_default='installed', nullable=False),
    sa.Column('credentials', sa.Text(), nullable=True),
    sa.Column('admin_api_key_hash', sa.String(length=64), nullable=False),
    sa.Column('installed_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uninstalled_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("platform IN ('shopify', 'woocommerce', 'demo')", name=op.f('ck_shops_platform')),
    sa.CheckConstraint("status IN ('installed', 'uninstalled')", name=op.f('ck_shops_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shops')),
    sa.UniqueConstraint('admin_api_key_hash', name=op.f('uq_shops_admin_api_key_hash')),
    sa.UniqueConstraint('platform', 'domain', name='uq_shops_platform_domain')
    )
    op.create_table('inbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=12), server_default='received', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('claim_token', sa.String(length=36), nullable=True),
    sa.Column('locked_until', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=500), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('received', 'processing', 'done', 'ignored', 'failed')", name=op.f('ck_inbox_state')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_inbox_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox')),
    sa.UniqueConstraint('shop_id', 'source', 'external_id', name='uq_inbox_delivery')
    )
    op.create_index('ix_inbox_state', 'inbox', ['state', 'received_at'], unique=False)
    op.create_table('members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform_customer_id', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_members_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('shop_id', 'platform_customer_id', name='uq_members_shop_customer')
    )
    op.create_index('ix_members_shop_email', 'members', ['shop_id', 'email'], unique=False)
    op.create_table('balances',
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('points', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_pending', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_held', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_lifetime', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('credit', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('credit_pending', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('credit_held', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('credit_lifetime', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('version', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('credit_pending >= 0 AND credit_held >= 0', name=op.f('ck_balances_credit_buckets')),
    sa.CheckConstraint('points_pending >= 0 AND points_held >= 0', name=op.f('ck_balances_points_buckets')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_balances_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_balances_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_balances'))
    )
    op.create_index('ix_balances_shop', 'balances', ['shop_id'], unique=False)
    op.create_table('ledger_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('asset', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('reverses_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('hold_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor', sa.String(length=255), nullable=True),
    sa.Column('external_ref', sa.String(length=255), nullable=True),
    sa.Column('amount', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('points', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_pending', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_held', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('points_lifetime', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('credit', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('credit_pending', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('credit_held', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('credit_lifetime', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("asset IN ('points', 'credit')", name=op.f('ck_ledger_entries_asset')),
    sa.CheckConstraint("kind IN ('earn','vest','redeem','reserve','commit','release','reverse','adjust','expire')", name=op.f('ck_ledger_entries_kind')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_ledger_entries_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reverses_entry_id'], ['ledger_entries.id'], name=op.f('fk_ledger_entries_reverses_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_ledger_entries_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('shop_id', 'idempotency_key', name='uq_ledger_entries_shop_key')
    )
    op.create_index('ix_ledger_entries_member', 'ledger_entries', ['shop_id', 'member_id', 'id'], unique=False)
    op.create_index('ix_ledger_entries_reverses', 'ledger_entries', ['reverses_entry_id'], unique=False)
    op.create_table('holds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('asset', sa.String(length=10), nullable=False),
    sa.Column('reserve_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('committed', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('expires_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('open', 'committed', 'released')", name=op.f('ck_holds_state')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_holds_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reserve_entry_id'], ['ledger_entries.id'], name=op.f('fk_holds_reserve_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_holds_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holds'))
    )
    op.create_index('ix_holds_expiry', 'holds', ['state', 'expires_at'], unique=False)
    op.create_index('ix_holds_member', 'holds', ['shop_id', 'member_id', 'state'], unique=False)
    op.create_table('lots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('asset', sa.String(length=10), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('remaining', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('pending', sa.Boolean(), nullable=False),
    sa.Column('available_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_lots_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_lots_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_lots_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lots'))
    )
    op.create_index('ix_lots_expiry', 'lots', ['expires_at'], unique=False)
    op.create_index('ix_lots_member', 'lots', ['shop_id', 'member_id', 'asset', 'id'], unique=False)
    op.create_index('ix_lots_vesting', 'lots', ['pending', 'available_at'], unique=False)
    op.create_table('lot_draws',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_lot_draws_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_lot_draws_lot_id_lots')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_lot_draws_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_draws'))
    )
    op.create_index('ix_lot_draws_entry', 'lot_draws', ['entry_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_lot_draws_entry', table_name='lot_draws')
    op.drop_table('lot_draws')
    op.drop_index('ix_lots_vesting', table_name='lots')
    op.drop_index('ix_lots_member', table_name='lots')
    op.drop_index('ix_lots_expiry', table_name='lots')
    op.drop_table('lots')
    op.drop_index('ix_holds_member', table_name='holds')
    op.drop_index('ix_holds_expiry', table_name='holds')
    op.drop_table('holds')
    op.drop_index('ix_ledger_entries_reverses', table_name='ledger_entries')
    op.drop_index('ix_ledger_entries_member', table_name='ledger_entries')
    op.drop_table('ledger_entries')
    op.drop_index('ix_balances_shop', table_name='balances')
    op.drop_table('balances')
    op.drop_index('ix_members_shop_email', table_name='members')
    op.drop_table('members')
    op.drop_index('ix_inbox_state', table_name='inbox')
    op.drop_table('inbox')
    op.drop_table('shops')
