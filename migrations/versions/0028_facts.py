"""Segment facts (issue 20): the products of an order's lines, customer tags and what each
member bought (products, collections or categories)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Time = plugin_app.storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    # plain ALTER TABLE ADD/DROP COLUMN, as 0002 does (SQLite has both; a batch copy of `members`
    # would trip over its expression index)
    op.add_column('orders', sa.Column('products', sa.JSON(), nullable=True))
    op.add_column('members', sa.Column('tags_at', Time, nullable=True))
    op.create_table('member_tags',
    sa.Column('member_id', Id, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('tag_key', sa.String(length=255), nullable=False),
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_tags_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_member_tags_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', 'tag_key', name=op.f('pk_member_tags'))
    )
    op.create_index('ix_member_tags_shop_key', 'member_tags', ['shop_id', 'tag_key'], unique=False)
    op.create_table('member_purchases',
    sa.Column('member_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('ref', sa.String(length=255), nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('first_at', Time, nullable=False),
    sa.Column('last_at', Time, nullable=False),
    sa.Column('groups', sa.String(length=16), nullable=True),
    sa.CheckConstraint("kind IN ('product', 'group')", name=op.f('ck_member_purchases_kind')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_purchases_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_member_purchases_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', 'kind', 'ref', name=op.f('pk_member_purchases'))
    )
    op.create_index('ix_member_purchases_shop_ref', 'member_purchases', ['shop_id', 'kind', 'ref', 'member_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_member_purchases_shop_ref', table_name='member_purchases')
    op.drop_table('member_purchases')
    op.drop_index('ix_member_tags_shop_key', table_name='member_tags')
    op.drop_table('member_tags')
    op.drop_column('members', 'tags_at')
    op.drop_column('orders', 'products')
