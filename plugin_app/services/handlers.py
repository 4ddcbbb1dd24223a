"""Who reacts to what happened: every handler of a domain event is registered here, and only
here. A rule that must follow a posting is a handler, so no entry point (webhook, cart, admin
page, JSON API, periodic job, CLI) can forget it.

Handlers run inside the unit of work that collected the event, when its block ends and before
it commits (`storage.uow`): what they write commits or rolls back with what caused it. They
take the unit of work and the event; they may collect more events (a tier change pays an entry
reward, a posting, which is handled in turn).

What leaves the process (emails, merchant webhooks) is not done here: those are outbox events,
relayed and sent by the notification jobs after the commit, with retries.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable

from ..domain.member_events import DomainEvent, OrderChanged, PointsPosted, ReferralRewarded, TagsChanged

Handler = Callable[[object, DomainEvent], None]


class Bus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)

    def on(self, event_type: type, handler: Handler) -> None:
        self._handlers[event_type].append(handler)

    def handlers_for(self, event_type: type) -> list[Handler]:
        return [h for cls in event_type.__mro__ for h in self._handlers.get(cls, ())]

    def __call__(self, uow, event: DomainEvent) -> None:
        for handler in self.handlers_for(type(event)):
            handler(uow, event)


def register(bus: Bus, *, tiers, notifier, store_credit=None, achievements=None, segments=None) -> Bus:
    """The whole table. Order matters where one handler's writes feed another's reads: the
    tier is settled before the notifications read the balance's rewards."""
    bus.on(PointsPosted, tiers.after_posting)  # the tier follows every posting that can move it
    bus.on(OrderChanged, tiers.after_order)  # spend-based tiers follow the order's kept value
    bus.on(PointsPosted, notifier.after_posting)  # cashback ready, reward unlocked, points.changed
    if achievements is not None:  # badges follow orders, actions and referrals (services.achievements)
        bus.on(OrderChanged, achievements.after_order)
        bus.on(PointsPosted, achievements.after_posting)
        bus.on(ReferralRewarded, achievements.after_referral)
    if store_credit is not None:  # a mirror row for Shopify's native store credit (sent after the commit)
        bus.on(PointsPosted, store_credit.after_posting)
    if segments is not None:  # last: profiles and segment membership read the tier settled above
        bus.on(OrderChanged, segments.after_order)  # the member's profile, lifecycle and segments
        bus.on(PointsPosted, segments.after_posting)  # balance and tier conditions
        bus.on(TagsChanged, segments.after_tags)  # the customer's tags
    return bus
