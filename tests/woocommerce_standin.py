"""A local stand-in for a WooCommerce store (reference/platforms.md §10-11): REST API v3 behind
OAuth 1.0a over http (as WooCommerce checks it: the query signature, ±15 min, no reused nonce),
webhooks created with the caller's secret and pinged on creation with an unsigned form body,
deliveries signed over PHP-escaped JSON (`\\/`, `\\u00e9`), orders, customers and coupons."""
from __future__ import annotations

import base64
import bisect
import csv
import hashlib
import hmac
import io
import itertools
import json
import time
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qsl, quote, unquote

TOPICS = {"order.created", "order.updated", "order.deleted", "order.restored", "customer.created",
          "customer.updated", "coupon.created", "product.created", "product.updated", "product.deleted"}


def php_json(payload) -> bytes:
    """What `wp_json_encode` sends: compact, non-ASCII as \\uXXXX, and '/' escaped as '\\/'."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Sender:
    def __init__(self, client, shop_id: int, secret: str, source: str = "http://woo.test/") -> None:
        self.client, self.shop_id, self.secret, self.source = client, shop_id, secret, source

    def deliver(self, topic: str, payload: dict, *, secret: str | None = None, webhook_id: int = 1):
        body = php_json(payload)
        resource, _, event = topic.partition(".")
        return self.client.post(f"/webhooks/woocommerce/{self.shop_id}", data=body, headers={
            "Content-Type": "application/json", "User-Agent": "WooCommerce/9.9.0 Hookshot (WordPress/6.8)",
            "X-WC-Webhook-Source": self.source, "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event, "X-WC-Webhook-Signature": sign(body, secret or self.secret),
            "X-WC-Webhook-ID": str(webhook_id), "X-WC-Webhook-Delivery-ID": hashlib.md5(str(time.time()).encode()).hexdigest()})

    def ping(self, webhook_id: int = 1):
        return self.client.post(f"/webhooks/woocommerce/{self.shop_id}", data=f"webhook_id={webhook_id}",
                                headers={"User-Agent": "WooCommerce/9.9.0 Hookshot (WordPress/6.8)"})


def coupon_code(code: str) -> str:
    """`wc_format_coupon_code`: the `woocommerce_coupon_code` filters (includes/wc-core-functions.php:
    html_entity_decode, wc_sanitize_coupon_code, wc_strtolower), applied by `WC_Coupon::set_code`
    (includes/class-wc-coupon.php) and when an order's coupon items are saved, so a coupon created as
    `LOY-5996A91B0A` is stored and returned as `loy-5996a91b0a` (observed on 5.5.1, platforms.md).
    Simplified: trimmed and lower-cased only (no HTML entity decoding or kses filtering)."""
    return code.strip().lower()


USAGE_STATUSES = ("pending", "processing", "on-hold", "completed")


CENT = Decimal("0.01")
TAX_RATE = Decimal("0.22")  # one standard rate (IT 22%) on lines and shipping; real stores may have several


def _m(value) -> str:
    return str(Decimal(value).quantize(CENT, ROUND_HALF_UP))


def order(order_id: int, status: str = "processing", *, customer_id: int = 12, modified: str = "2026-11-20T10:00:00",
          lines=((101, 2, "50.00"),), refunds=(), coupons=(), shipping: str = "4.90", discount: str = "5.00",
          tax_rate: Decimal = TAX_RATE, billing=None, created: str = "2026-11-20T10:00:00") -> dict:
    """A REST v3 order (`class-wc-rest-orders-v2-controller.php` `get_formatted_item_data`):
    money as strings, line `price` a number. Each line's `total` (given here) is after the
    coupon discount and without tax, `subtotal` before the discount; `discount_total` is what the
    coupons took (spread over the lines by their totals, a simplification of WC_Discounts' per-item
    sorting), `total_tax` the lines' and shipping's tax, `total` what was paid, `tax_lines` one
    line per rate. `refunds[]` carries only id, reason and a negative gross `total`, as
    `get_formatted_item_data` builds it from `get_refunds()`; the refund's lines are at
    `orders/<id>/refunds`. `created` is `date_created_gmt` (UTC; the site is an hour ahead), also
    when it was paid."""
    totals = [Decimal(total) for _, _, total in lines]
    off = Decimal(discount) if coupons else Decimal(0)
    shares = [(off * t / sum(totals)).quantize(CENT) if sum(totals) else Decimal(0) for t in totals]
    if shares:
        shares[-1] += off - sum(shares)
    items = []
    for (lid, qty, total), share in zip(lines, shares):
        net = Decimal(total)
        items.append({"id": lid, "name": "Café mug / blue", "product_id": 500 + lid, "variation_id": 0,
                      "quantity": qty, "tax_class": "", "subtotal": _m(net + share),
                      "subtotal_tax": _m((net + share) * tax_rate), "total": _m(net), "total_tax": _m(net * tax_rate),
                      "taxes": [{"id": 1, "total": _m(net * tax_rate), "subtotal": _m((net + share) * tax_rate)}],
                      "meta_data": [], "sku": "MUG", "price": float(net + share) / qty})
    cart_tax = sum((Decimal(i["total_tax"]) for i in items), Decimal(0))
    shipping_tax = Decimal(_m(Decimal(shipping) * tax_rate))
    total = sum(totals, Decimal(0)) + Decimal(shipping) + cart_tax + shipping_tax
    paid = status in ("processing", "completed", "refunded")
    return {
        "id": order_id, "parent_id": 0, "number": str(order_id), "order_key": f"wc_order_{order_id}",
        "created_via": "checkout", "status": status, "currency": "EUR", "prices_include_tax": False,
        "date_created": (datetime.fromisoformat(created) + timedelta(hours=1)).isoformat(), "date_created_gmt": created,
        "date_modified": modified, "date_modified_gmt": modified,
        "date_paid_gmt": created if paid else None,
        "discount_total": _m(off), "discount_tax": _m(off * tax_rate), "shipping_total": _m(shipping),
        "shipping_tax": _m(shipping_tax), "cart_tax": _m(cart_tax), "total": _m(total),
        "total_tax": _m(cart_tax + shipping_tax), "customer_id": customer_id,
        "billing": billing if billing is not None else {"first_name": "Zoë", "last_name": "Rossi", "email": "zoe@example.org"},
        "line_items": items,
        "tax_lines": [{"id": 1, "rate_code": "IT-IVA-1", "rate_id": 1, "label": "IVA", "compound": False,
                       "tax_total": _m(cart_tax), "shipping_tax_total": _m(shipping_tax), "rate_percent": float(tax_rate * 100)}],
        "shipping_lines": [{"id": 801, "method_title": "Corriere", "method_id": "flat_rate", "total": _m(shipping),
                            "total_tax": _m(shipping_tax)}] if Decimal(shipping) else [],
        # Codes come back lower-cased, as WooCommerce stores them (see `coupon_code` above).
        "coupon_lines": [{"id": 900 + i, "code": coupon_code(c), "discount": _m(off if i == 0 else 0),
                          "discount_tax": _m(off * tax_rate if i == 0 else 0)} for i, c in enumerate(coupons)],
        "refunds": [{"id": rid, "reason": "damaged", "total": f"-{_m(amount)}"} for rid, amount in refunds],
        "_links": {"self": [{"href": f"https://woo.test/wp-json/wc/v3/orders/{order_id}"}]},
    }


def refund_of(order_: dict, refund_id: int, *, lines=(), shipping: bool = False, amount: str | None = None) -> dict:
    """A refund resource as `GET orders/<id>/refunds` answers it
    (`class-wc-rest-order-refunds-v2-controller.php`): `amount` positive, `line_items` and
    `shipping_lines` with negative quantity, total and total_tax (`wc_create_refund` in
    `includes/wc-order-functions.php` stores refunded items that way), each with the refunded
    order item in `meta_data` `_refunded_item_id` (as WooCommerce's own Android app reads it from
    this endpoint: woocommerce-android, `WCRefundShippingLine.getRefundedShippingLineId`).
    `lines` is [(order line id, quantity)]; `amount` defaults to the gross of what is refunded."""
    by_id = {li["id"]: li for li in order_["line_items"]}
    items, gross = [], Decimal(0)
    for lid, qty in lines:
        li = by_id[lid]
        net = Decimal(li["total"]) * qty / li["quantity"]
        tax = Decimal(li["total_tax"]) * qty / li["quantity"]
        items.append({"id": 5000 + lid, "name": li["name"], "product_id": li["product_id"], "variation_id": 0,
                      "quantity": -qty, "subtotal": f"-{_m(net)}", "total": f"-{_m(net)}", "total_tax": f"-{_m(tax)}",
                      "meta_data": [{"id": 9000 + lid, "key": "_refunded_item_id", "value": str(lid)}]})
        gross += Decimal(_m(net)) + Decimal(_m(tax))
    ships = []
    if shipping:
        for s in order_["shipping_lines"]:
            ships.append({"id": 6000 + s["id"], "method_id": s["method_id"], "total": f"-{s['total']}",
                          "total_tax": f"-{s['total_tax']}",
                          "meta_data": [{"id": 9000 + s["id"], "key": "_refunded_item_id", "value": str(s["id"])}]})
            gross += Decimal(s["total"]) + Decimal(s["total_tax"])
    return {"id": refund_id, "date_created_gmt": order_["date_modified_gmt"], "amount": _m(amount or gross),
            "reason": "damaged", "refunded_by": 1, "refunded_payment": False, "meta_data": [],
            "line_items": items, "shipping_lines": ships, "tax_lines": [], "fee_lines": []}


def with_refund(order_: dict, refund: dict, *, store: "WooState | None" = None) -> dict:
    """The order after `wc_create_refund`: the refund in `refunds[]` (negative total). In 5.x the
    parent order is not saved, so `date_modified_gmt` stays (reference/platforms.md, checked on
    5.5.1). With a store, the refund resource is kept for `orders/<id>/refunds`."""
    done = {**order_, "refunds": [*order_["refunds"], {"id": refund["id"], "reason": refund["reason"],
                                                         "total": f"-{refund['amount']}"}]}
    if store is not None:
        store.refunds.setdefault(order_["id"], {})[refund["id"]] = refund
        store.orders[order_["id"]] = done
    return done


def customer(customer_id: int = 12, email: str = "zoe@example.org", *, meta: dict | None = None,
             locale: str | None = None, role: str = "customer", modified: str = "2026-03-01T10:00:00") -> dict:
    """A REST v3 customer as `customer.created` / `customer.updated` deliver it (the schema of
    `includes/rest-api/Controllers/Version3/class-wc-rest-customers-controller.php`): user meta
    plugins add comes in `meta_data` as [{id, key, value}]. WooCommerce itself keeps no birthday.
    Simplified: addresses and avatar left out. WooCommerce leaves the user's `locale` meta out of
    `meta_data` (an internal key: includes/data-stores/class-wc-customer-data-store.php); with
    `locale`, the delivery carries the `loyalty_locale` our WordPress plugin adds through the
    `woocommerce_webhook_payload` filter (connectors/woocommerce/wordpress/loyalty-widget.php).
    `role`: the WordPress role, read-only in the schema ("customer" for a shopper who registered
    at checkout; "subscriber" and a shop's own roles are others); WooCommerce customers have no tags."""
    extra = {"loyalty_locale": locale} if locale is not None else {}
    return {**extra, "id": customer_id, "email": email, "first_name": "Zoe", "last_name": "Vale", "role": role,
            "username": email.split("@")[0], "date_created_gmt": "2026-03-01T10:00:00",
            "date_modified_gmt": modified, "is_paying_customer": False,
            "meta_data": [{"id": 900 + i, "key": k, "value": v} for i, (k, v) in enumerate((meta or {}).items())]}


def product(product_id: int, *, name: str = "Café mug", categories=((15, "uncategorized", "Uncategorized"),),
            tags=(), modified: str = "2026-11-01T09:00:00", price: str = "25.00", parent_id: int = 0) -> dict:
    """A REST v3 product (`GET products`, and the product.created/updated webhook payload, which
    `includes/class-wc-webhook.php` builds by calling the same REST controller). `categories` and
    `tags` are [{id, name, slug}] (`get_taxonomy_terms` in
    `includes/rest-api/Controllers/Version2/class-wc-rest-products-v2-controller.php`); a product
    always has a category (WooCommerce assigns "Uncategorized"). product.deleted sends only
    {"id": N} (`build_payload` in class-wc-webhook.php). Simplified: no images, attributes, stock."""
    return {
        "id": product_id, "name": name, "slug": name.lower().replace(" ", "-"), "type": "simple", "status": "publish",
        "parent_id": parent_id, "date_created_gmt": "2026-10-01T09:00:00", "date_modified": modified,
        "date_modified_gmt": modified, "sku": f"SKU-{product_id}", "price": price, "regular_price": price,
        "sale_price": "", "on_sale": False,
        "categories": [{"id": i, "name": n, "slug": sl} for i, sl, n in categories],
        "tags": [{"id": i, "name": n, "slug": sl} for i, sl, n in tags],
        "variations": [], "meta_data": [],
        "_links": {"self": [{"href": f"https://woo.test/wp-json/wc/v3/products/{product_id}"}]},
    }


class WooState:
    def __init__(self, key: str = "ck_standin", secret: str = "cs_standin", currency: str = "EUR") -> None:
        self.keys = {key: secret}
        self.currency = currency
        self.nonces: set[str] = set()
        self.webhooks: dict[int, dict] = {}
        self.orders: dict[int, dict] = {}
        self.customers: dict[int, dict] = {12: {"id": 12, "email": "zoe@example.org"}}
        self.coupons: dict[int, dict] = {}
        self.refunds: dict[int, dict[int, dict]] = {}  # order id → refund id → refund resource
        # WordPress's Settings > General time zone: `timezone_string` (empty when set as an
        # offset) and `gmt_offset` in hours, as `GET /wp-json/` reports them (WP_REST_Server::get_index).
        self.timezone_string, self.gmt_offset = "Europe/Rome", 1
        self.honours_modified_after = True  # WooCommerce 5.5 ignores it (platforms.md); set False for 5.5
        self.keeps_expiry = True  # False: a store whose coupon writes drop the expiry (a filter, a plugin)
        self.products: dict[int, dict] = {}
        self.product_requests: list[dict] = []
        self.deliver = None  # callable(url, body: bytes, headers) used for pings
        self.counted: set[int] = set()  # orders whose coupon usage is recorded
        self.order_pages: list[int] = []  # the `page` of every orders list request
        self.customer_requests: list[dict] = []  # the query of every GET customers (a list)
        # The old loyalty plugin's tables as our WordPress plugin's export route reads them:
        # plugin -> kind -> [(paging key, row in the export layout)]; a plugin not here is absent.
        self.loyalty: dict[str, dict[str, list[tuple[int, dict]]]] = {}
        self.export_requests: list[dict] = []

    def loyalty_table(self, plugin: str, kind: str, rows: list[dict], key: str = "id") -> None:
        """Put a loyalty plugin's rows (dicts in the export layout) in the store's database,
        paged by `key` (the table's id; for user-meta balances the meta row's id)."""
        self.loyalty.setdefault(plugin, {})[kind] = sorted(
            ((int(r[key]), r) for r in rows), key=lambda kr: kr[0])

    def place(self, o: dict) -> dict:
        """Store an order as the store would after a status change, counting its coupons' usage:
        `wc_update_coupon_usage_counts` (includes/wc-order-functions.php) runs on the pending,
        processing, on-hold, completed and cancelled status hooks: once per order it increases
        each coupon's `usage_count` and appends to `used_by` (the user id, else the billing email);
        cancelling a counted order takes both back. Simplified: no held-coupon bookkeeping."""
        self.orders[o["id"]] = o
        codes = [c["code"] for c in o.get("coupon_lines") or []]
        by_code = {coupon_code(c["code"]): c for c in self.coupons.values()}
        used_by = str(o.get("customer_id") or "") or (o.get("billing") or {}).get("email", "")
        if o["status"] in USAGE_STATUSES and o["id"] not in self.counted:
            self.counted.add(o["id"])
            for code in codes:
                if coupon_code(code) in by_code:
                    c = by_code[coupon_code(code)]
                    c["usage_count"] += 1
                    c["used_by"].append(used_by)
        elif o["status"] == "cancelled" and o["id"] in self.counted:
            self.counted.discard(o["id"])
            for code in codes:
                if coupon_code(code) in by_code:
                    c = by_code[coupon_code(code)]
                    c["usage_count"] -= 1
                    if used_by in c["used_by"]:
                        c["used_by"].remove(used_by)
        return o


def _oauth_ok(request, state: WooState) -> bool:
    """WooCommerce's check of a one-legged OAuth 1.0a request over http (duplicated query
    parameters collapse as PHP's $_GET does: the last wins)."""
    params = OrderedDict(parse_qsl(request.query_string.decode(), keep_blank_values=True))
    signature = params.pop("oauth_signature", "")
    secret = state.keys.get(params.get("oauth_consumer_key", ""))
    if secret is None or params.get("oauth_signature_method") not in ("HMAC-SHA256", "HMAC-SHA1"):
        return False
    if abs(time.time() - int(params.get("oauth_timestamp", "0"))) > 900:
        return False
    nonce = params.get("oauth_nonce", "")
    if not nonce or nonce in state.nonces:
        return False
    norm = OrderedDict((quote(unquote(k)).replace("%", "%25"), quote(unquote(v)).replace("%", "%25"))
                       for k, v in sorted(params.items()))
    base = "&".join([request.method, quote(request.base_url, ""), "%26".join(f"{k}%3D{v}" for k, v in norm.items())])
    algo = hashlib.sha256 if params["oauth_signature_method"] == "HMAC-SHA256" else hashlib.sha1
    expected = base64.b64encode(hmac.new(f"{secret}&".encode(), base.encode(), algo).digest()).decode()
    if not hmac.compare_digest(expected, signature):
        return False
    state.nonces.add(nonce)
    return True


def woo_app(state: WooState):
    from flask import Flask, jsonify, request

    app = Flask("woocommerce-standin")

    def err(status, code, message):
        return jsonify(code=code, message=message, data={"status": status}), status

    @app.before_request
    def auth():
        if request.path == "/wp-json/":  # WordPress's REST index is public
            return None
        if not _oauth_ok(request, state):
            return err(401, "woocommerce_rest_authentication_error", "Invalid signature - provided signature does not match.")

    @app.get("/wp-json/")
    def index():
        """WP_REST_Server::get_index (wp-includes/rest-api/class-wp-rest-server.php): the site's
        name, url, `gmt_offset` and `timezone_string` (empty when the site is set to an offset)."""
        return jsonify({"name": "Woo stand-in", "url": request.host_url.rstrip("/"), "home": request.host_url.rstrip("/"),
                        "gmt_offset": state.gmt_offset, "timezone_string": state.timezone_string,
                        "namespaces": ["wp/v2", "wc/v3"], "routes": {}})

    @app.get("/wp-json/wc/v3/settings/general")
    def general():
        return jsonify([{"id": "woocommerce_currency", "value": state.currency}])

    def public(hook):
        return {k: v for k, v in hook.items() if k != "secret"}  # the secret is write-only

    @app.get("/wp-json/wc/v3/webhooks")
    def hooks():
        return jsonify([public(h) for h in state.webhooks.values()])

    @app.post("/wp-json/wc/v3/webhooks")
    def create_hook():
        body = request.get_json() or {}
        if body.get("topic") not in TOPICS:
            return err(400, "rest_invalid_param", "Invalid parameter(s): topic")
        if not str(body.get("delivery_url", "")).startswith(("http://", "https://")):
            return err(400, "rest_invalid_param", "Invalid parameter(s): delivery_url")
        hook_id = len(state.webhooks) + 1
        hook = {"id": hook_id, "name": body.get("name", ""), "status": body.get("status", "active"),
                "topic": body["topic"], "delivery_url": body["delivery_url"], "secret": body.get("secret") or "generated-unknowable"}
        state.webhooks[hook_id] = hook
        if state.deliver:  # the synchronous, unsigned, form-bodied ping
            state.deliver(hook["delivery_url"], f"webhook_id={hook_id}".encode(), {"User-Agent": "WooCommerce/9.9.0 Hookshot"})
        return jsonify(public(hook)), 201

    @app.put("/wp-json/wc/v3/webhooks/<int:hook_id>")
    def update_hook(hook_id):
        if hook_id not in state.webhooks:
            return err(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
        state.webhooks[hook_id].update({k: v for k, v in (request.get_json() or {}).items() if k in ("status", "secret", "delivery_url")})
        return jsonify(public(state.webhooks[hook_id]))

    @app.get("/wp-json/wc/v3/orders")
    def orders():
        # List all orders (https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders):
        # `after` "Limit response to resources published after a given ISO8601 compliant date"
        # (date_created; read as UTC with dates_are_gmt), `orderby` date (default), id, modified...,
        # `order` desc by default. Paging (https://developer.wordpress.org/rest-api/using-the-rest-api/pagination/):
        # `page`, `per_page` "an integer from 1 to 100" (outside it: 400 rest_invalid_param, as the
        # REST server validates the schema), and the X-WP-Total / X-WP-TotalPages headers.
        # Simplification: `after` without dates_are_gmt is read as UTC too.
        since = request.args.get("modified_after", "") if state.honours_modified_after else ""  # 5.5 ignores it
        after = request.args.get("after", "")
        key = {"modified": "date_modified_gmt", "id": "id"}.get(request.args.get("orderby", ""), "date_created_gmt")
        rows = sorted((o for o in state.orders.values() if o["date_modified_gmt"] > since and o["date_created_gmt"] > after),
                      key=lambda o: (o[key], o["id"]), reverse=request.args.get("order", "desc") == "desc")
        per, page = int(request.args.get("per_page", 10)), int(request.args.get("page", 1))
        if not 1 <= per <= 100:
            return err(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        state.order_pages.append(page)
        pages = max(1, -(-len(rows) // per))
        response = jsonify(rows[(page - 1) * per: page * per])
        response.headers["X-WP-Total"], response.headers["X-WP-TotalPages"] = str(len(rows)), str(pages)
        return response

    @app.get("/wp-json/wc/v3/orders/<int:oid>")
    def one_order(oid):
        return jsonify(state.orders[oid]) if oid in state.orders else err(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")

    @app.get("/wp-json/wc/v3/orders/<int:oid>/refunds")
    def order_refunds(oid):
        if oid not in state.orders:
            return err(404, "woocommerce_rest_invalid_order_id", "Invalid order ID.")
        return jsonify(sorted(state.refunds.get(oid, {}).values(), key=lambda r: -r["id"]))  # newest first

    @app.get("/wp-json/wc/v3/products")
    def products():
        # `include` limits the list to those ids (WP_REST_Posts_Controller's collection param, an
        # array; a comma-separated string is parsed by wp_parse_id_list). Variations are not
        # listed here (they live under products/<parent>/variations). Simplified: no status,
        # category or search filters; `orderby` ignored.
        state.product_requests.append(dict(request.args))
        include = [int(x) for x in request.args.get("include", "").split(",") if x.strip().isdigit()]
        rows = [p for pid, p in sorted(state.products.items()) if not include or pid in include]
        rows = [p for p in rows if not p.get("parent_id")]
        per, page = int(request.args.get("per_page", 10)), int(request.args.get("page", 1))
        if per > 100:
            return err(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        response = jsonify(rows[(page - 1) * per: page * per])
        response.headers["X-WP-Total"], response.headers["X-WP-TotalPages"] = str(len(rows)), str(max(1, -(-len(rows) // per)))
        return response

    @app.get("/wp-json/wc/v3/customers")
    def customers():
        """WC_REST_Customers_V1_Controller::get_items (the v3 controller inherits it;
        includes/rest-api/Controllers/Version1/class-wc-rest-customers-v1-controller.php): `email`
        becomes a WP_User_Query search of the `user_email` column (exact, and MySQL's collation
        ignores case); `role` defaults to "customer", "all" lists every role; `per_page` (at most
        100, WP_REST_Controller's collection params). A customer stored without a role is a
        "customer". Simplified: no `search`, `include` or ordering."""
        state.customer_requests.append(dict(request.args))
        per = int(request.args.get("per_page", 10))
        if not 0 < per <= 100:
            return err(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        role, email = request.args.get("role", "customer"), request.args.get("email")
        rows = [c for _i, c in sorted(state.customers.items())
                if (role == "all" or c.get("role", "customer") == role)
                and (email is None or str(c.get("email", "")).lower() == email.lower())]
        page = int(request.args.get("page", 1))
        response = jsonify(rows[(page - 1) * per: page * per])
        response.headers["X-WP-Total"], response.headers["X-WP-TotalPages"] = str(len(rows)), str(max(1, -(-len(rows) // per)))
        return response

    @app.post("/wp-json/wc/v3/customers/batch")
    def customers_batch():
        """WC_REST_Controller::batch_items (includes/rest-api/Controllers/Version3/class-wc-rest-controller.php):
        `create`, `update`, `delete` lists, at most 100 items in all (the
        `woocommerce_rest_batch_items_limit` filter's default; more is 413
        `woocommerce_rest_request_entity_too_large`); each update runs as its own request, so an
        unknown id is an error object in the answer ({"id", "error": {"code", "message", "data"}})
        and the others still apply. A customer's `meta_data` [{key, value}] is applied with
        WC_Data::update_meta_data (the customers controller's prepare_item_for_database): a key
        the user has is overwritten, a new key added. Simplified: only `update` is served."""
        body = request.get_json() or {}
        items = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
        if items > 100:
            return err(413, "woocommerce_rest_request_entity_too_large",
                       "Unable to accept more than 100 items for this request.")
        out = []
        for item in body.get("update") or []:
            cid = int(item.get("id") or 0)
            if cid not in state.customers:
                out.append({"id": cid, "error": {"code": "woocommerce_rest_invalid_id", "message": "Invalid resource ID.",
                                                 "data": {"status": 400}}})
                continue
            c = state.customers[cid]
            meta = c.setdefault("meta_data", [])
            for m in item.get("meta_data") or []:
                hit = next((x for x in meta if x["key"] == m["key"]), None)
                if hit is not None:
                    hit["value"] = m["value"]
                else:
                    meta.append({"id": 5000 + len(meta), "key": m["key"], "value": m["value"]})
            out.append(c)
        return jsonify({"update": out})

    @app.get("/wp-json/wc/v3/customers/<int:cid>")
    def customer(cid):
        return jsonify(state.customers[cid]) if cid in state.customers else err(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")

    @app.post("/wp-json/wc/v3/coupons")
    def coupon():
        body = request.get_json() or {}
        if not body.get("code"):
            return err(400, "rest_missing_callback_param", "Missing parameter(s): code")
        if body.get("discount_type", "fixed_cart") not in ("percent", "fixed_cart", "fixed_product"):
            return err(400, "rest_invalid_param", "Invalid parameter(s): discount_type")
        try:
            float(body.get("amount", "0"))
        except (TypeError, ValueError):
            return err(400, "rest_invalid_param", "Invalid parameter(s): amount")
        if any(c["code"] == coupon_code(body["code"]) for c in state.coupons.values()):
            return err(400, "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists")
        if not all("@" in e for e in body.get("email_restrictions") or []):
            return err(400, "rest_invalid_param", "Invalid parameter(s): email_restrictions")
        cid = 700 + len(state.coupons)
        # The controller sets each writable prop through `set_{key}` when WC_Coupon has one
        # (class-wc-rest-coupons-v2-controller.php, prepare_object_for_database). WC_Coupon has
        # set_date_expires but no set_date_expires_gmt (includes/class-wc-coupon.php), so
        # `date_expires_gmt` is dropped on write; `date_expires` without an offset is read in
        # the site's time zone (WC_Data::set_date_prop, includes/abstracts/abstract-wc-data.php).
        coupon = {k: v for k, v in body.items() if k not in ("date_expires", "date_expires_gmt")}
        # `usage_count` and `used_by` are read-only in the REST schema (class-wc-rest-coupons-controller.php,
        # woocommerce-rest-api-docs wp-api-v3/_coupons.md); the code is stored lower-cased.
        coupon = {k: v for k, v in coupon.items() if k not in ("usage_count", "used_by")}
        coupon.update({"id": cid, "code": coupon_code(body["code"]), "usage_count": 0, "used_by": [],
                       "date_expires": None, "date_expires_gmt": None})
        if body.get("date_expires") and state.keeps_expiry:
            at = datetime.fromisoformat(str(body["date_expires"]).replace("Z", "+00:00"))
            if at.tzinfo is None:
                at = at.replace(tzinfo=site_tz())
            coupon["date_expires"] = at.astimezone(site_tz()).replace(tzinfo=None).isoformat(timespec="seconds")
            coupon["date_expires_gmt"] = at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")
        state.coupons[cid] = coupon
        return jsonify(coupon), 201

    @app.get("/wp-json/wc-loyalty/v1/export/<plugin>")
    def loyalty_export(plugin):
        """Our WordPress plugin's export route (connectors/woocommerce/wordpress/loyalty-widget.php,
        loyalty_export_handle / loyalty_export_page): text/csv, the header row then up to `limit`
        rows with a key above `after_id`, in key order; `X-Loyalty-Next` (the last key) when the
        page is full; 404 `loyalty_export_absent` when the plugin's table is not there. The
        layouts are plugin_app/domain/import_formats_woo.py's EXPORT_COLUMNS; the tables they
        come from: woocommerce-points-and-rewards.php (wc_points_rewards_user_points[_log]),
        WPLoyalty's App/Models/Users.php and PointsLedger.php, YITH's porting class
        (_ywpar_user_total_points, yith_ywpar_points_log), codex.mycred.me/chapter-i/the-log/.
        The route's arguments are checked as WordPress checks a route's `args` schema
        (rest_validate_request_arg: 400 `rest_invalid_param`); an unknown plugin matches no route
        (WP_REST_Server::dispatch: 404 `rest_no_route`). Authentication is the stand-in's OAuth
        check above, as WooCommerce applies it to `wc-` namespaces. Simplified: every key's user
        may manage_woocommerce."""
        from plugin_app.domain.import_formats_woo import EXPORT_COLUMNS

        state.export_requests.append({"plugin": plugin, **{k: v for k, v in request.args.items()
                                                            if not k.startswith("oauth_")}})
        if plugin not in ("wc_points_rewards", "wployalty", "yith", "mycred"):
            return err(404, "rest_no_route", "No route was found matching the URL and request method.")
        kind = request.args.get("kind", "balances")
        try:
            after = int(request.args.get("after_id", "0"))
            limit = int(request.args.get("limit", "500"))
        except ValueError:
            return err(400, "rest_invalid_param", "Invalid parameter(s): after_id, limit")
        if kind not in ("balances", "history"):
            return err(400, "rest_invalid_param", "Invalid parameter(s): kind")
        if after < 0 or not 1 <= limit <= 1000:
            return err(400, "rest_invalid_param", "Invalid parameter(s): after_id, limit")
        tables = state.loyalty.get(plugin)
        if tables is None or kind not in tables:
            return err(404, "loyalty_export_absent", f"The {plugin} tables are not in this database.")
        point_type = request.args.get("point_type", "mycred_default")
        start = bisect.bisect_right([k for k, _ in tables[kind]], after)  # the index on the key
        rows = list(itertools.islice(((k, r) for k, r in tables[kind][start:]
                                      if plugin != "mycred" or r.get("ctype", "mycred_default") == point_type), limit))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        columns = EXPORT_COLUMNS[(plugin, kind)]
        writer.writerow(columns)
        for _, r in rows:
            writer.writerow([str(r.get(c, "")) for c in columns])
        response = app.response_class(out.getvalue(), mimetype="text/csv")
        if len(rows) == limit:
            response.headers["X-Loyalty-Next"] = str(rows[-1][0])
        return response

    def site_tz():
        from zoneinfo import ZoneInfo
        if state.timezone_string:
            return ZoneInfo(state.timezone_string)
        return timezone(timedelta(hours=float(state.gmt_offset)))

    @app.get("/wp-json/wc/v3/coupons/<int:cid>")
    def one_coupon(cid):
        return jsonify(state.coupons[cid]) if cid in state.coupons else err(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")

    @app.get("/wp-json/wc/v3/coupons")
    def coupons():
        """`code` filters by code, formatted the same way first (`wc_get_coupon_id_by_code` looks up
        `wc_format_coupon_code($code)`), so any case finds it."""
        want = request.args.get("code")
        rows = [c for c in state.coupons.values() if want is None or c["code"] == coupon_code(want)]
        return jsonify(rows)

    @app.delete("/wp-json/wc/v3/coupons/<int:cid>")
    def delete_coupon(cid):
        if request.args.get("force") != "true":
            return err(501, "woocommerce_rest_trash_not_supported", "Coupons do not support trashing.")
        return jsonify(state.coupons.pop(cid)) if cid in state.coupons else err(404, "woocommerce_rest_invalid_id", "Invalid ID.")

    return app


def serve(state: "WooState"):
    """Run the stand-in on a loopback port in a daemon thread (real HTTP, as wc-api-python
    speaks it); returns the server (to shut down) and its base URL."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):  # no access log on the test output
            pass

    server = make_server("127.0.0.1", 0, woo_app(state), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"
