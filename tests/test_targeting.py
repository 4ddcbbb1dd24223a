"""Targeting (issue 20) on PostgreSQL through the real services and HTTP: rewards limited to
segments and opened early to some tiers and segments (the cart quote, the redemption in the
cart and outside it, the widget's and the customer account's words), to the minute in the
shop's time zone, as members move in and out of segments; campaigns limited to segments,
whose bonus is explained and never given twice nor taken back by a replay; e-mails limited to
segments through a real SMTP peer; segment ids checked on save (another shop's is unknown);
a segment the program names cannot be deleted."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from plugin_app.domain.errors import InvalidRequest
from plugin_app.domain.rewards import RewardUnavailable
from plugin_app.services.cart import Cart, CartLine
from plugin_app.services.program import ProgramInvalid
from plugin_app.services.segments import SegmentInUse
from plugin_app.services.explain import explain
from plugin_app.i18n import translator
from plugin_app.storage import tables as t

from . import factories as F
from .test_notifications import deliver, rt as mail_rt, smtp, subject  # noqa: F401  (fixtures)

ROME = ZoneInfo("Europe/Rome")
D = datetime(2026, 12, 4, 9, 0, tzinfo=ROME)  # everyone may redeem "launch" from here
D3 = D - timedelta(days=3)  # Gold and the VIP segment from here
MINUTE = timedelta(minutes=1)
VIP_RULE = {"all": [{"field": "points_balance", "op": "gte", "value": 1000}]}


def _at(clock, when: datetime) -> None:
    clock._at = when.astimezone(timezone.utc)  # the FixedClock is the runtime's, shared by every service


def _in(rt, shop, segment_id: int, member) -> bool:
    sm = t.segment_members.c
    with rt.db.uow(shop.id) as uow:
        return uow.conn.execute(select(sm.member_id).where(sm.segment_id == segment_id,
                                                           sm.member_id == member.id)).first() is not None


def _cart() -> Cart:
    return Cart("EUR", (CartLine("l1", 1, Decimal("50.00"), product_id="p1"),))


def _quoted(rt, shop, member, reward_id: str, locale: str = "en") -> dict:
    answer = rt.cart.quote(shop.id, "EUR", _cart(), member.platform_customer_id, locale=locale)
    return next(r for r in answer["rewards"] if r["id"] == reward_id)


def _held(rt, shop, member) -> int:
    return int(rt.members.get(shop.id, member.id)[1].held_points)


@pytest.fixture
def store(runtime, clock):
    """A shop in Rome: tiers Bronze and Gold (5000 points earned), a VIP segment (balance of
    1000 or more), a reward for VIP members only and a launch reward opening on 4 December at
    09:00 Rome time, from 1 December 09:00 for Gold and VIP."""
    rt = runtime
    shop = F.shop(rt, timezone="Europe/Rome")
    vip = rt.segments.create(shop.id, "VIP", VIP_RULE)["id"]
    F.use_program(rt, shop, timezone="Europe/Rome", tiers=F.tiers(("Bronze", 0), ("Gold", 5000)),
                  rewards=[F.reward("vip-gift", 100, amount="5", name="VIP gift", segments=[vip]),
                           F.reward("launch", 100, amount="5", name="Launch", available_from=D.isoformat(),
                                    early_access={"available_from": D3.isoformat(), "tiers": ["Gold"],
                                                  "segments": [vip]})])
    gold, star, plain = F.member(rt, shop), F.member(rt, shop), F.member(rt, shop)
    rt.ledger.earn(shop.id, gold.id, "points", 6000, key="g", source="order", reason="seed")
    rt.adjustments.adjust(shop.id, gold.id, "points", -5500, key="g-", actor="test", reason="spent elsewhere")
    rt.ledger.earn(shop.id, star.id, "points", 1200, key="s", source="order", reason="seed")
    rt.ledger.earn(shop.id, plain.id, "points", 500, key="p", source="order", reason="seed")
    gold, star, plain = (rt.members.get(shop.id, m.id)[0] for m in (gold, star, plain))
    assert (gold.tier, star.tier, plain.tier) == ("Gold", "Bronze", "Bronze")
    assert not _in(rt, shop, vip, gold) and _in(rt, shop, vip, star) and not _in(rt, shop, vip, plain)
    from types import SimpleNamespace
    return SimpleNamespace(rt=rt, shop=shop, vip=vip, gold=gold, star=star, plain=plain, clock=clock)


def test_a_reward_for_a_segment_follows_membership_and_is_refused_to_others(store):
    rt, shop, vip = store.rt, store.shop, store.vip
    _at(store.clock, D)
    assert _quoted(rt, shop, store.star, "vip-gift")["available"] is True
    refused = _quoted(rt, shop, store.plain, "vip-gift", "it")
    assert refused["available"] is False and refused["reason_code"] == "reward.segments"
    assert refused["reason_text"] == "Per i membri di VIP"
    # the server refuses the redemption, and nothing is held
    with pytest.raises(RewardUnavailable) as err:
        rt.cart.apply(shop.id, "EUR", store.plain.platform_customer_id, "k-plain-1", cart=_cart(), reward_id="vip-gift")
    assert err.value.why.code == "reward.segments" and _held(rt, shop, store.plain) == 0
    # outside the cart (customer account, POS): the same refusal
    with pytest.raises(InvalidRequest) as err:
        rt.extension_views.redeem(shop, store.plain.platform_customer_id, "vip-gift", "ca:k-plain-2", locale="es")
    assert err.value.message == "Para miembros de VIP" and err.value.details["reason"] == "reward.segments"
    account = {r["id"]: r for r in rt.extension_views.summary(shop, store.plain.platform_customer_id, "de")["rewards"]}
    assert account["vip-gift"]["available"] is False and account["vip-gift"]["reason_text"] == "Für Mitglieder von VIP"
    widget = rt.widget.summary(shop, store.plain.platform_customer_id, "fr")
    assert widget["member"]["rewards"]["vip-gift"] == "Pour les membres de VIP"
    assert next(r for r in widget["program"]["rewards"] if r["id"] == "vip-gift")["segments"] == [vip]
    # the member joins the segment (a posting): the reward opens to them
    rt.ledger.earn(shop.id, store.plain.id, "points", 600, key="p2", source="order", reason="more")
    assert _in(rt, shop, vip, store.plain)
    assert _quoted(rt, shop, store.plain, "vip-gift")["available"] is True
    made = rt.cart.apply(shop.id, "EUR", store.plain.platform_customer_id, "k-plain-3", cart=_cart(), reward_id="vip-gift")
    assert made["code"] and _held(rt, shop, store.plain) == 100
    # the star leaves it (points spent elsewhere): refused from then on
    rt.adjustments.adjust(shop.id, store.star.id, "points", -300, key="s-", actor="test", reason="test")
    assert not _in(rt, shop, vip, store.star)
    with pytest.raises(RewardUnavailable):
        rt.cart.apply(shop.id, "EUR", store.star.platform_customer_id, "k-star-1", cart=_cart(), reward_id="vip-gift")
    assert _held(rt, shop, store.star) == 0
    assert _quoted(rt, shop, store.star, "vip-gift")["reason_code"] == "reward.segments"


@pytest.mark.parametrize("who, opens", [("gold", D3), ("star", D3), ("plain", D)])
def test_early_access_to_the_minute_in_the_shops_time_zone(store, who, opens):
    rt, shop = store.rt, store.shop
    member = getattr(store, who)
    _at(store.clock, opens - MINUTE)
    quoted = _quoted(rt, shop, member, "launch")
    assert quoted["available"] is False and quoted["reason_code"] == "reward.not_yet"
    local = opens.astimezone(ROME)
    assert quoted["reason_text"] == f"Available from Dec {local.day}, 2026, 9:00\u202fAM"  # 09:00 in Rome, not UTC
    status = rt.widget.summary(shop, member.platform_customer_id, "it")["member"]["rewards"]["launch"]
    assert status == f"Disponibile dal {local.day} dic 2026, 09:00"
    with pytest.raises(RewardUnavailable):
        rt.cart.apply(shop.id, "EUR", member.platform_customer_id, f"k-{who}-early", cart=_cart(), reward_id="launch")
    assert _held(rt, shop, member) == 0
    _at(store.clock, opens)
    assert _quoted(rt, shop, member, "launch")["available"] is True
    made = rt.cart.apply(shop.id, "EUR", member.platform_customer_id, f"k-{who}-on-time", cart=_cart(),
                         reward_id="launch")
    assert made["code"] and _held(rt, shop, member) == 100


def test_campaign_for_a_segment_is_explained_and_a_replay_changes_nothing(store):
    rt, shop, vip = store.rt, store.shop, store.vip
    now = datetime(2026, 12, 5, 12, 0, tzinfo=ROME)
    _at(store.clock, now)
    current = rt.programs.current(shop.id).program
    F.use_program(rt, shop, **F.with_sections(current, campaigns=[
        {"name": "VIP double", "factor": "2", "segments": [vip],
         "window": {"starts_at": "2026-12-05T00:00:00", "ends_at": "2026-12-06T00:00:00"}}]))
    star_order = F.order(F.line("100.00", line_id="a"), customer=store.star.platform_customer_id,
                         placed_at=now, updated_at=now)
    plain_order = F.order(customer=store.plain.platform_customer_id, placed_at=now)
    assert rt.orders.on_paid(shop.id, star_order).points == 200  # a VIP at the time of the order: x2
    assert rt.orders.on_paid(shop.id, plain_order).points == 100  # not in the segment: no bonus
    with rt.db.uow(shop.id) as uow:
        entry = uow.ledger.entry_by_key(f"order:{star_order.order_id}:points")
    assert entry.details["segments"] == [vip] and "VIP double (for VIP) x2" in entry.details["notes"]
    said = explain({"reason_code": entry.reason_code, "reason_params": entry.reason_params, "reason": entry.reason},
                   translator("it"), detail=True)
    assert "VIP double per VIP ×2" in said
    balance = rt.members.get(shop.id, store.star.id)[1].points
    # the member leaves the segment; the same order delivered again changes nothing
    rt.adjustments.adjust(shop.id, store.star.id, "points", -1000, key="s-", actor="test", reason="test")
    assert not _in(rt, shop, vip, store.star)
    balance -= 1000
    again = rt.orders.on_paid(shop.id, star_order)
    assert again.status == "already_earned" and again.points == 200
    with rt.db.uow(shop.id) as uow:
        rows = uow.ledger.entries_by_ref(f"order:{star_order.order_id}")
    assert [(r.kind, int(r.points)) for r in rows] == [("earn", 200)]  # no second bonus, none taken back
    assert rt.members.get(shop.id, store.star.id)[1].points == balance
    # an edit of that order earns on its added item as the order first did (the member was a VIP then)
    edited = F.order(F.line("100.00", line_id="a"), F.line("50.00", line_id="b"), order_id=star_order.order_id,
                     customer=store.star.platform_customer_id, placed_at=now, updated_at=now + MINUTE)
    assert rt.orders.on_paid(shop.id, edited).points == 100  # 50.00 x2
    # a new order now: no bonus
    later = F.order(customer=store.star.platform_customer_id, placed_at=now)
    assert rt.orders.on_paid(shop.id, later).points == 100


def test_an_email_limited_to_a_segment_reaches_only_its_members(mail_rt, clock, smtp):  # noqa: F811
    rt = mail_rt
    shop = F.shop(rt, name="Bottega")
    vip = rt.segments.create(shop.id, "VIP", VIP_RULE)["id"]
    F.use_program(rt, shop, tiers={"enabled": False}, notifications={"welcome": {"enabled": False}, "reward_unlocked": {"enabled": False},
                                           "points_earned": {"enabled": True, "segments": [vip]}})
    star = F.member(rt, shop, "c-star", email="star@example.com", name="Star")
    plain = F.member(rt, shop, "c-plain", email="plain@example.com", name="Plain")
    rt.ledger.earn(shop.id, star.id, "points", 1200, key="s", source="order", reason="seed")
    assert _in(rt, shop, vip, star)
    for m in (star, plain):
        rt.orders.on_paid(shop.id, F.order(customer=m.platform_customer_id))
    deliver(rt, clock, rounds=2)
    got = [(to[0], subject(msg)) for to, msg in smtp.messages]
    assert got == [("star@example.com", "You earned 100 points")], got
    with rt.db.uow(shop.id) as uow:
        rows = uow.conn.execute(select(t.notifications.c.recipient, t.notifications.c.state).where(
            t.notifications.c.shop_id == shop.id, t.notifications.c.topic == "points_earned")).all()
    assert sorted(map(tuple, rows)) == [("plain@example.com", "skipped"), ("star@example.com", "sent")]
    # the member who leaves the segment gets no more of them; one who joins does
    rt.adjustments.adjust(shop.id, star.id, "points", -1000, key="s-", actor="test", reason="test")
    rt.ledger.earn(shop.id, plain.id, "points", 1000, key="p", source="order", reason="seed")
    assert not _in(rt, shop, vip, star) and _in(rt, shop, vip, plain)
    smtp.messages.clear()
    for m in (star, plain):
        rt.orders.on_paid(shop.id, F.order(customer=m.platform_customer_id))
    deliver(rt, clock, rounds=2)
    assert [to[0] for to, _ in smtp.messages] == ["plain@example.com"]


def test_a_reward_for_a_segment_is_not_announced_to_others(mail_rt, clock, smtp):  # noqa: F811
    from datetime import date

    rt = mail_rt
    shop = F.shop(rt, name="Bottega")
    december = rt.segments.create(shop.id, "December birthdays",
                                  {"all": [{"field": "birthday_month", "op": "eq", "value": 12}]})["id"]
    F.use_program(rt, shop, tiers={"enabled": False}, notifications={"welcome": {"enabled": False}},
                  rewards=[F.reward("bday-gift", 100, amount="5", name="Birthday gift", segments=[december])])
    fan = F.member(rt, shop, "c-dec", email="dec@example.com", birthday=date(1990, 12, 5))
    other = F.member(rt, shop, "c-may", email="may@example.com", birthday=date(1990, 5, 5))
    for m in (fan, other):
        rt.ledger.earn(shop.id, m.id, "points", 10, key=f"a-{m.id}", source="order", reason="seed")
    assert _in(rt, shop, december, fan) and not _in(rt, shop, december, other)
    for m in (fan, other):
        rt.ledger.earn(shop.id, m.id, "points", 150, key=f"b-{m.id}", source="order", reason="seed")
    deliver(rt, clock, rounds=2)
    assert [(to[0], subject(msg)) for to, msg in smtp.messages] == [("dec@example.com", "You can now get Birthday gift")]


# -- the merchant: validation on save, deletion refused while in use ----------------------------
def test_segment_ids_are_checked_on_save_and_a_named_segment_cannot_be_deleted(two_shops_api):
    client, rt, shop, auth, other, other_auth = two_shops_api
    mine = client.post("/admin/api/v1/segments", json={"name": "VIP", "rule": VIP_RULE}, headers=auth).get_json()["id"]
    theirs = client.post("/admin/api/v1/segments", json={"name": "Theirs", "rule": VIP_RULE},
                         headers=other_auth).get_json()["id"]
    doc = client.get("/admin/api/v1/program", headers=auth).get_json()
    for key in ("version", "updated_at", "updated_by", "note", "restored_from"):
        doc.pop(key, None)
    before = client.get("/admin/api/v1/program", headers=auth).get_json()["version"]
    # another shop's segment, or one that does not exist: a field error, nothing saved
    for bad in (theirs, 987654321):
        r = client.put("/admin/api/v1/program", headers=auth, json={
            **doc, "rewards": [{**doc["rewards"][0], "segments": [bad]}],
            "notifications": {**doc["notifications"], "welcome": {**doc["notifications"]["welcome"], "segments": [bad]}}})
        assert r.status_code == 422, r.get_json()
        fields = {f["field"]: f["message"] for f in r.get_json()["error"]["fields"]}
        assert set(fields) == {"rewards.0.segments", "notifications.welcome.segments"}
        assert f"unknown segment {bad}" in fields["rewards.0.segments"]
    assert client.get("/admin/api/v1/program", headers=auth).get_json()["version"] == before
    # the shop's own: saved, in a reward, a campaign and an e-mail
    named = {**doc, "rewards": [{**doc["rewards"][0], "segments": [mine]}],
             "campaigns": [{"name": "VIP weekend", "factor": "2", "segments": [mine],
                            "window": {"starts_at": "2026-12-05T00:00:00", "ends_at": "2026-12-07T00:00:00"}}],
             "notifications": {**doc["notifications"], "welcome": {**doc["notifications"]["welcome"], "segments": [mine]}}}
    r = client.put("/admin/api/v1/program", headers=auth, json=named)
    assert r.status_code == 200 and r.get_json()["rewards"][0]["segments"] == [mine]
    named_version = r.get_json()["version"]
    # deleting it is refused, saying where it is used; it stays, with its members
    r = client.delete(f"/admin/api/v1/segments/{mine}", headers=auth)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "segment_in_use"
    message = r.get_json()["error"]["message"]
    assert f"reward {doc['rewards'][0]['id']}" in message and "campaign VIP weekend" in message and "e-mail welcome" in message
    assert client.get(f"/admin/api/v1/segments/{mine}", headers=auth).status_code == 200
    # the other shop's program does not hold its segment hostage, and cannot touch ours
    assert client.delete(f"/admin/api/v1/segments/{mine}", headers=other_auth).status_code == 404
    assert client.delete(f"/admin/api/v1/segments/{theirs}", headers=other_auth).status_code == 204
    # taken out of the program, it can go; a version that named it can no longer be restored
    assert client.put("/admin/api/v1/program", headers=auth, json=doc).status_code == 200
    assert client.delete(f"/admin/api/v1/segments/{mine}", headers=auth).status_code == 204
    r = client.post(f"/admin/api/v1/program/versions/{named_version}/restore", headers=auth)
    assert r.status_code == 422 and "rewards.0.segments" in {f["field"] for f in r.get_json()["error"]["fields"]}
    with pytest.raises(ProgramInvalid):
        rt.programs.restore(shop.id, named_version, author="test")


def test_deleting_checks_the_current_program_under_the_programs_lock(runtime):
    rt = runtime
    shop = F.shop(rt)
    seg = rt.segments.create(shop.id, "Soon gone", VIP_RULE)["id"]
    F.use_program(rt, shop, campaigns=[{"name": "Birthday", "factor": "2", "kind": "birthday", "segments": [seg]}])
    with pytest.raises(SegmentInUse) as err:
        rt.segments.delete(shop.id, seg)
    assert "campaign Birthday" in err.value.message and err.value.status == 409
    F.use_program(rt, shop, campaigns=[])
    rt.segments.delete(shop.id, seg)
    with pytest.raises(ProgramInvalid):
        F.use_program(rt, shop, campaigns=[{"name": "Birthday", "factor": "2", "kind": "birthday", "segments": [seg]}])


# -- the admin pages: "Limit to segments" and early access, in the merchant's language ---------
@pytest.fixture
def admin(client):
    rt = client.application.extensions["loyalty"]
    shop, key = rt.shops.register("demo", "targeting.example", currency="EUR", name="Bottega", timezone="Europe/Rome")
    F.use_program(rt, shop, timezone="Europe/Rome")
    client.post("/admin/login", data={"key": key})
    vip = rt.segments.create(shop.id, "VIP", VIP_RULE)["id"]
    return client, rt, shop, vip


def _post(client, url: str, page: str, changes: dict, index: int = -1):
    from werkzeug.datastructures import MultiDict

    from .formdata import form_data

    data = MultiDict([(k, v) for k, v in form_data(page, index) if k not in changes])
    for k, v in changes.items():
        for item in (v if isinstance(v, list) else [v]):
            data.add(k, item)
    return client.post(url, data=data).data.decode()


def test_the_redeem_page_limits_a_reward_to_segments_and_opens_it_early(admin):
    client, rt, shop, vip = admin
    page = client.get("/admin/redeem?lang=de").data.decode()
    assert "Nur für Mitglieder dieser Segmente" in page and "Früher Zugang ab" in page and "Für wen und ab wann" in page
    assert f'name="rewards.0.segments" value="{vip}"' in page and "> VIP</label>" in page
    page = _post(client, "/admin/redeem?lang=de", page, {
        "rewards.0.segments": ["", str(vip)], "rewards.0.available_from": "2026-12-04T09:00",
        "rewards.0.early_access.available_from": "2026-12-01T09:00", "rewards.0.early_access.tiers": ["", "Gold"],
        "rewards.0.early_access.segments": [""], "action": "save"})
    reward = rt.programs.current(shop.id).program.rewards[0]
    assert reward.segments == [vip] and reward.available_from == D  # typed as Rome's wall clock
    assert reward.early_access.available_from == D3 and reward.early_access.tiers == ["Gold"]
    assert 'value="2026-12-04T09:00"' in page and 'value="2026-12-01T09:00"' in page  # shown the same way back
    # early access after everyone's date: the error beside the group, in German, nothing saved
    version = rt.programs.current(shop.id).version
    page = _post(client, "/admin/redeem?lang=de", page, {"rewards.0.early_access.available_from": "2026-12-05T09:00",
                                                         "action": "save"})
    assert "Der frühe Zugang muss vor dem Datum für alle anderen beginnen." in page
    assert rt.programs.current(shop.id).version == version
    # unticking clears it
    page = client.get("/admin/redeem").data.decode()
    _post(client, "/admin/redeem", page, {"rewards.0.segments": [""], "rewards.0.available_from": "",
                                          "rewards.0.early_access.available_from": "",
                                          "rewards.0.early_access.tiers": [""], "action": "save"})
    reward = rt.programs.current(shop.id).program.rewards[0]
    assert reward.segments == [] and reward.available_from is None and reward.early_access is None


def test_the_campaigns_and_emails_pages_limit_to_segments(admin):
    client, rt, shop, vip = admin
    current = rt.programs.current(shop.id).program
    F.use_program(rt, shop, **F.with_sections(current, campaigns=[{"name": "Birthday", "factor": "2", "kind": "birthday"}]))
    page = client.get("/admin/campaigns?lang=it").data.decode()
    assert "Solo per i membri di questi segmenti" in page
    _post(client, "/admin/campaigns?lang=it", page, {"campaigns.0.segments": ["", str(vip)], "action": "save"})
    assert rt.programs.current(shop.id).program.campaigns[0].segments == [vip]
    page = client.get("/admin/emails?lang=fr").data.decode()
    assert "Uniquement pour les membres de ces segments" in page and f'name="welcome.segments" value="{vip}"' in page
    _post(client, "/admin/emails?lang=fr", page, {"welcome.segments": str(vip), "action": "save"})
    notifications = rt.programs.current(shop.id).program.notifications
    assert notifications.welcome.segments == [vip] and notifications.points_earned.segments == []
    # the segment the program names cannot be deleted while it does
    with pytest.raises(SegmentInUse):
        rt.segments.delete(shop.id, vip)


def test_openapi_publishes_the_targeting_fields(client):
    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    reward = schemas["Reward"]["properties"]
    assert reward["segments"]["items"]["type"] == "integer"
    assert {"format": "date-time", "type": "string"} in reward["available_from"]["anyOf"]
    assert set(schemas["EarlyAccess"]["properties"]) == {"available_from", "tiers", "segments"}
    assert schemas["Campaign"]["properties"]["segments"]["items"]["type"] == "integer"
    assert schemas["Email"]["properties"]["segments"]["items"]["type"] == "integer"
    delete = spec["paths"]["/admin/api/v1/segments/{segment_id}"]["delete"]["responses"]
    assert "409" in delete and "204" in delete
