"""Applying neutral platform events to the core, and the inbox handler that turns a stored
delivery into them. Connectors translate; this module decides what each event means."""
from __future__ import annotations

import hashlib
from typing import Callable

from ..domain.errors import InvalidRequest
from ..domain.events import (AppUninstalled, CollectionChanged, CustomerDataRequest, CustomerRedact,
                             CustomerSeen, OrderSeen, ProductGone, ProductSeen, RefundSeen, ShopRedact)
from ..domain.ports import Clock, SystemClock
from ..storage.db import Database
from .actions import ActionService
from .inbox import Ignored, Message
from .members import Members, export_member
from .orders import OrderService
from .shops import Shops

PRIVACY = {"customers/data_request", "customers/redact", "shop/redact"}


def guest_key(shop_id: int, email) -> str | None:
    """What tells a guest's orders apart in the repeat-purchase figures: a hash of the shop and
    the e-mail the order gives (None without one)."""
    if not isinstance(email, str) or not email.strip():
        return None
    return hashlib.sha256(f"{shop_id}:{email.strip().lower()}".encode()).hexdigest()[:32]


class PlatformSync:
    catalog = None  # services.catalog.Catalog: product facts for category rules (set by the runtime)
    segments = None  # services.segments.SegmentService: the customer's tags (set by the runtime)

    def __init__(self, db: Database, shops: Shops, members: Members, orders: OrderService,
                 actions: ActionService, cart=None, clock: Clock | None = None, referrals=None) -> None:
        self.db, self.shops, self.members = db, shops, members
        self.orders, self.actions, self.cart, self.clock = orders, actions, cart, clock or SystemClock()
        self.referrals = referrals

    def apply(self, shop_id: int, event) -> str:
        if isinstance(event, OrderSeen):
            if self.catalog is not None and event.paid and not event.cancelled:
                # What the products are may have to be asked of the platform: before the unit
                # of work, never while it holds locks (the posting then finds them cached).
                self.catalog.for_posting(shop_id, event.order)
            with self.db.uow(shop_id) as uow:  # one delivery, one transaction: all of it lands, or none
                if uow.owns_transaction:
                    # Our own transaction, and no step of an order catches another's failure and
                    # goes on: the steps join it without savepoints; a failure rolls all back and
                    # the inbox runs the delivery again.
                    uow.flat()
                return self._order(shop_id, event)
        if isinstance(event, (ProductSeen, ProductGone, CollectionChanged)):
            if self.catalog is None:
                raise Ignored("no product catalog in this process")
            if isinstance(event, ProductSeen):
                return self.catalog.on_product(shop_id, event)
            if isinstance(event, ProductGone):
                return self.catalog.on_gone(shop_id, event)
            return self.catalog.on_collection(shop_id, event)
        if isinstance(event, RefundSeen):
            return f"refund {event.refund.refund_id}: " + self.orders.on_refund(shop_id, event.order_id, event.refund).status
        if isinstance(event, CustomerSeen):
            member, created = self.members.enrol(shop_id, event.customer_id, email=event.email, name=event.name,
                                                 locale=event.locale)
            out = f"member {member.id} {'enrolled' if created else 'updated'}"
            if event.birthday is not None and event.birthday != member.birthday:
                try:  # the platform's record is the shop's: it may correct a date (audited)
                    self.members.set_birthday(shop_id, event.customer_id, event.birthday, source="platform",
                                              actor="platform customer record")
                    out += ", birthday set"
                except InvalidRequest as exc:
                    out += f", birthday ignored: {exc.message}"
            if event.tags is not None and self.segments is not None:
                out += ", " + (self.segments.set_tags(shop_id, event.customer_id, event.tags, event.tags_at) or "")
            if event.created:
                award = self.actions.award(shop_id, event.customer_id, "signup", event.customer_id)
                out += f", welcome {award.points}" if not award.refused else f", {award.refused}"
            return out
        if isinstance(event, AppUninstalled):
            self.shops.uninstall(shop_id)
            return "uninstalled; data kept until shop/redact"
        if isinstance(event, CustomerDataRequest):
            return self._export(shop_id, event)
        if isinstance(event, CustomerRedact):
            return self._redact(shop_id, event)
        if isinstance(event, ShopRedact):
            return self._erase(shop_id)
        raise InvalidRequest(f"unknown event {type(event).__name__}")

    def _order(self, shop_id: int, event: OrderSeen) -> str:
        """Refunds, the codes' settlement, cancellation or earning, then the referral: in the
        caller's unit of work (each step joins it: see `apply`)."""
        o = event.order
        notes = [self.orders.on_refund(shop_id, o.order_id, r).status for r in event.refunds]
        if event.codes and (event.paid or event.cancelled) and self.cart is not None:
            # Settle before cancelling, so a cancellation seen first still returns the points.
            notes += self.cart.settle(shop_id, o.order_id, o.customer_id, event.codes, cancelled=event.cancelled)
        if event.cancelled:
            notes.append(self.orders.on_cancel(shop_id, o.order_id).status)
        elif event.paid:
            guest = guest_key(shop_id, (event.facts or {}).get("email")) if not o.customer_id else None
            notes.append(self.orders.on_paid(shop_id, o, fulfilled=event.fulfilled, guest_key=guest,
                                             email=event.email, name=event.name, locale=event.locale).status)
        else:
            notes.append(self.orders.note(shop_id, o).status)
        if event.customer_tags is not None and o.customer_id and self.segments is not None:
            told = self.segments.set_tags(shop_id, o.customer_id, event.customer_tags, event.customer_tags_at)
            if told:  # a member (enrolled by the order, or before): the customer's tags as the order shows them
                notes.append(told)
        if self.referrals is not None and o.customer_id and not o.test:
            notes += self.referrals.on_order(shop_id, o.order_id, o.customer_id, event.codes,
                                             event.facts or {}, paid=event.paid and not event.cancelled)
        return f"order {o.order_id}: " + ", ".join(notes)

    # -- privacy ---------------------------------------------------------------------------
    def _export(self, shop_id: int, event: CustomerDataRequest) -> str:
        with self.db.uow(shop_id) as uow:
            m = uow.members.by_customer(event.customer_id)
            data = export_member(uow, m, event.customer_id)
            uow.privacy.record("data_request", event.customer_id,
                               {"request_id": event.request_id, "orders": list(event.orders)}, data, self.clock.now())
        return f"export for customer {event.customer_id} ready for the merchant"

    def _redact(self, shop_id: int, event: CustomerRedact) -> str:
        alias = "redacted-" + hashlib.sha256(f"{shop_id}:{event.customer_id}".encode()).hexdigest()[:24]
        scrubbed = 0
        with self.db.uow(shop_id) as uow:
            known = uow.members.by_customer(event.customer_id)
            needles = [n.encode() for n in {event.customer_id, event.email, known and known.email, *event.orders} if n]
            done = uow.privacy.pseudonymise(event.customer_id, alias, self.clock.now())
            uow.privacy.rename_code_user(event.customer_id, alias)  # who used another customer's code
            engagement: dict = {}
            if known is not None:  # the display name they chose and what they wrote in the survey
                uow.leaderboard.remove(known.id)
                uow.survey.scrub(known.id)
                engagement = uow.privacy.forget_engagement(known.id)  # segments, profile, open challenges
            # Raw deliveries may carry the customer's personal data: keep the rows, drop the bodies.
            # (Deliveries still waiting keep theirs: they have yet to be processed.)
            for row in uow.privacy.processed_deliveries():
                if any(n in bytes(row.payload) for n in needles):
                    uow.privacy.scrub_delivery(row.id)
                    scrubbed += 1
            exports = self._scrub_exports(uow, event.customer_id, alias)
            uow.privacy.record("customer_redact", event.customer_id, {"orders": list(event.orders)},
                               {"members": done, "deliveries_scrubbed": scrubbed, "exports_scrubbed": exports,
                                **{f"{k}_erased": v for k, v in engagement.items()}},
                               self.clock.now())
        return (f"customer pseudonymised as {alias}; ledger kept; {scrubbed} deliveries scrubbed; "
                f"{exports} stored exports scrubbed")

    def _scrub_exports(self, uow, customer_id: str, alias: str) -> int:
        """Earlier data-request exports hold the customer's e-mail, balances, ledger and orders:
        keep that a request was answered (its id, when), drop what it contained, and refer to the
        customer by the alias the books now use."""
        rows = uow.privacy.data_requests(customer_id)
        for row in rows:
            request = {"request_id": (row.request or {}).get("request_id"), "redacted": True}
            uow.privacy.rewrite_request(row.id, customer_id=alias, request=request,
                                        result={"customer_id": alias, "member": None,
                                                "redacted_at": self.clock.now().isoformat()})
        return len(rows)

    def _erase(self, shop_id: int) -> str:
        with self.db.uow(shop_id) as uow:
            uow.privacy.record("shop_redact", None, {}, {"members": uow.privacy.member_count()}, self.clock.now())
            uow.privacy.erase_shop()
        return "shop erased"


def make_handler(translate: Callable[[str, bytes], list], sync: PlatformSync, shops: Shops,
                 prepare: Callable[[int, str, bytes], bytes] | None = None):
    """Inbox handler for one platform: translate the stored delivery (after `prepare`, which
    may add what the store has and the delivery lacks), apply its events."""
    def handle(message: Message) -> str:
        shop = shops.recent(message.shop_id)
        if shop is None:
            raise Ignored("shop no longer exists")
        if shop.status != "installed" and message.topic not in PRIVACY | {"app/uninstalled"}:
            raise Ignored("shop uninstalled: not processed")
        try:
            payload = prepare(message.shop_id, message.topic, bytes(message.payload)) if prepare else message.payload
            events = translate(message.topic, payload)
        except ValueError as exc:
            raise InvalidRequest(str(exc)[:300]) from None
        except RecursionError:  # a body too deep to parse is a bad payload, never a crash
            raise InvalidRequest("the payload nests too deeply to be read") from None
        if not events:
            raise Ignored(f"topic {message.topic} needs nothing")
        return "; ".join(sync.apply(message.shop_id, e) for e in events)[:500]

    return handle
