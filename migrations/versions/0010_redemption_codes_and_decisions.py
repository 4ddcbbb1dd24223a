"""case-insensitive redemption codes, merchant decisions on flagged redemptions, codes orders carried

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('redemptions') as batch:
        batch.add_column(sa.Column('code_key', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('used_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('decision', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('decided_by', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('decided_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('decision_reason', sa.String(length=500), nullable=True))
    op.execute("UPDATE redemptions SET code_key = lower(code) WHERE code IS NOT NULL")
    op.create_index('ix_redemptions_code_key', 'redemptions', ['shop_id', 'code_key'], unique=True)
    op.create_table('order_codes',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code_key', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('seen_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_order_codes_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'code_key', 'order_id', name=op.f('pk_order_codes'))
    )


def downgrade() -> None:
    op.drop_table('order_codes')
    op.drop_index('ix_redemptions_code_key', table_name='redemptions')
    with op.batch_alter_table('redemptions') as batch:
        for column in ('decision_reason', 'decided_at', 'decided_by', 'decision', 'used_by', 'code_key'):
            batch.drop_column(column)
