"""Security edges: the one-time admin link is single-use (also under concurrent use); a wrong
LOYALTY_ENCRYPTION_KEY refuses to start, fails readiness, and makes webhooks answer 503 (not
500); a customer's redaction also scrubs the data-request exports stored earlier. (Unknown
LOYALTY_ENV values: tests/test_settings.py.)"""
import json
import threading

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import text

from plugin_app import create_app
from plugin_app.cli import main
from plugin_app.crypto import SecretBox
from plugin_app.domain.events import CustomerDataRequest, CustomerRedact
from plugin_app.settings import ConfigError

from . import shopify_standin as S
from . import woocommerce_standin as W
from .conftest import ENCRYPTION_KEY, TEST_REDIS_URL

WRONG_KEY = Fernet.generate_key().decode()
SECRET = "shpss_security_edges_secret"


def _app(db_url, *keys):
    return create_app({"database_url": db_url, "jobs_mode": "eager", "encryption_keys": keys or (ENCRYPTION_KEY,)})


# -- (a) the one-time admin link -------------------------------------------------------------
def _links(app, shop_id: int):
    from itsdangerous import URLSafeTimedSerializer

    from plugin_app.http.admin_pages import make_link_token

    with app.test_request_context():
        new = make_link_token(shop_id)
    # the form `loyalty admin-link` printed before: a bare shop id, still honoured, still once
    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="admin-link").dumps(shop_id)
    return new, old


def test_the_admin_link_signs_in_once(client, app):
    rt = app.extensions["loyalty"]
    shop, _ = rt.shops.register("demo", "link.example", currency="EUR")
    for token in _links(app, shop.id):
        first = app.test_client().get(f"/admin/link/{token}")
        assert first.status_code == 302 and first.headers["Location"].endswith("/admin/home")
        again = app.test_client().get(f"/admin/link/{token}")
        assert again.status_code == 401 and "already used" in again.data.decode()
        signed_in = app.test_client()
        signed_in.get(f"/admin/link/{token}")
        assert signed_in.get("/admin/dashboard").status_code == 302  # no session from a used link
    with app.test_request_context():  # two links made in the same second are two links
        from plugin_app.http.admin_pages import make_link_token
        assert make_link_token(shop.id) != make_link_token(shop.id)


def test_concurrent_uses_of_one_link_exactly_one_wins(app):
    rt = app.extensions["loyalty"]
    shop, _ = rt.shops.register("demo", "race.example", currency="EUR")
    token, _ = _links(app, shop.id)
    barrier, statuses = threading.Barrier(8), []

    def use():
        c = app.test_client()
        barrier.wait()
        statuses.append(c.get(f"/admin/link/{token}").status_code)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(statuses) == [302] + [401] * 7
    with rt.db.transaction() as conn:
        row = conn.execute(text("select shop_id, token_hash from admin_link_uses")).one()
    assert row.shop_id == shop.id and token not in row.token_hash  # the digest, never the token


# -- (b) a valid but wrong LOYALTY_ENCRYPTION_KEY ------------------------------------------
@pytest.fixture
def stored_secrets(clean_db):
    app = _app(clean_db)
    rt = app.extensions["loyalty"]
    rt.shops.register("shopify", S.DOMAIN, credentials={"access_token": "shpat_x", "api_secret": SECRET})
    rt.shops.register("woocommerce", "https://woo.test", credentials={"webhook_secret": "whs"})
    rt.close()
    return clean_db


def test_a_wrong_key_refuses_to_start(stored_secrets):
    with pytest.raises(ConfigError) as exc:
        _app(stored_secrets, WRONG_KEY)
    assert "LOYALTY_ENCRYPTION_KEY" in str(exc.value)
    _app(stored_secrets, WRONG_KEY, ENCRYPTION_KEY).extensions["loyalty"].close()  # a rotation: starts


def test_a_wrong_key_stops_the_worker_at_start(stored_secrets):
    r = CliRunner().invoke(main, ["worker", "--burst"], env={
        "DATABASE_URL": stored_secrets, "LOYALTY_ENCRYPTION_KEY": WRONG_KEY, "REDIS_URL": TEST_REDIS_URL,
        "LOG_LEVEL": "ERROR"})
    assert r.exit_code != 0 and "LOYALTY_ENCRYPTION_KEY" in r.output


def test_readiness_and_webhooks_when_the_key_goes_wrong_anyway(stored_secrets):
    app = _app(stored_secrets)
    rt, client = app.extensions["loyalty"], app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["encryption"] == "ok"
    rt.shops.box = SecretBox((WRONG_KEY,))  # e.g. another process re-encrypted with a key we lack
    rt.shops._cache.clear()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["encryption"].startswith("error: LOYALTY_ENCRYPTION_KEY")
    body = S.body(S.customer())
    r = client.post("/webhooks/shopify", data=body, headers=S.headers("customers/create", body, SECRET))
    assert r.status_code == 503 and r.is_json
    woo = rt.shops.by_domain("woocommerce", "https://woo.test")
    r = client.post(f"/webhooks/woocommerce/{woo.id}", data=b'{"id":1}', headers={
        "X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Signature": W.sign(b'{"id":1}', "whs")})
    assert r.status_code == 503 and r.is_json
    with rt.db.transaction() as conn:
        assert conn.execute(text("select count(*) from inbox")).scalar() == 0
    rt.close()


def test_readiness_on_an_empty_database_has_nothing_to_decrypt(client):
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["encryption"] == "ok"


# -- (d) redaction reaches the stored data-request exports ----------------------------------
def test_customer_redact_scrubs_earlier_exports(runtime, shop):
    member, _ = runtime.members.enrol(shop.id, "7300400500600", email="ada@example.org")
    runtime.ledger.earn(shop.id, member.id, "points", 120, key="o-1", source="order", reason="order 1001")
    runtime.platform.apply(shop.id, CustomerDataRequest("7300400500600", "9999", ("1001",)))
    other, _ = runtime.members.enrol(shop.id, "55", email="bob@example.org")
    runtime.platform.apply(shop.id, CustomerDataRequest("55", "10000"))
    with runtime.db.transaction() as conn:
        export = conn.execute(text("select result from privacy_requests where kind = 'data_request' order by id")).scalar()
    assert export["member"]["email"] == "ada@example.org" and export["ledger"]  # what the merchant got

    outcome = runtime.platform.apply(shop.id, CustomerRedact("7300400500600", ("1001",), "ada@example.org"))
    assert "1 stored exports scrubbed" in outcome
    with runtime.db.transaction() as conn:
        rows = conn.execute(text("select kind, customer_id, request, result from privacy_requests order by id")).all()
    ada, bob, redact = rows
    stored = json.dumps([ada.request, ada.result])
    assert "ada@example.org" not in stored and "7300400500600" not in stored and "120" not in stored
    assert ada.result["member"] is None and "ledger" not in ada.result and "orders" not in ada.result
    assert ada.customer_id.startswith("redacted-") and ada.request["request_id"] == "9999"  # answered, kept
    assert bob.result["member"]["email"] == "bob@example.org"  # another customer's export is untouched
    assert redact.kind == "customer_redact" and redact.result["exports_scrubbed"] == 1
