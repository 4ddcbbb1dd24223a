"""Shopify native store credit: the mirror of ledger entries, and the last comparison per member

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 00:30:00
"""
from alembic import op
import sqlalchemy as sa

from plugin_app.storage.types import ExactDecimal, UTCDateTime

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "store_credit_mirror",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("shop_id", Id, sa.ForeignKey("shops.id", ondelete="CASCADE",
                                               name="fk_store_credit_mirror_shop_id_shops"), nullable=False),
        sa.Column("member_id", Id, sa.ForeignKey("members.id", ondelete="CASCADE",
                                                 name="fk_store_credit_mirror_member_id_members"), nullable=False),
        sa.Column("entry_id", Id, sa.ForeignKey("ledger_entries.id", ondelete="CASCADE",
                                                name="fk_store_credit_mirror_entry_id_ledger_entries"), nullable=False),
        sa.Column("lot_id", Id, nullable=True),
        sa.Column("direction", sa.String(6), nullable=False),
        sa.Column("amount", ExactDecimal, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("locked_until", UTCDateTime, nullable=True),
        sa.Column("last_attempt_at", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("shopify_txn_id", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("done_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_store_credit_mirror"),
        sa.UniqueConstraint("shop_id", "entry_id", name="uq_store_credit_mirror_entry"),
        sa.UniqueConstraint("shop_id", "shopify_txn_id", name="uq_store_credit_mirror_txn"),
        sa.CheckConstraint("direction IN ('credit', 'debit')", name="ck_store_credit_mirror_direction"),
        sa.CheckConstraint("state IN ('pending', 'sending', 'done', 'failed', 'skipped')",
                           name="ck_store_credit_mirror_state"),
        sa.CheckConstraint("amount > 0", name="ck_store_credit_mirror_amount"),
    )
    op.create_index("ix_store_credit_mirror_due", "store_credit_mirror", ["shop_id", "state", "next_attempt_at"])
    op.create_index("ix_store_credit_mirror_member", "store_credit_mirror", ["shop_id", "member_id", "id"])
    op.create_table(
        "store_credit_checks",
        sa.Column("shop_id", Id, sa.ForeignKey("shops.id", ondelete="CASCADE",
                                               name="fk_store_credit_checks_shop_id_shops"), nullable=False),
        sa.Column("member_id", Id, sa.ForeignKey("members.id", ondelete="CASCADE",
                                                 name="fk_store_credit_checks_member_id_members"), nullable=False),
        sa.Column("ours", ExactDecimal, nullable=False),
        sa.Column("theirs", ExactDecimal, nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("difference", ExactDecimal, nullable=False),
        sa.Column("unsettled", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("checked_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("shop_id", "member_id", name="pk_store_credit_checks"),
    )
    op.create_index("ix_store_credit_checks_shop_difference", "store_credit_checks", ["shop_id", "difference"])


def downgrade() -> None:
    op.drop_index("ix_store_credit_checks_shop_difference", table_name="store_credit_checks")
    op.drop_table("store_credit_checks")
    op.drop_index("ix_store_credit_mirror_member", table_name="store_credit_mirror")
    op.drop_index("ix_store_credit_mirror_due", table_name="store_credit_mirror")
    op.drop_table("store_credit_mirror")
