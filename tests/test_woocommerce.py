"""WooCommerce: signatures on PHP-escaped bodies, the unsigned ping, connecting through the
`woocommerce` library against the stand-in (OAuth 1.0a over http), status mapping and
convergence, reconciliation of dropped deliveries and disabled webhooks, and the cart path with
coupons."""
import json
import random
import uuid
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from connectors.woocommerce.webhooks import verify
from plugin_app import create_app
from plugin_app.cli import main
from plugin_app.services import identity
from plugin_app.services.audit import run_audit

from . import woocommerce_standin as W
from .conftest import ENCRYPTION_KEY


def test_signature_vector_and_php_escaping():
    body = b'{"id":727,"status":"processing","_links":{"self":[{"href":"https:\\/\\/example.com\\/wp-json\\/wc\\/v3\\/orders\\/727"}]}}'
    assert verify(body, {"X-WC-Webhook-Signature": "jDwKYNNzmnao5nkj5umG+8quzROVVEzMeiQ9MU1TE/w="}, ["wc_secret_123"])
    php = W.php_json({"note": "Café / crème brûlée", "url": "https://a/b"})
    assert b"\\/" in php and b"\\u00e9" in php
    assert verify(php, {"X-WC-Webhook-Signature": W.sign(php, "s")}, ["s"])
    reencoded = json.dumps(json.loads(php), ensure_ascii=False).encode()  # what a careless re-serialiser does
    assert not verify(reencoded, {"X-WC-Webhook-Signature": W.sign(php, "s")}, ["s"])


@pytest.fixture
def env(clean_db):
    state = W.WooState()
    server, url = W.serve(state)
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example"})
    rt = app.extensions["loyalty"]
    client = app.test_client()
    state.deliver = lambda target, body, headers: client.post(target.replace("https://loyalty.example", ""),
                                                              data=body, headers=headers)
    out = rt.connect_woocommerce(url, "ck_standin", "cs_standin")
    from types import SimpleNamespace
    yield SimpleNamespace(app=app, rt=rt, client=client, state=state, url=url, out=out, shop_id=out["shop_id"],
                          sender=W.Sender(client, out["shop_id"], out["webhook_secret"]))
    rt.close()
    server.shutdown()


def test_connect_registers_our_webhooks_with_our_secret(env):
    hooks = env.state.webhooks.values()
    assert {h["topic"] for h in hooks} == {"order.created", "order.updated", "order.deleted", "order.restored",
                                           "customer.created", "customer.updated",
                                           "product.created", "product.updated", "product.deleted"}
    assert env.rt.shops.get(env.shop_id).timezone == "Europe/Rome"  # read from the store's /wp-json/
    assert {h["secret"] for h in hooks} == {env.out["webhook_secret"]}
    assert {h["delivery_url"] for h in hooks} == {f"https://loyalty.example/webhooks/woocommerce/{env.shop_id}"}
    again = env.rt.connect_woocommerce(env.url, "ck_standin", "cs_standin")
    assert (again["shop_id"], again["webhook_secret"], again["webhooks"]) == (env.shop_id, env.out["webhook_secret"], [])
    with env.rt.db.transaction() as conn:  # the pings were answered and stored nothing
        assert conn.execute(text("select count(*) from inbox")).scalar() == 0


def test_cli_add_woocommerce(env, clean_db):
    run = lambda *args: CliRunner().invoke(main, ["shops", "add-woocommerce", *args], env={  # noqa: E731
        "DATABASE_URL": clean_db, "LOYALTY_ENCRYPTION_KEY": ENCRYPTION_KEY, "LOG_LEVEL": "ERROR", "REDIS_URL": "",
        "APP_URL": "https://loyalty.example"})
    r = run("--url", env.url, "--consumer-key", "ck_standin", "--consumer-secret", "cs_standin")
    out = json.loads(r.output)
    assert r.exit_code == 0 and out["shop_id"] == env.shop_id and {"admin_api_key", "webhook_secret"} <= set(out)
    bad = run("--url", env.url, "--consumer-key", "ck_standin", "--consumer-secret", "cs_wrong")
    assert bad.exit_code != 0 and "refused" in bad.output
    offline = run("--url", "https://not-reachable.example", "--consumer-key", "k", "--consumer-secret", "s",
                  "--no-verify", "--webhook-secret", "mine", "--currency", "GBP")
    assert offline.exit_code == 0 and json.loads(offline.output)["webhook_secret"] == "mine"


def test_intake_answers(env):
    assert env.sender.ping(3).status_code == 200
    assert env.sender.deliver("order.updated", W.order(1), secret="forged").status_code == 401
    assert env.client.post("/webhooks/woocommerce/9999", data=b"{}", headers={"X-WC-Webhook-Signature": "x"}).status_code == 404
    first = env.sender.deliver("order.updated", W.order(1))
    again = env.sender.deliver("order.updated", W.order(1))  # the same state twice: one message
    assert first.get_json()["duplicate"] is False and again.get_json()["duplicate"] is True


def snapshot(rt, shop_id, customer="12"):
    _, b = rt.members.by_customer(shop_id, customer)
    return (b.points, b.pending_points, b.lifetime_points, b.credit.amount)


def scenario(store: W.WooState) -> list:
    """Taxed orders (22%) with shipping, a coupon discount, partial refunds by line, by amount
    and of shipping only (5.x: a refund leaves date_modified and status as they were), a
    cancellation, a draft and a trashed order. The refunds' lines are in `store`."""
    lines1 = [(101, 2, "40.00"), (102, 1, "31.00")]
    o1 = W.order(1, "processing", modified="2026-11-20T10:01:00", lines=lines1, coupons=["SPRING10"], discount="10.00")
    r81 = W.refund_of(o1, 81, lines=[(101, 1)])  # one of the two mugs: 20.00 + 4.40 tax
    r82 = W.refund_of(o1, 82, amount="10.00")  # a goodwill amount, no lines
    o1a = W.with_refund(o1, r81, store=store)
    o1b = W.with_refund(o1a, r82, store=store)
    o5 = W.order(5, "processing", modified="2026-11-20T10:09:00", lines=[(501, 1, "30.00")])
    r85 = W.refund_of(o5, 85, shipping=True)  # shipping only: outside the base
    return [
        ("customer.created", {"id": 12, "email": "zoe@example.org"}),
        ("order.created", W.order(1, "pending", modified="2026-11-20T10:00:00", lines=lines1, coupons=["SPRING10"],
                                  discount="10.00")),
        ("order.updated", o1),
        ("order.updated", o1a),
        ("order.updated", o1b),
        ("order.updated", {**o1b, "status": "completed", "date_modified_gmt": "2026-11-20T12:00:00"}),
        ("order.updated", W.order(2, "processing", modified="2026-11-20T10:05:00", lines=[(201, 1, "40.00")])),
        ("order.updated", W.order(2, "cancelled", modified="2026-11-20T13:00:00", lines=[(201, 1, "40.00")])),
        ("order.updated", W.order(3, "checkout-draft", modified="2026-11-20T10:06:00", lines=[(301, 1, "99.00")])),
        ("order.updated", W.order(4, "processing", modified="2026-11-20T10:07:00", lines=[(401, 1, "20.00")])),
        ("order.deleted", {"id": 4}),
        ("order.updated", o5),
        ("order.updated", W.with_refund(o5, r85, store=store)),
    ]


def test_status_mapping_and_convergence(env):
    rt = env.rt
    for topic, payload in scenario(env.state):
        assert env.sender.deliver(topic, payload).status_code == 200
    expected = snapshot(rt, env.shop_id)
    # welcome 50; order 1 earns 71 on its 71.00 net base; refund 81 (one of two 40.00 mugs) takes
    # back 20; refund 82 (10.00 gross of 92.60 paid) a further 10.8% of every line: 27 in all → 44;
    # order 5 keeps its 30 (a shipping refund, shipping is outside the base); 2 and 4 reversed; 3 a draft
    assert expected[0] == 50 + 44 + 30
    for seed in range(5):
        store = W.WooState()
        server, url = W.serve(store)
        try:
            shop, _ = rt.shops.register("woocommerce", url, credentials={
                "consumer_key": "ck_standin", "consumer_secret": "cs_standin", "webhook_secret": "w"})
            sender = W.Sender(env.client, shop.id, "w")
            deliveries = scenario(store)
            storm = [d for d in deliveries for _ in range(random.Random(seed).randint(1, 4))]
            random.Random(seed).shuffle(storm)
            for topic, payload in storm:
                assert sender.deliver(topic, payload).status_code == 200
            assert snapshot(rt, shop.id) == expected, seed
        finally:
            server.shutdown()
    assert run_audit(rt.db).ok


def test_reconciliation_recovers_dropped_deliveries_and_disabled_webhooks(env):
    rt = env.rt
    rt.woo_reconciler.first_look = __import__("datetime").timedelta(days=3650)
    env.state.orders[1] = W.order(1, "completed", modified="2026-11-20T12:00:00")
    env.state.orders[2] = W.order(2, "processing", modified="2026-11-20T12:30:00", lines=[(201, 1, "40.00")])
    next(iter(env.state.webhooks.values()))["status"] = "disabled"  # 7 failures in a row
    assert rt.woo_reconciler.run() == 2
    assert snapshot(rt, env.shop_id)[0] == 50 + 40
    assert {h["status"] for h in env.state.webhooks.values()} == {"active"}
    assert rt.woo_reconciler.run() == 0  # nothing new since the watermark
    env.sender.deliver("order.updated", W.order(3, "processing", modified="2026-11-20T13:00:00", lines=[(301, 1, "10.00")]))
    env.state.orders[3] = W.order(3, "processing", modified="2026-11-20T13:00:00", lines=[(301, 1, "10.00")])
    assert rt.woo_reconciler.run() == 0  # already delivered: the same state is a duplicate
    assert run_audit(rt.db).ok


def test_cart_path_with_coupons(env):
    rt = env.rt
    member, _ = rt.members.enrol(env.shop_id, "12")
    rt.ledger.earn(env.shop_id, member.id, "points", 300, key="seed", source="order", reason="seed")
    shop = rt.shops.get(env.shop_id)
    token = identity.sign(env.shop_id, "12", rt.shops.widget_secret(env.shop_id))
    cart = {"currency": "EUR", "lines": [{"product_id": "p", "quantity": 1, "price": "40.00", "categories": ["mugs"]}]}
    quote = env.client.post(f"/storefront/v1/cart/quote?shop={shop.widget_key}", json=cart,
                            headers={"Authorization": f"Bearer {token}"}).get_json()
    assert quote["rewards"][0]["available"] and quote["earn"]["points"] == 40
    r = env.client.post(f"/storefront/v1/cart/redemptions?shop={shop.widget_key}", headers={"Authorization": f"Bearer {token}"},
                        json={"idempotency_key": str(uuid.uuid4()), "reward_id": "five-off", "cart": cart})
    body = r.get_json()
    assert r.status_code == 201, body
    coupon = next(iter(env.state.coupons.values()))
    assert coupon["code"] == body["code"].lower() and coupon["usage_limit"] == 1  # stored lower-cased
    assert coupon["email_restrictions"] == ["zoe@example.org"] and coupon["date_expires_gmt"]
    assert coupon["discount_type"] == "fixed_cart" and Decimal(coupon["amount"]) == Decimal("5.00")
    done = W.order(50, "completed", modified="2026-11-21T10:00:00", coupons=[body["code"]])
    env.sender.deliver("order.updated", done)
    b = rt.members.get(env.shop_id, member.id)[1]
    assert (b.points, b.held_points) == (300 - 100 + 50, 0)
    env.sender.deliver("order.updated", {**done, "status": "cancelled", "date_modified_gmt": "2026-11-21T11:00:00"})
    assert rt.members.get(env.shop_id, member.id)[1].points == 300
    assert run_audit(rt.db).ok


def test_connect_flow_from_the_browser(env):
    r = env.client.get(f"/connect/woocommerce?store_url={env.url}")
    assert r.status_code == 302 and r.headers["Location"].startswith(f"{env.url}/wc-auth/v1/authorize?")
    from urllib.parse import parse_qs, urlsplit
    q = parse_qs(urlsplit(r.headers["Location"]).query)
    assert q["callback_url"] == ["https://loyalty.example/connect/woocommerce/callback"]
    keys = {"key_id": 1, "user_id": q["user_id"][0], "consumer_key": "ck_standin", "consumer_secret": "cs_standin",
            "key_permissions": "read_write"}
    done = env.client.post("/connect/woocommerce/callback", json=keys)
    assert done.status_code == 200 and done.get_json()["shop_id"] == env.shop_id
    forged = env.client.post("/connect/woocommerce/callback", json={**keys, "user_id": "made-up"})
    assert forged.status_code == 401
    refused = env.client.post("/connect/woocommerce/callback", json={**keys, "consumer_secret": "cs_wrong"})
    assert refused.status_code == 502


@pytest.mark.skipif(__import__("shutil").which("php") is None, reason="php is not installed here (CI lints it where it is)")
def test_the_wordpress_plugin_signs_tokens_the_backend_accepts(tmp_path):
    """Run the plugin's own signing function in PHP (WordPress stubbed out) and verify the token."""
    import subprocess
    from pathlib import Path

    plugin = Path(__file__).resolve().parent.parent / "connectors/woocommerce/wordpress/loyalty-widget.php"
    script = tmp_path / "sign.php"
    script.write_text("<?php\n"
                      "define('ABSPATH', '/');\n"
                      "function add_action(...$a) {}\nfunction add_filter(...$a) {}\n"
                      f"require '{plugin}';\n"
                      "echo loyalty_widget_token(array('shop_id' => 42, 'widget_secret' => 's3cret'), 1234);\n")
    token = subprocess.run(["php", str(script)], capture_output=True, text=True, check=True).stdout.strip()
    claims = identity.verify(token, "s3cret")
    assert (claims.shop_id, claims.customer_id) == (42, "1234")
    with pytest.raises(identity.BadToken):
        identity.verify(token, "other-secret")


@pytest.mark.skipif(__import__("shutil").which("php") is None, reason="php is not installed here (CI lints it where it is)")
def test_the_wordpress_plugin_adds_the_users_language_to_webhook_payloads(tmp_path):
    """The plugin's `woocommerce_webhook_payload` filter, run in PHP with WordPress stubbed: a
    customer's or an order's payload gains the user's `locale` meta as `loyalty_locale`; a user
    who follows the site's language (empty meta), a guest order and a deleted resource do not."""
    import json
    import subprocess
    from pathlib import Path

    plugin = Path(__file__).resolve().parent.parent / "connectors/woocommerce/wordpress/loyalty-widget.php"
    script = tmp_path / "filter.php"
    script.write_text("<?php\n"
                      "define('ABSPATH', '/');\n"
                      "$filters = array();\n"
                      "function add_action(...$a) {}\n"
                      "function add_filter($name, $fn, ...$rest) { global $filters; $filters[$name] = $fn; }\n"
                      "function get_user_meta($id, $key, $single) { return $id === 7 && $key === 'locale' ? 'it_IT' : ''; }\n"
                      f"require '{plugin}';\n"
                      "$f = $filters['woocommerce_webhook_payload'];\n"
                      "echo json_encode(array($f(array('id' => 7), 'customer', 7), $f(array('id' => 9, 'customer_id' => 7), 'order', 9),\n"
                      "  $f(array('id' => 8), 'customer', 8), $f(array('id' => 10, 'customer_id' => 0), 'order', 10),\n"
                      "  $f(array('id' => 0), 'customer', 7)));\n")
    out = json.loads(subprocess.run(["php", str(script)], capture_output=True, text=True, check=True).stdout)
    assert out[0] == {"id": 7, "loyalty_locale": "it_IT"} and out[1]["loyalty_locale"] == "it_IT"
    assert "loyalty_locale" not in out[2] and "loyalty_locale" not in out[3] and out[4] == {"id": 0}


# -- issue 14, item 2: coupons expire ------------------------------------------------------
def test_reward_coupons_expire_in_the_stores_time_zone_and_are_read_back(env):
    """WooCommerce drops `date_expires_gmt` on write and reads `date_expires` in the site's
    time zone (Europe/Rome here): the coupon must come back expiring when the hold ends."""
    from datetime import datetime, timezone

    from connectors.woocommerce.admin import Terminal

    admin = env.rt.woo_admin_for(env.shop_id)
    cid = admin.create_discount_code(code="LOY-EXP1", title="5 off", customer_id="12", ends_at="2026-12-01T10:00:00Z",
                                     amount=Decimal("5.00"))
    coupon = env.state.coupons[int(cid)]
    assert coupon["date_expires_gmt"] == "2026-12-01T10:00:00"
    assert coupon["date_expires"] == "2026-12-01T11:00:00"  # CET, the store's local time
    env.state.keeps_expiry = False  # a store that keeps no expiry: refuse the code, leave none behind
    with pytest.raises(Terminal, match="expiry"):
        admin.create_discount_code(code="LOY-EXP2", title="5 off", customer_id="12",
                                   ends_at=datetime(2026, 12, 2, tzinfo=timezone.utc).isoformat(), amount=Decimal("5"))
    assert [c["code"] for c in env.state.coupons.values()] == ["loy-exp1"]  # stored lower-cased


# -- item 3: partial refunds are not duplicates; reconciliation repairs a missed one ---------
def test_a_partial_refund_with_the_same_modification_time_and_status_is_applied(env):
    rt = env.rt
    o = W.order(7, "processing", modified="2026-11-20T10:00:00", lines=[(701, 1, "50.00")], shipping="0")
    assert env.sender.deliver("order.updated", o).get_json()["duplicate"] is False
    refunded = W.with_refund(o, W.refund_of(o, 87, lines=[(701, 1)]), store=env.state)  # 5.x: nothing else moves
    assert refunded["date_modified_gmt"] == o["date_modified_gmt"] and refunded["status"] == o["status"]
    assert env.sender.deliver("order.updated", refunded).get_json()["duplicate"] is False
    assert env.sender.deliver("order.updated", refunded).get_json()["duplicate"] is True
    assert snapshot(rt, env.shop_id)[0] == 0  # 50 earned, all 50 taken back


def test_reconciliation_repairs_a_missed_refund_on_woocommerce_5_5(env):
    """5.5 ignores `modified_after` and does not touch `date_modified` on a refund: the
    reconciler still pages, and compares refund ids with those the order has applied."""
    rt = env.rt
    env.state.honours_modified_after = False
    for n in range(30):  # older orders, answered too since the filter is ignored
        env.state.orders[100 + n] = W.order(100 + n, "completed", customer_id=0, modified=f"2026-11-0{1 + n % 9}T10:00:00")
    o = W.order(8, "processing", modified="2026-11-20T10:00:00", lines=[(801, 2, "50.00")], shipping="0")
    env.state.orders[8] = o
    env.sender.deliver("order.updated", o)
    rt.woo_reconciler.clock = type("C", (), {"now": staticmethod(lambda: __import__("datetime").datetime(
        2026, 11, 21, tzinfo=__import__("datetime").timezone.utc))})()
    rt.woo_reconciler.run()
    assert snapshot(rt, env.shop_id)[0] == 50
    W.with_refund(o, W.refund_of(o, 88, lines=[(801, 1)]), store=env.state)  # its webhook never came
    assert rt.woo_reconciler.run() == 1
    assert snapshot(rt, env.shop_id)[0] == 25
    assert rt.woo_reconciler.run() == 0  # applied: nothing more to repair
    assert run_audit(rt.db).ok


# -- item 4: refunds take back the refunded share of the base -------------------------------
def test_a_gross_refund_takes_back_its_share_of_what_was_paid(env):
    """10.00 back on an order of 71.00 net that paid 86.62 (22% tax): 8 points, not 10."""
    rt = env.rt
    o = W.order(9, "processing", lines=[(901, 1, "71.00")], shipping="0")
    assert o["total"] == "86.62"
    env.sender.deliver("order.updated", o)
    assert snapshot(rt, env.shop_id)[0] == 71
    env.sender.deliver("order.updated", W.with_refund(o, W.refund_of(o, 89, amount="10.00"), store=env.state))
    assert snapshot(rt, env.shop_id)[0] == 71 - 8


def test_refunds_by_line_and_of_shipping_only(env):
    rt = env.rt
    o = W.order(10, "processing", lines=[(1001, 2, "40.00"), (1002, 1, "31.00")], shipping="4.90",
                coupons=["SPRING10"], discount="10.00")
    env.sender.deliver("order.updated", o)
    assert snapshot(rt, env.shop_id)[0] == 71
    shipped = W.with_refund(o, W.refund_of(o, 90, shipping=True), store=env.state)  # 5.98 gross
    env.sender.deliver("order.updated", shipped)
    assert snapshot(rt, env.shop_id)[0] == 71  # shipping is outside the base: nothing taken back
    one = W.refund_of(o, 91, lines=[(1001, 1)])  # 20.00 + 4.40 tax
    assert one["amount"] == "24.40"
    env.sender.deliver("order.updated", W.with_refund(shipped, one, store=env.state))
    assert snapshot(rt, env.shop_id)[0] == 71 - 20
    assert run_audit(rt.db).ok


# -- item 9: members get what the platform told us; order.restored is subscribed -------------
def test_a_member_first_seen_through_an_order_gets_its_billing_email_and_name(env):
    rt = env.rt
    env.sender.deliver("order.updated", W.order(11, customer_id=77, lines=[(1101, 1, "20.00")],
                                                billing={"first_name": "Ada", "last_name": "Bianchi", "email": "ada@example.org"}))
    member, _ = rt.members.by_customer(env.shop_id, "77")
    assert (member.email, member.name) == ("ada@example.org", "Ada Bianchi")
    # one we know keeps what it has
    env.sender.deliver("order.updated", W.order(12, customer_id=77, lines=[(1201, 1, "20.00")],
                                                billing={"first_name": "X", "email": "other@example.org"}))
    member, _ = rt.members.by_customer(env.shop_id, "77")
    assert (member.email, member.name) == ("ada@example.org", "Ada Bianchi")


def test_the_wordpress_role_is_the_customers_tag_and_lines_are_products_bought(env):
    """WooCommerce customers have no tags: the customer's WordPress role is the tag role:<role>.
    An order's lines' products are what the member bought."""
    rt = env.rt
    seg = rt.segments.create(env.shop_id, "subscribers who bought",
                             {"all": [{"field": "tag", "op": "has", "value": "role:subscriber"},
                                      {"field": "bought_product", "op": "has", "value": "1601"}]})
    env.sender.deliver("customer.created", W.customer(77, "ada@example.org", role="subscriber"))
    member, _ = rt.members.by_customer(env.shop_id, "77")
    assert rt.segments.profile(env.shop_id, member.id)["tags"] == ["role:subscriber"]
    env.sender.deliver("order.updated", W.order(11, customer_id=77, lines=[(1101, 1, "20.00")]))  # product 1601
    assert [m["id"] for m in rt.segments.members(env.shop_id, seg["id"])["members"]] == [member.id]
    env.sender.deliver("customer.updated", W.customer(77, "ada@example.org", role="customer",
                                                      modified="2026-03-02T10:00:00"))
    assert rt.segments.profile(env.shop_id, member.id)["tags"] == ["role:customer"]
    assert rt.segments.members(env.shop_id, seg["id"])["members"] == []


def test_the_store_time_zone_from_an_offset_and_order_restored_recreated(env):
    from zoneinfo import ZoneInfo

    from connectors.woocommerce.admin import zone_name

    assert zone_name("", 2) == "Etc/GMT-2" and zone_name("", -3) == "Etc/GMT+3" and zone_name("", 0) == "UTC"
    india = ZoneInfo(zone_name("", 5.5))
    assert __import__("datetime").datetime(2026, 1, 1, tzinfo=india).utcoffset().total_seconds() == 5.5 * 3600
    env.state.timezone_string, env.state.gmt_offset = "", 5.5
    out = env.rt.connect_woocommerce(env.url, "ck_standin", "cs_standin")
    assert ZoneInfo(out["timezone"]).utcoffset(__import__("datetime").datetime(2026, 7, 1)).total_seconds() == 5.5 * 3600
    # an existing shop subscribed before order.restored existed gets it from reconciliation
    restored = next(h for h in env.state.webhooks.values() if h["topic"] == "order.restored")
    del env.state.webhooks[restored["id"]]
    env.rt.woo_reconciler.run()
    assert "order.restored" in {h["topic"] for h in env.state.webhooks.values()}


def test_cli_add_woocommerce_records_the_store_time_zone(env, clean_db):
    env.state.timezone_string = "America/New_York"
    r = CliRunner().invoke(main, ["shops", "add-woocommerce", "--url", env.url, "--consumer-key", "ck_standin",
                                  "--consumer-secret", "cs_standin"], env={
        "DATABASE_URL": clean_db, "LOYALTY_ENCRYPTION_KEY": ENCRYPTION_KEY, "LOG_LEVEL": "ERROR", "REDIS_URL": "",
        "APP_URL": "https://loyalty.example"})
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["timezone"] == "America/New_York"


@pytest.mark.skipif(__import__("shutil").which("php") is None, reason="php is not installed here (CI lints it where it is)")
def test_the_wordpress_plugin_sends_guests_to_the_my_account_page_or_the_setting(tmp_path):
    """Issue 15.11: "Create an account" went to /account/register (a 404 on WooCommerce). The
    plugin hands the widget WooCommerce's My account page (wc_get_page_permalink('myaccount'),
    includes/wc-page-functions.php), or the page the merchant set."""
    import subprocess
    from pathlib import Path

    plugin = Path(__file__).resolve().parent.parent / "connectors/woocommerce/wordpress/loyalty-widget.php"
    script = tmp_path / "join.php"
    script.write_text("<?php\n"
                      "define('ABSPATH', '/');\n"
                      "function add_action(...$a) {}\nfunction add_filter(...$a) {}\n"
                      "function wc_get_page_permalink($page) { return 'https://shop.example/' . ($page === 'myaccount' ? 'my-account/' : ''); }\n"
                      f"require '{plugin}';\n"
                      "echo loyalty_widget_join_url(array('join_url' => '')), \"\\n\";\n"
                      "echo loyalty_widget_join_url(array('join_url' => 'https://shop.example/register/'));\n")
    out = subprocess.run(["php", str(script)], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["https://shop.example/my-account/", "https://shop.example/register/"]
    assert "'joinUrl' => loyalty_widget_join_url($settings)" in plugin.read_text()
