"""The unit of work: one use case, one transaction, seen in one `with` block.

    with db.uow(shop_id) as uow:
        member = uow.members.by_customer("c-1")
        ...
        uow.collect(SomethingHappened(...))

It owns the transaction (commit when the block ends, rollback when it raises), hands out
repositories built for its shop (every statement they issue carries the shop's id), and collects
the typed domain events of what happened. When the outermost unit of work of the transaction
ends without an error, the handlers registered for those events run (`services.handlers`),
inside the same transaction, just before it commits: a rule that must follow a posting (tier
evaluation, notifications) lives in one handler, and commits or rolls back with the posting that
caused it. A direct posting (the admin's adjustment) is its own outermost unit of work, so its
handlers have run when the call returns. Events meant for people and other systems are
written to the outbox (the `events` table) as they are collected, once per dedupe key.

A unit of work entered while this thread already holds a transaction on the same database
joins it as a savepoint: a use case composes others (an order's earning posts to the ledger,
which evaluates the tier, which may pay a tier's entry reward) without anyone passing a
connection along. Events collected inside a savepoint that is rolled back are dropped with it.
A read that needs no savepoint of its own joins with `savepoint=False` (no extra round trips).
`memo` is one dict per transaction, for what a use case reads once (the program in force).
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterable

from sqlalchemy.engine import Connection

from ..domain.member_events import DomainEvent, OutboxEvent
from . import tables as t
from .audit_repo import AuditRepo
from .backfills_repo import BackfillsDue, BackfillsRepo
from .simulations_repo import SimulationsDue, SimulationsRepo
from .customer_fields_repo import CustomerFieldsRepo
from .export_repo import MemberExportRepo
from .inbox_repo import InboxRepo
from .workers_repo import WorkersRepo
from .reconcile_repo import ReconcileRepo
from .catalog_repo import CatalogRepo
from .jobs_repo import JobsRepo
from .notifications_repo import NotificationsRepo, WebhookEndpointsRepo
from .privacy_repo import PrivacyRepo
from .refunds_repo import AppliedRefundsRepo
from .redemptions_repo import RedemptionsRepo
from .referrals_repo import LandingsRepo, ReferralCodesRepo, ReferralFactsRepo, ReferralsRepo
from .repos import DueWork, LedgerRepo, MembersRepo, OutboxRepo, insert_ignore
from .achievements_repo import AchievementsRepo
from .leaderboard_repo import LeaderboardRepo
from .survey_repo import SurveyRepo
from .analytics_repo import RollupsRepo
from .links_repo import LinkUsesRepo
from .flow_repo import FlowUsageRepo
from .imports_repo import ImportsRepo
from .member_list_repo import MemberListRepo
from .orders_repo import OrdersRepo
from .programs_repo import ProgramsRepo
from .shops_repo import ShopsRepo
from .store_credit_repo import StoreCreditRepo
from .targeting_repo import TargetingRepo
from .widget_repo import WidgetRepo

Dispatch = Callable[["UnitOfWork", DomainEvent], None]

_REPOS = {"members": MembersRepo, "ledger": LedgerRepo, "outbox": OutboxRepo}
_REPOS["member_export"] = MemberExportRepo
_REPOS["redemptions"] = RedemptionsRepo
_REPOS["catalog"] = CatalogRepo
_REPOS["referrals"] = ReferralsRepo
_REPOS["referral_codes"] = ReferralCodesRepo
_REPOS["referral_landings"] = LandingsRepo
_REPOS["referral_facts"] = ReferralFactsRepo
_REPOS["orders"] = OrdersRepo
_REPOS["programs"] = ProgramsRepo
_REPOS["link_uses"] = LinkUsesRepo
_REPOS["flow_usage"] = FlowUsageRepo
_REPOS["store_credit"] = StoreCreditRepo  # the mirror to Shopify's native store credit
_REPOS["member_list"] = MemberListRepo  # the admin's list of members and its export
_REPOS["imports"] = ImportsRepo  # switching in: files, staged rows, plans and reports
# The tenants themselves (`shops` has no shop_id: it is the tenant): not shop-scoped, so there in
# every unit of work, with or without a shop.
_UNSCOPED: dict[str, Callable[[Connection], Any]] = {"shops": ShopsRepo}
_UNSCOPED["rollups"] = RollupsRepo  # CROSS-TENANT: the analytics fold over every shop's ledger

# Not shop-scoped, so there in every unit of work, with or without a shop (infrastructure that
# spans shops; a method for one shop's rows takes the shop's id explicitly).
_UNSCOPED["inbox"] = InboxRepo  # CROSS-TENANT: the durable inbox, one queue for every shop
_UNSCOPED["workers"] = WorkersRepo  # the workers' heartbeats (a worker serves every shop)
_UNSCOPED["reconcile"] = ReconcileRepo  # watermarks per shop; its scan of the shops is CROSS-TENANT
_UNSCOPED["due"] = DueWork  # CROSS-TENANT: lots to vest or expire, stale holds
_UNSCOPED["jobs"] = JobsRepo  # CROSS-TENANT: the outbox relay, the delivery lease, customer-field shops
_REPOS["notifications"] = NotificationsRepo
_REPOS["webhook_endpoints"] = WebhookEndpointsRepo
_REPOS["customer_fields"] = CustomerFieldsRepo
_REPOS["widget"] = WidgetRepo
_REPOS["privacy"] = PrivacyRepo
_REPOS["applied_refunds"] = AppliedRefundsRepo
_REPOS["backfills"] = BackfillsRepo  # history backfills and their progress
_UNSCOPED["backfills_due"] = BackfillsDue  # CROSS-TENANT: running backfills to resume
_REPOS["achievements"] = AchievementsRepo  # badges earned, members in challenges (0024)
_REPOS["leaderboard"] = LeaderboardRepo  # who opted in under which name, and the board (0026)
_REPOS["survey"] = SurveyRepo  # answers to the feedback survey (0026)
_REPOS["targeting"] = TargetingRepo  # segment membership and names, for targeting (issue 20)
_REPOS["simulations"] = SimulationsRepo  # the program simulator's saved runs (issue 21)
_UNSCOPED["simulations_due"] = SimulationsDue  # CROSS-TENANT: stalled simulations to run again
_REPOS["audit"] = AuditRepo  # one shop's books here; `loyalty audit` builds it on its own connection


QUIET = "quiet"  # memo key: see UnitOfWork.quiet
FLAT = "flat"  # memo key: see UnitOfWork.flat


class NoShop(RuntimeError):
    """A shop-scoped repository was asked of a unit of work opened for no shop."""


class UnitOfWork:
    def __init__(self, db, shop_id: int | None = None, dispatch: Dispatch | None = None, *,
                 savepoint: bool = True) -> None:
        if shop_id is not None and (not isinstance(shop_id, int) or isinstance(shop_id, bool)):
            raise TypeError("shop_id must be an int")
        self.db, self.shop_id, self._dispatch, self._wants_savepoint = db, shop_id, dispatch, savepoint
        self.conn: Connection | None = None
        self._root: UnitOfWork | None = None
        self._events: list[DomainEvent] = []  # the root's: every nested unit of work adds to it
        self._last: list = []  # the root's: writes put off to the end of the transaction (`at_end`)
        self._handled = 0
        self._cm = self._savepoint = None
        self._mark = self._last_mark = 0
        self._repos: dict[str, Any] = {}
        self.memo: dict = {}  # per transaction: what a use case read once (the root's, shared)

    # -- the transaction -----------------------------------------------------------------
    def __enter__(self) -> "UnitOfWork":
        outer = self.db.open_connection()
        root = _current_root(self.db)
        if outer is not None:
            self.conn = outer
            if self._wants_savepoint and not (root is not None and root.conn is outer and root.memo.get(FLAT)):
                self._savepoint = outer.begin_nested()
        else:
            self._cm = self.db.transaction()
            self.conn = self._cm.__enter__()
        if root is not None and root.conn is self.conn:
            self._root, self.memo = root, root.memo
            self._mark = len(root._events)
            self._last_mark = len(root._last)
        else:
            _push_root(self.db, self)
        return self

    def __exit__(self, kind, exc, tb) -> bool | None:
        try:
            if exc is None and self._root is None:
                self._handle()  # may raise: then the whole block rolls back
                for write in self._last:  # last, just before the commit
                    write(self.conn)
        except BaseException as failure:
            kind, exc, tb = type(failure), failure, failure.__traceback__
            self._close(kind, exc, tb)
            raise
        return self._close(kind, exc, tb)

    def _close(self, kind, exc, tb):
        if self._root is None:
            _pop_root(self.db, self)
        elif exc is not None and self._savepoint is not None:
            del self._root._events[self._mark:]  # what this block collected is undone with it
            del self._root._last[self._last_mark:]
        if self._savepoint is not None:
            if exc is None:
                self._savepoint.commit()
            elif self._savepoint.is_active:
                self._savepoint.rollback()
            return None
        if self._cm is not None:
            return self._cm.__exit__(kind, exc, tb)
        return None

    # -- events --------------------------------------------------------------------------
    def collect(self, event: DomainEvent) -> bool:
        """Record that something happened. An outbox event is written at once (the outbox
        keeps it once per dedupe key: False when it was already there, and then its handlers
        do not run again); every new event's handlers run when the outermost unit of work of
        this transaction ends, before it commits."""
        if isinstance(event, OutboxEvent):
            if self.memo.get(QUIET):  # see `quiet`: nothing is told of this transaction's work
                return False
            if not insert_ignore(self.conn, t.events, event.outbox_row(), ["shop_id", "dedupe_key"]):
                return False
        (self._root or self)._events.append(event)
        return True

    def at_end(self, write) -> None:
        """Run `write(conn)` at the end of this transaction, after the handlers, just before it
        commits (undone with a block that rolls back). For a shared hot row — a shop's rollup of
        the day — so its row lock is held for one statement, not for the rest of the work: every
        worker posting that shop's orders waited for it."""
        (self._root or self)._last.append(write)

    def quiet(self) -> None:
        """Tell nobody of what this transaction does: its outbox events (e-mails to shoppers,
        merchant webhooks, Flow triggers) are dropped, its in-process handlers (tiers) still run.
        For a history backfill, whose past orders are not news to anyone."""
        self.memo[QUIET] = True

    def once(self, what, read):
        """`read()` the first time this transaction asks for `what` (any hashable) of this unit's
        shop, the same answer after that (the relay: every event of a shop reads the shop's row,
        its endpoints and Flow's word on our triggers, an order's events the same member, none
        of which the relay's transaction changes; the shop's program and currency for any use
        case). What the transaction itself then changes, it `forget`s."""
        key = ("once", what, self.shop_id)
        memo = self.memo
        if key not in memo:
            memo[key] = read()
        return memo[key]

    def forget(self, what) -> None:
        """What `once` keeps of `what` is read again next time (this transaction changed it)."""
        self.memo.pop(("once", what, self.shop_id), None)

    def flat(self) -> None:
        """Say that nothing in this transaction catches a failure of a nested unit of work and
        carries on: every failure rolls the whole transaction back. Nested units then join it
        without a savepoint of their own (SAVEPOINT and RELEASE: two round trips each; an inbox
        order went through nine). A unit that wants to retry after a database error
        (`retryable`) cannot, and raises instead. For the inbox's orders: a delivery lands
        whole or not at all, and a failed one is run again."""
        self.memo[FLAT] = True

    @property
    def is_flat(self) -> bool:
        """Whether `flat` was said of this transaction (no nested unit is rolled back alone, so
        what one unit wrote stays for the rest of the transaction or goes with all of it)."""
        return bool(self.memo.get(FLAT))

    @property
    def owns_transaction(self) -> bool:
        """Whether this unit of work began the transaction (rather than joining a caller's)."""
        return self._root is None

    @property
    def retryable(self) -> bool:
        """Whether a database error in this unit leaves the transaction usable for another try:
        it is its own transaction, or a savepoint of one."""
        return self._root is None or self._savepoint is not None

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        return tuple((self._root or self)._events)

    def _handle(self) -> None:
        """Run the handlers of new events until none are left (a handler may collect more)."""
        while self._handled < len(self._events):
            event = self._events[self._handled]
            self._handled += 1
            if self._dispatch is not None:
                with UnitOfWork(self.db, event.shop_id, self._dispatch, savepoint=False) as uow:
                    self._dispatch(uow, event)  # a failure rolls the whole transaction back

    # -- repositories --------------------------------------------------------------------
    def __getattr__(self, name: str):
        unscoped = _UNSCOPED.get(name)
        if unscoped is not None:
            repo = self._repos.get(name)
            if repo is None:
                repo = self._repos[name] = unscoped(self.conn)
            return repo
        cls = _REPOS.get(name)
        if cls is None:
            raise AttributeError(name)
        if self.shop_id is None:
            raise NoShop(f"the {name} repository needs a unit of work for one shop")
        repo = self._repos.get(name)
        if repo is None:
            repo = self._repos[name] = cls(self.conn, self.shop_id)
        return repo

    def shop(self, shop_id: int) -> "UnitOfWork":
        """A unit of work for another shop in this same transaction (periodic jobs that walk
        every shop): a savepoint, with repositories of that shop."""
        return UnitOfWork(self.db, shop_id, self._dispatch)


_roots = threading.local()


def _current_root(db) -> UnitOfWork | None:
    stack = getattr(_roots, "stack", None)
    return stack[-1] if stack and stack[-1].db is db else None


def _push_root(db, uow: UnitOfWork) -> None:
    if not hasattr(_roots, "stack"):
        _roots.stack = []
    _roots.stack.append(uow)


def _pop_root(db, uow: UnitOfWork) -> None:
    stack = _roots.stack
    if stack and stack[-1] is uow:
        stack.pop()


def collect_all(uow: UnitOfWork, events: Iterable[DomainEvent]) -> int:
    return sum(uow.collect(e) for e in events)
