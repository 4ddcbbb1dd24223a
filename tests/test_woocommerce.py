"""WooCommerce: signatures on PHP-escaped bodies, the unsigned ping, connecting through the
`woocommerce` library against the stand-in (OAuth 1.0a over http), status mapping and
convergence, reconciliation of dropped deliveries and disabled webhooks, and the cart path with
coupons."""
import json
import random
import threading
import uuid
from decimal import Decimal
from wsgiref.simple_server import WSGIRequestHandler, make_server

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


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


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
    server = make_server("127.0.0.1", 0, W.woo_app(state), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
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
    assert {h["topic"] for h in hooks} == {"order.created", "order.updated", "order.deleted", "customer.created",
                                           "product.created", "product.updated", "product.deleted"}
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


def scenario():
    return [
        ("customer.created", {"id": 12, "email": "zoe@example.org"}),
        ("order.created", W.order(1, "pending", modified="2026-11-20T10:00:00")),
        ("order.updated", W.order(1, "processing", modified="2026-11-20T10:01:00")),
        ("order.updated", W.order(1, "processing", modified="2026-11-20T11:00:00", refunds=[(81, "10.00")])),
        ("order.updated", W.order(1, "completed", modified="2026-11-20T12:00:00", refunds=[(81, "10.00")])),
        ("order.updated", W.order(2, "processing", modified="2026-11-20T10:05:00", lines=[(201, 1, "40.00")])),
        ("order.updated", W.order(2, "cancelled", modified="2026-11-20T13:00:00", lines=[(201, 1, "40.00")])),
        ("order.updated", W.order(3, "checkout-draft", modified="2026-11-20T10:06:00", lines=[(301, 1, "99.00")])),
        ("order.updated", W.order(4, "processing", modified="2026-11-20T10:07:00", lines=[(401, 1, "20.00")])),
        ("order.deleted", {"id": 4}),
    ]


def test_status_mapping_and_convergence(env):
    rt = env.rt
    for topic, payload in scenario():
        assert env.sender.deliver(topic, payload).status_code == 200
    expected = snapshot(rt, env.shop_id)
    # welcome 50 + order 1: 50 earned, 10 of its 50.00 base refunded → 40; orders 2 and 4 reversed; 3 a draft
    assert expected[0] == 50 + 40
    for seed in range(5):
        shop, _ = rt.shops.register("woocommerce", f"http://shuffled-{seed}.test", credentials={
            "consumer_key": "k", "consumer_secret": "s", "webhook_secret": "w"})
        sender = W.Sender(env.client, shop.id, "w")
        storm = [d for d in scenario() for _ in range(random.Random(seed).randint(1, 4))]
        random.Random(seed).shuffle(storm)
        for topic, payload in storm:
            assert sender.deliver(topic, payload).status_code == 200
        assert snapshot(rt, shop.id) == expected, seed
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
    assert coupon["code"] == body["code"] and coupon["usage_limit"] == 1
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
                      "function add_action(...$a) {}\n"
                      f"require '{plugin}';\n"
                      "echo loyalty_widget_token(array('shop_id' => 42, 'widget_secret' => 's3cret'), 1234);\n")
    token = subprocess.run(["php", str(script)], capture_output=True, text=True, check=True).stdout.strip()
    claims = identity.verify(token, "s3cret")
    assert (claims.shop_id, claims.customer_id) == (42, "1234")
    with pytest.raises(identity.BadToken):
        identity.verify(token, "other-secret")
