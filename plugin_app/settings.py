"""One frozen settings object, read from the environment only."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = PROJECT_ROOT / "instance" / "loyalty.db"
# LOYALTY_ENV: anything else is refused at start (a typo such as "prod" used to skip every
# production check silently). Case does not matter.
ENVIRONMENTS = ("development", "test", "production")


class ConfigError(RuntimeError):
    """The environment does not describe a service that may start."""


def normalize_database_url(url: str | None) -> str:
    """Accept the URL forms operators use and pick the driver we ship.

    ``postgres://`` and ``postgresql://`` use psycopg 3; ``sqlite:///relative.db`` is resolved
    against the project root so that the app, the CLI and the migrations agree on one file.
    """
    if not url:
        return f"sqlite:///{DEFAULT_SQLITE}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        path = Path(url[len("sqlite:///"):])
        if not path.is_absolute():
            return f"sqlite:///{PROJECT_ROOT / path}"
    return url


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = field(default_factory=lambda: normalize_database_url(None))
    redis_url: str | None = None
    secret_key: str | None = None
    encryption_keys: tuple[str, ...] = ()
    shopify_api_key: str | None = None
    shopify_api_secret: str | None = None
    shopify_old_api_secret: str | None = None  # accepted for webhooks while a rotation settles
    shopify_api_version: str = "2026-01"
    app_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    log_json: bool = True
    # Jobs: "rq" when REDIS_URL is set, else "thread" (in-process); tests may force "eager".
    jobs_mode: str = "thread"
    inbox_lease_seconds: int = 300
    inbox_max_attempts: int = 8
    sweep_after_seconds: int = 60
    max_body_bytes: int = 1_048_576
    failpoints: str = ""
    storefront_shop_rate: int = 300  # requests per second per shop, all shoppers together
    storefront_client_rate: int = 20  # per shopper (or per IP for guests)
    # A shop with more members than this gets a new or edited segment computed by a job
    # (the request answers "computing"); smaller shops get it computed in the request.
    segment_sync_members: int = 20_000
    # Shopper emails: the deployment's SMTP relay and its From address (shops set the name).
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    mail_from: str = "loyalty@localhost"

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        e = os.environ if environ is None else environ
        redis_url = e.get("REDIS_URL") or None
        keys = tuple(k.strip() for k in (e.get("LOYALTY_ENCRYPTION_KEY") or "").split(",") if k.strip())
        return cls(
            env=(e.get("LOYALTY_ENV") or "development").strip().lower(),
            database_url=normalize_database_url(e.get("DATABASE_URL")),
            redis_url=redis_url,
            secret_key=e.get("SECRET_KEY") or None,
            encryption_keys=keys,
            shopify_api_key=e.get("SHOPIFY_API_KEY") or None,
            shopify_api_secret=e.get("SHOPIFY_API_SECRET") or None,
            shopify_old_api_secret=e.get("SHOPIFY_OLD_API_SECRET") or None,
            shopify_api_version=e.get("SHOPIFY_API_VERSION") or "2026-01",
            app_url=(e.get("APP_URL") or "http://127.0.0.1:8000").rstrip("/"),
            log_level=e.get("LOG_LEVEL", "INFO"),
            log_json=_bool(e.get("LOG_JSON"), True),
            jobs_mode=e.get("LOYALTY_JOBS_MODE") or ("rq" if redis_url else "thread"),
            inbox_lease_seconds=int(e.get("LOYALTY_INBOX_LEASE_SECONDS", "300")),
            inbox_max_attempts=int(e.get("LOYALTY_INBOX_MAX_ATTEMPTS", "8")),
            sweep_after_seconds=int(e.get("LOYALTY_SWEEP_AFTER_SECONDS", "60")),
            max_body_bytes=int(e.get("LOYALTY_MAX_BODY_BYTES", "1048576")),
            failpoints=e.get("LOYALTY_FAILPOINTS", ""),
            storefront_shop_rate=int(e.get("STOREFRONT_SHOP_RATE", "300")),
            storefront_client_rate=int(e.get("STOREFRONT_CLIENT_RATE", "20")),
            segment_sync_members=int(e.get("LOYALTY_SEGMENT_SYNC_MEMBERS", "20000")),
            smtp_host=e.get("SMTP_HOST") or None,
            smtp_port=int(e.get("SMTP_PORT", "587")),
            smtp_user=e.get("SMTP_USER") or None,
            smtp_password=e.get("SMTP_PASSWORD") or None,
            smtp_starttls=_bool(e.get("SMTP_STARTTLS"), True),
            mail_from=e.get("MAIL_FROM") or "loyalty@localhost",
        )

    def with_overrides(self, overrides: dict | None) -> "Settings":
        if not overrides:
            return self
        values = dict(overrides)
        if "database_url" in values:
            values["database_url"] = normalize_database_url(values["database_url"])
        return replace(self, **values)

    def validate(self) -> None:
        """Production refuses to start without its secrets or on the embedded database; an
        environment name we do not know refuses to start at all."""
        if self.env not in ENVIRONMENTS:
            raise ConfigError(f"LOYALTY_ENV must be one of {', '.join(ENVIRONMENTS)} (any case), not {self.env!r}")
        if self.jobs_mode not in {"rq", "thread", "eager"}:
            raise ConfigError(f"LOYALTY_JOBS_MODE must be rq, thread or eager, not {self.jobs_mode!r}")
        if self.jobs_mode == "rq" and not self.redis_url:
            raise ConfigError("LOYALTY_JOBS_MODE=rq needs REDIS_URL")
        if not self.production:
            return
        missing = [name for name, value in (
            ("SECRET_KEY", self.secret_key),
            ("LOYALTY_ENCRYPTION_KEY", self.encryption_keys),
            ("DATABASE_URL", not self.is_sqlite),
            ("APP_URL", self.app_url.startswith("https://")),
        ) if not value]
        if missing:
            raise ConfigError("production mode needs: " + ", ".join(missing)
                              + " (DATABASE_URL must be PostgreSQL, APP_URL must be https)")
        if self.secret_key and len(self.secret_key) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production")
