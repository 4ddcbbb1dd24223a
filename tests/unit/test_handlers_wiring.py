"""`services.handlers.register` is the whole table of who reacts to what: a posting goes to the
tier first, then to the notifications; an order's change goes to the tier; nothing else."""
from datetime import datetime, timezone
from decimal import Decimal

from plugin_app.domain.member_events import MemberEnrolled, OrderChanged, PointsPosted, TierChanged
from plugin_app.services.handlers import Bus, register

AT = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


class Spy:
    def __init__(self, name, log):
        self.name, self.log = name, log

    def after_posting(self, uow, event):
        self.log.append((self.name, "after_posting", event))

    def after_order(self, uow, event):
        self.log.append((self.name, "after_order", event))


def wired():
    log = []
    tiers, notifier = Spy("tiers", log), Spy("notifier", log)
    return register(Bus(), tiers=tiers, notifier=notifier), tiers, notifier, log


def test_a_posting_goes_to_the_tier_then_to_the_notifications():
    bus, tiers, notifier, log = wired()
    event = PointsPosted(shop_id=1, member_id=2, at=AT, entry_id=3, kind="adjust", asset="points",
                         available=Decimal(600), pending=Decimal(0), held=Decimal(0),
                         lifetime=Decimal(600), balance=600, balance_pending=0, reason="x")
    uow = object()
    bus(uow, event)
    assert log == [("tiers", "after_posting", event), ("notifier", "after_posting", event)]
    assert bus.handlers_for(PointsPosted) == [tiers.after_posting, notifier.after_posting]


def test_an_order_change_goes_to_the_tier_only():
    bus, tiers, _, log = wired()
    event = OrderChanged(shop_id=1, member_id=2, at=AT, order_id="1001", cause="refund r1")
    bus(None, event)
    assert log == [("tiers", "after_order", event)]
    assert bus.handlers_for(OrderChanged) == [tiers.after_order]


def test_outbox_events_have_no_handler_in_process():
    """What people and other systems hear of is relayed from the outbox after the commit."""
    bus, _, _, log = wired()
    bus(None, MemberEnrolled(shop_id=1, member_id=2, at=AT, customer_id="c"))
    bus(None, TierChanged(shop_id=1, member_id=2, at=AT, from_tier=None, to_tier="Silver", reason="r",
                          up=True, value=Decimal(600), cause="x", program_version=1))
    assert log == []
