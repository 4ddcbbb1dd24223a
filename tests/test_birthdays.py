"""Birthdays on a real shop: given by the shopper in the panel (storefront and app proxy, once),
set by the merchant (audited), read from the platform (Shopify's `facts.birth_date` metafield,
WooCommerce customer meta). Each path makes the birthday job award once on the day, in the
shop's time zone; a change never earns a second bonus in the same year."""
from datetime import date, datetime, timezone

import httpx
import pytest

from plugin_app import create_app
from plugin_app.domain.errors import InvalidRequest
from plugin_app.domain.ports import FixedClock
from plugin_app.services import identity

from . import shopify_standin as S
from . import woocommerce_standin as W
from .conftest import ENCRYPTION_KEY

SECRET = "shpss_birthday_app_secret_long_enough_00"
TODAY = date(2026, 3, 1)


@pytest.mark.parametrize("text,expected", [
    ("1990-03-01", date(1990, 3, 1)), ("2000-02-29", date(2000, 2, 29)),
    ("--02-29", date(1904, 2, 29)), ("07-14", date(1904, 7, 14)), (" 1985-12-31 ", date(1985, 12, 31))])
def test_birthdays_parse(text, expected):
    from plugin_app.domain import birthdays as B

    assert B.NO_YEAR == 1904  # a leap year stands for "year not given"
    assert B.parse(text, TODAY) == expected
    assert B.parse(B.show(expected), TODAY) == expected


@pytest.mark.parametrize("text,words", [
    ("2001-02-29", "not a real date"), ("1990-13-01", "not a real date"), ("--02-30", "not a real date"),
    ("2026-03-02", "future"), ("1890-01-01", "120 years"), ("01/03/1990", "YYYY-MM-DD"), ("", "YYYY-MM-DD"),
    ("1904-05-05", "120 years")])
def test_impossible_birthdays_are_refused(text, words):
    from plugin_app.domain import birthdays as B

    with pytest.raises(InvalidRequest) as err:
        B.parse(text, TODAY)
    assert words in err.value.message


@pytest.fixture
def env(clean_db):
    from types import SimpleNamespace

    app = create_app({"database_url": clean_db, "jobs_mode": "eager", "encryption_keys": (ENCRYPTION_KEY,),
                      "app_url": "https://loyalty.example", "shopify_api_secret": SECRET, "shopify_api_key": "k"})
    rt = app.extensions["loyalty"]
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(S.AdminState())))
    clock = FixedClock(datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc))
    rt.clock = clock
    for service in vars(rt).values():  # one clock for every service
        if hasattr(service, "clock"):
            service.clock = clock
    shop, key = rt.shops.register("shopify", S.DOMAIN, credentials={"access_token": "shpat_standin", "api_secret": SECRET})
    # Auckland is 13 hours ahead in March: its 1 March starts at 11:00 UTC on 28 February.
    rt.programs.put(shop.id, {"timezone": "Pacific/Auckland",
                              "actions": {"birthday": {"enabled": True, "points": 100}}}, author="test")
    e = SimpleNamespace(app=app, rt=rt, clock=clock, shop=rt.shops.get(shop.id), client=app.test_client(),
                        admin={"Authorization": f"Bearer {key}"}, sender=S.Sender(app.test_client(), SECRET))
    e.token = lambda cid: {"Authorization": f"Bearer {identity.sign(shop.id, cid, rt.shops.widget_secret(shop.id))}"}
    yield e
    rt.close()


def at(env, when: str):
    env.clock._at = datetime.fromisoformat(when)


def points(env, customer: str, shop_id=None) -> int:
    return env.rt.members.by_customer(shop_id or env.shop.id, customer)[1].points


def awarded_on_the_day(env, customer, shop_id=None):
    """The job runs hourly: nothing the day before (shop time), the bonus once on the day."""
    at(env, "2026-02-28T10:30:00+00:00")  # 23:30 on 28 February in Auckland
    before = points(env, customer, shop_id)  # a welcome bonus, say
    assert env.rt.actions.birthdays() == 0 and points(env, customer, shop_id) == before
    at(env, "2026-02-28T11:30:00+00:00")  # 00:30 on 1 March in Auckland (still 28 February in UTC)
    assert env.rt.actions.birthdays() == 1 and points(env, customer, shop_id) == before + 100
    at(env, "2026-02-28T20:30:00+00:00")
    assert env.rt.actions.birthdays() == 0 and points(env, customer, shop_id) == before + 100


@pytest.mark.parametrize("proxy", [False, True])
def test_the_shopper_gives_it_once_in_the_panel(env, proxy):
    def give(value, customer="41"):
        if proxy:
            return env.client.post("/proxy/me/birthday?" + S.proxy_query(SECRET, customer=customer), json={"birthday": value})
        return env.client.post(f"/storefront/v1/me/birthday?shop={env.shop.widget_key}", json={"birthday": value},
                               headers=env.token(customer))

    bad = give("1990-02-30")
    assert bad.status_code == 422 and bad.get_json()["error"]["message"] == "1990-02-30 is not a real date"
    assert give("2027-01-01").get_json()["error"]["details"]["field"] == "birthday"
    r = give("1990-03-01")
    assert r.status_code == 200 and r.get_json() == {"birthday": "1990-03-01", "text": "Your birthday: March 1, 1990"}
    assert give("1990-03-01").status_code == 200  # the same again is no change
    again = give("1990-01-11")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "birthday_already_set"
    me = env.client.get(f"/storefront/v1/me?shop={env.shop.widget_key}", headers=env.token("41")).get_json()
    assert me["member"]["birthday"] == "1990-03-01"
    if not proxy:
        anon = env.client.post(f"/storefront/v1/me/birthday?shop={env.shop.widget_key}", json={"birthday": "1990-03-01"})
        assert anon.status_code == 401
    awarded_on_the_day(env, "41")


def test_a_date_the_shopper_just_gave_waits_30_days(env):
    at(env, "2026-02-20T12:00:00+00:00")
    r = env.client.post(f"/storefront/v1/me/birthday?shop={env.shop.widget_key}", json={"birthday": "--03-01"},
                        headers=env.token("42"))
    assert r.get_json() == {"birthday": "--03-01", "text": "Your birthday: March 1"}
    at(env, "2026-02-28T11:30:00+00:00")
    assert env.rt.actions.birthdays() == 0 and points(env, "42") == 0  # given 8 days ago: next year
    at(env, "2027-02-28T11:30:00+00:00")
    assert env.rt.actions.birthdays() == 1 and points(env, "42") == 100


def test_the_merchant_sets_it_audited_and_a_change_never_pays_twice_a_year(env):
    member, _ = env.rt.members.enrol(env.shop.id, "43")
    r = env.client.put(f"/admin/api/v1/members/{member.id}/birthday", json={"birthday": "1988-03-01", "actor": "Mia"},
                       headers=env.admin)
    assert r.status_code == 200 and r.get_json()["birthday"] == "1988-03-01"
    change = r.get_json()["changes"][0]
    assert change["source"] == "merchant" and change["actor"] == "api-key:Mia" and change["old"] is None
    assert change["at"] == "2026-01-10T12:00:00+00:00"
    bad = env.client.put(f"/admin/api/v1/members/{member.id}/birthday", json={"birthday": "1988-02-30"}, headers=env.admin)
    assert bad.status_code == 422 and "not a real date" in bad.get_json()["error"]["message"]
    awarded_on_the_day(env, "43")
    # Moved to later in the year after the bonus: the bonus is the year's, not the date's.
    r = env.client.put(f"/admin/api/v1/members/{member.id}/birthday", json={"birthday": "1988-03-05"}, headers=env.admin)
    assert [c["new"] for c in r.get_json()["changes"]] == ["1988-03-05", "1988-03-01"]
    at(env, "2026-03-05T01:00:00+00:00")
    assert env.rt.actions.birthdays() == 0 and points(env, "43") == 100  # not a second time
    # The shopper cannot change what the shop set.
    refused = env.client.post(f"/storefront/v1/me/birthday?shop={env.shop.widget_key}", json={"birthday": "1988-06-01"},
                              headers=env.token("43"))
    assert refused.status_code == 409
    got = env.client.get(f"/admin/api/v1/members/{member.id}", headers=env.admin).get_json()
    assert got["birthday"] == "1988-03-05"


@pytest.mark.parametrize("topic", ["customers/create", "customers/update"])
def test_shopify_facts_birth_date_from_the_customer_webhook(env, topic):
    r = env.sender.deliver(topic, S.customer(44, "bea@example.org", birth_date="1992-03-01"))
    assert r.status_code == 200
    member = env.rt.members.by_customer(env.shop.id, "44")[0]
    assert member.birthday == date(1992, 3, 1)
    env.sender.deliver("customers/update", S.customer(44, "bea@example.org"))  # no metafields: kept
    assert env.rt.members.by_customer(env.shop.id, "44")[0].birthday == date(1992, 3, 1)
    env.sender.deliver("customers/update", S.customer(44, "bea@example.org", birth_date="2099-01-01"))  # refused
    assert env.rt.members.by_customer(env.shop.id, "44")[0].birthday == date(1992, 3, 1)
    awarded_on_the_day(env, "44")
    changes = env.rt.members.birthday_changes(env.shop.id, member.id)
    assert [(c["source"], c["new"]) for c in changes] == [("platform", "1992-03-01")]


@pytest.mark.parametrize("key", ["birthday", "date_of_birth", "billing_birth_date"])
def test_woocommerce_customer_meta(env, key):
    shop, _ = env.rt.shops.register("woocommerce", "https://woo.test", currency="EUR",
                                    credentials={"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "whsec"})
    env.rt.programs.put(shop.id, {"timezone": "Pacific/Auckland",
                                  "actions": {"birthday": {"enabled": True, "points": 100}}}, author="test")
    sender = W.Sender(env.client, shop.id, "whsec", source="https://woo.test/")
    assert sender.deliver("customer.created", W.customer(45, meta={key: "1993-03-01"})).status_code == 200
    assert env.rt.members.by_customer(shop.id, "45")[0].birthday == date(1993, 3, 1)
    awarded_on_the_day(env, "45", shop.id)
