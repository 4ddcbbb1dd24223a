"""Switching in: imports (the file, its staged rows, the dry run and the report), the date a
posting's value was originally earned (imported history keeps its age), longer referral codes
(codes brought from another app), and e-mail lookups in any case

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 04:10:00
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('imports',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('format', sa.String(length=40), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('generation', sa.Integer(), server_default='0', nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('done', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=True),
    sa.Column('cursor', sa.String(length=400), nullable=True),
    sa.Column('plan', sa.JSON(), nullable=True),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=255), nullable=True),
    sa.Column('created_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('applied_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reverted_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('uploaded', 'analyzing', 'analyzed', 'applying', 'applied', 'reverting', 'reverted', 'failed')", name=op.f('ck_imports_state')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_imports_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports'))
    )
    op.create_index('ix_imports_shop_file', 'imports', ['shop_id', 'file_sha256'])
    op.create_table('import_chunks',
    sa.Column('import_id', Id, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_import_chunks_import_id_imports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_import_chunks_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('import_id', 'seq', name=op.f('pk_import_chunks'))
    )
    op.create_table('import_rows',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('import_id', Id, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('line', sa.BigInteger(), nullable=False),
    sa.Column('group_key', sa.String(length=400), nullable=False),
    sa.Column('member_id', Id, nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('prior', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_import_rows_import_id_imports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_import_rows_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_rows'))
    )
    op.create_index('ix_import_rows_group', 'import_rows', ['import_id', 'group_key', 'line'])
    op.add_column('ledger_entries', sa.Column('occurred_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=True))
    op.create_index('ix_members_shop_email_lower', 'members', ['shop_id', sa.text('lower(email)')])
    op.add_column('stats_daily', sa.Column('points_imported', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('stats_daily', sa.Column('credit_imported', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), server_default='0', nullable=False))
    if op.get_bind().dialect.name != 'sqlite':  # SQLite does not enforce a VARCHAR's length
        op.alter_column('referral_codes', 'code', type_=sa.String(length=40), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('referral_codes', 'code', type_=sa.String(length=16), existing_nullable=False)
    op.drop_column('stats_daily', 'credit_imported')
    op.drop_column('stats_daily', 'points_imported')
    op.drop_index('ix_members_shop_email_lower', table_name='members')
    op.drop_column('ledger_entries', 'occurred_at')
    op.drop_index('ix_import_rows_group', table_name='import_rows')
    op.drop_table('import_rows')
    op.drop_table('import_chunks')
    op.drop_index('ix_imports_shop_file', table_name='imports')
    op.drop_table('imports')
