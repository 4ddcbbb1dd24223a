"""Installing a Shopify shop with the app's OAuth tokens: read the shop's currency and time
zone, record it (tokens encrypted), give it the default program, subscribe its webhook topics.
Safe to repeat: a re-install resumes the same shop, members and ledger."""
from __future__ import annotations

import logging
from typing import Callable, Protocol

from .program import Programs
from .shops import Shop, Shops

log = logging.getLogger(__name__)


class ShopAdmin(Protocol):
    def shop_info(self): ...

    def subscribe(self, callback_url: str) -> list[str]: ...


def install(shops: Shops, programs: Programs, domain: str, credentials: dict, *,
            callback_url: str, admin: Callable[[dict], ShopAdmin]) -> tuple[Shop, str, list[str] | str]:
    client = admin(credentials)
    info = client.shop_info()  # also proves the token works
    shop, key = shops.register("shopify", domain, credentials=credentials, name=info.name,
                               currency=info.currency, timezone=info.timezone)
    programs.current(shop.id)
    try:
        subscribed: list[str] | str = client.subscribe(callback_url)
    except Exception as exc:  # installed all the same; the reconciliation job subscribes again
        log.warning("webhook subscription failed for %s: %s", domain, exc)
        subscribed = f"failed: {exc}"
    return shop, key, subscribed
