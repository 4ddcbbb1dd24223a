"""Test set-up: a PostgreSQL database of our own (created, migrated once, dropped), a Redis
database number of our own (flushed before and after), and a hard stop when either is
unreachable, unless every selected test is in the fast lane.

Two ways to a clean PostgreSQL per test: `clean_db` (what the test commits is truncated after
it: for tests with servers, workers or several connections) and `tx_db` / `tx_runtime` /
`tx_app` (everything happens in one transaction, rolled back after the test: see
tests/savepoints.py; much faster, one thread only).

The fast lane (`-m fast`, `make test-fast`): tests marked `fast` need no PostgreSQL, Redis or
network. Everything under tests/unit/ is fast; a fast test asking for a database fixture is a
collection error."""
from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from plugin_app.settings import Settings, normalize_database_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _all_tables() -> list[str]:
    from plugin_app.storage.tables import metadata

    return [table.name for table in metadata.sorted_tables]


TABLES = _all_tables()  # every table, including the ones with no foreign key to shops
ENCRYPTION_KEY = Fernet.generate_key().decode()  # made per run, never stored

UNIT_DIR = Path(__file__).parent / "unit"
SERVICE_FIXTURES = {"pg_url", "redis_url"}  # every database and Redis fixture goes through these


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if UNIT_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.fast)
        if item.get_closest_marker("fast") and SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            raise pytest.UsageError(f"{item.nodeid} is marked fast but needs PostgreSQL or Redis")


def pytest_collection_finish(session: pytest.Session) -> None:
    """The services are checked once the selection is known: the fast lane runs without them."""
    if session.config.option.collectonly or all(item.get_closest_marker("fast") for item in session.items):
        return
    require_services()


def require_services() -> None:
    problems = []
    try:
        engine = create_engine(normalize_database_url(TEST_DATABASE_URL))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        problems.append(
            f"PostgreSQL is unreachable at TEST_DATABASE_URL={TEST_DATABASE_URL} ({type(exc).__name__}).\n"
            "  Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start")
    try:
        from redis import Redis

        Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        problems.append(
            f"Redis is unreachable at TEST_REDIS_URL={TEST_REDIS_URL} ({type(exc).__name__}).\n"
            "  Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''")
    if problems:
        pytest.exit("the test suite needs real services:\n" + "\n".join(problems), returncode=3)


def _admin_url(url: str) -> str:
    return normalize_database_url(url).rsplit("/", 1)[0] + "/postgres"


def create_database(prefix: str = "loyalty_test") -> str:
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_admin_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return normalize_database_url(TEST_DATABASE_URL).rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(_admin_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url():
    from plugin_app.storage.migrate import upgrade

    url = create_database()
    upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def pg_engine(pg_url):
    engine = create_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def tx_db(pg_engine):
    """A `Database` on the session's migrated database whose every unit of work is a savepoint
    of one transaction, rolled back when the test ends (tests/savepoints.py)."""
    from .savepoints import rolled_back

    with rolled_back(pg_engine) as db:
        yield db


@pytest.fixture
def tx_runtime(tx_db, pg_url, clock, monkeypatch):
    """A Runtime (eager jobs, the `clock`) on `tx_db`: nothing it writes outlives the test."""
    from plugin_app import runtime as runtime_module

    monkeypatch.setattr(runtime_module, "Database", lambda url: tx_db)
    rt = runtime_module.Runtime(make_settings(pg_url), clock=clock)
    yield rt
    rt.close()


@pytest.fixture
def tx_app(tx_db, pg_url, monkeypatch):
    """The Flask app on `tx_db` (its runtime is `app.extensions["loyalty"]`)."""
    from plugin_app import create_app
    from plugin_app import runtime as runtime_module

    monkeypatch.setattr(runtime_module, "Database", lambda url: tx_db)
    app = create_app({"database_url": pg_url, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,)})
    yield app
    app.extensions["loyalty"].close()


@pytest.fixture
def clean_db(pg_url):
    yield pg_url
    engine = create_engine(pg_url)
    # A test's background thread (a demo server's job or periodic pass) may still be finishing a
    # transaction: TRUNCATE then waits for it, and PostgreSQL may pick either side as a deadlock's
    # victim. When it picks TRUNCATE, try again once the other side is gone.
    from sqlalchemy.exc import OperationalError

    for attempt in range(5):
        try:
            with engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
            break
        except OperationalError as exc:
            if "deadlock" not in str(exc) or attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    engine.dispose()


@pytest.fixture
def redis_url():
    from redis import Redis

    client = Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    yield TEST_REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def clock():
    from plugin_app.domain.ports import FixedClock

    return FixedClock(datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc))


def make_settings(db_url: str, **overrides) -> Settings:
    values = dict(database_url=db_url, jobs_mode="eager", encryption_keys=(ENCRYPTION_KEY,),
                  log_json=True)
    values.update(overrides)
    return Settings().with_overrides(values)


@pytest.fixture
def runtime(clean_db, clock):
    from plugin_app.runtime import Runtime

    rt = Runtime(make_settings(clean_db), clock=clock)
    yield rt
    rt.close()


@pytest.fixture
def shop(runtime):
    shop, _key = runtime.shops.register("demo", "shop-a.example", currency="EUR")
    return shop


@pytest.fixture
def member(runtime, shop):
    member, _ = runtime.members.enrol(shop.id, "cust-1", email="a@example.com")
    return member


@pytest.fixture
def app(clean_db):
    from plugin_app import create_app

    app = create_app({"database_url": clean_db, "jobs_mode": "eager",
                      "encryption_keys": (ENCRYPTION_KEY,)})
    yield app
    app.extensions["loyalty"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def two_shops_api(clean_db):
    """The admin API of two shops: (client, runtime, shop, its auth headers, another shop, its headers)."""
    from plugin_app import create_app

    from . import factories as F

    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,)})
    rt = app.extensions["loyalty"]
    shop, key = F.shop_and_key(rt)
    other, other_key = F.shop_and_key(rt)
    yield app.test_client(), rt, shop, {"Authorization": f"Bearer {key}"}, other, {"Authorization": f"Bearer {other_key}"}
    rt.close()
