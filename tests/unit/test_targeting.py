"""Targeting's rules (issue 20), table-driven and pure: who may redeem a reward and from when
(tiers, segments, available_from, early access, the boundary instant), which campaigns apply
to whom (and how their bonus explains itself), what the program document accepts, where a
segment is named, and the shopper's words for each refusal in their language and the shop's
time zone."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from plugin_app.domain.earning import MemberContext, Order, OrderLine, calculate
from plugin_app.domain.money import Money
from plugin_app.domain.rewards import RewardUnavailable, quote
from plugin_app.domain.targeting import Audience, in_segments, opens_at, reward_gate, segment_refs
from plugin_app.i18n import translator
from plugin_app.services import program as programs
from plugin_app.services.explain import explain, render

pytestmark = pytest.mark.fast

ROME = ZoneInfo("Europe/Rome")
D = datetime(2026, 12, 4, 9, 0, tzinfo=ROME)  # everyone from 4 December, 09:00 in Rome
D3 = D - timedelta(days=3)  # Gold and segment 7 ("VIP") from 1 December, 09:00 in Rome
MINUTE = timedelta(minutes=1)
VIP, STAFF = 7, 9


def _reward(**kw) -> dict:
    return {"id": "gift", "name": "Gift", "type": "fixed_amount", "points_cost": 100, "amount": "5", **kw}


def _program(**reward):
    return programs.parse({"timezone": "Europe/Rome", "rewards": [_reward(**reward)]})


EARLY = {"available_from": D.isoformat(),
         "early_access": {"available_from": D3.isoformat(), "tiers": ["Gold"], "segments": [VIP]}}


@pytest.mark.parametrize("reward, tier, segments, now, code", [
    # no limits
    ({}, "Bronze", set(), D3, None),
    # tiers
    ({"tiers": ["Gold"]}, "Bronze", {VIP}, D, "reward.tiers"),
    ({"tiers": ["Gold"]}, "Gold", set(), D, None),
    # segments: any one of them
    ({"segments": [VIP]}, "Gold", set(), D, "reward.segments"),
    ({"segments": [VIP]}, "Bronze", {VIP}, D, None),
    ({"segments": [VIP, STAFF]}, "Bronze", {STAFF}, D, None),
    ({"segments": [VIP]}, "Bronze", {STAFF}, D, "reward.segments"),
    # tiers and segments both restrict, tiers said first
    ({"tiers": ["Gold"], "segments": [VIP]}, "Gold", {STAFF}, D, "reward.segments"),
    ({"tiers": ["Gold"], "segments": [VIP]}, "Bronze", {STAFF}, D, "reward.tiers"),
    ({"tiers": ["Gold"], "segments": [VIP]}, "Gold", {VIP}, D, None),
    # a date for everyone
    ({"available_from": D.isoformat()}, "Gold", {VIP}, D - MINUTE, "reward.not_yet"),
    ({"available_from": D.isoformat()}, "Gold", {VIP}, D, None),
    # early access: the tier or the segment opens it at D-3, to the minute
    (EARLY, "Gold", set(), D3 - MINUTE, "reward.not_yet"),
    (EARLY, "Gold", set(), D3, None),
    (EARLY, "Bronze", {VIP}, D3 - MINUTE, "reward.not_yet"),
    (EARLY, "Bronze", {VIP}, D3, None),
    (EARLY, "Bronze", {STAFF}, D3, "reward.not_yet"),
    (EARLY, "Bronze", set(), D - MINUTE, "reward.not_yet"),
    (EARLY, "Bronze", set(), D, None),
    (EARLY, None, set(), D, None),
    # early access never opens a reward the member is not in the segments of
    ({**EARLY, "segments": [STAFF]}, "Gold", {VIP}, D3, "reward.segments"),
    ({**EARLY, "segments": [STAFF]}, "Gold", {STAFF}, D3, None),
])
def test_who_may_redeem_and_from_when(reward, tier, segments, now, code):
    r = _program(**reward).rewards[0]
    audience = Audience(tier, frozenset(segments), {VIP: "VIP", STAFF: "Staff"})
    why = reward_gate(r, audience, now.astimezone(timezone.utc), "Europe/Rome")
    assert (why.code if why else None) == code
    # the quote refuses for the same reason, and prices the reward when the gate is open
    cart = Money.of(Decimal(50), "EUR")
    if code is None:
        assert quote(r, cart, points_available=500, tier=tier, audience=audience, now=now).points == 100
    else:
        with pytest.raises(RewardUnavailable) as err:
            quote(r, cart, points_available=500, tier=tier, audience=audience, now=now)
        assert err.value.why.code == code


def test_the_date_each_member_is_told():
    r = _program(**EARLY).rewards[0]
    assert opens_at(r, Audience("Gold")) == D3
    assert opens_at(r, Audience("Bronze", frozenset({VIP}))) == D3
    assert opens_at(r, Audience("Bronze")) == D
    assert opens_at(_program().rewards[0], Audience("Bronze")) is None
    # without `now` (an example of the reward's value) the date is not checked
    assert reward_gate(r, Audience("Bronze"), None) is None


@pytest.mark.parametrize("wanted, have, ok", [
    ([], set(), True), ([], {1}, True), ([1], set(), False), ([1], {1}, True), ([1, 2], {2, 3}, True),
    ([1, 2], {3}, False),
])
def test_in_segments(wanted, have, ok):
    assert in_segments(wanted, frozenset(have)) is ok


@pytest.mark.parametrize("lang, code, params, text", [
    ("en", "reward.segments", {"segments": ["VIP"]}, "For members of VIP"),
    ("it", "reward.segments", {"segments": ["VIP", "Staff"]}, "Per i membri di VIP, Staff"),
    ("de", "reward.segments", {"segments": ["VIP"]}, "Für Mitglieder von VIP"),
    # the instant in the shop's time zone (08:00 UTC is 09:00 in Rome), in the reader's format
    ("en", "reward.not_yet", {"at": "2026-12-04T08:00:00+00:00", "timezone": "Europe/Rome"},
     "Available from Dec 4, 2026, 9:00 AM"),
    ("it", "reward.not_yet", {"at": "2026-12-04T08:00:00+00:00", "timezone": "Europe/Rome"},
     "Disponibile dal 4 dic 2026, 09:00"),
    ("de", "reward.not_yet", {"at": "2026-12-04T08:00:00+00:00", "timezone": "Europe/Rome"},
     "Verfügbar ab 04.12.2026, 09:00"),
    ("fr", "reward.not_yet", {"at": "2026-12-04T08:00:00+00:00", "timezone": "Europe/Rome"},
     "Disponible à partir du 4 déc. 2026, 09:00"),
    ("es", "reward.not_yet", {"at": "2026-07-04T07:00:00+00:00", "timezone": "Europe/Rome"},
     "Disponible desde el 4 jul 2026, 9:00"),  # summer time: UTC+2
])
def test_the_shopper_reads_why_in_their_language(lang, code, params, text):
    from plugin_app.domain.reasons import Reason

    assert render(Reason(code, params), translator(lang)).replace("\u202f", " ") == text


def _order(at: datetime, *lines: OrderLine) -> Order:
    return Order("1001", "EUR", at, lines or (OrderLine("l1", 1, Decimal(100)),), "c1")


CAMPAIGNS = [
    {"name": "VIP weekend", "factor": "2", "window": {"starts_at": "2026-03-01T00:00:00", "ends_at": "2026-03-02T00:00:00"},
     "segments": [VIP]},
    {"name": "Shoes for staff", "factor": "3", "window": {"starts_at": "2026-03-01T00:00:00", "ends_at": "2026-03-02T00:00:00"},
     "match": {"tags": ["shoes"]}, "segments": [STAFF]},
    {"name": "Birthday", "factor": "2", "kind": "birthday", "segments": [VIP]},
]


@pytest.mark.parametrize("segments, birthday, tags, points, notes", [
    (set(), None, (), 100, []),
    ({VIP}, None, (), 200, ["VIP weekend (for VIP) x2"]),
    ({STAFF}, None, ("shoes",), 300, ["Shoes for staff (for Staff) x3 on 100.00"]),
    ({STAFF}, None, (), 100, []),  # the boost is for shoes only
    ({VIP, STAFF}, None, ("shoes",), 600, ["Shoes for staff (for Staff) x3 on 100.00", "VIP weekend (for VIP) x2"]),
    ({VIP}, date(1990, 3, 1), (), 400, ["VIP weekend (for VIP) x2", "Birthday (for VIP) x2"]),
    (set(), date(1990, 3, 1), (), 100, []),  # a birthday outside the segment earns no bonus
])
def test_campaigns_apply_to_members_of_their_segments(segments, birthday, tags, points, notes):
    program = programs.parse({"tiers": {"enabled": False}, "campaigns": CAMPAIGNS})
    at = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    line = OrderLine("l1", 1, Decimal(100), tags=frozenset(tags))
    ctx = MemberContext(None, birthday, frozenset(segments), {VIP: "VIP", STAFF: "Staff"})
    e = calculate(program, _order(at, line), ctx)
    assert e.points == points
    assert [n for n in e.notes if "x" in n and "per EUR" not in n] == notes
    # the ledger's reason carries the campaign and the segment, said in the reader's language
    entry = {"reason_code": e.reason("1001").code, "reason_params": e.reason("1001").params, "reason": ""}
    detail = explain(entry, translator("it"), detail=True)
    for note in notes:
        name = note.split(" (for ")[0]
        assert name in detail
    if VIP in segments and points > 100:
        assert "VIP weekend per VIP ×2" in detail


@pytest.mark.parametrize("doc, field", [
    ({"rewards": [_reward(segments=[0])]}, "rewards.0.segments"),
    ({"rewards": [_reward(segments=[3, 3])]}, "rewards.0.segments"),
    ({"rewards": [_reward(segments=list(range(1, 22)))]}, "rewards.0.segments"),
    ({"rewards": [_reward(available_from="2026-12-04T09:00:00")]}, "rewards.0.available_from"),  # no offset
    ({"rewards": [_reward(early_access={"available_from": D3.isoformat(), "tiers": ["Gold"]})]},
     "rewards.0.early_access"),  # early access without a date for everyone
    ({"rewards": [_reward(available_from=D3.isoformat(),
                          early_access={"available_from": D.isoformat(), "tiers": ["Gold"]})]},
     "rewards.0.early_access"),  # early access after everyone
    ({"rewards": [_reward(**{**EARLY, "early_access": {"available_from": D3.isoformat()}})]},
     "rewards.0.early_access.tiers"),  # early access for nobody
    ({"rewards": [_reward(**{**EARLY, "early_access": {"available_from": D3.isoformat(), "tiers": ["Platinum"]}})]},
     "rewards"),  # an unknown tier
    ({"campaigns": [{**CAMPAIGNS[0], "segments": ["vip"]}]}, "campaigns.0.segments"),
    ({"notifications": {"welcome": {"segments": [-1]}}}, "notifications.welcome.segments"),
])
def test_bad_targeting_is_a_field_error(doc, field):
    with pytest.raises(programs.ProgramInvalid) as err:
        programs.parse(doc)
    assert any(f["field"] == field or f["field"].startswith(field + ".") for f in err.value.fields), err.value.fields


def test_targeting_round_trips_and_old_documents_parse():
    p = programs.parse({"rewards": [_reward(segments=[VIP], **EARLY)], "campaigns": CAMPAIGNS,
                        "notifications": {"points_earned": {"segments": [STAFF]}}})
    doc = programs.dump(p)
    assert doc["rewards"][0]["segments"] == [VIP]
    assert datetime.fromisoformat(doc["rewards"][0]["available_from"].replace("Z", "+00:00")) == D
    assert programs.parse(doc) == p
    old = programs.parse({"rewards": [_reward()], "campaigns": [CAMPAIGNS[0] | {"segments": []}]})
    assert old.rewards[0].segments == [] and old.rewards[0].available_from is None
    assert old.notifications.welcome.segments == []


def test_every_place_that_names_a_segment_is_found():
    p = programs.parse({"rewards": [_reward(segments=[VIP], **EARLY)], "campaigns": CAMPAIGNS,
                        "notifications": {"points_earned": {"segments": [STAFF]}}})
    refs = segment_refs(p)
    assert refs[VIP] == [("rewards.0.segments", "reward gift"),
                         ("rewards.0.early_access.segments", "reward gift (early access)"),
                         ("campaigns.0.segments", "campaign VIP weekend"), ("campaigns.2.segments", "campaign Birthday")]
    assert refs[STAFF] == [("campaigns.1.segments", "campaign Shoes for staff"),
                           ("notifications.points_earned.segments", "e-mail points_earned")]
    assert segment_refs(programs.parse({})) == {}
