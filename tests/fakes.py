"""In-memory stand-ins for the storage layer, for service tests that need no database.

`FakeDb().uow(shop_id)` gives a `FakeUnitOfWork` with the surface the services and the event
handlers use of `storage.uow.UnitOfWork`:

- a context manager: when the block ends without an error, the handlers of the collected events
  run through the given dispatch (a `services.handlers.Bus`), until none are left (a handler may
  collect more); then the unit commits (`committed`). An error, in the block or in a handler,
  rolls it back (`rolled_back`): the outbox rows and member changes it made are undone;
- `shop_id`, `collect(event)` (an outbox event is kept once per shop and dedupe key: False when
  it was already there, and it is then not handled again), `events`, `shop(other_id)`;
- `members` and `outbox` repositories scoped to the shop (`NoShop` without one), holding their
  rows in the `FakeDb`, so that what one unit commits the next one sees.

It has no connection (`conn` is None): code that still reads SQL through `uow.conn` needs a
real database, or that read stubbed out by the test. Units do not nest.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Callable

from plugin_app.domain.member_events import DomainEvent, OutboxEvent
from plugin_app.storage.uow import NoShop


class FakeMembersRepo:
    """The shop's members: the `MembersRepo` methods the services under test call. Reads return
    a copy, as a database row is a snapshot: a later update does not change what was read."""

    def __init__(self, db: "FakeDb", shop_id: int) -> None:
        self.db, self.shop_id = db, shop_id

    def _stored(self, member_id: int):
        row = self.db.members.get(member_id)
        return row if row is not None and row.shop_id == self.shop_id else None

    def by_id(self, member_id: int):
        return copy.copy(self._stored(member_id))

    def by_customer(self, platform_customer_id: str):
        return copy.copy(next((m for m in self.db.members.values()
                               if m.shop_id == self.shop_id and m.platform_customer_id == platform_customer_id),
                              None))

    def create(self, platform_customer_id: str, email: str | None, birthday, currency: str,
               now: datetime) -> tuple[int, bool]:
        found = self.by_customer(platform_customer_id)
        if found is not None:
            return found.id, False
        member_id = next(self.db.ids)
        self.db.members[member_id] = SimpleNamespace(
            id=member_id, shop_id=self.shop_id, platform_customer_id=platform_customer_id, email=email,
            birthday=birthday, name=None, currency=currency, tier=None, tier_since=None,
            tier_grace_until=None, created_at=now, updated_at=now)
        return member_id, True

    def update_profile(self, member_id: int, now: datetime, **fields: Any) -> None:
        row = self._stored(member_id)
        if row is not None and fields:
            for name, value in {**fields, "updated_at": now}.items():
                setattr(row, name, value)

    def with_points_earned(self, member_id: int, since):
        """The member with the points earned in the window, as given to the fake (`points_earned`)."""
        row = self.by_id(member_id)
        if row is not None:
            row.points_earned = self.db.points_earned.get(member_id, 0)
        return row

    def ids_after(self, last: int, limit: int) -> list[int]:
        return sorted(i for i, m in self.db.members.items() if m.shop_id == self.shop_id and i > last)[:limit]


class FakeOutboxRepo:
    """The shop's outbox rows, as `OutboxRepo.for_member` returns them (newest first)."""

    def __init__(self, db: "FakeDb", shop_id: int) -> None:
        self.db, self.shop_id = db, shop_id

    def for_member(self, member_id: int, limit: int = 50) -> list[dict]:
        rows = [r for r in self.db.outbox if r["shop_id"] == self.shop_id and r["member_id"] == member_id]
        return [{"id": r["id"], "type": r["type"], "payload": r["payload"], "created_at": r["created_at"].isoformat()}
                for r in reversed(rows)][:limit]


_REPOS = {"members": FakeMembersRepo, "outbox": FakeOutboxRepo}


class FakeUnitOfWork:
    conn = None  # no SQL here

    def __init__(self, db: "FakeDb", shop_id: int | None = None,
                 dispatch: Callable[[Any, DomainEvent], None] | None = None) -> None:
        self.db, self.shop_id, self._dispatch = db, shop_id, dispatch
        self._events: list[DomainEvent] = []
        self._handled = 0
        self.committed = self.rolled_back = False
        self._saved: tuple[dict, list] | None = None

    def __enter__(self) -> "FakeUnitOfWork":
        # What a rollback restores: the rows as they were when the block began.
        self._saved = (copy.deepcopy(self.db.members), list(self.db.outbox))
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if exc is None:
            try:
                while self._handled < len(self._events):
                    event = self._events[self._handled]
                    self._handled += 1
                    if self._dispatch is not None:
                        self._dispatch(self, event)
            except BaseException:
                self._rollback()
                raise
            self.committed = True
            return None
        self._rollback()
        return None

    def _rollback(self) -> None:
        self.db.members, self.db.outbox = self._saved
        self.rolled_back = True

    def collect(self, event: DomainEvent) -> bool:
        if isinstance(event, OutboxEvent):
            row = event.outbox_row()
            if any(r["shop_id"] == row["shop_id"] and r["dedupe_key"] == row["dedupe_key"] for r in self.db.outbox):
                return False
            self.db.outbox.append({**row, "id": next(self.db.ids)})
        self._events.append(event)
        return True

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        return tuple(self._events)

    def __getattr__(self, name: str):
        cls = _REPOS.get(name)
        if cls is None:
            raise AttributeError(name)
        if self.shop_id is None:
            raise NoShop(f"the {name} repository needs a unit of work for one shop")
        return cls(self.db, self.shop_id)

    def shop(self, shop_id: int) -> "FakeUnitOfWork":
        return FakeUnitOfWork(self.db, shop_id, self._dispatch)


@dataclass
class FakeDb:
    """Stands where the services take a `storage.db.Database`: `uow(shop_id)` and `dispatch`.
    Keeps every unit it handed out (`uows`), so a test can look at what each collected."""
    dispatch: Callable[[Any, DomainEvent], None] | None = None
    members: dict[int, SimpleNamespace] = field(default_factory=dict)
    outbox: list[dict] = field(default_factory=list)
    uows: list[FakeUnitOfWork] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(1))
    points_earned: dict[int, Any] = field(default_factory=dict)  # member id -> points in the tier window

    def uow(self, shop_id: int | None = None, *, savepoint: bool = True) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self, shop_id, self.dispatch)
        self.uows.append(uow)
        return uow

    def open_connection(self):
        return None

    def outbox_of(self, type_: str) -> list[dict]:
        return [r for r in self.outbox if r["type"] == type_]


@dataclass
class FakePrograms:
    """`Programs.current(shop_id)`: one program for every shop, at a version."""
    program: Any
    version: int = 1

    def current(self, shop_id: int) -> SimpleNamespace:
        return SimpleNamespace(program=self.program, version=self.version)


@dataclass
class FakeLedger:
    """Records the postings a service asks for, instead of making them."""
    calls: list[tuple[str, tuple, dict]] = field(default_factory=list)

    def earn(self, *args, **kwargs):
        self.calls.append(("earn", args, kwargs))
