"""The widget files on the wire: gzip when the client accepts it (Vary: Accept-Encoding, the
right Content-Length), a year-long immutable cache on content-hashed URLs, a short cache on the
plain URL that themes and the WordPress plugin reference, and the launcher loading the panel by
its hashed URL."""
import gzip
import json
import re
import threading
from pathlib import Path

import pytest

from plugin_app.http import assets

from .test_widgets import browser, store  # noqa: F401  (fixtures: Chromium, the demo store served)

ROOT = Path(__file__).resolve().parent.parent
GZ = {"Accept-Encoding": "gzip, deflate, br"}


def test_plain_url_is_gzipped_with_vary_and_a_short_cache(client):
    r = client.get("/widgets/loyalty.js", headers=GZ)
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    assert r.headers["Vary"] == "Accept-Encoding" and r.headers["Cache-Control"] == "public, max-age=300"
    assert int(r.headers["Content-Length"]) == len(r.data)
    source = (ROOT / "widgets" / "loyalty.js").read_bytes()
    text = gzip.decompress(r.data)
    assert len(r.data) < len(text) / 1.5 and r.headers["Content-Type"].startswith("text/javascript")
    # the same file, except that the launcher names the panel by its versioned URL
    assert text == assets.served("loyalty.js", source, assets.table())
    assert text == source.replace(assets.PANEL_MARK.encode(), f'"{assets.table()["panel.js"].versioned}"'.encode()).replace(
        assets.TEXTS_MARK.encode(), assets.boot_texts().encode())
    assert '"it":{"launcher":"Premi"' in text.decode()  # the launcher's label in each language, from the catalogue
    assert r.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("accept", [None, "identity", "gzip;q=0", "br"])
def test_clients_that_do_not_take_gzip_get_plain_bytes(client, accept):
    r = client.get("/widgets/panel.js", headers={"Accept-Encoding": accept} if accept else {})
    assert r.status_code == 200 and "Content-Encoding" not in r.headers and r.headers["Vary"] == "Accept-Encoding"
    assert r.data == (ROOT / "widgets" / "panel.js").read_bytes()
    assert int(r.headers["Content-Length"]) == len(r.data)


def test_the_launcher_loads_the_panel_by_its_immutable_versioned_url(client):
    launcher = gzip.decompress(client.get("/widgets/loyalty.js", headers=GZ).data).decode()
    versioned = re.search(r'"(panel\.[0-9a-f]{12}\.js)"', launcher).group(1)
    r = client.get(f"/widgets/{versioned}", headers=GZ)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert gzip.decompress(r.data) == (ROOT / "widgets" / "panel.js").read_bytes()
    plain = client.get(f"/widgets/{versioned}")
    assert plain.data == (ROOT / "widgets" / "panel.js").read_bytes() and plain.headers["ETag"] != r.headers["ETag"]
    # the launcher itself has a versioned URL too (the demo store uses it)
    own = assets.url("loyalty.js")
    assert client.get(own, headers=GZ).headers["Cache-Control"].endswith("immutable")


def test_a_stale_hash_gets_todays_file_briefly_cached_and_unknown_names_404(client):
    r = client.get("/widgets/panel.000000000000.js", headers=GZ)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "public, max-age=300"
    for bad in ("nope.js", "panel.py", "../settings.py", "panel.JS", "panel.abc.js"):
        assert client.get(f"/widgets/{bad}").status_code == 404, bad


def test_revalidation_answers_304(client):
    r = client.get("/widgets/loyalty.js", headers=GZ)
    again = client.get("/widgets/loyalty.js", headers={**GZ, "If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    other = client.get("/widgets/loyalty.js", headers={"If-None-Match": r.headers["ETag"]})  # not gzip: other etag
    assert other.status_code == 200


def test_the_demo_store_loads_the_versioned_launcher(client, app):
    rt = app.extensions["loyalty"]
    shop, _ = rt.shops.register("demo", "assets.example")
    page = client.get(f"/demo/store?shop={shop.widget_key}").get_data(as_text=True)
    assert f'<script src="{assets.url("loyalty.js")}" async>' in page


def test_the_wordpress_plugin_references_a_working_launcher(client):
    php = (ROOT / "connectors" / "woocommerce" / "wordpress" / "loyalty-widget.php").read_text()
    wp = re.search(r"\$backend \. '(/widgets/[^']+)'", php).group(1)
    r = client.get(wp + "?ver=0.1.0", headers=GZ)  # wp_enqueue_script appends ?ver=<version>
    assert r.status_code == 200 and r.headers["Cache-Control"] == "public, max-age=300"
    # the plugin passes the backend origin; panel.js adds /storefront/v1/ (once)
    assert re.search(r"'api' => \$backend,", php)
    assert '+ "/storefront/v1/" + path' in (ROOT / "widgets" / "panel.js").read_text()


def test_the_shopify_embed_loads_the_launcher_from_its_own_assets_and_asks_for_no_backend_url():
    """The theme app extension ships the launcher and the panel in assets/ (Shopify's CDN,
    `asset_url`); every request goes through the app proxy; the merchant types no URL."""
    ext = ROOT / "extensions" / "loyalty-embed"
    liquid = (ext / "blocks" / "app-embed.liquid").read_text()
    assert "src=\"{{ 'loyalty.js' | asset_url }}\"" in liquid and "/widgets/" not in liquid
    schema = json.loads(re.search(r"{% schema %}(.*){% endschema %}", liquid, re.S).group(1))
    assert not [s for s in schema["settings"] if s["type"] in ("text", "url") and "url" in s["id"] and s["id"] != "join_url"]
    assert "backend_url" not in liquid
    for locale in ext.glob("locales/*.json"):
        assert "backend_url" not in locale.read_text()
    # the proxy the embed speaks through is the one shopify.app.toml declares
    app = (ROOT / "shopify.app.toml").read_text()
    prefix = re.search(r'^prefix = "([^"]+)"', app, re.M).group(1)
    subpath = re.search(r'^subpath = "([^"]+)"', app, re.M).group(1)
    assert f'data-proxy="/{prefix}/{subpath}"' in liquid
    # no origin of the backend anywhere in what ships to the storefront
    host = re.search(r'^url = "https://([^/"]+)', app, re.M).group(1)
    for path in [*ext.glob("blocks/*.liquid"), *ext.glob("assets/*")]:
        assert host not in path.read_text(), path


def test_the_shipped_extension_assets_are_what_the_build_makes():
    """extensions/loyalty-embed/assets/ is built from widgets/ (`make extension-assets`): a change
    to a widget, or to the launcher's texts in the catalogue, without re-running it fails here."""
    built = assets.extension_assets()
    shipped = {p.name: p.read_bytes() for p in assets.EXTENSION_ASSETS.iterdir()}
    assert set(shipped) == set(built) == {"loyalty.js", "panel.js"}
    for name in built:
        assert shipped[name] == built[name], f"{name} is stale: run `make extension-assets`"
    launcher = built["loyalty.js"].decode()
    # the launcher carries the texts and loads the panel from beside itself on the CDN
    assert '"it":{"launcher":"Premi"' in launcher and assets.TEXTS_MARK not in launcher
    assert 's.src = assets + /*@versioned*/"panel.js";' in launcher
    assert built["panel.js"].endswith((ROOT / "widgets" / "panel.js").read_bytes())
    for name, most in (("loyalty.js", 2500), ("panel.js", 12_000)):  # as on the wire from the backend
        assert len(gzip.compress(built[name], 9)) <= most, name


def test_the_extension_asset_build_writes_only_what_changed(tmp_path):
    assert sorted(p.name for p in assets.write_extension_assets(tmp_path)) == ["loyalty.js", "panel.js"]
    assert assets.write_extension_assets(tmp_path) == []
    (tmp_path / "panel.js").write_text("stale")
    assert [p.name for p in assets.write_extension_assets(tmp_path)] == ["panel.js"]
    assert (tmp_path / "panel.js").read_bytes() == assets.extension_assets()["panel.js"]


def test_sizes_on_the_wire(client):
    for name, most in (("loyalty.js", 2500), ("panel.js", 12_000)):
        r = client.get(f"/widgets/{name}", headers=GZ)
        assert len(r.data) <= most and len(r.data) < len(assets.table()[name].raw) / 2, (name, len(r.data))


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed")
def test_in_a_browser_the_panel_arrives_gzipped_from_its_versioned_url(browser, store):
    seen = {}
    errors = []
    ctx = browser.new_context()
    pg = ctx.new_page()
    pg.on("response", lambda r: seen.setdefault(r.url.rsplit("/", 1)[-1], r) if "/widgets/" in r.url else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(f"{store.base}/demo/store?shop={store.key}&as=demo-1000")
    pg.wait_for_selector("[data-loyalty=launcher] >> button")
    pg.locator("[data-loyalty=launcher] >> button").first.click()
    pg.wait_for_selector("[data-loyalty=launcher] >> .panel h2")
    panel = [n for n in seen if n.startswith("panel.")]
    assert panel == [assets.table()["panel.js"].versioned], list(seen)
    headers = seen[panel[0]].all_headers()
    assert headers["content-encoding"] == "gzip" and "immutable" in headers["cache-control"]
    assert not errors
    ctx.close()


def _rendered_embed(cdn_src: str, lang: str) -> str:
    """The app embed's <script> tag as Shopify renders it: asset_url, the storefront's language,
    each setting's default from the block's schema."""
    liquid = (ROOT / "extensions" / "loyalty-embed" / "blocks" / "app-embed.liquid").read_text()
    defaults = {s["id"]: s.get("default", "") for s in
                json.loads(re.search(r"{% schema %}(.*){% endschema %}", liquid, re.S).group(1))["settings"]}
    tag = re.search(r"<script\b.*?</script>", re.sub(r"{% comment %}.*?{% endcomment %}", "", liquid, flags=re.S), re.S).group(0)
    tag = tag.replace("{{ 'loyalty.js' | asset_url }}", cdn_src).replace("{{ request.locale.iso_code }}", lang)
    tag = re.sub(r'data-join-url="[^"]*{% endif %}"', 'data-join-url="/account/register"', tag)
    tag = re.sub(r"{{ block\.settings\.(\w+)(?: \| escape)? }}", lambda m: str(defaults[m.group(1)]), tag)
    assert "{{" not in tag and "{%" not in tag, tag
    return tag


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed")
def test_in_a_browser_the_embed_from_shopifys_cdn_speaks_only_through_the_app_proxy(browser, clean_db):
    """Shopify stood in by request routes: the storefront page renders the app embed, the CDN
    serves the extension's assets/, and the app proxy (/apps/loyalty on the shop's domain) signs
    each request and forwards it to the backend's /proxy. The shopper sees their own balance,
    and the page never calls the backend's origin itself."""
    from urllib.parse import parse_qsl, urlsplit

    import httpx

    from werkzeug.serving import make_server

    from plugin_app import create_app

    from . import shopify_standin as S
    from .conftest import ENCRYPTION_KEY

    secret = "shpss_embed_app_secret_long_enough_00000"
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example", "shopify_api_secret": secret, "shopify_api_key": "k"})
    rt = app.extensions["loyalty"]
    shop, _ = rt.shops.register("shopify", S.DOMAIN, credentials={"access_token": "shpat_standin", "api_secret": secret})
    member, _ = rt.members.enrol(shop.id, "73")
    rt.ledger.earn(shop.id, member.id, "points", 4321, key="seed", source="order", reason="seed")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    backend = f"http://127.0.0.1:{server.server_port}"
    storefront = f"https://{S.DOMAIN}"
    cdn = "https://cdn.shopify.com/extensions/0195-loyalty/1.4.0/assets/"
    page_html = f"<!doctype html><html lang='it'><head><title>Shop</title></head><body><h1>Negozio</h1>{_rendered_embed(cdn + 'loyalty.js?v=1733', 'it')}</body></html>"
    asked, proxied, errors = [], [], []

    def from_cdn(route):
        name = urlsplit(route.request.url).path.rsplit("/", 1)[-1]
        route.fulfill(status=200, content_type="text/javascript", body=(assets.EXTENSION_ASSETS / name).read_bytes())

    def app_proxy(route):
        url = urlsplit(route.request.url)
        rest = url.path[len("/apps/loyalty"):]
        query = S.proxy_query(secret, customer="73", **dict(parse_qsl(url.query)))
        proxied.append(rest)
        forwarded = httpx.request(route.request.method, f"{backend}/proxy{rest}?{query}",
                                  content=route.request.post_data_buffer,
                                  headers={"Content-Type": route.request.headers.get("content-type", "application/json")})
        route.fulfill(status=forwarded.status_code, body=forwarded.content,
                      headers={"Content-Type": forwarded.headers.get("content-type", "application/json")})

    ctx = browser.new_context()
    try:
        pg = ctx.new_page()
        pg.on("request", lambda r: asked.append(r.url))
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.route(f"{storefront}/", lambda route: route.fulfill(status=200, content_type="text/html", body=page_html))
        pg.route("https://cdn.shopify.com/**", from_cdn)
        pg.route(f"{storefront}/apps/loyalty/**", app_proxy)
        pg.goto(f"{storefront}/")
        pg.wait_for_selector("[data-loyalty=launcher] >> button")
        pg.locator("[data-loyalty=launcher] >> button").first.click()
        pg.wait_for_function("() => /4[.,]?321/.test(document.querySelector('[data-loyalty=launcher]').shadowRoot.textContent)")
        assert not errors, errors
        assert cdn + "panel.js" in asked  # the panel comes from beside the launcher on the CDN
        assert proxied and all(p.startswith("/") for p in proxied)
        own = [u for u in asked if not (u.startswith(storefront + "/") or u.startswith("https://cdn.shopify.com/"))]
        assert own == [], own  # nothing from the page to the backend's origin
    finally:
        ctx.close()
        server.shutdown()
        rt.close()
