"""cart redemptions, widget keys, storefront origins

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 16:03:40.646281
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('reward_id', sa.String(length=40), nullable=True),
    sa.Column('asset', sa.String(length=10), nullable=False),
    sa.Column('amount', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('hold_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('platform_discount_id', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.Column('order_id', sa.String(length=64), nullable=True),
    sa.Column('expires_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_redemptions_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_redemptions_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('shop_id', 'code', name='uq_redemptions_shop_code'),
    sa.UniqueConstraint('shop_id', 'idempotency_key', name='uq_redemptions_shop_key')
    )
    op.create_index('ix_redemptions_due', 'redemptions', ['status', 'expires_at'], unique=False)
    with op.batch_alter_table('shops') as batch:  # batch: SQLite cannot add a constraint by ALTER
        batch.add_column(sa.Column('widget_key', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('origins', sa.JSON(), nullable=True))
        batch.create_unique_constraint(op.f('uq_shops_widget_key'), ['widget_key'])


def downgrade() -> None:
    with op.batch_alter_table('shops') as batch:
        batch.drop_constraint(op.f('uq_shops_widget_key'), type_='unique')
        batch.drop_column('origins')
        batch.drop_column('widget_key')
    op.drop_index('ix_redemptions_due', table_name='redemptions')
    op.drop_table('redemptions')
