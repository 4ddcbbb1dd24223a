"""The widget files (`/widgets/...`, cached by browsers and CDNs) and the storefront demo page
that `make run` links to: a product list and a cart embedding the widgets against a demo shop."""
from __future__ import annotations

import json
import secrets
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, redirect, request
from markupsafe import escape

from ..i18n import LOCALES
from ..services import identity
from . import assets
from .openapi import api

bp = Blueprint("widgets", __name__)
# The member the demo store's "member" link signs in as. `loyalty demo` (plugin_app.demo, above
# this layer) seeds them with enough points for a reward and prints the same link.
DEMO_MEMBER = "demo-1000"

PRODUCTS = [("p1", "Trail mug", "14.90"), ("p2", "Canvas tote", "24.00"), ("p3", "Wool beanie", "32.50"),
            ("p4", "Field notebook", "9.80"), ("p5", "Rain jacket", "119.00"), ("p6", "Camp socks", "12.00")]


@bp.get("/widgets/<path:name>")
@api(summary="The storefront widget files (JavaScript, CSS): gzip when accepted; `name.<hash>.js` "
             "is immutable for a year, the plain `name.js` is cached for 5 minutes",
     tags=["storefront"], errors=(404,))
def widget_file(name: str):
    found = assets.find(name)
    if found is None:
        abort(404)
    asset, current = found
    gz = request.accept_encodings["gzip"] > 0
    etag = f"{asset.digest}-gz" if gz else asset.digest
    headers = {
        "Content-Type": asset.content_type, "ETag": f'"{etag}"', "Vary": "Accept-Encoding",
        # A versioned URL never changes; a stale hash (a launcher cached across a release) gets
        # today's file, briefly cached, rather than a 404.
        "Cache-Control": "public, max-age=31536000, immutable" if current else "public, max-age=300",
        "Access-Control-Allow-Origin": "*",  # public static files, no credentials
        "X-Content-Type-Options": "nosniff",
    }
    if etag in request.if_none_match:
        return Response(status=304, headers=headers)
    body = asset.gz if gz else asset.raw
    if gz:
        headers["Content-Encoding"] = "gzip"
    headers["Content-Length"] = str(len(body))
    return Response(body, status=200, headers=headers, direct_passthrough=True)


def _demo_shop():
    rt = current_app.extensions["loyalty"]
    shop = rt.shops.by_widget_key(request.args.get("shop", ""))
    if shop is None or shop.platform != "demo":
        abort(404)
    return rt, shop


def _store_url(shop, **params) -> str:
    return "/demo/store?" + urlencode({"shop": shop.widget_key, **{k: v for k, v in params.items() if v}})


JOIN_TEXTS = {
    "en": {"title": "Create a demo account", "email": "E-mail (optional)", "create": "Create account",
           "note": "A demo shop: the account is made at once, no password, no e-mail is sent.", "back": "Back to the store"},
    "it": {"title": "Crea un account demo", "email": "E-mail (facoltativa)", "create": "Crea account",
           "note": "Un negozio demo: l'account nasce subito, senza password, nessuna e-mail viene inviata.",
           "back": "Torna al negozio"},
}


@bp.get("/demo/join")
@api(summary="The demo shop's account page: what the panel's \"Create an account\" opens (demo shops only)",
     tags=["demo"], errors=(404,))
def demo_join_form():
    _, shop = _demo_shop()
    lang = request.args.get("lang") if request.args.get("lang") in JOIN_TEXTS else "en"
    tx = JOIN_TEXTS[lang]
    action = "/demo/join?" + urlencode({"shop": shop.widget_key, **({"lang": lang} if lang != "en" else {})})
    html = f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{tx['title']}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:480px;padding:24px;color:#222}}
input{{width:100%;padding:8px;margin:4px 0 12px}}</style></head><body>
<h1>{tx['title']}</h1><p>{tx['note']}</p>
<form method="post" action="{escape(action)}"><label for="email">{tx['email']}</label>
<input id="email" name="email" type="email" autocomplete="email"><button type="submit">{tx['create']}</button></form>
<p><a href="{escape(_store_url(shop, lang=lang if lang != 'en' else None))}">{tx['back']}</a></p></body></html>"""
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.post("/demo/join")
@api(summary="Create a demo customer (as a platform's sign-up would) and go back to the store signed in",
     tags=["demo"], status=303, errors=(404,))
def demo_join():
    """What a real shop's account page does, for the demo platform: the customer is created, the
    sign-up points are awarded (as the platform's customer webhook would) and the shopper lands
    on the store signed in, where a remembered referral landing is claimed."""
    rt, shop = _demo_shop()
    customer = f"demo-{secrets.token_hex(4)}"
    email = (request.form.get("email") or "").strip()[:254] or None
    if email and "@" not in email:
        email = None
    rt.members.enrol(shop.id, customer, email=email)
    rt.actions.award(shop.id, customer, "signup", customer, email=email)
    lang = request.args.get("lang")
    return redirect(_store_url(shop, **{"as": customer, "lang": lang if lang in JOIN_TEXTS else None}), code=303)


@bp.get("/demo/store")
@api(summary="Storefront demo page (demo shops only)", tags=["demo"], errors=(404,))
def demo_store():
    rt, shop = _demo_shop()
    customer = request.args.get("as") or None
    lang = request.args.get("lang")
    token = identity.sign(shop.id, customer, rt.shops.widget_secret(shop.id), ttl=3600) if customer else None
    config = {"api": request.host_url.rstrip("/"), "shop": shop.widget_key, "token": token,
              "joinUrl": "/demo/join?" + urlencode({"shop": shop.widget_key, **({"lang": lang} if lang == "it" else {})})}
    if lang in LOCALES:
        config["locale"] = lang
    products = "".join(
        f'<li><span>{name}</span> <span class="price">{price}</span> '
        f'<button type="button" data-add="{pid}" data-name="{name}" data-price="{price}">Add to cart</button></li>'
        for pid, name, price in PRODUCTS)
    who = f"Signed in as customer {escape(customer)}" if customer else "Browsing as a guest"
    html = f"""<!doctype html><html lang="{lang or 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Demo store</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:760px;padding:24px;color:#222}}
li{{list-style:none;display:flex;gap:12px;align-items:center;padding:6px 0}}.price{{margin-left:auto}}
#cart{{border-top:2px solid #ddd;margin-top:24px;padding-top:12px}}</style></head><body>
<h1>Demo store</h1><p>{who}. <a href="?shop={shop.widget_key}">guest</a> · <a href="?shop={shop.widget_key}&as={DEMO_MEMBER}">member</a>
· <a href="?shop={shop.widget_key}&as={DEMO_MEMBER}&lang=it">italiano</a> · <a href="{escape(config['joinUrl'])}">create an account</a></p>
<ul id="products">{products}</ul>
<section id="cart" aria-label="Cart"><h2>Cart</h2><ul id="lines"></ul><p id="discount" hidden></p>
<p>Total: <strong id="total">0.00</strong></p><div data-loyalty-cart></div></section>
<script>
(function () {{
  var cart = [], code = null, off = 0;
  function render() {{
    var total = 0, ul = document.getElementById('lines'); ul.innerHTML = '';
    cart.forEach(function (l) {{ total += l.price * l.quantity; var li = document.createElement('li');
      li.textContent = l.quantity + ' x ' + l.name + ' ' + (l.price * l.quantity).toFixed(2); ul.appendChild(li); }});
    document.getElementById('total').textContent = Math.max(total - off, 0).toFixed(2);
    var d = document.getElementById('discount');  // like a theme's cart: the code as a discount line
    d.hidden = !code; d.textContent = code ? 'Discount ' + code + ' \u2212' + Math.min(off, total).toFixed(2) : '';
    window.LoyaltyCart = {{ currency: "{shop.currency}", codes: code ? [code.toLowerCase()] : [],
      discount: code ? Math.min(off, total).toFixed(2) : "0", lines: cart.map(function (l) {{
      return {{ product_id: l.id, quantity: l.quantity, price: l.price.toFixed(2) }}; }}) }};
    document.dispatchEvent(new CustomEvent('loyalty:cart', {{ detail: window.LoyaltyCart }}));
  }}
  document.getElementById('products').addEventListener('click', function (e) {{
    var b = e.target.closest('[data-add]'); if (!b) return;
    var line = cart.find(function (l) {{ return l.id === b.dataset.add; }});
    if (line) line.quantity += 1; else cart.push({{ id: b.dataset.add, name: b.dataset.name, price: parseFloat(b.dataset.price), quantity: 1 }});
    render();
  }});
  document.addEventListener('loyalty:code', function (e) {{  // the widget asks the cart to take or drop a code
    if (e.detail.action === 'apply') {{ code = e.detail.code; off = parseFloat(e.detail.amount || 0); }}
    else if (code && code.toLowerCase() === String(e.detail.code).toLowerCase()) {{ code = null; off = 0; }}
    render();
  }});
  render();
}})();
</script>
<script>window.LoyaltyConfig = {json.dumps(config)};</script>
<script src="{assets.url("loyalty.js")}" async></script>
</body></html>"""
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}
