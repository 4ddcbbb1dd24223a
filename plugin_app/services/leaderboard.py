"""Leaderboards: opting in under a display name, out again, and the board (domain.leaderboard
says what counts). Shoppers read only display names, ranks and values: the board never carries
anyone's e-mail, name or customer id; the asking shopper's own rank is theirs alone."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from ..domain.errors import DomainError, InvalidRequest, NotFound
from ..domain.leaderboard import BadName, display_name, name_key, window
from ..domain.ports import Clock, SystemClock
from ..i18n import N_, Translator, translator
from ..storage.db import Database
from ..storage.leaderboard_repo import LeaderboardRepo
from ..storage.repos import MembersRepo
from .widget_texts import shopper_locale

REFUSED = {  # why a display name is refused, as the shopper reads it
    "display_name_length": N_("A display name has %(min)s to %(max)s characters."),
    "display_name_characters": N_("Use letters, digits, spaces and . _ - only."),
    "display_name_email": N_("A display name cannot be an e-mail address."),
    "display_name_address": N_("A display name cannot be an e-mail or web address."),
}
TAKEN = N_("This display name is taken in this shop; choose another.")
OFF = N_("This shop has no leaderboard.")
PERIODS = {"month": N_("This month"), "year": N_("This year"), "all_time": N_("All time")}


class LeaderboardOff(NotFound):
    code = "leaderboard_off"


class NameTaken(DomainError):
    code = "display_name_taken"
    status = 409


class NameRefused(InvalidRequest):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Leaderboards:
    def __init__(self, db: Database, programs, members, clock: Clock | None = None) -> None:
        self.db, self.programs, self.members, self.clock = db, programs, members, clock or SystemClock()

    def _program(self, shop_id: int, locale: str | None):
        program = self.programs.current(shop_id).program
        tr = translator(shopper_locale(program, locale))
        if not program.leaderboard.enabled:
            raise LeaderboardOff(tr.gettext(OFF))
        return program, tr

    def opt_in(self, shop_id: int, customer_id: str, raw_name: object, locale: str | None = None) -> dict:
        """Show the shopper on the board under `raw_name` (or rename them); the name as kept."""
        program, tr = self._program(shop_id, locale)
        try:
            name = display_name(raw_name)
        except BadName as exc:
            raise NameRefused(exc.code, tr.gettext(REFUSED[exc.code], min=2, max=24)) from None
        key = name_key(name)
        member, _ = self.members.enrol(shop_id, customer_id)
        try:
            with self.db.uow(shop_id) as uow:
                holder = uow.leaderboard.holder_of(key)
                if holder is not None and holder != member.id:
                    raise NameTaken(tr.gettext(TAKEN))
                uow.leaderboard.put(member.id, name, key, self.clock.now())
        except IntegrityError:  # the same name taken a moment ago by another shopper
            raise NameTaken(tr.gettext(TAKEN)) from None
        return {"opted_in": True, "display_name": name}

    def opt_out(self, shop_id: int, customer_id: str) -> bool:
        """Leave the board (the name is freed); True when the shopper was on it. Works when the
        merchant has turned the board off too: leaving is always possible."""
        with self.db.uow(shop_id) as uow:
            member = uow.members.by_customer(customer_id)
            return bool(member is not None and uow.leaderboard.remove(member.id))

    def board(self, shop_id: int, customer_id: str | None, locale: str | None = None) -> dict:
        program, tr = self._program(shop_id, locale)
        lb = program.leaderboard
        start, end = window(lb.period, self.clock.now(), ZoneInfo(program.timezone))
        with self.db.reading() as conn:
            repo = LeaderboardRepo(conn, shop_id)
            rows = repo.board(start, end, lb.size)
            you = None
            if customer_id:
                member = MembersRepo(conn, shop_id).by_customer(customer_id)
                you = self._mine(repo, member.id if member is not None else None, start, end)
        return {"period": lb.period, "period_text": tr.gettext(PERIODS[lb.period]), "metric": lb.metric,
                "starts_at": start.isoformat() if start else None, "ends_at": end.isoformat() if end else None,
                "entries": [{"rank": int(r.rank), "display_name": r.display_name, "value": int(r.value),
                             "value_text": tr.number(int(r.value))} for r in rows],
                "you": you}

    @staticmethod
    def _mine(repo: LeaderboardRepo, member_id: int | None, start, end) -> dict:
        entry = repo.entry(member_id) if member_id is not None else None
        ranked = repo.rank_of(member_id, start, end) if entry is not None else None
        return {"opted_in": entry is not None, "display_name": entry.display_name if entry is not None else None,
                "rank": int(ranked.rank) if ranked else None, "value": int(ranked.value) if ranked else 0}

    def view(self, conn, shop_id: int, member_id: int, program, tr: Translator) -> dict:
        """The `/me` part: {leaderboard: {opted_in, display_name, rank, ...}} when the board is on."""
        lb = program.leaderboard
        if not lb.enabled:
            return {}
        start, end = window(lb.period, self.clock.now(), ZoneInfo(program.timezone))
        mine = self._mine(LeaderboardRepo(conn, shop_id), member_id, start, end)
        return {"leaderboard": {**mine, "period": lb.period, "period_text": tr.gettext(PERIODS[lb.period])}}
