"""Members through the merchant API by e-mail: POST /admin/api/v1/members (find or enrol one),
POST /admin/api/v1/members/batch (up to 1000, one platform lookup for the missing e-mails
together), GET /admin/api/v1/members/by-email. Against the Shopify and WooCommerce stand-ins
(tests/shopify_standin.py, tests/woocommerce_standin.py) and a demo shop (no platform)."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from plugin_app.domain.ledger import Asset, Source
from plugin_app.storage import tables as t

from . import factories as F
from . import shopify_standin as S
from . import woocommerce_standin as W


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def rt(tx_app):
    return tx_app.extensions["loyalty"]


@pytest.fixture
def client(tx_app):
    return tx_app.test_client()


@pytest.fixture
def shopify(rt):
    """A Shopify shop whose Admin API is the stand-in, with two customers."""
    state = S.AdminState()
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    shop, key = F.shop_and_key(rt, platform="shopify", domain=F._unique("maple") + ".myshopify.com",
                               credentials={"access_token": "shpat_standin"})
    state.add_customer(7300400500600, "Ada@Example.org", first_name="Ada", last_name="Quill", locale="fr")
    state.add_customer(7300400500601, "bo@example.org", first_name="Bo", last_name="Lind", locale=None)
    return shop, key, state


def _customer_queries(state) -> list[dict]:
    return [r for r in state.requests if "customers(" in r["query"]]


# -- one member ---------------------------------------------------------------------------------
def test_a_member_is_found_or_enrolled_and_an_email_matches_in_any_case(rt, client):
    shop, key = F.shop_and_key(rt)
    made = client.post("/admin/api/v1/members", json={"email": "Zoe@Example.com", "customer_id": "c-77",
                                                       "name": "Zoe  Vale", "birthday": "--04-09", "locale": "it"},
                       headers=auth(key))
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["platform_customer_id"], body["email"], body["name"], body["birthday"]) == \
        ("c-77", "zoe@example.com", "Zoe Vale", "--04-09")
    fixed = client.get("/admin/api/v1/members/by-customer/c-77", headers=auth(key)).get_json()
    assert body == fixed  # the same body as the fixed endpoint
    again = client.post("/admin/api/v1/members", json={"email": "ZOE@example.COM"}, headers=auth(key))
    by_id = client.post("/admin/api/v1/members", json={"customer_id": "c-77"}, headers=auth(key))
    assert (again.status_code, by_id.status_code) == (200, 200)
    assert again.get_json()["id"] == by_id.get_json()["id"] == body["id"]
    with rt.db.uow(shop.id) as uow:
        assert uow.members.by_id(body["id"]).locale == "it"


def test_enrolling_through_the_api_is_not_a_sign_up_no_welcome_bonus_and_no_welcome_email(rt, client):
    shop, key = F.shop_and_key(rt)  # the default program pays 50 points on sign-up, welcome e-mail on
    made = client.post("/admin/api/v1/members", json={"email": "new@example.com", "customer_id": "c-1"},
                       headers=auth(key)).get_json()
    signed_up = F.member(rt, shop, "c-2", email="signup@example.com")  # what the platform path enrols
    rt.notifier.relay()
    assert made["points_balance"] == 0 and made["lifetime_points"] == 0
    with rt.db.uow(shop.id) as uow:
        assert uow.ledger.history(made["id"]) == []
        events = dict(uow.conn.execute(select(t.events.c.member_id, t.events.c.payload).where(
            t.events.c.shop_id == shop.id, t.events.c.type == "member_enrolled")).all())
        emails = uow.conn.execute(select(t.notifications.c.member_id).where(
            t.notifications.c.shop_id == shop.id, t.notifications.c.target == "email")).scalars().all()
    assert events[made["id"]] == {"customer_id": "c-1", "welcome": False}
    assert events[signed_up.id] == {"customer_id": "c-2"}  # unchanged for everyone else
    assert emails == [signed_up.id]  # the welcome e-mail goes to the sign-up only


def test_an_email_the_demo_shop_has_no_member_for_is_customer_not_found(rt, client):
    shop, key = F.shop_and_key(rt)
    answer = client.post("/admin/api/v1/members", json={"email": "nobody@example.com"}, headers=auth(key))
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "customer_not_found"


def test_shopify_customers_are_looked_up_by_email_on_the_admin_api(rt, client, shopify):
    shop, key, state = shopify
    made = client.post("/admin/api/v1/members", json={"email": "ada@example.org"}, headers=auth(key))
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["platform_customer_id"], body["email"], body["name"]) == ("7300400500600", "ada@example.org", "Ada Quill")
    (asked,) = _customer_queries(state)
    assert asked["variables"]["q"] == 'email:"ada@example.org"'
    missing = client.post("/admin/api/v1/members", json={"email": "ghost@example.org"}, headers=auth(key))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "customer_not_found"
    # known now: answered from our members, Shopify is not asked again
    assert client.post("/admin/api/v1/members", json={"email": "ADA@example.org"}, headers=auth(key)).status_code == 200
    assert len(_customer_queries(state)) == 2


def test_woocommerce_customers_are_looked_up_by_email_of_any_role(rt, client):
    store = W.WooState()
    store.customers = {31: {"id": 31, "email": "Ann@Example.org", "first_name": "Ann", "last_name": "Dale",
                            "role": "subscriber"},
                       32: {"id": 32, "email": "cy@example.org", "first_name": "Cy", "last_name": "", "role": "customer"}}
    server, url = W.serve(store)
    try:
        shop, key = F.shop_and_key(rt, platform="woocommerce", domain=url,
                                   credentials={"consumer_key": "ck_standin", "consumer_secret": "cs_standin"})
        made = client.post("/admin/api/v1/members", json={"email": "ann@example.org"}, headers=auth(key))
        missing = client.post("/admin/api/v1/members", json={"email": "ghost@example.org"}, headers=auth(key))
    finally:
        server.shutdown()
    assert made.status_code == 201, made.get_json()
    assert (made.get_json()["platform_customer_id"], made.get_json()["name"]) == ("31", "Ann Dale")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "customer_not_found"
    assert [(r["email"], r["role"]) for r in store.customer_requests] == [("ann@example.org", "all"),
                                                                         ("ghost@example.org", "all")]


# -- many ---------------------------------------------------------------------------------------
def test_a_batch_answers_each_item_in_order_with_one_shopify_query_per_fifty_missing_emails(rt, client, shopify):
    shop, key, state = shopify
    for i in range(120):
        state.add_customer(8000 + i, f"shopper{i}@example.org")
    known = F.member(rt, shop, "c-known", email="known@example.org")
    items = ([{"email": f"Shopper{i}@example.org"} for i in range(120)]  # 120 to look up
             + [{"email": "known@example.org"}, {"email": "ghost@example.org"}, {"email": "not an email"},
                {"customer_id": "c-direct", "email": "direct@example.org"}, {"email": "shopper0@example.org"},
                {"name": "nobody"}, {"email": "bo@example.org", "birthday": "2999-01-01"}])
    answer = client.post("/admin/api/v1/members/batch", json={"members": items}, headers=auth(key))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert all(r["status"] == "created" and r["customer_id"] == str(8000 + i) for i, r in enumerate(results[:120]))
    tail = results[120:]
    assert (tail[0]["status"], tail[0]["member_id"]) == ("existing", known.id)
    assert tail[1]["error"]["code"] == "customer_not_found"
    assert tail[2]["error"]["code"] == "invalid_request"
    assert (tail[3]["status"], tail[3]["customer_id"]) == ("created", "c-direct")
    assert (tail[4]["status"], tail[4]["member_id"]) == ("existing", results[0]["member_id"])  # a repeat: once
    assert tail[5]["error"]["code"] == "invalid_request"
    assert tail[6]["error"]["code"] == "invalid_request"  # a birthday in the future
    assert (body["created"], body["existing"], body["errors"]) == (121, 2, 4)
    # 121 distinct e-mails no member had (120 shoppers and the ghost): ceil(121 / 50) = 3 queries
    queries = _customer_queries(state)
    assert len(queries) == 3 and all(q["variables"]["q"].count(" OR ") < 50 for q in queries)


def test_a_batch_of_more_than_1000_or_none_is_refused(rt, client):
    shop, key = F.shop_and_key(rt)
    for body in ({"members": [{"customer_id": f"c{i}"} for i in range(1001)]}, {"members": []}, {}):
        answer = client.post("/admin/api/v1/members/batch", json=body, headers=auth(key))
        assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "validation_failed"
    with rt.db.uow(shop.id) as uow:
        assert uow.members.by_customer("c0") is None


# -- by e-mail ----------------------------------------------------------------------------------
def test_by_email_is_the_by_customer_body_404_unknown_and_409_when_shared(rt, client):
    shop, key = F.shop_and_key(rt)
    one = F.member(rt, shop, "c-1", email="One@Example.com")
    rt.ledger.adjust(shop.id, one.id, Asset.POINTS, 40, key="k1", actor="test", reason="hello")
    F.member(rt, shop, "c-2", email="twin@example.com")
    F.member(rt, shop, "c-3", email="TWIN@example.com")
    found = client.get("/admin/api/v1/members/by-email", query_string={"email": "one@EXAMPLE.com"}, headers=auth(key))
    assert found.status_code == 200
    assert found.get_json() == client.get("/admin/api/v1/members/by-customer/c-1", headers=auth(key)).get_json()
    assert found.get_json()["points_balance"] == 40
    unknown = client.get("/admin/api/v1/members/by-email", query_string={"email": "x@example.com"}, headers=auth(key))
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"
    shared = client.get("/admin/api/v1/members/by-email", query_string={"email": "twin@example.com"}, headers=auth(key))
    assert shared.status_code == 409
    assert shared.get_json()["error"]["code"] == "ambiguous_email"
    assert shared.get_json()["error"]["customer_ids"] == ["c-2", "c-3"]
    posted = client.post("/admin/api/v1/members", json={"email": "twin@example.com"}, headers=auth(key))
    assert posted.status_code == 409 and posted.get_json()["error"]["customer_ids"] == ["c-2", "c-3"]


# -- shops and bad input ------------------------------------------------------------------------
def test_another_shops_key_sees_nothing(rt, client):
    shop, key = F.shop_and_key(rt)
    other, other_key = F.shop_and_key(rt)
    mine = F.member(rt, shop, "c-mine", email="mine@example.com")
    rt.ledger.earn(shop.id, mine.id, Asset.POINTS, 10, key="e1", source=Source.ORDER, reason="order")
    assert client.get("/admin/api/v1/members/by-email", query_string={"email": "mine@example.com"},
                      headers=auth(other_key)).status_code == 404
    # the other shop's demo store has no such customer: not found, and nothing of this shop's shown
    answer = client.post("/admin/api/v1/members", json={"email": "mine@example.com"}, headers=auth(other_key))
    assert answer.status_code == 404 and "c-mine" not in answer.get_data(as_text=True)
    batch = client.post("/admin/api/v1/members/batch", json={"members": [{"email": "mine@example.com"}]},
                        headers=auth(other_key)).get_json()
    assert batch["results"][0]["error"]["code"] == "customer_not_found"
    # enrolling the same customer id in the other shop makes a member of its own
    theirs = client.post("/admin/api/v1/members", json={"customer_id": "c-mine"}, headers=auth(other_key))
    assert theirs.status_code == 201 and theirs.get_json()["id"] != mine.id and theirs.get_json()["points_balance"] == 0
    assert client.get("/admin/api/v1/members/by-email", query_string={"email": "mine@example.com"},
                      headers=auth("not-a-key")).status_code == 401


@pytest.mark.parametrize("body", [
    {}, {"email": "no-at-sign"}, {"email": "a@b.c", "birthday": "31-31"}, {"email": "a@b.c", "shoe": 1},
    {"customer_id": "x" * 65}, {"email": 12}, {"customer_id": ""}, {"email": "a\u0000@b.c"}, [1, 2],
    {"email": "a@b.c", "birthday": "1800-01-01"},
])
def test_bad_members_are_422_json_never_500(rt, client, body):
    shop, key = F.shop_and_key(rt)
    answer = client.post("/admin/api/v1/members", json=body, headers=auth(key))
    assert answer.status_code in (400, 422) and answer.is_json and answer.get_json()["error"]["code"]


def test_bad_lookups_are_json_errors(rt, client):
    shop, key = F.shop_and_key(rt)
    for qs in ({}, {"email": ""}, {"email": "x" * 400}, {"email": "a@b.c", "more": "1"}):
        answer = client.get("/admin/api/v1/members/by-email", query_string=qs, headers=auth(key))
        assert answer.status_code == 422 and answer.is_json
    raw = client.post("/admin/api/v1/members", data="not json", headers={**auth(key), "Content-Type": "text/plain"})
    assert raw.status_code == 400 and raw.get_json()["error"]["code"] == "invalid_json"


def test_the_new_endpoints_are_in_openapi(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"post", "get"} <= set(paths["/admin/api/v1/members"])
    assert "post" in paths["/admin/api/v1/members/batch"]
    assert "get" in paths["/admin/api/v1/members/by-email"]
    assert "409" in paths["/admin/api/v1/members/by-email"]["get"]["responses"]
    assert {"200", "201", "404", "409", "422"} <= set(paths["/admin/api/v1/members"]["post"]["responses"])


def test_an_unreachable_platform_is_503_and_the_batch_still_answers_what_it_can(rt, client):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on: the store is down
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    shop, key = F.shop_and_key(rt, platform="woocommerce", domain=f"http://127.0.0.1:{port}",
                               credentials={"consumer_key": "ck_standin", "consumer_secret": "cs_standin"})
    known = F.member(rt, shop, "41", email="known@example.org")
    answer = client.post("/admin/api/v1/members", json={"email": "new@example.org"}, headers=auth(key))
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert answer.get_json()["error"]["code"] == "platform_unavailable"
    batch = client.post("/admin/api/v1/members/batch", headers=auth(key), json={"members": [
        {"email": "new@example.org"}, {"email": "known@example.org"}, {"customer_id": "42"}]}).get_json()
    assert [r["status"] for r in batch["results"]] == ["error", "existing", "created"]
    assert batch["results"][0]["error"]["code"] == "platform_unavailable"
    assert batch["results"][1]["member_id"] == known.id


def test_shopify_lookups_quote_each_email_and_follow_pages(rt, client, shopify):
    """An apostrophe (common in real addresses) travels inside a quoted `email:` value; three
    store customers sharing an address (Shopify itself refuses that, the stand-in allows it to
    force a second page) are read across pages and reported as ambiguous."""
    shop, key, state = shopify
    state.add_customer(9001, "o'neil@example.org", first_name="Pat", last_name="O'Neil")
    for cid in (9101, 9102, 9103):
        state.add_customer(cid, "shared@example.org")
    found = client.post("/admin/api/v1/members", json={"email": "O'Neil@example.org"}, headers=auth(key))
    assert found.status_code == 201 and found.get_json()["platform_customer_id"] == "9001"
    assert _customer_queries(state)[-1]["variables"]["q"] == 'email:"o\'neil@example.org"'
    shared = client.post("/admin/api/v1/members", json={"email": "shared@example.org"}, headers=auth(key))
    assert shared.status_code == 409
    assert shared.get_json()["error"]["customer_ids"] == ["9101", "9102", "9103"]
    pages = [q["variables"] for q in _customer_queries(state) if "shared" in q["variables"]["q"]]
    assert [(p["first"], p["after"]) for p in pages] == [(2, None), (2, "2")]


def test_a_store_that_refuses_the_lookup_is_502_platform_error(rt, client):
    store = W.WooState(key="ck_right")  # our stored keys are not the store's: 401 on every call
    server, url = W.serve(store)
    try:
        shop, key = F.shop_and_key(rt, platform="woocommerce", domain=url,
                                   credentials={"consumer_key": "ck_wrong", "consumer_secret": "cs_wrong"})
        answer = client.post("/admin/api/v1/members", json={"email": "new@example.org"}, headers=auth(key))
    finally:
        server.shutdown()
    assert answer.status_code == 502 and answer.get_json()["error"]["code"] == "platform_error"
    with rt.db.uow(shop.id) as uow:
        assert uow.members.by_emails(["new@example.org"]) == []
