"""Members: a shop's customers, keyed by the platform's customer id."""
from __future__ import annotations

import re

from dataclasses import dataclass
from datetime import date, datetime

from ..domain.errors import InvalidRequest, NotFound
from ..domain.member_events import MemberEnrolled
from ..domain.ports import Clock, SystemClock
from ..storage.db import Database
from .ledger import BalanceView


@dataclass(frozen=True)
class Member:
    id: int
    shop_id: int
    platform_customer_id: str
    email: str | None
    birthday: date | None
    created_at: datetime
    tier: str | None = None
    tier_since: datetime | None = None
    tier_grace_until: datetime | None = None
    name: str | None = None
    locale: str | None = None  # the shopper's language tag as the platform gave it; None: the shop's


def _member(row) -> Member:
    return Member(row.id, row.shop_id, row.platform_customer_id, row.email, row.birthday,
                  row.created_at, row.tier, row.tier_since, row.tier_grace_until, row.name,
                  getattr(row, "locale", None))


LOCALE_TAG = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,2}")


def locale_tag(value: object) -> str | None:
    """A platform's locale tag ('it', 'fr-FR', 'de_DE', Shopify's 'fr-Fr') kept as given, if it
    looks like one (at most 16 characters), else None. Which shipped language it means is
    decided when it is read (i18n.locale_of), so a language we add later is already known."""
    text = str(value or "").strip()
    return text if len(text) <= 16 and LOCALE_TAG.fullmatch(text) else None


def export_member(uow, m, customer_id: str) -> dict:
    """Everything we hold on one member (`m`: a members row of the unit of work's shop, or None):
    profile, balances, ledger, orders, and what the engagement features hold (leaderboard entry,
    survey answers, badges, challenges, segments, order profile). Privacy exports and the merchant's member export use
    the same."""
    data: dict = {"customer_id": customer_id, "member": None}
    if m is None:
        return data
    bal = uow.members.balance(m.id)._mapping
    data["member"] = {"email": m.email, "birthday": m.birthday and m.birthday.isoformat(),
                      "tier": m.tier, "created_at": m.created_at.isoformat(),
                      "balance": {k: str(v) for k, v in bal.items() if k.startswith(("points", "credit"))}}
    data["ledger"] = [{"id": e.id, "asset": e.asset, "kind": e.kind, "reason": e.reason,
                       "points": int(e.points + e.points_pending), "credit": str(e.credit + e.credit_pending),
                       "at": e.created_at.isoformat()} for e in uow.ledger.history(m.id)]
    data["orders"] = [{"order_id": o.platform_order_id, "points": int(o.points), "credit": str(o.credit),
                       "cancelled": o.cancelled} for o in uow.member_export.orders(m.id)]
    data.update(uow.member_export.engagement(m.id))  # leaderboard, survey, badges, challenges, segments, profile
    return data


class Members:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db, self.clock = db, clock or SystemClock()

    def enrol(self, shop_id: int, platform_customer_id: str, *, email: str | None = None,
              birthday: date | None = None, name: str | None = None,
              locale: str | None = None, welcome: bool = True, fill: bool = False) -> tuple[Member, bool]:
        """Create the member (and an empty balance) or update what we now know of them.
        `locale` is the shopper's language as the platform gives it (an unreadable tag is
        ignored); their e-mails are in it. Returns the member and whether it was created. Safe
        under concurrent calls. `welcome=False`: the merchant enrols them (the API, an import),
        not a sign-up: the `member_enrolled` event says so and no welcome e-mail is sent.
        `fill=True` (an order's buyer): the e-mail and the name only where the member has none."""
        customer = str(platform_customer_id or "").strip()
        if not customer or len(customer) > 64:
            raise InvalidRequest("platform customer id must be 1 to 64 characters")
        if email is not None and (len(email) > 320 or "@" not in email):
            raise InvalidRequest("invalid email")
        name = " ".join(name.split())[:120] or None if name else None
        locale = locale_tag(locale)
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            # The shop's currency once per transaction (an order enrols its buyer more than once).
            currency = uow.once("currency", lambda: uow.shops.currency(shop_id))
            if currency is None:
                raise NotFound("shop not found")
            repo = uow.members
            row, created = repo.create_row(customer, email, birthday, currency, now)
            member_id = row.id
            if created:
                uow.collect(MemberEnrolled(shop_id=shop_id, member_id=member_id, at=now, customer_id=customer,
                                           welcome=welcome))
            changes = {k: v for k, v in (("email", email), ("birthday", birthday), ("name", name),
                                         ("locale", locale))
                       if v is not None and (not created or k in ("name", "locale"))}
            if fill:  # only what is missing; the language as the latest order gives it
                changes = {k: v for k, v in changes.items()
                           if (getattr(row, k) is None if k in ("email", "name") else v != getattr(row, k))}
            if changes:
                repo.update_profile(member_id, now, **changes)
                row = repo.by_id(member_id)
            if uow.is_flat:  # kept only where no nested rollback can take the member back alone
                uow.memo[("member_id", shop_id, customer)] = member_id
            return _member(row), created

    def id_of(self, shop_id: int, platform_customer_id: str) -> int:
        """The member's id, enrolling them if need be: no statement at all when this (flat)
        transaction already enrolled them (an order's buyer, asked again by the referral checks)."""
        if self.db.open_connection() is not None:  # the memo is the open transaction's
            with self.db.uow(shop_id, savepoint=False) as uow:
                known = uow.memo.get(("member_id", shop_id, str(platform_customer_id or "").strip()))
            if known is not None:
                return known
        return self.enrol(shop_id, platform_customer_id)[0].id

    def set_birthday(self, shop_id: int, platform_customer_id: str, value: date | str, *, source: str,
                     actor: str | None = None) -> Member:
        """Give or change a member's birthday, validated, recorded with who and when. A shopper
        gives it once (`BirthdayLocked` after that); the shop, the platform and imports may
        correct it. A change never earns a second birthday bonus in a year: the bonus is keyed
        by member and year (see ActionService.birthdays)."""
        from zoneinfo import ZoneInfo

        from ..domain import birthdays

        with self.db.uow(shop_id) as uow:
            tz = uow.shops.timezone(shop_id)
            if tz is None:
                raise NotFound("shop not found")
            now = self.clock.now()
            text = birthdays.show(value) if isinstance(value, date) else value
            when = birthdays.parse(text, now.astimezone(ZoneInfo(tz or "UTC")).date())
            member, _ = self.enrol(shop_id, platform_customer_id)
            old = uow.members.lock_birthday(member.id)
            if old == when:
                return _member(uow.members.by_id(member.id))
            if source == "shopper" and old is not None:
                raise birthdays.BirthdayLocked("your birthday is already set; ask the shop to correct it")
            uow.members.update_profile(member.id, now, birthday=when)
            uow.members.record_birthday_change(member.id, old, when, source, (actor or "")[:255] or None, now)
            return _member(uow.members.by_id(member.id))

    def birthday_changes(self, shop_id: int, member_id: int) -> list[dict]:
        from ..domain.birthdays import show

        with self.db.uow(shop_id) as uow:
            return [{"old": show(r.old), "new": show(r.new), "source": r.source, "actor": r.actor,
                     "at": r.created_at.isoformat()} for r in uow.members.birthday_changes(member_id)]

    def by_customer(self, shop_id: int, platform_customer_id: str) -> tuple[Member, BalanceView]:
        with self.db.uow(shop_id) as uow:
            repo = uow.members
            row = repo.by_customer(str(platform_customer_id))
            if row is None:
                raise NotFound("member not found")
            return _member(row), BalanceView.of(repo.balance(row.id))

    def search(self, shop_id: int, q: str, limit: int = 20) -> list[int]:
        """Member ids whose email starts with `q`, whose name contains it (any case; no
        wildcards), or whose customer id is `q`."""
        with self.db.uow(shop_id) as uow:
            return uow.members.search(q, limit)

    def export(self, shop_id: int, member_id: int) -> dict:
        """Everything held on one of the shop's members (see `export_member`); NotFound for a
        member of another shop."""
        with self.db.uow(shop_id) as uow:
            row = uow.members.by_id(member_id)
            if row is None:
                raise NotFound("member not found")
            return export_member(uow, row, row.platform_customer_id)

    def get(self, shop_id: int, member_id: int) -> tuple[Member, BalanceView]:
        with self.db.uow(shop_id) as uow:
            repo = uow.members
            row = repo.by_id(member_id)
            if row is None:
                raise NotFound("member not found")
            return _member(row), BalanceView.of(repo.balance(row.id))
