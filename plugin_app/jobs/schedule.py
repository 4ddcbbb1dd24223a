"""Periodic jobs, declared in one place. Every one of them is idempotent and safe to run on
any number of workers at once; the schedule only decides how often someone runs it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import tasks


@dataclass(frozen=True)
class Periodic:
    """`task` is a function of `jobs.tasks` taking no arguments; `name` is what the locks, the
    logs and RQ's dotted path (`queues.dotted`) call it."""

    task: Callable[[], object]
    every_seconds: int
    why: str

    def __post_init__(self) -> None:
        # RQ imports a job by dotted path, and `loyalty jobs run` finds it by name: a function
        # defined elsewhere (or under another name) would enqueue fine and fail on the worker.
        if tasks.TASKS.get(self.name) is not self.task:
            raise ValueError(f"periodic task {self.task!r} is not a task of {tasks.__name__}")

    @property
    def name(self) -> str:
        return self.task.__name__


PERIODIC = (
    Periodic(tasks.sweep_inbox, 30, "re-enqueue inbox messages a lost doorbell or a dead worker left"),
    Periodic(tasks.vest_pending, 60, "make pending points and credit spendable when their time comes"),
    Periodic(tasks.release_stale_holds, 60, "give back holds whose cart never became an order"),
    Periodic(tasks.expire_lots, 300, "lapse lots that reached their expiry date"),
    Periodic(tasks.expire_inactive, 3600, "lapse balances of members inactive for the program's months"),
    Periodic(tasks.expiry_reminders, 3600, "tell members a number of days before their points lapse"),
    Periodic(tasks.reevaluate_tiers, 3600, "move members whose tier window rolled over or grace ended"),
    Periodic(tasks.relay_notifications, 15, "fan new events out into shopper emails, merchant webhooks and Shopify Flow triggers"),
    Periodic(tasks.send_notifications, 15, "deliver due emails, webhooks and Flow triggers, retrying with backoff"),
    Periodic(tasks.sync_customer_fields, 300, "write changed tiers and balances to platform customers (when enabled)"),
    Periodic(tasks.refresh_analytics, 60, "fold new ledger entries into the daily analytics rollups"),
    Periodic(tasks.resume_analytics_rebuilds, 300, "rebuild again analytics rollups after a time-zone change whose worker died or whose job was lost"),
    Periodic(tasks.referral_rewards, 600, "reward referrers whose friend's order outlasted the pending period"),
    Periodic(tasks.lapse_redemptions, 300, "release the holds of cart codes that expired unused"),
    Periodic(tasks.reconcile_shopify, 900, "pull orders Shopify failed to deliver; re-create deleted subscriptions"),
    Periodic(tasks.reconcile_woocommerce, 600, "WooCommerce never retries: pull modified orders, re-enable webhooks"),
    Periodic(tasks.mirror_store_credit, 30, "send cashback to Shopify's native store credit after the ledger commits"),
    Periodic(tasks.reconcile_store_credit, 3600, "retry refused store credit calls; compare each member's credit with Shopify's"),
    Periodic(tasks.resume_backfills, 300, "take up history backfills whose worker died or whose next slice was lost"),
    Periodic(tasks.resume_simulations, 300, "run again program simulations whose worker died or whose job was lost"),
    Periodic(tasks.resume_imports, 120, "carry on imports whose worker died mid-way (each slice is one transaction)"),
    Periodic(tasks.settle_challenges, 900, "settle challenges that ended: reward each member who reached the goal, once"),
    Periodic(tasks.resume_segments, 300, "compute again segments left computing by a worker that died"),
    Periodic(tasks.refresh_segments, 3600, "move lifecycle states and segment membership as days pass (hourly: every time zone's midnight)"),
    Periodic(tasks.birthday_bonuses, 3600, "award the yearly birthday bonus (hourly, so every time zone's day is met)"),
)
