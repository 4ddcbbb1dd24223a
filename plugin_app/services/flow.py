"""Shopify Flow: our triggers fed by the outbox, and our actions run through the same use cases
as every other entry point. What each trigger and action carries: `domain.flow`.

Triggers ride on the notifications machinery (`services.notify`): when the relay fans an
outbox event out, an event that starts a trigger, for an installed Shopify shop and a member
who is a Shopify customer, also queues one delivery with target "flow" (the delivery's unique
(event, target) key makes that once per event however often the relay runs; the outbox's
unique dedupe key makes a duplicated event one event). The delivery job then calls
`flowTriggerReceive` outside any transaction, with the same lease, backoff and retry as a
webhook. As with webhooks the guarantee is at-least-once in one narrow case: a worker that dies
after Shopify took the call and before the delivery is marked sent repeats it once the lease
runs out (flowTriggerReceive has no idempotency key); every payload carries our event id
("Event ID") so a workflow can tell.

Actions: the HTTP layer verifies the request with the SDK first (`connectors.shopify.flow`);
only then is the body parsed here. The shop is the verified one (the signed body's
`shopify_domain` must name it too), the customer is the action's `customer_id`. Each run posts
once: the ledger's idempotency key is `flow:<action_run_id>` (a custom action's is the action
service's own, keyed by the run id), so Flow's retries and replays of a run change nothing.
Every property is checked before anything is written: bad input answers 4XX with nothing done.
"""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Callable
from zoneinfo import ZoneInfo

from ..domain import flow as F
from ..domain.errors import InvalidRequest, NotFound
from ..domain.member_events import TierChanged
from ..domain.ports import Clock, FlowTriggerSink, SystemClock
from ..domain.tiers import level_for, window_start
from ..storage.db import Database

TARGET = "flow"  # notifications.target of a Flow trigger delivery
ACTOR = "Shopify Flow"


class FlowTriggers:
    """The relay's and the delivery job's Flow side (`Notifier.flow`)."""

    def __init__(self, flow_for: Callable[[int], FlowTriggerSink]) -> None:
        self.flow_for = flow_for

    def fan_out(self, uow, ev, now: datetime) -> int:
        """Queue the trigger `ev` starts, in the relay's unit of work for its shop; 0 or 1."""
        trigger = F.TRIGGERS.get(ev.type)
        if trigger is None or ev.member_id is None:
            return 0
        shop = uow.once("shop", uow.notifications.shop)
        if shop is None or shop.platform != "shopify" or shop.status != "installed":
            return 0
        said = uow.once("flow_usage", uow.flow_usage.usage).get(trigger.handle)  # None: no word yet
        if trigger.needs_workflow:  # sent only where Flow said an enabled workflow uses it
            if said is not True:
                return 0
        elif said is False:  # Flow said no enabled workflow uses it
            return 0
        member = uow.members.by_id(ev.member_id)
        payload = F.trigger_payload(ev.type, ev.payload, customer_id=member.platform_customer_id if member else None,
                                    event_id=f"evt_{ev.id}")
        if payload is None:
            return 0
        if len(json.dumps(payload).encode()) >= F.MAX_PAYLOAD_BYTES:  # cannot happen with 255-char texts
            return 0
        return int(uow.notifications.queue(ref=f"event:{ev.id}", target=TARGET, topic=trigger.handle,
                                           member_id=ev.member_id, recipient=trigger.handle,
                                           payload={"handle": trigger.handle, "payload": payload},
                                           state="pending", now=now))

    def deliver(self, r) -> None:
        """Call flowTriggerReceive for a leased delivery (no transaction is open)."""
        self.flow_for(r.shop_id).flow_trigger(r.payload["handle"], r.payload["payload"])


class FlowLifecycle:
    """Flow's trigger lifecycle callbacks (https://shopify.dev/docs/apps/build/flow/track-lifecycle-events):
    Flow tells us, per shop and trigger, whether an enabled workflow uses it, newest word winning.
    A trigger Flow said nobody uses is not sent; one we have no word on is (workflows enabled
    before the callback was deployed are never announced), except a trigger marked
    `needs_workflow` (domain.flow: the ones added with the callback), sent only on Flow's word
    that an enabled workflow uses it. Flow will not let a merchant enable a
    workflow unless the callback answers 2xx promptly, so anything we cannot use is still 200."""

    def __init__(self, db: Database, shops) -> None:
        self.db, self.shops = db, shops

    def report(self, domain: str, body) -> dict:
        """Record a verified callback from `domain`. Raises InvalidRequest for a body we cannot
        read and PermissionError when it names another shop."""
        try:
            report = F.parse_lifecycle(body)
        except F.BadProperties as exc:
            raise InvalidRequest(str(exc)) from None
        if domain and report.shop_domain != domain:
            raise PermissionError("the body's shopify_domain is not the shop in the signed request")
        shop = self.shops.by_domain("shopify", report.shop_domain)
        if shop is None or report.trigger is None:
            return {"ok": True, "recorded": False}
        with self.db.uow(shop.id) as uow:
            uow.flow_usage.report(report.trigger, report.enabled, report.at)
        return {"ok": True, "recorded": True}


class FlowActions:
    """What our Flow actions do, for a request already verified as coming from `domain`."""

    def __init__(self, db: Database, shops, members, adjustments, actions, programs, tiers,
                 clock: Clock | None = None) -> None:
        self.db, self.shops, self.members = db, shops, members
        self.adjustments, self.actions, self.programs, self.tiers = adjustments, actions, programs, tiers
        self.clock = clock or SystemClock()

    def run(self, action: str, domain: str, body) -> dict:
        """Run `action` (a path of `domain.flow.ACTIONS`). Raises InvalidRequest
        (400/422: bad input, nothing done), NotFound (no such installed shop or action) or
        PermissionError (the body names another shop than the signed request)."""
        if action not in F.ACTIONS:
            raise NotFound(f"no Flow action {action!r}")
        try:
            req = F.parse_request(body)
            if req.shop_domain != domain:
                raise PermissionError("the body's shopify_domain is not the shop that signed the request")
            shop = self.shops.by_domain("shopify", domain)
            if shop is None or shop.status != "installed":
                raise NotFound("this shop has not installed the app")
            key = f"flow:{req.run_id}"
            reason_fallback = f"Shopify Flow ({action})"
            if action == "add-points":
                points, reason = F.points_of(req.properties), F.reason_of(req.properties, reason_fallback)
                member, _ = self.members.enrol(shop.id, req.customer_id)
                posted = self.adjustments.adjust(shop.id, member.id, "points", points, key=key, actor=ACTOR,
                                                 reason=reason)
                return {"ok": True, "entry_id": posted.entry_id, "replayed": posted.replayed, "points": points}
            if action == "add-store-credit":
                amount, reason = F.credit_of(req.properties), F.reason_of(req.properties, reason_fallback)
                member, _ = self.members.enrol(shop.id, req.customer_id)
                posted = self.adjustments.adjust(shop.id, member.id, "credit", amount, key=key, actor=ACTOR,
                                                 reason=reason)
                return {"ok": True, "entry_id": posted.entry_id, "replayed": posted.replayed,
                        "amount": str(amount), "currency": shop.currency}
            if action == "record-action":
                name = F.custom_action_of(req.properties)
                program = self.programs.current(shop.id).program
                if program.actions.custom.get(name) is None:
                    raise InvalidRequest(f"the program has no custom action {name!r}",
                                         known=", ".join(sorted(program.actions.custom)) or "none")
                out = self.actions.award(shop.id, req.customer_id, name, f"flow:{req.run_id}")
                return {"ok": True, "entry_id": out.entry_id, "replayed": out.replayed, "points": out.points,
                        "refused": out.refused}
            return self._set_tier(shop, req)
        except F.BadProperties as exc:
            raise InvalidRequest(str(exc)) from None

    # -- set tier ---------------------------------------------------------------------------
    def _set_tier(self, shop, req: F.ActionRequest) -> dict:
        """Place a member in a tier now, as if they had just reached it, with a reason (a VIP
        grant). Minimal by design: there is no lasting override; from then on the program's
        rules apply as to any member: a tier above what they earned is kept as the downgrade
        policy keeps any tier (for good, to the window's end, or through the grace period). A
        tier below what they have earned would be undone at the next evaluation, so it is
        refused. No entry reward is paid. A replay (the member already in the tier) changes nothing."""
        name = req.properties.get("tier")
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequest("properties.tier must be the name of one of the program's tiers")
        reason = F.reason_of(req.properties, "set by Shopify Flow")
        pv = self.programs.current(shop.id)
        program = pv.program
        if not program.tiers.enabled:
            raise InvalidRequest("this program has no tiers")
        names = [lvl.name for lvl in program.tiers.levels]
        wanted = next((n for n in names if n.casefold() == name.strip().casefold()), None)
        if wanted is None:
            raise InvalidRequest(f"no tier named {name.strip()[:64]!r}", tiers=", ".join(names))
        member, _ = self.members.enrol(shop.id, req.customer_id)  # after every check of the input
        now = self.clock.now()
        with self.db.uow(shop.id) as uow:
            uow.members.balance(member.id, lock=True)
            m = uow.members.by_id(member.id)
            if m.tier == wanted:
                return {"ok": True, "tier": wanted, "changed": False}
            if program.tiers.basis == "points_earned":
                start = window_start(program.tiers, now, ZoneInfo(program.timezone))
                value = Decimal(uow.members.with_points_earned(member.id, start).points_earned)
            else:
                value = self.tiers.qualifying_value(uow.conn, program, shop.id, member.id, now)
            earned = level_for(program.tiers, value).name
            if names.index(wanted) < names.index(earned):
                raise InvalidRequest(f"this member has earned {earned}; a lower tier would be undone at once")
            uow.members.update_profile(member.id, now, tier=wanted, tier_since=now, tier_grace_until=None)
            up = m.tier not in names or names.index(wanted) > names.index(m.tier)
            uow.collect(TierChanged(shop_id=shop.id, member_id=member.id, at=now, from_tier=m.tier,
                                    to_tier=wanted, reason=reason, up=up, value=value,
                                    cause=f"flow:{req.run_id}"[:200], program_version=pv.version))
        return {"ok": True, "tier": wanted, "changed": True}
