"""birthday changes: who gave or changed a member's birthday, and when

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('birthday_changes',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('old', sa.Date(), nullable=True),
    sa.Column('new', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=True),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('shopper', 'merchant', 'platform', 'import')", name=op.f('ck_birthday_changes_source')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_birthday_changes_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_birthday_changes_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_birthday_changes'))
    )
    op.create_index('ix_birthday_changes_member', 'birthday_changes', ['shop_id', 'member_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_birthday_changes_member', table_name='birthday_changes')
    op.drop_table('birthday_changes')
