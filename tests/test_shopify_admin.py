"""The Admin API side, through Shopify's SDK against the stand-in: `loyalty shops add-shopify`,
discount codes, store credit, throttling, and malformed inputs refused as Shopify documents."""
import json
import threading
from decimal import Decimal
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
from click.testing import CliRunner

from connectors.shopify.admin import Retryable, ShopifyAdmin, Terminal
from plugin_app.cli import main

from . import shopify_standin as S
from .conftest import ENCRYPTION_KEY


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def standin():
    """The stand-in served on a real loopback port, for the CLI's --api-base-url."""
    state = S.AdminState()
    server = make_server("127.0.0.1", 0, S.admin_app(state), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def admin(state, token="shpat_standin"):
    return ShopifyAdmin(S.DOMAIN, token, "2026-01", http_client=httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state))))


def cli(args, db_url, **env):
    return CliRunner().invoke(main, args, env={"DATABASE_URL": db_url, "LOYALTY_ENCRYPTION_KEY": ENCRYPTION_KEY,
                                               "LOG_LEVEL": "ERROR", "REDIS_URL": "",
                                               "APP_URL": "https://loyalty.example", **env})


def test_add_shopify_checks_the_token_subscribes_and_is_safe_to_run_twice(clean_db, standin):
    state, base = standin
    args = ["shops", "add-shopify", "--domain", S.DOMAIN, "--access-token", "shpat_standin",
            "--api-secret", "shpss_x", "--api-base-url", base]
    first = cli(args, clean_db)
    assert first.exit_code == 0, first.output
    out = json.loads(first.output)
    assert out["shop_id"] and out["admin_api_key"].startswith("lk_")
    assert (out["currency"], out["timezone"]) == ("EUR", "Europe/Berlin")
    assert set(state.subscriptions) >= {"ORDERS_PAID", "REFUNDS_CREATE", "APP_UNINSTALLED"}
    assert set(state.subscriptions.values()) == {"https://loyalty.example/webhooks/shopify"}
    again = json.loads(cli(args, clean_db).output)
    assert (again["shop_id"], again["admin_api_key"]) == (out["shop_id"], out["admin_api_key"])
    assert again["webhooks"]["subscribed"] == []
    bad = cli([*args[:5], "shpat_wrong", *args[6:]], clean_db)
    assert bad.exit_code != 0 and "refused" in bad.output
    assert cli(["shops", "add-shopify", "--domain", "evil.example.com", "--access-token", "t",
                "--api-secret", "s", "--no-verify"], clean_db).exit_code != 0


def test_add_shopify_no_verify_only_records(clean_db):
    r = cli(["shops", "add-shopify", "--domain", "offline.myshopify.com", "--access-token", "t",
             "--api-secret", "s", "--no-verify", "--currency", "USD", "--timezone", "America/New_York"], clean_db)
    out = json.loads(r.output)
    assert r.exit_code == 0 and (out["currency"], out["timezone"]) == ("USD", "America/New_York")


def test_discount_codes_and_store_credit_through_the_sdk():
    state = S.AdminState()
    a = admin(state)
    gid = a.create_discount_code(code="LOYAL-1", title="5.00 off", customer_id="73", ends_at="2026-12-31T00:00:00Z",
                                 amount=Decimal("5.00"))
    d = state.discounts[gid]
    assert d["usageLimit"] == 1 and d["context"]["customers"]["add"] == ["gid://shopify/Customer/73"]
    assert d["customerGets"]["value"]["discountAmount"] == {"amount": "5.00", "appliesOnEachItem": False}
    with pytest.raises(Terminal, match="unique"):
        a.create_discount_code(code="LOYAL-1", title="again", customer_id="73", ends_at="2026-12-31T00:00:00Z",
                               amount=Decimal("5"))
    with pytest.raises(Terminal, match="between 0.0 and 1.0"):
        a.create_discount_code(code="PCT", title="x", customer_id="73", ends_at="2026-12-31T00:00:00Z",
                               percent=Decimal("150"))
    a.create_discount_code(code="SHIP", title="free shipping", customer_id="73", ends_at="2026-12-31T00:00:00Z",
                           free_shipping=True)
    a.delete_discount(gid)
    assert gid not in state.discounts
    assert a.store_credit("73", Decimal("6.00"), "EUR") == "6.00"
    assert a.store_credit("73", Decimal("-2.50"), "EUR") == "2.50"
    assert state.credit["gid://shopify/Customer/73"] == Decimal("3.50")
    with pytest.raises(Terminal, match="Insufficient"):
        a.store_credit("73", Decimal("-10"), "EUR")


def test_malformed_input_fails_like_shopify_says():
    state = S.AdminState()
    a = admin(state)
    with pytest.raises(Terminal, match="INVALID_VARIABLE|graphql_errors"):
        a.query("mutation Code($d: DiscountCodeBasicInput!) { discountCodeBasicCreate(basicCodeDiscount: $d) { userErrors { message } } }",
                {"d": {"title": "no code"}})
    with pytest.raises(Terminal):
        a.query("query { nonsense }")


def test_throttling_is_retryable_and_bad_tokens_terminal():
    state = S.AdminState(bucket=15, restore_rate=0.0)
    a = admin(state)
    a.shop_info()
    with pytest.raises(Retryable):
        a.shop_info()
    with pytest.raises(Terminal):
        admin(S.AdminState(), token="shpat_revoked").shop_info()
