"""What the widget API's view (storefront.py) and the balance read's fast path (hot.py) share:
one definition of each rule, so the two answer alike."""
from __future__ import annotations

from typing import Mapping

from connectors.shopify import proxy as shopify_proxy
from ..i18n import LOCALES
from ..services import identity

# WSGI environ keys the fast path hands a request over to the view with:
IDENTIFIED = "loyalty.storefront.identified"  # (shop, customer id or None): the token checked
GUARDED = "loyalty.storefront.guarded"  # (seconds to wait or 0, the cached summary or None): counted

# A member's own numbers, briefly, and only for the same shopper: the URL is the same for a guest
# and for whoever signs in a moment later, so the browser must key its cache on the identity too.
SUMMARY_HEADERS = {"Cache-Control": "private, max-age=1", "Vary": "Authorization"}


def locale_of(value: str | None) -> str | None:
    """A language we ship from the widget's `?locale=` tag (`it`, `it-IT`, `it_IT`), else None."""
    tag = str(value or "").strip().replace("_", "-").lower()[:20]
    lang = tag.split("-")[0]
    return lang if lang in LOCALES else None


def rate_checks(settings, shop, client: str | None) -> list[tuple[str, int]]:
    """The storefront's two limits: the shop's, and one shopper's (or, for guests, one address's)."""
    return [(f"shop:{shop.id}", settings.storefront_shop_rate),
            (f"client:{shop.id}:{client}", settings.storefront_client_rate)]


def cors_headers(shop, origin: str) -> dict[str, str]:
    """What lets the shop's own storefront read an answer (nothing for any other origin)."""
    if shop is None or origin not in shop.storefront_origins:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS", "Access-Control-Max-Age": "600"}


def token_identity(rt, widget_key: str, authorization: str):
    """(shop, customer id or None, None) from the widget key and the optional customer token, or
    (None, None, why it is refused)."""
    shop = rt.shops.by_widget_key(widget_key)
    if shop is None:
        return None, None, "unknown widget key (?shop=)"
    if not authorization:
        return shop, None, None
    scheme, _, token = authorization.partition(" ")
    try:
        if scheme.lower() != "bearer" or identity.peek_shop(token.strip()) != shop.id:
            raise identity.BadToken("the customer token is for another shop")
        return shop, identity.verify(token.strip(), rt.shops.widget_secret(shop.id)).customer_id, None
    except identity.BadToken as exc:
        return None, None, str(exc)


def proxy_identity(rt, args: Mapping[str, str], method: str, url: str):
    """(shop, customer id or None, None) from a request the Shopify connector verifies as Shopify's
    app proxy's, or (None, None, why it is refused)."""
    domain = shopify_proxy.shop_domain(args)
    if domain is None:
        return None, None, "not a Shopify app proxy request"
    s = rt.settings
    shop, secrets = rt.shops.signing("shopify", domain, [s.shopify_api_secret, s.shopify_old_api_secret])
    if shop is None or shop.status != "installed" or not shopify_proxy.verify(method, url, secrets):
        return None, None, "app proxy signature does not match"
    return shop, shopify_proxy.customer_id(args), None
