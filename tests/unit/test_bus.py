"""The event bus and the unit of work's handling loop, without a database: handlers run in the
order they were registered, for the event's type and every type it derives from; events that
handlers collect are handled in turn; a failing handler propagates and the unit rolls back."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from plugin_app.domain.member_events import (DomainEvent, MemberEnrolled, OrderChanged, OutboxEvent,
                                             PointsPosted)
from plugin_app.services.handlers import Bus
from plugin_app.storage.uow import UnitOfWork

from ..fakes import FakeDb

AT = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def order_changed(order_id="o-1"):
    return OrderChanged(shop_id=1, member_id=7, at=AT, order_id=order_id, cause="paid")


def enrolled(member_id=7):
    return MemberEnrolled(shop_id=1, member_id=member_id, at=AT, customer_id=f"c-{member_id}")


def posted(entry_id=1):
    return PointsPosted(shop_id=1, member_id=7, at=AT, entry_id=entry_id, kind="earn", asset="points",
                        available=Decimal(10), pending=Decimal(0), held=Decimal(0), lifetime=Decimal(10),
                        balance=10, balance_pending=0)


def recorder(log, name):
    return lambda uow, event: log.append((name, type(event).__name__))


def test_handlers_run_in_the_order_they_were_registered():
    bus, log = Bus(), []
    for name in ("first", "second", "third"):
        bus.on(OrderChanged, recorder(log, name))
    bus(None, order_changed())
    assert log == [("first", "OrderChanged"), ("second", "OrderChanged"), ("third", "OrderChanged")]


def test_dispatch_follows_the_class_hierarchy_most_specific_first():
    bus, log = Bus(), []
    bus.on(DomainEvent, recorder(log, "any"))
    bus.on(OutboxEvent, recorder(log, "outbox"))
    bus.on(MemberEnrolled, recorder(log, "enrolled"))
    bus(None, enrolled())
    assert log == [("enrolled", "MemberEnrolled"), ("outbox", "MemberEnrolled"), ("any", "MemberEnrolled")]
    log.clear()
    bus(None, order_changed())  # not an outbox event: only the catch-all
    assert log == [("any", "OrderChanged")]
    assert bus.handlers_for(PointsPosted) == bus.handlers_for(DomainEvent)


def test_an_event_nobody_handles_is_fine():
    Bus()(None, order_changed())


def test_events_collected_by_handlers_are_handled_in_turn_first_in_first_out():
    bus, log = Bus(), []

    def on_order(uow, event):
        uow.collect(posted())
        uow.collect(enrolled(7))

    def on_posting(uow, event):
        log.append("posted")
        uow.collect(enrolled(8))

    bus.on(OrderChanged, on_order)
    bus.on(PointsPosted, on_posting)
    bus.on(MemberEnrolled, lambda uow, e: log.append(f"enrolled {e.member_id}"))
    db = FakeDb(dispatch=bus)
    with db.uow(1) as uow:
        uow.collect(order_changed())
        assert log == []  # nothing runs before the block ends
    assert log == ["posted", "enrolled 7", "enrolled 8"]
    assert [type(e).__name__ for e in uow.events] == ["OrderChanged", "PointsPosted", "MemberEnrolled",
                                                       "MemberEnrolled"]
    assert uow.committed and [r["dedupe_key"] for r in db.outbox] == ["enrolled:7", "enrolled:8"]


def test_a_failing_handler_propagates_and_the_unit_rolls_back():
    bus, log = Bus(), []
    bus.on(MemberEnrolled, lambda uow, e: 1 / 0)
    bus.on(MemberEnrolled, recorder(log, "after the failure"))
    db = FakeDb(dispatch=bus)
    with pytest.raises(ZeroDivisionError):
        with db.uow(1) as uow:
            uow.collect(enrolled())
    assert log == [] and uow.rolled_back and not uow.committed
    assert db.outbox == []  # the event's outbox row went with the rollback


def test_no_handler_runs_when_the_block_itself_fails():
    bus, log = Bus(), []
    bus.on(OrderChanged, recorder(log, "h"))
    db = FakeDb(dispatch=bus)
    with pytest.raises(RuntimeError):
        with db.uow(1) as uow:
            uow.collect(order_changed())
            raise RuntimeError("boom")
    assert log == [] and uow.rolled_back


class _Savepoint:
    def __init__(self, log):
        self.log, self.is_active = log, True

    def commit(self):
        self.log.append("release")
        self.is_active = False

    def rollback(self):
        self.log.append("rollback")
        self.is_active = False


class _JoinedDb:
    """Just enough of `storage.db.Database` for the real UnitOfWork to join an open transaction."""

    def __init__(self):
        self.log = []

    def open_connection(self):
        return self

    def begin_nested(self):
        return _Savepoint(self.log)


def test_the_real_unit_of_work_handles_the_same_way():
    """The fakes mirror `storage.uow.UnitOfWork`: its loop, on events that need no SQL."""
    bus, log = Bus(), []
    bus.on(OrderChanged, lambda uow, e: uow.collect(posted()))
    bus.on(PointsPosted, recorder(log, "tier"))
    db = _JoinedDb()
    with UnitOfWork(db, 1, bus) as uow:
        uow.collect(order_changed())
    assert log == [("tier", "PointsPosted")] and db.log == ["release"]
    bus.on(PointsPosted, lambda uow, e: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        with UnitOfWork(db, 1, bus) as uow:
            uow.collect(order_changed())
    assert db.log == ["release", "rollback"]
