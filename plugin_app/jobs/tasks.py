"""Tasks: thin functions with plain arguments that call one service each. RQ imports them by
dotted path (`queues.dotted`); the in-process queues call them through `run`.

A task is named by its function (the schedule, the worker) or, where the caller may not import
jobs (services enqueue), by its name in `TASKS`."""
from __future__ import annotations

from collections.abc import Callable

from . import context

Task = str | Callable[..., object]  # a function of this module, or its name


def process_inbox(inbox_id: int) -> str:
    return context.current().inbox.process(int(inbox_id))


def drain_inbox(slot: int, slots: int) -> int:
    return context.current().inbox.drain(int(slot), int(slots))


def sweep_inbox() -> int:
    return context.current().inbox.sweep()


def vest_pending() -> int:
    return context.current().ledger.vest_due()


def expire_lots() -> int:
    return context.current().ledger.expire_due()


def release_stale_holds() -> int:
    return context.current().ledger.release_stale_holds()


def reevaluate_tiers() -> int:
    rt = context.current()
    return rt.tiers.reevaluate_all(rt.programs)


def settle_challenges() -> int:
    return context.current().achievements.settle_due()


def refresh_segments() -> int:
    return context.current().segments.refresh_all()


def compute_segment(shop_id: int, segment_id: int) -> str:
    """A large shop's new or edited segment, computed off the request (services.segments)."""
    return context.current().segments.compute(int(shop_id), int(segment_id))


def resume_segments() -> int:
    return context.current().segments.resume_computing()


def birthday_bonuses() -> int:
    return context.current().actions.birthdays()


def expiry_reminders() -> int:
    return context.current().expiry.reminders()


def expire_inactive() -> int:
    return context.current().expiry.expire_inactive()


# The relay and the sender work in slices and queue their own continuation while a slice comes
# back full: a backlog's thousands of events become many short jobs, and a worker takes an
# inbox drain (looked for first) between two of them instead of after all of them.
RELAY_SLICE = 100  # events (a few ms each)
SEND_SLICE = 20  # deliveries (each an HTTP call or an email: up to the poster's timeout)


def _in_slices(task: Callable[[], int], some: Callable[[int], tuple[int, bool]], size: int) -> int:
    """Run one slice of `size` with `some`; queue `task` again when the slice came back full."""
    done, full = some(size)
    if full:
        context.current().queue.enqueue(task)
    return done


def relay_notifications() -> int:
    return _in_slices(relay_notifications, context.current().notifier.relay_some, RELAY_SLICE)


def send_notifications() -> int:
    return _in_slices(send_notifications, context.current().notifier.send_some, SEND_SLICE)


def sync_customer_fields() -> int:
    return context.current().customer_fields.sync()


def refresh_analytics() -> int:
    return context.current().analytics.refresh()


def rebuild_analytics(shop_id: int) -> str:
    """A shop's analytics rollups counted again on its new time zone's days (services.analytics)."""
    return context.current().analytics.rebuild(int(shop_id))


def resume_analytics_rebuilds() -> int:
    return context.current().analytics.resume_rebuilds()


def referral_rewards() -> int:
    return context.current().referrals.reward_due()


def lapse_redemptions() -> int:
    return context.current().cart.lapse()


def reconcile_shopify() -> int:
    return context.current().reconciler.run()


def reconcile_woocommerce() -> int:
    return context.current().woo_reconciler.run()


def mirror_store_credit() -> int:
    return context.current().store_credit.run()


def reconcile_store_credit() -> int:
    return context.current().store_credit.reconcile()


def import_analyze(shop_id: int, import_id: int) -> int:
    """An import's dry run: read, match, stage and plan (services.imports)."""
    return len(context.current().imports.analyze(int(shop_id), int(import_id)))


def import_pull(shop_id: int, import_id: int, plugin: str, kind: str) -> int:
    """A WooCommerce loyalty plugin's tables, read through our WordPress plugin, then dry-run."""
    return len(context.current().imports.pull_run(int(shop_id), int(import_id), plugin, kind))


def _slices(step, again: str, shop_id: int, import_id: int, budget: float = 120.0) -> int:
    """Run an import's slices for up to `budget` seconds, then queue the rest as a new job, so no
    job runs long and any worker may take the next part."""
    import time

    deadline, done = time.monotonic() + budget, 0
    while step(int(shop_id), int(import_id)):
        done += 1
        if time.monotonic() > deadline:
            context.current().queue.enqueue(again, int(shop_id), int(import_id))
            break
    return done


def import_apply(shop_id: int, import_id: int) -> int:
    return _slices(context.current().imports.apply_slice, "import_apply", shop_id, import_id)


def import_revert(shop_id: int, import_id: int) -> int:
    return _slices(context.current().imports.revert_slice, "import_revert", shop_id, import_id)


def resume_imports() -> int:
    return context.current().imports.resume_stalled()


def refresh_catalog(shop_id: int, product_ids: list) -> int:
    return context.current().catalog.refresh(int(shop_id), [str(i) for i in product_ids])


def backfill_step(shop_id: int, backfill_id: int) -> str:
    return context.current().backfills.step(int(shop_id), int(backfill_id))


def resume_backfills() -> int:
    return context.current().backfills.resume_stale()


def simulate_run(shop_id: int, simulation_id: int) -> str:
    """A program simulation over the shop's past orders (services.simulator)."""
    return context.current().simulations.run(int(shop_id), int(simulation_id))


def resume_simulations() -> int:
    return context.current().simulations.resume_stale()


TASKS = {f.__name__: f for f in (simulate_run, resume_simulations, backfill_step, resume_backfills, relay_notifications, send_notifications, sync_customer_fields, refresh_analytics,
                                  rebuild_analytics, resume_analytics_rebuilds,
                                  referral_rewards, lapse_redemptions, reconcile_shopify, reconcile_woocommerce,
                                  refresh_catalog, process_inbox, drain_inbox, sweep_inbox, vest_pending, expire_lots,
                                  release_stale_holds, reevaluate_tiers, birthday_bonuses, settle_challenges,
                                  refresh_segments, compute_segment, resume_segments,
                                  expiry_reminders, expire_inactive, mirror_store_credit, reconcile_store_credit,
                                  import_analyze, import_apply, import_revert, resume_imports, import_pull)}


def name_of(task: Task) -> str:
    return task if isinstance(task, str) else task.__name__


def run(task: Task, args: tuple) -> object:
    """Run `task` (a function, or a name looked up in `TASKS` now, not at import) with `args`."""
    return (TASKS[task] if isinstance(task, str) else task)(*args)
