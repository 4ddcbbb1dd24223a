"""Installing a Shopify shop with the app's OAuth tokens: read the shop's currency and time
zone, record it (tokens encrypted), give it the default program. Its webhook topics come from the
app configuration (shopify.app.toml, app-scoped): subscribing them again per shop would make
Shopify deliver every event twice (once per subscription). Only custom apps, which have no app
configuration, subscribe per shop (`loyalty shops add-shopify`, and reconciliation for them).
Safe to repeat: a re-install resumes the same shop, members and ledger."""
from __future__ import annotations

from typing import Callable

from ..domain.ports import ShopAdmin
from .program import Programs
from .shops import Shop, Shops


def install(shops: Shops, programs: Programs, domain: str, credentials: dict, *,
            callback_url: str, admin: Callable[[dict], ShopAdmin]) -> tuple[Shop, str, str]:
    client = admin(credentials)
    info = client.shop_info()  # also proves the token works
    shop, key = shops.register("shopify", domain, credentials=credentials, name=info.name,
                               currency=info.currency, timezone=info.timezone)
    programs.current(shop.id)
    return shop, key, f"app-scoped from shopify.app.toml ({callback_url})"
