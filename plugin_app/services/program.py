"""The shop's program document: validated on write, every change a new version with its
author; the current version is the newest. Restoring copies an old version as a new one."""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime

from pydantic import TypeAdapter, ValidationError

from .. import i18n
from ..domain.errors import InvalidRequest, NotFound, VersionConflict
from ..domain.notifications import KINDS, legacy_email
from ..domain.ports import Clock, SystemClock
from ..domain.program import Program
from ..domain.targeting import segment_refs
from ..i18n import N_
from ..storage.db import Database
from ..storage.uow import UnitOfWork

ADAPTER = TypeAdapter(Program)


class ProgramInvalid(InvalidRequest):
    code = "invalid_program"

    def __init__(self, fields: list[dict]) -> None:
        super().__init__("the program document is not valid")
        self.fields = fields


def field_errors(exc: ValidationError) -> list[dict]:
    """One message per bad field; `__post_init__` messages name their field as 'name: …'."""
    out = []
    for err in exc.errors():
        path = [str(p) for p in err["loc"]]
        message = err["msg"].removeprefix("Value error, ")
        head, sep, rest = message.partition(": ")
        if sep and head.replace("_", "").isalnum() and " " not in head:
            path.append(head)
            message = rest
        out.append({"field": ".".join(path) or "program", "message": message})
    return out


def upgrade(document: dict) -> dict:
    """An older document's fields in today's shape, so stored versions and API clients written
    against them keep working: emails' `subject_en`/`body_en`/`subject_it`/`body_it` become the
    per-language `subject` and `body` maps. Anything else is left to the parser to judge."""
    notifications = document.get("notifications")
    if not isinstance(notifications, dict):
        return document
    upgraded = {k: legacy_email(v) if k in KINDS else v for k, v in notifications.items()}
    return {**document, "notifications": upgraded} if upgraded != notifications else document


def parse(document: object) -> Program:
    if not isinstance(document, dict):
        raise ProgramInvalid([{"field": "program", "message": "must be a JSON object"}])
    try:
        return ADAPTER.validate_python(upgrade(document))
    except ValidationError as exc:
        raise ProgramInvalid(field_errors(exc)) from None


def dump(program: Program) -> dict:
    return ADAPTER.dump_python(program, mode="json")


def default_program(timezone: str, currency: str | None) -> Program:
    """A new shop's program: the domain's defaults, its reward named in every shipped language
    with its value in the shop's currency ("€5.00 off your order", "5,00 € di sconto sull'ordine")."""
    program = Program(timezone=timezone)
    if not currency or not program.rewards:
        return program
    first = program.rewards[0]
    name = N_("%(amount)s off your order")

    def said(lang: str) -> str:
        t = i18n.translator(lang)
        return t.gettext(name, amount=t.money(first.amount, currency))

    named = replace(first, name=said(i18n.DEFAULT), names={lang: said(lang) for lang in i18n.LOCALES[1:]})
    return replace(program, rewards=[named, *program.rewards[1:]])


def ensure_default(uow: UnitOfWork, now: datetime, timezone: str | None = None,
                   currency: str | None = None) -> None:
    """Give the unit of work's shop its default program as version 1 unless it has one. Shops
    get it when they register (`Shops.register`); for older shops the first reader makes it.
    Never locks the shop row: postings run this inside their own transaction, and every insert
    that references the shop shares that row (a FOR UPDATE there deadlocked a new shop's
    concurrent first postings). Two first readers race on the (shop, version) key; one wins."""
    if timezone is None:
        timezone = uow.shops.timezone(uow.shop_id)
        if timezone is None:
            raise NotFound("shop not found")
    if currency is None:
        currency = uow.shops.currency(uow.shop_id)
    uow.programs.add_first(dump(default_program(timezone, currency)), now)


def check_segments(uow: UnitOfWork, program: Program) -> None:
    """Every segment the program names (rewards, early access, campaigns, e-mails) is one of this
    shop's: another shop's id, or one deleted, is a field error like an unknown tier."""
    refs = segment_refs(program)
    if not refs:
        return
    known = uow.targeting.names(list(refs))
    fields = [{"field": path, "message": f"unknown segment {sid}: this shop has no segment with this id"}
              for sid, places in sorted(refs.items()) if sid not in known for path, _ in places]
    if fields:
        raise ProgramInvalid(fields)


@dataclass(frozen=True)
class ProgramVersion:
    version: int
    program: Program
    author: str
    created_at: datetime
    note: str | None = None
    restored_from: int | None = None


class Programs:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db, self.clock = db, clock or SystemClock()
        self._cache: dict[tuple[int, int], Program] = {}
        self._current_cache: dict[int, tuple[float, ProgramVersion]] = {}
        self._lock = threading.Lock()
        # Called with the shop's id after a saved or restored version changed the time zone (the
        # runtime's: the analytics rollups rebuilt on the new zone's days, `Analytics.rebuild_later`).
        self.on_timezone_change = None

    def _zone_changed(self, uow: UnitOfWork, before: Program, after: Program) -> bool:
        """Whether this save moves the shop to another time zone; if so, its analytics rollups
        are marked for a rebuild in the same transaction (the dashboard says so at once)."""
        if before.timezone == after.timezone:
            return False
        uow.rollups.request_rebuild(uow.shop_id)
        return True

    def _after_zone_change(self, shop_id: int) -> None:
        if self.on_timezone_change is not None:
            self.on_timezone_change(shop_id)

    def _row_to_version(self, shop_id: int, row) -> ProgramVersion:
        key = (shop_id, row.version)
        program = self._cache.get(key)
        if program is None:
            program = parse(row.document)
            with self._lock:
                self._cache[key] = program
        return ProgramVersion(row.version, program, row.author, row.created_at, row.note, row.restored_from)

    def current(self, shop_id: int) -> ProgramVersion:
        """The newest version; a shop without one gets the default program as version 1. Read
        in the caller's unit of work when it has one (one connection per use case)."""
        with self.db.uow(shop_id, savepoint=False) as uow:
            return uow.once("program", lambda: self._current(uow))

    def _current(self, uow: UnitOfWork) -> ProgramVersion:
        row = uow.programs.newest()
        if row is None:  # a shop registered before programs were made at registration
            self.ensure_default(uow)
            row = uow.programs.newest()
        return self._row_to_version(uow.shop_id, row)

    def ensure_default(self, uow: UnitOfWork) -> None:
        ensure_default(uow, self.clock.now())

    def for_reading(self, shop_id: int, ttl: float = 5.0) -> ProgramVersion:
        """The current program for read-only, hot paths (cart quotes): cached per process for a
        few seconds, so a merchant's change reaches quotes within `ttl`. Postings never use it."""
        import time

        now = time.monotonic()
        hit = self._current_cache.get(shop_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        pv = self.current(shop_id)
        self._current_cache[shop_id] = (now + ttl, pv)
        return pv

    def version(self, shop_id: int, version: int) -> ProgramVersion:
        with self.db.uow(shop_id) as uow:
            row = uow.programs.version(version)
        if row is None:
            raise NotFound(f"program version {version} not found")
        return self._row_to_version(shop_id, row)

    def _save(self, uow: UnitOfWork, program: Program, author: str, note: str | None,
              restored_from: int | None = None, expected: int | None = None) -> ProgramVersion:
        if program.cashback.payout == "shopify_store_credit":
            shop = uow.shops.by_id(uow.shop_id)
            if shop is None or shop.platform != "shopify":
                raise ProgramInvalid([{"field": "cashback.payout", "message": (
                    "native store credit is Shopify's: this shop pays cashback into its own balance "
                    "(\"ledger\")")}])
        uow.programs.lock_writers()  # versions are gap-free and unique; postings do not wait
        check_segments(uow, program)  # under the lock a segment's deletion takes too
        latest = uow.programs.latest_version()
        if expected is not None and expected != latest:
            raise VersionConflict(f"the program changed since you read it (version {expected}; now {latest})",
                                  current=latest)
        now = self.clock.now()
        uow.programs.add(latest + 1, dump(program), author[:255], (note or None) and note[:500], restored_from, now)
        return ProgramVersion(latest + 1, program, author, now, note, restored_from)

    def put(self, shop_id: int, document: object, *, author: str, note: str | None = None,
            expected: int | None = None) -> ProgramVersion:
        """Save a new version. With `expected`, only if the newest version is still that one
        (checked under the same lock that numbers versions, so two editors cannot both win)."""
        program = parse(document)  # nothing is written unless the whole document is valid
        with self.db.uow(shop_id) as uow:
            before = self._current(uow).program  # make sure version 1 (the default) exists first
            uow.forget("program")  # this transaction now reads the new version
            pv = self._save(uow, program, author, note, expected=expected)
            moved = self._zone_changed(uow, before, program)
        self._current_cache.pop(shop_id, None)  # this process reads the new version at once (others within the ttl)
        if moved:
            self._after_zone_change(shop_id)
        return pv

    def restore(self, shop_id: int, version: int, *, author: str) -> ProgramVersion:
        old = self.version(shop_id, version)
        with self.db.uow(shop_id) as uow:
            before = self._current(uow).program
            uow.forget("program")
            pv = self._save(uow, old.program, author, f"restored version {version}", version)
            moved = self._zone_changed(uow, before, old.program)
        self._current_cache.pop(shop_id, None)
        if moved:
            self._after_zone_change(shop_id)
        return pv

    def history(self, shop_id: int, limit: int = 100) -> list[dict]:
        self.current(shop_id)
        with self.db.uow(shop_id) as uow:
            rows = uow.programs.history(limit)
        return [{"version": r.version, "author": r.author, "note": r.note,
                 "restored_from": r.restored_from, "created_at": r.created_at.isoformat()} for r in rows]
