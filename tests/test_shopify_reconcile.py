"""Reconciliation: orders Shopify never delivered are pulled through GraphQL (the SDK, against
the stand-in), stored in the inbox like deliveries, and end in the same balances; deleted
subscriptions come back; throttling stops a run without losing the watermark."""
import httpx
import pytest

from connectors.shopify.translate import graphql_order, order as rest_order
from plugin_app import create_app
from plugin_app.services.audit import run_audit

from . import shopify_standin as S
from .conftest import ENCRYPTION_KEY


def test_graphql_and_webhook_shapes_translate_alike():
    o = S.order(refunds=[S.refund(801)])
    from dataclasses import replace
    # facts and the customer's email, name and tags come by webhook only
    assert graphql_order(S.to_graphql(o)) == replace(rest_order(o), facts=None, email=None, name=None,
                                                     customer_tags=None, customer_tags_at=None)


@pytest.fixture
def app(clean_db):
    state = S.AdminState()
    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example"})
    rt = app.extensions["loyalty"]
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    shop, _ = rt.shops.register("shopify", S.DOMAIN, credentials={"access_token": "shpat_standin", "api_secret": "s"})
    app.standin, app.shop = state, shop
    yield app
    rt.close()


def put(state, o, when):
    o["updated_at"] = when
    state.orders[o["id"]] = o


def test_missed_orders_are_pulled_and_processed_once(app):
    rt, state, shop = app.extensions["loyalty"], app.standin, app.shop
    rt.reconciler.first_look = __import__("datetime").timedelta(days=3650)
    put(state, S.order(1001, customer_id=5), "2026-11-20T10:00:00Z")
    put(state, S.order(1002, customer_id=5, lines=[S.line_item(9, "30.00")]), "2026-11-20T11:00:00Z")
    put(state, S.order(1003, customer_id=6, financial_status="pending"), "2026-11-20T12:00:00Z")
    assert rt.reconciler.run() == 3
    assert rt.members.by_customer(shop.id, "5")[1].points == 80 + 30
    assert rt.reconciler.run() == 0  # nothing new: same updatedAt, same inbox id
    assert set(state.subscriptions) >= {"ORDERS_PAID", "REFUNDS_CREATE"}
    # A refund happens and its webhook is lost; the order's newer updatedAt brings it in.
    put(state, S.order(1001, customer_id=5, financial_status="partially_refunded", refunds=[S.refund(801, 1001)]),
        "2026-11-21T09:00:00Z")
    state.subscriptions.pop("REFUNDS_CREATE")  # and Shopify deleted a failing subscription
    assert rt.reconciler.run() == 1
    assert rt.members.by_customer(shop.id, "5")[1].points == 40 + 30
    assert "REFUNDS_CREATE" in state.subscriptions
    assert run_audit(rt.db).ok


def test_throttling_stops_the_run_and_keeps_the_watermark(app):
    rt, state, shop = app.extensions["loyalty"], app.standin, app.shop
    rt.reconciler.first_look = __import__("datetime").timedelta(days=3650)
    put(state, S.order(1001, customer_id=5), "2026-11-20T10:00:00Z")
    put(state, S.order(1002, customer_id=5, lines=[S.line_item(9, "30.00")]), "2026-11-20T11:00:00Z")
    state.bucket, state.restore = 25, 0.0  # room for the list and one order
    assert rt.reconciler.run() == 1
    from sqlalchemy import text
    with rt.db.transaction() as conn:
        row = conn.execute(text("select watermark, last_error from platform_sync")).one()
    assert row.watermark == "2026-11-20T10:00:00Z" and "Retryable" in row.last_error
    state.bucket, state.restore = 1000, 50.0
    assert rt.reconciler.run() == 1
    assert rt.members.by_customer(shop.id, "5")[1].points == 110


def test_public_app_shops_get_no_shop_scoped_subscriptions(app):
    """A shop installed through OAuth/token exchange has no secret of its own: its topics are
    app-scoped in shopify.app.toml, so reconciliation must not subscribe them again per shop
    (Shopify would deliver every event twice, once per subscription)."""
    rt, state = app.extensions["loyalty"], app.standin
    public, _ = rt.shops.register("shopify", "public-one.myshopify.com", credentials={"access_token": "shpat_standin"})
    rt.reconciler.shop(public.id)
    assert state.subscriptions == {}
    rt.reconciler.shop(app.shop.id)  # the custom app keeps its shop-scoped subscriptions up
    assert set(state.subscriptions) >= {"ORDERS_PAID", "REFUNDS_CREATE"}
    assert set(state.subscriptions.values()) == {"https://loyalty.example/webhooks/shopify"}
