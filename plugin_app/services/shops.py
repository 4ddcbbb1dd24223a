"""Shops (tenants): registration, credentials encrypted at rest, admin API keys."""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from ..crypto import SecretBox, UndecryptableSecret
from ..domain.errors import InvalidRequest
from ..domain.money import valid_currency
from ..domain.ports import Clock, SystemClock
from ..storage.db import Database
from ..storage.shops_repo import ShopsRepo
from .program import ensure_default

PLATFORMS = {"shopify", "woocommerce", "demo"}


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Shop:
    id: int
    platform: str
    domain: str
    name: str
    currency: str
    timezone: str
    status: str
    widget_key: str | None = None
    origins: tuple[str, ...] = ()

    @property
    def storefront_origins(self) -> set[str]:
        """Origins whose browsers may call the widget API: the shop's own, and the ones the
        merchant added (custom domains)."""
        base = self.domain if "://" in self.domain else f"https://{self.domain}"
        from urllib.parse import urlsplit
        parts = urlsplit(base)
        return {f"{parts.scheme}://{parts.netloc}", *self.origins}


def _shop(row) -> Shop:
    return Shop(row.id, row.platform, row.domain, row.name, row.currency, row.timezone, row.status,
                row.widget_key, tuple(row.origins or ()))


class Shops:
    CACHE_SECONDS = 30.0  # storefront lookups: a changed key or uninstall shows within this

    def __init__(self, db: Database, box: SecretBox, clock: Clock | None = None) -> None:
        self.db, self.box, self.clock = db, box, clock or SystemClock()
        self._cache: dict[tuple, tuple[float, object]] = {}

    def _cached(self, key: tuple, load, seconds: float | None = None):
        import time

        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = (now + (self.CACHE_SECONDS if seconds is None else seconds), value)
        return value

    def register(self, platform: str, domain: str, *, currency: str = "EUR", timezone: str = "UTC",
                 name: str = "", credentials: dict | None = None) -> tuple[Shop, str]:
        """Create the shop, or re-install it with fresh credentials. Returns the shop and its
        admin API key (kept encrypted, so running this twice returns the same key)."""
        if platform not in PLATFORMS:
            raise InvalidRequest(f"unknown platform {platform!r}")
        if not domain or len(domain) > 255:
            raise InvalidRequest("domain must be 1 to 255 characters")
        if not valid_currency(currency):
            raise InvalidRequest(f"invalid currency {currency!r}")
        now = self.clock.now()
        secret_blob = {"credentials": credentials or {}}
        with self.db.uow() as uow:  # the shop is not known yet: no shop's repositories but its own
            row = uow.shops.by_domain(platform, domain, lock=True)
            if row is None:
                api_key = "lk_" + secrets.token_urlsafe(32)
                secret_blob["admin_api_key"] = api_key
                secret_blob["widget_secret"] = secrets.token_urlsafe(32)
                shop_id = uow.shops.create(
                    platform=platform, domain=domain, name=name or domain, currency=currency,
                    timezone=timezone, status="installed", installed_at=now,
                    widget_key="wk_" + secrets.token_urlsafe(16),
                    admin_api_key_hash=hash_api_key(api_key),
                    credentials=self.box.encrypt(json.dumps(secret_blob)))
            else:
                shop_id = row.id
                old = json.loads(self.box.decrypt(row.credentials))
                api_key = old["admin_api_key"]
                secret_blob["admin_api_key"] = api_key
                secret_blob["widget_secret"] = old.get("widget_secret") or secrets.token_urlsafe(32)
                uow.shops.update(
                    shop_id, status="installed", uninstalled_at=None,
                    widget_key=row.widget_key or "wk_" + secrets.token_urlsafe(16), installed_at=now if row.status != "installed" else row.installed_at,
                    currency=currency, timezone=timezone,
                    credentials=self.box.encrypt(json.dumps(secret_blob)))
            shop = _shop(uow.shops.by_id(shop_id))
            # What a shop needs exists from the start: its default program (version 1). Made
            # lazily inside a posting, it locked the shop row and deadlocked the first postings.
            with uow.shop(shop_id) as new_shop:
                ensure_default(new_shop, now, shop.timezone, shop.currency)
        self._cache.clear()  # new credentials or a re-install: nothing stale may be served
        return shop, api_key

    def get(self, shop_id: int, conn=None) -> Shop | None:
        """The shop (in the caller's unit of work when this thread has one: it joins it).
        `conn` is deprecated (services.notify still passes its connection, read through as
        before); pass nothing."""
        if conn is not None:
            row = ShopsRepo(conn).by_id(shop_id)
            return _shop(row) if row else None
        with self.db.uow(shop_id) as uow:
            row = uow.shops.by_id(shop_id)
        return _shop(row) if row else None

    RECENT_SECONDS = 2.0

    def recent(self, shop_id: int) -> Shop | None:
        """The shop as read at most `RECENT_SECONDS` ago by this process (an uninstall or an
        erasure done here shows at once): for the inbox's handlers, which look at every
        message's shop; a delivery and an uninstall reach the workers in no set order anyway."""
        return self._cached(("recent", shop_id), lambda: self.get(shop_id), self.RECENT_SECONDS)

    def by_domain(self, platform: str, domain: str) -> Shop | None:
        with self.db.uow() as uow:
            row = uow.shops.by_domain(platform, domain)
        return _shop(row) if row else None

    def by_api_key(self, api_key: str) -> Shop | None:
        with self.db.uow() as uow:
            row = uow.shops.installed_by_api_key_hash(hash_api_key(api_key))
        return _shop(row) if row else None

    def by_widget_key(self, key: str) -> Shop | None:
        return self._cached(("wk", key), lambda: self._by_widget_key(key)) if key else None

    def _by_widget_key(self, key: str) -> Shop | None:
        with self.db.uow() as uow:
            row = uow.shops.installed_by_widget_key(key)
        return _shop(row) if row else None

    def widget_secret(self, shop_id: int) -> str:
        return self._cached(("ws", shop_id), lambda: self._widget_secret(shop_id))

    def _widget_secret(self, shop_id: int) -> str:
        with self.db.uow(shop_id) as uow:
            blob = uow.shops.credentials(shop_id)
        return json.loads(self.box.decrypt(blob))["widget_secret"]

    def credentials(self, shop_id: int) -> dict:
        with self.db.uow(shop_id) as uow:
            blob = uow.shops.credentials(shop_id)
        return json.loads(self.box.decrypt(blob))["credentials"]

    def encryption_problem(self) -> str | None:
        """None when the stored secrets open with the configured keys (or none are stored yet),
        else what is wrong, naming LOYALTY_ENCRYPTION_KEY. Reads the oldest and the newest shop:
        a wrong key fails both, a key dropped too early during a rotation fails the oldest.
        Database errors propagate (the caller knows whether storage is required yet)."""
        with self.db.uow() as uow:
            rows = uow.shops.oldest_and_newest_credentials()
        for row in rows:
            try:
                self.box.decrypt(row.credentials)
            except UndecryptableSecret:
                return (f"LOYALTY_ENCRYPTION_KEY cannot decrypt the secrets stored for shop {row.id}: set it to "
                        "the key they were encrypted with (during a rotation, the new key first, then the old one, "
                        "comma-separated)")
        return None

    def signing(self, platform: str, domain: str, app_secrets: list[str]) -> tuple[Shop | None, list[str]]:
        """The shop and the secrets its webhooks may be signed with: its own (custom apps,
        WooCommerce), current first, else the app's. Without a shop, the app's secrets.
        Cached briefly (webhook intake's hot path); registering a shop clears the cache."""
        return self._cached(("sign", platform, domain, tuple(app_secrets)),
                            lambda: self._signing(platform, domain, app_secrets))

    def _signing(self, platform: str, domain: str, app_secrets: list[str]) -> tuple[Shop | None, list[str]]:
        shop = self.by_domain(platform, domain)
        if shop is None:
            return None, [s for s in app_secrets if s]
        creds = self.credentials(shop.id)
        own = [creds.get("api_secret"), creds.get("old_api_secret")]
        own = [s for s in own if s]
        return shop, own or [s for s in app_secrets if s]

    def set_origins(self, shop_id: int, origins: list[str]) -> None:
        with self.db.uow(shop_id) as uow:
            uow.shops.update(shop_id, origins=origins)
        self._cache.clear()

    def uninstall(self, shop_id: int) -> None:
        with self.db.uow(shop_id) as uow:
            uow.shops.update(shop_id, status="uninstalled", uninstalled_at=self.clock.now())
        self._cache.clear()
