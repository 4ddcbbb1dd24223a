"""Finance (issue 21): indexes for liability at a date, the journal of a period, ageing by lot,
breakage and the expiring forecast

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-01 11:00:00
"""
from alembic import op


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_ledger_entries_shop_created', 'ledger_entries', ['shop_id', 'created_at'], unique=False)
    op.create_index('ix_lots_shop_expires', 'lots', ['shop_id', 'asset', 'expires_at'], unique=False)
    op.create_index('ix_lot_draws_lot', 'lot_draws', ['lot_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_lot_draws_lot', table_name='lot_draws')
    op.drop_index('ix_lots_shop_expires', table_name='lots')
    op.drop_index('ix_ledger_entries_shop_created', table_name='ledger_entries')
