"""Earning on actions: account created (welcome bonus), birthday, review, newsletter, social
follow and share, and the merchant's custom events; each capped per day, month, year or ever."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from ..domain.actions import cap_windows, caps_of
from ..domain.birthdays import SHOPPER_WAIT_DAYS
from ..domain.earning import is_birthday, local
from ..domain.ledger import Asset, Source
from ..domain.ports import Clock, SystemClock
from ..domain.expiry import expires_at
from ..domain.member_events import BirthdayRewarded
from ..domain.reasons import Reason
from ..storage.db import Database
from .ledger import Ledger
from .members import Members
from .program import Programs



@dataclass(frozen=True)
class ActionOutcome:
    kind: str
    points: int
    entry_id: int | None = None
    replayed: bool = False
    refused: str | None = None


class ActionService:
    def __init__(self, db: Database, ledger: Ledger, members: Members, programs: Programs,
                 clock: Clock | None = None) -> None:
        self.db, self.ledger, self.members, self.programs = db, ledger, members, programs
        self.clock = clock or SystemClock()

    def award(self, shop_id: int, customer_id: str, kind: str, event_id: str, *,
              email: str | None = None) -> ActionOutcome:
        """Award the points the program gives for `kind`, once per `event_id`, within caps."""
        with self.db.uow(shop_id) as uow:
            pv = self.programs.current(shop_id)
            program = pv.program
            rule = program.actions.birthday if kind == "birthday" else program.actions.rule(kind)
            member, _ = self.members.enrol(shop_id, customer_id, email=email)
            key = f"action:{kind}:{event_id}"
            uow.members.balance(member.id, lock=True)  # caps are checked under the lock
            prior = uow.ledger.entry_by_key(key)
            if prior is not None:
                return ActionOutcome(kind, int(prior.points + prior.points_pending), prior.id, replayed=True)
            if not program.live:
                return ActionOutcome(kind, 0, refused="the program is paused")
            if rule is None or not rule.enabled:
                return ActionOutcome(kind, 0, refused=f"{kind} earns nothing in this program")
            now = self.clock.now()
            ref = f"action:{kind}"
            for label, limit, since in cap_windows(caps_of(rule), now,
                                                   ZoneInfo(program.timezone)):
                if uow.ledger.count_earned(member.id, ref, since=since) >= limit:
                    return ActionOutcome(kind, 0, refused=f"limit of {limit} {label} reached")
            days = program.pending.actions_days
            posted = self.ledger.earn(
                shop_id, member.id, Asset.POINTS, rule.points, key=key, source=Source.ACTION,
                reason=Reason("action", {"kind": kind, "points": rule.points}), external_ref=ref,
                pending_until=now + timedelta(days=days) if days else None,
                expires_at=expires_at(program, Asset.POINTS, now),
                program_version=pv.version, details={"action": kind, "event_id": event_id})
            uow.members.touch(member.id, now)
            if kind == "birthday":
                uow.collect(BirthdayRewarded(shop_id=shop_id, member_id=member.id, at=now, event_id=event_id,
                                             points=rule.points))
            return ActionOutcome(kind, rule.points, posted.entry_id)

    def birthdays(self) -> int:
        """Daily: award the birthday bonus, once a year, on the day or in the month."""
        awarded = 0
        with self.db.uow() as uow:
            shop_ids = uow.shops.installed_shop_ids()  # every shop's: each is then read in its own unit of work
        for shop_id in shop_ids:
            program = self.programs.current(shop_id).program
            rule = program.actions.birthday
            if not rule.enabled or not program.live:
                continue
            today = local(self.clock.now(), ZoneInfo(program.timezone)).date()
            # A date a shopper just gave earns from SHOPPER_WAIT_DAYS on (as Smile.io and BON do:
            # nobody gives "today" to collect at once).
            with self.db.uow(shop_id) as uow:
                rows = uow.members.with_birthday(
                    except_shopper_changes_since=self.clock.now() - timedelta(days=SHOPPER_WAIT_DAYS))
            for r in rows:
                if is_birthday(r.birthday, today, rule.when):
                    out = self.award(shop_id, r.platform_customer_id, "birthday",
                                     f"{r.platform_customer_id}:{today.year}")
                    awarded += bool(out.entry_id and not out.replayed)
        return awarded
