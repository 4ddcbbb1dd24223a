"""Leaderboards (issue 20) on PostgreSQL: opt-in only under a chosen display name, ranks of points
earned by calendar period in the shop's time zone, the merchant's switch, shop isolation, and no
e-mail, name or customer id of anyone in any answer."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from plugin_app.domain.ledger import Asset, Source
from plugin_app.domain.leaderboard import BadName, display_name, window
from plugin_app.services import identity
from plugin_app.services.leaderboard import LeaderboardOff, NameRefused, NameTaken

from . import factories as F

UTC = timezone.utc
ON = {"enabled": True, "period": "month", "size": 10}


def earn(rt, shop, member, points, key, **kw):
    kw.setdefault("source", Source.ADMIN)
    rt.ledger.earn(shop.id, member.id, Asset.POINTS, points, key=key, reason="test", **kw)


def board(rt, shop, customer=None):
    return rt.leaderboards.board(shop.id, customer)


def names(answer) -> list[tuple[int, str, int]]:
    return [(e["rank"], e["display_name"], e["value"]) for e in answer["entries"]]


# -- display names: a table ------------------------------------------------------------------------
@pytest.mark.parametrize("raw, kept", [
    ("Anna", "Anna"), ("  Anna   B  ", "Anna B"), ("José_99", "José_99"), ("Zoë-K", "Zoë-K"),
    ("J.R. Smith", "J.R. Smith"), ("ab", "ab"), ("x" * 24, "x" * 24), ("Ünal 7", "Ünal 7"),
])
def test_display_names_kept(raw, kept):
    assert display_name(raw) == kept


@pytest.mark.parametrize("raw, code", [
    ("a", "display_name_length"), ("  a  ", "display_name_length"), ("x" * 25, "display_name_length"),
    ("", "display_name_length"), ("anna@example.com", "display_name_email"), ("@anna", "display_name_email"),
    ("anna at example dot com", "display_name_address"), ("www.myshop", "display_name_address"),
    ("myshop.com", "display_name_address"), ("Anna.it", "display_name_address"), ("http anna", "display_name_address"),
    ("https://x", "display_name_characters"), ("a/b", "display_name_characters"), ("<b>hi</b>", "display_name_characters"),
    ("..", "display_name_characters"), ("Anna!", "display_name_characters"), ("emoji 😀", "display_name_characters"),
    (42, "display_name_characters"),
])
def test_display_names_refused(raw, code):
    with pytest.raises(BadName) as caught:
        display_name(raw)
    assert caught.value.code == code


# -- periods at their boundaries, in the shop's time zone ------------------------------------------
def test_period_windows_are_local_calendar_periods():
    ny = __import__("zoneinfo").ZoneInfo("America/New_York")
    # 04:30 UTC on 1 March is still 23:30 on 28 February in New York
    assert window("month", datetime(2026, 3, 1, 4, 30, tzinfo=UTC), ny) == (
        datetime(2026, 2, 1, 5, tzinfo=UTC), datetime(2026, 3, 1, 5, tzinfo=UTC))
    assert window("year", datetime(2026, 12, 31, 12, tzinfo=UTC), __import__("zoneinfo").ZoneInfo("Pacific/Auckland")) == (
        datetime(2026, 12, 31, 11, tzinfo=UTC), datetime(2027, 12, 31, 11, tzinfo=UTC))
    assert window("all_time", datetime(2026, 3, 1, tzinfo=UTC), ny) == (None, None)


def test_ranks_by_month_in_a_non_utc_time_zone(tx_runtime, clock):
    rt = tx_runtime
    shop = F.shop(rt, timezone="America/New_York")
    F.use_program(rt, shop, timezone="America/New_York", leaderboard=ON)
    feb, mar, late, shy = (F.member(rt, shop) for _ in range(4))
    for m, n in ((feb, "Feb"), (mar, "Mar"), (late, "Late")):
        rt.leaderboards.opt_in(shop.id, m.platform_customer_id, n)
    clock._at = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)  # 23:30 on 28 Feb in New York
    earn(rt, shop, feb, 500, "feb")
    earn(rt, shop, shy, 900, "shy")  # never opted in: never shown
    clock._at = datetime(2026, 3, 1, 5, 30, tzinfo=UTC)  # 00:30 on 1 March in New York
    earn(rt, shop, mar, 100, "mar")
    earn(rt, shop, late, 100, "late")
    clock._at = datetime(2026, 3, 1, 4, 59, tzinfo=UTC)  # still February there: February's board
    assert names(board(rt, shop)) == [(1, "Feb", 500)]
    clock._at = datetime(2026, 3, 20, tzinfo=UTC)
    march = board(rt, shop, mar.platform_customer_id)
    assert names(march) == [(1, "Late", 100), (1, "Mar", 100)]  # a tie shares the rank
    assert march["you"] == {"opted_in": True, "display_name": "Mar", "rank": 1, "value": 100}
    assert march["starts_at"] == "2026-03-01T05:00:00+00:00" and march["ends_at"] == "2026-04-01T04:00:00+00:00"
    earn(rt, shop, late, 50, "late2")
    assert names(board(rt, shop)) == [(1, "Late", 150), (2, "Mar", 100)]
    assert board(rt, shop, shy.platform_customer_id)["you"] == {
        "opted_in": False, "display_name": None, "rank": None, "value": 0}


def test_year_and_all_time_and_imported_value_left_out(tx_runtime, clock):
    rt = tx_runtime
    shop = F.shop(rt, timezone="Pacific/Auckland")
    F.use_program(rt, shop, timezone="Pacific/Auckland", leaderboard={**ON, "period": "year", "size": 2})
    a, b, c = (F.member(rt, shop) for _ in range(3))
    for m, n in ((a, "Ann"), (b, "Bob"), (c, "Cy")):
        rt.leaderboards.opt_in(shop.id, m.platform_customer_id, n)
    clock._at = datetime(2025, 12, 31, 10, 30, tzinfo=UTC)  # 23:30 on 31 Dec 2025 in Auckland
    earn(rt, shop, a, 1000, "a-old")
    clock._at = datetime(2025, 12, 31, 11, 30, tzinfo=UTC)  # 00:30 on 1 Jan 2026 there
    earn(rt, shop, b, 30, "b")
    earn(rt, shop, c, 20, "c")
    earn(rt, shop, a, 10, "a")
    earn(rt, shop, c, 5000, "c-import", source=Source.IMPORT)  # history from the previous app
    earn(rt, shop, b, 7000, "b-history", occurred_at=datetime(2024, 5, 1, tzinfo=UTC))  # backfilled value
    clock._at = datetime(2026, 6, 1, tzinfo=UTC)
    assert names(board(rt, shop)) == [(1, "Bob", 30), (2, "Cy", 20)]  # top 2 of 2026; 'Ann' third
    assert board(rt, shop, a.platform_customer_id)["you"]["rank"] == 3
    F.use_program(rt, shop, timezone="Pacific/Auckland", leaderboard={**ON, "period": "all_time"})
    assert names(board(rt, shop)) == [(1, "Ann", 1010), (2, "Bob", 30), (3, "Cy", 20)]


def test_names_unique_per_shop_in_any_case_and_opt_out_frees_it(tx_runtime):
    rt = tx_runtime
    shop = F.shop(rt)
    other_shop = F.shop(rt)
    for s in (shop, other_shop):
        F.use_program(rt, s, leaderboard=ON)
    a, b = F.member(rt, shop), F.member(rt, shop)
    assert rt.leaderboards.opt_in(shop.id, a.platform_customer_id, " Star  Shopper ") == {
        "opted_in": True, "display_name": "Star Shopper"}
    with pytest.raises(NameTaken):
        rt.leaderboards.opt_in(shop.id, b.platform_customer_id, "STAR shopper")
    # the same shopper may rename, or keep their name in another case
    assert rt.leaderboards.opt_in(shop.id, a.platform_customer_id, "star SHOPPER")["display_name"] == "star SHOPPER"
    # another shop is another namespace
    rt.leaderboards.opt_in(other_shop.id, F.member(rt, other_shop).platform_customer_id, "Star Shopper")
    with pytest.raises(NameRefused) as caught:
        rt.leaderboards.opt_in(shop.id, b.platform_customer_id, "b@example.com")
    assert caught.value.code == "display_name_email"
    earn(rt, shop, a, 10, "a")
    assert names(board(rt, shop)) == [(1, "star SHOPPER", 10)]
    assert rt.leaderboards.opt_out(shop.id, a.platform_customer_id) is True
    assert rt.leaderboards.opt_out(shop.id, a.platform_customer_id) is False
    assert names(board(rt, shop)) == []
    assert rt.leaderboards.opt_in(shop.id, b.platform_customer_id, "Star Shopper")["display_name"] == "Star Shopper"


def test_off_by_default(tx_runtime):
    rt = tx_runtime
    shop = F.shop(rt)
    m = F.member(rt, shop)
    with pytest.raises(LeaderboardOff):
        rt.leaderboards.opt_in(shop.id, m.platform_customer_id, "Anna")
    with pytest.raises(LeaderboardOff):
        board(rt, shop)


# -- over HTTP -------------------------------------------------------------------------------------
def _shop(rt, **program):
    shop, key = F.shop_and_key(rt, timezone="Europe/Rome")
    F.use_program(rt, shop, timezone="Europe/Rome", **program)
    return rt.shops.get(shop.id), key


def _auth(rt, shop, member):
    return {"Authorization": f"Bearer {identity.sign(shop.id, member.platform_customer_id, rt.shops.widget_secret(shop.id))}"}


def test_the_http_endpoints_opt_in_board_me_and_off(tx_app):
    rt = tx_app.extensions["loyalty"]
    client = tx_app.test_client()
    shop, key = _shop(rt, leaderboard={**ON, "period": "all_time"})
    other, _ = _shop(rt, leaderboard={**ON, "period": "all_time"})
    people = [F.member(rt, shop, email=f"secret{i}@mail.example", name=f"Secret Person{i}") for i in range(3)]
    stranger = F.member(rt, other, email="stranger@mail.example")
    q = f"?shop={shop.widget_key}"
    for i, m in enumerate(people):
        earn(rt, shop, m, 100 * (i + 1), f"p{i}")
    earn(rt, other, stranger, 10_000, "s")
    assert client.post(f"/storefront/v1/me/leaderboard{q}", json={"display_name": "Guest"}).status_code == 401
    assert client.get("/storefront/v1/leaderboard?shop=nope").status_code == 401
    assert client.get(f"/storefront/v1/leaderboard{q}").get_json()["entries"] == []  # nobody opted in
    a0, a1, a2 = (_auth(rt, shop, m) for m in people)
    ok = client.post(f"/storefront/v1/me/leaderboard{q}", json={"display_name": "  Alpha "}, headers=a0)
    assert ok.status_code == 200 and ok.get_json() == {"opted_in": True, "display_name": "Alpha"}
    assert client.post(f"/storefront/v1/me/leaderboard{q}", json={"display_name": "Bravo"}, headers=a2).status_code == 200
    taken = client.post(f"/storefront/v1/me/leaderboard{q}&locale=it", json={"display_name": "ALPHA"}, headers=a1)
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "display_name_taken"
    assert "negozio" in taken.get_json()["error"]["message"]  # in the shopper's language
    for bad, code in (("me@mail.example", "display_name_email"), ("shop.com", "display_name_address"),
                      ("x", "display_name_length")):
        refused = client.post(f"/storefront/v1/me/leaderboard{q}", json={"display_name": bad}, headers=a1)
        assert refused.status_code == 422 and refused.get_json()["error"]["code"] == code, refused.get_json()
    assert client.post(f"/storefront/v1/me/leaderboard{q}", json={"name": "x"}, headers=a1).status_code == 422
    public = client.get(f"/storefront/v1/leaderboard{q}")
    assert public.status_code == 200
    assert names(public.get_json()) == [(1, "Bravo", 300), (2, "Alpha", 100)] and public.get_json()["you"] is None
    mine = client.get(f"/storefront/v1/leaderboard{q}", headers=a1).get_json()
    assert mine["you"] == {"opted_in": False, "display_name": None, "rank": None, "value": 0}
    me = client.get(f"/storefront/v1/me{q}", headers=a0).get_json()["member"]
    assert me["leaderboard"]["opted_in"] is True and me["leaderboard"]["rank"] == 2
    assert me["leaderboard"]["display_name"] == "Alpha"
    # never an e-mail, a name or a customer id of anyone, in any answer
    texts = json.dumps([public.get_json(), mine, me, taken.get_json()])
    for m in (*people, stranger):
        assert m.platform_customer_id not in texts
    assert "@" not in json.dumps([public.get_json(), mine]) and "Secret" not in texts and "stranger" not in texts
    # opting out removes the shopper from the board and from /me
    out = client.delete(f"/storefront/v1/me/leaderboard{q}", headers=a0)
    assert out.status_code == 200 and out.get_json() == {"opted_in": False, "display_name": None}
    assert names(client.get(f"/storefront/v1/leaderboard{q}").get_json()) == [(1, "Bravo", 300)]
    assert client.get(f"/storefront/v1/me{q}", headers=a0).get_json()["member"]["leaderboard"]["opted_in"] is False
    # the other shop's board has none of these
    assert names(client.get(f"/storefront/v1/leaderboard?shop={other.widget_key}").get_json()) == []
    # a token of one shop does not open another's board
    assert client.get(f"/storefront/v1/leaderboard?shop={other.widget_key}", headers=a2).status_code == 401
    # the merchant turns it off: 404 leaderboard_off, /me says nothing of it
    F.use_program(rt, shop, timezone="Europe/Rome", leaderboard={**ON, "enabled": False})
    rt.programs._current_cache.clear()  # the widget reads the program cached for up to 5 s (for_reading)
    off = client.get(f"/storefront/v1/leaderboard{q}")
    assert off.status_code == 404 and off.get_json()["error"]["code"] == "leaderboard_off"
    assert client.post(f"/storefront/v1/me/leaderboard{q}", json={"display_name": "Zed"}, headers=a1).status_code == 404
    rt.widget.forget(shop.id, people[2].platform_customer_id)
    assert "leaderboard" not in client.get(f"/storefront/v1/me{q}", headers=a2).get_json()["member"]
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"/storefront/v1/leaderboard", "/storefront/v1/me/leaderboard", "/proxy/leaderboard",
            "/proxy/me/leaderboard"} <= set(paths)


def test_program_validation_of_the_section(tx_app):
    rt = tx_app.extensions["loyalty"]
    shop, key = F.shop_and_key(rt)
    client = tx_app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    current = client.get("/admin/api/v1/program", headers=auth).get_json()
    doc = current.get("program", current)
    assert doc["leaderboard"] == {"enabled": False, "period": "month", "metric": "points_earned", "size": 10}
    for section, field in (({"size": 0}, "leaderboard.size"), ({"period": "week"}, "leaderboard.period"),
                           ({"metric": "spend"}, "leaderboard.metric"), ({"shown": True}, "leaderboard.shown")):
        answer = client.put("/admin/api/v1/program", json={**doc, "leaderboard": {**doc["leaderboard"], **section}},
                            headers=auth)
        assert answer.status_code == 422, answer.get_json()
        assert field in [f["field"] for f in answer.get_json()["error"].get("fields", [])], answer.get_json()


# -- the Shopify app proxy twin ----------------------------------------------------------------------
SECRET = "shpss_leaderboard_app_secret_long_enough_0"


@pytest.fixture
def proxy_app(tx_db, pg_url, monkeypatch):
    from plugin_app import create_app
    from plugin_app import runtime as runtime_module

    from .conftest import ENCRYPTION_KEY

    monkeypatch.setattr(runtime_module, "Database", lambda url: tx_db)
    app = create_app({"database_url": pg_url, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "shopify_api_secret": SECRET, "shopify_api_key": "k"})
    yield app
    app.extensions["loyalty"].close()


def test_the_app_proxy_twin(proxy_app):
    from . import shopify_standin as S

    rt = proxy_app.extensions["loyalty"]
    client = proxy_app.test_client()
    shop, _ = rt.shops.register("shopify", S.DOMAIN, credentials={"access_token": "shpat_standin", "api_secret": SECRET})
    F.use_program(rt, shop, leaderboard={**ON, "period": "all_time"})
    member, _ = rt.members.enrol(shop.id, "73", email="someone@mail.example")
    earn(rt, shop, member, 40, "seed")
    assert client.post("/proxy/me/leaderboard?" + S.proxy_query(SECRET), json={"display_name": "Anon"}).status_code == 401
    assert client.post("/proxy/me/leaderboard?" + S.proxy_query("wrong", customer="73"),
                       json={"display_name": "Proxy Pal"}).status_code == 401
    joined = client.post("/proxy/me/leaderboard?" + S.proxy_query(SECRET, customer="73"), json={"display_name": "Proxy Pal"})
    assert joined.status_code == 200 and joined.get_json()["display_name"] == "Proxy Pal"
    seen = client.get("/proxy/leaderboard?" + S.proxy_query(SECRET, customer="73")).get_json()
    assert names(seen) == [(1, "Proxy Pal", 40)] and seen["you"]["rank"] == 1
    assert "someone" not in json.dumps(seen) and "73" not in json.dumps(seen["entries"])
    assert client.delete("/proxy/me/leaderboard?" + S.proxy_query(SECRET, customer="73")).get_json()["opted_in"] is False
    assert names(client.get("/proxy/leaderboard?" + S.proxy_query(SECRET)).get_json()) == []
