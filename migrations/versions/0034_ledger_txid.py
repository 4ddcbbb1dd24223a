"""The analytics fold by transaction (issue 21): each ledger entry keeps the transaction that
posted it (`txid`, PostgreSQL's xid8, its server default pg_current_xact_id()), and the fold's
progress its last snapshot (`stats_progress.snapshot`, a pg_snapshot as text). The fold takes the
entries whose transactions committed between two of its snapshots, so an entry whose id was
drawn before another's but committed after it is no longer passed over.

No rewrite of the ledger: the column is added nullable with no default (entries posted before
stay NULL, folded by id as before), then given its default for the rows posted from now on.
SQLite (one writer at a time: ids commit in order) gets the column with no default, always NULL.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-01 13:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE ledger_entries ADD COLUMN txid xid8')
        op.execute('ALTER TABLE ledger_entries ALTER COLUMN txid SET DEFAULT pg_current_xact_id()')
        op.create_index('ix_ledger_entries_txid', 'ledger_entries', ['txid'], unique=False)
    else:
        op.add_column('ledger_entries', sa.Column('txid', sa.BigInteger(), nullable=True))
    op.add_column('stats_progress', sa.Column('snapshot', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('stats_progress', 'snapshot')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_ledger_entries_txid', table_name='ledger_entries')
    op.drop_column('ledger_entries', 'txid')
