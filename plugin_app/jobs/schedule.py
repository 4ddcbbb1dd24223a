"""Periodic jobs, declared in one place. Every one of them is idempotent and safe to run on
any number of workers at once; the schedule only decides how often someone runs it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Periodic:
    task: str  # a name in jobs.tasks.TASKS
    every_seconds: int
    why: str


PERIODIC = (
    Periodic("sweep_inbox", 30, "re-enqueue inbox messages a lost doorbell or a dead worker left"),
    Periodic("vest_pending", 60, "make pending points and credit spendable when their time comes"),
    Periodic("release_stale_holds", 60, "give back holds whose cart never became an order"),
    Periodic("expire_lots", 300, "lapse lots that reached their expiry date"),
    Periodic("expire_inactive", 3600, "lapse balances of members inactive for the program's months"),
    Periodic("expiry_reminders", 3600, "tell members a number of days before their points lapse"),
    Periodic("reevaluate_tiers", 3600, "move members whose tier window rolled over or grace ended"),
    Periodic("relay_notifications", 15, "fan new events out into shopper emails and merchant webhooks"),
    Periodic("send_notifications", 15, "deliver due emails and webhooks, retrying with backoff"),
    Periodic("sync_customer_fields", 300, "write changed tiers and balances to platform customers (when enabled)"),
    Periodic("refresh_analytics", 60, "fold new ledger entries into the daily analytics rollups"),
    Periodic("referral_rewards", 600, "reward referrers whose friend's order outlasted the pending period"),
    Periodic("lapse_redemptions", 300, "release the holds of cart codes that expired unused"),
    Periodic("reconcile_shopify", 900, "pull orders Shopify failed to deliver; re-create deleted subscriptions"),
    Periodic("reconcile_woocommerce", 600, "WooCommerce never retries: pull modified orders, re-enable webhooks"),
    Periodic("birthday_bonuses", 3600, "award the yearly birthday bonus (hourly, so every time zone's day is met)"),
)
