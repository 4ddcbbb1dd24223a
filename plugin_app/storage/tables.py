"""Table definitions. Every row carries `shop_id`; external objects are unique per shop."""
from __future__ import annotations

from sqlalchemy import (DDL, JSON, BigInteger, Boolean, CheckConstraint, Column, Date, ForeignKey,
                        Index, Integer, LargeBinary, MetaData, String, Table, Text, UniqueConstraint, event, func,
                        text)
from sqlalchemy.types import UserDefinedType

from .types import ExactDecimal, UTCDateTime

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
Id = BigInteger().with_variant(Integer(), "sqlite")
Points = BigInteger


class Xid8(UserDefinedType):
    """PostgreSQL's 64-bit transaction id (`xid8`), read back as text."""
    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "xid8"


# The transaction that wrote a row (PostgreSQL; its server default is pg_current_xact_id(), see
# below). SQLite has one writer at a time: there the column exists, always NULL.
TxId = Xid8().with_variant(BigInteger(), "sqlite")

def _buckets() -> list[Column]:
    """Available, pending, held and lifetime, for points (integers) and store credit (exact
    decimals): the balance row caches them; each ledger entry carries its deltas of them."""
    return [Column(f"{asset}{bucket}", kind, nullable=False, server_default="0")
            for asset, kind in (("points", Points), ("credit", ExactDecimal))
            for bucket in ("", "_pending", "_held", "_lifetime")]


shops = Table(
    "shops", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("platform", String(20), nullable=False),
    Column("domain", String(255), nullable=False),  # myshopify domain, or the WooCommerce URL
    Column("name", String(255), nullable=False, server_default=""),
    Column("currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("status", String(20), nullable=False, server_default="installed"),
    Column("credentials", Text, nullable=True),  # encrypted JSON (Fernet), never plaintext
    Column("admin_api_key_hash", String(64), nullable=False, unique=True),
    Column("widget_key", String(40), nullable=True, unique=True),  # public: names the shop to widgets
    Column("origins", JSON, nullable=True),  # storefront origins allowed by CORS (besides the domain)
    Column("installed_at", UTCDateTime, nullable=False),
    Column("uninstalled_at", UTCDateTime, nullable=True),
    UniqueConstraint("platform", "domain", name="uq_shops_platform_domain"),
    CheckConstraint("platform IN ('shopify', 'woocommerce', 'demo')", name="platform"),
    CheckConstraint("status IN ('installed', 'uninstalled')", name="status"),
)

members = Table(
    "members", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("platform_customer_id", String(64), nullable=False),
    Column("email", String(320), nullable=True),
    Column("name", String(120), nullable=True),
    Column("birthday", Date, nullable=True),
    Column("tier", String(40), nullable=True),
    Column("tier_since", UTCDateTime, nullable=True),
    Column("tier_grace_until", UTCDateTime, nullable=True),
    Column("last_activity_at", UTCDateTime, nullable=True),
    Column("fingerprints", JSON, nullable=True),  # hashed email/phone/address/IP/device, for referral checks
    Column("email_opt_out", Boolean, nullable=False, server_default="0"),  # unsubscribed from shopper emails
    Column("fields_synced", String(80), nullable=True),  # "<balance version>:<tier>:<segments_rev>" last written to the platform
    # bumped when the member's segment memberships (or a segment's name) change: their platform tags are due (0027)
    Column("segments_rev", Integer, nullable=False, server_default="0"),
    Column("locale", String(16), nullable=True),  # the shopper's language as the platform gave it; None: the shop's
    Column("tags_at", UTCDateTime, nullable=True),  # when the customer tags in member_tags were the platform's (0028)
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "platform_customer_id", name="uq_members_shop_customer"),
    Index("ix_members_shop_email", "shop_id", "email"),
    Index("ix_members_shop_created", "shop_id", "created_at"),
    # the admin's list of members: sort by name, filter by tier (0019); by last activity: below
    Index("ix_members_shop_name", "shop_id", "name", "id"),
    Index("ix_members_shop_tier", "shop_id", "tier"),
)

# Imports and the API look members up by e-mail in any case (0022)
Index("ix_members_shop_email_lower", members.c.shop_id, func.lower(members.c.email))
# The admin's list sorts by last activity most recent first, the never active last (0019)
Index("ix_members_shop_activity", members.c.shop_id, members.c.last_activity_at.desc().nulls_last(),
      members.c.id.desc())

balances = Table(
    "balances", metadata,
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("currency", String(3), nullable=False),
    *_buckets(),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("points_pending >= 0 AND points_held >= 0", name="points_buckets"),
    CheckConstraint("credit_pending >= 0 AND credit_held >= 0", name="credit_buckets"),
    Index("ix_balances_shop", "shop_id"),
    # the admin's list of members: sort or filter by balance, sort by lifetime points (0019)
    Index("ix_balances_shop_points", "shop_id", "points", "member_id"),
    Index("ix_balances_shop_lifetime", "shop_id", "points_lifetime", "member_id"),
)

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("asset", String(10), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("source", String(10), nullable=False),
    Column("reason", String(500), nullable=False),  # in English, for logs and the API; people read:
    Column("reason_code", String(40), nullable=True),  # what happened, rendered in the reader's language
    Column("reason_params", JSON, nullable=True),  # with these values (money as {amount, currency})
    Column("idempotency_key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("reverses_entry_id", Id, ForeignKey("ledger_entries.id"), nullable=True),
    Column("hold_id", Id, nullable=True),
    Column("lot_id", Id, nullable=True),
    Column("actor", String(255), nullable=True),
    Column("external_ref", String(255), nullable=True),
    Column("amount", ExactDecimal, nullable=False),  # the magnitude asked for, for explanation
    *_buckets(),
    Column("program_version", Integer, nullable=True),  # the program that produced it
    Column("details", JSON, nullable=True),  # the rules behind it, for explanations
    Column("created_at", UTCDateTime, nullable=False),
    # When the value was originally earned, when that is before the posting: history brought
    # from another app keeps its age (tier windows count it then; its lot is that old). 0022
    Column("occurred_at", UTCDateTime, nullable=True),
    # The transaction that posted it (PostgreSQL: its server default, pg_current_xact_id(); never
    # named in an INSERT): the analytics fold takes entries by the transactions committed between
    # two of its snapshots, whatever order their ids commit in. NULL: posted before 0034 (folded
    # by id, as then), or on SQLite (one writer at a time: ids commit in order). 0034
    Column("txid", TxId, nullable=True),
    UniqueConstraint("shop_id", "idempotency_key", name="uq_ledger_entries_shop_key"),
    CheckConstraint("asset IN ('points', 'credit')", name="asset"),
    CheckConstraint("kind IN ('earn','vest','redeem','reserve','commit','release','reverse',"
                    "'adjust','expire')", name="kind"),
    Index("ix_ledger_entries_member", "shop_id", "member_id", "id"),
    Index("ix_ledger_entries_reverses", "reverses_entry_id"),
    Index("ix_ledger_entries_ref", "shop_id", "external_ref"),
    # finance: a shop's entries by time (liability at a date, the journal of a period) (0029)
    Index("ix_ledger_entries_shop_created", "shop_id", "created_at"),
    Index("ix_ledger_entries_txid", "txid").ddl_if(dialect="postgresql"),  # the fold's rounds (0034)
)
# The default is PostgreSQL's only (a server default here would be SQLite's too): set by 0034,
# and here for a schema created from these tables.
event.listen(ledger_entries, "after_create", DDL(
    "ALTER TABLE ledger_entries ALTER COLUMN txid SET DEFAULT pg_current_xact_id()").execute_if(dialect="postgresql"))

lots = Table(
    "lots", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("asset", String(10), nullable=False),
    Column("entry_id", Id, ForeignKey("ledger_entries.id"), nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("remaining", ExactDecimal, nullable=False),
    Column("pending", Boolean, nullable=False),
    Column("available_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_lots_member", "shop_id", "member_id", "asset", "id"),
    Index("ix_lots_vesting", "pending", "available_at"),
    Index("ix_lots_expiry", "expires_at"),
    # finance: a shop's lots by expiry (ageing, breakage, the expiring forecast) (0029)
    Index("ix_lots_shop_expires", "shop_id", "asset", "expires_at"),
    # points about to expire, for the dashboard: open lots only, so spent history costs nothing (0032)
    Index("ix_lots_open_expiry", "shop_id", "asset", "expires_at",
          postgresql_where=text("remaining > 0 AND NOT pending"), sqlite_where=text("remaining > 0 AND NOT pending")),
)

lot_draws = Table(
    "lot_draws", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("entry_id", Id, ForeignKey("ledger_entries.id"), nullable=False),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=False),
    Column("amount", ExactDecimal, nullable=False),  # > 0 taken from the lot, < 0 put back
    Index("ix_lot_draws_entry", "entry_id"),
    Index("ix_lot_draws_lot", "lot_id"),  # finance: what was drawn from a lot (0029)
)

holds = Table(
    "holds", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("asset", String(10), nullable=False),
    Column("reserve_entry_id", Id, ForeignKey("ledger_entries.id"), nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("committed", ExactDecimal, nullable=True),
    Column("state", String(10), nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    CheckConstraint("state IN ('open', 'committed', 'released')", name="state"),
    Index("ix_holds_member", "shop_id", "member_id", "state"),
    Index("ix_holds_expiry", "state", "expires_at"),
)

inbox = Table(
    "inbox", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(20), nullable=False),  # shopify, woocommerce, internal
    Column("topic", String(100), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("payload", LargeBinary, nullable=False),  # the raw body, exactly as received
    Column("headers", JSON, nullable=False),
    Column("state", String(12), nullable=False, server_default="received"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("claim_token", String(36), nullable=True),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime, nullable=True),
    Column("outcome", String(500), nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("shop_id", "source", "external_id", name="uq_inbox_delivery"),
    CheckConstraint("state IN ('received', 'processing', 'done', 'ignored', 'failed')", name="state"),
    Index("ix_inbox_state", "state", "received_at"),
)

programs = Table(
    "programs", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Column("author", String(255), nullable=False),
    Column("note", String(500), nullable=True),
    Column("restored_from", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "version", name="uq_programs_shop_version"),
)

orders = Table(
    "orders", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("platform_order_id", String(64), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("placed_at", UTCDateTime, nullable=True),
    Column("earned", Boolean, nullable=False, server_default="0"),
    Column("cancelled", Boolean, nullable=False, server_default="0"),
    Column("base", ExactDecimal, nullable=True),
    Column("points", BigInteger, nullable=False, server_default="0"),
    Column("credit", ExactDecimal, nullable=False, server_default="0"),
    Column("program_version", Integer, nullable=True),
    Column("shares", JSON, nullable=True),  # what each line earned, unrounded, at earning time
    Column("lines_at", UTCDateTime, nullable=True),  # the platform's updated_at of the lines earned on (edits)
    Column("refunds", JSON, nullable=False),  # refund id -> refunded fraction per share after it
    # For analytics: the order's revenue (lines after discounts, plus shipping), who placed it
    # (customer id, or a hash of a guest's email), whether a redemption was used on it, and
    # whether it is counted in the order rollups (once, when first seen paid; uncounted on cancel).
    Column("total", ExactDecimal, nullable=True),
    Column("customer_key", String(64), nullable=True),
    Column("redeemed", Boolean, nullable=False, server_default="0"),
    Column("returning_customer", Boolean, nullable=False, server_default="0"),
    Column("counted", Boolean, nullable=False, server_default="0"),
    # Recorded from the shop's past by a history backfill that awards nothing (0023): counted in
    # the figures and in tiers on spend (base, shares, refunds), points and credit 0, no ledger
    # entry; a later delivery for it never earns (services.orders).
    Column("history_only", Boolean, nullable=False, server_default="0"),
    # The products of the order's lines, [[line id, product id, quantity], ...] (0028): what the
    # member bought, for segments (services.segments); null for orders recorded before 0028.
    Column("products", JSON, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "platform_order_id", name="uq_orders_shop_order"),
    Index("ix_orders_member", "shop_id", "member_id", "placed_at"),
    Index("ix_orders_customer", "shop_id", "customer_key"),
    Index("ix_orders_shop_placed", "shop_id", "placed_at"),  # the dashboard's orders of a period (0032)
)

events = Table(
    "events", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=True),
    Column("type", String(60), nullable=False),
    Column("dedupe_key", String(255), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("relayed_at", UTCDateTime, nullable=True),  # fanned out into notifications (null: not yet)
    UniqueConstraint("shop_id", "dedupe_key", name="uq_events_shop_key"),
    Index("ix_events_member", "shop_id", "member_id", "id"),
    Index("ix_events_type", "shop_id", "type"),
    Index("ix_events_unrelayed", "id", postgresql_where=text("relayed_at IS NULL"), sqlite_where=text("relayed_at IS NULL")),
)

privacy_requests = Table(
    "privacy_requests", metadata,  # no foreign key: the log outlives a shop's erasure
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, nullable=False),
    Column("shop_domain", String(255), nullable=False),
    Column("kind", String(30), nullable=False),  # data_request, customer_redact, shop_redact
    Column("customer_id", String(64), nullable=True),
    Column("request", JSON, nullable=False),
    Column("result", JSON, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_privacy_requests_shop", "shop_id", "id"),
)

platform_sync = Table(
    "platform_sync", metadata,  # per shop: how far the reconciliation job has read
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    Column("watermark", String(40), nullable=True),  # the platform's updated_at, as it sent it
    Column("checked_at", UTCDateTime, nullable=True),
    Column("last_error", String(500), nullable=True),
)

redemptions = Table(
    "redemptions", metadata,  # a reward or store credit turned into a one-use platform code
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("reward_id", String(40), nullable=True),  # None: store credit
    Column("asset", String(10), nullable=False),
    Column("amount", ExactDecimal, nullable=False),  # points or credit held
    Column("hold_id", Id, nullable=True),
    Column("code", String(40), nullable=True),  # as issued (shown to the shopper)
    Column("code_key", String(40), nullable=True),  # lower-cased: codes are case-insensitive on both platforms
    Column("platform_discount_id", String(200), nullable=True),
    Column("status", String(12), nullable=False),  # reserving, issued, committed, released, failed, flagged
    Column("answer", JSON, nullable=True),  # what the first request was told, replayed for its key
    Column("order_id", String(64), nullable=True),
    # A code used by another customer (flagged): who used it, and the merchant's decision on the hold
    # (commit: charge the owner; release: give the points back), by whom, when and why.
    Column("used_by", String(64), nullable=True),
    Column("decision", String(10), nullable=True),
    Column("decided_by", String(255), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("decision_reason", String(500), nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "idempotency_key", name="uq_redemptions_shop_key"),
    UniqueConstraint("shop_id", "code", name="uq_redemptions_shop_code"),
    Index("ix_redemptions_due", "status", "expires_at"),
    Index("ix_redemptions_code_key", "shop_id", "code_key", unique=True),
    Index("ix_redemptions_shop_created", "shop_id", "created_at"),  # codes issued in a period (0032)
)

referral_codes = Table(
    "referral_codes", metadata,
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("code", String(40), nullable=False),  # ours are 8; one brought from another app up to 32 (0022)
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "code", name="uq_referral_codes_shop_code"),
)

referral_landings = Table(
    "referral_landings", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("referrer_member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_id", String(64), nullable=False),
    Column("ip_fp", String(32), nullable=True),
    Column("device_fp", String(32), nullable=True),
    Column("friend_code", String(40), nullable=True),
    Column("landed_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_referral_landings_visitor", "shop_id", "visitor_id"),
    Index("ix_referral_landings_ip", "shop_id", "ip_fp", "landed_at"),
)

referrals = Table(
    "referrals", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("referrer_member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("friend_member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("landing_id", Id, nullable=True),
    Column("friend_code", String(40), nullable=True),
    Column("friend_discount_id", String(200), nullable=True),
    Column("status", String(12), nullable=False),  # signed_up, pending, review, rewarded, rejected
    Column("reason", String(500), nullable=True),
    Column("verdict", JSON, nullable=True),  # every rule that fired, its mode and its evidence
    Column("order_id", String(64), nullable=True),
    Column("order_base", ExactDecimal, nullable=True),
    Column("reward_due_at", UTCDateTime, nullable=True),
    Column("reward", JSON, nullable=True),  # what the referrer got, and what it cost
    Column("cashback_orders", Integer, nullable=False, server_default="0"),
    Column("decided_by", String(255), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "friend_member_id", name="uq_referrals_shop_friend"),  # one referrer per friend
    Index("ix_referrals_referrer", "shop_id", "referrer_member_id"),
    Index("ix_referrals_due", "status", "reward_due_at"),
)

stats_daily = Table(
    "stats_daily", metadata,  # rollups of the ledger per shop and day in its time zone (0032), kept current by a job
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("points_issued", BigInteger, nullable=False, server_default="0"),
    Column("points_redeemed", BigInteger, nullable=False, server_default="0"),
    Column("points_expired", BigInteger, nullable=False, server_default="0"),
    Column("points_reversed", BigInteger, nullable=False, server_default="0"),
    Column("credit_issued", ExactDecimal, nullable=False, server_default="0"),
    Column("credit_spent", ExactDecimal, nullable=False, server_default="0"),
    Column("credit_expired", ExactDecimal, nullable=False, server_default="0"),
    Column("entries", BigInteger, nullable=False, server_default="0"),
    Column("referral_credit", ExactDecimal, nullable=False, server_default="0"),  # cashback paid to referrers
    # brought from another app (net of imports undone), kept apart from what the program issued (0022)
    Column("points_imported", BigInteger, nullable=False, server_default="0"),
    Column("credit_imported", ExactDecimal, nullable=False, server_default="0"),
)

stats_progress = Table(
    "stats_progress", metadata,  # how far the rollup job has read the ledger
    Column("name", String(40), primary_key=True),
    Column("last_id", BigInteger, nullable=False, server_default="0"),
    # PostgreSQL: the pg_snapshot (as text) of the fold's last round, or of the fold when a
    # shop's rebuild split the ledger; NULL before the first (0034)
    Column("snapshot", Text, nullable=True),
)

stats_orders = Table(
    "stats_orders", metadata,  # order rollups per shop, day (in its time zone, 0032) and segment (member or guest), kept in step with orders
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("segment", String(8), primary_key=True),
    Column("orders", BigInteger, nullable=False, server_default="0"),
    Column("revenue", ExactDecimal, nullable=False, server_default="0"),
    Column("returning_orders", BigInteger, nullable=False, server_default="0"),  # the customer had ordered before
    Column("new_customers", BigInteger, nullable=False, server_default="0"),
    Column("redemption_orders", BigInteger, nullable=False, server_default="0"),
    Column("redemption_revenue", ExactDecimal, nullable=False, server_default="0"),
    CheckConstraint("segment IN ('member', 'guest')", name="segment"),
)

stats_active = Table(
    "stats_active", metadata,  # which members earned or spent on which day (shop's time zone, 0032) (folded from the ledger)
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("member_id", Id, primary_key=True),
    Index("ix_stats_active_member", "shop_id", "member_id", "day"),
)

webhook_endpoints = Table(
    "webhook_endpoints", metadata,  # where a merchant's other tools want loyalty events
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(500), nullable=False),
    Column("secret", Text, nullable=False),  # encrypted; signs each delivery
    Column("topics", JSON, nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_webhook_endpoints_shop", "shop_id"),
)

notifications = Table(
    "notifications", metadata,  # one email or one webhook delivery, fanned out from the events outbox
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("ref", String(100), nullable=False),  # what caused it: event:<id> or entry:<id>
    Column("target", String(40), nullable=False),  # email, or ep:<endpoint id>
    Column("topic", String(60), nullable=False),
    Column("member_id", Id, nullable=True),
    Column("recipient", String(500), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("state", String(10), nullable=False),  # pending, sending, sent, failed, skipped
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    UniqueConstraint("shop_id", "ref", "target", name="uq_notifications_shop_ref"),  # fan-out once
    Index("ix_notifications_due", "state", "next_attempt_at"),
    Index("ix_notifications_shop", "shop_id", "id"),
)

order_codes = Table(
    "order_codes", metadata,  # the discount codes each paid or cancelled order carried (lower-cased)
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    Column("code_key", String(40), primary_key=True),
    Column("order_id", String(64), primary_key=True),
    Column("seen_at", UTCDateTime, nullable=False),
)

birthday_changes = Table(
    "birthday_changes", metadata,  # who gave or changed a member's birthday, and when (audit; limits)
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("old", Date, nullable=True),
    Column("new", Date, nullable=True),
    Column("source", String(20), nullable=False),  # shopper, merchant, platform, import
    Column("actor", String(255), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("source IN ('shopper', 'merchant', 'platform', 'import')", name="source"),
    Index("ix_birthday_changes_member", "shop_id", "member_id", "id"),
)

catalog_products = Table(
    "catalog_products", metadata,  # what earning rules match on, per product, cached from the platform
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", String(64), primary_key=True),
    Column("collections", JSON, nullable=False),  # Shopify: [{id, gid, handle, title}]
    Column("categories", JSON, nullable=False),  # WooCommerce: [{id, slug, name}]
    Column("tags", JSON, nullable=False),
    Column("product_type", String(255), nullable=True),
    Column("source_updated_at", UTCDateTime, nullable=True),  # the platform's updated_at, when known
    Column("fetched_at", UTCDateTime, nullable=True),  # last full read from the platform (null: never)
    Column("stale", Boolean, nullable=False, server_default="0"),  # read again before the next posting
)

workers = Table(
    "workers", metadata,  # one row per `loyalty worker` process: its heartbeat, readable while Redis is down
    Column("name", String(120), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("state", String(20), nullable=False),  # working, reconnecting, stopped
    Column("detail", Text, nullable=True),  # the last connection error, when reconnecting
    Column("started_at", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
)

admin_link_uses = Table(
    "admin_link_uses", metadata,  # one-time admin sign-in links already used (kept until they expire)
    Column("token_hash", String(64), primary_key=True),  # sha256 of the link's token, never the token
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("used_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_admin_link_uses_expires", "expires_at"),
)


flow_trigger_usage = Table(
    "flow_trigger_usage", metadata,  # Shopify Flow's trigger lifecycle callbacks: the latest word per trigger
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    Column("trigger", String(60), primary_key=True),  # our trigger's handle (domain.flow.TRIGGERS)
    Column("enabled", Boolean, nullable=False),  # has_enabled_flow: a workflow of the shop starts with it
    Column("reported_at", UTCDateTime, nullable=False),  # the callback's own timestamp (newer wins)
)


store_credit_mirror = Table(
    "store_credit_mirror", metadata,  # one row per ledger entry mirrored to Shopify's native store credit (0020)
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("entry_id", Id, ForeignKey("ledger_entries.id", ondelete="CASCADE"), nullable=False),
    Column("lot_id", Id, nullable=True),  # a credit's lot: its expiry, sent as expiresAt
    Column("direction", String(6), nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),  # sending: a call is out until then
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("shopify_txn_id", String(255), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime, nullable=True),
    UniqueConstraint("shop_id", "entry_id", name="uq_store_credit_mirror_entry"),
    UniqueConstraint("shop_id", "shopify_txn_id", name="uq_store_credit_mirror_txn"),
    CheckConstraint("direction IN ('credit', 'debit')", name="direction"),
    CheckConstraint("state IN ('pending', 'sending', 'done', 'failed', 'skipped')", name="state"),
    CheckConstraint("amount > 0", name="amount"),
    Index("ix_store_credit_mirror_due", "shop_id", "state", "next_attempt_at"),
    Index("ix_store_credit_mirror_member", "shop_id", "member_id", "id"),
)

store_credit_checks = Table(
    "store_credit_checks", metadata,  # the last comparison of a member's credit with Shopify's account (0020)
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("ours", ExactDecimal, nullable=False),  # our available credit (never below zero)
    Column("theirs", ExactDecimal, nullable=True),  # the Shopify account's balance; null: could not be read
    Column("currency", String(3), nullable=False),
    Column("difference", ExactDecimal, nullable=False),  # theirs - ours
    Column("unsettled", Integer, nullable=False, server_default="0"),  # mirror rows not done at the check
    Column("error", Text, nullable=True),
    Column("checked_at", UTCDateTime, nullable=False),
    Index("ix_store_credit_checks_shop_difference", "shop_id", "difference"),
)


# -- switching in (0022) ---------------------------------------------------------------------------
imports = Table(
    "imports", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("format", String(40), nullable=True),  # the importer (detected, or as asked)
    Column("filename", String(255), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    # Earlier imports of the same file that were reverted: part of every posting's key, so the
    # file can be brought again after a revert, and only then
    Column("generation", Integer, nullable=False, server_default="0"),
    Column("options", JSON, nullable=False),
    Column("state", String(12), nullable=False),
    Column("done", BigInteger, nullable=False, server_default="0"),  # progress of the running phase
    Column("total", BigInteger, nullable=True),
    Column("cursor", String(400), nullable=True),  # the last group of members a phase finished
    Column("plan", JSON, nullable=True),  # the dry run
    Column("report", JSON, nullable=True),  # what applying (and reverting) did
    Column("error", Text, nullable=True),
    Column("actor", String(255), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("applied_at", UTCDateTime, nullable=True),
    Column("reverted_at", UTCDateTime, nullable=True),
    CheckConstraint("state IN ('uploaded', 'analyzing', 'analyzed', 'applying', 'applied', 'reverting', "
                    "'reverted', 'failed')", name="state"),
    Index("ix_imports_shop_file", "shop_id", "file_sha256"),
)

import_chunks = Table(  # the file as uploaded, in pieces, so that a worker on any host reads it
    "import_chunks", metadata,
    Column("import_id", Id, ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

import_rows = Table(  # the file's rows as read, grouped by the member they are for
    "import_rows", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("import_id", Id, ForeignKey("imports.id", ondelete="CASCADE"), nullable=False),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("line", BigInteger, nullable=False),
    Column("group_key", String(400), nullable=False),  # m<member id>, c<customer id>, e<e-mail>, or !<line>
    Column("member_id", Id, nullable=True),
    Column("data", JSON, nullable=False),
    Column("code", String(40), nullable=True),  # the referral code it brings, cleaned (one holder per shop)
    Column("outcome", String(40), nullable=True),  # why the row was skipped, when it was
    Column("prior", JSON, nullable=True),  # the member's tier, birthday, code before (for a revert)
    Index("ix_import_rows_group", "import_id", "group_key", "line"),
)


backfills = Table(
    "backfills", metadata,  # a history backfill of one shop: past orders pulled from its platform (0023)
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("since", Date, nullable=True),  # orders created on or after this day (null: all of them)
    Column("award_points", Boolean, nullable=False, server_default="0"),
    Column("state", String(10), nullable=False),  # running, done, failed
    Column("phase", String(10), nullable=False),  # orders (reading them), tiers (recomputing), done
    Column("cursor", JSON, nullable=False),  # the platform adapter's own position (opaque here)
    Column("member_cursor", BigInteger, nullable=False, server_default="0"),  # tiers: last member id done
    Column("orders_seen", BigInteger, nullable=False, server_default="0"),
    Column("orders_recorded", BigInteger, nullable=False, server_default="0"),
    Column("orders_skipped", BigInteger, nullable=False, server_default="0"),
    Column("members_created", BigInteger, nullable=False, server_default="0"),
    Column("members_reevaluated", BigInteger, nullable=False, server_default="0"),
    Column("points_awarded", BigInteger, nullable=False, server_default="0"),
    Column("slices", Integer, nullable=False, server_default="0"),
    Column("note", String(500), nullable=True),  # what the platform said last (waiting for its export...)
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),  # a running backfill not touched for long is resumed
    Column("finished_at", UTCDateTime, nullable=True),
    CheckConstraint("state IN ('running', 'done', 'failed')", name="state"),
    CheckConstraint("phase IN ('orders', 'tiers', 'done')", name="phase"),
    Index("ix_backfills_shop", "shop_id", "id"),
    Index("ix_backfills_state", "state", "updated_at"),
)

badge_awards = Table(
    "badge_awards", metadata,  # each time a member earned a badge (0024): at most once per (badge, seq)
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("badge_id", String(40), nullable=False),
    Column("seq", Integer, nullable=False),  # 1 for the first time; a repeatable badge counts up
    Column("points", BigInteger, nullable=False, server_default="0"),  # paid with it (the ledger has the entry)
    Column("program_version", Integer, nullable=True),
    Column("earned_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "member_id", "badge_id", "seq", name="uq_badge_awards_member_badge_seq"),
)

challenge_members = Table(
    "challenge_members", metadata,  # a member in a challenge (0024): opted in, and how it was settled
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("challenge_id", String(40), nullable=False),
    Column("opted_in_at", UTCDateTime, nullable=True),
    Column("outcome", String(10), nullable=True),  # achieved, missed (null: not settled)
    Column("progress", ExactDecimal, nullable=True),  # what counted at settlement
    Column("points", BigInteger, nullable=False, server_default="0"),
    Column("settled_at", UTCDateTime, nullable=True),
    UniqueConstraint("shop_id", "member_id", "challenge_id", name="uq_challenge_members_member_challenge"),
    Index("ix_challenge_members_challenge", "shop_id", "challenge_id"),
)

challenge_settlements = Table(
    "challenge_settlements", metadata,  # a challenge of a shop settled after its end (0024), once
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("challenge_id", String(40), nullable=False),
    Column("members", Integer, nullable=False, server_default="0"),
    Column("achieved", Integer, nullable=False, server_default="0"),
    Column("settled_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "challenge_id", name="uq_challenge_settlements_shop_challenge"),
)

member_profiles = Table(
    "member_profiles", metadata,  # what a member's orders say of them, kept per event (0025, domain.segments)
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("orders_count", Integer, nullable=False, server_default="0"),  # earned or past, not cancelled
    Column("lifetime_value", ExactDecimal, nullable=False, server_default="0"),  # bases less refunded shares
    Column("first_order_at", UTCDateTime, nullable=True),
    Column("prev_order_at", UTCDateTime, nullable=True),  # the order before the last (win back)
    Column("last_order_at", UTCDateTime, nullable=True),
    Column("last_gap_days", Integer, nullable=True),  # shop-time days between the last two orders
    Column("average_days_between", ExactDecimal, nullable=True),  # (last - first) / (orders - 1), in days
    Column("lifecycle", String(10), nullable=True),  # the state last told (moves are events)
    Column("lifecycle_since", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_member_profiles_shop", "shop_id", "member_id"),
)

member_tags = Table(
    "member_tags", metadata,  # the platform's customer tags (Shopify) or WordPress role (WooCommerce) (0028)
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("tag_key", String(255), primary_key=True),  # case-folded: what rules match on
    Column("tag", String(255), nullable=False),  # as the platform spells it
    Index("ix_member_tags_shop_key", "shop_id", "tag_key"),
)

member_purchases = Table(
    "member_purchases", metadata,  # what each member bought, one row per product or group (0028)
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(10), primary_key=True),  # product, or group (a collection or category key)
    Column("ref", String(255), primary_key=True),  # product id; group id, handle/slug or gid, case-folded
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("first_at", UTCDateTime, nullable=False),  # the first and last order that bought it
    Column("last_at", UTCDateTime, nullable=False),
    Column("groups", String(16), nullable=True),  # a product's: digest of the group keys it was grouped under
    CheckConstraint("kind IN ('product', 'group')", name="kind"),
    Index("ix_member_purchases_shop_ref", "shop_id", "kind", "ref", "member_id"),
)

segments = Table(
    "segments", metadata,  # a merchant's rule-built group of members (0025)
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(80), nullable=False),
    Column("rule", JSON, nullable=False),
    Column("members_count", BigInteger, nullable=False, server_default="0"),
    Column("computed_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # set while a job computes the membership (a large shop's new or edited segment, 0031)
    Column("computing_since", UTCDateTime, nullable=True),
    Index("ix_segments_shop", "shop_id", "id"),
)

segment_members = Table(
    "segment_members", metadata,  # who is in each segment now, materialised (0025)
    Column("segment_id", Id, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("shop_id", Id, nullable=False),  # the segment's shop (no key of its own: the segment's cascades)
    Column("since", UTCDateTime, nullable=False),
    Index("ix_segment_members_member", "shop_id", "member_id"),
)

leaderboard_members = Table(
    "leaderboard_members", metadata,  # a member shown on the shop's leaderboard under a chosen name (0026)
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("display_name", String(24), nullable=False),  # as the shopper chose it (never an e-mail)
    Column("name_key", String(100), nullable=False),  # case-folded: unique in the shop
    Column("opted_in_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "member_id", name="uq_leaderboard_members_member"),
    UniqueConstraint("shop_id", "name_key", name="uq_leaderboard_members_name"),
)

survey_answers = Table(
    "survey_answers", metadata,  # a member's answer to the shop's feedback survey (0026): once per survey
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("survey_id", String(40), nullable=False),
    Column("answers", JSON, nullable=False),  # {question id: 1-5 | choice id | text}
    Column("points", BigInteger, nullable=False, server_default="0"),  # the reward (the ledger has the entry)
    Column("program_version", Integer, nullable=True),
    Column("answered_at", UTCDateTime, nullable=False),
    UniqueConstraint("shop_id", "member_id", "survey_id", name="uq_survey_answers_member_survey"),
    Index("ix_survey_answers_survey", "shop_id", "survey_id", "id"),
)


# The program simulator (issue 21, services.simulator): a run prices the shop's past orders of a
# period under a draft program and under the live one, in memory; the run keeps its figures and,
# per member whose result differs, the two outcomes (compact: one row per member that differs).
simulations = Table(
    "simulations", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(10), nullable=False),  # queued, running, done, failed
    Column("program", JSON, nullable=False),  # the draft program's document
    Column("draft_version", Integer, nullable=True),  # the version it was taken from, if any
    Column("based_on", Integer, nullable=True),  # an edited copy: the saved version it was edited from
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("orders_total", BigInteger, nullable=False, server_default="0"),
    Column("orders_done", BigInteger, nullable=False, server_default="0"),
    Column("result", JSON, nullable=True),
    Column("error", String(500), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
    Index("ix_simulations_shop", "shop_id", "id"),
)

simulation_members = Table(
    "simulation_members", metadata,
    Column("simulation_id", Id, ForeignKey("simulations.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", Id, primary_key=True),  # no foreign key: a run outlives an erased member's row
    Column("shop_id", Id, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("live_points", BigInteger, nullable=False),
    Column("draft_points", BigInteger, nullable=False),
    Column("live_credit", ExactDecimal, nullable=False),
    Column("draft_credit", ExactDecimal, nullable=False),
    Column("live_tier", String(60), nullable=True),
    Column("draft_tier", String(60), nullable=True),
)
