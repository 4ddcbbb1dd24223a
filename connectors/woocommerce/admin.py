"""The WooCommerce REST API v3 through the `woocommerce` library (wc-api-python): over http it
signs with OAuth 1.0a, over https with Basic auth. Errors are retryable (timeouts, 429, 5xx) or
terminal (401/403/400...), like the Shopify client's."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import requests
from woocommerce import API

from plugin_app.domain.errors import PlatformError, PlatformUnavailable
from plugin_app.domain.ports import CatalogSource, CustomerDirectory, PlatformActions, PlatformCustomer, WooOrderSource
from plugin_app.domain.catalog import ProductFacts

# Our WordPress plugin's read of the loyalty plugin a merchant leaves (connectors/woocommerce/
# wordpress/loyalty-widget.php, loyalty_export_handle). The `wc-` namespace is what lets
# WooCommerce authenticate it with the same REST keys (WC_REST_Authentication::is_request_to_rest_api).
EXPORT_NAMESPACE = "wc-loyalty/v1"
EXPORT_PLUGINS = ("wc_points_rewards", "wployalty", "yith", "mycred")
EXPORT_KINDS = ("balances", "history")
EXPORT_MAX_PAGE = 1000  # LOYALTY_EXPORT_MAX in the plugin

# order.restored: a trashed order taken out of the bin (WooCommerce's webhook topic hooks,
# includes/class-wc-webhook.php): without it a restored order never earns again.
WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored", "customer.created",
                  "customer.updated", "product.created", "product.updated", "product.deleted")


@lru_cache(maxsize=64)
def _fixed_zone(offset_minutes: int) -> str | None:
    """An IANA zone that is always at this offset (for WordPress offsets like +5:30)."""
    jan, jul = datetime(2026, 1, 15, tzinfo=timezone.utc), datetime(2026, 7, 15, tzinfo=timezone.utc)
    want = timedelta(minutes=offset_minutes)
    for name in sorted(available_timezones()):
        zone = ZoneInfo(name)
        if jan.astimezone(zone).utcoffset() == want == jul.astimezone(zone).utcoffset():
            return name
    return None


def zone_name(timezone_string: str | None, gmt_offset) -> str:
    """The store's time zone as an IANA name: WordPress's `timezone_string`, or, when the site
    is set to a bare UTC offset (`timezone_string` empty), a zone fixed at `gmt_offset` hours."""
    if timezone_string:
        try:
            ZoneInfo(timezone_string)
            return timezone_string
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        minutes = round(float(gmt_offset or 0) * 60)
    except (TypeError, ValueError):
        return "UTC"
    if minutes == 0:
        return "UTC"
    if minutes % 60 == 0 and -12 <= minutes // 60 <= 14:
        return f"Etc/GMT{-minutes // 60:+d}"  # POSIX sign: Etc/GMT-2 is two hours ahead of UTC
    return _fixed_zone(minutes) or "UTC"


def _csv_line(record: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(record)
    return out.getvalue()


class WooError(PlatformError):
    """Every error of this client. Services know it only as domain.errors.PlatformError (a
    refusal), and `Retryable` as domain.errors.PlatformUnavailable."""
    retryable = False


class Retryable(WooError, PlatformUnavailable):
    retryable = True


class Terminal(WooError):
    pass


class Missing(Terminal):
    """404: the resource does not exist (any more)."""


class WooAdmin(PlatformActions, CatalogSource, WooOrderSource, CustomerDirectory):
    """A store's REST API: implements the platform ports the services declare (domain.ports)."""

    def __init__(self, url: str, key: str, secret: str, *, timeout: int = 15, timezone: str = "UTC") -> None:
        self.url, self.timeout, self.timezone = url.rstrip("/"), timeout, timezone
        self.api = API(url=self.url, consumer_key=key, consumer_secret=secret, version="wc/v3",
                       timeout=timeout)
        self.export_api = API(url=self.url, consumer_key=key, consumer_secret=secret, version=EXPORT_NAMESPACE,
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
        if r.status_code == 404:
            raise Missing(f"{r.status_code}: {r.text[:300]}")
        if r.status_code >= 400:
            raise Terminal(f"{r.status_code}: {r.text[:300]}")
        return r.json(), r.headers

    # -- switching in: the old loyalty plugin's tables, read by our WordPress plugin ----------
    def loyalty_export_lines(self, plugin: str, kind: str = "balances", *, page_size: int = 500,
                             point_type: str | None = None) -> Iterator[str]:
        """The CSV text of a loyalty plugin's balances or history on this store, one record a
        line (the header first), read page by page from our WordPress plugin's
        `GET /wp-json/wc-loyalty/v1/export/<plugin>` (keyset pages: `after_id` is the previous
        page's `X-Loyalty-Next`; a page without it is the last). A generator: one page is held at a
        time, whatever the table's size. The layouts are domain.import_formats_woo's.
        Raises Missing (404) when the plugin's tables are not in the store's database (or our
        WordPress plugin is too old to have the route), Terminal/Retryable as every call does."""
        if plugin not in EXPORT_PLUGINS or kind not in EXPORT_KINDS:
            raise ValueError(f"no export for {plugin!r} {kind!r}")
        size = max(1, min(EXPORT_MAX_PAGE, int(page_size)))
        after, header = 0, None
        while True:
            params = {"kind": kind, "after_id": after, "limit": size}
            if point_type:
                params["point_type"] = point_type
            text, headers = self._export_page(f"export/{plugin}", params)
            records = [r for r in csv.reader(io.StringIO(text)) if r]
            if not records:
                raise Terminal(f"the export of {plugin} {kind} answered no header row")
            if header is None:
                header = records[0]
                yield _csv_line(header)
            elif records[0] != header:
                raise Terminal(f"the export of {plugin} {kind} changed its columns between pages")
            for record in records[1:]:
                yield _csv_line(record)
            following = headers.get("X-Loyalty-Next")
            if not following or len(records) == 1:
                return
            if not following.isdigit() or int(following) <= after:
                raise Terminal(f"the export of {plugin} {kind} did not move forward (after {after}, next {following})")
            after = int(following)

    def _export_page(self, endpoint: str, params: dict) -> tuple[str, dict]:
        try:
            r = self.export_api.get(endpoint, params=params)
        except requests.RequestException as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from None
        if r.status_code == 429 or r.status_code >= 500:
            raise Retryable(f"{r.status_code}: {r.text[:200]}")
        if r.status_code == 404:
            raise Missing(f"{r.status_code}: {r.text[:300]}")
        if r.status_code >= 400:
            raise Terminal(f"{r.status_code}: {r.text[:300]}")
        return r.text, r.headers

    # -- the store -----------------------------------------------------------------------
    def check(self) -> dict:
        """Prove the keys work (and can write); returns the store's settings we need."""
        settings, _ = self._call("get", "settings/general")
        values = {s["id"]: s.get("value") for s in settings}
        return {"currency": values.get("woocommerce_currency") or "EUR", "timezone": self.store_timezone()}

    def store_timezone(self) -> str:
        """WordPress's REST index (`GET /wp-json/`, public) reports `timezone_string` and
        `gmt_offset` (reference/platforms.md); WooCommerce's settings do not."""
        try:
            r = requests.get(f"{self.url}/wp-json/", timeout=self.timeout)
        except requests.RequestException as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from None
        if r.status_code >= 400:
            raise (Retryable if r.status_code == 429 or r.status_code >= 500 else Terminal)(
                f"{r.status_code} from /wp-json/: {r.text[:200]}")
        index = r.json()
        return zone_name(index.get("timezone_string"), index.get("gmt_offset"))

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
        """Newest-modified first. WooCommerce 5.5 ignores `modified_after` (added later) and
        answers every order: callers stop paging on the dates themselves."""
        orders, headers = self._call("get", "orders", modified_after=since, orderby="modified", order="desc",
                                     page=page, per_page=per_page, dates_are_gmt="true")
        return orders, page < int(headers.get("X-WP-TotalPages", "1") or 1)

    def orders_created_after(self, after: str | None, page: int = 1, per_page: int = 100) -> tuple[list[dict], int, int]:
        """A page of the orders created after `after` (ISO time, UTC; None: all), oldest id
        first, and the totals WordPress sends in headers: (orders, X-WP-TotalPages, X-WP-Total).
        Ordered by id ascending so that orders placed while a backfill pages through them land
        on later pages and no page shifts under it. `after`: "Limit response to resources
        published after a given ISO8601 compliant date"; orderby takes `id`
        (https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders); per_page is
        1 to 100, and the totals come as X-WP-Total / X-WP-TotalPages
        (https://developer.wordpress.org/rest-api/using-the-rest-api/pagination/)."""
        params = dict(orderby="id", order="asc", page=page, per_page=max(1, min(per_page, 100)))
        if after:
            params.update(after=after, dates_are_gmt="true")
        orders, headers = self._call("get", "orders", **params)
        return orders, int(headers.get("X-WP-TotalPages", "1") or 1), int(headers.get("X-WP-Total", "0") or 0)

    def order_refunds(self, order_id) -> list[dict]:
        """The order's refunds with their lines (`line_items`, `shipping_lines`: negative
        quantities and totals), which the order's own `refunds[]` lacks."""
        refunds, _ = self._call("get", f"orders/{order_id}/refunds", per_page=100)
        return refunds

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

    # -- customers by e-mail ----------------------------------------------------------------
    def customers_by_email(self, emails: list[str]) -> list[PlatformCustomer]:
        """`GET customers?email=<e>&role=all`, one request per e-mail: the REST API filters by one
        address only. WC_REST_Customers_V1_Controller::get_items (the v3 controller inherits it;
        includes/rest-api/Controllers/Version1/class-wc-rest-customers-v1-controller.php) turns
        `email` into a WP_User_Query search on the `user_email` column, and `role` defaults to
        "customer": `all` finds a user of any role (a subscriber who ordered is a member too).
        Only exact matches (any case) are kept."""
        out: list[PlatformCustomer] = []
        for email in dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()):
            found, _ = self._call("get", "customers", email=email, role="all", per_page=10)
            for c in found or []:
                if str(c.get("email") or "").strip().lower() == email and c.get("id"):
                    name = " ".join(x for x in (c.get("first_name"), c.get("last_name")) if x) or None
                    out.append(PlatformCustomer(str(c["id"]), email, name))
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
            "email_restrictions": [email] if email else [], "date_expires": self._local(ends_at),
            "free_shipping": bool(free_shipping)})
        self._check_expiry(coupon, ends_at)
        return str(coupon["id"])

    def _local(self, at: str) -> str:
        """`date_expires` is read in the site's time zone; `date_expires_gmt` is ignored on
        write (WC_Coupon has no set_date_expires_gmt; reference/platforms.md)."""
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        return when.astimezone(ZoneInfo(self.timezone)).replace(tzinfo=None).isoformat(timespec="seconds")

    def _check_expiry(self, coupon: dict, ends_at: str) -> None:
        """Read the coupon back: a code that never expires must not be handed out."""
        stored, _ = self._call("get", f"coupons/{coupon['id']}")
        want = datetime.fromisoformat(ends_at.replace("Z", "+00:00"))
        want = (want if want.tzinfo else want.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
        got = stored.get("date_expires_gmt")
        at = datetime.fromisoformat(str(got).replace("Z", "+00:00")) if got else None
        if at is None or abs((at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at) - want) > timedelta(seconds=1):
            try:
                self._call("delete", f"coupons/{coupon['id']}", force="true")
            except WooError:
                pass  # the error below says what matters
            raise Terminal(f"the store did not keep the coupon's expiry ({want.isoformat()} asked, "
                           f"{got or 'none'} stored); the coupon was deleted")

    def set_customer_fields(self, customers: list[tuple[str, dict[str, str]]]) -> int:
        """Loyalty fields as customer meta (`loyalty_tier`, `loyalty_points`, `loyalty_credit`,
        and `loyalty_segments`: the handles of the member's segments, comma-separated, empty
        when none: domain.customer_tags), through the batch endpoint, 100 customers per request
        (its limit). A theme or plugin reads them with get_user_meta()."""
        written = 0
        for start in range(0, len(customers), 100):
            chunk = customers[start:start + 100]
            self._call("post", "customers/batch", {"update": [
                {"id": int(cid), "meta_data": [{"key": f"loyalty_{k}", "value": v} for k, v in fields.items()]}
                for cid, fields in chunk]})
            written += len(chunk)
        return written

    def delete_discount(self, discount_id: str) -> None:
        try:
            self._call("delete", f"coupons/{discount_id}", force="true")
        except Missing:
            pass  # already gone: nobody can use it

    def discount_usage(self, discount_id: str) -> int | None:
        """The coupon's read-only `usage_count` (WooCommerce counts an order's coupons when the
        order is placed, and uncounts them when it is cancelled); None when the coupon is gone."""
        try:
            coupon, _ = self._call("get", f"coupons/{discount_id}")
        except Missing:
            return None
        return int(coupon.get("usage_count") or 0)

    def store_credit(self, customer_id: str, amount, currency: str, *, expires_at: str | None = None) -> str:
        raise Terminal("WooCommerce has no store credit; credit is kept in the loyalty ledger")
