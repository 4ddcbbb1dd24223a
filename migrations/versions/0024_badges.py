"""Badges and challenges: each badge a member earned, members in challenges, challenges settled

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 05:30:00
"""
from alembic import op
import sqlalchemy as sa
import plugin_app.storage.types


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = plugin_app.storage.types.UTCDateTime


def _shop_member(table: str, member: bool = True) -> list:
    cols = [sa.Column('id', Id, autoincrement=True, nullable=False),
            sa.Column('shop_id', Id, nullable=False),
            sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f(f'fk_{table}_shop_id_shops'), ondelete='CASCADE'),
            sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}'))]
    if member:
        cols += [sa.Column('member_id', Id, nullable=False),
                 sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f(f'fk_{table}_member_id_members'),
                                         ondelete='CASCADE')]
    return cols


def upgrade() -> None:
    op.create_table('badge_awards', *_shop_member('badge_awards'),
    sa.Column('badge_id', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('program_version', sa.Integer(), nullable=True),
    sa.Column('earned_at', When(timezone=True), nullable=False),
    sa.UniqueConstraint('shop_id', 'member_id', 'badge_id', 'seq', name='uq_badge_awards_member_badge_seq'),
    )
    op.create_table('challenge_members', *_shop_member('challenge_members'),
    sa.Column('challenge_id', sa.String(length=40), nullable=False),
    sa.Column('opted_in_at', When(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=True),
    sa.Column('progress', plugin_app.storage.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('points', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('settled_at', When(timezone=True), nullable=True),
    sa.UniqueConstraint('shop_id', 'member_id', 'challenge_id', name='uq_challenge_members_member_challenge'),
    )
    op.create_index('ix_challenge_members_challenge', 'challenge_members', ['shop_id', 'challenge_id'], unique=False)
    op.create_table('challenge_settlements', *_shop_member('challenge_settlements', member=False),
    sa.Column('challenge_id', sa.String(length=40), nullable=False),
    sa.Column('members', sa.Integer(), server_default='0', nullable=False),
    sa.Column('achieved', sa.Integer(), server_default='0', nullable=False),
    sa.Column('settled_at', When(timezone=True), nullable=False),
    sa.UniqueConstraint('shop_id', 'challenge_id', name='uq_challenge_settlements_shop_challenge'),
    )


def downgrade() -> None:
    op.drop_table('challenge_settlements')
    op.drop_index('ix_challenge_members_challenge', table_name='challenge_members')
    op.drop_table('challenge_members')
    op.drop_table('badge_awards')
