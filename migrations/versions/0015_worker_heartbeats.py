"""worker heartbeats

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 15:30:00
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('workers',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('started_at', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen', plugin_app.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_workers'))
    )


def downgrade() -> None:
    op.drop_table('workers')
