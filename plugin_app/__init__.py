"""Loyalty, cashback and referral backend for Shopify and WooCommerce stores."""
from __future__ import annotations

import os
import threading
import time

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface

from .settings import Settings


def _settings(config: dict | None) -> Settings:
    """Environment first; `config` may override with env-style (UPPER) or field (lower) names."""
    config = dict(config or {})
    env_style = {k: str(v) for k, v in config.items() if k.isupper()}
    fields = {k: v for k, v in config.items() if not k.isupper()}
    return Settings.from_env({**os.environ, **env_style}).with_overrides(fields)


def create_app(config: dict | None = None) -> Flask:
    from . import i18n, logs
    from .http import (admin, admin_pages, backfills_api, hot, segments_api, finance_api, simulations_api, bulk_api, errors,
                       extensions, health, imports_api, jsonbody,
                       notifications_api, openapi, orders_api, program, referrals_api, shopify_auth, shopify_flow,
                       storefront, webhooks, widgets, woo_connect)
    from .jobs import context
    from .runtime import Runtime

    settings = _settings(config)
    settings.validate()  # production refuses to start without its secrets
    logs.configure(settings.log_level, settings.log_json)

    app = Flask(__name__, template_folder="http/templates", static_folder="http/static")
    i18n.install(app.jinja_env)  # `_()` and the locale formats in every template
    https = (settings.app_url or "").startswith("https://")
    # Over https the admin may open inside the Shopify admin's iframe: its session cookie must be
    # SameSite=None (with Secure) and Partitioned (CHIPS), so browsers that block third-party
    # cookies still keep it for our frame. Forms carry CSRF tokens either way.
    app.config.update(SECRET_KEY=settings.secret_key or "dev-only-not-secret",
                      SESSION_COOKIE_SAMESITE="None" if https else "Lax",
                      SESSION_COOKIE_SECURE=https or settings.production, SESSION_COOKIE_PARTITIONED=https,
                      MAX_CONTENT_LENGTH=settings.max_body_bytes, JSON_SORT_KEYS=False)
    app.json.sort_keys = False
    app.session_interface = CookieOnlyWhenSent()
    jsonbody.install(app)  # every JSON body refused past a sane nesting depth (400, not a 500)
    runtime = Runtime(settings)
    refuse_undecryptable(runtime)
    app.extensions["loyalty"] = runtime
    context.install(runtime)  # what this process's jobs run against (jobs never build a runtime)

    errors.install_converters(app)
    errors.register(app)
    for bp in (health.bp, openapi.bp, admin.bp, program.bp, orders_api.bp, webhooks.bp, shopify_auth.bp,
               storefront.bp, storefront.proxy_bp, woo_connect.bp, referrals_api.admin_bp, widgets.bp,
               notifications_api.bp, notifications_api.public_bp, admin_pages.bp, shopify_flow.bp, extensions.bp,
               imports_api.bp, bulk_api.bp, backfills_api.bp, segments_api.bp, finance_api.bp, simulations_api.bp):
        app.register_blueprint(bp)
    _request_ids(app)
    errors.limit_bodies(app)  # after the request id is set, before any view or credential check
    # The two hottest requests without Flask around them: cached balance reads, Shopify deliveries.
    app.wsgi_app = hot.ShopifyIntake(hot.BalanceReads(app.wsgi_app, runtime), runtime, app.json)

    if settings.jobs_mode == "thread":
        from .jobs.worker import run_periodic_in_process

        app.extensions["loyalty_periodic_stop"] = stop = threading.Event()
        run_periodic_in_process(runtime.run_task, stop)
    return app


class CookieOnlyWhenSent(SecureCookieSessionInterface):
    """Flask's signed-cookie session, opened only when the request carries the cookie: the hot
    paths (webhooks, the widget's API) never send one, and building the signer for them cost a
    fifth of a webhook's request-side time. A request without the cookie gets an empty session,
    exactly as Flask's own interface gives it; a session someone writes to is saved as before."""

    def open_session(self, app, request):
        if not app.secret_key:
            return None
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def refuse_undecryptable(runtime) -> None:
    """Refuse to start (ConfigError) when the stored secrets do not open with the configured keys:
    a wrong LOYALTY_ENCRYPTION_KEY used to start fine and then fail every webhook. A database
    that is not reachable or not migrated yet is not this check's business (/readyz reports it)."""
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from .settings import ConfigError

    try:
        problem = runtime.shops.encryption_problem()
    except SQLAlchemyError as exc:
        logging.getLogger(__name__).warning("stored secrets not checked at start: %s", type(exc).__name__)
        return
    if problem:
        runtime.close()
        raise ConfigError(problem)


def _request_ids(app: Flask) -> None:
    from .logs import log_request, request_id, request_id_for

    @app.before_request
    def _start():
        rid = request_id_for(request.headers.get("X-Request-Id", ""))
        g.request_id = rid
        g.started = time.perf_counter()
        request_id.set(rid)

    @app.after_request
    def _finish(response):
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-Id"] = rid
            log_request(request.method, request.path, response.status_code, g.started)
        return response

    @app.teardown_request
    def _clear(_exc):
        request_id.set(None)
