"""Leaderboards: members who opted in, under the display name they chose; feedback survey answers

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 05:45:00
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = plugin_app.storage.types.UTCDateTime


def upgrade() -> None:
    op.create_table('leaderboard_members',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('display_name', sa.String(length=24), nullable=False),
    sa.Column('name_key', sa.String(length=100), nullable=False),
    sa.Column('opted_in_at', When(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_leaderboard_members_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_leaderboard_members_member_id_members'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leaderboard_members')),
    sa.UniqueConstraint('shop_id', 'member_id', name='uq_leaderboard_members_member'),
    sa.UniqueConstraint('shop_id', 'name_key', name='uq_leaderboard_members_name'),
    )
    op.create_table('survey_answers',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('member_id', Id, nullable=False),
    sa.Column('survey_id', sa.String(length=40), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('points', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('program_version', sa.Integer(), nullable=True),
    sa.Column('answered_at', When(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_survey_answers_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_survey_answers_member_id_members'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answers')),
    sa.UniqueConstraint('shop_id', 'member_id', 'survey_id', name='uq_survey_answers_member_survey'),
    )
    op.create_index('ix_survey_answers_survey', 'survey_answers', ['shop_id', 'survey_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_survey_answers_survey', table_name='survey_answers')
    op.drop_table('survey_answers')
    op.drop_table('leaderboard_members')
