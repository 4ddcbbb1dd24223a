"""Category rules on real orders: Shopify line items carry no collections or tags and WooCommerce
line items no categories, so the product facts are looked up (Shopify Admin GraphQL `nodes`,
WooCommerce `GET products?include=`), cached, kept current by product and collection webhooks,
and used alike by quotes (cache only) and postings (fetched in the worker when missing)."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import text

from plugin_app import create_app
from plugin_app.services import identity
from plugin_app.services.audit import run_audit
from plugin_app.services.program import dump

from . import shopify_standin as S
from . import woocommerce_standin as W
from .conftest import ENCRYPTION_KEY

SECRET = "shpss_catalog_app_secret_0000000000000"
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def program_doc(rt, shop_id, *, outdoor: str, gift: str, boost_on: str, **extra) -> dict:
    """A category multiplier (x3 on `outdoor`), an exclusion (`gift`), a cashback boost dated
    around today (10% on `boost_on`, 2% elsewhere), and x2 on the tag `clearance`."""
    doc = dump(rt.programs.current(shop_id).program)
    doc["tiers"]["enabled"] = False
    doc["earning"]["exclude"] = {"collections": [gift]}
    doc["earning"]["multipliers"] = [{"match": {"collections": [outdoor]}, "factor": "3", "label": "Outdoor"},
                                     {"match": {"tags": ["clearance"]}, "factor": "2", "label": "Clearance"}]
    local = NOW.replace(tzinfo=None)
    doc["cashback"].update(enabled=True, rate="2", boosts=[{
        "match": {"collections": [boost_on]}, "rate": "10", "label": "Outdoor season",
        "window": {"starts_at": (local - timedelta(days=5)).isoformat(), "ends_at": (local + timedelta(days=5)).isoformat()}}])
    doc.update(extra)
    return doc


def earned(rt, order_id):
    with rt.db.transaction() as conn:
        return conn.execute(text("select points, credit from orders where platform_order_id = :o"), {"o": order_id}).one()


# -- Shopify -------------------------------------------------------------------------------------
@pytest.fixture
def shop(clean_db):
    state = S.AdminState()
    state.collections = {4101: S.collection(4101, "outdoor", "Outdoor"), 4102: S.collection(4102, "gift-wrap", "Gift wrap")}
    state.put_product(S.product(8001, title="Trail Boots", tags="hiking, Sale", product_type="Footwear"), [4101])
    state.put_product(S.product(8002, title="Gift Wrap"), [4102])
    state.put_product(S.product(8003, title="Camp Mug", product_type="Kitchen"), [])
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example", "shopify_api_secret": SECRET, "shopify_api_key": "k"})
    rt = app.extensions["loyalty"]
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    registered, _ = rt.shops.register("shopify", S.DOMAIN, credentials={"access_token": "shpat_standin", "api_secret": SECRET})
    rt.programs.put(registered.id, program_doc(rt, registered.id, outdoor="outdoor", gift="gift-wrap", boost_on="4101"),
                    author="test")
    client = app.test_client()
    yield SimpleNamespace(rt=rt, state=state, shop=rt.shops.get(registered.id), client=client,
                          sender=S.Sender(client, SECRET))
    rt.close()


def shopify_order(order_id: int, lines=None) -> dict:
    """Paid, taxed, with shipping and an order-level discount allocated to the lines; the line
    items carry product ids only, as Shopify's do."""
    lines = lines or [S.line_item(11, "50.00", 2, product_id=8001, discount="10.00", tax="8.00", title="Trail Boots"),
                      S.line_item(12, "5.00", 1, product_id=8002, title="Gift Wrap"),
                      S.line_item(13, "20.00", 1, product_id=8003, discount="2.00", tax="1.80", title="Camp Mug")]
    o = S.order(order_id, lines=lines, created_at=NOW.isoformat())
    o["total_discounts"] = str(sum(Decimal(d["amount"]) for li in lines for d in li["discount_allocations"]))
    o["discount_applications"] = [{"type": "discount_code", "value": "10.0", "value_type": "percentage",
                                   "allocation_method": "across", "target_selection": "all", "target_type": "line_item",
                                   "code": "SPRING10"}]
    o["total_tax"] = str(sum(Decimal(tl["price"]) for li in lines for tl in li["tax_lines"]))
    return o


CART = {"currency": "EUR", "lines": [
    {"product_id": "8001", "quantity": 2, "price": "50.00", "discount": "10.00"},
    {"product_id": "8002", "quantity": 1, "price": "5.00"},
    {"product_id": "8003", "quantity": 1, "price": "20.00", "discount": "2.00"}]}


def quote(env, cart=CART):
    r = env.client.post(f"/storefront/v1/cart/quote?shop={env.shop.widget_key}", json=cart)
    assert r.status_code == 200, r.get_json()
    earn = r.get_json()["earn"]
    return earn["points"], earn["cashback"]["amount"]


def nodes_calls(state) -> int:
    return sum("nodes(" in r["query"] for r in state.requests)


def test_shopify_category_rules_earn_on_a_real_order_and_the_quote_agrees(shop):
    rt, state = shop.rt, shop.state
    jobs = []
    rt.catalog.enqueue = lambda task, *args, job_id=None: jobs.append((task, args))
    # The first quote knows nothing yet: it answers from the cache (no platform call) and asks
    # a worker to look the products up.
    assert quote(shop) == (113, "2.26") and nodes_calls(state) == 0
    assert [task for task, _ in jobs] == ["refresh_catalog"]
    for task, args in jobs:
        rt.run_task(task, args)
    assert nodes_calls(state) == 1
    # Outdoor boots: (100 - 10) x3 = 270 points, 10% = 9.00; gift wrap excluded; the mug 18
    # points at 2% = 0.36.
    assert quote(shop) == (288, "9.36")
    assert shop.sender.deliver("orders/paid", shopify_order(6001)).status_code == 200
    assert (earned(rt, "6001").points, earned(rt, "6001").credit) == (288, Decimal("9.36"))
    assert nodes_calls(state) == 1  # the posting read the fresh cache
    assert run_audit(rt.db).ok


def test_shopify_posting_fetches_missing_facts_before_earning(shop):
    rt, state = shop.rt, shop.state
    assert shop.sender.deliver("orders/paid", shopify_order(6002)).status_code == 200
    assert (earned(rt, "6002").points, earned(rt, "6002").credit) == (288, Decimal("9.36"))
    assert nodes_calls(state) == 1
    assert quote(shop) == (288, "9.36")
    # A later delivery of the earned order asks the platform nothing, even with the cache expired.
    with rt.db.transaction() as conn:
        conn.execute(text("update catalog_products set fetched_at = fetched_at - interval '30 days'"))
    shop.sender.deliver("orders/updated", shopify_order(6002))
    assert nodes_calls(state) == 1 and earned(rt, "6002").points == 288


def test_shopify_unreachable_platform_retries_the_delivery_instead_of_earning_without(shop):
    rt, state = shop.rt, shop.state
    state.bucket, state.restore = 0, 0.0  # throttled, and it stays so
    assert shop.sender.deliver("orders/paid", shopify_order(6003)).status_code == 200
    with rt.db.transaction() as conn:
        row = conn.execute(text("select id, state, last_error from inbox")).one()
        assert conn.execute(text("select count(*) from orders")).scalar() == 0
    assert row.state == "received" and "CatalogUnavailable" in row.last_error
    state.bucket, state.restore = 1000, 50.0
    with rt.db.transaction() as conn:
        conn.execute(text("update inbox set locked_until = null"))
    assert rt.inbox.process(row.id) == "done"
    assert (earned(rt, "6003").points, earned(rt, "6003").credit) == (288, Decimal("9.36"))


def test_shopify_products_update_changes_the_next_orders_earning(shop):
    rt, state = shop.rt, shop.state
    mug = [S.line_item(21, "20.00", 1, product_id=8003, discount="2.00", tax="1.80", title="Camp Mug")]
    shop.sender.deliver("orders/paid", shopify_order(6101, mug))
    assert earned(rt, "6101").points == 18
    # The merchant tags the mug "clearance": Shopify sends products/update (tags as one string).
    state.products[8003].update(tags="camping, clearance", updated_at="2026-03-02T09:00:00-05:00")
    assert shop.sender.deliver("products/update", state.products[8003]).status_code == 200
    with rt.db.transaction() as conn:
        row = conn.execute(text("select tags, stale from catalog_products where product_id = '8003'")).one()
    assert row.tags == ["camping", "clearance"] and row.stale
    assert quote(shop, {"currency": "EUR", "lines": [CART["lines"][2]]})[0] == 36  # the quote sees it at once
    shop.sender.deliver("orders/paid", shopify_order(6102, [dict(mug[0], id=22)]))
    assert earned(rt, "6102").points == 36
    # An older products/update arriving late changes nothing.
    old = dict(state.products[8003], tags="camping", updated_at="2026-03-01T10:00:00-05:00")
    shop.sender.deliver("products/update", old)
    with rt.db.transaction() as conn:
        assert conn.execute(text("select tags from catalog_products where product_id = '8003'")).scalar() == ["camping", "clearance"]
    # A deleted product is forgotten.
    shop.sender.deliver("products/delete", {"id": 8002})
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from catalog_products where product_id = '8002'")).scalar() == 0


def test_shopify_collections_update_makes_the_cache_refresh(shop):
    rt, state = shop.rt, shop.state
    mug = [S.line_item(31, "20.00", 1, product_id=8003, title="Camp Mug")]
    shop.sender.deliver("orders/paid", shopify_order(6201, mug))
    assert (earned(rt, "6201").points, earned(rt, "6201").credit) == (20, Decimal("0.40"))
    calls = nodes_calls(state)
    # The merchant adds the mug to "Outdoor": collections/update carries the collection only.
    state.collects[8003] = [4101]
    assert shop.sender.deliver("collections/update", state.collections[4101]).status_code == 200
    with rt.db.transaction() as conn:
        assert conn.execute(text("select bool_and(stale) from catalog_products")).scalar() is True
    shop.sender.deliver("orders/paid", shopify_order(6202, [dict(mug[0], id=32)]))
    assert (earned(rt, "6202").points, earned(rt, "6202").credit) == (60, Decimal("2.00"))
    assert nodes_calls(state) == calls + 1
    # A collection no rule names only marks its own products.
    state.collections[4109] = S.collection(4109, "kitchen", "Kitchen")
    with rt.db.transaction() as conn:
        conn.execute(text("update catalog_products set stale = false"))
    shop.sender.deliver("collections/update", state.collections[4109])
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from catalog_products where stale")).scalar() == 0


def test_shopify_product_topics_are_subscribed_and_translated():
    from connectors.shopify.admin import WEBHOOK_TOPICS
    from connectors.shopify.translate import events
    from plugin_app.domain.events import CollectionChanged, ProductSeen

    assert {"PRODUCTS_UPDATE", "PRODUCTS_DELETE", "COLLECTIONS_UPDATE"} <= set(WEBHOOK_TOPICS) <= S.TOPIC_ENUM
    [seen] = events("products/update", S.body(S.product(9, tags="cotton, comfortable", product_type="Shirts")))
    assert isinstance(seen, ProductSeen) and seen.tags == ("cotton", "comfortable") and seen.groups is None
    assert events("collections/update", S.body(S.collection(7, "summer", "Summer"))) == [CollectionChanged("7", "summer")]


def test_shopify_facts_are_batched_under_the_query_cost_limit(shop):
    rt, state = shop.rt, shop.state
    for i in range(40):
        state.put_product(S.product(9000 + i, tags="bulk"), [4101])
    facts = rt.shopify_admin_for(shop.shop.id).product_facts([str(9000 + i) for i in range(40)] + ["424242"])
    assert len(facts) == 41 and facts["9000"].tags == ("bulk",) and facts["424242"].groups == ()
    assert {g.handle for g in facts["9039"].groups} == {"outdoor"}
    assert nodes_calls(state) == 3  # 15 + 15 + 11: each under 1000 points


# -- WooCommerce ---------------------------------------------------------------------------------
@pytest.fixture
def woo(clean_db):
    state = W.WooState()
    state.products = {501: W.product(501, name="Trail Boots", categories=[(20, "outdoor", "Outdoor")], tags=[(31, "sale", "Sale")]),
                      502: W.product(502, name="Gift Wrap", categories=[(21, "gift-wrap", "Gift wrap")]),
                      503: W.product(503, name="Camp Mug")}
    server, url = W.serve(state)
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example"})
    rt = app.extensions["loyalty"]
    client = app.test_client()
    out = rt.connect_woocommerce(url, "ck_standin", "cs_standin", verify=False)
    shop_id = out["shop_id"]
    # Categories by slug (outdoor, gift-wrap) and by id (20), as a merchant may enter them.
    rt.programs.put(shop_id, program_doc(rt, shop_id, outdoor="outdoor", gift="gift-wrap", boost_on="20"), author="test")
    yield SimpleNamespace(rt=rt, state=state, client=client, shop=rt.shops.get(shop_id), shop_id=shop_id,
                          sender=W.Sender(client, shop_id, out["webhook_secret"]))
    rt.close()
    server.shutdown()


def woo_order(order_id: int, lines=((1, 2, "90.00", "18.90"), (2, 1, "5.00", "1.05"), (3, 1, "18.00", "3.78")),
              modified: str = "2026-11-20T10:00:00") -> dict:
    """Taxed lines after a 10.00 cart coupon on the boots (subtotal 100.00, total 90.00);
    line product_id 500 + line id; no categories on the lines, as WooCommerce sends them."""
    o = W.order(order_id, lines=[(lid, qty, total) for lid, qty, total, _ in lines], modified=modified)
    for li, (_, qty, total, tax) in zip(o["line_items"], lines):
        li["total_tax"] = tax
        li["subtotal"] = "100.00" if li["id"] == 1 else total
    o["discount_total"], o["cart_tax"] = "10.00", str(sum(Decimal(t) for *_, t in lines))
    o["date_created_gmt"] = o["date_paid_gmt"] = NOW.replace(tzinfo=None).isoformat()
    return o


def test_woocommerce_category_rules_earn_on_a_real_order_and_the_quote_agrees(woo):
    rt, state = woo.rt, woo.state
    assert woo.sender.deliver("order.updated", woo_order(7001)).status_code == 200
    assert (earned(rt, "7001").points, earned(rt, "7001").credit) == (288, Decimal("9.36"))
    assert len(state.product_requests) == 1 and state.product_requests[0]["include"] == "501,502,503"
    token = identity.sign(woo.shop_id, "12", rt.shops.widget_secret(woo.shop_id))
    r = woo.client.post(f"/storefront/v1/cart/quote?shop={woo.shop.widget_key}", headers={"Authorization": f"Bearer {token}"},
                        json={"currency": "EUR", "lines": [
                            {"product_id": "501", "quantity": 2, "price": "50.00", "discount": "10.00"},
                            {"product_id": "502", "quantity": 1, "price": "5.00"},
                            {"product_id": "503", "quantity": 1, "price": "18.00"}]})
    earn = r.get_json()["earn"]
    assert (earn["points"], earn["cashback"]["amount"]) == (288, "9.36")
    assert len(state.product_requests) == 1  # the quote asked nothing of the store
    assert run_audit(rt.db).ok


def test_woocommerce_product_webhook_changes_the_next_orders_earning(woo):
    rt, state = woo.rt, woo.state
    woo.sender.deliver("order.updated", woo_order(7101, lines=((3, 1, "18.00", "3.78"),)))
    assert earned(rt, "7101").points == 18
    # The merchant moves the mug into Outdoor: product.updated carries the whole product.
    state.products[503] = W.product(503, name="Camp Mug", categories=[(20, "outdoor", "Outdoor")],
                                    modified="2026-11-21T09:00:00")
    assert woo.sender.deliver("product.updated", state.products[503]).status_code == 200
    woo.sender.deliver("order.updated", woo_order(7102, lines=((3, 1, "18.00", "3.78"),)))
    assert (earned(rt, "7102").points, earned(rt, "7102").credit) == (54, Decimal("1.80"))
    assert len(state.product_requests) == 1  # the webhook carried it all: nothing to fetch
    woo.sender.deliver("product.deleted", {"id": 502})
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from catalog_products where product_id = '502'")).scalar() == 0


def test_woocommerce_product_topics_are_subscribed():
    from connectors.woocommerce.admin import WEBHOOK_TOPICS

    assert {"product.created", "product.updated", "product.deleted"} <= set(WEBHOOK_TOPICS) <= W.TOPICS


def test_woocommerce_variation_webhook_marks_its_parent_and_matching_ignores_case():
    from datetime import datetime as dt

    from connectors.woocommerce.translate import events
    from plugin_app.domain.catalog import Group, ProductFacts, enrich
    from plugin_app.domain.earning import Order, OrderLine, matches
    from plugin_app.domain.events import ProductSeen
    from plugin_app.domain.program import Match

    assert events("product.updated", W.php_json(W.product(601, parent_id=600))) == [ProductSeen("600")]
    [seen] = events("product.updated", W.php_json(W.product(600, categories=[(20, "outdoor", "Outdoor")],
                                                             tags=[(31, "sale", "Sale")])))
    assert seen.groups == (Group("20", "outdoor", "Outdoor"),) and set(seen.tags) == {"Sale", "sale"}
    order = Order("1", "EUR", dt(2026, 3, 1, tzinfo=timezone.utc), (OrderLine("l", 1, Decimal("10"), product_id="600"),))
    line = enrich(order, {"600": ProductFacts("600", seen.groups, seen.tags)}).lines[0]
    assert matches(Match(collections=["OUTDOOR"]), line) and matches(Match(collections=["20"]), line)
    assert matches(Match(tags=["SALE"]), line) and not matches(Match(collections=["indoor"]), line)


def test_an_order_edited_after_payment_keeps_its_categories_and_the_added_line_gets_its_own(shop):
    """An edit recalculates the earned order: it must see the facts the order earned with (from
    the cache, stale or not, without asking again), and the added product's, fetched once."""
    rt, state = shop.rt, shop.state
    state.put_product(S.product(8004, title="Tent Pegs"), [4101])
    assert shop.sender.deliver("orders/paid", shopify_order(6010)).status_code == 200
    assert earned(rt, "6010").points == 288 and nodes_calls(state) == 1
    with rt.db.transaction() as conn:  # the cache has aged meanwhile
        conn.execute(text("update catalog_products set fetched_at = fetched_at - interval '30 days'"))
    lines = [S.line_item(11, "50.00", 2, product_id=8001, discount="10.00", tax="8.00", title="Trail Boots"),
             S.line_item(12, "5.00", 1, product_id=8002, title="Gift Wrap"),
             S.line_item(13, "20.00", 1, product_id=8003, discount="2.00", tax="1.80", title="Camp Mug"),
             S.line_item(14, "10.00", 1, product_id=8004, title="Tent Pegs")]
    edited = shopify_order(6010, lines)
    edited["updated_at"] = (NOW + timedelta(hours=2)).isoformat()
    assert shop.sender.deliver("orders/updated", edited).status_code == 200
    # The pegs are outdoor gear: 10 x3 = 30 more points and 10% = 1.00 more cashback; nothing
    # the order earned before is taken back.
    assert (earned(rt, "6010").points, earned(rt, "6010").credit) == (318, Decimal("10.36"))
    assert nodes_calls(state) == 2  # only the new product was asked about
    assert run_audit(rt.db).ok


def test_the_admin_preview_agrees_with_the_quote_and_the_posting(shop):
    """The program preview of an order (what the admin shows before anything is posted) reads the
    same product facts as the cart quote: a category rule changes the preview too."""
    from connectors.shopify.translate import order as translate

    rt = shop.rt
    jobs = []
    rt.catalog.enqueue = lambda task, *args, job_id=None: jobs.append(task)
    neutral = translate(shopify_order(6020)).order
    before = rt.orders.preview(shop.shop.id, neutral)
    assert before.points == 113 and jobs == ["refresh_catalog"]  # nothing known yet: a fetch is scheduled
    assert shop.sender.deliver("orders/paid", shopify_order(6021)).status_code == 200  # fetches the facts
    after = rt.orders.preview(shop.shop.id, neutral)
    assert (after.points, after.credit) == (288, Decimal("9.36")) == (earned(rt, "6021").points, earned(rt, "6021").credit)


def test_a_program_that_needs_facts_gets_them_even_right_after_the_change(shop):
    """Outside the order's transaction, whether facts are needed is read from a program a few
    seconds old; an order that arrives right after the merchant added category rules still has
    its products looked up (the transaction asks again with the current program)."""
    rt, state = shop.rt, shop.state
    rules = dump(rt.programs.current(shop.shop.id).program)
    plain = dict(rules, earning={**rules["earning"], "exclude": None, "multipliers": []},
                 cashback={**rules["cashback"], "boosts": []})
    rt.programs.put(shop.shop.id, plain, author="test")
    assert not rt.programs.for_reading(shop.shop.id).program.earning.multipliers
    stale = rt.programs._current_cache[shop.shop.id]
    rt.programs.put(shop.shop.id, rules, author="test")  # the category rules again, at once
    # This worker read the program a moment before the change (as a process other than the
    # one that saved it would still have it): its cache still says no facts are needed.
    rt.programs._current_cache[shop.shop.id] = stale
    assert not rt.programs.for_reading(shop.shop.id).program.earning.multipliers
    assert shop.sender.deliver("orders/paid", shopify_order(6101)).status_code == 200
    assert (earned(rt, "6101").points, earned(rt, "6101").credit) == (288, Decimal("9.36"))
    assert nodes_calls(state) == 1
