"""The WooCommerce REST API v3 through the `woocommerce` library (wc-api-python): over http it
signs with OAuth 1.0a, over https with Basic auth. Errors are retryable (timeouts, 429, 5xx) or
terminal (401/403/400...), like the Shopify client's."""
from __future__ import annotations

from decimal import Decimal

import requests
from woocommerce import API

from plugin_app.domain.catalog import ProductFacts

WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted", "customer.created",
                  "product.created", "product.updated", "product.deleted")


class WooError(Exception):
    retryable = False


class Retryable(WooError):
    retryable = True


class Terminal(WooError):
    pass


class WooAdmin:
    def __init__(self, url: str, key: str, secret: str, *, timeout: int = 15) -> None:
        self.url = url.rstrip("/")
        self.api = API(url=self.url, consumer_key=key, consumer_secret=secret, version="wc/v3",
                       timeout=timeout)

    def _call(self, method: str, endpoint: str, data=None, **params):
        try:
            if method in ("post", "put"):
                r = getattr(self.api, method)(endpoint, data, params=params)
            else:
                r = getattr(self.api, method)(endpoint, params=params)
        except requests.RequestException as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from None
        if r.status_code == 429 or r.status_code >= 500:
            raise Retryable(f"{r.status_code}: {r.text[:200]}")
        if r.status_code >= 400:
            raise Terminal(f"{r.status_code}: {r.text[:300]}")
        return r.json(), r.headers

    # -- the store -----------------------------------------------------------------------
    def check(self) -> dict:
        """Prove the keys work (and can write); returns the store's settings we need."""
        settings, _ = self._call("get", "settings/general")
        values = {s["id"]: s.get("value") for s in settings}
        return {"currency": values.get("woocommerce_currency") or "EUR"}

    # -- webhooks ------------------------------------------------------------------------
    def webhooks(self) -> list[dict]:
        hooks, _ = self._call("get", "webhooks", per_page=100)
        return hooks

    def subscribe(self, delivery_url: str, secret: str) -> list[str]:
        """Create missing webhooks (with our secret: the API never returns one it generates),
        and re-enable ours that the store disabled after failures. Returns what changed."""
        changed = []
        ours = {h["topic"]: h for h in self.webhooks() if h.get("delivery_url") == delivery_url}
        for topic in WEBHOOK_TOPICS:
            hook = ours.get(topic)
            if hook is None:
                self._call("post", "webhooks", {"name": f"Loyalty {topic}", "topic": topic,
                                                 "delivery_url": delivery_url, "secret": secret, "status": "active"})
                changed.append(f"created {topic}")
            elif hook.get("status") != "active":
                self._call("put", f"webhooks/{hook['id']}", {"status": "active", "secret": secret})
                changed.append(f"re-enabled {topic}")
        return changed

    # -- orders --------------------------------------------------------------------------
    def orders_modified_since(self, since: str, page: int = 1, per_page: int = 50) -> tuple[list[dict], bool]:
        orders, headers = self._call("get", "orders", modified_after=since, orderby="modified", order="asc",
                                     page=page, per_page=per_page, dates_are_gmt="true")
        return orders, page < int(headers.get("X-WP-TotalPages", "1") or 1)

    def order(self, order_id) -> dict | None:
        try:
            found, _ = self._call("get", f"orders/{order_id}")
        except Terminal:
            return None
        return found

    # -- products: what earning rules match on -------------------------------------------
    def product_facts(self, product_ids: list[str]) -> dict[str, ProductFacts]:
        """Categories and tags of each product, 100 per request (`GET products?include=`). An
        order line's product_id is already the parent of a variation; an id the store does not
        list (deleted, or a variation id) comes back with no facts."""
        from connectors.woocommerce.translate import product_facts

        out: dict[str, ProductFacts] = {}
        ids = [str(i) for i in product_ids if str(i).isdigit()]
        for start in range(0, len(ids), 100):
            chunk = ids[start:start + 100]
            found, _ = self._call("get", "products", include=",".join(chunk), per_page=100)
            for p in found or []:
                facts = product_facts(p)
                if facts is not None:
                    out[facts.product_id] = facts
            for pid in chunk:
                out.setdefault(pid, ProductFacts(pid))
        return out

    # -- coupons (the platform-actions port) ---------------------------------------------
    def create_discount_code(self, *, code: str, title: str, customer_id: str | None, ends_at: str,
                             amount: Decimal | None = None, percent: Decimal | None = None,
                             free_shipping: bool = False) -> str:
        email = None
        if customer_id:  # restricted to the customer's email; a friend's landing code is not
            customer, _ = self._call("get", f"customers/{customer_id}")
            email = customer.get("email")
            if not email:
                raise Terminal("the customer has no email to restrict the coupon to")
        coupon, _ = self._call("post", "coupons", {
            "code": code, "description": title,
            "discount_type": "percent" if percent is not None else "fixed_cart",
            "amount": str(percent if percent is not None else (amount or Decimal(0))),
            "usage_limit": 1, "usage_limit_per_user": 1, "individual_use": False,
            "email_restrictions": [email] if email else [], "date_expires_gmt": ends_at.rstrip("Z"),
            "free_shipping": bool(free_shipping)})
        return str(coupon["id"])

    def set_customer_fields(self, customers: list[tuple[str, dict[str, str]]]) -> int:
        """Loyalty fields as customer meta (`loyalty_tier`, `loyalty_points`, `loyalty_credit`),
        through the batch endpoint, 100 customers per request (its limit)."""
        written = 0
        for start in range(0, len(customers), 100):
            chunk = customers[start:start + 100]
            self._call("post", "customers/batch", {"update": [
                {"id": int(cid), "meta_data": [{"key": f"loyalty_{k}", "value": v} for k, v in fields.items()]}
                for cid, fields in chunk]})
            written += len(chunk)
        return written

    def delete_discount(self, discount_id: str) -> None:
        self._call("delete", f"coupons/{discount_id}", force="true")

    def store_credit(self, customer_id: str, amount, currency: str, *, expires_at: str | None = None) -> str:
        raise Terminal("WooCommerce has no store credit; credit is kept in the loyalty ledger")
