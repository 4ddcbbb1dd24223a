"""The cart widget on real carts, in Chromium: a Dawn-like Shopify theme (AJAX Cart API, pubsub,
cart drawer re-rendered by innerHTML), WooCommerce's classic cart (wc-ajax coupons, jQuery events)
and its Cart block (Store API with Nonce, the wc/store/cart data store). The pages and their cart
endpoints are in tests/theme_standin.py. "This cart earns N points" must match the backend's own
quote for the platform's cart; a reward applied must land on the platform cart, once."""
import threading
from decimal import Decimal
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server

from .conftest import ENCRYPTION_KEY
from .test_widgets import SHOTS, browser, needs_browser  # noqa: F401  (browser is a fixture)
from .theme_standin import PRODUCTS, WOO_PRODUCTS, Standin, blueprint


@pytest.fixture
def shop(clean_db):
    from plugin_app import create_app
    from plugin_app.demo import seed
    from plugin_app.services import identity

    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,)})
    rt = app.extensions["loyalty"]
    shop_id, _ = seed(rt)
    member = rt.members.by_customer(shop_id, "demo-1000")[0]
    # 200 more keeps the seeded member (279 lifetime points) under Silver (500): Bronze earnings
    rt.ledger.adjust(shop_id, member.id, "points", 200, key="cart-widget-test", actor="test", reason="for the test")
    standin = Standin()
    rt.cart.platform_for = lambda _shop_id: standin  # codes are made in the stand-in platform's "admin"
    key = rt.shops.get(shop_id).widget_key
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"

    def widget_config(_platform):
        return {"api": base, "shop": key, "token": identity.sign(shop_id, "demo-1000", rt.shops.widget_secret(shop_id), ttl=3600)}

    app.register_blueprint(blueprint(standin, widget_config))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield SimpleNamespace(base=base, rt=rt, shop_id=shop_id, member=member, standin=standin)
    server.shutdown()
    rt.close()


def balance(shop):
    return shop.rt.members.get(shop.shop_id, shop.member.id)[1]


def expected_points(shop, lines, discount=Decimal(0)):
    """The backend's quote for the platform cart as the platform holds it."""
    from plugin_app.services.cart import Cart, CartLine

    cart = Cart("EUR", tuple(CartLine(str(n), q, price, line_off, product_id=pid) for n, (pid, q, price, line_off) in enumerate(lines)),
                discount)
    return shop.rt.cart.quote(shop.shop_id, "EUR", cart, "demo-1000")["earn"]["points"]


def shopify_points(shop):
    (c,) = [c for k, c in shop.standin.shopify.items() if k]
    j = shop.standin.s_json(c)
    lines = [(str(i["product_id"]), i["quantity"], Decimal(i["price"]) / 100, Decimal(0)) for i in j["items"]]
    return expected_points(shop, lines, Decimal(j["items_subtotal_price"] - j["total_price"]) / 100)


def woo_points(shop):
    (c,) = [c for k, c in shop.standin.woo.items() if k]
    j = shop.standin.w_json(c)
    lines = [(str(i["id"]), i["quantity"], Decimal(i["totals"]["line_subtotal"]) / 100 / i["quantity"],
              Decimal(int(i["totals"]["line_subtotal"]) - int(i["totals"]["line_total"])) / 100) for i in j["items"]]
    return expected_points(shop, lines)


def open_page(browser, url):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors, requests = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.wait_for_selector("[data-loyalty=launcher] >> button")
    return page, errors, requests


def earn(page, scope):
    return page.locator(f"{scope} [data-loyalty-cart] >> [data-earn]")


def wait_earn(page, scope, points):
    page.wait_for_selector(f"{scope} [data-loyalty-cart] >> [data-earn='{points}']")


@needs_browser
def test_dawn_cart_drawer_follows_the_theme_and_applies_the_reward_on_the_shopify_cart(browser, shop):  # noqa: F811
    page, errors, _ = open_page(browser, f"{shop.base}/dawn")
    page.wait_for_timeout(600)
    assert page.locator("cart-drawer [data-loyalty-cart] >> .cart").is_hidden()  # an empty cart shows nothing
    page.click("[data-variant='222']")  # product-form: /cart/add.js, publish cart-update, drawer innerHTML replaced
    page.wait_for_selector("#CartDrawer-Item-1")
    wait_earn(page, "cart-drawer", shopify_points(shop))
    page.click("[data-variant='333']")
    page.wait_for_selector("#CartDrawer-Item-2")
    points = shopify_points(shop)
    assert points == expected_points(shop, [("22", 1, Decimal("24.00"), 0), ("33", 1, Decimal("32.50"), 0)])
    wait_earn(page, "cart-drawer", points)
    assert page.locator("cart-drawer [data-loyalty-cart]").count() == 1  # re-created once, not piled up
    before = balance(shop).points
    page.locator("cart-drawer [data-loyalty-cart] >> button", has_text="Apply").first.click()
    page.wait_for_selector("cart-drawer [data-loyalty-cart] >> [data-applied]")
    (cart,) = [c for k, c in shop.standin.shopify.items() if k]
    code = page.locator("cart-drawer [data-loyalty-cart] >> [data-applied]").get_attribute("data-applied")
    assert cart["codes"] == [code]  # on the platform cart, through /cart/update.js
    assert shop.standin.s_json(cart)["discount_codes"] == [{"code": code, "applicable": True}]
    page.wait_for_selector(f"cart-drawer .discounts__discount:has-text('{code}')")  # the theme shows it (pubsub re-render)
    assert (balance(shop).points, balance(shop).held_points) == (before - 100, 100)
    wait_earn(page, "cart-drawer", shopify_points(shop))  # earns on the discounted cart
    assert shopify_points(shop) == points - 5
    page.click("[data-variant='111']")  # another add: the drawer re-renders again, the code stays applied
    page.wait_for_selector("#CartDrawer-Item-3")
    wait_earn(page, "cart-drawer", shopify_points(shop))
    assert page.locator("cart-drawer [data-loyalty-cart] >> text=applied").count() == 1
    page.locator("cart-drawer").screenshot(path=str(_shots() / "dawn-drawer-applied.png"))
    page.locator("cart-drawer [data-loyalty-cart] >> button", has_text="Remove").click()
    page.wait_for_selector("cart-drawer [data-loyalty-cart] >> button:has-text('Apply')")
    assert cart["codes"] == []
    assert (balance(shop).points, balance(shop).held_points) == (before, 0)
    page.click(".cart-remove[data-index='1']")  # cart.js updateQuantity: /cart/change.js, .drawer__inner replaced
    page.wait_for_function("document.querySelectorAll('cart-drawer .cart-item').length === 2")
    wait_earn(page, "cart-drawer", shopify_points(shop))
    assert not errors


def _shots():
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@needs_browser
def test_woocommerce_classic_cart_applies_through_wc_ajax_and_follows_jquery_events(browser, shop):  # noqa: F811
    page, errors, _ = open_page(browser, f"{shop.base}/woo/cart")
    page.wait_for_timeout(600)
    assert page.locator(".cart-collaterals [data-loyalty-cart] >> .cart").is_hidden()
    page.click(".add_to_cart_button[data-product_id='22']")  # add-to-cart.js: wc-ajax, then added_to_cart
    page.wait_for_selector(".woocommerce-cart-form .cart_item")
    wait_earn(page, ".cart-collaterals", woo_points(shop))
    page.click(".add_to_cart_button[data-product_id='33']")
    page.wait_for_function("document.querySelectorAll('.woocommerce-cart-form .cart_item').length === 2")
    points = woo_points(shop)
    wait_earn(page, ".cart-collaterals", points)
    before = balance(shop).points
    page.locator(".cart-collaterals [data-loyalty-cart] >> button", has_text="Apply").first.click()
    page.wait_for_selector(".cart-collaterals [data-loyalty-cart] >> [data-applied]")
    code = page.locator(".cart-collaterals [data-loyalty-cart] >> [data-applied]").get_attribute("data-applied")
    (cart,) = [c for k, c in shop.standin.woo.items() if k]
    assert cart["coupons"] == [code.lower()]  # WooCommerce keeps codes lower-cased
    page.wait_for_selector(f".cart_totals .coupon-{code.lower()}")  # the classic cart re-rendered its totals
    assert page.locator(".cart-collaterals [data-loyalty-cart] >> text=applied").count() == 1
    assert (balance(shop).points, balance(shop).held_points) == (before - 100, 100)
    wait_earn(page, ".cart-collaterals", woo_points(shop))
    assert woo_points(shop) < points
    page.screenshot(path=str(_shots() / "woo-classic-applied.png"))
    page.locator(".cart-collaterals [data-loyalty-cart] >> button", has_text="Remove").click()
    page.wait_for_selector(".cart-collaterals [data-loyalty-cart] >> button:has-text('Apply')")
    assert cart["coupons"] == [] and (balance(shop).points, balance(shop).held_points) == (before, 0)
    assert not errors


@needs_browser
def test_woocommerce_cart_block_applies_through_the_store_api_with_the_nonce(browser, shop):  # noqa: F811
    page, errors, _ = open_page(browser, f"{shop.base}/woo/blocks-cart")
    page.wait_for_timeout(600)
    assert page.locator(".wp-block-woocommerce-cart-totals-block [data-loyalty-cart] >> .cart").is_hidden()
    page.click(".add_to_cart_button[data-product_id='11']")  # Store API add-item, the data store re-renders
    page.wait_for_selector(".wc-block-cart-items__row")
    scope = ".wp-block-woocommerce-cart-totals-block"
    wait_earn(page, scope, woo_points(shop))
    page.click(".add_to_cart_button[data-product_id='22']")
    page.wait_for_function("document.querySelectorAll('.wc-block-cart-items__row').length === 2")
    wait_earn(page, scope, woo_points(shop))
    page.locator(f"{scope} [data-loyalty-cart] >> button", has_text="Apply").first.click()
    page.wait_for_selector(f"{scope} [data-loyalty-cart] >> [data-applied]")
    code = page.locator(f"{scope} [data-loyalty-cart] >> [data-applied]").get_attribute("data-applied")
    (cart,) = [c for k, c in shop.standin.woo.items() if k]
    assert cart["coupons"] == [code.lower()]
    page.wait_for_selector(f"{scope} .wc-block-components-totals-discount:has-text('{code.lower()}')")
    assert page.locator(f"{scope} [data-loyalty-cart]").count() == 1
    assert page.locator(f"{scope} [data-loyalty-cart] >> text=applied").count() == 1
    wait_earn(page, scope, woo_points(shop))
    page.screenshot(path=str(_shots() / "woo-blocks-applied.png"))
    page.locator(f"{scope} [data-loyalty-cart] >> button", has_text="Remove").click()
    page.wait_for_selector(f"{scope} [data-loyalty-cart] >> button:has-text('Apply')")
    assert cart["coupons"] == [] and balance(shop).held_points == 0
    assert not errors


@needs_browser
def test_no_cart_on_the_page_no_panel_download(browser, shop):  # noqa: F811
    page, errors, requests = open_page(browser, f"{shop.base}/woo/shop")
    page.wait_for_timeout(800)
    assert any(u.endswith("/widgets/loyalty.js") for u in requests)
    assert not any("panel.js" in u for u in requests)
    assert not errors


def test_the_stand_in_carts_agree_with_their_products():
    assert set(p[0] for p in PRODUCTS.values()) == set(WOO_PRODUCTS)
