"""Simulations (issue 21): an edited copy keeps the saved version it was edited from
(`based_on`, null for a saved version run as it is, or for runs made before this)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-01 13:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('simulations', sa.Column('based_on', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('simulations', 'based_on')
