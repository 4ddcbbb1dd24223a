"""catalog products: each product's collections, categories, tags and type, cached

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalog_products',
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('collections', sa.JSON(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('product_type', sa.String(length=255), nullable=True),
    sa.Column('source_updated_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('fetched_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('stale', sa.Boolean(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_catalog_products_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'product_id', name=op.f('pk_catalog_products'))
    )


def downgrade() -> None:
    op.drop_table('catalog_products')
