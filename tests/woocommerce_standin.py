"""A local stand-in for a WooCommerce store (reference/platforms.md §10-11): REST API v3 behind
OAuth 1.0a over http (as WooCommerce checks it: the query signature, ±15 min, no reused nonce),
webhooks created with the caller's secret and pinged on creation with an unsigned form body,
deliveries signed over PHP-escaped JSON (`\\/`, `\\u00e9`), orders, customers and coupons."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import OrderedDict
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


def order(order_id: int, status: str = "processing", *, customer_id: int = 12, modified: str = "2026-11-20T10:00:00",
          lines=((101, 2, "50.00"),), refunds=(), coupons=(), shipping: str = "4.90") -> dict:
    """A REST v3 order: money as strings, line `price` a number, refunds with negative totals."""
    return {
        "id": order_id, "parent_id": 0, "number": str(order_id), "order_key": f"wc_order_{order_id}",
        "created_via": "checkout", "status": status, "currency": "EUR", "prices_include_tax": False,
        "date_created": "2026-11-20T11:00:00", "date_created_gmt": "2026-11-20T10:00:00",
        "date_modified": modified, "date_modified_gmt": modified,
        "date_paid_gmt": "2026-11-20T10:00:00" if status in ("processing", "completed") else None,
        "discount_total": "0.00", "shipping_total": shipping, "shipping_tax": "0.00", "cart_tax": "0.00",
        "total": "0.00", "total_tax": "0.00", "customer_id": customer_id,
        "billing": {"first_name": "Zoë", "email": "zoe@example.org"},
        "line_items": [{"id": lid, "name": "Café mug / blue", "product_id": 500 + lid, "variation_id": 0,
                        "quantity": qty, "subtotal": str(float(total)), "subtotal_tax": "0.00", "total": total,
                        "total_tax": "0.00", "price": float(total) / qty, "sku": "MUG"} for lid, qty, total in lines],
        "coupon_lines": [{"id": 900 + i, "code": c, "discount": "5.00"} for i, c in enumerate(coupons)],
        "refunds": [{"id": rid, "reason": "damaged", "total": f"-{amount}"} for rid, amount in refunds],
        "_links": {"self": [{"href": f"https://woo.test/wp-json/wc/v3/orders/{order_id}"}]},
    }


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
        self.products: dict[int, dict] = {}
        self.product_requests: list[dict] = []
        self.deliver = None  # callable(url, body: bytes, headers) used for pings


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
        if not _oauth_ok(request, state):
            return err(401, "woocommerce_rest_authentication_error", "Invalid signature - provided signature does not match.")

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
        since = request.args.get("modified_after", "")
        rows = sorted((o for o in state.orders.values() if o["date_modified_gmt"] > since), key=lambda o: o["date_modified_gmt"])
        per, page = int(request.args.get("per_page", 10)), int(request.args.get("page", 1))
        pages = max(1, -(-len(rows) // per))
        response = jsonify(rows[(page - 1) * per: page * per])
        response.headers["X-WP-Total"], response.headers["X-WP-TotalPages"] = str(len(rows)), str(pages)
        return response

    @app.get("/wp-json/wc/v3/orders/<int:oid>")
    def one_order(oid):
        return jsonify(state.orders[oid]) if oid in state.orders else err(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")

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
        if any(c["code"].lower() == body["code"].lower() for c in state.coupons.values()):
            return err(400, "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists")
        if not all("@" in e for e in body.get("email_restrictions") or []):
            return err(400, "rest_invalid_param", "Invalid parameter(s): email_restrictions")
        cid = 700 + len(state.coupons)
        state.coupons[cid] = {"id": cid, **body}
        return jsonify(state.coupons[cid]), 201

    @app.delete("/wp-json/wc/v3/coupons/<int:cid>")
    def delete_coupon(cid):
        if request.args.get("force") != "true":
            return err(501, "woocommerce_rest_trash_not_supported", "Coupons do not support trashing.")
        return jsonify(state.coupons.pop(cid)) if cid in state.coupons else err(404, "woocommerce_rest_invalid_id", "Invalid ID.")

    return app
