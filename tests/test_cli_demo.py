"""The operator's commands: `loyalty audit` exit status, `loyalty jobs run`, and the offline
demo's seed on SQLite (what `make run` does), twice."""
import json

from click.testing import CliRunner
from sqlalchemy import text

from plugin_app.cli import main
from plugin_app.runtime import Runtime
from plugin_app.services.audit import run_audit

from .conftest import ENCRYPTION_KEY, make_settings


def cli(args, db_url):
    env = {"DATABASE_URL": db_url, "LOYALTY_ENCRYPTION_KEY": ENCRYPTION_KEY, "LOG_LEVEL": "ERROR",
           "REDIS_URL": ""}
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_audit_exit_status_follows_the_books(runtime, shop, member, clean_db):
    runtime.ledger.earn(shop.id, member.id, "points", 10, key="k", source="order", reason="x")
    ok = cli(["audit"], clean_db)
    assert ok.exit_code == 0 and json.loads(ok.output)["ok"] is True
    with runtime.db.transaction() as conn:
        conn.execute(text("update balances set points = 999"))
    bad = cli(["audit", "--shop", str(shop.id)], clean_db)
    assert bad.exit_code == 1 and json.loads(bad.output)["problem_count"] >= 1


def test_jobs_run_by_hand(runtime, clean_db):
    r = cli(["jobs", "run", "vest_pending"], clean_db)
    assert r.exit_code == 0 and json.loads(r.output) == {"task": "vest_pending", "result": 0}
    assert cli(["jobs", "run", "nope"], clean_db).exit_code != 0


def test_demo_seed_on_sqlite_is_idempotent(tmp_path):
    from plugin_app.demo import seed
    from plugin_app.storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    rt = Runtime(make_settings(url))
    first = seed(rt)
    with rt.db.transaction() as conn:
        entries = conn.execute(text("select count(*) from ledger_entries")).scalar()
        members = conn.execute(text("select count(*) from members")).scalar()
    assert seed(rt) == first  # same shop, same admin key
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from ledger_entries")).scalar() == entries
    assert members == 20 and entries > 40
    report = run_audit(rt.db)
    assert report.ok, report.problems
    rt.close()


def test_demo_jobs_on_sqlite_compose_emails_without_a_second_transaction(tmp_path):
    """The embedded database takes its write lock at BEGIN: a job that opened a second
    transaction while holding one (the relay reading the shop to compose an email) waited 30 s
    and died with "database is locked". The seeded demo's relay and sender now run through, and
    the guard refuses any nested transaction at once rather than deadlocking."""
    import time

    import pytest

    from plugin_app.demo import seed
    from plugin_app.storage.db import NestedTransaction
    from plugin_app.storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    rt = Runtime(make_settings(url))
    seed(rt)
    started = time.monotonic()
    for task in ("relay_notifications", "send_notifications", "refresh_analytics", "lapse_redemptions",
                 "vest_pending", "reevaluate_tiers", "referral_rewards", "birthday_bonuses"):
        rt.run_task(task, ())
    assert time.monotonic() - started < 10
    with rt.db.transaction() as conn:
        queued = conn.execute(text("select count(*) from notifications where target = 'email'")).scalar()
    assert queued > 0  # the seeded members' welcome emails were composed
    with pytest.raises(NestedTransaction):
        with rt.db.transaction():
            with rt.db.transaction():
                pass
    rt.close()


def test_every_periodic_job_runs_on_the_sqlite_demo(tmp_path):
    """The demo runs the periodic jobs in-process on SQLite: each must run there, not only on
    PostgreSQL (a statement SQLite cannot run would fail every hour in a new user's `make run`)."""
    from plugin_app.demo import seed
    from plugin_app.jobs import context
    from plugin_app.jobs.schedule import PERIODIC
    from plugin_app.storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    rt = Runtime(make_settings(url))
    seed(rt)
    context.install(rt)
    for job in PERIODIC:
        if job.name in ("reconcile_shopify", "reconcile_woocommerce"):
            continue  # they call the platforms; the demo shop has none (they skip demo shops anyway)
        job.task()
    assert run_audit(rt.db).ok
    rt.close()
