"""`loyalty`: the operator's command line."""
from __future__ import annotations

import json
import sys

import click


def _runtime(**overrides):
    from .runtime import Runtime
    from .settings import ConfigError, Settings

    settings = Settings.from_env().with_overrides(overrides)
    from . import refuse_undecryptable

    try:
        settings.validate()
        runtime = Runtime(settings)
        refuse_undecryptable(runtime)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return runtime


@click.group()
def main() -> None:
    """Loyalty backend: database, workers, audit and the offline demo."""
    from . import logs
    from .settings import Settings

    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.log_json)


@main.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database named by DATABASE_URL up to REVISION."""
    from .settings import Settings
    from .storage.migrate import upgrade

    upgrade(Settings.from_env().database_url, revision)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.option("--revision", required=True)
def db_downgrade(revision: str) -> None:
    from .settings import Settings
    from .storage.migrate import downgrade

    downgrade(Settings.from_env().database_url, revision)
    click.echo(f"database at {revision}")


@main.command()
@click.option("--burst", is_flag=True, help="Work until the queue is empty, then exit.")
@click.option("--fork", is_flag=True, help="Fork a work-horse per job (isolation over speed).")
def worker(burst: bool, fork: bool) -> None:
    """Run an RQ worker with the periodic-job ticker. Needs REDIS_URL."""
    from .jobs.worker import run_worker

    runtime = _runtime()
    if runtime.settings.jobs_mode != "rq":
        raise click.ClickException("loyalty worker needs REDIS_URL (without it, jobs run in-process)")
    run_worker(runtime, burst=burst, fork=fork)  # installs the runtime for this process's jobs


@main.group()
def jobs() -> None:
    """Run a periodic job once, now (cron, or recovery by hand)."""


@jobs.command("run")
@click.argument("task")
def jobs_run(task: str) -> None:
    from .jobs.tasks import TASKS

    if task not in TASKS or task == "process_inbox":
        raise click.ClickException(f"unknown task; choose from {', '.join(t for t in TASKS if t != 'process_inbox')}")
    result = _runtime(jobs_mode="eager").run_task(task, ())
    click.echo(json.dumps({"task": task, "result": result}))


@jobs.command("failed")
@click.option("--requeue", is_flag=True, help="put every failed job back on the queue")
def jobs_failed(requeue: bool) -> None:
    """Jobs RQ gave up on (one JSON line each), or requeue them all."""
    runtime = _runtime()
    if runtime.settings.jobs_mode != "rq":
        raise click.ClickException("failed jobs are kept by RQ: set REDIS_URL")
    if requeue:
        click.echo(json.dumps({"requeued": runtime.queue.requeue_failed()}))
        return
    for job in runtime.queue.failed():
        click.echo(json.dumps(job))


@main.group()
def shops() -> None:
    """Register shops (custom-app tokens, WooCommerce keys)."""


@shops.command("add-shopify")
@click.option("--domain", required=True, help="the shop's *.myshopify.com domain")
@click.option("--access-token", required=True, help="the custom app's Admin API token")
@click.option("--api-secret", required=True, help="the custom app's API secret (signs its webhooks)")
@click.option("--api-base-url", default=None, help="send Admin API calls here instead of https://DOMAIN")
@click.option("--no-verify", is_flag=True, help="only record the shop; no calls to Shopify")
@click.option("--currency", default="EUR", show_default=True, help="with --no-verify")
@click.option("--timezone", "tz", default="UTC", show_default=True, help="with --no-verify")
def add_shopify(domain, access_token, api_secret, api_base_url, no_verify, currency, tz) -> None:
    """Register a Shopify store that uses a custom-app token. Safe to run twice."""
    from connectors.shopify.admin import ShopifyAdmin, ShopifyError, http_client_for
    from connectors.shopify.webhooks import valid_shop_domain

    domain = domain.strip().lower()
    if not valid_shop_domain(domain):
        raise click.ClickException(f"{domain!r} is not a *.myshopify.com domain")
    runtime = _runtime(jobs_mode="eager")
    webhooks: dict = {"subscribed": [], "skipped": "--no-verify"}
    if not no_verify:
        admin = ShopifyAdmin(domain, access_token, runtime.settings.shopify_api_version,
                             http_client=http_client_for(api_base_url))
        try:
            info = admin.shop_info()
            currency, tz = info.currency, info.timezone
            callback = f"{runtime.settings.app_url}/webhooks/shopify"
            webhooks = {"callback_url": callback, "subscribed": admin.subscribe(callback)}
        except ShopifyError as exc:
            raise click.ClickException(f"Shopify refused: {exc}") from None
    credentials = {"access_token": access_token, "api_secret": api_secret, "api_base_url": api_base_url}
    shop, api_key = runtime.shops.register("shopify", domain, currency=currency, timezone=tz,
                                           name=domain, credentials=credentials)
    runtime.programs.current(shop.id)  # the default program, in the shop's time zone
    click.echo(json.dumps({"shop_id": shop.id, "admin_api_key": api_key, "domain": domain,
                           "currency": shop.currency, "timezone": shop.timezone, "webhooks": webhooks}))


@shops.command("add-woocommerce")
@click.option("--url", required=True, help="the store's address, e.g. https://shop.example")
@click.option("--consumer-key", required=True)
@click.option("--consumer-secret", required=True)
@click.option("--webhook-secret", default=None, help="sign our webhooks with this (default: generated)")
@click.option("--no-verify", is_flag=True, help="only record the store; no calls to it")
@click.option("--currency", default="EUR", show_default=True, help="with --no-verify")
@click.option("--timezone", "tz", default="UTC", show_default=True, help="with --no-verify")
def add_woocommerce(url, consumer_key, consumer_secret, webhook_secret, no_verify, currency, tz) -> None:
    """Register a WooCommerce store by its REST keys. Safe to run twice."""
    from urllib.parse import urlsplit

    from connectors.woocommerce.admin import WooError

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.ClickException(f"{url!r} is not an http(s) address")
    runtime = _runtime(jobs_mode="eager")
    try:
        out = runtime.connect_woocommerce(url, consumer_key, consumer_secret, webhook_secret=webhook_secret,
                                          verify=not no_verify, currency=currency, timezone=tz)
    except WooError as exc:
        raise click.ClickException(f"WooCommerce refused: {exc}") from None
    click.echo(json.dumps(out))


@main.command("admin-link")
@click.option("--shop", "shop_id", type=int, required=True)
def admin_link(shop_id: int) -> None:
    """Print a one-time sign-in link to the admin pages (valid 15 minutes)."""
    from . import create_app
    from .http.admin_pages import make_link_token

    app = create_app({"jobs_mode": "eager"})
    with app.test_request_context():
        if app.extensions["loyalty"].shops.get(shop_id) is None:
            raise click.ClickException("no such shop")
        click.echo(f"{app.extensions['loyalty'].settings.app_url}/admin/link/{make_link_token(shop_id)}")


@main.group("import")
def import_() -> None:
    """Switching in: bring members, balances, tiers, codes and history from another loyalty app."""


@import_.command("file")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--shop", "shop_id", type=int, required=True)
@click.option("--format", "fmt", default=None, help="The importer (detected from the header when left out).")
@click.option("--tiers", type=click.Choice(["as_is", "recompute", "keep"]), default="as_is", show_default=True)
@click.option("--expiry-from", type=click.Choice(["earned", "import"]), default="earned", show_default=True)
@click.option("--apply", "apply_", is_flag=True, help="Apply after the dry run (otherwise only the dry run).")
def import_file(path: str, shop_id: int, fmt: str | None, tiers: str, expiry_from: str, apply_: bool) -> None:
    """Dry-run a file (and with --apply, apply it); prints the import as JSON."""
    from .domain.errors import DomainError

    runtime = _runtime(jobs_mode="eager")
    try:
        with open(path, "rb") as stream:
            view = runtime.imports.upload(shop_id, path.rsplit("/", 1)[-1], stream, fmt=fmt,
                                          options={"tiers": tiers, "expiry_from": expiry_from}, actor="cli")
        if apply_ and view["state"] == "analyzed":
            view = runtime.imports.apply(shop_id, view["id"], actor="cli")
        view = runtime.imports.view(shop_id, view["id"])
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(view, indent=2, default=str))
    sys.exit(0 if view["state"] in ("analyzed", "applied") else 1)


@import_.command("revert")
@click.argument("import_id", type=int)
@click.option("--shop", "shop_id", type=int, required=True)
def import_revert(import_id: int, shop_id: int) -> None:
    """Undo an applied import (reversal entries; tiers, birthdays and codes put back)."""
    from .domain.errors import DomainError

    runtime = _runtime(jobs_mode="eager")
    try:
        runtime.imports.revert(shop_id, import_id, actor="cli")
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    view = runtime.imports.view(shop_id, import_id)
    click.echo(json.dumps(view, indent=2, default=str))
    sys.exit(0 if view["state"] == "reverted" else 1)


@main.command()
@click.option("--shop", "shop_id", type=int, required=True)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="YYYY-MM-DD: orders created on or after this day (the shop's time zone); default: all")
@click.option("--award-points", is_flag=True, help="past orders earn points as their webhooks would have")
@click.option("--resume", "resume_id", type=int, default=None, help="resume this failed backfill instead")
def backfill(shop_id: int, since, award_points: bool, resume_id: int | None) -> None:
    """Pull the shop's past orders from its platform (history backfill). With REDIS_URL the
    workers do it and this prints the backfill's id; without, it runs here to the end."""
    import time as _time

    from .domain.errors import DomainError

    runtime = _runtime()
    waiting: list[tuple[tuple, float]] = []
    if runtime.settings.jobs_mode != "rq":  # run the slices here, one after another, honouring waits
        runtime.backfills.enqueue = lambda task, *args, delay=0, **_: waiting.append((args, delay))
    try:
        if resume_id is not None:
            out = runtime.backfills.resume(shop_id, resume_id)
        else:
            out = runtime.backfills.start(shop_id, since.date() if since else None, award_points)
        while waiting:
            args, delay = waiting.pop(0)
            _time.sleep(min(delay, 30))
            runtime.backfills.step(*args)
            out = runtime.backfills.status(shop_id, args[1])
            click.echo(json.dumps({k: out[k] for k in ("id", "state", "phase", "orders_seen", "orders_recorded",
                                                        "members_created", "note")}), err=True)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(out))
    if out["state"] == "failed":
        sys.exit(1)


@main.command()
@click.option("--shop", "shop_id", type=int, default=None, help="Only this shop.")
def audit(shop_id: int | None) -> None:
    """Rebuild every balance from the ledger and check every invariant (exit 1 on trouble)."""
    from .services.audit import run_audit

    runtime = _runtime(jobs_mode="eager")
    report = run_audit(runtime.db, shop_id)
    click.echo(json.dumps(report.to_json(), indent=2))
    sys.exit(0 if report.ok else 1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Migrate and seed, then exit.")
def demo(host: str, port: int, no_serve: bool) -> None:
    """Migrate the embedded database, seed a demo shop and serve the app with in-process jobs."""
    from .demo import run_demo

    run_demo(host, port, serve=not no_serve)
