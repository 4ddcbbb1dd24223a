"""Segment jobs (issue 20): a segment of a large shop is computed by a job, not in the request;
`computing_since` is set while its membership is being computed (null: computed)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-01 11:15:00
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

Time = plugin_app.storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.add_column('segments', sa.Column('computing_since', Time, nullable=True))


def downgrade() -> None:
    op.drop_column('segments', 'computing_since')
