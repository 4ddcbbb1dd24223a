"""`TierService.after_posting` decides which postings can move a tier (points that count
toward it, and every adjustment), `after_order` follows every order change, and `evaluate`
writes a change, tells it once and pays the entry reward: with fakes, no database."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from plugin_app.domain.member_events import OrderChanged, PointsPosted
from plugin_app.domain.ports import FixedClock
from plugin_app.services.tiers import TierService

from .. import factories as F
from ..fakes import FakeDb, FakeLedger, FakePrograms

AT = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
POINTS_TIERS = F.program(tiers=F.tiers(("Bronze", 0), ("Silver", 500), ("Gold", 1500)))
SPEND_TIERS = F.program(tiers=F.tiers(("Bronze", 0), ("Silver", 500), basis="money_spent"))
NO_TIERS = F.program(tiers={"enabled": False})


def posting(kind="earn", asset="points", lifetime=100, available=None, reason="why"):
    available = Decimal(lifetime if available is None else available)
    return PointsPosted(shop_id=1, member_id=7, at=AT, entry_id=11, kind=kind, asset=asset,
                        available=available, pending=Decimal(0), held=Decimal(0), lifetime=Decimal(lifetime),
                        balance=int(available), balance_pending=0, reason=reason)


def label(value) -> str:
    if isinstance(value, PointsPosted):
        return f"{value.asset}-{value.kind}-lifetime{value.lifetime}"
    if isinstance(value, bool):
        return "evaluates" if value else "skips"
    return {id(POINTS_TIERS): "points_earned", id(SPEND_TIERS): "money_spent", id(NO_TIERS): "tiers_off"}[id(value)]


def service(program):
    svc = TierService(FakeDb(), FakeLedger(), FakePrograms(program, version=4), FixedClock(AT))
    calls = []
    svc.evaluate = lambda uow, member_id, program, version, *, why="": calls.append(
        (uow, member_id, program, version, why))
    return svc, calls


@pytest.mark.parametrize("program, event, evaluates", [
    (POINTS_TIERS, posting("earn", lifetime=100), True),
    (POINTS_TIERS, posting("reverse", lifetime=-40, available=-40), True),  # points taken back
    (POINTS_TIERS, posting("earn", lifetime=0, available=0), False),  # pending: nothing counted yet
    (POINTS_TIERS, posting("redeem", lifetime=0, available=-50), False),  # spending never moves it
    (POINTS_TIERS, posting("expire", lifetime=0, available=-5), False),
    (POINTS_TIERS, posting("earn", asset="credit", lifetime=5), False),  # store credit is not points
    (POINTS_TIERS, posting("adjust", asset="credit", lifetime=5), False),
    (POINTS_TIERS, posting("adjust", lifetime=600), True),
    (POINTS_TIERS, posting("adjust", lifetime=0, available=-100), True),  # a person's correction, down
    (SPEND_TIERS, posting("earn", lifetime=100), False),  # spend-based: orders move it, not points
    (SPEND_TIERS, posting("adjust", lifetime=100), False),  # points never move a spend-based tier
    (NO_TIERS, posting("earn", lifetime=100), False),
    (NO_TIERS, posting("adjust", lifetime=100), False),
], ids=lambda v: label(v))
def test_which_postings_are_evaluated(program, event, evaluates):
    svc, calls = service(program)
    uow = object()
    svc.after_posting(uow, event)
    assert calls == ([(uow, 7, program, 4, "why")] if evaluates else [])


def test_every_order_change_is_evaluated_with_its_cause():
    svc, calls = service(SPEND_TIERS)
    uow = object()
    svc.after_order(uow, OrderChanged(shop_id=1, member_id=7, at=AT, order_id="1001", cause="refund r1"))
    assert calls == [(uow, 7, SPEND_TIERS, 4, "refund r1")]


def evaluating(program, value):
    """A TierService on fakes whose qualifying value (SQL in production) is `value`."""
    db, ledger = FakeDb(), FakeLedger()
    svc = TierService(db, ledger, FakePrograms(program), FixedClock(AT))
    svc.qualifying_value = lambda conn, program, shop_id, member_id, now: Decimal(value)
    with db.uow(1) as uow:
        member_id, _ = uow.members.create("c-7", None, None, "EUR", AT)
    db.points_earned[member_id] = Decimal(value)  # the same, as the points-earned read gives it
    return svc, db, ledger, member_id


def test_evaluate_writes_the_change_tells_it_once_and_pays_the_entry_reward():
    program = F.program(tiers=F.tiers(("Bronze", 0), ("Silver", 500), entry_rewards={"Silver": 50}),
                        expiry=F.expiry("age", months=6))
    svc, db, ledger, member_id = evaluating(program, 600)
    with db.uow(1) as uow:
        decision = svc.evaluate(uow, member_id, program, 3, why="adjust by hand")
    assert decision.changed and decision.tier == "Silver"
    member = db.members[member_id]
    assert (member.tier, member.tier_since, member.tier_grace_until) == ("Silver", AT, None)
    (row,) = db.outbox_of("tier_changed")
    assert row["dedupe_key"] == f"tier:{member_id}:None->Silver:{AT.isoformat()}"
    assert row["payload"] == {"from": None, "to": "Silver", "reason": decision.reason, "direction": "up",
                              "value": "600", "cause": "adjust by hand", "program_version": 3}
    ((op, args, kwargs),) = ledger.calls
    assert (op, args[:4]) == ("earn", (1, member_id, "points", 50))
    assert kwargs["key"] == f"tier-entry:{member_id}:Silver"
    assert kwargs["expires_at"] == datetime(2026, 9, 1, 12, tzinfo=timezone.utc)  # points expire by age

    with db.uow(1) as uow:  # nothing moved: nothing told, nothing paid
        assert not svc.evaluate(uow, member_id, program, 3, why="again").changed
    assert len(db.outbox_of("tier_changed")) == 1 and len(ledger.calls) == 1


def test_evaluate_decides_nothing_when_tiers_are_off():
    svc, db, ledger, member_id = evaluating(NO_TIERS, 10_000)
    with db.uow(1) as uow:
        assert svc.evaluate(uow, member_id, NO_TIERS, 1) is None
    assert db.members[member_id].tier is None and db.outbox == [] and ledger.calls == []
