"""ledger explanations as a reason code with parameters; each member's language

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 23:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ledger_entries') as batch:
        batch.add_column(sa.Column('reason_code', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('reason_params', sa.JSON(), nullable=True))
    with op.batch_alter_table('members') as batch:
        batch.add_column(sa.Column('locale', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('members') as batch:
        batch.drop_column('locale')
    with op.batch_alter_table('ledger_entries') as batch:
        batch.drop_column('reason_params')
        batch.drop_column('reason_code')
