"""Configuration comes from the environment only; production refuses to start unsafely."""
import pytest

from plugin_app import create_app
from plugin_app.settings import ConfigError, Settings, normalize_database_url

pytestmark = pytest.mark.fast  # no database, Redis or network: the fast lane


def test_database_url_forms_operators_use():
    assert normalize_database_url("postgresql://u:p@db:5432/x") == "postgresql+psycopg://u:p@db:5432/x"
    assert normalize_database_url("postgres://u@db/x") == "postgresql+psycopg://u@db/x"
    assert normalize_database_url("sqlite:////abs/loyalty.db") == "sqlite:////abs/loyalty.db"
    assert normalize_database_url("sqlite:///rel.db").endswith("/rel.db")
    assert normalize_database_url("sqlite:///rel.db").startswith("sqlite:////")
    assert normalize_database_url(None).endswith("instance/loyalty.db")


def test_jobs_run_in_process_without_redis_and_on_rq_with_it():
    assert Settings.from_env({}).jobs_mode == "thread"
    assert Settings.from_env({"REDIS_URL": "redis://r:6379/0"}).jobs_mode == "rq"


def test_production_refuses_to_start_without_secrets():
    with pytest.raises(ConfigError) as exc:
        Settings.from_env({"LOYALTY_ENV": "production"}).validate()
    for name in ("SECRET_KEY", "LOYALTY_ENCRYPTION_KEY", "DATABASE_URL", "APP_URL"):
        assert name in str(exc.value)
    with pytest.raises(ConfigError):
        create_app({"LOYALTY_ENV": "production", "DATABASE_URL": "sqlite:///x.db"})
    ok = Settings.from_env({"LOYALTY_ENV": "production", "SECRET_KEY": "s" * 40,
                            "LOYALTY_ENCRYPTION_KEY": "k", "DATABASE_URL": "postgresql://db/x",
                            "APP_URL": "https://loyalty.example"})
    ok.validate()


def test_settings_are_frozen():
    with pytest.raises(Exception):
        Settings().env = "production"  # type: ignore[misc]


@pytest.mark.parametrize("value", ["prod", "Prod", "live", "staging", "produzione", "production1"])
def test_an_unknown_environment_refuses_to_start(value):
    """`LOYALTY_ENV=prod` used to start as development: every production check skipped."""
    with pytest.raises(ConfigError) as exc:
        Settings.from_env({"LOYALTY_ENV": value}).validate()
    assert "LOYALTY_ENV" in str(exc.value) and "production" in str(exc.value)
    with pytest.raises(ConfigError):
        create_app({"LOYALTY_ENV": value, "DATABASE_URL": "sqlite:///x.db"})


@pytest.mark.parametrize("value", ["Production", "PRODUCTION", " production "])
def test_production_in_any_case_gets_the_production_checks(value):
    settings = Settings.from_env({"LOYALTY_ENV": value})
    assert settings.production
    with pytest.raises(ConfigError) as exc:
        settings.validate()
    assert "SECRET_KEY" in str(exc.value)


@pytest.mark.parametrize("value", ["development", "Development", "test", "TEST", ""])
def test_known_environments_start(value):
    Settings.from_env({"LOYALTY_ENV": value}).validate()
