"""one-time admin links: the ones already used

Revision ID: 0017
Revises: 0015
Create Date: 2026-11-30 16:30:00
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admin_link_uses',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('used_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_admin_link_uses_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_admin_link_uses'))
    )
    op.create_index('ix_admin_link_uses_expires', 'admin_link_uses', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_admin_link_uses_expires', table_name='admin_link_uses')
    op.drop_table('admin_link_uses')
