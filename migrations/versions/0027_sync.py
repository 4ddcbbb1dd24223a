"""A member's segments revision: bumped whenever their segment memberships (or a segment's name)
change, so the customer-fields sync writes their platform tags and meta again

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01 09:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('members', sa.Column('segments_rev', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite has it since 3.35): a batch rebuild of `members` on SQLite would
    # lose the expression index ix_members_shop_email_lower, which reflection cannot copy.
    op.drop_column('members', 'segments_rev')
