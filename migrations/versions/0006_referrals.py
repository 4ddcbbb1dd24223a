"""referrals

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 16:22:37.900506
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('referral_codes',
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_referral_codes_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_referral_codes_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_referral_codes')),
    sa.UniqueConstraint('shop_id', 'code', name='uq_referral_codes_shop_code')
    )
    op.create_table('referral_landings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('referrer_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('visitor_id', sa.String(length=64), nullable=False),
    sa.Column('ip_fp', sa.String(length=32), nullable=True),
    sa.Column('device_fp', sa.String(length=32), nullable=True),
    sa.Column('friend_code', sa.String(length=40), nullable=True),
    sa.Column('landed_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['referrer_member_id'], ['members.id'], name=op.f('fk_referral_landings_referrer_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_referral_landings_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_landings'))
    )
    op.create_index('ix_referral_landings_ip', 'referral_landings', ['shop_id', 'ip_fp', 'landed_at'], unique=False)
    op.create_index('ix_referral_landings_visitor', 'referral_landings', ['shop_id', 'visitor_id'], unique=False)
    op.create_table('referrals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('referrer_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('friend_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('landing_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('friend_code', sa.String(length=40), nullable=True),
    sa.Column('friend_discount_id', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('verdict', sa.JSON(), nullable=True),
    sa.Column('order_id', sa.String(length=64), nullable=True),
    sa.Column('order_base', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('reward_due_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reward', sa.JSON(), nullable=True),
    sa.Column('cashback_orders', sa.Integer(), server_default='0', nullable=False),
    sa.Column('decided_by', sa.String(length=255), nullable=True),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['friend_member_id'], ['members.id'], name=op.f('fk_referrals_friend_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referrer_member_id'], ['members.id'], name=op.f('fk_referrals_referrer_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_referrals_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
    sa.UniqueConstraint('shop_id', 'friend_member_id', name='uq_referrals_shop_friend')
    )
    op.create_index('ix_referrals_due', 'referrals', ['status', 'reward_due_at'], unique=False)
    op.create_index('ix_referrals_referrer', 'referrals', ['shop_id', 'referrer_member_id'], unique=False)
    op.add_column('members', sa.Column('fingerprints', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('members', 'fingerprints')
    op.drop_index('ix_referrals_referrer', table_name='referrals')
    op.drop_index('ix_referrals_due', table_name='referrals')
    op.drop_table('referrals')
    op.drop_index('ix_referral_landings_visitor', table_name='referral_landings')
    op.drop_index('ix_referral_landings_ip', table_name='referral_landings')
    op.drop_table('referral_landings')
    op.drop_table('referral_codes')
