"""Storefront stand-ins for the cart widget's browser tests: pages and cart endpoints that behave
like a Shopify theme (Dawn) and like WooCommerce's classic cart and its Cart block, served from the
test app itself (same origin, as the real ones are for the shop's pages). Each behaviour cites what
it mimics; where it simplifies, it says so.

- Shopify: the AJAX Cart API (https://shopify.dev/docs/api/ajax/reference/cart): `/cart.js`,
  `/cart/add.js`, `/cart/change.js`, `/cart/update.js` (with `discount`, changelog
  https://shopify.dev/changelog/cart-ajax-api-discounts-support-on-cartupdatejs), `/discount/CODE`;
  amounts in the currency's subunit. The page runs Dawn's `assets/pubsub.js` + `assets/constants.js`
  (subscribe/publish, PUB_SUB_EVENTS.cartUpdate = 'cart-update'), a product form like
  `assets/product-form.js` (POST /cart/add.js with `sections`, publish cartUpdate, then
  `cart-drawer.js` renderContents: `#CartDrawer` innerHTML replaced), a drawer remove button like
  `assets/cart.js` CartItems.updateQuantity (POST /cart/change.js, `.drawer__inner` innerHTML
  replaced) and CartItems.onCartUpdate (GET /cart?section_id=cart-drawer, replaceWith of
  `cart-drawer-items` and `.cart-drawer__footer`). Markup after `snippets/cart-drawer.liquid`.
- WooCommerce classic cart: `?wc-ajax=apply_coupon` / `remove_coupon` with the `security` nonce and
  `?wc-ajax=add_to_cart` (`includes/class-wc-ajax.php`); the page's script does what
  `client/legacy/js/frontend/cart.js` does on `wc_update_cart` / `added_to_cart` (re-render
  `.woocommerce-cart-form` and `.cart_totals`, trigger `updated_wc_div` / `updated_cart_totals`),
  with a small jQuery-like event bus (simplified: only `.on`/`.trigger`, bubbling to document).
- WooCommerce Store API (`src/StoreApi/docs/cart.md`, `Routes/V1/CartApplyCoupon.php`): `GET
  /wp-json/wc/store/v1/cart`, `POST cart/add-item`, `cart/apply-coupon`, `cart/remove-coupon`; POSTs
  need the `Nonce` header and answer with a fresh one (`docs/nonce-tokens.md`); prices in minor
  units with `currency_minor_unit`; coupon codes lower-cased (`wc_format_coupon_code`). The blocks
  page keeps the cart in a stand-in of the `wc/store/cart` data store (select().getCartData(),
  dispatch().receiveCart(), subscribe) and re-renders the totals block from it, as React does.
Simplified: one currency (EUR), no shipping; WooCommerce prices are entered ex tax with 22% VAT on
top; a fixed_cart coupon is spread over lines in proportion to their subtotals (the last line takes
the rounding) as `WC_Discounts::apply_coupon_fixed_cart` does in effect."""
from __future__ import annotations

import json
import secrets
from decimal import Decimal
from html import escape

from flask import Blueprint, make_response, redirect, request

PRODUCTS = {"111": ("11", "Trail mug", 1490), "222": ("22", "Canvas tote", 2400), "333": ("33", "Wool beanie", 3250)}
WOO_PRODUCTS = {"11": ("Trail mug", 1490), "22": ("Canvas tote", 2400), "33": ("Wool beanie", 3250)}
NONCE = "n0nce-store"


class Standin:
    def __init__(self):
        self.codes: dict[str, int] = {}  # code (lower case) -> fixed amount in cents, made by the "admin"
        self.shopify: dict[str, dict] = {}
        self.woo: dict[str, dict] = {}
        self.config: dict = {}

    # the platform admin the backend creates codes through (stands in for Admin API / WC REST)
    def create_discount_code(self, *, code: str, amount=None, **_: object) -> str:
        self.codes[code.lower()] = int(Decimal(str(amount or 0)) * 100)
        return f"standin:{code}"

    def delete_discount(self, discount_id: str) -> None:
        self.codes.pop(discount_id.split(":", 1)[1].lower(), None)

    def discount_usage(self, discount_id: str) -> int | None:
        """Orders that used the code (the port's question before a hold is given back). These
        pages have a cart but no checkout, so no order ever uses a code here: 0 while the code
        exists, None once deleted (as the platforms answer for a code they no longer have)."""
        return 0 if discount_id.split(":", 1)[1].lower() in self.codes else None

    # -- Shopify ---------------------------------------------------------------------------
    def s_cart(self) -> dict:
        token = request.cookies.get("cart") or ""
        return self.shopify.setdefault(token, {"token": token, "items": [], "codes": []})

    def s_json(self, c: dict) -> dict:
        items, subtotal = [], 0
        for n, it in enumerate(c["items"]):
            product_id, title, price = PRODUCTS[it["variant_id"]]
            line = price * it["quantity"]
            subtotal += line
            items.append({"id": int(it["variant_id"]), "key": f"{it['variant_id']}:k{n}", "variant_id": int(it["variant_id"]),
                          "product_id": int(product_id), "title": title, "quantity": it["quantity"], "price": price,
                          "original_price": price, "final_price": price, "line_price": line, "original_line_price": line,
                          "final_line_price": line, "line_level_discount_allocations": [], "line_level_total_discount": 0,
                          "gift_card": False})
        apps, codes, off = [], [], 0
        for code in c["codes"]:
            amount = self.codes.get(code.lower())
            codes.append({"code": code, "applicable": amount is not None and subtotal > 0})
            if amount is not None and subtotal > 0:
                take = min(amount, subtotal - off)
                off += take
                apps.append({"type": "discount_code", "key": code, "title": code, "value_type": "fixed_amount",
                             "value": f"{amount / 100:.2f}", "total_allocated_amount": take})
        return {"token": c.get("token", ""), "currency": "EUR", "item_count": sum(i["quantity"] for i in items),
                "items": items, "items_subtotal_price": subtotal, "original_total_price": subtotal,
                "total_discount": off, "total_price": subtotal - off, "cart_level_discount_applications": apps,
                "discount_codes": codes, "requires_shipping": True}

    def drawer_html(self, c: dict) -> str:
        cart = self.s_json(c)
        rows = "".join(f'<tr id="CartDrawer-Item-{n + 1}" class="cart-item"><td class="cart-item__name">{escape(i["title"])}</td>'
                       f'<td>{i["quantity"]}</td><td>€{i["final_line_price"] / 100:.2f}</td>'
                       f'<td><button type="button" class="cart-remove" data-index="{n + 1}">Remove</button></td></tr>'
                       for n, i in enumerate(cart["items"]))
        discounts = "".join(f'<li class="discounts__discount">{escape(a["title"])} (-€{a["total_allocated_amount"] / 100:.2f})</li>'
                            for a in cart["cart_level_discount_applications"])
        empty = " is-empty" if not cart["items"] else ""
        return (f'<div id="shopify-section-cart-drawer" class="shopify-section"><cart-drawer class="drawer{empty}">'
                f'<div id="CartDrawer" class="cart-drawer"><div id="CartDrawer-Overlay"></div>'
                f'<div class="drawer__inner" role="dialog" aria-label="Your cart"><div class="drawer__header"><h2>Your cart</h2></div>'
                f'<cart-drawer-items><table class="cart-items">{rows}</table></cart-drawer-items>'
                f'<div class="drawer__footer"><div class="cart-drawer__footer"><ul class="discounts">{discounts}</ul>'
                f'<div class="totals"><p class="totals__total-value">€{cart["total_price"] / 100:.2f} EUR</p></div></div>'
                f'<div class="cart__ctas"><button id="CartDrawer-Checkout">Check out</button></div></div>'
                f'</div></div></cart-drawer></div>')

    def sections(self, c: dict, wanted) -> dict:
        names = wanted if isinstance(wanted, list) else [s for s in str(wanted or "").split(",") if s]
        return {name: self.drawer_html(c) if name == "cart-drawer" else f'<div class="shopify-section">{self.s_json(c)["item_count"]}</div>'
                for name in names}

    # -- WooCommerce -------------------------------------------------------------------------
    def w_cart(self) -> dict:
        return self.woo.setdefault(request.cookies.get("woo_session") or "", {"items": [], "coupons": []})

    def w_json(self, c: dict) -> dict:
        subs = [WOO_PRODUCTS[i["id"]][1] * i["quantity"] for i in c["items"]]
        gross = sum(subs)
        off_total = min(sum(self.codes.get(k, 0) for k in c["coupons"]), gross)
        shares, left = [], off_total
        for n, s in enumerate(subs):
            part = left if n == len(subs) - 1 else (off_total * s // gross if gross else 0)
            shares.append(part)
            left -= part
        money = {"currency_code": "EUR", "currency_symbol": "€", "currency_minor_unit": 2, "currency_decimal_separator": ",",
                 "currency_thousand_separator": ".", "currency_prefix": "€", "currency_suffix": ""}
        items = []
        for n, (i, s, share) in enumerate(zip(c["items"], subs, shares)):
            name, price = WOO_PRODUCTS[i["id"]]
            total = s - share
            items.append({"key": f"wc{i['id']}", "id": int(i["id"]), "quantity": i["quantity"], "name": name,
                          "prices": {"price": str(price), "regular_price": str(price), "sale_price": str(price), **money},
                          "totals": {"line_subtotal": str(s), "line_subtotal_tax": str(round(s * 0.22)),
                                     "line_total": str(total), "line_total_tax": str(round(total * 0.22)), **money}})
        tax = sum(round((s - sh) * 0.22) for s, sh in zip(subs, shares))
        return {"items": items, "items_count": sum(i["quantity"] for i in c["items"]),
                "coupons": [{"code": k, "discount_type": "fixed_cart",
                             "totals": {"total_discount": str(min(self.codes.get(k, 0), gross)), "total_discount_tax": "0", **money}}
                            for k in c["coupons"]],
                "totals": {"total_items": str(gross), "total_items_tax": str(round(gross * 0.22)), "total_discount": str(off_total),
                           "total_shipping": "0", "total_tax": str(tax), "total_price": str(gross - off_total + tax), **money},
                "errors": []}

    def w_apply(self, c: dict, code: str) -> str | None:
        code = code.strip().lower()  # wc_format_coupon_code
        if code not in self.codes:
            return f'Coupon "{code}" does not exist!'
        if code in c["coupons"]:
            return "Coupon code already applied!"
        c["coupons"].append(code)
        return None

    def totals_html(self, c: dict) -> str:
        cart = self.w_json(c)
        coupons = "".join(f'<tr class="cart-discount coupon-{escape(k["code"])}"><th>Coupon: {escape(k["code"])}</th>'
                          f'<td>-€{int(k["totals"]["total_discount"]) / 100:.2f}</td></tr>' for k in cart["coupons"])
        return (f'<div class="cart_totals"><h2>Cart totals</h2><table>{coupons}<tr class="order-total"><th>Total</th>'
                f'<td>€{int(cart["totals"]["total_price"]) / 100:.2f}</td></tr></table></div>')

    def form_html(self, c: dict) -> str:
        rows = "".join(f'<tr class="cart_item"><td>{escape(WOO_PRODUCTS[i["id"]][0])}</td><td>{i["quantity"]}</td></tr>' for i in c["items"])
        return f'<form class="woocommerce-cart-form" method="post"><table class="woocommerce-cart-form__contents">{rows}</table></form>'


def blueprint(standin: Standin, widget_config) -> Blueprint:
    """`widget_config(platform)` gives the LoyaltyConfig for a page (backend, widget key, token)."""
    bp = Blueprint("theme_standin", __name__)

    def cookie(response, name):
        if not request.cookies.get(name):
            response.set_cookie(name, secrets.token_hex(8))
        return response

    def page(body: str, config: dict, cookie_name: str, head: str = ""):
        html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Stand-in</title>{head}</head><body>{body}'
                f'<script>window.LoyaltyConfig = {json.dumps(config)};</script>'
                f'<script src="/widgets/loyalty.js" async></script></body></html>')
        return cookie(make_response(html, 200, {"Content-Type": "text/html; charset=utf-8"}), cookie_name)

    # -- Shopify theme (Dawn) ---------------------------------------------------------------
    @bp.get("/dawn")
    def dawn():
        c = standin.s_cart()
        config = {**widget_config("shopify"), "platform": "shopify",
                  "cartSelector": "#main-cart-footer .cart__blocks, cart-drawer .drawer__footer"}
        products = "".join(f'<li><product-form><button type="button" data-variant="{v}">Add {escape(t)}</button></product-form></li>'
                           for v, (_, t, _p) in PRODUCTS.items())
        return page(f'<a id="cart-icon-bubble" href="/cart">Cart</a><ul id="products">{products}</ul>'
                    f'{standin.drawer_html(c)}<script>{DAWN_JS}</script>', config, "cart",
                    head='<script>window.Shopify = {routes: {root: "/"}, currency: {active: "EUR", rate: "1.0"}};</script>')

    @bp.get("/cart.js")
    def cart_js():
        return standin.s_json(standin.s_cart())

    @bp.get("/cart")
    def cart_section():  # ?section_id=: the Section Rendering API answers with the section's HTML
        return standin.sections(standin.s_cart(), request.args.get("section_id", ""))[request.args.get("section_id", "")]

    def body() -> dict:
        return request.get_json(silent=True) or request.form.to_dict()

    @bp.post("/cart/add.js")
    def cart_add():
        c, b = standin.s_cart(), body()
        variant, qty = str(b.get("id")), int(b.get("quantity") or 1)
        if variant not in PRODUCTS:
            return {"status": 404, "message": "Cart Error", "description": "Cannot find variant"}, 404
        line = next((i for i in c["items"] if i["variant_id"] == variant), None)
        if line:
            line["quantity"] += qty
        else:
            c["items"].append({"variant_id": variant, "quantity": qty})
        item = next(i for i in standin.s_json(c)["items"] if str(i["variant_id"]) == variant)
        return {**item, "sections": standin.sections(c, b.get("sections"))}  # the added item, plus sections

    @bp.post("/cart/change.js")
    def cart_change():
        c, b = standin.s_cart(), body()
        line, qty = int(b.get("line") or 0), int(b.get("quantity") or 0)
        if not 1 <= line <= len(c["items"]):
            return {"status": 400, "message": "Cart Error", "description": "no such line"}, 400
        if qty == 0:
            c["items"].pop(line - 1)
        else:
            c["items"][line - 1]["quantity"] = qty
        return {**standin.s_json(c), "sections": standin.sections(c, b.get("sections"))}

    @bp.post("/cart/update.js")
    def cart_update():
        c, b = standin.s_cart(), body()
        if "discount" in b:  # the full set of codes, comma separated ("" removes them all)
            c["codes"] = [s.strip() for s in str(b["discount"]).split(",") if s.strip()]
        return {**standin.s_json(c), "sections": standin.sections(c, b.get("sections"))}

    @bp.get("/discount/<code>")
    def discount(code):  # the shareable discount link: applies the code, then redirects
        c = standin.s_cart()
        if code.lower() not in (x.lower() for x in c["codes"]):
            c["codes"].append(code)
        return redirect(request.args.get("redirect") or "/cart")

    # -- WooCommerce ------------------------------------------------------------------------
    def woo_config(mode: str) -> dict:
        config = {**widget_config("woocommerce"), "platform": "woocommerce", "cartMode": mode,
                  "storeApi": "/wp-json/wc/store/v1/", "storeNonce": NONCE}
        if mode == "blocks":
            config["cartSelector"] = ".wp-block-woocommerce-cart-totals-block, .wp-block-woocommerce-checkout-totals-block"
        else:
            config.update(wcAjax="/woo/?wc-ajax=%%endpoint%%", applyNonce="n-apply", removeNonce="n-remove")
        return config

    add_buttons = "".join(f'<li><button type="button" class="add_to_cart_button" data-product_id="{k}">Add {escape(v[0])}</button></li>'
                          for k, v in WOO_PRODUCTS.items())

    @bp.get("/woo/cart")
    def woo_classic():
        c = standin.w_cart()
        if request.args.get("fragment"):
            return standin.form_html(c) + standin.totals_html(c)
        params = {"wc_ajax_url": "/woo/?wc-ajax=%%endpoint%%", "apply_coupon_nonce": "n-apply", "remove_coupon_nonce": "n-remove"}
        return page(f'<div class="woocommerce">{standin.form_html(c)}<div class="cart-collaterals"><div data-loyalty-cart></div>'
                    f'{standin.totals_html(c)}</div></div><ul class="products">{add_buttons}</ul>'
                    f'<script>var wc_cart_params = {json.dumps(params)};{JQUERY_LIKE}{WOO_CLASSIC_JS}</script>',
                    woo_config("classic"), "woo_session")

    @bp.get("/woo/shop")
    def woo_shop():  # a page without a cart: the plugin passes no cart settings and prints no mount point
        return page(f'<ul class="products">{add_buttons}</ul>', widget_config("woocommerce"), "woo_session")

    @bp.route("/woo/", methods=["GET", "POST"])
    def wc_ajax():
        c, endpoint = standin.w_cart(), request.args.get("wc-ajax")
        if endpoint == "add_to_cart":
            pid, qty = request.form.get("product_id", ""), int(request.form.get("quantity") or 1)
            line = next((i for i in c["items"] if i["id"] == pid), None)
            if line:
                line["quantity"] += qty
            elif pid in WOO_PRODUCTS:
                c["items"].append({"id": pid, "quantity": qty})
            return {"fragments": {}, "cart_hash": secrets.token_hex(4)}
        if endpoint in ("apply_coupon", "remove_coupon"):
            if request.form.get("security") != ("n-apply" if endpoint == "apply_coupon" else "n-remove"):
                return "-1", 403  # check_ajax_referer fails with -1
            if endpoint == "apply_coupon":
                problem = standin.w_apply(c, request.form.get("coupon_code", ""))
                return (f'<ul class="woocommerce-error" role="alert"><li>{escape(problem)}</li></ul>' if problem
                        else '<div class="woocommerce-message" role="alert">Coupon code applied successfully.</div>')
            code = request.form.get("coupon", "").lower()
            if code in c["coupons"]:
                c["coupons"].remove(code)
            return '<div class="woocommerce-message" role="alert">Coupon has been removed.</div>'
        return "0", 400

    def store_response(payload, status=200):
        response = make_response(json.dumps(payload), status, {"Content-Type": "application/json"})
        response.headers["Nonce"] = NONCE  # "an updated Nonce header will be sent back"
        return cookie(response, "woo_session")

    @bp.get("/wp-json/wc/store/v1/cart")
    def store_cart():
        return store_response(standin.w_json(standin.w_cart()))

    @bp.post("/wp-json/wc/store/v1/cart/<action>")
    def store_post(action):
        if request.headers.get("Nonce") != NONCE:
            return store_response({"code": "woocommerce_rest_missing_nonce", "message": "Missing the Nonce header.",
                                   "data": {"status": 401}}, 401)
        c, b = standin.w_cart(), request.get_json(silent=True) or {}
        if action == "add-item":
            pid = str(b.get("id"))
            line = next((i for i in c["items"] if i["id"] == pid), None)
            if line:
                line["quantity"] += int(b.get("quantity") or 1)
            else:
                c["items"].append({"id": pid, "quantity": int(b.get("quantity") or 1)})
        elif action == "apply-coupon":
            problem = standin.w_apply(c, str(b.get("code", "")))
            if problem:
                return store_response({"code": "woocommerce_rest_cart_coupon_error", "message": problem,
                                       "data": {"status": 400}}, 400)
        elif action == "remove-coupon":
            code = str(b.get("code", "")).lower()
            if code not in c["coupons"]:
                return store_response({"code": "woocommerce_rest_cart_coupon_invalid_code",
                                       "message": "Coupon cannot be removed because it is not already applied to the cart.",
                                       "data": {"status": 409}}, 409)
            c["coupons"].remove(code)
        else:
            return store_response({"code": "rest_no_route", "message": "No route", "data": {"status": 404}}, 404)
        return store_response(standin.w_json(c), 201 if action == "add-item" else 200)

    @bp.get("/woo/blocks-cart")
    def woo_blocks():
        return page(f'<div class="wp-block-woocommerce-cart"><div class="wp-block-woocommerce-cart-items-block"></div>'
                    f'<div class="wp-block-woocommerce-cart-totals-block"></div></div><ul class="products">{add_buttons}</ul>'
                    f'<script>var NONCE = "{NONCE}";{WP_DATA_JS}</script>', woo_config("blocks"), "woo_session")

    return bp


# Dawn's assets/constants.js and assets/pubsub.js (top-level const/functions, as in the theme),
# then what product-form.js, cart-drawer.js and cart.js do with them (reduced to the cart parts).
DAWN_JS = """
const PUB_SUB_EVENTS = { cartUpdate: 'cart-update', quantityUpdate: 'quantity-update' };
let subscribers = {};
function subscribe(eventName, callback) {
  if (subscribers[eventName] === undefined) subscribers[eventName] = [];
  subscribers[eventName] = [...subscribers[eventName], callback];
  return function unsubscribe() { subscribers[eventName] = subscribers[eventName].filter((cb) => cb !== callback); };
}
function publish(eventName, data) {
  if (subscribers[eventName]) subscribers[eventName].forEach((callback) => callback(data));
}
function sectionInner(html, selector) { return new DOMParser().parseFromString(html, 'text/html').querySelector(selector).innerHTML; }
// cart-drawer.js renderContents: '#CartDrawer' innerHTML replaced by the section's
function renderContents(parsed) {
  document.querySelector('#CartDrawer').innerHTML = sectionInner(parsed.sections['cart-drawer'], '#CartDrawer');
}
// product-form.js: POST /cart/add.js (FormData with sections), publish cartUpdate, render the drawer
document.getElementById('products').addEventListener('click', (e) => {
  const b = e.target.closest('[data-variant]'); if (!b) return;
  const form = new FormData(); form.append('id', b.dataset.variant); form.append('quantity', '1');
  form.append('sections', 'cart-drawer,cart-icon-bubble'); form.append('sections_url', location.pathname);
  fetch('/cart/add.js', { method: 'POST', headers: { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/javascript' }, body: form })
    .then((r) => r.json()).then((response) => {
      publish(PUB_SUB_EVENTS.cartUpdate, { source: 'product-form', productVariantId: b.dataset.variant, cartData: response });
      renderContents(response);
    });
});
// cart.js CartItems.updateQuantity (the drawer's remove button): POST /cart/change.js, '.drawer__inner' replaced
document.addEventListener('click', (e) => {
  const b = e.target.closest('.cart-remove'); if (!b) return;
  fetch('/cart/change.js', { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/javascript' },
    body: JSON.stringify({ line: b.dataset.index, quantity: 0, sections: ['cart-drawer', 'cart-icon-bubble'], sections_url: location.pathname }) })
    .then((r) => r.json()).then((state) => {
      document.querySelector('#CartDrawer .drawer__inner').innerHTML = sectionInner(state.sections['cart-drawer'], '.drawer__inner');
      publish(PUB_SUB_EVENTS.cartUpdate, { source: 'cart-items', cartData: state });
    });
});
// cart.js CartItems.onCartUpdate for the drawer: re-fetch the section, replace items and footer
subscribe(PUB_SUB_EVENTS.cartUpdate, (event) => {
  if (event.source === 'cart-items') return;
  fetch('/cart?section_id=cart-drawer').then((r) => r.text()).then((text) => {
    const html = new DOMParser().parseFromString(text, 'text/html');
    for (const selector of ['cart-drawer-items', '.cart-drawer__footer']) {
      const target = document.querySelector(selector), source = html.querySelector(selector);
      if (target && source) target.replaceWith(source);
    }
  });
});
"""

# Simplified jQuery events: handlers registered through it, .trigger(name, args) bubbling up to
# document (jQuery's .trigger calls handlers bound with .on, not native listeners).
JQUERY_LIKE = """
(function () {
  var handlers = new Map();
  function jq(target) {
    return {
      on: function (names, fn) { names.split(/\\s+/).forEach(function (n) {
        var h = handlers.get(target) || {}; (h[n] = h[n] || []).push(fn); handlers.set(target, h); }); return this; },
      trigger: function (name, args) {
        for (var node = target; node; node = node.parentNode) {
          ((handlers.get(node) || {})[name] || []).forEach(function (fn) { fn.apply(node, [{ type: name }].concat(args || [])); });
        }
        return this;
      }
    };
  }
  window.jQuery = window.$ = jq;
})();
"""

# What client/legacy/js/frontend/cart.js and add-to-cart.js do around the cart page.
WOO_CLASSIC_JS = """
(function ($) {
  function update_cart() {  // cart.update_cart: re-render the form and the totals from the server
    fetch('/woo/cart?fragment=1').then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      document.querySelector('.woocommerce-cart-form').replaceWith(doc.querySelector('.woocommerce-cart-form'));
      document.querySelector('.cart_totals').replaceWith(doc.querySelector('.cart_totals'));
      $(document.body).trigger('updated_cart_totals');
      $(document.body).trigger('updated_wc_div');
    });
  }
  $(document).on('wc_update_cart added_to_cart', update_cart);
  document.querySelector('.products').addEventListener('click', function (e) {  // add-to-cart.js
    var b = e.target.closest('.add_to_cart_button'); if (!b) return;
    var form = new FormData(); form.append('product_id', b.dataset.product_id); form.append('quantity', '1');
    fetch(wc_cart_params.wc_ajax_url.replace('%%endpoint%%', 'add_to_cart'), { method: 'POST', body: form })
      .then(function (r) { return r.json(); }).then(function (response) {
        $(document.body).trigger('added_to_cart', [response.fragments, response.cart_hash, b]);
      });
  });
})(window.jQuery);
"""

# A stand-in of the `wc/store/cart` data store and the Cart block's React rendering of it.
WP_DATA_JS = """
(function () {
  var data = null, listeners = [];
  function receiveCart(response) { data = Object.assign({}, response); listeners.forEach(function (l) { l(); }); }
  window.wp = { data: {
    select: function (store) { return store === 'wc/store/cart' ? { getCartData: function () { return data; } } : null; },
    dispatch: function (store) { return store === 'wc/store/cart' ? { receiveCart: receiveCart } : null; },
    subscribe: function (fn) { listeners.push(fn); return function () {}; }
  } };
  function render() {  // React re-renders the blocks: their children are replaced
    if (!data) return;
    var money = function (v) { return '€' + (Number(v) / 100).toFixed(2); };
    document.querySelector('.wp-block-woocommerce-cart-items-block').innerHTML = data.items.map(function (i) {
      return '<div class="wc-block-cart-items__row">' + i.quantity + ' × ' + i.name + '</div>'; }).join('');
    document.querySelector('.wp-block-woocommerce-cart-totals-block').innerHTML =
      data.coupons.map(function (c) { return '<div class="wc-block-components-totals-discount">Coupon: ' + c.code +
        ' -' + money(c.totals.total_discount) + '</div>'; }).join('') +
      '<div class="wc-block-components-totals-footer-item">Total ' + money(data.totals.total_price) + '</div>';
  }
  listeners.push(render);
  fetch('/wp-json/wc/store/v1/cart').then(function (r) { return r.json(); }).then(receiveCart);
  document.querySelector('.products').addEventListener('click', function (e) {  // addItemToCart thunk
    var b = e.target.closest('.add_to_cart_button'); if (!b) return;
    fetch('/wp-json/wc/store/v1/cart/add-item', { method: 'POST', headers: { 'Content-Type': 'application/json', Nonce: NONCE },
      body: JSON.stringify({ id: Number(b.dataset.product_id), quantity: 1 }) })
      .then(function (r) { return r.json(); }).then(receiveCart);
  });
})();
"""
