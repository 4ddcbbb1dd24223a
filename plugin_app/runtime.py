"""The composition root: builds the database, queue and services for one process, and is the
one place that picks the adapters behind the services' ports (domain.ports): the platform
connectors (connectors/), or the demo shops' local codes, for `platform_for`; SMTP or nothing for
mail; httpx for webhooks. Tests pass stand-ins (adapters.mail.RecordingMailer, …) here."""
from __future__ import annotations

from .adapters.http import HttpxPoster
from .adapters.local import LocalCodes
from .adapters.mail import NullMailer, SmtpMailer
from .crypto import box_for
from .domain.ports import (CatalogSource, Clock, Mailer, OrderHistory, PlatformActions, SystemClock,
                           WebhookPoster)
from .failpoints import make as make_failpoints
from .jobs import context, queues, tasks
from connectors.shopify import translate as shopify_translate
from connectors.woocommerce import translate as woo_translate
from connectors.woocommerce import webhooks as woo_webhooks

from .services import awards, handlers, platform
from .services.platform import PlatformSync
from .services.achievements import Achievements
from .services.leaderboard import Leaderboards
from .services.survey import Surveys
from .services.actions import ActionService
from .services.adjustments import Adjustments
from .services.expiry import ExpiryService
from .services.flow import FlowActions, FlowLifecycle, FlowTriggers
from .services.analytics import Analytics
from .services.finance import Finance
from .services.backfill import Backfills
from .services.imports import Imports
from .services.customer_fields import CustomerFields
from .services.notify import Notifier
from .services.cart import CartService
from .services.catalog import Catalog
from .services.change_preview import ChangePreview
from .services.simulator import Simulations
from .services.inbox import Inbox
from .services.intake import GroupCommit
from .services.ratelimit import RateLimiter
from .services.ledger import Ledger
from .services.members import Members
from .services.member_intake import MemberIntake
from .services.exports import Exports
from .services.orders import OrderService
from .services.program import Programs
from .services.reconcile import Reconciler, WooReconciler
from .services.referrals import ReferralService
from .services.widget import WidgetService
from .services.extensions import ExtensionViews
from .services.woo_refunds import RefundLines
from .services.shops import Shops
from .services.store_credit import StoreCreditMirror
from .services.segments import SegmentService
from .services.tiers import TierService
from .settings import Settings
from .storage.db import Database


class Runtime:
    def __init__(self, settings: Settings, clock: Clock | None = None, *, mailer: Mailer | None = None,
                 poster: WebhookPoster | None = None) -> None:
        """`mailer` and `poster` replace the adapters the settings call for (tests)."""
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_url)
        self.box = box_for(settings)
        if settings.jobs_mode == "rq":
            self.queue = queues.RQQueue(settings.redis_url)
        elif settings.jobs_mode == "eager":
            self.queue = queues.EagerQueue(self.run_task)
        else:
            self.queue = queues.ThreadQueue(self.run_task)
        self.ledger = Ledger(self.db, self.clock)
        self.members = Members(self.db, self.clock)
        self.shops = Shops(self.db, self.box, self.clock)
        self.programs = Programs(self.db, self.clock)
        self.adjustments = Adjustments(self.ledger, self.programs, self.clock)
        self.tiers = TierService(self.db, self.ledger, self.programs, self.clock)
        self.orders = OrderService(self.db, self.ledger, self.members, self.programs, self.clock)
        self.actions = ActionService(self.db, self.ledger, self.members, self.programs, self.clock)
        self.expiry = ExpiryService(self.db, self.ledger, self.programs, self.clock)
        self.inbox = Inbox(self.db, self.queue.enqueue, clock=self.clock,
                           lease_seconds=settings.inbox_lease_seconds,
                           max_attempts=settings.inbox_max_attempts,
                           sweep_after_seconds=settings.sweep_after_seconds,
                           failpoint=make_failpoints(settings.failpoints),
                           doorbell=queues.RedisBell(self.queue) if settings.jobs_mode == "rq" else None)
        self.intake = GroupCommit(self.inbox)
        self.rate_limiter = RateLimiter(self.queue.redis if settings.jobs_mode == "rq" else None)
        self.inbox.register("internal", awards.TOPIC, awards.make_handler(self.actions))
        self.cart = CartService(self.db, self.ledger, self.members, self.programs, self.tiers,
                                self.platform_for, self.clock)
        self.referrals = ReferralService(self.db, self.ledger, self.members, self.programs, self.shops,
                                         self.platform_for, self.clock)
        self.platform = PlatformSync(self.db, self.shops, self.members, self.orders, self.actions,
                                     self.cart, self.clock, referrals=self.referrals)
        self.catalog = Catalog(self.db, self.catalog_source_for, self._platform_of,
                               lambda shop_id: self.programs.current(shop_id).program, self.queue.enqueue, self.clock,
                               recent_program=lambda shop_id: self.programs.for_reading(shop_id).program)
        self.orders.catalog = self.cart.catalog = self.platform.catalog = self.catalog
        self.imports = Imports(self.db, self.ledger, self.programs, self.queue.enqueue, self.clock,
                               woo_lines=lambda shop_id, plugin, kind: self.woo_admin_for(shop_id).loyalty_export_lines(plugin, kind),
                               directory_for=self.customer_directory_for,
                               failpoint=make_failpoints(settings.failpoints))
        self.analytics = Analytics(self.db, self.programs, funnel=self.referrals.funnel, clock=self.clock)
        self.analytics.enqueue = self.queue.enqueue
        self.programs.on_timezone_change = self.analytics.rebuild_later  # the rollups on the new zone's days
        self.finance = Finance(self.db, self.programs, self.clock)
        self.notifier = Notifier(self.db, self.programs, self.shops, mailer or self._mailer(settings),
                                 poster or HttpxPoster(), settings.app_url,
                                 settings.secret_key or "dev-only-not-secret", clock=self.clock)
        self.notifier.flow = FlowTriggers(self.shopify_admin_for)
        self.flow_lifecycle = FlowLifecycle(self.db, self.shops)
        self.flow_actions = FlowActions(self.db, self.shops, self.members, self.adjustments, self.actions,
                                        self.programs, self.tiers, self.clock)
        self.store_credit = StoreCreditMirror(self.db, self.programs, self.shopify_admin_for, self.clock,
                                              ledger=self.ledger)
        self.achievements = Achievements(self.db, self.ledger, self.programs, self.clock)
        self.segments = SegmentService(self.db, self.programs, self.clock)
        self.segments.catalog = self.catalog
        self.segments.enqueue, self.segments.sync_members = self.queue.enqueue, settings.segment_sync_members
        self.platform.segments = self.segments
        self.db.dispatch = handlers.register(handlers.Bus(), tiers=self.tiers, notifier=self.notifier,
                                             store_credit=self.store_credit, achievements=self.achievements,
                                             segments=self.segments)
        self.customer_fields = CustomerFields(self.db, self.programs, self.shops, self.platform_for, self.clock)
        self.exports = Exports(self.db, self.programs)
        self.member_intake = MemberIntake(self.db, self.members, self.customer_directory_for, self.clock)
        self.change_preview = ChangePreview(self.db, self.programs, self.tiers, self.clock)
        self.widget = WidgetService(self.db, self.programs, self.tiers, self.referrals, self.clock,
                                    redis=self.queue.redis if settings.jobs_mode == "rq" else None)
        self.widget.achievements = self.achievements
        self.leaderboards = Leaderboards(self.db, self.programs, self.members, self.clock)
        self.widget.leaderboards = self.leaderboards
        self.surveys = Surveys(self.db, self.ledger, self.programs, self.members, self.clock)
        self.widget.surveys = self.surveys
        self.extension_views = ExtensionViews(self.db, self.programs, self.widget, self.cart, self.orders,
                                              self.members, self.clock)
        shopify_handler = platform.make_handler(shopify_translate.events, self.platform, self.shops)
        for topic in shopify_translate.TOPICS:
            self.inbox.register("shopify", topic, shopify_handler)
        woo_handler = platform.make_handler(woo_translate.events, self.platform, self.shops,
                                            prepare=RefundLines(self.db, self.woo_admin_for).enrich)
        for topic in woo_translate.TOPICS:
            self.inbox.register("woocommerce", topic, woo_handler)
        self.woo_reconciler = WooReconciler(self.db, self.inbox, self.woo_admin_for, self.shops,
                                            delivery_url=self.woo_delivery_url, dedupe=woo_webhooks.dedupe_key,
                                            clock=self.clock)
        self.backfills = Backfills(self.db, self.orders, self.tiers, self.programs, self.history_for,
                                   self._platform_of, self.queue.enqueue, self.clock,
                                   failpoint=make_failpoints(settings.failpoints))
        self.simulations = Simulations(self.db, self.programs, self.queue.enqueue, self.clock)
        self.reconciler = Reconciler(self.db, self.inbox, self.shopify_admin_for,
                                     callback_url=f"{settings.app_url}/webhooks/shopify",
                                     topic=shopify_translate.RECONCILE_TOPIC, clock=self.clock,
                                     custom_app=self.shopify_custom_app)

    @staticmethod
    def _mailer(settings: Settings) -> Mailer:
        """The deployment's SMTP relay; without SMTP_HOST, none: emails wait, unsent."""
        if not settings.smtp_host:
            return NullMailer()
        return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.smtp_user, settings.smtp_password,
                          settings.smtp_starttls, settings.mail_from)

    # -- Shopify: the Admin API client for a shop, and installs -----------------------------
    shopify_http = None  # an httpx.Client to route Shopify calls elsewhere (tests, stand-ins)

    def shopify_admin(self, credentials: dict):
        from connectors.shopify.admin import ShopifyAdmin, http_client_for

        http = self.shopify_http or http_client_for(credentials.get("api_base_url"))
        return ShopifyAdmin(credentials["domain"], credentials["access_token"], self.settings.shopify_api_version,
                            client_id=self.settings.shopify_api_key or "custom-app",
                            client_secret=self.settings.shopify_api_secret or "-", http_client=http)

    def shopify_custom_app(self, shop_id: int) -> bool:
        """A shop registered with a custom app's own secret (`loyalty shops add-shopify`) has no
        app configuration: its webhooks are shop-scoped subscriptions we keep up."""
        return bool(self.shops.credentials(shop_id).get("api_secret"))

    def shopify_admin_for(self, shop_id: int):
        """The Admin API client for a shop, refreshing an expiring token first (and storing
        the new pair at once: the old refresh token is single-use)."""
        import time

        from connectors.shopify import auth

        shop = self.shops.get(shop_id)
        if shop is None or shop.status != "installed":  # no calls out for an uninstalled shop
            raise PermissionError(f"shop {shop_id} is not installed")
        creds = {**self.shops.credentials(shop_id), "domain": shop.domain}
        if creds.get("refresh_token") and (creds.get("expires_at") or 0) < time.time() + 300:
            fresh = auth.refresh(shop.domain, creds, self.settings.shopify_api_key or "",
                                 self.settings.shopify_api_secret or "", self.shopify_http)
            creds = {**creds, **fresh.as_credentials()}
            self.shops.register("shopify", shop.domain, currency=shop.currency, timezone=shop.timezone,
                                name=shop.name, credentials=creds)
        return self.shopify_admin(creds)

    def platform_for(self, shop_id: int) -> PlatformActions:
        """The platform actions port for a shop (discount codes, customer fields)."""
        shop = self.shops.get(shop_id)
        if shop is not None and shop.platform == "shopify":
            return self.shopify_admin_for(shop_id)
        if shop is not None and shop.platform == "woocommerce":
            return self.woo_admin_for(shop_id)
        return LocalCodes()

    def _platform_of(self, shop_id: int) -> str | None:
        shop = self.shops.get(shop_id)
        return shop.platform if shop is not None else None

    def catalog_source_for(self, shop_id: int) -> CatalogSource | None:
        """Where a shop's product facts come from: its platform's Admin API (none for demo shops)."""
        platform = self._platform_of(shop_id)
        if platform == "shopify":
            return self.shopify_admin_for(shop_id)
        if platform == "woocommerce":
            return self.woo_admin_for(shop_id)
        return None

    history_poll_seconds = 5.0  # how often a backfill asks Shopify whether its export is written

    def history_for(self, shop_id: int) -> OrderHistory:
        """A shop's past orders, for a history backfill (Shopify's bulk export, WooCommerce's pages)."""
        platform = self._platform_of(shop_id)
        if platform == "shopify":
            from connectors.shopify.history import ShopifyHistory

            return ShopifyHistory(self.shopify_admin_for(shop_id), poll_seconds=self.history_poll_seconds)
        if platform == "woocommerce":
            from connectors.woocommerce.history import WooHistory

            return WooHistory(self.woo_admin_for(shop_id))
        raise PermissionError(f"shop {shop_id} has no platform to read past orders from")
    def customer_directory_for(self, shop_id: int):
        """Where a shop's customers are looked up by e-mail (domain.ports.CustomerDirectory): its
        platform's Admin API; None for demo shops (their customers exist only as members)."""
        platform = self._platform_of(shop_id)
        if platform == "shopify":
            return self.shopify_admin_for(shop_id)
        if platform == "woocommerce":
            return self.woo_admin_for(shop_id)
        return None

    def woo_admin_for(self, shop_id: int):
        from connectors.woocommerce.admin import WooAdmin

        shop = self.shops.get(shop_id)
        if shop is None or shop.status != "installed":
            raise PermissionError(f"shop {shop_id} is not installed")
        creds = self.shops.credentials(shop_id)
        return WooAdmin(shop.domain, creds["consumer_key"], creds["consumer_secret"], timezone=shop.timezone)

    def connect_woocommerce(self, url: str, key: str, secret: str, *, webhook_secret: str | None = None,
                            verify: bool = True, currency: str = "EUR", timezone: str = "UTC") -> dict:
        """Check the REST keys, record the store (keys and our webhook secret encrypted), give it
        the default program, and register our webhooks with our own secret. Safe to repeat."""
        import secrets as _secrets

        from connectors.woocommerce.admin import WooAdmin

        url = url.rstrip("/")
        existing = self.shops.by_domain("woocommerce", url)
        old = self.shops.credentials(existing.id) if existing else {}
        hook_secret = webhook_secret or old.get("webhook_secret") or _secrets.token_urlsafe(32)
        admin = WooAdmin(url, key, secret)
        if verify:  # the store's currency and time zone, as the store has them
            store = admin.check()
            currency, timezone = store["currency"], store["timezone"]
        shop, api_key = self.shops.register("woocommerce", url, currency=currency, timezone=timezone, name=url,
                                            credentials={"consumer_key": key, "consumer_secret": secret,
                                                         "webhook_secret": hook_secret})
        self.programs.current(shop.id)
        hooks = admin.subscribe(self.woo_delivery_url(shop.id), hook_secret) if verify else ["skipped: --no-verify"]
        return {"shop_id": shop.id, "admin_api_key": api_key, "webhook_secret": hook_secret, "url": url,
                "currency": shop.currency, "timezone": shop.timezone, "webhooks": hooks}

    def woo_delivery_url(self, shop_id: int) -> str:
        return f"{self.settings.app_url}/webhooks/woocommerce/{shop_id}"

    def install_shopify(self, domain: str, credentials: dict):
        from .services.install import install

        creds = {**credentials, "domain": domain}
        shop, _key, _subscribed = install(self.shops, self.programs, domain, creds,
                                          callback_url=f"{self.settings.app_url}/webhooks/shopify",
                                          admin=self.shopify_admin)
        return shop

    def run_task(self, task: tasks.Task, args: tuple) -> object:
        """Run a task (its function, or its name in `jobs.tasks.TASKS`) now, in this thread,
        against this runtime (lent to the call only: see `jobs.context`)."""
        with context.lent(self):
            return tasks.run(task, args)

    def close(self) -> None:
        close = getattr(self.notifier.poster, "close", None)
        if close is not None:
            close()
        self.db.dispose()
